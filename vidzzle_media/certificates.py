"""A trusted certificate by ACME (RFC 8555, e.g. Let's Encrypt), obtained
and renewed while the server runs.

A customer's browser loads the call page inside the dealer's website; it
will not show a frame whose certificate it does not trust, and nobody can
click "accept the risk" there. So with ``tls.acme`` the server gets a
certificate for the host of ``server.public_url`` itself: certbot's ``acme``
library speaks the protocol (in a thread: it is synchronous), the HTTP-01
answers come from a small listener on port 80, and the new chain is loaded
into the running server's TLS context: new connections get it, no restart.

Files, under ``<data_dir>/acme/``: ``account.key`` (the ACME account) and
``<domain>/cert.pem`` + ``key.pem``; keys are written 0600 and never logged.
Renewal at 2/3 of the lifetime; when the ACME server cannot be reached the
current certificate stays and the attempt is repeated with backoff.
"""

from __future__ import annotations

import asyncio
import datetime
import logging
import os
import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from aiohttp import web
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from . import __version__

log = logging.getLogger(__name__)

RENEW_AT = 2 / 3
"""Renew when this part of the lifetime has passed."""
RETRY_FIRST_S = 60.0
RETRY_MAX_S = 6 * 3600.0
CHECK_S = 12 * 3600.0
"""Look again at least this often (a certificate replaced by hand is noticed)."""
ORDER_TIMEOUT_S = 120
CHALLENGE_PREFIX = "/.well-known/acme-challenge/"


@dataclass(frozen=True)
class Issued:
    """The certificate on disk."""

    cert_path: Path
    key_path: Path
    not_before: float
    not_after: float
    serial: int

    @property
    def renew_at(self) -> float:
        return self.not_before + (self.not_after - self.not_before) * RENEW_AT


def _write_private(path: Path, data: bytes) -> None:
    """Atomically, readable by the owner only."""
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
    os.replace(tmp, path)


def _pem_key(key) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


