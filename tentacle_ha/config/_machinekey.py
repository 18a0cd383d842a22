"""Private: Tentacle's Linux machine key, and the certificate it protects.

Tentacle stores ``Tentacle.Certificate`` and the proxy passwords machine-key
encrypted (tentacle-facts.md, section 1, "Machine-key encryption"). On Linux
that is AES (.NET defaults: CBC, PKCS7) over the UTF-8 text, stored as
base64, with one of two keys, tried in this order:

1. the 32 ASCII bytes of ``/etc/machine-id`` as the key, with the fixed
   16-byte ASCII IV ``743677397A244326``;
2. the key file ``/etc/octopus/machinekey``, holding ``base64(key).base64(iv)``.

`MachineKey` holds one or both (``MachineKey.auto()``: this machine's, in
Tentacle's order; ``MachineKey.from_file(path)``: a collected copy of a
machine's ``/etc/machine-id`` or ``/etc/octopus/machinekey``, told apart by
content). `MachineKey.decrypt` tries its keys in order, as Tentacle does;
`MachineKey.encrypt` uses the first, as Tentacle does. ``Tentacle.Certificate``
is the base64 of a PFX export without a password; `read_certificate`
decrypts it in memory and returns only a `CertificateSummary` (SHA-1
thumbprint, subject, expiry).

On Windows the key is DPAPI (``LocalMachine`` scope): only that machine's
Windows can decrypt it. A DPAPI blob (base64 ``AQAAANCMnd8BFdERjHoAwE/Cl+s``,
version 1 and the DPAPI provider's GUID) or a config whose ``Octopus.Home``
is a Windows path is refused with `MachineKeyError` rather than guessed at.

Secrets stay secret: the key bytes and everything decrypted never appear
in a repr, an error message or a chained exception (errors are raised
``from None``); `MachineKey.decrypt` returns a `tentacle_ha._secret.Secret`.
``cryptography`` is imported on first use, so commands that never decrypt
start without it.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import os
import re
from pathlib import Path
from typing import TYPE_CHECKING
from typing import Final

import attrs

from tentacle_ha import _lazy
from tentacle_ha._secret import Secret
from tentacle_ha.config._values import KEYS
from tentacle_ha.config._values import is_windows_path
from tentacle_ha.errors import MachineKeyError

if TYPE_CHECKING:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives import padding
    from cryptography.hazmat.primitives.ciphers import algorithms
    from cryptography.hazmat.primitives.ciphers import base as ciphers
    from cryptography.hazmat.primitives.ciphers import modes
    from cryptography.hazmat.primitives.serialization import pkcs12

    from tentacle_ha.config._document import TentacleConfig
else:
    x509 = _lazy.module("cryptography.x509")
    hashes = _lazy.module("cryptography.hazmat.primitives.hashes")
    padding = _lazy.module("cryptography.hazmat.primitives.padding")
    algorithms = _lazy.module("cryptography.hazmat.primitives.ciphers.algorithms")
    ciphers = _lazy.module("cryptography.hazmat.primitives.ciphers.base")
    modes = _lazy.module("cryptography.hazmat.primitives.ciphers.modes")
    pkcs12 = _lazy.module("cryptography.hazmat.primitives.serialization.pkcs12")

__all__ = [
    "MACHINE_ID_IV",
    "MACHINE_ID_PATH",
    "MACHINE_KEY_PATH",
    "CertificateSummary",
    "MachineKey",
    "read_certificate",
]

MACHINE_ID_PATH: Final = "/etc/machine-id"
MACHINE_KEY_PATH: Final = "/etc/octopus/machinekey"
MACHINE_ID_IV: Final = b"743677397A244326"
"""The fixed IV Tentacle uses with the machine-id key (16 ASCII bytes)."""

_MACHINE_ID: Final = re.compile(rb"[0-9A-Fa-f]{32}")
_KEY_FILE: Final = re.compile(rb"([A-Za-z0-9+/]+={0,2})\.([A-Za-z0-9+/]+={0,2})")
_DPAPI_PREFIX: Final = "AQAAANCMnd8BFdERjHoAwE/Cl+s"
_AES_KEY_SIZES: Final = (16, 24, 32)
_BLOCK: Final = 16
_MAX_KEY_FILE: Final = 4096


@attrs.frozen
class _Key:
    """One AES key and IV, and where they came from (for messages)."""

    key: bytes = attrs.field(repr=False)
    iv: bytes = attrs.field(repr=False)
    source: str


def _machine_id_key(data: bytes, source: str) -> _Key:
    return _Key(data.strip(), MACHINE_ID_IV, source)


def _auto_machine_id(data: bytes, source: str) -> _Key:
    """``/etc/machine-id`` as `MachineKey.auto` finds it: 32 hex digits or refused."""
    text = data.strip()
    if not text:
        msg = "empty"
    elif text == b"uninitialized":
        msg = "'uninitialized' (no machine-id yet)"
    elif not _MACHINE_ID.fullmatch(text):
        msg = "not a machine-id (expected 32 hex digits)"
    else:
        return _machine_id_key(data, source)
    raise MachineKeyError(msg, path=source)


def _key_file_key(data: bytes, source: str) -> _Key:
    match = _KEY_FILE.fullmatch(data.strip())
    if match is None:
        msg = "not a machine key file (expected base64(key).base64(iv))"
        raise MachineKeyError(msg, path=source)
    try:
        key, iv = (base64.b64decode(part, validate=True) for part in match.groups())
    except (binascii.Error, ValueError):
        msg = "not a machine key file (the key or IV is not base64)"
        raise MachineKeyError(msg, path=source) from None
    if len(key) not in _AES_KEY_SIZES or len(iv) != _BLOCK:
        msg = "not a machine key file (an AES key is 16, 24 or 32 bytes and the IV 16)"
        raise MachineKeyError(msg, path=source)
    return _Key(key, iv, source)


def _parse(data: bytes, source: str) -> _Key:
    """A machine-id or a machinekey file, told apart by content."""
    if _MACHINE_ID.fullmatch(data.strip()):
        return _machine_id_key(data, source)
    if b"." in data:
        return _key_file_key(data, source)
    msg = (
        "neither a machine-id (32 hex digits) nor a machine key file "
        "(base64(key).base64(iv))"
    )
    raise MachineKeyError(msg, path=source)


def _read_small(path: str) -> bytes:
    with open(path, "rb") as handle:  # noqa: PTH123 -- a plain read of a small file
        data = handle.read(_MAX_KEY_FILE + 1)
    if len(data) > _MAX_KEY_FILE:
        msg = "too large for a machine-id or machine key file"
        raise MachineKeyError(msg, path=path)
    return data


class MachineKey:
    """The key(s) Tentacle encrypts secrets with on one Linux machine.

    Build one with `auto` or `from_file`; the repr names only where the key
    came from, e.g. ``MachineKey(source='/etc/machine-id')``.

    .. versionadded:: 0.1.0
    """

    __slots__ = ("_keys",)

    def __init__(self, keys: tuple[_Key, ...]) -> None:
        if not keys:
            msg = "a MachineKey needs at least one key"
            raise MachineKeyError(msg)
        self._keys = keys

    @classmethod
    def auto(cls, *, root: str = "/") -> MachineKey:
        """This machine's key(s), in Tentacle's order.

        ``/etc/machine-id`` first, then ``/etc/octopus/machinekey``; each one
        that is usable is used (decrypting tries them in turn). One that is
        missing, unreadable, empty, ``uninitialized`` (systemd's placeholder
        in images) or malformed is skipped, as Tentacle falls back to the
        next key. *root* is prepended to both paths (for tests and for a
        mounted machine image).

        Raises:
            MachineKeyError: neither is usable; one line naming both paths
                and why (never their content).
        """
        keys: list[_Key] = []
        unusable: list[str] = []
        for path, parse in (
            (MACHINE_ID_PATH, _auto_machine_id),
            (MACHINE_KEY_PATH, _key_file_key),
        ):
            where = str(Path(root, path.lstrip("/")))
            try:
                keys.append(parse(_read_small(where), where))
            except FileNotFoundError:
                unusable.append(f"{where} does not exist")
            except OSError as exc:
                unusable.append(f"{where} cannot be read ({exc.strerror or exc})")
            except MachineKeyError as exc:
                unusable.append(f"{where} is {exc.message}")
        if not keys:
            msg = f"no machine key on this machine: {'; '.join(unusable)}"
            raise MachineKeyError(msg)
        return cls(tuple(keys))

    @classmethod
    def from_file(cls, path: str | os.PathLike[str]) -> MachineKey:
        """A collected copy of a machine's ``/etc/machine-id`` or ``machinekey``.

        Which of the two it is comes from the content: 32 hex digits are a
        machine-id, ``base64.base64`` a key file.

        Raises:
            MachineKeyError: the file is neither.
            OSError: it cannot be read.
        """
        where = os.fspath(path)
        return cls((_parse(_read_small(where), where),))

    @classmethod
    def from_bytes(cls, data: bytes, *, source: str = "<bytes>") -> MachineKey:
        """Like `from_file`, from the file's content."""
        return cls((_parse(data, source),))

    @property
    def source(self) -> str:
        """Where the key came from: a path (or the paths, ``a + b``)."""
        return " + ".join(k.source for k in self._keys)

    def __repr__(self) -> str:
        return f"MachineKey(source={self.source!r})"

    def __reduce__(self) -> tuple[object, ...]:
        # Crosses to the fleet's own worker processes; never printed.
        return (MachineKey, (self._keys,))

    def encrypt(self, plaintext: str) -> str:
        """*plaintext* encrypted as Tentacle does: base64 of AES-CBC over UTF-8.

        With several keys, the first (as Tentacle's encryptor does).
        """
        key = self._keys[0]
        padder = padding.PKCS7(128).padder()
        data = padder.update(plaintext.encode("utf-8")) + padder.finalize()
        encryptor = ciphers.Cipher(
            algorithms.AES(key.key), modes.CBC(key.iv)
        ).encryptor()
        return base64.b64encode(encryptor.update(data) + encryptor.finalize()).decode(
            "ascii"
        )

    def decrypt(self, ciphertext: str, *, what: str = "the value") -> Secret:
        """The plain text of a Tentacle machine-key-encrypted value, as a `Secret`.

        Each key is tried in turn; *what* names the value in the error.

        Raises:
            MachineKeyError: DPAPI (Windows), not base64, or no key decrypts
                it (``cannot decrypt WHAT with the machine key from SOURCE``).
        """
        text = ciphertext.strip()
        refuse_dpapi(text, what=what)
        try:
            data = base64.b64decode(text, validate=True)
        except (binascii.Error, ValueError):
            data = b""
        if data and len(data) % _BLOCK == 0:
            for key in self._keys:
                plain = _decrypt_one(key, data)
                if plain is not None:
                    return Secret(plain)
        msg = f"cannot decrypt {what} with the machine key from {self.source}"
        raise MachineKeyError(msg)


