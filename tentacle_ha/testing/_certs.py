"""Private: certificates made in memory for the fakes and for tests.

`CertificateBundle` holds a PEM certificate and its key and makes TLS
contexts from them; `generate_certificate` makes a self-signed or CA-signed
RSA-2048 certificate; `WebPki` is the test CA and HTTPS certificate behind a
fake's web API. `tentacle_ha.testing` re-exports the two public names.

The names other modules use have no leading underscore; the helpers only
this module uses keep theirs.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import ssl
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

import attrs
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import ExtendedKeyUsageOID
from cryptography.x509.oid import NameOID

from tentacle_ha.check import thumbprint
from tentacle_ha.errors import FakeServerError

if TYPE_CHECKING:
    from collections.abc import Sequence

__all__ = ["CertificateBundle", "WebPki", "generate_certificate"]


@attrs.frozen(kw_only=True)
class CertificateBundle:
    """A certificate and its private key, PEM-encoded, made for tests.

    Attributes:
        cert_pem: the certificate.
        key_pem: the unencrypted PKCS#8 private key (left out of ``repr()``).

    .. versionadded:: 0.1.0
    """

    cert_pem: bytes
    key_pem: bytes = attrs.field(repr=False)

    @property
    def der(self) -> bytes:
        """The certificate, DER-encoded."""
        cert = x509.load_pem_x509_certificate(self.cert_pem)
        return cert.public_bytes(serialization.Encoding.DER)

    @property
    def thumbprint(self) -> str:
        """SHA-1 of the DER certificate in upper-case hex, as Tentacle shows it."""
        return thumbprint(self.der)

    def server_context(self) -> ssl.SSLContext:
        """A TLS server context presenting this certificate; asks for no client cert."""
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        # ssl loads keys from files only: a private folder that is gone on return.
        with tempfile.TemporaryDirectory(prefix="tentacle_ha-") as folder:
            cert_file = Path(folder, "cert.pem")
            key_file = Path(folder, "key.pem")
            cert_file.write_bytes(self.cert_pem)
            key_file.touch(mode=0o600)
            key_file.write_bytes(self.key_pem)
            context.load_cert_chain(cert_file, key_file)
        return context

    def client_context(self) -> ssl.SSLContext:
        """A verifying TLS client context that trusts this certificate as a CA."""
        return ssl.create_default_context(cadata=self.cert_pem.decode("ascii"))


def _host_names(hosts: Sequence[str]) -> list[x509.GeneralName]:
    names: list[x509.GeneralName] = []
    for host in hosts:
        try:
            names.append(x509.IPAddress(ipaddress.ip_address(host)))
        except ValueError:
            names.append(x509.DNSName(host))
    return names


def generate_certificate(
    common_name: str = "Octopus Portal",
    *,
    issuer: CertificateBundle | None = None,
    ca: bool = False,
    hosts: Sequence[str] = (),
) -> CertificateBundle:
    """Make an RSA-2048 SHA-256 certificate in memory, valid from yesterday, 10 years.

    Self-signed by default, like the Octopus Server comms certificate; signed by
    ``issuer`` when given (a CA made with ``ca=True``), for HTTPS that a client
    verifies normally.

    Args:
        common_name: the subject CN.
        issuer: the CA that signs it; None for self-signed.
        ca: make a CA certificate (basic constraints CA, may sign certificates).
        hosts: host names and IP addresses for the subjectAltName extension.

    .. versionadded:: 0.1.0
    """
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    if issuer is None:
        issuer_name, signing_key = subject, key
    else:
        issuer_cert = x509.load_pem_x509_certificate(issuer.cert_pem)
        issuer_name = issuer_cert.subject
        loaded = serialization.load_pem_private_key(issuer.key_pem, password=None)
        if not isinstance(loaded, rsa.RSAPrivateKey):
            raise FakeServerError("the issuer's key is not an RSA key")
        signing_key = loaded
    now = dt.datetime.now(dt.UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=3650))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        .add_extension(
            x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False
        )
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(
                signing_key.public_key()
            ),
            critical=False,
        )
    )
    if ca:
        usage = x509.KeyUsage(
            digital_signature=True,
            content_commitment=False,
            key_encipherment=False,
            data_encipherment=False,
            key_agreement=False,
            key_cert_sign=True,
            crl_sign=True,
            encipher_only=False,
            decipher_only=False,
        )
        builder = builder.add_extension(usage, critical=True)
    else:
        server_auth = x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH])
        builder = builder.add_extension(server_auth, critical=False)
    if hosts:
        alt_names = x509.SubjectAlternativeName(_host_names(hosts))
        builder = builder.add_extension(alt_names, critical=False)
    cert = builder.sign(signing_key, hashes.SHA256())
    return CertificateBundle(
        cert_pem=cert.public_bytes(serialization.Encoding.PEM),
        key_pem=key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ),
    )


@attrs.frozen
class WebPki:
    """A test CA and the HTTPS certificate it issued for the web API."""

    ca: CertificateBundle
    leaf: CertificateBundle

    @classmethod
    def make(cls, host: str) -> WebPki:
        ca = generate_certificate("tentacle_ha test CA", ca=True)
        hosts = sorted({host, "127.0.0.1", "::1", "localhost"})
        leaf = generate_certificate("Octopus Deploy", issuer=ca, hosts=hosts)
        return cls(ca, leaf)
