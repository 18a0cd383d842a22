"""The checks against real servers on loopback: the fakes and a CONNECT proxy.

Every result class is produced here, and each passing check has a negative
control in the same harness.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import socket
import ssl
import struct
import threading
import time
from typing import TYPE_CHECKING

import pytest
from helpers.connect_proxy import ConnectProxy

from tentacle_ha._secret import Secret
from tentacle_ha.check import ApiTarget
from tentacle_ha.check import CheckKind
from tentacle_ha.check import CheckResult
from tentacle_ha.check import CheckStatus
from tentacle_ha.check import CheckTarget
from tentacle_ha.check import NodeTarget
from tentacle_ha.check import PollTarget
from tentacle_ha.check import run_checks
from tentacle_ha.check import run_checks_sync
from tentacle_ha.check.targets import check_command
from tentacle_ha.check.targets import render_json
from tentacle_ha.check.targets import render_table
from tentacle_ha.cli import main
from tentacle_ha.errors import CheckFailedError
from tentacle_ha.errors import InvalidValueError
from tentacle_ha.testing import CertificateBundle
from tentacle_ha.testing import CommsMode
from tentacle_ha.testing import FakeOctopusCluster
from tentacle_ha.testing import FakeOctopusNode
from tentacle_ha.testing import NodeMode
from tentacle_ha.testing import generate_certificate
from tentacle_ha.testing._certs import WebPki

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

pytestmark = [pytest.mark.integration, pytest.mark.timeout(60)]

TIMEOUT = 3.0
SHORT = 0.3
API_KEY = "API-INTEGRATIONKEY0000000000000000"
PROXY_PASSWORD = "proxy-pa55-word-never-shown"  # noqa: S105  (a test proxy's password)


@pytest.fixture(scope="module")
def certificate() -> CertificateBundle:
    """One comms certificate for the whole module (key generation is slow)."""
    return generate_certificate()


@pytest.fixture
def node(certificate: CertificateBundle) -> Iterator[FakeOctopusNode]:
    """A running fake node, healthy, with an API key required on /api."""
    with FakeOctopusNode(certificate=certificate, api_key=API_KEY) as running:
        yield running


def one(target: CheckTarget, timeout: float = TIMEOUT) -> CheckResult:
    """Run a single check synchronously."""
    (result,) = run_checks_sync([target], timeout=timeout).results
    return result


def poll(node: FakeOctopusNode, thumbprint: str | None = None) -> PollTarget:
    """The poll target for a node, trusting its thumbprint unless told otherwise."""
    return PollTarget(
        address=node.comms_address, thumbprint=thumbprint or node.thumbprint
    )


def test_poll_ok_and_wrong_thumbprint(node: FakeOctopusNode) -> None:
    """The trusted thumbprint passes; another is a mismatch naming both."""
    good = one(poll(node))
    assert (good.status, good.kind, good.http_status) == (CheckStatus.OK, "poll", 200)
    assert good.presented_thumbprint == good.expected_thumbprint == node.thumbprint
    wrong = "0" * 40
    bad = one(poll(node, wrong))
    assert bad.status is CheckStatus.THUMBPRINT_MISMATCH
    assert (bad.presented_thumbprint, bad.expected_thumbprint) == (
        node.thumbprint,
        wrong,
    )
    assert node.thumbprint in bad.reason
    assert wrong in bad.reason


def test_poll_thumbprint_compare_ignores_case_and_separators(
    node: FakeOctopusNode,
) -> None:
    """Lower case with colons matches; the same form one digit off does not."""
    pairs = [node.thumbprint[i : i + 2] for i in range(0, 40, 2)]
    spelled = ":".join(pairs).lower()
    assert one(poll(node, spelled)).ok
    last = "1" if spelled[-1] != "1" else "2"
    assert (
        one(poll(node, spelled[:-1] + last)).status is CheckStatus.THUMBPRINT_MISMATCH
    )


def test_refused_then_back_on_the_same_port(node: FakeOctopusNode) -> None:
    """A refusing comms port is ``refused``; switched back, the same address passes."""
    target = poll(node)
    node.comms_mode = CommsMode.REFUSE
    refused = one(target)
    assert refused.status is CheckStatus.REFUSED
    assert refused.presented_thumbprint is None
    node.comms_mode = CommsMode.HALIBUT
    assert one(target).ok


def test_stalled_server_times_out_quickly(node: FakeOctopusNode) -> None:
    """A server that accepts and never answers is ``timeout`` after the short limit."""
    node.comms_mode = CommsMode.STALL
    stalled = one(poll(node), timeout=SHORT)
    assert stalled.status is CheckStatus.TIMEOUT
    assert "TLS handshake" in stalled.reason
    assert SHORT * 0.9 <= stalled.elapsed < TIMEOUT
    node.comms_mode = CommsMode.HALIBUT
    assert one(poll(node), timeout=SHORT * 10).ok


@pytest.mark.parametrize(
    ("mode", "status", "http_status", "same_certificate"),
    [
        (CommsMode.CLOSE_AFTER_TLS, CheckStatus.NOT_HALIBUT, None, True),
        (CommsMode.NOT_HALIBUT, CheckStatus.NOT_HALIBUT, 404, True),
        (CommsMode.PLAIN_TCP, CheckStatus.TLS_ERROR, None, False),
        (CommsMode.OTHER_CERTIFICATE, CheckStatus.THUMBPRINT_MISMATCH, None, False),
    ],
)
def test_failure_modes_then_healthy_again(
    node: FakeOctopusNode,
    mode: CommsMode,
    status: CheckStatus,
    http_status: int | None,
    *,
    same_certificate: bool,
) -> None:
    """Each broken far end gets its class; the same node healthy passes again."""
    node.comms_mode = mode
    result = one(poll(node))
    assert (result.status, result.http_status) == (status, http_status)
    assert (result.presented_thumbprint == node.thumbprint) is same_certificate
    node.comms_mode = CommsMode.HALIBUT
    assert one(poll(node)).ok


def test_dns_failure_is_fast_and_offline() -> None:
    """A name under ``.invalid`` never resolves: ``dns_error`` well within the limit."""
    target = PollTarget(
        address="https://nonexistent.invalid:10943", thumbprint="A" * 40
    )
    result = one(target, timeout=TIMEOUT)
    assert result.status is CheckStatus.DNS_ERROR
    assert "nonexistent.invalid" in result.reason
    assert result.elapsed < TIMEOUT


def test_websocket_path(node: FakeOctopusNode) -> None:
    """wss:// upgrades on the trusted certificate; 404 and a wrong thumbprint fail."""
    target = PollTarget(address=node.websocket_address, thumbprint=node.thumbprint)
    good = one(target)
    assert (good.kind, good.status, good.http_status) == (
        CheckKind.WEBSOCKET,
        CheckStatus.OK,
        101,
    )
    wrong = PollTarget(address=node.websocket_address, thumbprint="1" * 40)
    assert one(wrong).status is CheckStatus.THUMBPRINT_MISMATCH
    node.comms_mode = CommsMode.NOT_HALIBUT
    missing = one(target)
    assert (missing.status, missing.http_status) == (CheckStatus.HTTP_ERROR, 404)
    node.comms_mode = CommsMode.CLOSE_AFTER_TLS
    assert one(target).status is CheckStatus.HTTP_ERROR


