"""doctor: every check against a real counterpart that passes and one that
fails: the real server over HTTPS (a certificate from a test CA that the
check is told to trust through SSL_CERT_FILE, like a system store), the
built-in TURN server, aiosmtpd with a login, an HTTP gateway, real ports."""

from __future__ import annotations

import datetime
import ipaddress
import socket
import subprocess
import sys
import time

import pgstore
from admin.helpers import make_tenant
from aiohttp import web
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from smtpcapture import MailCapture, free_port

from vidzzle_media import keys
from vidzzle_media.app import create_app
from vidzzle_media.config import load_settings
from vidzzle_media.doctor import Status, checks, failed, run_checks
from vidzzle_media.relay import credentials
from vidzzle_media.relay.server import TurnServer
from vidzzle_media.services.branding import brand

PASS, WARN, FAIL = Status.PASS, Status.WARN, Status.FAIL


def _name(common: str):
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common)])


def _pem_key(key) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def make_ca(folder, *, leaf_days: int = 90) -> tuple:
    """A test CA (trusted through SSL_CERT_FILE) and a leaf for localhost signed by it."""
    now = datetime.datetime.now(datetime.timezone.utc)
    ca_key, leaf_key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca = (x509.CertificateBuilder().subject_name(_name("doctor test CA")).issuer_name(_name("doctor test CA"))
          .public_key(ca_key.public_key()).serial_number(x509.random_serial_number())
          .not_valid_before(now - datetime.timedelta(days=1)).not_valid_after(now + datetime.timedelta(days=365))
          .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
          .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=False, key_encipherment=False,
                                       data_encipherment=False, key_agreement=False, key_cert_sign=True,
                                       crl_sign=True, encipher_only=False, decipher_only=False), critical=True)
          .sign(ca_key, hashes.SHA256()))
    leaf = (x509.CertificateBuilder().subject_name(_name("localhost")).issuer_name(ca.subject)
            .public_key(leaf_key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(days=1)).not_valid_after(now + datetime.timedelta(days=leaf_days))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost"),
                                                        x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                           critical=False)
            .sign(ca_key, hashes.SHA256()))
    paths = folder / "ca.pem", folder / "leaf.pem", folder / "leaf.key"
    paths[0].write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    paths[1].write_bytes(leaf.public_bytes(serialization.Encoding.PEM))
    paths[2].write_bytes(_pem_key(leaf_key))
    return paths


def settings_for(tmp_path, port: int, **overrides):
    values = {"server.data_dir": str(tmp_path / "data"), "server.host": "127.0.0.1", "server.port": port,
              "server.public_url": f"https://localhost:{port}", "tls.cert_dir": str(tmp_path / "certs"),
              "relay.enabled": False, "ice.host_addresses": ["127.0.0.1"], "outbound.allow": ["127.0.0.0/8"]}
    values.update(overrides)
    return load_settings(environ={}, overrides=values)


class Running:
    """The real app over HTTPS on ``port``."""

    def __init__(self, settings):
        self.settings = settings
        self.runner = None

    async def __aenter__(self):
        app = create_app(self.settings)
        self.runner = web.AppRunner(app)
        await self.runner.setup()
        await web.TCPSite(self.runner, "127.0.0.1", self.settings.server.port, ssl_context=app[keys.TLS]).start()
        return app

    async def __aexit__(self, *exc):
        await self.runner.cleanup()


def statuses(findings) -> list[Status]:
    return [f.status for f in findings]


async def test_public_address_answers_and_trusted_certificate(tmp_path, monkeypatch):
    ca, leaf, key = make_ca(tmp_path)
    monkeypatch.setenv("SSL_CERT_FILE", str(ca))
    port = free_port()
    settings = settings_for(tmp_path, port, **{"tls.cert_file": str(leaf), "tls.key_file": str(key)})
    async with Running(settings):
        assert statuses(await checks.public_url(settings, None)) == [PASS]
        found = await checks.answers(settings, None)
        assert statuses(found) == [PASS] and "/healthz answered" in found[0].detail
        found = await checks.certificate(settings, None)
        assert statuses(found) == [PASS], found
        assert "trusted for localhost" in found[0].detail and "89 days" in found[0].detail
        found = await checks.ports(settings, None)
        assert statuses(found) == [PASS, WARN]          # HTTPS listens; no UDP range set
        assert f"port {port} accepts" in found[0].detail