def _decrypt_one(key: _Key, data: bytes) -> str | None:
    """The UTF-8 plain text, or None when this key does not fit."""
    decryptor = ciphers.Cipher(algorithms.AES(key.key), modes.CBC(key.iv)).decryptor()
    padded = decryptor.update(data) + decryptor.finalize()
    unpadder = padding.PKCS7(128).unpadder()
    try:
        plain = unpadder.update(padded) + unpadder.finalize()
        return plain.decode("utf-8")
    except ValueError:  # bad padding or not UTF-8: the wrong key
        return None


def refuse_dpapi(ciphertext: str, *, what: str) -> None:
    """Refuse a Windows DPAPI blob: only that machine's Windows can open it."""
    if ciphertext.strip().startswith(_DPAPI_PREFIX):
        msg = (
            f"{what} is DPAPI-protected (a Windows Tentacle): only Windows on "
            "that machine can decrypt it; nothing was decrypted"
        )
        raise MachineKeyError(msg)


def refuse_windows(doc: TentacleConfig, *, what: str, windows: bool = False) -> None:
    """Refuse a Windows-shaped config: *windows*, or ``Octopus.Home`` on a drive.

    The machine key there is DPAPI, not the Linux AES key. *windows* lets a
    caller that knows more (`tentacle_ha.commands.plan.config_os`) say so.
    """
    home = doc.home
    if windows or (home and is_windows_path(home)):
        msg = (
            "this is a Windows Tentacle: its machine key is DPAPI, so "
            f"{what} can only be decrypted or encrypted by Windows on that "
            "machine; nothing was decrypted"
        )
        raise MachineKeyError(msg)