def test_websocket_other_answers_count_as_answering(node: FakeOctopusNode) -> None:
    """A non-upgrade HTTP answer (Halibut's 200 page at another path) is ``ok``."""
    address = node.websocket_address.replace("/OctopusComms", "/elsewhere")
    result = one(PollTarget(address=address, thumbprint=node.thumbprint))
    assert (result.status, result.http_status) == (CheckStatus.OK, 200)


def test_registration_with_and_without_api_key(node: FakeOctopusNode) -> None:
    """The right key gets the root document; none or a wrong one is HTTP 401."""
    good = one(
        ApiTarget(server_url=node.web_url, api_key=Secret(API_KEY), insecure_http=True)
    )
    assert (good.status, good.kind, good.http_status) == (
        CheckStatus.OK,
        CheckKind.REGISTRATION,
        200,
    )
    assert "2026.4.0" in good.reason
    for key in (None, Secret("API-WRONG")):
        bad = one(ApiTarget(server_url=node.web_url, api_key=key, insecure_http=True))
        assert (bad.status, bad.http_status) == (CheckStatus.HTTP_ERROR, 401)


def test_registration_refused_when_nothing_listens(node: FakeOctopusNode) -> None:
    """A stopped node's web URL is ``refused``; the running one passed above."""
    url = node.web_url
    node.stop()
    assert one(ApiTarget(server_url=url)).status is CheckStatus.REFUSED
    node.start()
    assert node.web_url == url
    assert one(
        ApiTarget(server_url=url, api_key=Secret(API_KEY), insecure_http=True)
    ).ok


def test_registration_https_verifies_by_default(
    certificate: CertificateBundle, tmp_path: Path
) -> None:
    """HTTPS with a test CA: trusted via context or CA file passes; default fails."""
    with FakeOctopusNode(certificate=certificate, api_tls=True) as node:
        ca = node.api_ca
        assert ca is not None
        assert node.web_url.startswith("https://")
        bundle = tmp_path / "ca.pem"
        bundle.write_bytes(ca.cert_pem)
        for verify in (ca.client_context(), str(bundle), bundle):
            assert one(ApiTarget(server_url=node.web_url, verify=verify)).ok
        default = one(ApiTarget(server_url=node.web_url))
        assert default.status is CheckStatus.TLS_ERROR
        assert "CERTIFICATE_VERIFY_FAILED" in default.reason
        assert one(ApiTarget(server_url=node.web_url, verify=False)).ok


@pytest.mark.parametrize(
    ("mode", "status", "http_status"),
    [
        (NodeMode.ONLINE, CheckStatus.OK, 200),
        (NodeMode.DRAINING, CheckStatus.DRAINING, 418),
        (NodeMode.DOWN, CheckStatus.DOWN, 503),
    ],
)
def test_node_health(
    node: FakeOctopusNode, mode: NodeMode, status: CheckStatus, http_status: int
) -> None:
    """The ping maps 200/418/other to ok/draining/down and keeps the node JSON."""
    node.mode = mode
    result = one(NodeTarget(web_url=node.web_url, name=node.name))
    assert (result.status, result.http_status) == (status, http_status)
    assert result.node is not None
    assert result.node["Name"] == node.name
    assert result.node["IsInMaintenanceMode"] is (mode is NodeMode.DRAINING)


