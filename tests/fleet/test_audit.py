"""Audit: every finding code, positioned; cluster checks; cloned machines; the CLI."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from helpers.fleetgen import run_fleet_cli
from helpers.fleetgen import write_fleet
from hypothesis import given
from hypothesis import strategies as st

from tentacle_ha import loads
from tentacle_ha.cluster import Cluster
from tentacle_ha.cluster import loads_cluster
from tentacle_ha.fleet import audit
from tentacle_ha.fleet.audit import Finding
from tentacle_ha.fleet.audit import Severity
from tentacle_ha.fleet.audit import audit_config
from tentacle_ha.fleet.audit import audit_file
from tentacle_ha.fleet.audit import audit_fleet

T = "9E4A07A1F5B2C8D3E6F7A8B9C0D1E2F3A4B5C6D7"
OTHER = "0123456789ABCDEF0123456789ABCDEF01234567"
SUB = "poll://g3662re9njtelsyfhm7t/"
SUB2 = "poll://bbbbbbbbbbbbbbbbbbbb/"
NODES = tuple(f"https://octo-node{i}.example.com:10943" for i in (1, 2, 3))
LB = "https://octo-lb.example.com:10943"
ERROR, WARNING, INFO = Severity.ERROR, Severity.WARNING, Severity.INFO

PER_NODE = loads_cluster(
    f"""
[cluster]
server = "https://octopus.example.com"
thumbprint = "{T}"
layout = "unique-address"
"""
    + "".join(
        f'\n[[nodes]]\nname = "node{i}"\naddress = "octo-node{i}.example.com"\n'
        for i in (1, 2, 3)
    )
)
LOAD_BALANCED = loads_cluster(
    f"""
