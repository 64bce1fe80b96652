"""A real ACME server for tests: Debian's ``pebble`` with its
``pebble-challtestsrv`` as the DNS server that sends every name to
127.0.0.1, so Pebble's HTTP-01 check reaches our server on loopback."""

from __future__ import annotations

import datetime
import ipaddress
import json
import os
import shutil
import socket
import ssl
import subprocess
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _api_certificate(folder: Path) -> tuple[Path, Path]:
    """Pebble's own HTTPS (its API) needs a certificate; the ACME client trusts this file."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "pebble test API")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=30))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost"),
                                                        x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                           critical=False)
            .sign(key, hashes.SHA256()))
    cert_path, key_path = folder / "api.crt", folder / "api.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path


@dataclass
class Pebble:
    folder: Path
    http_port: int
    """Where Pebble asks for HTTP-01 answers (our tls.acme_http_port)."""
    api_port: int = 0
    management_port: int = 0
    dns_port: int = 0
    api_cert: Path | None = None
    _procs: tuple = ()

    @property
    def directory(self) -> str:
        return f"https://127.0.0.1:{self.api_port}/dir"

    def _api_context(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=str(self.api_cert))

    def start(self) -> None:
        if self._procs:
            return
        if not self.api_port:
            self.api_port, self.management_port, self.dns_port = free_port(), free_port(), free_port()
            self.api_cert, api_key = _api_certificate(self.folder)
            config = {"pebble": {"listenAddress": f"127.0.0.1:{self.api_port}",
                                 "managementListenAddress": f"127.0.0.1:{self.management_port}",
                                 "certificate": str(self.api_cert), "privateKey": str(api_key),
                                 "httpPort": self.http_port, "tlsPort": free_port(),
                                 "ocspResponderURL": "", "externalAccountBindingRequired": False}}
            (self.folder / "pebble.json").write_text(json.dumps(config))
        env = {**os.environ, "PEBBLE_VA_NOSLEEP": "1", "PEBBLE_WFE_NONCEREJECT": "0"}
        dns = subprocess.Popen(["pebble-challtestsrv", "-defaultIPv4", "127.0.0.1", "-defaultIPv6", "",
                                "-dns01", f"127.0.0.1:{self.dns_port}", "-http01", "", "-https01", "",
                                "-tlsalpn01", "", "-management", f"127.0.0.1:{free_port()}"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        acme = subprocess.Popen(["pebble", "-config", str(self.folder / "pebble.json"),
                                 "-dnsserver", f"127.0.0.1:{self.dns_port}"], env=env,
                                stdout=open(self.folder / "pebble.log", "ab"), stderr=subprocess.STDOUT)
        self._procs = (acme, dns)
        deadline = time.monotonic() + 20
        while True:
            try:
                urllib.request.urlopen(self.directory, context=self._api_context(), timeout=2).close()
                return
            except OSError as exc:
                if time.monotonic() > deadline or acme.poll() is not None:
                    raise RuntimeError((self.folder / "pebble.log").read_text()) from exc
                time.sleep(0.1)

    def stop(self) -> None:
        for proc in self._procs:
            proc.terminate()
            proc.wait(timeout=10)
        self._procs = ()

    def roots(self) -> str:
        """The PEM of Pebble's (per start) root CA: what a browser would have to trust."""
        url = f"https://127.0.0.1:{self.management_port}/roots/0"
        with urllib.request.urlopen(url, context=self._api_context(), timeout=5) as resp:
            return resp.read().decode()


def available() -> bool:
    return bool(shutil.which("pebble") and shutil.which("pebble-challtestsrv"))