def test_draining_is_a_warning_unless_strict(node: FakeOctopusNode) -> None:
    """A draining node leaves the report ok (exit 0) unless strict (exit 1)."""
    node.mode = NodeMode.DRAINING
    targets: list[CheckTarget] = [poll(node), NodeTarget(web_url=node.web_url)]
    relaxed = run_checks_sync(targets, timeout=TIMEOUT)
    assert (relaxed.ok, relaxed.exit_code, len(relaxed.warnings)) == (True, 0, 1)
    relaxed.raise_for_failures()
    strict = run_checks_sync(targets, timeout=TIMEOUT, strict=True)
    assert (strict.ok, strict.exit_code, strict.warnings) == (False, 1, ())
    with pytest.raises(CheckFailedError, match="draining"):
        strict.raise_for_failures()


@pytest.fixture
def proxy() -> Iterator[ConnectProxy]:
    """A CONNECT proxy on loopback that wants Basic credentials."""
    with ConnectProxy(username="tentacle", password=PROXY_PASSWORD) as running:
        yield running


def test_poll_through_proxy(node: FakeOctopusNode, proxy: ConnectProxy) -> None:
    """Through the proxy with the right password passes, and the proxy saw it."""
    via = proxy.proxy(username="tentacle", password=PROXY_PASSWORD)
    target = PollTarget(
        address=node.comms_address, thumbprint=node.thumbprint, proxy=via
    )
    result = one(target)
    assert result.status is CheckStatus.OK
    assert result.proxy == f"127.0.0.1:{proxy.port}"
    assert proxy.requests == [f"CONNECT 127.0.0.1:{node.comms_port}"]


@pytest.mark.parametrize("password", [None, "wrong"])
def test_poll_through_proxy_with_bad_credentials(
    node: FakeOctopusNode, proxy: ConnectProxy, password: str | None
) -> None:
    """Missing or wrong proxy credentials: ``proxy_error`` (407), nothing passed."""
    username = None if password is None else "tentacle"
    via = proxy.proxy(username=username, password=password)
    target = PollTarget(
        address=node.comms_address, thumbprint=node.thumbprint, proxy=via
    )
    result = one(target)
    assert (result.status, result.http_status) == (CheckStatus.PROXY_ERROR, 407)
    assert proxy.requests == []


def test_poll_through_a_proxy_that_is_down(node: FakeOctopusNode) -> None:
    """A proxy that refuses connections is ``proxy_error``, not ``refused``."""
    with ConnectProxy() as gone:
        via = gone.proxy()
    target = PollTarget(
        address=node.comms_address, thumbprint=node.thumbprint, proxy=via
    )
    result = one(target)
    assert result.status is CheckStatus.PROXY_ERROR
    assert "refused" in result.reason


def test_poll_through_proxy_to_a_dead_upstream(node: FakeOctopusNode) -> None:
    """The proxy's 502 for an unreachable node is ``proxy_error`` with the status."""
    with ConnectProxy() as open_proxy:
        address = node.comms_address
        node.comms_mode = CommsMode.REFUSE
        target = PollTarget(
            address=address, thumbprint=node.thumbprint, proxy=open_proxy.proxy()
        )
        result = one(target)
    assert (result.status, result.http_status) == (CheckStatus.PROXY_ERROR, 502)


def test_registration_and_ping_through_web_proxy(
    node: FakeOctopusNode, proxy: ConnectProxy
) -> None:
    """REST checks go through the web proxy; a wrong password is ``proxy_error``."""
    via = proxy.proxy(username="tentacle", password=PROXY_PASSWORD)
    api = one(
        ApiTarget(
            server_url=node.web_url,
            api_key=Secret(API_KEY),
            proxy=via,
            insecure_http=True,
        )
    )
    ping = one(NodeTarget(web_url=node.web_url, proxy=via))
    assert (api.status, ping.status) == (CheckStatus.OK, CheckStatus.OK)
    assert proxy.requests == [
        f"GET {node.web_url}/api",
        f"GET {node.web_url}/api/octopusservernodes/ping",
    ]
    wrong = proxy.proxy(username="tentacle", password="nope")  # noqa: S106  (a wrong one on purpose)
    bad = one(ApiTarget(server_url=node.web_url, proxy=wrong))
    assert (bad.status, bad.http_status) == (CheckStatus.PROXY_ERROR, 407)


def test_secrets_never_leave(node: FakeOctopusNode, proxy: ConnectProxy) -> None:
    """API key and proxy password appear in no result, report, table, JSON or repr."""
    via = proxy.proxy(username="tentacle", password=PROXY_PASSWORD)
    targets: list[CheckTarget] = [
        ApiTarget(
            server_url=node.web_url,
            api_key=Secret(API_KEY),
            proxy=via,
            insecure_http=True,
        ),
        PollTarget(address=node.comms_address, thumbprint=node.thumbprint, proxy=via),
    ]
    report = run_checks_sync(targets, timeout=TIMEOUT)
    assert report.ok
    texts = [render_table(report), render_json(report), repr(report), repr(targets)]
    for text in texts:
        assert API_KEY not in text
        assert PROXY_PASSWORD not in text