[cluster]
server = "https://octopus.example.com"
thumbprint = "{T}"
layout = "load-balancer"
load_balancer = "octo-lb.example.com"
"""
    + "".join(
        f'\n[[nodes]]\nname = "node{i}"\naddress = "octo-node{i}.example.com"\n'
        for i in (1, 2, 3)
    )
)


def entry(
    address: str | None = NODES[0],
    *,
    thumb: str = T,
    sub: str | None = SUB,
    style: int = 2,
) -> dict[str, Any]:
    return {
        "Thumbprint": thumb,
        "CommunicationStyle": style,
        "Address": address,
        "Squid": None,
        "SubscriptionId": sub,
    }


HEALTHY = [entry(a) for a in NODES]


def config(
    servers: list[dict[str, Any]] | str,
    *,
    no_listen: str = "true",
    squid: bool = False,
    certificate: str | None = OTHER,
) -> bytes:
    """A config whose TrustedOctopusServers element is at line 4, column 3."""
    text = (
        servers
        if isinstance(servers, str)
        else json.dumps(servers, separators=(",", ":"))
    )
    lines = ['<?xml version="1.0" encoding="utf-8"?>', "<octopus-settings>"]
    lines.append(
        f'  <set key="Octopus.Communications.Squid">{"SQ-1" if squid else ""}</set>'
    )
    lines.append(
        f'  <set key="Tentacle.Communication.TrustedOctopusServers">{text}</set>'
    )
    lines.append(f'  <set key="Tentacle.Services.NoListen">{no_listen}</set>')
    if certificate is not None:
        lines.append(f'  <set key="Tentacle.CertificateThumbprint">{certificate}</set>')
    lines.append("</octopus-settings>")
    return "\n".join(lines).encode()


def found(
    data: bytes, cluster: Cluster | None = None
) -> list[tuple[str, str, int | None, int | None]]:
    doc = loads(data, path="T.config")
    return [
        (f.severity.value, f.code, f.line, f.col)
        for f in audit_config(doc, cluster=cluster)
    ]


AT = (4, 3)


@pytest.mark.parametrize(
    ("servers", "options", "expected"),
    [
        pytest.param(HEALTHY, {}, [], id="healthy"),
        pytest.param(
            [entry("wss://octopus.example.com/OctopusComms")], {}, [], id="websocket"
        ),
        pytest.param(
            [entry(thumb=T.lower())], {}, [(ERROR, "thumbprint-lower-case")], id="lower"
        ),
        pytest.param(
            [entry(None, thumb=T.lower(), sub=None, style=1)],
            {"no_listen": "false"},
            [(WARNING, "thumbprint-lower-case")],
            id="lower-listening",
        ),
        pytest.param(
            [entry(thumb="9E:4A:07")],
            {},
            [(ERROR, "thumbprint-invalid")],
            id="bad-thumb",
        ),
        pytest.param(
            [entry(), entry()], {}, [(ERROR, "duplicate-entry")], id="duplicate"
        ),
        pytest.param(
            [entry(None, sub=None, style=0)],
            {"no_listen": "false"},
            [(WARNING, "style-none")],
            id="style-none",
        ),
        pytest.param(
            [entry(sub=None)], {}, [(ERROR, "subscription-id-missing")], id="no-sub"
        ),
        pytest.param(
            [entry(sub=None)],
            {"squid": True},
            [(WARNING, "subscription-id-missing")],
            id="no-sub-squid",
        ),
        pytest.param(
            [entry(sub="g3662re9njtelsyfhm7t")],
            {},
            [(ERROR, "subscription-id-invalid")],
            id="bad-sub",
        ),
        pytest.param(
            [entry(NODES[0]), entry(NODES[1], sub=SUB2)],
            {},
            [(ERROR, "subscription-id-mismatch")],
            id="two-subs",
        ),
        pytest.param(
            [entry(None)], {}, [(WARNING, "address-missing")], id="no-address"
        ),
        pytest.param(
            [entry("ftp://octo:21")], {}, [(ERROR, "address-invalid")], id="ftp"
        ),
        pytest.param(
            [entry("https://[::1:10943")],
            {},
            [(ERROR, "address-invalid")],
            id="bad-url",
        ),
        pytest.param(
            [entry("http://octo-node1.example.com:10943")],
            {},
            [(WARNING, "address-http")],
            id="http",
        ),
        pytest.param(
            [entry("https://octo-node1.example.com")],
            {},
            [(WARNING, "address-no-port")],
            id="no-port",
        ),
        pytest.param([], {}, [(ERROR, "no-trusted-servers")], id="empty"),
    ],
)
def test_each_entry_finding(
    servers: list[dict[str, Any]],
    options: dict[str, Any],
    expected: list[tuple[str, str]],
) -> None:
    """Each problem gives exactly its finding, at the TrustedOctopusServers element."""
    assert found(config(servers, **options)) == [(s, c, *AT) for s, c in expected]


def test_no_trusted_servers_is_an_error_only_with_a_certificate() -> None:
    """An orphaned Tentacle (it has a certificate) is an error; a fresh one warns."""
    assert (ERROR, "no-trusted-servers", *AT) in found(config([]))
    fresh = found(config([], certificate=None))
    assert (WARNING, "no-trusted-servers", *AT) in fresh
    assert all(s != ERROR for s, *_ in fresh)


def test_setting_findings_point_at_their_own_element() -> None:
    """no-listen, value-invalid and no-certificate point at the key they are about."""
    assert found(config(HEALTHY, no_listen="false")) == [(INFO, "no-listen", 5, 3)]
    assert found(config(HEALTHY, no_listen="maybe")) == [(ERROR, "value-invalid", 5, 3)]
    assert found(config(HEALTHY, certificate=None)) == [
        (WARNING, "no-certificate", None, None)
    ]


def test_messages_read_well() -> None:
    """The messages name the entry, the value and the consequence."""
    doc = loads(
        config([entry(thumb=T.lower()), entry(), entry(sub=None)]), path="T.config"
    )
    assert [str(f) for f in audit_config(doc)] == [
        (
            f"T.config:4:3: error: entry 1 ({NODES[0]}): thumbprint {T.lower()} is "
            "not upper-case; the polling client compares it case-sensitively, so "
            "polling fails [thumbprint-lower-case]"
        ),
        (
            f"T.config:4:3: error: entry 1 ({NODES[0]}) is listed twice (same "
            "thumbprint and address); Tentacle's add-or-update fails on it "
            "[duplicate-entry]"
        ),
        (
            f"T.config:4:3: error: entry 2 ({NODES[0]}) is listed twice (same "
            "thumbprint and address); Tentacle's add-or-update fails on it "
            "[duplicate-entry]"
        ),
        (
            f"T.config:4:3: error: entry 3 ({NODES[0]}): polling entry without a "
            "SubscriptionId [subscription-id-missing]"
        ),
    ]


def test_broken_array_points_into_the_json() -> None:
    """A broken array is one finding, at the JSON error, and no entry findings."""
    data = config('[{"Thumbprint":"' + T + '","CommunicationStyle":2,')
    assert found(data) == [(ERROR, "trusted-servers-broken", 4, 140)]


def test_not_a_config_and_unreadable(tmp_path: Path) -> None:
    """A file that is not a Tentacle.config is a positioned not-a-config finding."""
    path = tmp_path / "Tentacle.config"
    path.write_bytes(b"<?xml version='1.0'?>\n<configuration>\n</configuration>")
    (finding,) = audit_file(path)
    assert (finding.code, finding.severity, finding.line) == ("not-a-config", ERROR, 2)
    assert finding.path == str(path)
    (missing,) = audit_file(tmp_path / "gone.config")
    assert (missing.code, missing.message) == (
        "unreadable",
        "cannot read: No such file or directory (ENOENT)",
    )


# -- against a cluster -------------------------------------------------------------


@pytest.mark.parametrize(
    ("cluster", "servers", "expected"),
    [
        pytest.param(PER_NODE, HEALTHY, [], id="healthy"),
        pytest.param(LOAD_BALANCED, [entry(LB)], [], id="lb-healthy"),
        pytest.param(
            PER_NODE, HEALTHY[:2], [(ERROR, "node-missing")], id="missing-node"
        ),
        pytest.param(
            PER_NODE,
            [*HEALTHY, entry("https://octo-node4.example.com:10943")],
            [(WARNING, "node-unknown")],
            id="unknown-node",
        ),
        pytest.param(
            PER_NODE, [entry(LB)], [(ERROR, "layout-mismatch")], id="lb-for-per-node"
        ),
        pytest.param(
            LOAD_BALANCED, HEALTHY, [(ERROR, "layout-mismatch")], id="per-node-for-lb"
        ),
        pytest.param(
            PER_NODE,
            [entry(a, thumb=OTHER) for a in NODES],
            [(ERROR, "thumbprint-not-cluster")] * 3,
            id="old-certificate",
        ),
        pytest.param(
            PER_NODE,
            [entry("https://elsewhere:10943", thumb=OTHER)],
            [(ERROR, "cluster-not-polled")],
            id="other-server",
        ),
        pytest.param(
            PER_NODE, [entry(None, sub=None, style=1)], [], id="listening-only"
        ),
        pytest.param(
            PER_NODE,
            [*HEALTHY[:2], entry(NODES[2].replace("https", "http"))],
            [(WARNING, "address-http")],
            id="http-node-counts",
        ),
    ],
)
def test_cluster_findings(
    cluster: Cluster, servers: list[dict[str, Any]], expected: list[tuple[str, str]]
) -> None:
    """Polling entries are checked against the cluster's addresses and layout."""
    no_listen = "false" if servers and servers[0]["CommunicationStyle"] == 1 else "true"
    result = found(config(servers, no_listen=no_listen), cluster)
    assert [(s, c) for s, c, _, _ in result] == expected


