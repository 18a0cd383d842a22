"""Tentacle's Linux machine key: decrypt and encrypt as Tentacle and openssl do.

The certificate is built with ``cryptography`` and exported as a PFX without
a password, as ``new-certificate`` stores it; the encryption is checked
against the real ``openssl enc -aes-*-cbc`` binary in both directions.
"""

from __future__ import annotations

import base64
import pickle
from pathlib import Path

import pytest
from helpers.machinekey import MACHINE_ID
from helpers.machinekey import OPENSSL
from helpers.machinekey import TENTACLE_IV
from helpers.machinekey import key_file_text
from helpers.machinekey import linux_config
from helpers.machinekey import make_pfx
from helpers.machinekey import openssl_enc
from helpers.machinekey import openssl_pfx_empty_password
from helpers.machinekey import tentacle_encrypt
from helpers.machinekey import usable_machine_id
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st

from tentacle_ha import MachineKeyError
from tentacle_ha.config import MACHINE_ID_IV
from tentacle_ha.config import MachineKey
from tentacle_ha.config import loads
from tentacle_ha.config import read_certificate

needs_openssl = pytest.mark.skipif(OPENSSL is None, reason="no openssl binary")
ID_KEY = MACHINE_ID.encode("ascii")
FILE_KEY, FILE_IV = bytes(range(32)), bytes(range(100, 116))
WRONG_ID = "0" * 32


def _id_file(tmp_path: Path, text: str = MACHINE_ID + "\n") -> Path:
    path = tmp_path / "machine-id"
    path.write_text(text, encoding="ascii")
    return path


def _key_file(tmp_path: Path, key: bytes = FILE_KEY, iv: bytes = FILE_IV) -> Path:
    path = tmp_path / "machinekey"
    path.write_text(key_file_text(key, iv), encoding="ascii")
    return path


def _keys(tmp_path: Path, which: str) -> tuple[MachineKey, bytes, bytes]:
    """A MachineKey from a machine-id or a machinekey file, and its raw key and IV."""
    if which == "machine-id":
        return MachineKey.from_file(_id_file(tmp_path)), ID_KEY, TENTACLE_IV
    return MachineKey.from_file(_key_file(tmp_path)), FILE_KEY, FILE_IV


def test_the_fixed_iv_is_tentacles() -> None:
    """The 16 ASCII bytes tentacle-facts.md gives."""
    assert MACHINE_ID_IV == TENTACLE_IV == b"743677397A244326"
    assert len(MACHINE_ID_IV) == 16


# -- against openssl, both directions -------------------------------------------


@needs_openssl
@pytest.mark.parametrize("which", ["machine-id", "machinekey"])
def test_openssl_encrypts_we_decrypt(tmp_path: Path, which: str) -> None:
    """``openssl enc -aes-256-cbc -K -iv`` output decrypts to the same text."""
    key, raw, iv = _keys(tmp_path, which)
    text = "pässwörd with ünïcode and 🐙, long enough for several blocks " * 3
    cipher = openssl_enc(text.encode("utf-8"), raw, iv)
    assert key.decrypt(base64.b64encode(cipher).decode()).reveal() == text


@needs_openssl
@pytest.mark.parametrize("which", ["machine-id", "machinekey"])
def test_we_encrypt_openssl_decrypts(tmp_path: Path, which: str) -> None:
    """Our ciphertext is what ``openssl enc -d`` decrypts back to the text."""
    key, raw, iv = _keys(tmp_path, which)
    text = "correct horse battery staple ✓"
    ours = base64.b64decode(key.encrypt(text))
    assert openssl_enc(ours, raw, iv, decrypt=True) == text.encode("utf-8")
    # And byte for byte the same ciphertext (CBC with a fixed IV is deterministic).
    assert ours == openssl_enc(text.encode("utf-8"), raw, iv)


@needs_openssl
def test_negative_control_openssl_with_another_key_does_not_decrypt(
    tmp_path: Path,
) -> None:
    """The openssl cross-check can fail: a wrong key is refused cleanly."""
    cipher = openssl_enc(b"secret text", WRONG_ID.encode(), TENTACLE_IV)
    key = MachineKey.from_file(_id_file(tmp_path))
    with pytest.raises(MachineKeyError, match="cannot decrypt"):
        key.decrypt(base64.b64encode(cipher).decode())


