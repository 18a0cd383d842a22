"""`tentacle-ha plan`: each Tentacle in its own OS's shells, --os/--instance (#9)."""

from __future__ import annotations

from pathlib import Path

import pytest
from helpers.cli import run_cli as run

ROOT = Path(__file__).parent.parent.parent
EXAMPLES = ROOT / "examples"
CORPUS = Path(__file__).parent.parent / "corpus" / "valid"
MIXED = str(EXAMPLES / "cluster-unique-address.toml")  # web01 linux, sql01 windows


def test_default_shell_is_each_tentacles_own() -> None:
    """No --shell: POSIX for Linux Tentacles, PowerShell for Windows ones."""
    code, out, err = run("plan", "--cluster", MIXED)
    assert code == 0, err
    scripts = {s.splitlines()[0]: s for s in out.split("\n\n")}
    linux = next(s for h, s in scripts.items() if h.startswith("# web01"))
    windows = next(s for h, s in scripts.items() if h.startswith("# sql01"))
    assert linux.splitlines()[1] == "set -eu"
    assert "Tentacle.exe" not in linux
    assert "& '" not in linux
    assert windows.splitlines()[1] == "$ErrorActionPreference = 'Stop'"
    assert "/opt/octopus" not in windows


@pytest.mark.parametrize(
    ("shell", "tentacle"),
    [("cmd", "web01"), ("powershell", "web01"), ("posix", "sql01")],
)
def test_shell_of_the_other_os_is_a_usage_error(shell: str, tentacle: str) -> None:
    """--shell that does not fit a Tentacle's OS: exit 2, one line naming it."""
    code, out, err = run(
        "plan", "--cluster", MIXED, "--shell", shell, "--tentacle", tentacle
    )
    assert (code, out) == (2, "")
    assert tentacle in err
    assert err.count("\n") == 1
    # The whole mixed cluster cannot take one shell either.
    assert run("plan", "--cluster", MIXED, "--shell", shell)[0] == 2


def test_cmd_on_request_for_windows() -> None:
    """--shell cmd for a Windows Tentacle: batch lines that stop on failure."""
    code, out, err = run(
        "plan", "--cluster", MIXED, "--shell", "cmd", "--tentacle", "sql01"
    )
    assert code == 0, err
    runs = [line for line in out.splitlines() if not line.startswith("REM ")]
    assert runs
    assert all(line.endswith(" || exit /b 1") for line in runs)


def test_config_home_and_os_instance_options(tmp_path: Path) -> None:
    """--config: Octopus.Home C:\\... is Windows; --os and --instance override."""
    cfg = tmp_path / "Tentacle.config"
    cfg.write_bytes((CORPUS / "windows-ha-3node.config").read_bytes())
    assert run("servers", "sync", str(cfg), "--cluster", MIXED)[0] == 0
    lb = str(EXAMPLES / "cluster-load-balancer.toml")
    code, out, err = run("plan", "--cluster", lb, "--config", str(cfg))
    assert code == 0, err
    assert "on windows" in out.splitlines()[0]
    assert "$ErrorActionPreference = 'Stop'" in out
    assert "Tentacle.exe' poll-server" in out
    code, out, err = run(
        "plan",
        "--cluster",
        lb,
        "--config",
        str(cfg),
        "--os",
        "linux",
        "--instance",
        "Blue",
    )
    assert code == 0, err
    assert out.splitlines()[0].endswith("on linux, instance Blue")
    assert "/opt/octopus/tentacle/Tentacle poll-server --instance=Blue" in out
    # A cluster with one Tentacle: --os/--instance still win over its entry.
    ws = str(EXAMPLES / "cluster-websocket.toml")
    code, out, err = run(
        "plan", "--cluster", ws, "--config", str(cfg), "--instance", "Green"
    )
    assert code == 0, err
    assert "instance Green" in out.splitlines()[0]
    assert "'--instance=Green'" in out
    # Negative control: a Linux home with no --os stays Linux.
    linux = tmp_path / "linux.config"
    linux.write_bytes((CORPUS / "linux-ha-3node.config").read_bytes())
    assert run("servers", "sync", str(linux), "--cluster", MIXED)[0] == 0
    code, out, _ = run("plan", "--cluster", lb, "--config", str(linux))
    assert code == 0
    assert "on linux" in out.splitlines()[0]