def test_cluster_messages() -> None:
    """Cluster findings name the node and say what goes wrong."""
    doc = loads(config(HEALTHY[:2]), path="T.config")
    (missing,) = audit_config(doc, cluster=PER_NODE)
    assert missing.message == (
        f"does not poll node node3 ({NODES[2]}): tasks queued there wait"
    )
    assert (missing.node, missing.address) == ("node3", NODES[2])
    assert missing.to_dict()["node"] == "node3"
    doc = loads(config([entry(a, thumb=OTHER) for a in NODES]), path="T.config")
    rotated = audit_config(doc, cluster=PER_NODE)
    assert [(f.node, f.address) for f in rotated] == [
        ("node1", NODES[0]),
        ("node2", NODES[1]),
        ("node3", NODES[2]),
    ]
    doc = loads(config([entry(LB)]), path="T.config")
    (mismatch,) = audit_config(doc, cluster=PER_NODE)
    assert mismatch.message == (
        f"polls only {LB}, as with a load-balancer layout, but the cluster is "
        "unique-address: every node must be polled or tasks queued on the others wait"
    )
    doc = loads(config([entry(NODES[0])]), path="T.config")
    (lb_missing, unknown) = audit_config(doc, cluster=LOAD_BALANCED)
    assert lb_missing.message == (
        f"does not poll the load balancer ({LB}): tasks queued there wait"
    )
    assert unknown.message == f"polls {NODES[0]}, which the cluster no longer has"
    assert (lb_missing.node, lb_missing.address) == (None, LB)
    assert (unknown.node, unknown.address) == (None, NODES[0])


