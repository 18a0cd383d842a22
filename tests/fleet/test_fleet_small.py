"""Smaller fleet fixes: nothing found, --keep, Tentacle.exe.config, instance names."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from helpers.fleetgen import run_fleet_cli

from tentacle_ha import loads
from tentacle_ha.fleet import discover

CORPUS = Path(__file__).parent.parent / "corpus" / "valid"
LINUX = (CORPUS / "linux-ha-3node.config").read_bytes()
NODE = "https://octo-node{}.example.com:10943"
APP_CONFIG = b'<?xml version="1.0"?>\n<configuration><startup /></configuration>\n'


@pytest.mark.parametrize("action", ["audit", "plan", "apply"])
def test_nothing_found_is_exit_1_saying_where(tmp_path: Path, action: str) -> None:
    """An empty folder: exit 1, naming it; the same folder with a config: exit 0."""
    empty = tmp_path / "empty"
    empty.mkdir()
    edit = [] if action == "audit" else ["--unset", "X"]
    code, _, err = run_fleet_cli("fleet", action, str(empty), *edit)
    assert code == 1
    assert (
        err
        == f"tentacle-ha fleet {action}: no Tentacle.config found in {str(empty)!r}\n"
    )
    (empty / "Tentacle.config").write_bytes(LINUX)
    code, out, err = run_fleet_cli("fleet", action, str(empty), *edit)
    assert (code, err) == (0, "")
    assert "1 file:" in out


def test_instances_with_no_tentacle_say_where_they_looked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(discover.MACHINE_HOME_ENV, raising=False)
    monkeypatch.setattr("sys.platform", "linux")
    code, _, err = run_fleet_cli(
        "fleet", "plan", "--instances", "--root", str(tmp_path), "--unset", "X"
    )
    assert code == 1
    folder = tmp_path / "etc" / "octopus" / "Tentacle" / "Instances"
    assert err.endswith(f"the instance index files in {folder}\n")


def test_a_missing_instance_config_names_the_instance(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(discover.MACHINE_HOME_ENV, raising=False)
    monkeypatch.setattr("sys.platform", "linux")
    folder = tmp_path / "etc" / "octopus" / "Tentacle" / "Instances"
    folder.mkdir(parents=True)
    (folder / "web.config").write_text(
        json.dumps(
            {"Name": "Web01", "ConfigurationFilePath": "/etc/octopus/web.config"}
        )
    )
    code, out, _ = run_fleet_cli(
        "fleet", "plan", "--instances", "--root", str(tmp_path), "--unset", "X"
    )
    assert code == 1
    assert (
        "instance 'Web01': its ConfigurationFilePath '/etc/octopus/web.config'" in out
    )


@pytest.fixture
def one_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The working folder holds fleet/Tentacle.config (a Linux polling config)."""
    monkeypatch.chdir(tmp_path)
    Path("fleet").mkdir()
    Path("fleet/Tentacle.config").write_bytes(LINUX)


@pytest.mark.usefixtures("one_config")
def test_keep_takes_one_url_per_flag_and_leaves_the_paths() -> None:
    code, out, err = run_fleet_cli(
        "fleet", "apply", "--keep", NODE.format(1), "--keep", NODE.format(3), "fleet"
    )
    assert (code, err) == (0, ""), out
    kept = [
        s.address
        for s in loads(Path("fleet/Tentacle.config").read_bytes()).trusted_servers
    ]
    assert kept == [NODE.format(1), NODE.format(3)]


@pytest.mark.usefixtures("one_config")
def test_tentacle_exe_config_is_skipped_with_an_info_finding() -> None:
    Path("fleet/Tentacle.exe.config").write_bytes(APP_CONFIG)
    code, out, _ = run_fleet_cli("fleet", "apply", "fleet", "--unset", "X", "--json")
    assert code == 0
    rows = {f["path"]: (f["status"], f["reason"]) for f in json.loads(out)["files"]}
    assert rows["fleet/Tentacle.exe.config"] == (
        "skipped",
        "the .NET application config of Tentacle.exe, not a Tentacle.config; skipped",
    )
    code, out, _ = run_fleet_cli("fleet", "audit", "fleet")
    assert code == 0
    assert "dotnet-app-config" in out
