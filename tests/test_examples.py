"""Every example runs, so none can rot."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from tentacle_ha import config

EXAMPLES = Path(__file__).parent.parent / "examples"


def test_add_ha_node_prints_diff_and_writes_on_request(tmp_path: Path) -> None:
    """add_ha_node.py shows the diff, and writes the new node only with --write."""
    sample = tmp_path / "Tentacle.config"
    shutil.copy(EXAMPLES / "sample.Tentacle.config", sample)
    before = sample.read_bytes()
    script = str(EXAMPLES / "add_ha_node.py")
    result = subprocess.run(
        [sys.executable, script, str(sample)],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    assert (
        '+  <set key="Tentacle.Communication.TrustedOctopusServers">' in result.stdout
    )
    assert "octo-node2.example.com:10943" in result.stdout
    assert "AQAAANCMnd8" not in result.stdout  # the certificate stays secret
    assert sample.read_bytes() == before
    subprocess.run(
        [sys.executable, script, str(sample), "--write"],
        capture_output=True,
        check=True,
        timeout=60,
    )
    servers = config.load(sample).trusted_servers
    assert [s.address for s in servers] == [
        "https://octopus.example.com:10943",
        "https://octo-node2.example.com:10943",
    ]
    assert servers[0].subscription_id == servers[1].subscription_id