class AcmeCertificates:
    """The certificate of one domain, kept current; ``context`` is the running server's."""

    def __init__(self, domain: str, data_dir: Path, context: ssl.SSLContext, *, directory_url: str,
                 email: str = "", ca_file: str = "", clock: Callable[[], float] = time.time) -> None:
        self.domain = domain
        self.root = data_dir / "acme"
        self.folder = self.root / domain
        self.context = context
        self.directory_url = directory_url
        self.email = email
        self.ca_file = ca_file
        self.clock = clock
        self.failures = 0
        self.last_error = ""
        self.next_attempt = 0.0
        self._answers: dict[str, str] = {}

    # --- what is on disk ----------------------------------------------------------

    def current(self) -> Issued | None:
        cert_path, key_path = self.folder / "cert.pem", self.folder / "key.pem"
        try:
            cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
        except (OSError, ValueError):
            return None
        if not key_path.exists():
            return None
        return Issued(cert_path, key_path, cert.not_valid_before_utc.timestamp(), cert.not_valid_after_utc.timestamp(),
                      cert.serial_number)

    def load_into_context(self) -> Issued | None:
        """Serve the stored certificate (if any) on new connections."""
        issued = self.current()
        if issued is not None:
            self.context.load_cert_chain(issued.cert_path, issued.key_path)
        return issued

    # --- HTTP-01 -----------------------------------------------------------------

    def answer(self, token: str) -> str | None:
        """The key authorization for a pending HTTP-01 challenge."""
        return self._answers.get(token)

    def http_app(self, https_base: str) -> web.Application:
        """Port 80: the challenge answers; everything else goes to ``https_base`` (server.public_url)."""

        async def challenge(request: web.Request) -> web.Response:
            body = self.answer(request.match_info["token"])
            if body is None:
                raise web.HTTPNotFound()
            return web.Response(text=body, content_type="text/plain")

        async def to_https(request: web.Request) -> web.Response:
            raise web.HTTPMovedPermanently(https_base.rstrip("/") + str(request.rel_url))

        app = web.Application()
        app.router.add_get(CHALLENGE_PREFIX + "{token}", challenge)
        app.router.add_route("*", "/{tail:.*}", to_https)
        return app

    # --- obtaining -----------------------------------------------------------------

    def _account_key(self):
        import josepy as jose

        path = self.root / "account.key"
        if path.exists():
            key = serialization.load_pem_private_key(path.read_bytes(), password=None)
        else:
            self.root.mkdir(parents=True, exist_ok=True)
            key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
            _write_private(path, _pem_key(key))
        return jose.JWKRSA(key=key)

    def _obtain_sync(self) -> tuple[bytes, bytes]:
        """One ACME order, start to finish; (key PEM, full chain PEM)."""
        from acme import challenges, client, crypto_util, errors, messages

        jwk = self._account_key()
        # verify_ssl goes to requests' ``verify``, which also takes a CA bundle's path
        net = client.ClientNetwork(jwk, user_agent=f"vidzzle-media/{__version__}", timeout=30,
                                   verify_ssl=self.ca_file or True)  # type: ignore[arg-type]
        acme = client.ClientV2(client.ClientV2.get_directory(self.directory_url, net), net)
        registration = messages.NewRegistration.from_data(email=self.email or None, terms_of_service_agreed=True)
        try:
            acme.new_account(registration)
        except errors.ConflictError as exc:     # this key has an account already
            acme.query_registration(messages.RegistrationResource(uri=exc.location, body=messages.Registration()))
        key = ec.generate_private_key(ec.SECP256R1())
        key_pem = _pem_key(key)
        order = acme.new_order(crypto_util.make_csr(key_pem, [self.domain]))
        tokens = []
        try:
            for authz in order.authorizations:
                if authz.body.status == messages.STATUS_VALID:     # proven recently (a renewal): reused
                    continue
                offered = [c for c in authz.body.challenges if isinstance(c.chall, challenges.HTTP01)]
                if not offered:
                    raise RuntimeError("the ACME server offers no HTTP-01 challenge")
                response, validation = offered[0].response_and_validation(jwk)
                token = offered[0].chall.encode("token")
                self._answers[token] = validation
                tokens.append(token)
                acme.answer_challenge(offered[0], response)
            deadline = datetime.datetime.now() + datetime.timedelta(seconds=ORDER_TIMEOUT_S)
            order = acme.poll_and_finalize(order, deadline=deadline)
        finally:
            for token in tokens:
                self._answers.pop(token, None)
        return key_pem, order.fullchain_pem.encode("ascii")

    async def obtain(self) -> Issued:
        """A new certificate, stored and served."""
        key_pem, chain_pem = await asyncio.to_thread(self._obtain_sync)
        self.folder.mkdir(parents=True, exist_ok=True)
        _write_private(self.folder / "key.pem", key_pem)
        _write_private(self.folder / "cert.pem", chain_pem)
        issued = self.load_into_context()
        assert issued is not None
        log.info("certificate for %s obtained from %s, valid until %s", self.domain, self.directory_url,
                 datetime.datetime.fromtimestamp(issued.not_after, datetime.timezone.utc).date())
        return issued

    async def step(self) -> float:
        """Obtain or renew if due; the seconds until the next look."""
        now = self.clock()
        issued = self.current()
        if issued is not None and now < issued.renew_at:
            return max(1.0, min(issued.renew_at - now, CHECK_S))
        if now < self.next_attempt:
            return self.next_attempt - now
        try:
            issued = await self.obtain()
        except Exception as exc:    # the ACME server down, a refused challenge, ...: keep what we have
            self.failures += 1
            wait = min(RETRY_MAX_S, RETRY_FIRST_S * 2 ** (self.failures - 1))
            self.next_attempt = now + wait
            self.last_error = str(exc)[:300] or type(exc).__name__
            log.warning("no certificate for %s from %s: %s. %s; next attempt in %d s.", self.domain,
                        self.directory_url, self.last_error,
                        "The current certificate stays" if issued else "The self-signed certificate stays", wait)
            return wait
        self.failures, self.last_error, self.next_attempt = 0, "", 0.0
        return max(1.0, min(issued.renew_at - self.clock(), CHECK_S))

    async def run(self) -> None:
        while True:
            await asyncio.sleep(await self.step())
