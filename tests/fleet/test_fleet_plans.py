"""Reviewed plans: content identity, already-applied files, pinned secret values."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from helpers.fleetgen import run_fleet_cli

from tentacle_ha import fleet
from tentacle_ha.errors import FleetError
from tentacle_ha.fleet import edits

CORPUS = Path(__file__).parent.parent / "corpus" / "valid"
LINUX = (CORPUS / "linux-ha-3node.config").read_bytes()
WINDOWS = (CORPUS / "windows-ha-3node.config").read_bytes()
T = "9E4A07A1F5B2C8D3E6F7A8B9C0D1E2F3A4B5C6D7"
NODE = "https://octo-node{}.example.com:10943"
PROXY = "Octopus.Proxy.ProxyPassword"


def _cluster_text(*nodes: int) -> str:
    text = (
        f'[cluster]\nserver = "https://octopus.example.com"\nthumbprint = "{T}"\n'
        'layout = "unique-address"\n'
    )
    return text + "".join(
        f'[[nodes]]\nname = "node{i}"\naddress = "octo-node{i}.example.com"\n'
        for i in nodes
    )


@pytest.fixture
def work(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """tmp/work/{fleet/a,fleet/b,mine/cluster.toml}, the current folder."""
    top = tmp_path / "work"
    for name, data in {"a": WINDOWS, "b": LINUX}.items():
        (top / "fleet" / name).mkdir(parents=True)
        (top / "fleet" / name / "Tentacle.config").write_bytes(data)
    (top / "mine").mkdir()
    (top / "mine" / "cluster.toml").write_text(_cluster_text(1, 2, 4))
    monkeypatch.chdir(top)
    return top


def _save_plan(tmp_path: Path, *argv: str) -> Path:
    code, out, err = run_fleet_cli("fleet", "plan", *argv, "--json")
    assert (code, err) == (0, "")
    saved = tmp_path / "plan.json"
    saved.write_text(out)
    return saved


def _disk(top: Path) -> dict[str, bytes]:
    return {str(p): p.read_bytes() for p in sorted(top.rglob("*.config"))}


def test_reapplying_a_plan_reports_already_applied(work: Path, tmp_path: Path) -> None:
    """A second apply of the same plan: every file is unchanged, already applied."""
    saved = _save_plan(tmp_path, "fleet", "--remove-node", NODE.format(3))
    argv = ("fleet", "apply", "fleet", "--remove-node", NODE.format(3))
    code, out, _ = run_fleet_cli(*argv, "--plan", str(saved))
    assert code == 0
    assert out.count("changed    ") == 2
    after = _disk(work)
    code, out, err = run_fleet_cli(*argv, "--plan", str(saved), "--json")
    assert (code, err) == (0, "")
    report = json.loads(out)
    assert [(f["status"], f["reason"]) for f in report["files"]] == [
        ("unchanged", "already applied: the file has the plan's result")
    ] * 2
    assert _disk(work) == after
    # Negative control: a file that is neither the plan's before nor its after.
    Path("fleet/a/Tentacle.config").write_bytes(WINDOWS + b"\n")
    code, out, _ = run_fleet_cli(*argv, "--plan", str(saved))
    assert code == 1
    assert out.startswith("conflict   fleet/a/Tentacle.config  (changed since the plan")


def test_a_sync_plan_names_its_cluster_by_content(
    work: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """--sync mine/cluster.toml is the same edit as ./mine/... or from elsewhere."""
    saved = _save_plan(tmp_path, "fleet", "--sync", "mine/cluster.toml")
    plan = json.loads(saved.read_text())
    assert plan["edit_id"].startswith("sha256:")
    assert "mine/cluster.toml" in plan["edit"]  # shown as given, matched by content
    code, _, err = run_fleet_cli(
        "fleet", "apply", "fleet", "--sync", "./mine/cluster.toml", "--plan", str(saved)
    )
    assert (code, err) == (0, "")
    # From another folder, with another spelling of the same (copied) content:
    other = tmp_path / "elsewhere"
    other.mkdir()
    shutil.copy(work / "mine" / "cluster.toml", other / "c.toml")
    reformatted = (other / "c.toml").read_text().replace(" = ", "=")
    (other / "c.toml").write_text("# the same cluster\n" + reformatted)
    for name in ("a", "b"):
        (work / "fleet" / name / "Tentacle.config").write_bytes(
            WINDOWS if name == "a" else LINUX
        )
    monkeypatch.chdir(other)
    code, out, err = run_fleet_cli(
        "fleet", "apply", str(work / "fleet"), "--sync", "c.toml", "--plan", str(saved)
    )
    assert (code, err) == (0, ""), out
    assert out.count("changed    ") == 2
    # Negative control: a cluster file with other content is another edit.
    (other / "c.toml").write_text(_cluster_text(1, 2, 5))
    before = _disk(work)
    code, _, err = run_fleet_cli(
        "fleet",
        "apply",
        str(work / "fleet"),
        "--sync",
        str(other / "c.toml"),
        "--plan",
        str(saved),
    )
    assert code == 1
    assert "the plan was made for another edit" in err
    assert _disk(work) == before


def test_a_plan_pins_secret_values_without_holding_them(
    work: Path, tmp_path: Path
) -> None:
    """--set of a secret: apply refuses another value; the plan never holds it."""
    saved = _save_plan(tmp_path, "fleet", "--set", PROXY, "REVIEWED-pw")
    text = saved.read_text()
    assert "REVIEWED-pw" not in text
    block = json.loads(text)["secrets"]
    assert set(block["values"]) == {PROXY}
    before = _disk(work)
    code, out, err = run_fleet_cli(
        "fleet", "apply", "fleet", "--set", PROXY, "UNREVIEWED", "--plan", str(saved)
    )
    assert (code, out) == (1, "")
    assert err.strip() == (
        f"{saved}: the value of secret {PROXY} is not the one the plan was "
        "reviewed with; nothing written"
    )
    assert "UNREVIEWED" not in err
    assert _disk(work) == before
    # The library refuses the same way, not only the CLI.
    reviewed = fleet.load_plan(saved)
    with pytest.raises(FleetError, match="not the one the plan was reviewed"):
        list(
            fleet.apply(
                ["fleet"], edits.SetKey(PROXY, "UNREVIEWED"), reviewed=reviewed, jobs=1
            )
        )
    assert "REVIEWED" not in repr(reviewed)
    # The reviewed value goes through.
    code, out, err = run_fleet_cli(
        "fleet", "apply", "fleet", "--set", PROXY, "REVIEWED-pw", "--plan", str(saved)
    )
    assert (code, err) == (0, "")
    assert out.count("changed    ") == 2
    # The same value planned twice hashes apart (a random salt per plan).
    again = json.loads(
        _save_plan(tmp_path, "fleet", "--set", PROXY, "REVIEWED-pw").read_text()
    )
    assert again["secrets"]["values"][PROXY] != block["values"][PROXY]


@pytest.mark.usefixtures("work")
def test_a_plan_without_the_secret_hash_is_refused(tmp_path: Path) -> None:
    """A plan that pins no value (older, or edited) cannot apply a secret."""
    saved = _save_plan(tmp_path, "fleet", "--set", PROXY, "pw")
    document = json.loads(saved.read_text())
    del document["secrets"]
    saved.write_text(json.dumps(document))
    code, _, err = run_fleet_cli(
        "fleet", "apply", "fleet", "--set", PROXY, "pw", "--plan", str(saved)
    )
    assert code == 1
    assert f"the plan does not pin the value of secret {PROXY}" in err
    document["secrets"] = {"hash": "md5", "salt": "00", "values": {}}
    saved.write_text(json.dumps(document))
    code, _, err = run_fleet_cli(
        "fleet", "apply", "fleet", "--set", PROXY, "pw", "--plan", str(saved)
    )
    assert code == 1
    assert "plan has an unusable secrets block" in err
    # A non-secret --set is pinned by the edit line itself.
    saved = _save_plan(tmp_path, "fleet", "--set", "Tentacle.Services.NoListen", "true")
    code, _, err = run_fleet_cli(
        "fleet",
        "apply",
        "fleet",
        "--set",
        "Tentacle.Services.NoListen",
        "false",
        "--plan",
        str(saved),
    )
    assert code == 1
    assert "the plan was made for another edit" in err
