"""``fleet audit --machine-key``: the Tentacles' own certificates, and clones by them.

Each finding code has a file that produces it and a control that does not;
the outputs are grepped for the secrets.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import TYPE_CHECKING

import attrs
import pytest
from helpers.fleetgen import run_fleet_cli
from helpers.machinekey import MACHINE_ID
from helpers.machinekey import Pfx
from helpers.machinekey import linux_config
from helpers.machinekey import make_pfx
from helpers.machinekey import tentacle_encrypt

from tentacle_ha.config import CertificateSummary
from tentacle_ha.config import MachineKey
from tentacle_ha.config import loads
from tentacle_ha.fleet._certificates import CertificateCheck
from tentacle_ha.fleet._certificates import summary_findings
from tentacle_ha.fleet.audit import Finding
from tentacle_ha.fleet.audit import audit_config
from tentacle_ha.fleet.audit import audit_file
from tentacle_ha.fleet.audit import audit_fleet

if TYPE_CHECKING:
    from pathlib import Path

KEY = MachineKey.from_bytes(MACHINE_ID.encode(), source="web-machine-id")
OTHER_ID = "e" * 32
OTHER = "0123456789ABCDEF0123456789ABCDEF01234567"
CODES = {
    "certificate-expired",
    "certificate-expiring",
    "certificate-thumbprint-mismatch",
    "certificate-undecryptable",
    "cloned-certificate",
}


def _write(
    folder: Path,
    name: str,
    pfx: Pfx,
    *,
    thumbprint: str | None = None,
    machine_id: str = MACHINE_ID,
) -> Path:
    stored = tentacle_encrypt(pfx.base64, machine_id.encode())
    path = folder / name / "Tentacle.config"
    path.parent.mkdir(parents=True)
    path.write_bytes(linux_config(stored, thumbprint or pfx.thumbprint))
    return path


def _codes(findings: list[Finding], path: Path) -> set[str]:
    return {f.code for f in findings if f.path == str(path) and f.code in CODES}


@attrs.frozen
class _Fleet:
    root: Path
    files: dict[str, Path]
    shared: Pfx


@pytest.fixture(scope="module")
def fleet(tmp_path_factory: pytest.TempPathFactory) -> _Fleet:
    """One file per case, and a good control; two files share one real certificate."""
    root = tmp_path_factory.mktemp("fleet")
    shared = make_pfx(days=400)
    files = {
        "good": _write(root, "good", make_pfx(days=400)),
        "expiring": _write(root, "expiring", make_pfx(days=10)),
        "expired": _write(root, "expired", make_pfx(days=-2)),
        "mismatch": _write(root, "mismatch", make_pfx(days=400), thumbprint=OTHER),
        "other-key": _write(root, "other-key", make_pfx(), machine_id=OTHER_ID),
        "clone-a": _write(root, "clone-a", shared),
        # The same certificate, but the file claims another thumbprint.
        "clone-b": _write(root, "clone-b", shared, thumbprint="F" * 40),
    }
    return _Fleet(root, files, shared)


def test_every_certificate_code_and_its_control(fleet: _Fleet) -> None:
    findings = list(audit_fleet([fleet.root], machine_key=KEY, jobs=1))
    by = {name: _codes(findings, path) for name, path in fleet.files.items()}
    assert by == {
        "good": set(),
        "expiring": {"certificate-expiring"},
        "expired": {"certificate-expired"},
        "mismatch": {"certificate-thumbprint-mismatch"},
        "other-key": {"certificate-undecryptable"},
        "clone-a": {"cloned-certificate"},
        "clone-b": {"cloned-certificate", "certificate-thumbprint-mismatch"},
    }
    severities = {f.code: str(f.severity) for f in findings if f.code in CODES}
    assert severities == {
        "certificate-expired": "error",
        "certificate-expiring": "warning",
        "certificate-thumbprint-mismatch": "error",
        "certificate-undecryptable": "warning",
        "cloned-certificate": "error",
    }
    clone = next(f for f in findings if f.code == "cloned-certificate")
    assert fleet.shared.thumbprint in clone.message
    undecryptable = next(f for f in findings if f.code == "certificate-undecryptable")
    assert undecryptable.message == (
        "cannot decrypt Tentacle.Certificate with the machine key from web-machine-id"
    )
    assert (undecryptable.line, undecryptable.col) == (4, 3)


def test_without_a_machine_key_nothing_is_decrypted(fleet: _Fleet) -> None:
    """The control: no key, no certificate findings, and the clone goes unseen
    (the two files claim different thumbprints)."""
    findings = list(audit_fleet([fleet.root], jobs=1))
    assert not {f.code for f in findings} & CODES


def test_expiry_days_is_configurable(fleet: _Fleet) -> None:
    path = fleet.files["expiring"]
    doc = loads(path.read_bytes(), path=str(path))

    def expiring(days: int) -> bool:
        found = audit_config(doc, machine_key=KEY, expiry_days=days)
        return "certificate-expiring" in {f.code for f in found}

    assert "certificate-expiring" in {
        f.code for f in audit_config(doc, machine_key=KEY)
    }  # the default, 30 days
    assert not expiring(5)
    assert expiring(11)


def test_audit_file_takes_the_key_too(fleet: _Fleet) -> None:
    path = fleet.files["expired"]
    assert "certificate-expired" in {f.code for f in audit_file(path, machine_key=KEY)}
    assert "certificate-expired" not in {f.code for f in audit_file(path)}


def test_in_worker_processes(tmp_path: Path) -> None:
    """Past one chunk the files go to workers: the key crosses, the clones are seen."""
    shared = make_pfx(days=20)
    for i in range(40):
        _write(tmp_path, f"t{i:02}", shared)
    findings = list(audit_fleet([tmp_path], machine_key=KEY, jobs=2))
    codes = [f.code for f in findings if f.code in CODES]
    assert codes.count("certificate-expiring") == 40
    assert codes.count("cloned-certificate") == 40


def test_cli_json_and_secrets(fleet: _Fleet, tmp_path: Path) -> None:
    key = tmp_path / "machine-id"
    key.write_text(MACHINE_ID + "\n", encoding="ascii")
    argv = ["fleet", "audit", str(fleet.root), "--jobs", "1", "--json"]
    code, out, err = run_fleet_cli(*argv, "--machine-key", str(key))
    assert code == 1
    codes = {f["code"] for f in json.loads(out)["findings"]}
    assert codes >= CODES
    _code, out2, err2 = run_fleet_cli(
        *argv, "--machine-key", str(key), "--expiry-days", "5"
    )
    codes = {f["code"] for f in json.loads(out2)["findings"]}
    assert "certificate-expiring" not in codes
    shown = out + err + out2 + err2
    assert fleet.shared.base64[:60] not in shown
    assert MACHINE_ID not in shown
    for path in fleet.files.values():
        stored = loads(path.read_bytes()).get("Tentacle.Certificate", reveal=True)
        assert isinstance(stored, str)
        assert stored[:40] not in shown


@pytest.mark.parametrize("days", ["-1", "x", "1.5"])
def test_cli_bad_expiry_days_is_a_usage_error(
    fleet: _Fleet, days: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _out, _err = run_fleet_cli(
        "fleet", "audit", str(fleet.root), "--expiry-days", days
    )
    assert code == 2
    assert "not a whole number of days" in capsys.readouterr().err


def test_cli_expiry_days_0_reports_only_the_expired(
    fleet: _Fleet, tmp_path: Path
) -> None:
    """0 is allowed (the same option as ``show``'s): expired yes, expiring no."""
    key = tmp_path / "machine-id"
    key.write_text(MACHINE_ID + "\n", encoding="ascii")
    argv = ["fleet", "audit", str(fleet.root), "--jobs", "1", "--json"]
    code, out, err = run_fleet_cli(
        *argv, "--machine-key", str(key), "--expiry-days", "0"
    )
    assert code == 1, err
    codes = {f["code"] for f in json.loads(out)["findings"]}
    assert "certificate-expired" in codes
    assert "certificate-expiring" not in codes


def _summary(left: dt.timedelta) -> tuple[CertificateSummary, dt.datetime]:
    now = dt.datetime(2026, 1, 1, 12, tzinfo=dt.UTC)
    cert = CertificateSummary(
        thumbprint="A" * 40, subject="CN=Octopus Tentacle", not_valid_after=now + left
    )
    return cert, now


@pytest.mark.parametrize(
    ("left", "expiry_days", "said"),
    [
        (dt.timedelta(days=10, seconds=-1), 30, "in 10 day(s)"),
        (dt.timedelta(days=10), 30, "in 10 day(s)"),
        (dt.timedelta(days=9, seconds=1), 30, "in 10 day(s)"),
        (dt.timedelta(days=9), 30, "in 9 day(s)"),
        (dt.timedelta(seconds=1), 30, "in 1 day(s)"),
        (dt.timedelta(days=10, seconds=-1), 11, "in 10 day(s)"),
        # Fewer than N whole days left, as the message counts them.
        (dt.timedelta(days=10, seconds=-1), 10, None),
        (dt.timedelta(days=10, seconds=1), 11, None),
        (dt.timedelta(days=400), 30, None),
        (dt.timedelta(seconds=1), 0, None),
    ],
)
def test_days_left_count_as_a_reader_counts_them(
    fleet: _Fleet, left: dt.timedelta, expiry_days: int, said: str | None
) -> None:
    doc = loads(fleet.files["good"].read_bytes(), path="good")
    cert, now = _summary(left)
    check = CertificateCheck(KEY, expiry_days, now)
    found = summary_findings(doc, cert, check)
    expiring = [f.message for f in found if f.code == "certificate-expiring"]
    if said is None:
        assert expiring == []
    else:
        assert len(expiring) == 1
        assert said in expiring[0]


@pytest.mark.parametrize("expiry_days", [0, 30])
def test_expired_by_a_second_is_expired(fleet: _Fleet, expiry_days: int) -> None:
    doc = loads(fleet.files["good"].read_bytes(), path="good")
    cert, now = _summary(dt.timedelta(seconds=-1))
    found = summary_findings(doc, cert, CertificateCheck(KEY, expiry_days, now))
    assert "certificate-expired" in [f.code for f in found]
    cert, now = _summary(dt.timedelta(0))  # the last valid instant: not yet
    found = summary_findings(doc, cert, CertificateCheck(KEY, expiry_days, now))
    assert "certificate-expired" not in [f.code for f in found]