@attrs.frozen(kw_only=True)
class CertificateSummary:
    """What may be shown of a Tentacle's own certificate (no key, no PFX).

    Attributes:
        thumbprint: SHA-1 of the DER certificate, upper-case hex (as Tentacle
            writes ``Tentacle.CertificateThumbprint``).
        subject: the subject, RFC 4514 (e.g. ``CN=Octopus Tentacle``).
        not_valid_after: the end of validity, UTC.

    .. versionadded:: 0.1.0
    """

    thumbprint: str
    subject: str
    not_valid_after: dt.datetime

    @property
    def expires(self) -> str:
        """The expiry as an ISO date (``YYYY-MM-DD``, UTC)."""
        return self.not_valid_after.date().isoformat()

    def days_left(self, now: dt.datetime | None = None) -> float:
        """Days until expiry from *now* (default: now, UTC); negative once expired."""
        when = now if now is not None else dt.datetime.now(dt.UTC)
        return (self.not_valid_after - when).total_seconds() / 86400

    def to_dict(self) -> dict[str, str]:
        """Plain JSON-ready values: thumbprint, subject, not_valid_after (ISO date)."""
        return {
            "thumbprint": self.thumbprint,
            "subject": self.subject,
            "not_valid_after": self.expires,
        }


def summarize_pfx(pfx: bytes) -> CertificateSummary | None:
    """The certificate of a PFX without a password, or None if it is not one."""
    loaded = None
    for password in (None, b""):
        try:
            loaded = pkcs12.load_key_and_certificates(pfx, password)
            break
        except (ValueError, TypeError):
            continue
    cert: x509.Certificate | None = None if loaded is None else loaded[1]
    if cert is None:
        return None
    return CertificateSummary(
        thumbprint=cert.fingerprint(hashes.SHA1()).hex().upper(),
        subject=cert.subject.rfc4514_string(),
        not_valid_after=cert.not_valid_after_utc,
    )


