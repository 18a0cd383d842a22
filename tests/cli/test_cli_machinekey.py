"""``show --machine-key`` and ``set --machine-key``: the Tentacle's own certificate.

Every test greps both streams (and the written file, where there is one) for
the secrets: the PFX base64, the machine id, the stored ciphertext, the
proxy password.
"""

from __future__ import annotations

import base64
import io
import json
from pathlib import Path

import pytest
from helpers.cli import run_cli
from helpers.machinekey import MACHINE_ID
from helpers.machinekey import OPENSSL
from helpers.machinekey import TENTACLE_IV
from helpers.machinekey import Pfx
from helpers.machinekey import key_file_text
from helpers.machinekey import linux_config
from helpers.machinekey import make_pfx
from helpers.machinekey import openssl_enc
from helpers.machinekey import tentacle_encrypt
from helpers.machinekey import usable_machine_id

from tentacle_ha.config import MachineKey
from tentacle_ha.config import load

SAMPLE = Path(__file__).parents[2] / "examples" / "sample.Tentacle.config"
PASSWORD = "pr0xy-S3cret-✓"  # noqa: S105 -- a test value, grepped for
PROXY = "Octopus.Server.Proxy.ProxyPassword"


def _setup(tmp_path: Path, *, days: float = 200) -> tuple[Path, Path, Pfx, str]:
    pfx = make_pfx(days=days)
    stored = tentacle_encrypt(pfx.base64, MACHINE_ID.encode())
    config = tmp_path / "Tentacle.config"
    config.write_bytes(linux_config(stored, pfx.thumbprint))
    key = tmp_path / "web1-machine-id"
    key.write_text(MACHINE_ID + "\n", encoding="ascii")
    return config, key, pfx, stored


def _no_secrets(text: str, pfx: Pfx, stored: str, *extra: str) -> None:
    for secret in (pfx.base64[:60], pfx.base64[-60:], stored[:40], MACHINE_ID, *extra):
        assert secret not in text


def test_show_reports_the_certificate(tmp_path: Path) -> None:
    config, key, pfx, stored = _setup(tmp_path)
    code, out, err = run_cli("show", str(config), "--machine-key", str(key))
    assert code == 0, err
    assert f"  thumbprint  {pfx.thumbprint}" in out
    assert "  subject     CN=Octopus Tentacle" in out
    assert f"  expires     {pfx.not_valid_after.date().isoformat()}" in out
    assert f"(machine key from {key})" in out
    assert "warning" not in out
    _no_secrets(out + err, pfx, stored)


def test_negative_control_the_secret_grep_sees_a_revealed_value(
    tmp_path: Path,
) -> None:
    """``--reveal-secrets`` prints the stored ciphertext: the grep catches it."""
    config, _key, pfx, stored = _setup(tmp_path)
    _code, out, _err = run_cli("show", str(config), "--reveal-secrets")
    with pytest.raises(AssertionError):
        _no_secrets(out, pfx, stored)


def test_show_without_the_option_decrypts_nothing(tmp_path: Path) -> None:
    """The control: no --machine-key, no certificate section."""
    config, _key, pfx, stored = _setup(tmp_path)
    code, out, _err = run_cli("show", str(config))
    assert code == 0
    assert pfx.thumbprint in out  # the stored thumbprint setting, as before
    assert "Tentacle certificate" not in out
    _no_secrets(out, pfx, stored)
    code, out, _err = run_cli("show", str(config), "--json")
    assert "certificate" not in json.loads(out)


def test_show_json(tmp_path: Path) -> None:
    config, key, pfx, stored = _setup(tmp_path)
    code, out, err = run_cli("show", str(config), "--json", "--machine-key", str(key))
    assert code == 0, err
    data = json.loads(out)
    assert data["certificate"] == {
        "thumbprint": pfx.thumbprint,
        "subject": "CN=Octopus Tentacle",
        "not_valid_after": pfx.not_valid_after.date().isoformat(),
        "key_source": str(key),
        "matches_thumbprint": True,
    }
    assert data["certificate_error"] is None
    assert data["certificate_findings"] == []
    _no_secrets(out + err, pfx, stored)


