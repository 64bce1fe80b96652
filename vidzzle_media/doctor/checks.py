"""The checks of ``doctor``: each an ``async (settings, db) -> [Finding]``
that asks the real counterpart, and says what to change when it fails.
A check that does not apply (no TURN server configured, say) finds nothing."""

from __future__ import annotations

import asyncio
import ctypes
import ctypes.util
import datetime
import ipaddress
import os
import shutil
import socket
import ssl
import time
from urllib.parse import urlsplit

import aiohttp

from ..config import Settings
from ..i18n import gettext
from ..listening import running_origin
from ..services.branding import brand
from ..sfu import core as media_core
from ..sfu.aiortc_glue import machine_addresses
from ..store import tenants as tenant_store
from ..transports.outbound import OutboundPolicy, Refused, client_session
from ..turn_servers import TurnAccount
from . import CHECK_TIMEOUT_S, Finding, Status

PASS, WARN, FAIL = Status.PASS, Status.WARN, Status.FAIL
EXPIRY_WARN_DAYS = 14
FREE_WARN_BYTES = 2 * 1024 ** 3
FREE_FAIL_BYTES = 200 * 1024 ** 2


def _public(settings: Settings) -> tuple[str, str, int] | None:
    """(scheme, host, port) of server.public_url."""
    if not settings.server.public_url:
        return None
    parts = urlsplit(settings.server.public_url)
    if not parts.hostname:
        return None
    return parts.scheme, parts.hostname, parts.port or (443 if parts.scheme == "https" else 80)


def _error(exc: BaseException) -> str:
    if isinstance(exc, asyncio.TimeoutError):
        return gettext("no answer within %(s)s s", s=int(CHECK_TIMEOUT_S))
    errno = getattr(exc, "errno", None)
    text = (os.strerror(errno) if isinstance(errno, int) and errno > 0 else "") or str(exc) or type(exc).__name__
    return text[:200]


async def public_url(settings: Settings, db) -> list[Finding]:
    """Public address: set, and its host resolves."""
    name = gettext("Public address")
    public = _public(settings)
    if public is None:
        return [Finding(name, FAIL, gettext("server.public_url is not set."),
                        gettext("Set it to the address customers use (https://video.example.com): the embed code and "
                                "every link in mails point there."))]
    try:
        infos = await asyncio.wait_for(asyncio.get_running_loop().getaddrinfo(public[1], public[2]), CHECK_TIMEOUT_S)
    except (OSError, asyncio.TimeoutError) as exc:
        return [Finding(name, FAIL, gettext("%(host)s does not resolve (%(error)s).", host=public[1], error=_error(exc)),
                        gettext("Create the DNS record of this name, pointing at this server."))]
    found = ", ".join(sorted({str(info[4][0]) for info in infos}))
    return [Finding(name, PASS, gettext("%(url)s; %(host)s resolves to %(addresses)s.",
                                        url=settings.server.public_url, host=public[1], addresses=found))]


async def answers(settings: Settings, db) -> list[Finding]:
    """The server answers at its public address."""
    public = _public(settings)
    if public is None:
        return []
    name = gettext("Server answers")
    url = settings.server.public_url.rstrip("/") + "/healthz"
    started = time.monotonic()
    try:
        timeout = aiohttp.ClientTimeout(total=CHECK_TIMEOUT_S)
        async with aiohttp.ClientSession(timeout=timeout) as http:
            async with http.get(url, ssl=False, allow_redirects=False) as resp:   # trust: the next check
                status = resp.status
    except (aiohttp.ClientError, OSError, asyncio.TimeoutError) as exc:
        return [Finding(name, FAIL, gettext("%(url)s: %(error)s.", url=url, error=_error(exc)),
                        gettext("Is the server running, and do the firewall and port forwarding let port %(port)s "
                                "through to it?", port=public[2]))]
    if status != 200:
        return [Finding(name, FAIL, gettext("%(url)s answered with HTTP %(status)s.", url=url, status=status),
                        gettext("Another server answers at this address; check the DNS record and the proxy."))]
    return [Finding(name, PASS, gettext("%(url)s answered in %(ms)s ms.", url=url,
                                        ms=int((time.monotonic() - started) * 1000)))]


