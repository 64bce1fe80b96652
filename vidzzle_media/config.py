"""Settings: a tree of dataclasses, each field with a default and a help text.

Precedence (lowest first): the defaults below < a TOML file < ``VIDZZLE_*``
environment variables < command-line flags. ``VIDZZLE_<SECTION>_<FIELD>``
names one field, e.g. ``VIDZZLE_SERVER_PORT=8443``; lists are comma-separated.
Every field must be documented in docs/configuration.md (a test checks it).
"""

from __future__ import annotations

import dataclasses
import ipaddress
import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping
from urllib.parse import urlsplit

ENV_PREFIX = "VIDZZLE_"


def setting(default: Any, help: str, secret: bool = False) -> Any:
    """A dataclass field carrying its help text (and whether it must never be logged)."""
    meta = {"help": help, "secret": secret}
    if isinstance(default, list):
        return field(default_factory=lambda: list(default), metadata=meta)
    return field(default=default, metadata=meta)


@dataclass
class ServerSettings:
    host: str = setting("0.0.0.0", "Address the HTTPS server listens on.")
    port: int = setting(8443, "TCP port of the HTTPS (or HTTP, with tls.enabled=false) server; 0: a free port, printed at start.")
    data_dir: str = setting("data", "Folder for the SQLite database, uploads and the session key; created on start.")
    public_url: str = setting("", "Base URL customers and agents reach the server at (used in emails and the embed snippet), e.g. https://video.example.com. Empty: derived from the request.")
    appname: str = setting("Vidzzle Media", "Default application name (`__APPNAME__`); support can change it in the back office.")
    language: str = setting("de", "Default language (`de` or `en`): of support accounts, of the login page when the browser asks for none, and of new tenants.")
    dev_pages: bool = setting(False, "Serve developer pages such as /dev/room (never on a production install).")
    log_json: bool = setting(False, "Write one JSON object per log line instead of plain text.")
    log_level: str = setting("INFO", "Log level: DEBUG, INFO, WARNING or ERROR.")
    media_workers: int = setting(0, "Processes that carry the calls' media (rooms), so that every core can: each new room goes to the least-loaded one; when one dies, its calls move to another (the pages join again by themselves) and it is replaced. 0: the media runs in the server process itself (the embedded default).")
    node_url: str = setting("", "With several nodes on one PostgreSQL store (database.url): the URL the other nodes reach this one at, e.g. https://10.0.0.2:8443 (a call's room lives on one node; signalling of browsers on another node is forwarded there). Empty: this machine's listen address and port.")
    metrics_from: list[str] = setting(["127.0.0.1", "::1"], "Client addresses allowed to read /metrics (Prometheus). Empty: /metrics is off. Call counts of all tenants are visible there, so keep it private.")


@dataclass
class TlsSettings:
    enabled: bool = setting(True, "Serve HTTPS. Turn off only behind a TLS-terminating reverse proxy.")
    cert_file: str = setting("", "PEM certificate chain. Empty: a self-signed certificate is generated on first start into `certs/` (relative to the working directory) and reused.")
    key_file: str = setting("", "PEM private key belonging to cert_file.")
    cert_dir: str = setting("certs", "Where the generated self-signed certificate is kept when cert_file is empty.")
    acme: bool = setting(False, "Get a trusted certificate for the host of server.public_url automatically (ACME, e.g. Let's Encrypt; HTTP-01 on acme_http_port), renew it at 2/3 of its lifetime. Until the first one arrives the self-signed one is served.")
    acme_directory: str = setting("https://acme-v02.api.letsencrypt.org/directory", "The ACME server's directory URL.")
    acme_email: str = setting("", "Contact address given to the ACME server (expiry warnings). Optional.")
    acme_http_port: int = setting(80, "Port of the HTTP-01 answers (the ACME server asks on port 80; another port only behind a forward). It also redirects plain HTTP to HTTPS.")
    acme_ca_file: str = setting("", "PEM bundle to trust the ACME server's own HTTPS with (a private ACME server); empty: the system's.")