def test_show_flags_a_thumbprint_that_is_not_the_certificates(tmp_path: Path) -> None:
    config, key, _pfx, stored = _setup(tmp_path)
    other = "0123456789ABCDEF0123456789ABCDEF01234567"
    config.write_bytes(linux_config(stored, other))
    code, out, _err = run_cli("show", str(config), "--machine-key", str(key))
    assert code == 1
    assert f"{config}:5:3: error: Tentacle.Certificate is " in out
    assert out.rstrip().endswith("[certificate-thumbprint-mismatch]")
    code, out, _err = run_cli("show", str(config), "--json", "--machine-key", str(key))
    assert code == 1
    data = json.loads(out)
    assert data["certificate"]["matches_thumbprint"] is False
    assert [f["code"] for f in data["certificate_findings"]] == [
        "certificate-thumbprint-mismatch"
    ]


def test_show_says_when_the_file_has_no_stored_thumbprint(tmp_path: Path) -> None:
    """No Tentacle.CertificateThumbprint: a note, not a mismatch (exit 0)."""
    config, key, pfx, stored = _setup(tmp_path)
    config.write_bytes(linux_config(stored, None))
    code, out, err = run_cli("show", str(config), "--machine-key", str(key))
    assert code == 0, err
    assert "  warning     no Tentacle.CertificateThumbprint in the file" in out
    assert "[certificate-thumbprint-mismatch]" not in out
    _no_secrets(out + err, pfx, stored)


def _finding_lines(out: str) -> list[str]:
    return [line for line in out.splitlines() if line.endswith("]")]


def test_show_reports_an_expired_certificate(tmp_path: Path) -> None:
    """Fleet audit's finding, in fleet audit's form; an error: exit 1."""
    config, key, pfx, stored = _setup(tmp_path, days=-2)
    code, out, err = run_cli("show", str(config), "--machine-key", str(key))
    assert code == 1, err
    (line,) = _finding_lines(out)
    assert line.startswith(f"{config}:4:3: error: the Tentacle certificate ")
    assert f"expired on {pfx.not_valid_after.date().isoformat()}" in line
    assert line.endswith("[certificate-expired]")
    code, out, err = run_cli("show", str(config), "--json", "--machine-key", str(key))
    assert code == 1
    (finding,) = json.loads(out)["certificate_findings"]
    assert finding["code"] == "certificate-expired"
    assert finding["severity"] == "error"
    assert (finding["path"], finding["line"], finding["col"]) == (str(config), 4, 3)
    _no_secrets(out + err, pfx, stored)


def test_show_warns_of_an_expiring_certificate(tmp_path: Path) -> None:
    """10 days left: a warning (exit 0), "in 10 day(s)"; --expiry-days moves it."""
    config, key, pfx, stored = _setup(tmp_path, days=10)
    argv = ["show", str(config), "--machine-key", str(key)]
    code, out, err = run_cli(*argv)
    assert code == 0, err
    (line,) = _finding_lines(out)
    assert line.startswith(f"{config}:4:3: warning: ")
    assert ", in 10 day(s);" in line
    assert line.endswith("[certificate-expiring]")
    _no_secrets(out + err, pfx, stored)
    code, out, _err = run_cli(*argv, "--expiry-days", "11", "--json")
    assert [f["code"] for f in json.loads(out)["certificate_findings"]] == [
        "certificate-expiring"
    ]
    _no_secrets(out, pfx, stored)
    for days in ("10", "5", "0"):  # the control: fewer than N days is the rule
        code, out, _err = run_cli(*argv, "--expiry-days", days, "--json")
        assert code == 0
        assert json.loads(out)["certificate_findings"] == []


def test_show_expiry_days_0_still_reports_the_expired(tmp_path: Path) -> None:
    config, key, _pfx, _stored = _setup(tmp_path, days=-2)
    argv = ["show", str(config), "--machine-key", str(key), "--expiry-days", "0"]
    code, out, _err = run_cli(*argv)
    assert code == 1
    assert _finding_lines(out)[0].endswith("[certificate-expired]")


@pytest.mark.parametrize("days", ["-1", "soon"])
def test_show_bad_expiry_days_is_a_usage_error(
    tmp_path: Path, days: str, capsys: pytest.CaptureFixture[str]
) -> None:
    config, key, _pfx, _stored = _setup(tmp_path)
    argv = ["show", str(config), "--machine-key", str(key), "--expiry-days", days]
    code, _out, _err = run_cli(*argv)
    assert code == 2
    assert "not a whole number of days" in capsys.readouterr().err


