"""The README's main-job command: the demo runs, shows every step, and cleans up."""

from __future__ import annotations

import io
import re
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from tentacle_ha.cli import main
from tentacle_ha.cli._demo import run_demo


@pytest.mark.integration
def test_demo_runs_as_a_process_and_leaves_nothing() -> None:
    """python -m tentacle_ha demo exits 0, shows each step, removes its folder."""
    result = subprocess.run(
        [sys.executable, "-m", "tentacle_ha", "demo"],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr
    out = result.stdout
    for step in ("1. Audit", "2. Commands", "3. Plan", "4. Apply", "5. Apply again"):
        assert step in out
    assert "[node-missing]" in out
    assert "register-with" in out
    assert "poll-server" in out
    assert "clear-trusted-servers" in out
    assert "50 files: 0 changed, 49 unchanged, 1 failed" in out
    assert re.search(r"draining .*\(418\)", out)
    assert "AQAA" not in out  # no certificate blob, no secret
    folder = re.search(r"written to (\S+)/fleet", out)
    assert folder is not None
    assert not Path(folder.group(1)).exists()
    assert "demo finished" in out


@pytest.mark.integration
def test_demo_in_process_keeps_files_on_request(tmp_path: Path) -> None:
    """With keep, the files stay; no thread outlives the demo."""
    before = set(threading.enumerate())
    out = io.StringIO()
    assert run_demo(out, main=main, keep=tmp_path / "kept") == 0
    assert (tmp_path / "kept" / "cluster-unique-address.toml").is_file()
    assert len(list((tmp_path / "kept" / "fleet").rglob("*.config"))) == 50
    leftovers = [t for t in threading.enumerate() if t not in before and t.is_alive()]
    assert leftovers == []