@settings(max_examples=50, deadline=None)
@given(st.text(max_size=200))
def test_round_trip_and_tentacles_form(text: str) -> None:
    """Any text round-trips, and the ciphertext is Tentacle's own."""
    key = MachineKey.from_bytes(MACHINE_ID.encode())
    encrypted = key.encrypt(text)
    assert encrypted == tentacle_encrypt(text, ID_KEY)
    assert key.decrypt(encrypted).reveal() == text


# -- the certificate --------------------------------------------------------------


def _doc(certificate: str | None, thumbprint: str | None, **kw: str) -> object:
    return loads(linux_config(certificate, thumbprint, **kw), path="Tentacle.config")


@pytest.mark.parametrize("empty_password", [False, True], ids=["none", "empty"])
def test_read_certificate(*, empty_password: bool) -> None:
    """The thumbprint, subject and expiry of the PFX inside Tentacle.Certificate."""
    pfx = make_pfx(days=90)
    data = openssl_pfx_empty_password(pfx) if empty_password else pfx.data
    stored = tentacle_encrypt(base64.b64encode(data).decode(), ID_KEY)
    doc = loads(linux_config(stored, pfx.thumbprint))
    summary = read_certificate(doc, MachineKey.from_bytes(MACHINE_ID.encode()))
    assert summary is not None
    assert summary.thumbprint == pfx.thumbprint
    assert summary.subject == "CN=Octopus Tentacle"
    assert summary.not_valid_after == pfx.not_valid_after
    assert summary.expires == pfx.not_valid_after.date().isoformat()
    assert summary.to_dict() == {
        "thumbprint": pfx.thumbprint,
        "subject": "CN=Octopus Tentacle",
        "not_valid_after": summary.expires,
    }
    assert 88 < summary.days_left() < 91


def test_no_certificate_is_none() -> None:
    doc = loads(linux_config(None, None))
    assert read_certificate(doc, MachineKey.from_bytes(MACHINE_ID.encode())) is None


def test_wrong_machine_id_is_a_clean_positioned_error() -> None:
    """Negative control: another machine's id cannot decrypt; one clean line."""
    pfx = make_pfx()
    stored = tentacle_encrypt(pfx.base64, ID_KEY)
    doc = loads(linux_config(stored, pfx.thumbprint), path="/x/Tentacle.config")
    wrong = MachineKey.from_bytes(WRONG_ID.encode(), source="/copies/web1/machine-id")
    with pytest.raises(MachineKeyError) as caught:
        read_certificate(doc, wrong)
    err = caught.value
    assert isinstance(err, ValueError)
    assert str(err) == (
        "/x/Tentacle.config:4:3: cannot decrypt Tentacle.Certificate with the "
        "machine key from /copies/web1/machine-id"
    )
    assert err.__cause__ is None
    assert err.__context__ is None
    assert stored not in str(err)
    assert pfx.base64[:40] not in str(err)
    assert WRONG_ID not in str(err)
    # The control: the right key reads it.
    right = MachineKey.from_bytes(MACHINE_ID.encode())
    assert read_certificate(doc, right) is not None


def test_not_a_pfx_is_refused_without_quoting_it() -> None:
    """Decrypts, but is not a PFX: refused, the plain text not shown."""
    plain = base64.b64encode(b"not a pfx at all, secret words").decode()
    stored = tentacle_encrypt(plain, ID_KEY)
    doc = loads(linux_config(stored, None))
    with pytest.raises(MachineKeyError, match="not a PFX") as caught:
        read_certificate(doc, MachineKey.from_bytes(MACHINE_ID.encode()))
    assert plain not in str(caught.value)
    assert "secret" not in str(caught.value)


def test_windows_dpapi_value_is_refused() -> None:
    """A DPAPI blob (the sample Windows config's) is refused, not guessed at."""
    sample = Path(__file__).parents[2] / "examples" / "sample.Tentacle.config"
    doc = loads(sample.read_bytes(), path=str(sample))
    with pytest.raises(MachineKeyError, match="DPAPI"):
        read_certificate(doc, MachineKey.from_bytes(MACHINE_ID.encode()))