def test_show_good_certificate_has_no_findings(tmp_path: Path) -> None:
    """The control for the three above: 200 days, matching thumbprint."""
    config, key, _pfx, _stored = _setup(tmp_path)
    code, out, err = run_cli("show", str(config), "--json", "--machine-key", str(key))
    assert code == 0, err
    assert json.loads(out)["certificate_findings"] == []


def test_show_with_the_wrong_key_is_one_clean_line(tmp_path: Path) -> None:
    """Negative control: another machine's id; exit 1, one line, no secret."""
    config, _key, pfx, stored = _setup(tmp_path)
    wrong = tmp_path / "db1-machine-id"
    wrong.write_text("f" * 32 + "\n", encoding="ascii")
    code, out, err = run_cli("show", str(config), "--machine-key", str(wrong))
    assert code == 1
    assert err == (
        f"{config}:4:3: cannot decrypt Tentacle.Certificate with the machine key "
        f"from {wrong}\n"
    )
    assert "Tentacle certificate" not in out
    _no_secrets(out + err, pfx, stored, "f" * 32)
    code, out, err = run_cli("show", str(config), "--json", "--machine-key", str(wrong))
    assert code == 1
    assert "cannot decrypt" in json.loads(out)["certificate_error"]


def test_show_refuses_windows(tmp_path: Path) -> None:
    """DPAPI (the sample), and a CRLF Linux-looking config: refused, not guessed."""
    key = tmp_path / "machine-id"
    key.write_text(MACHINE_ID, encoding="ascii")
    code, _out, err = run_cli("show", str(SAMPLE), "--machine-key", str(key))
    assert code == 1
    assert "DPAPI" in err
    assert len(err.splitlines()) == 1
    config, key, _pfx, _stored = _setup(tmp_path)
    config.write_bytes(config.read_bytes().replace(b"\n", b"\r\n"))
    config.write_bytes(config.read_bytes().replace(b"/etc/octopus/Tentacle", b""))
    code, _out, err = run_cli("show", str(config), "--machine-key", str(key))
    assert code == 1
    assert "Windows Tentacle" in err


def test_show_auto_without_a_key_on_this_machine_is_an_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``auto`` reads this machine's files; none there is one clean line."""
    config, _key, _pfx, _stored = _setup(tmp_path)
    from tentacle_ha.config import _machinekey  # noqa: PLC0415 -- patched below

    monkeypatch.setattr(_machinekey, "MACHINE_ID_PATH", str(tmp_path / "none-1"))
    monkeypatch.setattr(_machinekey, "MACHINE_KEY_PATH", str(tmp_path / "none-2"))
    code, _out, err = run_cli("show", str(config), "--machine-key", "auto")
    assert code == 1
    assert "no machine key on this machine" in err


