"""The single-file commands and the safe writer: FIFOs, devices, backup suffixes."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from helpers.cli import run_cli

SAMPLE = (
    Path(__file__).parent.parent / "corpus" / "valid" / "linux-ha-3node.config"
).read_bytes()
CLUSTER = Path(__file__).parent.parent.parent / "examples" / "cluster-unique-port.toml"


def _tentacle_ha(*argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tentacle_ha", *argv],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )


@pytest.mark.parametrize(
    "argv",
    [
        ("show", "{f}"),
        ("get", "{f}", "Octopus.Home"),
        ("set", "{f}", "Octopus.Home", "/x"),
        ("servers", "list", "{f}"),
        ("check", "{f}", "--timeout", "1"),
        ("plan", "--cluster", str(CLUSTER), "--config", "{f}"),
    ],
    ids=lambda a: a[0] if a[0] != "servers" else "servers",
)
def test_a_fifo_is_refused_at_once(tmp_path: Path, argv: tuple[str, ...]) -> None:
    """Each command that reads a config exits 1 with one line, never hangs."""
    fifo = tmp_path / "Tentacle.config"
    os.mkfifo(fifo)
    done = _tentacle_ha(*(a.format(f=fifo) for a in argv))
    assert done.returncode == 1, done.stderr
    assert done.stderr.strip().splitlines() == [
        f"{fifo}: is a FIFO (named pipe), not a regular file; not read"
    ]


def test_dev_zero_is_refused_unread() -> None:
    """show /dev/zero: one line, exit 1, no MemoryError."""
    done = _tentacle_ha("show", "/dev/zero")
    assert done.returncode == 1
    assert done.stderr == "/dev/zero: is a device, not a regular file; not read\n"


@pytest.mark.parametrize("bad", ["/x", "", ".config", ".tentacle-ha-tmp"])
def test_bad_backup_suffix_is_a_usage_error(tmp_path: Path, bad: str) -> None:
    """--backup=SUFFIX is validated as fleet apply's is: exit 2, nothing written."""
    cfg = tmp_path / "Tentacle.config"
    cfg.write_bytes(SAMPLE)
    code, _, err = run_cli("set", str(cfg), "Octopus.Home", "/x", f"--backup={bad}")
    assert code == 2
    assert "Traceback" not in err
    assert cfg.read_bytes() == SAMPLE
    assert [p.name for p in tmp_path.iterdir()] == ["Tentacle.config"]


def test_backup_twice_keeps_both_and_a_hard_link_warns(tmp_path: Path) -> None:
    """set --backup twice: .bak and .bak.1; a second name gets a stderr warning."""
    cfg = tmp_path / "Tentacle.config"
    cfg.write_bytes(SAMPLE)
    assert run_cli("set", str(cfg), "Octopus.Home", "/a", "--backup")[0] == 0
    middle = cfg.read_bytes()
    os.link(cfg, tmp_path / "second-name")
    code, _, err = run_cli("set", str(cfg), "Octopus.Home", "/b", "--backup")
    assert code == 0
    assert (tmp_path / "Tentacle.config.bak").read_bytes() == SAMPLE
    assert (tmp_path / "Tentacle.config.bak.1").read_bytes() == middle
    assert "warning: had 2 hard links" in err
    assert (tmp_path / "second-name").read_bytes() == middle