@dataclass
class DatabaseSettings:
    path: str = setting("", "SQLite database file. Empty: `vidzzle.db` in server.data_dir.")
    url: str = setting("", "PostgreSQL instead of SQLite, for several nodes sharing one store: `postgresql://USER:PASSWORD@HOST:5432/DB`. Empty: SQLite (database.path).", secret=True)
    busy_timeout_ms: int = setting(5000, "How long SQLite waits for a lock before failing (ms).")


@dataclass
class SmtpSettings:
    host: str = setting("", "SMTP server for outgoing mail. Empty: mails stay queued in the outbox (visible to support).")
    port: int = setting(587, "SMTP server port.")
    security: str = setting("starttls", "`starttls`, `tls` (implicit TLS, usually port 465) or `none`.")
    username: str = setting("", "SMTP login name; empty for no authentication.")
    password: str = setting("", "SMTP password.", secret=True)
    sender: str = setting("noreply@localhost", "Default From address; the tenant's email branding overrides it.")
    timeout_s: float = setting(30.0, "Timeout of one SMTP delivery attempt (s).")


@dataclass
class SmsSettings:
    sender: str = setting("log", "`log` keeps SMS in the database (shown to support); `http` posts them to a gateway.")
    http_url: str = setting("", "Gateway URL for the `http` sender.")
    http_method: str = setting("POST", "HTTP method for the gateway.")
    http_body: str = setting('{"to": "{to}", "text": "{text}"}', "Request body template; `{to}` and `{text}` are replaced (JSON-escaped when the body is JSON).")
    http_content_type: str = setting("application/json", "Content-Type of the gateway request.")
    http_auth_header: str = setting("", "Full `Name: value` header sent to the gateway, e.g. `Authorization: Bearer ...`.", secret=True)


@dataclass
class IceSettings:
    host_addresses: list[str] = setting([], "Local addresses offered as ICE host candidates. Empty: all addresses of the machine.")
    announced_addresses: list[str] = setting([], "Public addresses offered next to the host addresses: the router's address when it forwards the HTTPS port and the UDP range to this machine. One address: for every IPv4 host address; several: pairwise with host_addresses.")
    stun_servers: list[str] = setting([], "STUN server URLs (stun:host:port). Empty by default: no third-party STUN.")
    turn_servers: list[str] = setting([], "Your own TURN servers' URLs (turn:host:port?transport=udp, turn:host:port?transport=tcp, turns:host:port), handed to every browser in this order before the built-in relay. The server's own connections use the first.")
    turn_username: str = setting("", "TURN user name (static credentials; not used with turn_secret).")
    turn_password: str = setting("", "TURN password (static credentials; not used with turn_secret).", secret=True)
    turn_secret: str = setting("", "Shared secret of TURN servers run with coturn's use-auth-secret: every browser gets its own short-lived user name and password instead of turn_username/turn_password.", secret=True)
    turn_credential_ttl_s: int = setting(86400, "How long a credential made with turn_secret is valid (s). coturn checks it whenever an allocation is refreshed, so it must outlast the longest call.")
    udp_port_min: int = setting(0, "Lowest UDP port for media (0: any port).")
    udp_port_max: int = setting(0, "Highest UDP port for media (0: any port).")


@dataclass
class MediaSettings:
    core: str = setting("compiled", "Forwarding core for media packets: compiled (C, built at install; the default) or python (the reference implementation, several times slower per packet). Without a built C core the server uses python and says so.")


@dataclass
class RelaySettings:
    enabled: bool = setting(True, "Run the built-in TURN relay (TURN over TCP and TLS) so that calls connect when the customer's network blocks UDP.")
    host: str = setting("", "Address the relay listens on when it has a port of its own. Empty: server.host.")
    port: int = setting(0, "0: the relay answers on the HTTPS port (server.port), told apart by the first bytes. Else a TCP port of its own (TURN over TCP and TLS). Chrome accepts TURN ports from 1024 up, and 53, 80 and 443.")
    secret: str = setting("", "Key of the short-lived relay credentials (coturn's use-auth-secret scheme). Empty: a new random key at every start.", secret=True)
    credential_ttl_s: int = setting(3600, "How long a browser's relay credentials can open new allocations (s).")
    max_allocations: int = setting(500, "Relay allocations open at once, in total (each browser in a relayed call holds two).")
    max_allocations_per_user: int = setting(8, "Relay allocations open at once per credential (one participant).")
    max_lifetime_s: int = setting(3600, "Longest allocation lifetime a client may ask for (s); unrefreshed allocations close after it.")