def test_show_auto_falls_back_past_an_empty_machine_id(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An image's empty machine-id: ``auto`` uses /etc/octopus/machinekey;
    with that unusable too, one clean line naming both."""
    from tentacle_ha.config import _machinekey  # noqa: PLC0415 -- patched below

    key, iv = bytes(range(32)), bytes(range(100, 116))
    pfx = make_pfx()
    stored = tentacle_encrypt(pfx.base64, key, iv)
    config = tmp_path / "Tentacle.config"
    config.write_bytes(linux_config(stored, pfx.thumbprint))
    machine_id, key_file = tmp_path / "machine-id", tmp_path / "machinekey"
    machine_id.write_text("", encoding="ascii")
    key_file.write_text(key_file_text(key, iv), encoding="ascii")
    monkeypatch.setattr(_machinekey, "MACHINE_ID_PATH", str(machine_id))
    monkeypatch.setattr(_machinekey, "MACHINE_KEY_PATH", str(key_file))
    code, out, err = run_cli("show", str(config), "--machine-key", "auto")
    assert code == 0, err
    assert f"(machine key from {key_file}):" in out
    assert f"  thumbprint  {pfx.thumbprint}" in out
    _no_secrets(out + err, pfx, stored, key_file_text(key, iv))
    key_file.write_text("not a key", encoding="ascii")  # the control
    code, out, err = run_cli("show", str(config), "--machine-key", "auto")
    assert code == 1
    assert err == (
        f"{config}: no machine key on this machine: {machine_id} is empty; "
        f"{key_file} is "
        "not a machine key file (expected base64(key).base64(iv))\n"
    )
    assert "Tentacle certificate" not in out


@pytest.mark.skipif(not usable_machine_id(), reason="no usable /etc/machine-id here")
def test_show_auto_uses_this_machines_id(tmp_path: Path) -> None:
    """The real /etc/machine-id on purpose: ``auto`` reads this machine's."""
    pfx = make_pfx()
    mine = Path("/etc/machine-id").read_text(encoding="ascii").strip()
    config = tmp_path / "Tentacle.config"
    config.write_bytes(
        linux_config(tentacle_encrypt(pfx.base64, mine.encode()), pfx.thumbprint)
    )
    code, out, err = run_cli("show", str(config), "--machine-key", "auto")
    assert code == 0, err
    assert pfx.thumbprint in out
    assert mine not in out + err


# -- set --machine-key ------------------------------------------------------------


@pytest.mark.skipif(OPENSSL is None, reason="no openssl binary")
def test_set_proxy_password_encrypts_it_as_tentacle_does(tmp_path: Path) -> None:
    """The stored value is what ``openssl enc -d`` with the machine key reads back."""
    config, key, pfx, stored = _setup(tmp_path)
    code, out, err = run_cli(
        "set", str(config), PROXY, PASSWORD, "--machine-key", str(key)
    )
    assert code == 0, err
    value = load(config).get(PROXY, reveal=True)
    assert isinstance(value, str)
    assert PASSWORD not in config.read_text(encoding="utf-8")
    plain = openssl_enc(
        base64.b64decode(value), MACHINE_ID.encode(), TENTACLE_IV, decrypt=True
    )
    assert plain.decode("utf-8") == PASSWORD
    _no_secrets(out + err, pfx, stored, PASSWORD, value)
    # --diff and --json show neither the password nor the ciphertext.
    code, out, err = run_cli(
        "set", str(config), "Octopus.Proxy.ProxyPassword", PASSWORD,
        "--machine-key", str(key), "--diff", "--json",
    )  # fmt: skip
    assert code == 0, err
    assert "Octopus.Proxy.ProxyPassword" in out
    _no_secrets(out + err, pfx, stored, PASSWORD, value)


def test_set_secret_without_machine_key_is_refused_with_the_hint(
    tmp_path: Path,
) -> None:
    """The control: plain text for a secret is refused; the hint names --machine-key."""
    config, _key, _pfx, _stored = _setup(tmp_path)
    before = config.read_bytes()
    code, out, err = run_cli("set", str(config), PROXY, PASSWORD)
    assert code == 1
    assert "--machine-key auto|FILE" in err
    assert PASSWORD not in out + err
    assert config.read_bytes() == before


@pytest.mark.parametrize(
    ("key", "extra", "message"),
    [
        ("Tentacle.Certificate", (), "encrypts only"),
        (PROXY, ("--plaintext",), "contradict"),
    ],
)
def test_set_machine_key_refusals(
    tmp_path: Path, key: str, extra: tuple[str, ...], message: str
) -> None:
    config, keyfile, _pfx, _stored = _setup(tmp_path)
    before = config.read_bytes()
    code, out, err = run_cli(
        "set", str(config), key, PASSWORD, "--machine-key", str(keyfile), *extra
    )
    assert code == 1
    assert message in err
    assert PASSWORD not in out + err
    assert config.read_bytes() == before


def test_set_on_windows_is_refused(tmp_path: Path) -> None:
    """A Windows config's secrets are DPAPI: nothing written."""
    config, keyfile, _pfx, _stored = _setup(tmp_path)
    config.write_bytes(
        config.read_bytes().replace(b"/etc/octopus/Tentacle", b"C:\\Octopus")
    )
    before = config.read_bytes()
    code, out, err = run_cli(
        "set", str(config), PROXY, PASSWORD, "--machine-key", str(keyfile)
    )
    assert code == 1
    assert "DPAPI" in err
    assert PASSWORD not in out + err
    assert config.read_bytes() == before


def test_set_reads_the_password_from_stdin(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``VALUE`` of ``-``: read from stdin (not from the command line), encrypted."""
    config, key, pfx, stored = _setup(tmp_path)
    monkeypatch.setattr("sys.stdin", io.StringIO(PASSWORD + "\n"))
    code, out, err = run_cli("set", str(config), PROXY, "-", "--machine-key", str(key))
    assert code == 0, err
    value = load(config).get(PROXY, reveal=True)
    assert isinstance(value, str)
    assert MachineKey.from_file(key).decrypt(value).reveal() == PASSWORD
    _no_secrets(out + err, pfx, stored, PASSWORD, value)