async def certificate(settings: Settings, db) -> list[Finding]:
    """Certificate: trusted by browsers for the public host, not about to expire."""
    public = _public(settings)
    if public is None:
        return []
    name = gettext("Certificate")
    scheme, host, port = public
    if scheme != "https":
        return [Finding(name, FAIL, gettext("server.public_url uses http: browsers allow camera and microphone only "
                                            "on https."), gettext("Use an https address."))]
    context = ssl.create_default_context()      # the system's trust, like a browser's
    try:
        _, writer = await asyncio.wait_for(asyncio.open_connection(host, port, ssl=context, server_hostname=host),
                                           CHECK_TIMEOUT_S)
    except ssl.SSLCertVerificationError as exc:
        return [Finding(name, FAIL, gettext("not trusted for %(host)s: %(reason)s.", host=host,
                                            reason=exc.verify_message or exc.reason),
                        gettext("Customers' browsers will not show the call inside the dealer's website. Set "
                                "tls.acme = true, or tls.cert_file and tls.key_file (docs/deployment.md, "
                                "Certificates)."))]
    except (OSError, asyncio.TimeoutError) as exc:
        return [Finding(name, FAIL, gettext("no TLS connection to %(host)s:%(port)s: %(error)s.", host=host, port=port,
                                            error=_error(exc)), gettext("See the check above."))]
    peer = writer.get_extra_info("peercert") or {}
    writer.close()
    expires = datetime.datetime.fromtimestamp(ssl.cert_time_to_seconds(peer["notAfter"]), datetime.timezone.utc)
    days = (expires - datetime.datetime.now(datetime.timezone.utc)).days
    if days < EXPIRY_WARN_DAYS:
        return [Finding(name, WARN, gettext("trusted for %(host)s, but expires in %(days)s days.", host=host, days=days),
                        gettext("With tls.acme the server renews by itself: look for ACME warnings in its log. "
                                "Own files: replace them and restart."))]
    return [Finding(name, PASS, gettext("trusted for %(host)s, %(days)s days until it expires.", host=host, days=days))]


def _https_port(settings: Settings) -> int:
    origin = running_origin(settings.data_path)
    return (urlsplit(origin).port or settings.server.port) if origin else settings.server.port


async def ports(settings: Settings, db) -> list[Finding]:
    """Ports: the HTTPS port listens; the UDP range for media has free ports."""
    findings = []
    name = gettext("HTTPS port")
    port = _https_port(settings)
    host = settings.server.host if settings.server.host not in ("", "0.0.0.0", "::") else "127.0.0.1"
    try:
        _, writer = await asyncio.wait_for(asyncio.open_connection(host, port), CHECK_TIMEOUT_S)
        writer.close()
        findings.append(Finding(name, PASS, gettext("port %(port)s accepts connections.", port=port)))
    except (OSError, asyncio.TimeoutError) as exc:
        findings.append(Finding(name, FAIL, gettext("nothing answers on port %(port)s (%(error)s).", port=port,
                                                    error=_error(exc)),
                                gettext("Start the server: vidzzle-media serve.")))
    name = gettext("UDP ports for media")
    low, high = settings.ice.udp_port_min, settings.ice.udp_port_max
    if not low:
        findings.append(Finding(name, WARN, gettext("any UDP port may be used."),
                                gettext("Set ice.udp_port_min and ice.udp_port_max and open that range in the "
                                        "firewall, so that the firewall rules can be exact.")))
        return findings
    free = 0
    for candidate in range(low, high + 1):
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
            try:
                probe.bind(("0.0.0.0", candidate))
                free += 1
            except OSError:
                pass
    total = high - low + 1
    if free == 0:
        findings.append(Finding(name, FAIL, gettext("all %(total)s ports %(low)s-%(high)s are taken.", total=total,
                                                    low=low, high=high),
                                gettext("Widen the range or stop what holds the ports.")))
    else:
        findings.append(Finding(name, PASS, gettext("%(free)s of %(total)s ports %(low)s-%(high)s are free.",
                                                    free=free, total=total, low=low, high=high)))
    return findings