def test_stalled_endpoints_take_about_one_timeout() -> None:
    """N stalled checks take about one timeout, not N; one at a time they add up."""
    with FakeOctopusNode(comms_mode=CommsMode.STALL) as stalled:
        targets = [poll(stalled)] * 20
        report = run_checks_sync(targets, timeout=SHORT, concurrency=32)
        assert {r.status for r in report.results} == {CheckStatus.TIMEOUT}
        assert report.elapsed < len(targets) * SHORT / 4
        serial = run_checks_sync(targets[:4], timeout=SHORT, concurrency=1)
        assert serial.elapsed >= 4 * SHORT * 0.9


def test_concurrency_is_bounded() -> None:
    """At most ``concurrency`` checks are open at once (counted at the server)."""
    with FakeOctopusNode(comms_mode=CommsMode.STALL) as stalled:
        targets = [poll(stalled)] * 9
        report = run_checks_sync(targets, timeout=SHORT, concurrency=3)
    assert len(report.results) == 9
    # Three waves of three: at least three timeouts back to back.
    assert report.elapsed >= 3 * SHORT * 0.9
    assert report.elapsed < 9 * SHORT


def test_cluster_report_and_json(certificate: CertificateBundle) -> None:
    """A healthy cluster passes every path; JSON and table carry each result."""
    with FakeOctopusCluster(2, certificate=certificate, load_balancer=True) as cluster:
        targets: list[CheckTarget] = [
            PollTarget(address=a, thumbprint=cluster.thumbprint, name=n.name)
            for a, n in zip(cluster.comms_addresses, cluster.nodes, strict=True)
        ]
        targets.append(
            PollTarget(
                address=cluster.load_balancer_address, thumbprint=cluster.thumbprint
            )
        )
        targets.append(ApiTarget(server_url=cluster.server_url))
        targets += [NodeTarget(web_url=n.web_url, name=n.name) for n in cluster.nodes]
        addresses = [*cluster.comms_addresses, cluster.load_balancer_address]
        report = run_checks_sync(targets, timeout=TIMEOUT)
        assert report.ok, render_table(report)
        cluster.nodes[1].comms_mode = CommsMode.OTHER_CERTIFICATE
        broken = run_checks_sync(targets[:2], timeout=TIMEOUT)
    data = json.loads(render_json(report))
    assert data["ok"] is True
    assert data["counts"] == {"ok": len(targets)}
    assert [r["target"] for r in data["results"]] == [r.target for r in report.results]
    assert [r["target"] for r in data["results"][:3]] == addresses
    table = render_table(report)
    assert len(table.splitlines()) == len(targets) + 2
    assert [r.status for r in broken.results] == [
        CheckStatus.OK,
        CheckStatus.THUMBPRINT_MISMATCH,
    ]
    with pytest.raises(CheckFailedError, match="Node2"):
        broken.raise_for_failures()


def test_async_entry_point(node: FakeOctopusNode) -> None:
    """``run_checks`` works inside a caller's own event loop."""
    report = asyncio.run(run_checks([poll(node)], timeout=TIMEOUT))
    assert report.ok


def test_elapsed_is_measured(node: FakeOctopusNode) -> None:
    """Each result's elapsed time lies within the run's wall-clock time."""
    started = time.perf_counter()
    report = run_checks_sync([poll(node), NodeTarget(web_url=node.web_url)])
    wall = time.perf_counter() - started
    assert all(0 < r.elapsed <= report.elapsed <= wall for r in report.results)


@pytest.mark.parametrize(
    ("scheme", "status"),
    [("https", CheckStatus.NOT_HALIBUT), ("wss", CheckStatus.HTTP_ERROR)],
)
def test_garbage_after_tls(
    certificate: CertificateBundle, scheme: str, status: CheckStatus
) -> None:
    """A trusted TLS server answering something that is not HTTP fails the path."""

    async def main() -> CheckResult:
        async def serve(
            reader: asyncio.StreamReader, writer: asyncio.StreamWriter
        ) -> None:
            await reader.readline()
            writer.write(b"SSH-2.0-OpenSSH_9.6\r\n")
            await writer.drain()
            writer.close()

        server = await asyncio.start_server(
            serve, "127.0.0.1", 0, ssl=certificate.server_context()
        )
        port = server.sockets[0].getsockname()[1]
        try:
            target = PollTarget(
                address=f"{scheme}://127.0.0.1:{port}/OctopusComms",
                thumbprint=certificate.thumbprint,
            )
            return (await run_checks([target], timeout=TIMEOUT)).results[0]
        finally:
            server.close()
            await server.wait_closed()

    result = asyncio.run(main())
    assert result.status is status
    assert "SSH-2.0" in result.reason


def write_config(path: Path, servers: list[str], extra: str = "") -> Path:
    """A Tentacle.config polling the given addresses with the given extra keys."""
    entries = ",".join(
        f'{{"Thumbprint":"{thumbprint}","CommunicationStyle":2,"Address":"{address}",'
        '"Squid":null,"SubscriptionId":"poll://bcdefghjkmnpqrstuvwx/"}'
        for address, thumbprint in (s.split("|") for s in servers)
    )
    path.write_text(
        '<?xml version="1.0" encoding="utf-8"?>\n<octopus-settings>\n'
        f"{extra}"
        '  <set key="Tentacle.Communication.TrustedOctopusServers">'
        f"[{entries}]</set>\n</octopus-settings>"
    )
    return path