async def test_self_signed_and_expiring_certificates(tmp_path, monkeypatch):
    port = free_port()
    settings = settings_for(tmp_path, port)                     # the generated self-signed certificate
    async with Running(settings):
        found = await checks.certificate(settings, None)
        assert statuses(found) == [FAIL]
        assert "not trusted for localhost" in found[0].detail and "tls.acme" in found[0].fix
    ca, leaf, key = make_ca(tmp_path, leaf_days=5)
    monkeypatch.setenv("SSL_CERT_FILE", str(ca))
    settings = settings_for(tmp_path, port, **{"tls.cert_file": str(leaf), "tls.key_file": str(key)})
    async with Running(settings):
        found = await checks.certificate(settings, None)
        assert statuses(found) == [WARN] and "expires in 4 days" in found[0].detail


async def test_nothing_there(tmp_path):
    port = free_port()                                          # nobody listens
    settings = settings_for(tmp_path, port)
    found = await checks.answers(settings, None)
    assert statuses(found) == [FAIL] and "Connection refused" in found[0].detail
    found = await checks.ports(settings, None)
    assert statuses(found)[0] is FAIL and "Start the server" in found[0].fix
    settings.server.public_url = ""
    found = await checks.public_url(settings, None)
    assert statuses(found) == [FAIL] and "server.public_url" in found[0].detail
    assert await checks.answers(settings, None) == [] and await checks.certificate(settings, None) == []


async def test_udp_range(tmp_path):
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as held:
        held.bind(("0.0.0.0", 0))
        taken = held.getsockname()[1]
        settings = settings_for(tmp_path, free_port(), **{"ice.udp_port_min": taken, "ice.udp_port_max": taken})
        found = (await checks.ports(settings, None))[1]
        assert found.status is FAIL and "taken" in found.detail
    found = (await checks.ports(settings, None))[1]
    assert found.status is PASS and "1 of 1 ports" in found.detail


async def test_media_address(tmp_path):
    settings = settings_for(tmp_path, 1, **{"ice.host_addresses": ["198.18.0.99"]})   # not on this machine
    found = await checks.addresses(settings, None)
    assert statuses(found) == [FAIL] and "198.18.0.99" in found[0].detail
    settings = settings_for(tmp_path, 1, **{"ice.host_addresses": ["127.0.0.1"]})
    assert statuses(await checks.addresses(settings, None)) == [WARN]     # private only: relay needed
    settings = settings_for(tmp_path, 1, **{"ice.host_addresses": ["127.0.0.1"],
                                            "ice.announced_addresses": ["198.51.100.7"]})
    assert statuses(await checks.addresses(settings, None)) == [PASS]


async def test_turn_server_allocate(tmp_path):
    secret = b"doctor-test-secret"
    server = TurnServer(secret, lambda: {"127.0.0.1"})
    port = await server.listen("127.0.0.1", 0, None)
    try:
        issued = credentials.issue(secret, "doctor", 600, time.time())
        settings = settings_for(tmp_path, 1, **{"ice.turn_servers": [f"turn:127.0.0.1:{port}?transport=tcp"],
                                                "ice.turn_username": issued.username,
                                                "ice.turn_password": issued.password})
        found = await checks.turn_servers(settings, None)
        assert statuses(found) == [PASS], found
        assert "allocated" in found[0].detail
        settings.ice.turn_password = "wrong"
        found = await checks.turn_servers(settings, None)
        assert statuses(found) == [FAIL] and "turn_password" in found[0].fix
    finally:
        await server.close()
    assert await checks.turn_servers(settings_for(tmp_path, 1), None) == []     # none configured: no line


class Accounts:
    def __call__(self, server, session, envelope, mechanism, auth_data):
        ok = isinstance(auth_data, LoginPassword) and (auth_data.login, auth_data.password) == (b"mailer", b"pw-1")
        return AuthResult(success=ok, handled=False)