def read_certificate(
    doc: TentacleConfig, key: MachineKey, *, windows: bool = False
) -> CertificateSummary | None:
    """Decrypt *doc*'s ``Tentacle.Certificate`` in memory and summarise it.

    None when the file has no certificate. Nothing decrypted is kept.
    *windows*: the caller knows *doc* is a Windows Tentacle's (refused).

    Raises:
        MachineKeyError: a Windows config or DPAPI value; the key does not
            decrypt it; or the plain text is not a PFX. Positioned at the
            ``Tentacle.Certificate`` element, never quoting the value.
    """
    stored = doc.get(KEYS.CERTIFICATE, reveal=True)
    if stored is None or not str(stored).strip():
        return None
    try:
        refuse_windows(doc, what=KEYS.CERTIFICATE, windows=windows)
        return _summarize(str(stored), key)
    except MachineKeyError as exc:
        position = doc.position(KEYS.CERTIFICATE) or (None, None)
        exc.path, (exc.line, exc.col) = doc.path, position
        raise


def _summarize(stored: str, key: MachineKey) -> CertificateSummary:
    """Decrypt, decode and summarise; the plain text lives only in here."""
    plain = key.decrypt(stored, what=KEYS.CERTIFICATE)
    try:
        pfx = base64.b64decode(plain.reveal(), validate=True)
    except (binascii.Error, ValueError):
        pfx = b""
    summary = summarize_pfx(pfx) if pfx else None
    if summary is None:
        msg = (
            f"{KEYS.CERTIFICATE} decrypts with the machine key from {key.source}, "
            "but is not a PFX without a password"
        )
        raise MachineKeyError(msg)
    return summary