@dataclass
class OutboundSettings:
    allow: list[str] = setting([], "Networks (CIDR) the server may send webhooks and SMS-gateway requests to although they are not public, e.g. [\"10.0.0.0/8\"] for a CRM on the LAN. Empty: public internet addresses only.")


@dataclass
class SecuritySettings:
    login_max_failures: int = setting(5, "Failed logins allowed per account and per client address within login_window_s.")
    login_window_s: int = setting(900, "Window for counting failed logins (s).")
    optin_token_hours: int = setting(168, "Validity of the opt-in (account confirmation) link (h).")
    reset_token_hours: int = setting(24, "Validity of a password-reset link (h).")
    call_link_minutes: int = setting(60, "Validity of call-notification and invitation links (min).")
    ringing_calls_per_tenant: int = setting(50, "Unanswered (ringing) calls a tenant may have at once; more are refused (429) until some are answered or given up.")
    ringing_calls_per_address: int = setting(3, "Unanswered calls one customer address may start at once.")


@dataclass
class Settings:
    server: ServerSettings = field(default_factory=ServerSettings)
    tls: TlsSettings = field(default_factory=TlsSettings)
    database: DatabaseSettings = field(default_factory=DatabaseSettings)
    smtp: SmtpSettings = field(default_factory=SmtpSettings)
    sms: SmsSettings = field(default_factory=SmsSettings)
    ice: IceSettings = field(default_factory=IceSettings)
    media: MediaSettings = field(default_factory=MediaSettings)
    relay: RelaySettings = field(default_factory=RelaySettings)
    outbound: OutboundSettings = field(default_factory=OutboundSettings)
    security: SecuritySettings = field(default_factory=SecuritySettings)

    @property
    def data_path(self) -> Path:
        return Path(self.server.data_dir)

    @property
    def database_path(self) -> Path:
        return Path(self.database.path) if self.database.path else self.data_path / "vidzzle.db"


class ConfigError(ValueError):
    """A setting could not be read: names the source and the key."""


def iter_settings(settings: Settings | None = None):
    """Yield (section, field, value, metadata) for every leaf setting."""
    settings = settings or Settings()
    for section in dataclasses.fields(settings):
        group = getattr(settings, section.name)
        for f in dataclasses.fields(group):
            yield section.name, f, getattr(group, f.name)


def _convert(value: Any, current: Any, where: str) -> Any:
    """Coerce a TOML/env/flag value to the type of the default."""
    try:
        if isinstance(current, bool):
            if isinstance(value, bool):
                return value
            text = str(value).strip().lower()
            if text in ("1", "true", "yes", "on"):
                return True
            if text in ("0", "false", "no", "off"):
                return False
            raise ValueError(f"expected true/false, got {value!r}")
        if isinstance(current, int):
            return int(value)
        if isinstance(current, float):
            return float(value)
        if isinstance(current, list):
            if isinstance(value, str):
                return [item.strip() for item in value.split(",") if item.strip()]
            return [str(item) for item in value]
        return str(value)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"{where}: {exc}") from None


def _apply(settings: Settings, section: str, key: str, value: Any, where: str) -> None:
    group = getattr(settings, section, None)
    if group is None or not dataclasses.is_dataclass(group):
        raise ConfigError(f"{where}: unknown section [{section}]")
    if key not in {f.name for f in dataclasses.fields(group)}:
        raise ConfigError(f"{where}: unknown setting {section}.{key}")
    setattr(group, key, _convert(value, getattr(group, key), where))


def is_postgres_url(url: str) -> bool:
    """A ``database.url`` (or migrate-to-postgres target) PostgreSQL accepts."""
    return url.startswith(("postgresql://", "postgres://"))