def write_cluster(path: Path, node: FakeOctopusNode) -> Path:
    """A unique-address cluster file with the one fake node."""
    port = node.comms_address.rsplit(":", 1)[1]
    path.write_text(
        f'[cluster]\nserver = "{node.web_url}"\nthumbprint = "{node.thumbprint}"\n'
        'layout = "unique-address"\n\n[[nodes]]\nname = "Node1"\n'
        f'address = "127.0.0.1"\ncomms_port = {port}\nweb_url = "{node.web_url}"\n'
    )
    return path


def test_check_command_end_to_end(node: FakeOctopusNode, tmp_path: Path) -> None:
    """The command checks config polls plus cluster REST; the key comes from env."""
    config = write_config(
        tmp_path / "Tentacle.config", [f"{node.comms_address}|{node.thumbprint}"]
    )
    cluster = write_cluster(tmp_path / "cluster.toml", node)
    env = {"OCTOPUS_API_KEY": API_KEY}
    with pytest.raises(InvalidValueError, match="refusing to send the API key"):
        check_command(config, cluster=cluster, environ=env)
    warnings: list[str] = []
    code, text = check_command(
        config,
        cluster=cluster,
        json_output=True,
        environ=env,
        insecure_http=True,
        warn=warnings.append,
    )
    assert len(warnings) == 1
    assert "plain http://" in warnings[0]
    assert API_KEY not in warnings[0]
    data = json.loads(text)
    assert (code, data["ok"]) == (0, True), text
    assert [r["kind"] for r in data["results"]] == [
        "poll",
        "registration",
        "node_health",
        "server_drift",
    ]
    assert data["results"][-1]["status"] == "ok"
    assert API_KEY not in text
    code, table = check_command(config, cluster=cluster, environ={})
    assert code == 1
    assert "HTTP 401" in table
    code, table = check_command(config, environ={})
    assert code == 0
    assert table.startswith("TARGET")


def test_check_command_polling_proxy_password_from_env(
    node: FakeOctopusNode, proxy: ConnectProxy, tmp_path: Path
) -> None:
    """The polling proxy's password comes from Tentacle's env variable, not the file."""
    proxy_keys = (
        '  <set key="Octopus.Server.Proxy.ProxyHost">127.0.0.1</set>\n'
        f'  <set key="Octopus.Server.Proxy.ProxyPort">{proxy.port}</set>\n'
        '  <set key="Octopus.Server.Proxy.ProxyUsername">tentacle</set>\n'
        '  <set key="Octopus.Server.Proxy.ProxyPassword">bWFjaGluZS1rZXk=</set>\n'
    )
    config = write_config(
        tmp_path / "Tentacle.config",
        [f"{node.comms_address}|{node.thumbprint}"],
        proxy_keys,
    )
    env = {"TENTACLE_POLLING_CUSTOM_PROXY_PASSWORD": PROXY_PASSWORD}
    code, text = check_command(config, json_output=True, environ=env)
    assert code == 0, text
    assert json.loads(text)["results"][0]["proxy"] == f"127.0.0.1:{proxy.port}"
    code, text = check_command(config, json_output=True, environ={})
    assert code == 1
    assert json.loads(text)["results"][0]["status"] == "proxy_error"
    assert PROXY_PASSWORD not in text


def ipv6_loopback() -> bool:
    """True when this machine can listen on ::1."""
    try:
        with socket.socket(socket.AF_INET6) as probe:
            probe.bind(("::1", 0))
    except OSError:
        return False
    return True


@pytest.mark.skipif(not ipv6_loopback(), reason="no IPv6 loopback here")
def test_ipv6_addresses(certificate: CertificateBundle) -> None:
    """Bracketed IPv6 addresses work for poll, websocket and ping; wrong trust fails."""
    with FakeOctopusNode(certificate=certificate, host="::1") as node:
        assert node.comms_address.startswith("https://[::1]:")
        targets: list[CheckTarget] = [
            poll(node),
            PollTarget(address=node.websocket_address, thumbprint=node.thumbprint),
            NodeTarget(web_url=node.web_url),
        ]
        assert run_checks_sync(targets, timeout=TIMEOUT).ok
        assert one(poll(node, "2" * 40)).status is CheckStatus.THUMBPRINT_MISMATCH


def write_fake_cluster(
    path: Path, fake: FakeOctopusCluster, layout: str = "unique-address"
) -> Path:
    """A cluster file for a running fake cluster, per-node or load-balancer."""
    lines = [
        f'[cluster]\nserver = "{fake.nodes[0].web_url}"',
        f'thumbprint = "{fake.thumbprint}"\nlayout = "{layout}"',
    ]
    if layout == "load-balancer":
        lines.append(f'load_balancer = "{fake.load_balancer_address[8:]}"')
    for node in fake.nodes:
        port = node.comms_address.rsplit(":", 1)[1]
        lines.append(
            f'\n[[nodes]]\nname = "{node.name}"\naddress = "127.0.0.1"\n'
            f'comms_port = {port}\nweb_url = "{node.web_url}"'
        )
    path.write_text("\n".join(lines) + "\n")
    return path


