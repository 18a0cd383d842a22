"""The cluster commands end to end in-process: servers sync, plan, lb, check."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest
from helpers.cli import run_cli as run

from tentacle_ha import config
from tentacle_ha.cluster import load_cluster
from tentacle_ha.testing import FakeOctopusCluster
from tentacle_ha.testing import NodeMode

ROOT = Path(__file__).parent.parent.parent
EXAMPLES = ROOT / "examples"
CORPUS = Path(__file__).parent.parent / "corpus" / "valid"


@pytest.fixture
def cfg(tmp_path: Path) -> Path:
    path = tmp_path / "Tentacle.config"
    path.write_bytes((CORPUS / "linux-ha-3node.config").read_bytes())
    return path


def test_sync_diff_check_then_write_then_idempotent(cfg: Path) -> None:
    """sync shows, checks, converges, and a second sync changes nothing."""
    cluster = str(EXAMPLES / "cluster-unique-address.toml")
    before = cfg.read_bytes()
    code, out, err = run("servers", "sync", str(cfg), "--cluster", cluster, "--diff")
    assert code == 0
    assert out.startswith("--- a")
    assert err.count("+ polling https://node") == 3
    assert cfg.read_bytes() == before
    assert run("servers", "sync", str(cfg), "--cluster", cluster, "--check")[0] == 1
    assert run("servers", "sync", str(cfg), "--cluster", cluster)[0] == 0
    wanted = load_cluster(cluster).comms_addresses()
    polled = [s.address for s in config.load(cfg).trusted_servers.polling()]
    assert set(wanted) <= set(polled)
    mtime = cfg.stat().st_mtime_ns
    code, _, err = run("servers", "sync", str(cfg), "--cluster", cluster)
    assert (code, cfg.stat().st_mtime_ns) == (0, mtime)
    assert "unchanged" in err
    assert run("servers", "sync", str(cfg), "--cluster", cluster, "--check")[0] == 0


def test_sync_warns_when_it_must_invent_a_subscription(tmp_path: Path) -> None:
    """A config with nothing for the cluster gets entries, and a warning why."""
    empty = tmp_path / "Tentacle.config"
    empty.write_bytes(b'<?xml version="1.0" encoding="utf-8"?>\n<octopus-settings />')
    cluster = str(EXAMPLES / "cluster-unique-address.toml")
    code, _, err = run("servers", "sync", str(empty), "--cluster", cluster)
    assert code == 0
    assert "warning: no SubscriptionId for this cluster yet" in err
    servers = config.load(empty).trusted_servers
    assert len(servers) == len(load_cluster(cluster).comms_addresses())
    code, _, err = run("servers", "sync", str(empty), "--cluster", cluster)
    assert code == 0
    assert "warning" not in err  # now it has one: nothing invented, nothing said


def test_sync_bad_cluster_is_positioned(cfg: Path, tmp_path: Path) -> None:
    """A broken cluster file is one positioned line; the config is untouched."""
    bad = tmp_path / "bad.toml"
    bad.write_text('[cluster]\nserver = "https://o"\nthumbprint = "xyz"\n')
    before = cfg.read_bytes()
    code, out, err = run("servers", "sync", str(cfg), "--cluster", str(bad))
    assert (code, out) == (1, "")
    assert err.startswith(f"{bad}:")
    assert err.count("\n") == 1
    assert cfg.read_bytes() == before


@pytest.mark.parametrize("layout", ["unique-address", "unique-port", "load-balancer"])
def test_plan_prints_every_tentacle(layout: str) -> None:
    """plan prints a commented script per Tentacle; secrets as env references."""
    code, out, err = run("plan", "--cluster", str(EXAMPLES / f"cluster-{layout}.toml"))
    assert code == 0, err
    cluster = load_cluster(EXAMPLES / f"cluster-{layout}.toml")
    assert out.count("register-") == len(cluster.tentacles)
    assert "OCTOPUS_API_KEY" in out


def test_plan_json_and_reveal(monkeypatch: pytest.MonkeyPatch) -> None:
    """--json gives argv lists; --reveal-secrets needs the key and then shows it."""
    cluster = str(EXAMPLES / "cluster-unique-address.toml")
    code, out, _ = run("plan", "--cluster", cluster, "--json", "--tentacle", "web01")
    assert code == 0
    data = json.loads(out)
    assert [c["argv"][1] for c in data[0]["commands"]] == [
        "register-with",
        "poll-server",
        "poll-server",
        "service",
    ]
    assert "--apiKey=API-***" in data[0]["commands"][0]["argv"]
    monkeypatch.delenv("OCTOPUS_API_KEY", raising=False)
    code, _, err = run("plan", "--cluster", cluster, "--reveal-secrets")
    assert code == 1
    assert "OCTOPUS_API_KEY" in err
    monkeypatch.setenv("OCTOPUS_API_KEY", "API-REALKEY123")
    code, out, _ = run(
        "plan", "--cluster", cluster, "--reveal-secrets", "--shell", "cmd",
        "--tentacle", "sql01",
    )  # fmt: skip
    assert "API-REALKEY123" in out
    assert run("plan", "--cluster", cluster, "--tentacle", "nope")[0] == 1


def test_plan_with_config_migrates(cfg: Path) -> None:
    """With --config, only the steps from that config to the cluster are planned."""
    cluster = str(EXAMPLES / "cluster-unique-address.toml")
    run("servers", "sync", str(cfg), "--cluster", cluster)
    code, _, err = run("plan", "--cluster", cluster, "--config", str(cfg))
    assert code == 0
    assert "already converged" in err
    lb = str(EXAMPLES / "cluster-load-balancer.toml")
    code, out, _ = run("plan", "--cluster", lb, "--config", str(cfg), "--os", "windows")
    assert code == 0
    assert "Tentacle.exe' poll-server" in out
    keep = next(line for line in out.splitlines() if "clear-trusted-servers" in line)
    assert "https://polling.octopus.example.com:10943" in keep
    assert "https://octo-node1.example.com:10943" in keep  # another server: kept
    assert "https://node1.octopus.example.com" not in keep


def test_lb_haproxy_and_nginx() -> None:
    """lb prints a config per format; websocket layouts are refused with a reason."""
    for fmt in ("haproxy", "nginx"):
        code, out, _ = run(
            "lb",
            "--cluster",
            str(EXAMPLES / "cluster-unique-port.toml"),
            "--format",
            fmt,
        )
        assert code == 0
        assert "10944" in out
    code, _, err = run(
        "lb", "--cluster", str(EXAMPLES / "cluster-websocket.toml"), "--format", "nginx"
    )
    assert code == 1
    assert err.strip()


@pytest.mark.integration
def test_check_against_fake_cluster(tmp_path: Path) -> None:
    """check reports ok for a healthy fake cluster, and a draining node as a warning."""
    with FakeOctopusCluster(3) as fake:
        node = fake.nodes[0]
        servers = ",".join(
            f'{{"Thumbprint":"{fake.thumbprint}","CommunicationStyle":2,'
            f'"Address":"{n.comms_address}","Squid":null,'
            '"SubscriptionId":"poll://bcdefghjkmnpqrstuvwx/"}'
            for n in fake.nodes
        )
        cfg = tmp_path / "Tentacle.config"
        cfg.write_text(
            '<?xml version="1.0" encoding="utf-8"?>\n<octopus-settings>\n'
            '  <set key="Tentacle.Communication.TrustedOctopusServers">'
            f"[{servers}]</set>\n</octopus-settings>"
        )
        cluster = tmp_path / "cluster.toml"
        nodes = "".join(
            textwrap.dedent(f"""
            [[nodes]]
            name = "{n.name}"
            address = "127.0.0.1"
            comms_port = {n.comms_address.rsplit(":", 1)[1]}
            web_url = "{n.web_url}"
            """)
            for n in fake.nodes
        )
        cluster.write_text(
            f'[cluster]\nserver = "{node.web_url}"\nthumbprint = "{fake.thumbprint}"\n'
            f'layout = "unique-address"\n{nodes}'
        )
        code, out, err = run("check", str(cfg), "--cluster", str(cluster), "--json")
        assert code == 0, out + err
        results = json.loads(out)
        assert results
        fake.nodes[1].mode = NodeMode.DRAINING
        code, out, _ = run(
            "check", str(cfg), "--cluster", str(cluster), "--timeout", "3"
        )
        assert code == 0
        assert "draining" in out
        code, out, _ = run("check", str(cfg), "--cluster", str(cluster), "--strict")
        assert code == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "Tentacle.config",
        "cluster.toml",
    ]