def test_windows_home_is_refused_and_windows_flag() -> None:
    """Octopus.Home on a drive, or the caller saying Windows: refused."""
    stored = tentacle_encrypt(make_pfx().base64, ID_KEY)
    key = MachineKey.from_bytes(MACHINE_ID.encode())
    windows = loads(linux_config(stored, None, home="C:\\Octopus"))
    with pytest.raises(MachineKeyError, match=r"Windows Tentacle.*DPAPI"):
        read_certificate(windows, key)
    linux = loads(linux_config(stored, None))
    with pytest.raises(MachineKeyError, match="DPAPI"):
        read_certificate(linux, key, windows=True)
    assert read_certificate(linux, key) is not None  # the control


# -- where the key comes from -----------------------------------------------------


def test_from_file_tells_the_two_files_apart(tmp_path: Path) -> None:
    id_key = MachineKey.from_file(_id_file(tmp_path))
    file_key = MachineKey.from_file(_key_file(tmp_path))
    assert id_key.encrypt("x") == tentacle_encrypt("x", ID_KEY)
    assert file_key.encrypt("x") == tentacle_encrypt("x", FILE_KEY, FILE_IV)
    assert repr(id_key) == f"MachineKey(source={str(tmp_path / 'machine-id')!r})"


@pytest.mark.parametrize(
    "content",
    [
        "",
        "not a key",
        MACHINE_ID[:31],
        "AAAA.BBBB",  # base64, but 3-byte key and IV
        "!!!.???",
        key_file_text(bytes(20), bytes(16)),
    ],
)
def test_malformed_key_files_are_refused(tmp_path: Path, content: str) -> None:
    path = tmp_path / "key"
    path.write_text(content, encoding="ascii")
    with pytest.raises(MachineKeyError) as caught:
        MachineKey.from_file(path)
    assert str(caught.value).startswith(f"{path}: ")


def test_auto_tries_machine_id_first_then_the_key_file(tmp_path: Path) -> None:
    """As Tentacle: /etc/machine-id first, /etc/octopus/machinekey as fallback."""
    etc = tmp_path / "etc"
    (etc / "octopus").mkdir(parents=True)
    with pytest.raises(MachineKeyError, match="no machine key on this machine"):
        MachineKey.auto(root=str(tmp_path))
    _key_file(etc / "octopus")
    only_file = MachineKey.auto(root=str(tmp_path))
    assert only_file.source == str(etc / "octopus" / "machinekey")
    _id_file(etc)
    both = MachineKey.auto(root=str(tmp_path))
    assert both.source.startswith(str(etc / "machine-id"))
    # Encrypting uses the first; decrypting tries both in turn.
    assert both.encrypt("x") == tentacle_encrypt("x", ID_KEY)
    from_fallback = tentacle_encrypt("made with the key file", FILE_KEY, FILE_IV)
    assert both.decrypt(from_fallback).reveal() == "made with the key file"


@pytest.mark.parametrize(
    "machine_id",
    ["", "\n", "uninitialized\n", "not hex at all", MACHINE_ID[:31] + "\n"],
    ids=["empty", "newline", "uninitialized", "not-hex", "short"],
)
def test_auto_skips_an_unusable_machine_id(tmp_path: Path, machine_id: str) -> None:
    """Images often ship an empty or ``uninitialized`` machine-id: the key file
    is used instead, as Tentacle falls back to it."""
    etc = tmp_path / "etc"
    (etc / "octopus").mkdir(parents=True)
    _id_file(etc, machine_id)
    _key_file(etc / "octopus")
    key = MachineKey.auto(root=str(tmp_path))
    assert key.source == str(etc / "octopus" / "machinekey")
    from_file = tentacle_encrypt("made with the key file", FILE_KEY, FILE_IV)
    assert key.decrypt(from_file).reveal() == "made with the key file"
    assert key.encrypt("x") == tentacle_encrypt("x", FILE_KEY, FILE_IV)


def test_auto_skips_an_unusable_key_file(tmp_path: Path) -> None:
    etc = tmp_path / "etc"
    (etc / "octopus").mkdir(parents=True)
    _id_file(etc)
    (etc / "octopus" / "machinekey").write_text("AAAA.BBBB", encoding="ascii")
    key = MachineKey.auto(root=str(tmp_path))
    assert key.source == str(etc / "machine-id")