def load_settings(
    config_file: str | Path | None = None,
    environ: Mapping[str, str] | None = None,
    overrides: Mapping[str, Any] | None = None,
) -> Settings:
    """Build Settings from defaults, a TOML file, the environment and overrides.

    ``overrides`` maps "section.field" to a value (the CLI flags).
    """
    settings = Settings()
    if config_file:
        path = Path(config_file)
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ConfigError(f"config file {path} not found") from None
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{path}: {exc}") from None
        for section, values in data.items():
            if not isinstance(values, dict):
                raise ConfigError(f"{path}: {section} must be a [section]")
            for key, value in values.items():
                _apply(settings, section, key, value, f"{path} [{section}] {key}")
    environ = os.environ if environ is None else environ
    known = {s: {f.name for f in dataclasses.fields(getattr(settings, s))} for s in _sections()}
    for name, value in environ.items():
        if not name.startswith(ENV_PREFIX):
            continue
        rest = name[len(ENV_PREFIX):].lower()
        section, _, key = rest.partition("_")
        if section in known and key in known[section]:
            _apply(settings, section, key, value, f"environment {name}")
    for dotted, value in (overrides or {}).items():
        if value is None:
            continue
        section, _, key = dotted.partition(".")
        _apply(settings, section, key, value, f"flag for {dotted}")
    _validate(settings)
    return settings


def _sections() -> list[str]:
    return [f.name for f in dataclasses.fields(Settings)]


def acme_domain(settings: Settings) -> str:
    """The name an ACME certificate is for: the host of server.public_url, when it is a DNS name."""
    host = (urlsplit(settings.server.public_url).hostname or "").lower()
    try:
        ipaddress.ip_address(host)
        return ""
    except ValueError:
        pass
    return host if "." in host and not host.endswith(".localhost") else ""


def _validate(settings: Settings) -> None:
    if settings.smtp.security not in ("starttls", "tls", "none"):
        raise ConfigError("smtp.security must be starttls, tls or none")
    if settings.sms.sender not in ("log", "http"):
        raise ConfigError("sms.sender must be log or http")
    if settings.sms.sender == "http" and not settings.sms.http_url:
        raise ConfigError("sms.http_url is required with sms.sender = http")
    if not 0 <= settings.server.port < 65536:
        raise ConfigError("server.port must be between 0 (a free port) and 65535")
    lo, hi = settings.ice.udp_port_min, settings.ice.udp_port_max
    if (lo or hi) and not (0 < lo <= hi < 65536):
        raise ConfigError("ice.udp_port_min/udp_port_max must both be set, with min <= max")
    if settings.media.core not in ("compiled", "python"):
        raise ConfigError("media.core must be compiled or python")
    if settings.database.url and not is_postgres_url(settings.database.url):
        raise ConfigError("database.url must be a postgresql:// URL (or empty: SQLite)")
    if not 0 <= settings.server.media_workers <= 64:
        raise ConfigError("server.media_workers must be between 0 (media in the server process) and 64")
    if settings.relay.enabled and not 0 <= settings.relay.port < 65536:
        raise ConfigError("relay.port must be between 0 and 65535")
    if settings.relay.enabled and settings.relay.port and settings.relay.port == settings.server.port:
        raise ConfigError("relay.port equals server.port: set relay.port = 0 to share the HTTPS port")
    for cidr in settings.outbound.allow:
        try:
            ipaddress.ip_network(cidr, strict=False)
        except ValueError:
            raise ConfigError(f"outbound.allow: {cidr!r} is not a network (CIDR such as 10.0.0.0/8)") from None
    if bool(settings.tls.cert_file) != bool(settings.tls.key_file):
        raise ConfigError("tls.cert_file and tls.key_file must be set together")
    if settings.tls.enabled and settings.tls.acme:
        if settings.tls.cert_file:
            raise ConfigError("tls.acme and tls.cert_file exclude each other: choose automatic or own certificate files")
        if not acme_domain(settings):
            raise ConfigError("tls.acme needs server.public_url with a DNS name (https://video.example.com), "
                              "not an IP address or localhost")