def test_check_cluster_flags_each_node_not_polled(
    certificate: CertificateBundle, tmp_path: Path
) -> None:
    """Polling 2 of 3 nodes: a not_trusted row for node 3, exit 1; rows named (#9)."""
    with FakeOctopusCluster(3, certificate=certificate) as fake:
        cluster = write_fake_cluster(tmp_path / "cluster.toml", fake)
        polled = [f"{a}|{fake.thumbprint}" for a in fake.comms_addresses]
        partial = write_config(tmp_path / "partial.config", polled[:2])
        code, text = check_command(partial, cluster=cluster, json_output=True)
        data = json.loads(text)
        assert (code, data["ok"]) == (1, False), text
        missing = [r for r in data["results"] if r["status"] == "not_trusted"]
        assert len(missing) == 1, text
        (row,) = missing
        assert row["target"] == fake.comms_addresses[2]
        assert row["name"] == "Node3"
        assert row["kind"] == "poll"
        assert "127.0.0.1" in row["reason"]
        assert "Node3" in row["reason"]
        polls = [r for r in data["results"] if r["kind"] == "poll"]
        assert [r["name"] for r in polls] == ["Node1", "Node2", "Node3"]
        code, table = check_command(partial, cluster=cluster)
        assert "not_trusted" in table
        assert table.splitlines()[-1].startswith("FAILED")
        # Negative control: the same cluster, every node polled.
        full = write_config(tmp_path / "full.config", polled)
        code, text = check_command(full, cluster=cluster, json_output=True)
        data = json.loads(text)
        assert code == 0, text
        assert "not_trusted" not in data["counts"]
        # Polled with another certificate is not trusted either.
        stale = write_config(
            tmp_path / "stale.config",
            [*polled[:2], f"{fake.comms_addresses[2]}|{'1' * 40}"],
        )
        code, text = check_command(stale, cluster=cluster, json_output=True)
        rows = json.loads(text)["results"]
        assert code == 1
        assert [r["name"] for r in rows if r["status"] == "not_trusted"] == ["Node3"]


@pytest.mark.parametrize(
    ("version", "ok"),
    [("2025.1.0", False), ("2026.3.9999", False), ("2026.4.0", True), ("2027.1", True)],
)
def test_load_balancer_layout_needs_2026_4(
    certificate: CertificateBundle, tmp_path: Path, version: str, *, ok: bool
) -> None:
    """The LB layout fails registration on servers without multi-node polling."""
    with FakeOctopusCluster(
        2, certificate=certificate, load_balancer=True, version=version
    ) as fake:
        cluster = write_fake_cluster(tmp_path / "c.toml", fake, "load-balancer")
        config = write_config(
            tmp_path / "Tentacle.config",
            [f"{fake.load_balancer_address}|{fake.thumbprint}"],
        )
        code, text = check_command(config, cluster=cluster, json_output=True)
        rows = json.loads(text)["results"]
        (registration,) = [r for r in rows if r["kind"] == "registration"]
        assert [r["name"] for r in rows if r["kind"] == "poll"] == ["load balancer"]
        if ok:
            assert (code, registration["status"]) == (0, "ok"), text
        else:
            assert (code, registration["status"]) == (1, "unsupported_server")
            assert version in registration["reason"]
            assert "2026.4" in registration["reason"]
            assert "load-balancer" in registration["reason"]
        # Negative control: a per-node layout on the same server needs no 2026.4.
        per_node = write_fake_cluster(tmp_path / "p.toml", fake)
        polled = [f"{a}|{fake.thumbprint}" for a in fake.comms_addresses]
        config = write_config(tmp_path / "n.config", polled)
        code, text = check_command(config, cluster=per_node, json_output=True)
        assert code == 0, text


class _Closer:
    """A real loopback listener that accepts, then closes or resets, never TLS."""

    def __init__(self, how: str) -> None:
        self.how = how
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.sock.settimeout(0.05)
        self.done = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    @property
    def address(self) -> str:
        return f"https://127.0.0.1:{self.sock.getsockname()[1]}"

    def _run(self) -> None:
        while not self.done.is_set():
            try:
                conn, _ = self.sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            with conn:
                if self.how == "read-then-close":
                    conn.settimeout(2)
                    with contextlib.suppress(OSError):
                        conn.recv(65536)  # the ClientHello
                    conn.shutdown(socket.SHUT_WR)  # a clean FIN, no reset
                    with contextlib.suppress(OSError):
                        conn.recv(65536)
                elif self.how == "reset":
                    conn.setsockopt(
                        socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0)
                    )

    def close(self) -> None:
        self.done.set()
        self.thread.join(5)
        self.sock.close()


@pytest.mark.parametrize("how", ["close", "read-then-close", "reset"])
def test_closed_before_tls_is_closed_by_peer(how: str) -> None:
    """Accept, then EOF or reset before any TLS byte: closed_by_peer, not tls_error."""
    closer = _Closer(how)
    http = closer.address.replace("https://", "http://")
    try:
        result = one(PollTarget(address=closer.address, thumbprint="A" * 40))
        # The same for registration and pings, over https and http.
        web = [
            one(ApiTarget(server_url=closer.address)),
            one(NodeTarget(web_url=closer.address)),
            one(NodeTarget(web_url=http)),
        ]
    finally:
        closer.close()
    assert result.status is CheckStatus.CLOSED_BY_PEER, result.reason
    assert "load balancer" in result.reason
    assert result.presented_thumbprint is None
    for got in web:
        assert got.status is CheckStatus.CLOSED_BY_PEER, (got.target, got.reason)
        assert "load balancer" in got.reason


