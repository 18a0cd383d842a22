"""``fleet audit --server URL``: server-side drift, no Tentacle contacted (#13)."""

from __future__ import annotations

import io
import json
from typing import TYPE_CHECKING

import pytest

from tentacle_ha.cli import main
from tentacle_ha.cluster import ServerNode
from tentacle_ha.cluster import ServerState
from tentacle_ha.cluster import loads_cluster
from tentacle_ha.fleet.audit import audit_fleet
from tentacle_ha.testing import FakeOctopusCluster
from tentacle_ha.testing import generate_certificate

if TYPE_CHECKING:
    from pathlib import Path

pytestmark = pytest.mark.timeout(60)

API_KEY = "API-FLEETSERVERSECRET0001"
NEW = "AB" * 20
OLD = "CD" * 20


def write_config(path: Path, thumbprint: str | None) -> Path:
    """A config polling two nodes trusting *thumbprint*; None: listening only."""
    if thumbprint is None:
        entries = f'{{"Thumbprint":"{OLD}","CommunicationStyle":1}}'
    else:
        entries = ",".join(
            f'{{"Thumbprint":"{thumbprint}","CommunicationStyle":2,'
            f'"Address":"https://10.0.0.{n}:10943","Squid":null,'
            '"SubscriptionId":"poll://bcdefghjkmnpqrstuvwx/"}'
            for n in (1, 2)
        )
    path.write_text(
        '<?xml version="1.0" encoding="utf-8"?>\n<octopus-settings>\n'
        '  <set key="Tentacle.Communication.TrustedOctopusServers">'
        f"[{entries}]</set>\n</octopus-settings>"
    )
    return path


def cluster_text(server: str, thumbprint: str, names: list[str]) -> str:
    """A unique-address cluster file."""
    lines = [
        f'[cluster]\nserver = "{server}"\nthumbprint = "{thumbprint}"',
        'layout = "unique-address"',
    ]
    for number, name in enumerate(names, 1):
        lines.append(f'\n[[nodes]]\nname = "{name}"\naddress = "10.0.0.{number}"')
    return "\n".join(lines) + "\n"


def test_audit_fleet_server_findings(tmp_path: Path) -> None:
    """Stale trust per file, node drift once; controls: fresh trust, no server."""
    fresh = write_config(tmp_path / "fresh.config", NEW)
    stale = write_config(tmp_path / "stale.config", OLD)
    write_config(tmp_path / "listening.config", None)
    cluster = loads_cluster(
        cluster_text("https://o.example.com", OLD, ["n1", "n2", "ghost"]),
        path="cluster.toml",
    )
    state = ServerState(
        server_url="https://o.example.com",
        version="2026.4.0",
        thumbprint=NEW,
        nodes=(ServerNode(name="N1"), ServerNode(name="n2"), ServerNode(name="n3")),
    )
    found = list(audit_fleet([tmp_path], cluster=cluster, jobs=1, server=state))
    server = [f for f in found if f.code.startswith("server-")]
    assert [(f.code, f.severity, f.path, f.node) for f in server] == [
        ("server-thumbprint-changed", "error", str(stale), None),
        ("server-node-missing", "error", "cluster.toml", "n3"),
        ("server-node-unknown", "warning", "cluster.toml", "ghost"),
    ]
    assert server[0].line == 3
    assert f"--rotate {OLD} {NEW} --staged" in server[0].message
    assert "every Tentacle misses node n3" in server[1].message
    assert str(fresh) not in {f.path for f in server}
    # Control: without the server, none of these.
    plain = list(audit_fleet([tmp_path], cluster=cluster, jobs=1))
    assert not [f for f in plain if f.code.startswith("server-")]
    # Without a cluster file: the thumbprint per file only.
    alone = list(audit_fleet([tmp_path], jobs=1, server=state))
    assert [f.code for f in alone if f.code.startswith("server-")] == [
        "server-thumbprint-changed",
        "server-nodes-not-compared",
    ]


def test_fleet_audit_server_command(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The CLI reads the fake server; a wrong key is one clean line, exit 1."""
    certificate = generate_certificate("Octopus Portal")
    old = generate_certificate("Octopus Portal (old)").thumbprint
    with FakeOctopusCluster(2, certificate=certificate, api_key=API_KEY) as fake:
        fake.add_node("Node3")
        (tmp_path / "fleet").mkdir()
        write_config(tmp_path / "fleet" / "a.config", old)
        write_config(tmp_path / "fleet" / "b.config", fake.thumbprint)
        cluster = tmp_path / "cluster.toml"
        cluster.write_text(cluster_text(fake.server_url, old, ["Node1", "Node2"]))
        args = [
            "fleet", "audit", str(tmp_path / "fleet"), "--cluster", str(cluster),
            "--server", fake.server_url, "--insecure-http", "--json", "--jobs", "1",
        ]  # fmt: skip
        monkeypatch.setenv("OCTOPUS_API_KEY", API_KEY)
        out, err = io.StringIO(), io.StringIO()
        assert main(args, stdout=out, stderr=err) == 1
        data = json.loads(out.getvalue())
        codes = sorted(
            (f["code"], f["node"] or f["path"].rsplit("/", 1)[-1])
            for f in data["findings"]
            if f["code"].startswith("server-")
        )
        assert codes == [
            ("server-node-missing", "Node3"),
            ("server-thumbprint-changed", "a.config"),
        ]
        assert API_KEY not in out.getvalue() + err.getvalue()
        monkeypatch.setenv("OCTOPUS_API_KEY", "API-NOTTHEKEY")
        out, err = io.StringIO(), io.StringIO()
        assert main(args, stdout=out, stderr=err) == 1
        assert out.getvalue() == ""
        assert err.getvalue().splitlines()[-1] == (
            f"{fake.server_url}/api: HTTP 401: API key missing or rejected"
        )
        assert "NOTTHEKEY" not in err.getvalue()