async def test_smtp_login(tmp_path):
    port = free_port()
    controller = Controller(MailCapture(), hostname="127.0.0.1", port=port, authenticator=Accounts(),
                            auth_required=True, auth_require_tls=False)
    controller.start()
    try:
        settings = settings_for(tmp_path, 1, **{"smtp.host": "127.0.0.1", "smtp.port": port, "smtp.security": "none",
                                                "smtp.username": "mailer", "smtp.password": "pw-1"})
        found = await checks.smtp(settings, None)
        assert statuses(found) == [PASS] and "logged in as mailer" in found[0].detail
        settings.smtp.password = "wrong"
        found = await checks.smtp(settings, None)
        assert statuses(found) == [FAIL] and "refused the login" in found[0].detail
    finally:
        controller.stop()
    settings.smtp.port = free_port()                            # nobody there
    assert statuses(await checks.smtp(settings, None)) == [FAIL]
    settings.smtp.host = ""
    assert statuses(await checks.smtp(settings, None)) == [WARN]


async def test_sms_gateway(tmp_path, aiohttp_server):
    seen = []

    async def gateway(request):
        seen.append(request.method)
        return web.Response(text="ok")

    app = web.Application()
    app.router.add_route("*", "/sms", gateway)
    server = await aiohttp_server(app)
    url = f"http://127.0.0.1:{server.port}/sms"
    settings = settings_for(tmp_path, 1, **{"sms.sender": "http", "sms.http_url": url})
    found = await checks.sms(settings, None)
    assert statuses(found) == [PASS] and "HTTP 200" in found[0].detail
    assert seen == ["HEAD"]                                     # nothing was sent
    settings.outbound.allow = []                                # a LAN gateway not allowed: the outbox would refuse it
    found = await checks.sms(settings, None)
    assert statuses(found) == [FAIL] and "outbound.allow" in found[0].fix
    settings.sms.sender = "log"
    assert statuses(await checks.sms(settings, None)) == [WARN]


async def test_clock(tmp_path, monkeypatch):
    settings = settings_for(tmp_path, 1)
    state = checks._clock_state()
    assert state is not None and 0 <= state <= 5                # the kernel's own answer (adjtimex)
    found = await checks.clock(settings, None)
    assert statuses(found) == [WARN if state == checks._TIME_ERROR else PASS]
    monkeypatch.setattr(checks, "utc_now", lambda: datetime.datetime(2001, 1, 1, tzinfo=datetime.timezone.utc))
    found = await checks.clock(settings, None)
    assert statuses(found) == [FAIL] and "2001-01-01" in found[0].detail


async def test_data_folder(tmp_path):
    settings = settings_for(tmp_path, 1)
    found = await checks.data_dir(settings, None)
    assert statuses(found)[0] in (PASS, WARN) and "GB free" in found[0].detail
    (tmp_path / "file").write_text("x")
    settings = settings_for(tmp_path, 1, **{"server.data_dir": str(tmp_path / "file" / "data")})
    found = await checks.data_dir(settings, None)
    assert statuses(found) == [FAIL] and "not writable" in found[0].detail


async def test_allowed_websites(tmp_path):
    settings = settings_for(tmp_path, 1)
    db = pgstore.database(settings)
    await db.open()
    try:
        assert await checks.allowed_sites(settings, db) == []          # no tenant yet
        tenant = await make_tenant(db, "Autohaus Nord")
        found = await checks.allowed_sites(settings, db)
        assert statuses(found) == [WARN] and "Autohaus Nord" in found[0].detail
        await brand.save_section(db, tenant, "sites", {"allowed_sites": "https://www.autohaus-nord.example"}, "en")
        assert statuses(await checks.allowed_sites(settings, db)) == [PASS]
        everything = await run_checks(settings, db)
        assert failed(everything)                                   # nothing listens on the HTTPS port
    finally:
        await db.close()


def test_command_exit_code_and_lines(tmp_path):
    done = subprocess.run([sys.executable, "-m", "vidzzle_media", "doctor", "--data-dir", str(tmp_path / "data")],
                          capture_output=True, text=True, timeout=120, cwd=tmp_path,
                          env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)})
    assert done.returncode == 1, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].startswith("FAIL  Public address: server.public_url is not set.")
    assert all(line[:4] in ("PASS", "WARN", "FAIL") for line in lines)
    assert any(line.startswith("PASS  Data folder") or line.startswith("WARN  Data folder") for line in lines)