def test_load_balancer_to_a_dead_comms_port_is_closed_by_peer(
    certificate: CertificateBundle,
) -> None:
    """The LB accepts, the node behind it refuses: closed_by_peer (#9)."""
    with FakeOctopusCluster(1, certificate=certificate, load_balancer=True) as fake:
        target = PollTarget(
            address=fake.load_balancer_address, thumbprint=fake.thumbprint
        )
        assert one(target).ok
        fake.nodes[0].comms_mode = CommsMode.REFUSE
        dead = one(target)
        assert dead.status is CheckStatus.CLOSED_BY_PEER, dead.reason
        # Negative control: a node that answers without TLS stays a TLS error.
        fake.nodes[0].comms_mode = CommsMode.PLAIN_TCP
        plain = one(target)
        assert plain.status is CheckStatus.TLS_ERROR, plain.reason


def test_real_tls_failure_stays_tls_error(certificate: CertificateBundle) -> None:
    """Negative control: a TLS server that rejects the handshake is tls_error."""
    # TLS 1.2 with a PSK-only cipher the client never offers: the server
    # answers the ClientHello with a handshake_failure alert, then closes.
    context = certificate.server_context()
    context.maximum_version = ssl.TLSVersion.TLSv1_2
    context.set_ciphers("PSK-AES128-CBC-SHA")
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(5)

    def serve() -> None:
        conn, _ = listener.accept()
        with conn, contextlib.suppress(ssl.SSLError, OSError):
            context.wrap_socket(conn, server_side=True)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        port = listener.getsockname()[1]
        result = one(
            PollTarget(address=f"https://127.0.0.1:{port}", thumbprint="A" * 40)
        )
    finally:
        thread.join(5)
        listener.close()
    assert result.status is CheckStatus.TLS_ERROR, result.reason
    assert "HANDSHAKE_FAILURE" in result.reason.upper(), result.reason


def test_ca_bundle_option_and_environment(
    certificate: CertificateBundle, tmp_path: Path
) -> None:
    """An internal CA: --ca-bundle, REQUESTS_CA_BUNDLE or SSL_CERT_FILE (#9)."""
    with FakeOctopusCluster(1, certificate=certificate, api_tls=True) as fake:
        ca = fake.api_ca
        assert ca is not None
        bundle = tmp_path / "internal-ca.pem"
        bundle.write_bytes(ca.cert_pem)
        other = tmp_path / "other-ca.pem"
        other.write_bytes(generate_certificate("other CA", ca=True).cert_pem)
        cluster = write_fake_cluster(tmp_path / "cluster.toml", fake)
        config = write_config(
            tmp_path / "Tentacle.config",
            [f"{fake.comms_addresses[0]}|{fake.thumbprint}"],
        )

        def statuses(
            env: dict[str, str], ca_bundle: Path | None = None
        ) -> tuple[int, list[str]]:
            code, text = check_command(
                config,
                cluster=cluster,
                json_output=True,
                environ=env,
                ca_bundle=ca_bundle,
            )
            rows = json.loads(text)["results"]
            return code, [
                r["status"] for r in rows if r["kind"] not in {"poll", "server_drift"}
            ]

        # Negative control: the system CAs do not know the internal CA.
        code, got = statuses({})
        assert (code, got) == (1, ["tls_error", "tls_error"])
        assert statuses({}, ca_bundle=bundle) == (0, ["ok", "ok"])
        for name in ("REQUESTS_CA_BUNDLE", "SSL_CERT_FILE"):
            assert statuses({name: str(bundle)}) == (0, ["ok", "ok"]), name
            # A bundle of another CA replaces the system CAs and fails.
            assert statuses({name: str(other)})[0] == 1
        # --ca-bundle wins over the environment.
        assert statuses({"SSL_CERT_FILE": str(other)}, ca_bundle=bundle)[0] == 0
        # The command line: the option, and a bundle that is not there.
        out, err = io.StringIO(), io.StringIO()
        args = ["check", str(config), "--cluster", str(cluster)]
        assert main([*args, "--ca-bundle", str(bundle)], stdout=out, stderr=err) == 0
        missing = tmp_path / "missing.pem"
        err = io.StringIO()
        code = main([*args, "--ca-bundle", str(missing)], stdout=out, stderr=err)
        assert code == 1
        assert err.getvalue().startswith(f"{missing}: cannot load the CA bundle")
        assert len(err.getvalue().splitlines()) == 1