def test_auto_with_no_usable_key_is_one_line_naming_both(tmp_path: Path) -> None:
    etc = tmp_path / "etc"
    (etc / "octopus").mkdir(parents=True)
    _id_file(etc, "uninitialized\n")
    (etc / "octopus" / "machinekey").write_text("s3cret-garbage", encoding="ascii")
    with pytest.raises(MachineKeyError) as caught:
        MachineKey.auto(root=str(tmp_path))
    assert str(caught.value) == (
        f"no machine key on this machine: {etc / 'machine-id'} is 'uninitialized' "
        f"(no machine-id yet); {etc / 'octopus' / 'machinekey'} is not a machine "
        "key file (expected base64(key).base64(iv))"
    )
    assert "s3cret-garbage" not in repr(caught.value)
    assert caught.value.__cause__ is None
    assert caught.value.__suppress_context__ or caught.value.__context__ is None


def test_negative_control_an_unusable_machine_id_is_not_used(tmp_path: Path) -> None:
    """The skip is real: a value made with the (broken) machine-id's text is not
    decrypted with it, and a good machine-id still comes first."""
    etc = tmp_path / "etc"
    (etc / "octopus").mkdir(parents=True)
    _key_file(etc / "octopus")
    _id_file(etc, MACHINE_ID[:31] + "\n")
    skipped = MachineKey.auto(root=str(tmp_path))
    with pytest.raises(MachineKeyError, match="cannot decrypt"):
        skipped.decrypt(tentacle_encrypt("x", ID_KEY))
    _id_file(etc)
    both = MachineKey.auto(root=str(tmp_path))
    assert both.source == f"{etc / 'machine-id'} + {etc / 'octopus' / 'machinekey'}"
    assert both.decrypt(tentacle_encrypt("x", ID_KEY)).reveal() == "x"


def test_the_tests_machine_id_is_not_this_machines() -> None:
    """MACHINE_ID is synthetic: data made with it must not open with ``auto``."""
    try:
        real = Path("/etc/machine-id").read_text(encoding="ascii").strip().lower()
    except (OSError, UnicodeDecodeError):
        real = ""
    assert real != MACHINE_ID.lower()
    try:
        here = MachineKey.auto()
    except MachineKeyError:
        return  # no key on this machine: nothing could open it
    with pytest.raises(MachineKeyError, match="cannot decrypt"):
        here.decrypt(tentacle_encrypt("made with the test id", ID_KEY))


@pytest.mark.skipif(not usable_machine_id(), reason="no usable /etc/machine-id here")
def test_auto_on_this_machine() -> None:
    key = MachineKey.auto()
    assert key.source.startswith("/etc/machine-id")
    assert key.decrypt(key.encrypt("here")).reveal() == "here"
    # Negative control: another key does not decrypt it, and says so cleanly.
    other = MachineKey.from_bytes(WRONG_ID.encode(), source="other")
    with pytest.raises(MachineKeyError) as caught:
        other.decrypt(key.encrypt("here"))
    assert (
        str(caught.value) == "cannot decrypt the value with the machine key from other"
    )


def test_no_key_material_in_repr_str_or_pickle_repr(tmp_path: Path) -> None:
    """The repr names the source only; the decrypted value is a Secret."""
    key = MachineKey.from_file(_id_file(tmp_path))
    shown = repr(key) + str(key) + repr(key._keys)
    assert MACHINE_ID not in shown
    assert base64.b64encode(ID_KEY).decode() not in shown
    secret = key.decrypt(key.encrypt("hunter2"))
    assert "hunter2" not in repr(secret) + str(secret) + f"{secret}"
    again = pickle.loads(pickle.dumps(key))  # noqa: S301 -- our own bytes
    assert again.encrypt("x") == key.encrypt("x")


@pytest.mark.parametrize(
    "ciphertext", ["", "not base64!", "QUJD", base64.b64encode(bytes(32)).decode()]
)
def test_undecryptable_values(ciphertext: str) -> None:
    key = MachineKey.from_bytes(MACHINE_ID.encode(), source="K")
    with pytest.raises(MachineKeyError) as caught:
        key.decrypt(ciphertext)
    assert str(caught.value) == "cannot decrypt the value with the machine key from K"
