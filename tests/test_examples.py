"""Every example runs, so none can rot."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from helpers.fleetgen import write_fleet

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


def test_check_endpoints_shows_each_outcome() -> None:
    """check_endpoints.py finds the draining node and the untrusted certificate."""
    result = subprocess.run(
        [sys.executable, str(EXAMPLES / "check_endpoints.py")],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    assert "statuses seen: draining, ok, thumbprint_mismatch" in result.stdout
    assert "raise_for_failures(): 1 of 6 checks failed" in result.stdout


def test_plan_cluster_writes_one_script_per_tentacle(tmp_path: Path) -> None:
    """plan_cluster.py writes a script per Tentacle, in the shell of its OS."""
    for toml in sorted(EXAMPLES.glob("cluster-*.toml")):
        out = tmp_path / toml.stem
        subprocess.run(
            [sys.executable, str(EXAMPLES / "plan_cluster.py"), str(toml), str(out)],
            capture_output=True,
            check=True,
            timeout=60,
        )
        scripts = sorted(out.iterdir())
        assert scripts
        for script in scripts:
            text = script.read_text(encoding="utf-8")
            assert "service" in text
            assert ("& '" in text) == (script.suffix == ".ps1")
            assert "OCTOPUS_API_KEY" in text


def test_fleet_report_writes_the_matrix(tmp_path: Path) -> None:
    """fleet_report.py audits a fleet against the example cluster into HTML."""
    write_fleet(tmp_path / "fleet", 6, drifted=1, broken=1)
    out = tmp_path / "report.html"
    result = subprocess.run(
        [
            sys.executable,
            str(EXAMPLES / "fleet_report.py"),
            str(EXAMPLES / "cluster-unique-address.toml"),
            str(out),
            str(tmp_path / "fleet"),
        ],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    assert "6 configs x 3 nodes" in result.stdout
    assert "not_trusted: 1" in result.stdout  # the missing node
    assert "not_a_config: 3" in result.stdout  # the broken file, on each node
    assert "worst: " in result.stdout
    assert out.read_text(encoding="utf-8").count('role="row" id="r') == 6