# -- across files -------------------------------------------------------------------


def test_cloned_machines_are_found_across_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Shared certificate thumbprints and SubscriptionIds are flagged in every copy."""
    monkeypatch.chdir(tmp_path)
    Path("a.config").write_bytes(config(HEALTHY, certificate=OTHER))
    Path("b.config").write_bytes(config([entry(sub=SUB2)], certificate=OTHER))
    Path("c.config").write_bytes(config(HEALTHY, certificate=T))
    Path("d.config").write_bytes(
        config([entry(sub=None)], squid=True, certificate="AB" * 20)
    )
    Path("e.config").write_bytes(
        config([entry(sub="poll://sq-1/")], certificate="CD" * 20)
    )
    results = [
        str(f).replace("./", "")
        for f in audit_fleet(["."], jobs=1)
        if f.code.startswith("cloned")
    ]
    assert results == [
        (
            f"a.config:6:3: error: certificate thumbprint {OTHER} is also used by "
            "1 other config(s): b.config (cloned machine?) [cloned-certificate]"
        ),
        (
            f"b.config:6:3: error: certificate thumbprint {OTHER} is also used by "
            "1 other config(s): a.config (cloned machine?) [cloned-certificate]"
        ),
        (
            f"a.config:4:3: error: SubscriptionId {SUB} is also used by 1 other "
            "config(s): c.config (cloned machine?) [cloned-subscription]"
        ),
        (
            f"c.config:4:3: error: SubscriptionId {SUB} is also used by 1 other "
            "config(s): a.config (cloned machine?) [cloned-subscription]"
        ),
        (
            "d.config:4:3: error: SubscriptionId poll://sq-1/ is also used by 1 other "
            "config(s): e.config (cloned machine?) [cloned-subscription]"
        ),
        (
            "e.config:4:3: error: SubscriptionId poll://sq-1/ is also used by 1 other "
            "config(s): d.config (cloned machine?) [cloned-subscription]"
        ),
    ]


def test_parallel_audit_equals_serial(tmp_path: Path) -> None:
    """Worker processes give the same findings, in the same order, as one process."""
    write_fleet(tmp_path, 90, drifted=10, broken=2, cloned=3)
    serial = list(audit_fleet([tmp_path], jobs=1))
    parallel = list(audit_fleet([tmp_path], jobs=3))
    assert parallel == serial
    codes = {f.code for f in serial}
    assert codes >= {"cloned-certificate", "cloned-subscription", "not-a-config"}


# -- properties ----------------------------------------------------------------------

_ENTRIES = st.builds(
    entry,
    st.sampled_from([*NODES, LB, None, "http://octo-node1.example.com:10943"]),
    thumb=st.sampled_from([T, T.lower(), OTHER]),
    sub=st.sampled_from([SUB, SUB2, None]),
    style=st.sampled_from([0, 1, 2]),
)


@given(st.lists(_ENTRIES, max_size=6), st.sampled_from([None, PER_NODE, LOAD_BALANCED]))
def test_audit_rules_hold_for_any_list(
    servers: list[dict[str, Any]], cluster: Cluster | None
) -> None:
    """Never raises; finds duplicates and SubscriptionId mismatches exactly."""
    doc = loads(config(servers))
    findings = audit_config(doc, cluster=cluster)
    codes = [f.code for f in findings]
    parsed = doc.trusted_servers
    has_duplicate = any(
        a.matches(b) for i, a in enumerate(parsed) for b in parsed[i + 1 :]
    )
    assert ("duplicate-entry" in codes) == has_duplicate
    subs: dict[str, set[str]] = {}
    for server in parsed.polling():
        if server.subscription_id:
            subs.setdefault(server.thumbprint.upper(), set()).add(
                server.subscription_id
            )
    assert ("subscription-id-mismatch" in codes) == any(
        len(v) > 1 for v in subs.values()
    )
    assert all(f.line is None or 1 <= f.line <= 7 for f in findings)
    if cluster is None or not parsed.polling():
        assert not {"node-missing", "node-unknown", "layout-mismatch"} & set(codes)


# -- the command line ----------------------------------------------------------------


@pytest.fixture
def small_fleet(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    fleet = Path("fleet")
    fleet.mkdir()
    (fleet / "ok.config").write_bytes(config(HEALTHY, certificate="A1" * 20))
    drift = [entry(a, sub=SUB2) for a in NODES[:2]]
    (fleet / "drift.config").write_bytes(
        config(drift, no_listen="false", certificate="B2" * 20)
    )
    (fleet / "Tentacle.config").write_bytes(b"<nope/>")
    return fleet


@pytest.mark.usefixtures("small_fleet")
def test_cli_audit_human_output(tmp_path: Path) -> None:
    """Findings as path:line:col lines, then a summary; exit 1 on errors."""
    cluster = tmp_path / "cluster.toml"
    cluster.write_text(
        f'[cluster]\nserver = "https://o"\nthumbprint = "{T}"\n'
        'layout = "unique-address"\n'
        + "".join(
            f'[[nodes]]\nname = "n{i}"\naddress = "octo-node{i}.example.com"\n'
            for i in (1, 2, 3)
        )
    )
    code, out, err = run_fleet_cli("fleet", "audit", "fleet", "--cluster", str(cluster))
    assert (code, err) == (1, "")
    assert out.splitlines() == [
        (
            "fleet/Tentacle.config:1:1: error: root element is <nope>, expected "
            "<octopus-settings>: not a Tentacle.config [not-a-config]"
        ),
        (
            "fleet/drift.config:5:3: info: NoListen is false but every entry is "
            "polling: the Tentacle also listens on its port for nothing [no-listen]"
        ),
        (
            f"fleet/drift.config:4:3: error: does not poll node n3 ({NODES[2]}): tasks "
            "queued there wait [node-missing]"
        ),
        "3 files: 2 errors, 0 warnings, 1 info",
    ]


def test_cli_audit_fail_on_and_json(small_fleet: Path) -> None:
    """--fail-on sets the bar for exit 1; --json is one JSON document."""
    (small_fleet / "Tentacle.config").unlink()
    assert run_fleet_cli("fleet", "audit", "fleet")[0] == 0
    assert run_fleet_cli("fleet", "audit", "fleet", "--fail-on", "warning")[0] == 0
    code, out, err = run_fleet_cli(
        "fleet", "audit", "fleet", "--fail-on", "info", "--json"
    )
    assert (code, err) == (1, "")
    data = json.loads(out)
    assert data["summary"] == {"files": 2, "errors": 0, "warnings": 0, "info": 1}
    assert data["findings"][0]["code"] == "no-listen"
    assert set(data["findings"][0]) == {
        "severity",
        "code",
        "path",
        "line",
        "col",
        "node",
        "address",
        "message",
    }
    assert data["findings"][0]["node"] is None


CONFIG_PATH = "/etc/octopus/Tentacle/tentacle-Tentacle.config"


def test_cli_audit_instances(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """--instances --root audits the instances' configs; broken index files too."""
    monkeypatch.delenv("TentacleMachineConfigurationHomeDirectory", raising=False)
    monkeypatch.setattr("sys.platform", "linux")
    instances = tmp_path / "etc" / "octopus" / "Tentacle" / "Instances"
    instances.mkdir(parents=True)
    target = tmp_path / "etc" / "octopus" / "Tentacle" / "tentacle-Tentacle.config"
    target.write_bytes(config([*HEALTHY[:1], entry(NODES[0])]))
    (instances / "tentacle.config").write_text(
        json.dumps(
            {
                "Name": "Tentacle",
                "ConfigurationFilePath": CONFIG_PATH,
            }
        )
    )
    (instances / "twice.config").write_text(
        json.dumps(
            {
                "Name": "Twice",
                "ConfigurationFilePath": CONFIG_PATH,
            }
        )
    )
    (instances / "broken.config").write_text("{")
    code, out, _ = run_fleet_cli(
        "fleet", "audit", "--instances", "--root", str(tmp_path), "--json"
    )
    assert code == 1
    data = json.loads(out)
    assert [(f["code"], Path(f["path"]).name) for f in data["findings"]] == [
        ("instance-index-broken", "broken.config"),
        ("duplicate-entry", "tentacle-Tentacle.config"),
    ]
    assert data["summary"]["files"] == 1


