"""The server's TLS context: a configured certificate, or a self-signed one.

HTTPS is the default because browsers only grant camera and microphone to
secure origins. Without a configured certificate a self-signed one is
generated once and reused, so the fingerprint a person accepted stays valid
across restarts.
"""

from __future__ import annotations

import datetime
import ipaddress
import logging
import os
import socket
import ssl
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from .config import ConfigError, TlsSettings

log = logging.getLogger(__name__)

CERT_NAME = "vidzzle-selfsigned.crt"
KEY_NAME = "vidzzle-selfsigned.key"


def ensure_self_signed(cert_dir: Path) -> tuple[Path, Path]:
    """Return (cert, key) in cert_dir, generating them on first use."""
    cert_path, key_path = cert_dir / CERT_NAME, cert_dir / KEY_NAME
    if cert_path.exists() and key_path.exists():
        return cert_path, key_path
    cert_dir.mkdir(parents=True, exist_ok=True)
    key = ec.generate_private_key(ec.SECP256R1())
    hostname = socket.gethostname() or "localhost"
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, hostname)])
    alt_names: list[x509.GeneralName] = [x509.DNSName("localhost"), x509.DNSName(hostname)]
    alt_names += [x509.IPAddress(ipaddress.ip_address(a)) for a in ("127.0.0.1", "::1")]
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=825))
        .add_extension(x509.SubjectAlternativeName(alt_names), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    # Write the key first with restrictive permissions, never readable by others.
    fd = os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    log.info("generated self-signed certificate %s", cert_path)
    return cert_path, key_path


def server_ssl_context(tls: TlsSettings) -> ssl.SSLContext | None:
    """None when TLS is off (behind a reverse proxy)."""
    if not tls.enabled:
        return None
    if tls.cert_file:
        cert, key = Path(tls.cert_file), Path(tls.key_file)
    else:
        cert, key = ensure_self_signed(Path(tls.cert_dir))
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    try:
        context.load_cert_chain(cert, key)
    except (OSError, ssl.SSLError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else exc
        raise ConfigError(f"cannot read the TLS certificate or key ({cert}, {key}): {reason}. "
                          "Check tls.cert_file and tls.key_file.") from None
    return context
