"""The README's main-job command: the demo runs, shows every step, and cleans up."""

from __future__ import annotations

import io
import os
import re
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from tentacle_ha.cli import main
from tentacle_ha.cli._demo import run_demo


@pytest.mark.integration
def test_demo_runs_as_a_process_and_leaves_nothing(tmp_path: Path) -> None:
    """python -m tentacle_ha demo exits 0, shows each step, removes its folder,
    and leaves only the HTML reports, whose paths it prints."""
    result = subprocess.run(
        [sys.executable, "-m", "tentacle_ha", "demo"],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
        env={**os.environ, "TMPDIR": str(tmp_path)},
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
    # A cluster file drawn from the fake server, refused until filled in, and
    # a node that joined on the server caught as drift (#13).
    for step in ("7. Draw a cluster file", "8. A node joins on the server"):
        assert step in out
    assert '[[nodes]]\nname = "Node3"' in out
    assert "is still the placeholder '<load balancer host[:port]>'" in out
    assert re.search(r"\(Node4\) +server_drift +server_node_missing", out)
    assert "API-DEMO" not in out  # the demo's API key is never shown
    assert "AQAA" not in out  # no certificate blob, no secret
    folder = re.search(r"written to\s+(\S+)/fleet", out)
    assert folder is not None
    assert not Path(folder.group(1)).exists()
    assert "demo finished" in out
    for what in ("fleet", "check"):
        printed = re.search(rf"^HTML report of the {what}: (\S+)$", out, re.MULTILINE)
        assert printed is not None
        page = Path(printed.group(1))
        assert page.parent.parent == tmp_path
        assert b"</html>" in page.read_bytes()
        assert b"AQAA" not in page.read_bytes()
    reports = {p.name for p in tmp_path.rglob("*") if p.is_file()}
    assert reports == {"report.html", "check-report.html"}


@pytest.mark.integration
def test_demo_in_process_keeps_files_on_request(tmp_path: Path) -> None:
    """With keep, the files stay; no thread outlives the demo."""
    before = set(threading.enumerate())
    out = io.StringIO()
    assert run_demo(out, main=main, keep=tmp_path / "kept") == 0
    assert (tmp_path / "kept" / "cluster-unique-address.toml").is_file()
    assert len(list((tmp_path / "kept" / "fleet").rglob("*.config"))) == 50
    fleet = (tmp_path / "kept" / "report.html").read_text(encoding="utf-8")
    assert fleet.count('<div class="row" role="row" id="r') == 50
    assert "node-missing" in fleet
    check = (tmp_path / "kept" / "check-report.html").read_text(encoding="utf-8")
    assert 'data-c="draining"' in check
    leftovers = [t for t in threading.enumerate() if t not in before and t.is_alive()]
    assert leftovers == []