def test_check_command_honours_no_proxy(
    node: FakeOctopusNode, proxy: ConnectProxy, tmp_path: Path
) -> None:
    """System proxy from the environment, skipped for the hosts no_proxy names (#10)."""
    config = write_config(
        tmp_path / "Tentacle.config", [f"{node.comms_address}|{node.thumbprint}"]
    )
    cluster = write_cluster(tmp_path / "cluster.toml", node)
    url = f"http://tentacle:{PROXY_PASSWORD}@127.0.0.1:{proxy.port}"
    base = {"OCTOPUS_API_KEY": API_KEY, "http_proxy": url, "https_proxy": url}

    def run(env: dict[str, str]) -> list[str]:
        proxy.requests.clear()
        code, text = check_command(
            config, cluster=cluster, environ=env, insecure_http=True, warn=print
        )
        assert code == 0, text
        return sorted(proxy.requests)  # the drift read runs beside the checks

    # Negative control: without no_proxy every path goes through the proxy.
    through = run(base)
    assert f"GET {node.web_url}/api" in through
    assert any(r.startswith("CONNECT ") for r in through)
    for no_proxy in ("127.0.0.1", "*", "localhost,127.0.0.0/8", " 127.0.0.1 "):
        for name in ("no_proxy", "NO_PROXY"):
            assert run({**base, name: no_proxy}) == [], (name, no_proxy)
    # An entry for another port does not match.
    assert run({**base, "no_proxy": "127.0.0.1:1"}) == through


def test_api_key_not_sent_when_tls_verification_fails() -> None:
    """An untrusted HTTPS certificate: the handshake fails before any request."""
    received: list[bytes] = []
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.05)
    done = threading.Event()
    pki = WebPki.make("127.0.0.1")
    context = pki.leaf.server_context()

    def serve() -> None:
        while not done.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            with conn, contextlib.suppress(OSError):
                conn.settimeout(2)
                with context.wrap_socket(conn, server_side=True) as tls:
                    received.append(tls.recv(65536))
                    tls.sendall(
                        b'HTTP/1.1 200 OK\r\nContent-Length: 12\r\n\r\n{"Links":{}}'
                    )

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    url = f"https://127.0.0.1:{listener.getsockname()[1]}"
    try:
        failed = one(ApiTarget(server_url=url, api_key=Secret(API_KEY)))
        # Negative control: trusting the certificate, the key does arrive.
        trusted = one(
            ApiTarget(
                server_url=url,
                api_key=Secret(API_KEY),
                verify=pki.ca.client_context(),
            )
        )
    finally:
        done.set()
        thread.join(5)
        listener.close()
    assert failed.status is CheckStatus.TLS_ERROR, failed.reason
    assert trusted.status is CheckStatus.OK, trusted.reason
    assert len(received) == 1
    assert API_KEY.encode() in received[0]


def test_api_key_never_goes_to_the_polling_proxy(
    node: FakeOctopusNode, proxy: ConnectProxy, tmp_path: Path
) -> None:
    """The polling proxy carries the poll path only, never registration (#10)."""
    proxy_keys = (
        '  <set key="Octopus.Server.Proxy.ProxyHost">127.0.0.1</set>\n'
        f'  <set key="Octopus.Server.Proxy.ProxyPort">{proxy.port}</set>\n'
        '  <set key="Octopus.Server.Proxy.ProxyUsername">tentacle</set>\n'
        '  <set key="Octopus.Proxy.UseDefaultProxy">false</set>\n'
    )
    config = write_config(
        tmp_path / "Tentacle.config",
        [f"{node.comms_address}|{node.thumbprint}"],
        proxy_keys,
    )
    cluster = write_cluster(tmp_path / "cluster.toml", node)
    env = {
        "OCTOPUS_API_KEY": API_KEY,
        "TENTACLE_POLLING_CUSTOM_PROXY_PASSWORD": PROXY_PASSWORD,
    }
    code, text = check_command(
        config, cluster=cluster, environ=env, insecure_http=True, warn=print
    )
    assert code == 0, text
    authority = node.comms_address.removeprefix("https://")
    assert proxy.requests == [f"CONNECT {authority}"]


def test_cli_insecure_http_flag(
    node: FakeOctopusNode, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`check --cluster` over http: refused (exit 1) unless --insecure-http warns."""
    config = write_config(
        tmp_path / "Tentacle.config", [f"{node.comms_address}|{node.thumbprint}"]
    )
    cluster = write_cluster(tmp_path / "cluster.toml", node)
    monkeypatch.setenv("OCTOPUS_API_KEY", API_KEY)
    for name in ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY"):
        monkeypatch.delenv(name, raising=False)
    args = ["check", str(config), "--cluster", str(cluster)]
    out, err = io.StringIO(), io.StringIO()
    assert main(args, stdout=out, stderr=err) == 1
    assert (out.getvalue(), err.getvalue().count("\n")) == ("", 1)
    assert err.getvalue().startswith(f"{cluster}: refusing to send the API key")
    out, err = io.StringIO(), io.StringIO()
    assert main([*args, "--insecure-http"], stdout=out, stderr=err) == 0
    assert err.getvalue().startswith("warning: sending the API key over plain http")
    assert API_KEY not in out.getvalue() + err.getvalue()
    # Negative control: no key, nothing to refuse.
    monkeypatch.delenv("OCTOPUS_API_KEY")
    out, err = io.StringIO(), io.StringIO()
    assert main(args, stdout=out, stderr=err) == 1  # 401 from the node, not a refusal
    assert "refusing" not in err.getvalue()
    assert "HTTP 401" in out.getvalue()