def _private(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%")[0])
    return ip.is_private or ip.is_loopback or ip.is_link_local or ip in ipaddress.ip_network("100.64.0.0/10")


async def addresses(settings: Settings, db) -> list[Finding]:
    """Media address: what the server offers to browsers is reachable."""
    name = gettext("Media address")
    ice = settings.ice
    if ice.announced_addresses:
        return [Finding(name, PASS, gettext("announced as set: %(addresses)s.",
                                            addresses=", ".join(ice.announced_addresses)))]
    own = machine_addresses()
    foreign = [a for a in ice.host_addresses if a not in own and not ipaddress.ip_address(a).is_loopback]
    if foreign:
        return [Finding(name, FAIL, gettext("%(addresses)s: not an address of this machine.",
                                            addresses=", ".join(foreign)),
                        gettext("Correct ice.host_addresses; a public address in front of a NAT goes into "
                                "ice.announced_addresses."))]
    offered = ice.host_addresses or own
    if not offered or all(_private(a) for a in offered):
        return [Finding(name, WARN, gettext("only private addresses are offered (%(addresses)s): customers on the "
                                            "internet reach media only through the relay (TCP).",
                                            addresses=", ".join(offered) or "-"),
                        gettext("Behind a NAT: set ice.announced_addresses to the public address and forward the "
                                "UDP ports to this machine."))]
    return [Finding(name, PASS, gettext("offered: %(addresses)s.", addresses=", ".join(offered)))]


def _turn_target(url: str) -> tuple[str, int, str, bool]:
    """(host, port, transport, tls) of a turn: / turns: URL."""
    scheme, _, rest = url.partition(":")
    rest, _, query = rest.partition("?")
    host, _, port = rest.rpartition(":")
    if not host:
        host, port = rest, ""
    transport = "tcp" if "transport=tcp" in query or scheme == "turns" else "udp"
    return host.strip("[]"), int(port or (5349 if scheme == "turns" else 3478)), transport, scheme == "turns"


async def turn_servers(settings: Settings, db) -> list[Finding]:
    """TURN servers: each grants an allocation with the configured credentials."""
    from aioice import turn

    findings = []
    username, password = TurnAccount.from_settings(settings.ice).credential("doctor")
    for url in settings.ice.turn_servers:
        name = gettext("TURN server %(url)s", url=url)
        try:
            host, port, transport, tls = _turn_target(url)
            relay, _ = await asyncio.wait_for(turn.create_turn_endpoint(
                asyncio.DatagramProtocol, (host, port), username or None, password or None, lifetime=60, ssl=ssl.create_default_context() if tls else None,
                transport=transport), CHECK_TIMEOUT_S)
        except Exception as exc:    # OSError, a timeout, or aioice's own errors for a refused Allocate
            findings.append(Finding(name, FAIL, gettext("no allocation: %(error)s.", error=_error(exc)),
                                    gettext("Check ice.turn_servers and ice.turn_secret (or ice.turn_username and ice.turn_password) "
                                            "against the TURN server's configuration.")))
            continue
        relayed = relay.get_extra_info("sockname")
        relay.close()
        findings.append(Finding(name, PASS, gettext("allocated %(address)s.", address=f"{relayed[0]}:{relayed[1]}"
                                                    if relayed else "-")))
    return findings


async def smtp(settings: Settings, db) -> list[Finding]:
    """SMTP: reachable, and the login works (no mail is sent)."""
    import aiosmtplib

    name = gettext("Mail (SMTP)")
    conf = settings.smtp
    if not conf.host:
        return [Finding(name, WARN, gettext("smtp.host is not set: invitations and password links stay in the outbox."),
                        gettext("Set smtp.host, port, security, username and password."))]
    client = aiosmtplib.SMTP(hostname=conf.host, port=conf.port, use_tls=conf.security == "tls",
                             start_tls=conf.security == "starttls", timeout=CHECK_TIMEOUT_S)
    try:
        await client.connect()
        if conf.username:
            await client.login(conf.username, conf.password)
        await client.quit()
    except aiosmtplib.SMTPAuthenticationError as exc:
        return [Finding(name, FAIL, gettext("%(host)s:%(port)s refused the login of %(user)s (%(code)s).",
                                            host=conf.host, port=conf.port, user=conf.username, code=exc.code),
                        gettext("Check smtp.username and smtp.password."))]
    except (aiosmtplib.SMTPException, OSError, asyncio.TimeoutError) as exc:
        return [Finding(name, FAIL, gettext("%(host)s:%(port)s: %(error)s.", host=conf.host, port=conf.port,
                                            error=_error(exc)),
                        gettext("Check smtp.host, smtp.port and smtp.security, and that the firewall lets the "
                                "server out to it."))]
    finally:
        client.close()
    login = gettext(", logged in as %(user)s", user=conf.username) if conf.username else ""
    return [Finding(name, PASS, gettext("%(host)s:%(port)s (%(security)s) answers%(login)s.", host=conf.host,
                                        port=conf.port, security=conf.security, login=login))]


async def sms(settings: Settings, db) -> list[Finding]:
    """SMS gateway: reachable under the outbound policy (no SMS is sent)."""
    name = gettext("SMS gateway")
    conf = settings.sms
    if conf.sender != "http":
        return [Finding(name, WARN, gettext("SMS are kept in the database (sms.sender = %(sender)s), not sent.",
                                            sender=conf.sender),
                        gettext("Set sms.sender = http and sms.http_url to send them."))]
    try:
        async with client_session(OutboundPolicy.from_cidrs(settings.outbound.allow)) as http:
            async with http.head(conf.http_url, timeout=aiohttp.ClientTimeout(total=CHECK_TIMEOUT_S),
                                 allow_redirects=False) as resp:
                status = resp.status
    except (aiohttp.ClientError, OSError, asyncio.TimeoutError, ValueError, Refused) as exc:
        return [Finding(name, FAIL, gettext("%(url)s: %(error)s.", url=conf.http_url, error=_error(exc)),
                        gettext("Check sms.http_url; a gateway in the LAN must be listed in outbound.allow."))]
    return [Finding(name, PASS, gettext("%(url)s answers (HTTP %(status)s).", url=conf.http_url, status=status))]


def utc_now() -> datetime.datetime:
    return datetime.datetime.now(datetime.timezone.utc)


_TIME_ERROR = 5
"""adjtimex(2): the kernel's clock is not synchronized (no NTP)."""


def _clock_state() -> int | None:
    libc_name = ctypes.util.find_library("c")
    if not libc_name:
        return None
    libc = ctypes.CDLL(libc_name, use_errno=True)
    timex = ctypes.create_string_buffer(512)        # struct timex, modes = 0: read only
    state = libc.adjtimex(timex)
    return None if state < 0 else state


async def clock(settings: Settings, db) -> list[Finding]:
    """Clock: synchronized (certificates, one-time links and call times depend on it)."""
    name = gettext("Clock")
    now = utc_now()
    if now.year < 2025:
        return [Finding(name, FAIL, gettext("the system clock says %(now)s.", now=now.isoformat(timespec="seconds")),
                        gettext("Set the time and enable NTP (systemd-timesyncd or chrony)."))]
    state = _clock_state()
    if state == _TIME_ERROR:
        return [Finding(name, WARN, gettext("%(now)s UTC, not synchronized by NTP.", now=now.strftime("%Y-%m-%d %H:%M")),
                        gettext("Enable NTP (systemd-timesyncd or chrony): certificates and one-time links need a "
                                "right clock."))]
    return [Finding(name, PASS, gettext("%(now)s UTC, synchronized.", now=now.strftime("%Y-%m-%d %H:%M")))]


async def data_dir(settings: Settings, db) -> list[Finding]:
    """Data folder: writable, with room to grow."""
    name = gettext("Data folder")
    folder = settings.data_path
    probe = folder / f".doctor-{os.getpid()}"
    try:
        folder.mkdir(parents=True, exist_ok=True)
        probe.write_bytes(b"x")
        probe.unlink()
    except OSError as exc:
        return [Finding(name, FAIL, gettext("%(folder)s is not writable (%(error)s).", folder=folder, error=_error(exc)),
                        gettext("Give the service user write access to it."))]
    free = shutil.disk_usage(folder).free
    shown = gettext("%(folder)s, %(free)s GB free.", folder=folder, free=f"{free / 1024 ** 3:.1f}")
    if free < FREE_FAIL_BYTES:
        return [Finding(name, FAIL, shown, gettext("Free disk space: the database and uploads stop growing."))]
    if free < FREE_WARN_BYTES:
        return [Finding(name, WARN, shown, gettext("Free disk space soon."))]
    return [Finding(name, PASS, shown)]


async def allowed_sites(settings: Settings, db) -> list[Finding]:
    """Allowed websites: each tenant names the sites its call button lives on."""
    if db is None:
        return []
    tenants = await tenant_store.list_tenants(db)
    if not tenants:
        return []
    name = gettext("Allowed websites")
    open_to_all = [t.name for t in tenants if not await brand.allowed_sites(db, t.id)]
    if open_to_all:
        return [Finding(name, WARN, gettext("any website may show the call page of %(tenants)s.",
                                            tenants=", ".join(open_to_all)),
                        gettext("List the dealer's websites in Branding, Websites with the call button."))]
    return [Finding(name, PASS, gettext("every tenant names its websites."))]


async def forwarding_core(settings: Settings, db) -> list[Finding]:
    """Media core: the compiled per-packet path is built (it forwards several times cheaper than Python)."""
    name = gettext("Media core")
    if settings.media.core == "python":
        return [Finding(name, PASS, gettext("the Python reference core, as set (media.core = python)."))]
    if not media_core.compiled_available():
        return [Finding(name, WARN, gettext("the compiled core is not built: calls use the slower Python core."),
                        gettext("Install a C compiler and the Python headers (Debian: gcc python3-dev), then "
                                "reinstall the package."))]
    return [Finding(name, PASS, gettext("compiled (C)."))]


ALL = [public_url, answers, certificate, ports, addresses, turn_servers, smtp, sms, clock, data_dir, allowed_sites,
       forwarding_core]