@pytest.mark.usefixtures("small_fleet")
def test_cli_audit_needs_paths_and_shows_progress_on_a_tty() -> None:
    """No PATHS is a usage error; progress goes to stderr only on a terminal."""
    assert run_fleet_cli("fleet", "audit")[0] == 2
    assert run_fleet_cli("fleet", "audit", "fleet", "--jobs", "0")[0] == 2
    _, _, err = run_fleet_cli("fleet", "audit", "fleet", tty=True)
    assert "/3 [" in err  # a bar: done / total, rate, ETA
    _, _, quiet = run_fleet_cli("fleet", "audit", "fleet", "--quiet", tty=True)
    assert quiet == ""


def test_finding_text_without_a_position_and_broken_arrays_across_files(
    tmp_path: Path,
) -> None:
    """Findings print without a position; a broken array does not stop the audit."""
    assert str(Finding(severity=ERROR, code="c", path="p", message="m")) == (
        "p: error: m [c]"
    )
    assert str(Finding(severity=INFO, code="c", path=None, message="m", line=3)) == (
        "-:3: info: m [c]"
    )
    (tmp_path / "broken.config").write_bytes(config("[{"))
    (tmp_path / "web.config").write_text("<configuration/>")
    for name in "abcde":
        (tmp_path / f"{name}.config").write_bytes(
            config(HEALTHY, certificate="EE" * 20)
        )
    (tmp_path / "gone.config").symlink_to(tmp_path / "nowhere")
    checked: list[str] = []
    findings = list(audit_fleet([tmp_path], jobs=1, on_file=checked.append))
    assert sorted(Path(p).name for p in checked) == sorted(
        f"{n}.config" for n in ["broken", *"abcde"]
    )
    codes = [(f.code, Path(f.path or "").name) for f in findings]
    assert ("trusted-servers-broken", "broken.config") in codes
    assert ("broken-symlink", "gone.config") in codes
    clones = [f.message for f in findings if f.code == "cloned-certificate"]
    assert len(clones) == 5
    assert all(m.endswith(", ... (cloned machine?)") for m in clones)


def test_module_listing() -> None:
    """dir() shows the public names only."""
    assert dir(audit) == sorted(audit.__all__)
