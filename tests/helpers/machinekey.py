"""Tentacle certificates and machine keys for the tests, made as Tentacle makes them.

`make_pfx` builds a self-signed certificate and exports it as a PFX without a
password (Tentacle's ``new-certificate``); `tentacle_encrypt` is Tentacle's
Linux machine-key encryption written out here with ``cryptography``'s
primitives, apart from `tentacle_ha.config.MachineKey`, so the two can be
compared; `openssl_enc` runs the real ``openssl enc -aes-*-cbc`` binary;
`linux_config` writes a Tentacle.config holding the encrypted certificate.
"""

from __future__ import annotations

import base64
import datetime as dt
import shutil
import subprocess
import tempfile
from pathlib import Path

import attrs
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives import padding
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.ciphers import Cipher
from cryptography.hazmat.primitives.ciphers import algorithms
from cryptography.hazmat.primitives.ciphers import modes
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.hazmat.primitives.serialization import NoEncryption
from cryptography.hazmat.primitives.serialization import PrivateFormat
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import NameOID

__all__ = [
    "MACHINE_ID",
    "OPENSSL",
    "TENTACLE_IV",
    "Pfx",
    "key_file_text",
    "linux_config",
    "make_pfx",
    "openssl_enc",
    "openssl_pfx_empty_password",
    "tentacle_encrypt",
    "usable_machine_id",
]

MACHINE_ID = "deadbeef" * 4
"""A machine-id in systemd's form (32 lower-case hex digits), plainly synthetic.

Never a real machine's: a test that expects ``--machine-key auto`` (this
machine's key) to fail on data made with it must not pass by accident.
"""
TENTACLE_IV = b"743677397A244326"
OPENSSL = shutil.which("openssl")


@attrs.frozen
class Pfx:
    """A PFX export (no password) and what a reader should find in it."""

    data: bytes
    thumbprint: str
    subject: str
    not_valid_after: dt.datetime
    pem: bytes = attrs.field(repr=False)

    @property
    def base64(self) -> str:
        """The plain text Tentacle encrypts: the PFX as base64."""
        return base64.b64encode(self.data).decode("ascii")


def make_pfx(*, days: float = 365, cn: str = "Octopus Tentacle") -> Pfx:
    """A self-signed certificate valid for *days* from now, as a PFX (no password).

    Negative *days* gives one that has already expired.
    """
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    end = now + dt.timedelta(days=days)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(min(now, end) - dt.timedelta(days=1))
        .not_valid_after(end)
        .sign(key, hashes.SHA256())
    )
    data = pkcs12.serialize_key_and_certificates(
        b"tentacle", key, cert, None, NoEncryption()
    )
    pem = cert.public_bytes(Encoding.PEM) + key.private_bytes(
        Encoding.PEM, PrivateFormat.PKCS8, NoEncryption()
    )
    return Pfx(
        data=data,
        thumbprint=cert.fingerprint(hashes.SHA1()).hex().upper(),  # noqa: S303 -- a thumbprint
        subject=f"CN={cn}",
        not_valid_after=end,
        pem=pem,
    )


def openssl_pfx_empty_password(pfx: Pfx) -> bytes:
    """The same certificate exported by ``openssl pkcs12 -export -passout pass:``.

    A PFX protected by the empty password, as .NET may export one "without
    a password"; ``cryptography`` cannot write that itself.
    """
    assert OPENSSL is not None
    with tempfile.TemporaryDirectory() as folder:
        pem = Path(folder, "cert.pem")
        pem.write_bytes(pfx.pem)
        argv = [OPENSSL, "pkcs12", "-export", "-in", str(pem), "-passout", "pass:"]
        done = subprocess.run(argv, capture_output=True, check=True, timeout=30)
    return done.stdout


def tentacle_encrypt(plaintext: str, key: bytes, iv: bytes = TENTACLE_IV) -> str:
    """Tentacle's Linux encryption: base64(AES-CBC-PKCS7(UTF-8 plaintext))."""
    padder = padding.PKCS7(128).padder()
    data = padder.update(plaintext.encode("utf-8")) + padder.finalize()
    encryptor = Cipher(algorithms.AES(key), modes.CBC(iv)).encryptor()
    return base64.b64encode(encryptor.update(data) + encryptor.finalize()).decode()


def key_file_text(key: bytes, iv: bytes) -> str:
    """The content of ``/etc/octopus/machinekey``: ``base64(key).base64(iv)``."""
    return f"{base64.b64encode(key).decode()}.{base64.b64encode(iv).decode()}"


def openssl_enc(data: bytes, key: bytes, iv: bytes, *, decrypt: bool = False) -> bytes:
    """``openssl enc [-d] -aes-N-cbc -K hex -iv hex`` on *data* (raw bytes)."""
    assert OPENSSL is not None
    cipher = f"-aes-{len(key) * 8}-cbc"
    argv = [OPENSSL, "enc", *(["-d"] if decrypt else []), cipher]
    argv += ["-K", key.hex(), "-iv", iv.hex()]
    done = subprocess.run(argv, input=data, capture_output=True, check=True, timeout=30)
    return done.stdout


def linux_config(
    certificate: str | None,
    thumbprint: str | None,
    *,
    home: str = "/etc/octopus/Tentacle",
    extra: str = "",
) -> bytes:
    """A Linux Tentacle.config with *certificate* (ciphertext) and *thumbprint*."""
    sets = [f'  <set key="Octopus.Home">{home}</set>']
    if certificate is not None:
        sets.append(f'  <set key="Tentacle.Certificate">{certificate}</set>')
    if thumbprint is not None:
        sets.append(f'  <set key="Tentacle.CertificateThumbprint">{thumbprint}</set>')
    servers = (
        '[{"Thumbprint":"9E4A07A1F5B2C8D3E6F7A8B9C0D1E2F3A4B5C6D7",'
        '"CommunicationStyle":2,"Address":"https://octo-node1.example.com:10943",'
        '"Squid":null,"SubscriptionId":"poll://g3662re9njtelsyfhm7t/"}]'
    ).replace('"', "&quot;")
    sets.append(
        f'  <set key="Tentacle.Communication.TrustedOctopusServers">{servers}</set>'
    )
    sets.append('  <set key="Tentacle.Services.NoListen">true</set>')
    body = "\n".join(sets) + ("\n" + extra if extra else "")
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n'
        f"<octopus-settings>\n{body}\n</octopus-settings>\n"
    ).encode()


def usable_machine_id() -> bool:
    """Whether this machine's real ``/etc/machine-id`` is 32 hex digits."""
    try:
        text = Path("/etc/machine-id").read_text(encoding="ascii").strip()
    except (OSError, UnicodeDecodeError):
        return False
    return len(text) == 32 and all(c in "0123456789abcdefABCDEF" for c in text)
