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


def _thumbprint_findings(
    tmp_path: Path, server: str, filed: str, trusted: str
) -> tuple[list[tuple[str, str | None]], list[str]]:
    """(code, file name) of the thumbprint drift findings, and the messages of
    ``thumbprint-not-cluster``, for one config trusting *trusted*, a cluster
    file saying *filed* and a server presenting *server*."""
    (tmp_path / "fleet").mkdir(exist_ok=True)
    write_config(tmp_path / "fleet" / "t.config", trusted)
    cluster = loads_cluster(
        cluster_text("https://o.example.com", filed, ["n1", "n2"]),
        path="cluster.toml",
    )
    state = ServerState(
        server_url="https://o.example.com",
        version="2026.4.0",
        thumbprint=server,
        nodes=(ServerNode(name="n1"), ServerNode(name="n2")),
    )
    found = list(
        audit_fleet([tmp_path / "fleet"], cluster=cluster, jobs=1, server=state)
    )
    codes = [
        (f.code, None if f.path is None else f.path.rsplit("/", 1)[-1])
        for f in found
        if f.code in {"server-thumbprint-changed", "cluster-thumbprint-stale"}
    ]
    messages = [f.message for f in found if f.code == "thumbprint-not-cluster"]
    return codes, messages


def test_audit_thumbprints_all_agree(tmp_path: Path) -> None:
    """Server, cluster file and Tentacle on one certificate: no thumbprint finding."""
    assert _thumbprint_findings(tmp_path, NEW, NEW, NEW) == ([], [])


def test_audit_tentacle_trust_stale_cluster_updated(tmp_path: Path) -> None:
    """Cluster file updated, Tentacle on the old certificate: the staged
    rotation per file, no stale-file finding; control: Tentacle updated."""
    codes, _ = _thumbprint_findings(tmp_path, NEW, NEW, OLD)
    assert codes == [("server-thumbprint-changed", "t.config")]
    assert _thumbprint_findings(tmp_path, NEW, NEW, NEW)[0] == []


def test_audit_cluster_file_stale_tentacle_current(tmp_path: Path) -> None:
    """Tentacle on the server's certificate, cluster file on the old one:
    cluster-thumbprint-stale once, and thumbprint-not-cluster says to fix
    the file first; controls: the file updated, and no server read."""
    codes, messages = _thumbprint_findings(tmp_path, NEW, OLD, NEW)
    assert codes == [("cluster-thumbprint-stale", "cluster.toml")]
    assert len(messages) == 2
    for message in messages:
        assert f"the server presents {NEW}; fix the cluster file first" in message
        assert "rotate the thumbprint" not in message
    assert _thumbprint_findings(tmp_path, NEW, NEW, NEW) == ([], [])
    cluster = loads_cluster(
        cluster_text("https://o.example.com", OLD, ["n1", "n2"]), path="cluster.toml"
    )
    plain = list(audit_fleet([tmp_path / "fleet"], cluster=cluster, jobs=1))
    advice = [f.message for f in plain if f.code == "thumbprint-not-cluster"]
    assert len(advice) == 2
    assert all("(rotate the thumbprint)" in m for m in advice)
    assert not [f for f in plain if f.code == "cluster-thumbprint-stale"]


def test_audit_both_thumbprints_stale(tmp_path: Path) -> None:
    """Cluster file and Tentacle on the old certificate: both findings, the
    file's message naming the thumbprint to set."""
    codes, _ = _thumbprint_findings(tmp_path, NEW, OLD, OLD)
    assert codes == [
        ("server-thumbprint-changed", "t.config"),
        ("cluster-thumbprint-stale", "cluster.toml"),
    ]
    cluster = loads_cluster(
        cluster_text("https://o.example.com", OLD, ["n1", "n2"]), path="cluster.toml"
    )
    state = ServerState(
        server_url="https://o.example.com", version=None, thumbprint=NEW, nodes=()
    )
    (stale,) = [
        f
        for f in audit_fleet(
            [tmp_path / "fleet"], cluster=cluster, jobs=1, server=state
        )
        if f.code == "cluster-thumbprint-stale"
    ]
    assert stale.severity == "error"
    assert f'set thumbprint = "{NEW}" in the cluster file cluster.toml' in stale.message


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
            if f["code"].startswith(("server-", "cluster-thumbprint"))
        )
        assert codes == [
            ("cluster-thumbprint-stale", "cluster.toml"),
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
