"""SMTP security modes and login against real aiosmtpd servers (STARTTLS and implicit TLS
with a self-signed certificate the client is told to trust)."""

from __future__ import annotations

import ssl

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from smtpcapture import MailCapture, free_port

from vidzzle_media.services.outbox.mail import queue_mail
from vidzzle_media.store import outbox as outbox_store
from vidzzle_media.tls import ensure_self_signed


class Accounts:
    """aiosmtpd authenticator: one valid login, every login attempt recorded."""

    def __init__(self):
        self.logins: list[tuple[str, bool]] = []

    def __call__(self, server, session, envelope, mechanism, auth_data):
        ok = isinstance(auth_data, LoginPassword) and (auth_data.login, auth_data.password) == (b"mailer", b"pw-123")
        self.logins.append((mechanism, ok))
        return AuthResult(success=ok, handled=False)      # handled=False: aiosmtpd answers 535 itself


@pytest.fixture
def trusted_cert(tmp_path, monkeypatch):
    cert, key = ensure_self_signed(tmp_path / "smtp-certs")
    monkeypatch.setenv("SSL_CERT_FILE", str(cert))      # the client trusts exactly this certificate
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    return context


@pytest.mark.parametrize("security", ["starttls", "tls"])
async def test_tls_modes_with_login(security, trusted_cert, settings, db, tenant, clock, make_worker):
    capture, accounts, port = MailCapture(), Accounts(), free_port()
    server_kwargs = dict(authenticator=accounts, auth_required=True)
    if security == "starttls":
        controller = Controller(capture, hostname="127.0.0.1", port=port, tls_context=trusted_cert,
                                require_starttls=True, **server_kwargs)
    else:
        # aiosmtpd does not count implicit TLS as "TLS" for AUTH, hence auth_require_tls=False
        controller = Controller(capture, hostname="127.0.0.1", port=port, ssl_context=trusted_cert,
                                auth_require_tls=False, **server_kwargs)
    controller.start()
    try:
        settings.smtp.host, settings.smtp.port, settings.smtp.security = "127.0.0.1", port, security
        settings.smtp.username, settings.smtp.password = "mailer", "pw-123"
        settings.smtp.timeout_s = 5
        async with db.transaction() as conn:
            ok_item = await queue_mail(conn, template="password_change", tenant_id=tenant,
                                       to_email="a@example.com", to_name="A", link="https://x/y", now=clock())
        worker = await make_worker()
        await worker.deliver_due()
        assert len(await capture.wait(1)) == 1
        assert accounts.logins and accounts.logins[-1][1] is True
        assert (await outbox_store.get(db, ok_item)).state == "sent"

        settings.smtp.password = "wrong"
        async with db.transaction() as conn:
            bad_item = await queue_mail(conn, template="password_change", tenant_id=tenant,
                                        to_email="b@example.com", to_name="B", link="https://x/y", now=clock())
        worker = await make_worker()
        await worker.deliver_due()
        row = await outbox_store.get(db, bad_item)
        assert (row.state, row.attempts) == ("queued", 1)      # a login failure is retried (config may be fixed)
        assert row.last_error.startswith("SMTPAuthenticationError")
        assert "wrong" not in row.last_error and "pw-123" not in row.last_error
        assert len(capture.messages) == 1
    finally:
        controller.stop()
