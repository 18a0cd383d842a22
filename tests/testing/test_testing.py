"""tentacle_ha.testing: the fakes act like Octopus nodes and clean up after them."""

from __future__ import annotations

import hashlib
import socket
import ssl
import tempfile
import threading
import time
from pathlib import Path

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from tentacle_ha import testing
from tentacle_ha.errors import FakeServerError
from tentacle_ha.testing import CertificateBundle
from tentacle_ha.testing import CommsMode
from tentacle_ha.testing import FakeOctopusCluster
from tentacle_ha.testing import FakeOctopusNode
from tentacle_ha.testing import NodeMode
from tentacle_ha.testing import _fakes
from tentacle_ha.testing import generate_certificate

# The fixtures users import into their conftest.py, used here the same way.
fake_octopus_node = testing.fake_octopus_node
fake_octopus_cluster = testing.fake_octopus_cluster


@pytest.fixture(scope="module")
def certificate() -> CertificateBundle:
    """One comms certificate for the module (key generation is slow)."""
    return generate_certificate()


def threads() -> set[str]:
    """Names of the fake servers' threads still alive."""
    return {t.name for t in threading.enumerate() if t.name.startswith("tentacle_ha.")}


def refused(port: int) -> bool:
    """True when connecting to the loopback port is refused."""
    try:
        socket.create_connection(("127.0.0.1", port), timeout=5).close()
    except ConnectionRefusedError:
        return True
    return False


def exchange(port: int, payload: bytes, *, wait: float = 5.0) -> bytes:
    """Send ``payload`` over TLS (no verification) and read until the server closes."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    with (
        socket.create_connection(("127.0.0.1", port), timeout=wait) as raw,
        context.wrap_socket(raw) as tls,
    ):
        tls.sendall(payload)
        chunks = []
        while chunk := tls.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


def split_response(raw: bytes) -> tuple[list[str], bytes]:
    """Head lines and body of an HTTP response."""
    head, _, body = raw.partition(b"\r\n\r\n")
    return head.decode("latin-1").split("\r\n"), body


def node_ports(node: FakeOctopusNode) -> list[int]:
    """The ports a running node listens on."""
    return [node.comms_port, node.web_port]


def cluster_ports(cluster: FakeOctopusCluster) -> list[int]:
    """The ports a running cluster listens on, its load balancer's first."""
    lb_port = int(cluster.load_balancer_address.rsplit(":", 1)[1])
    return [lb_port] + [p for n in cluster.nodes for p in node_ports(n)]


@pytest.mark.integration
@pytest.mark.timeout(60)
@pytest.mark.parametrize("kind", ["node", "cluster"])
def test_no_thread_or_port_left_behind(
    certificate: CertificateBundle, kind: str
) -> None:
    """Running: one thread, ports accept. Stopped: no thread, every port refuses."""
    before = threads()
    service: FakeOctopusNode | FakeOctopusCluster
    if kind == "node":
        service = FakeOctopusNode(certificate=certificate)
    else:
        service = FakeOctopusCluster(3, certificate=certificate, load_balancer=True)
    with service:
        if isinstance(service, FakeOctopusNode):
            ports = node_ports(service)
        else:
            ports = cluster_ports(service)
        assert len(threads() - before) == 1
        assert not any(refused(port) for port in ports)
    assert threads() == before
    assert all(refused(port) for port in ports)


@pytest.mark.integration
@pytest.mark.timeout(60)
def test_stop_ends_open_connections(certificate: CertificateBundle) -> None:
    """Stopping with a stalled client connected returns promptly and closes it."""
    node = FakeOctopusNode(certificate=certificate, comms_mode=CommsMode.STALL).start()
    client = socket.create_connection(("127.0.0.1", node.comms_port), timeout=5)
    try:
        client.sendall(b"hello")
        time.sleep(0.05)
        started = time.monotonic()
        node.stop()
        assert time.monotonic() - started < 10
        assert client.recv(10) == b""
    finally:
        client.close()
    assert not threads()


def test_private_key_files_do_not_outlive_the_context(
    certificate: CertificateBundle,
) -> None:
    """Loading a server context leaves no key file in the temp folder."""
    folder = Path(tempfile.gettempdir())
    before = set(folder.glob("tentacle_ha-*"))
    context = certificate.server_context()
    assert isinstance(context, ssl.SSLContext)
    assert set(folder.glob("tentacle_ha-*")) == before


@pytest.mark.integration
@pytest.mark.timeout(60)
def test_failed_start_cleans_up(certificate: CertificateBundle) -> None:
    """A start that cannot bind raises and leaves no thread behind."""
    before = threads()
    node = FakeOctopusNode(certificate=certificate, host="192.0.2.1")
    with pytest.raises(OSError, match="assign"):
        node.start()
    assert threads() == before
    with pytest.raises(FakeServerError, match="not running"):
        _ = node.comms_port


@pytest.mark.integration
@pytest.mark.timeout(60)
def test_restart_keeps_ports(certificate: CertificateBundle) -> None:
    """A node restarts on the same ports; its properties refuse while it is stopped."""
    node = FakeOctopusNode(certificate=certificate)
    with pytest.raises(FakeServerError, match="not running"):
        _ = node.web_url
    with node:
        first = (node.comms_address, node.web_url)
        assert node.start() is node
    assert "stopped" in repr(node)
    with node:
        assert (node.comms_address, node.web_url) == first
        assert "running" in repr(node)
    node.stop()


@pytest.mark.integration
@pytest.mark.timeout(60)
def test_node_can_start_refusing(certificate: CertificateBundle) -> None:
    """Started in refuse mode the comms port is reserved and refuses; then it serves."""
    with FakeOctopusNode(certificate=certificate, comms_mode=CommsMode.REFUSE) as node:
        port = node.comms_port
        assert port != 0
        assert refused(port)
        node.comms_mode = CommsMode.HALIBUT
        assert node.comms_port == port
        assert exchange(port, b"GET / HTTP/1.0\r\n\r\n").startswith(b"HTTP/1.0 200 OK")


@pytest.mark.integration
@pytest.mark.timeout(60)
@pytest.mark.parametrize(
    "request_bytes",
    [b"GET / HTTP/1.1\r\nHost: x\r\n\r\n", b"POST /handshake HTTP/1.1\r\n\r\n"],
)
def test_friendly_page(
    fake_octopus_node: FakeOctopusNode, request_bytes: bytes
) -> None:
    """Anything not starting with MX gets Halibut's HTTP/1.0 200 HTML page."""
    head, body = split_response(exchange(fake_octopus_node.comms_port, request_bytes))
    assert head[0] == "HTTP/1.0 200 OK"
    assert "Content-Type: text/html; charset=utf-8" in head
    assert f"Content-Length: {len(body)}" in head
    assert b"Octopus Server" in body


@pytest.mark.integration
@pytest.mark.timeout(60)
@pytest.mark.parametrize("newline", [b"\n", b"\r\n"])
def test_mx_subscriber_handshake(
    fake_octopus_node: FakeOctopusNode, newline: bytes
) -> None:
    """``MX`` and a subscriber identity get ``MX-SERVER 1.0``; the ID is recorded."""
    identity = b"MX-SUBSCRIBER 1.0 poll://abcdefghijklmnopqrst/\r\n\r\n"
    answer = exchange(fake_octopus_node.comms_port, b"MX" + newline * 2 + identity)
    assert answer == b"MX-SERVER 1.0\r\n\r\n"
    assert fake_octopus_node.subscriptions == ("poll://abcdefghijklmnopqrst/",)


@pytest.mark.integration
@pytest.mark.timeout(60)
def test_empty_request_is_dropped(fake_octopus_node: FakeOctopusNode) -> None:
    """An empty first line gets no answer, as Halibut drops it."""
    assert exchange(fake_octopus_node.comms_port, b"\r\n") == b""


@pytest.mark.integration
@pytest.mark.timeout(60)
def test_ping_modes_switch_at_run_time(fake_octopus_node: FakeOctopusNode) -> None:
    """The ping answers 200, 418 and 503 as the mode is switched, with node JSON."""
    url = f"{fake_octopus_node.web_url}/api/octopusservernodes/ping"
    with httpx.Client(trust_env=False, timeout=5) as client:
        for mode, status in [
            (NodeMode.ONLINE, 200),
            (NodeMode.DRAINING, 418),
            (NodeMode.DOWN, 503),
            (NodeMode.ONLINE, 200),
        ]:
            fake_octopus_node.mode = mode
            response = client.get(url)
            assert response.status_code == status
            assert response.json() == fake_octopus_node.node_json()
            assert response.json()["IsInMaintenanceMode"] is (mode is NodeMode.DRAINING)


@pytest.mark.integration
@pytest.mark.timeout(60)
def test_api_key_guards_the_api_not_the_ping(certificate: CertificateBundle) -> None:
    """/api wants the key (header or Bearer), the ping never does; others 404/405."""
    with (
        FakeOctopusNode(certificate=certificate, api_key="API-KEY1") as node,
        httpx.Client(base_url=node.web_url, trust_env=False, timeout=5) as client,
    ):
        assert client.get("/api").status_code == 401
        assert (
            client.get("/api", headers={"X-Octopus-ApiKey": "API-NO"}).status_code
            == 401
        )
        good = client.get("/api", headers={"X-Octopus-ApiKey": "API-KEY1"})
        assert good.status_code == 200
        assert good.json() == node.root_document()
        bearer = client.get("/api", headers={"Authorization": "Bearer API-KEY1"})
        assert bearer.status_code == 200
        assert client.get("/api/octopusservernodes/ping").status_code == 200
        assert client.get("/api/elsewhere").status_code == 404
        assert client.post("/api", content=b"{}").status_code == 405


@pytest.mark.integration
@pytest.mark.timeout(60)
def test_web_api_answers_malformed_requests(
    fake_octopus_node: FakeOctopusNode,
) -> None:
    """A broken request line gets 400; an odd Content-Length is ignored, not fatal."""
    port = fake_octopus_node.web_port
    for raw, status in [
        (b"GARBAGE\r\n\r\n", b"HTTP/1.1 400 Bad Request"),
        (b"GET /api HTTP/1.1\r\nContent-Length: x\r\n\r\n", b"HTTP/1.1 200 OK"),
        (b"POST /api HTTP/1.1\r\nContent-Length: 2\r\n\r\n{}", b"HTTP/1.1 405"),
    ]:
        with socket.create_connection(("127.0.0.1", port), timeout=5) as client:
            client.sendall(raw)
            assert client.recv(65536).startswith(status)


def test_root_document_shape() -> None:
    """The root document has what registration reads: Application, Version, Links."""
    document = FakeOctopusNode(
        "N", version="2024.2.1", certificate=None
    ).root_document()
    assert document["Application"] == "Octopus Deploy"
    assert document["Version"] == "2024.2.1"
    links = document["Links"]
    assert isinstance(links, dict)
    assert {"CurrentUser", "CertificateConfiguration", "Spaces"} <= links.keys()


@pytest.mark.integration
@pytest.mark.timeout(60)
def test_cluster_nodes_share_one_thumbprint(certificate: CertificateBundle) -> None:
    """Every node presents the cluster's certificate, each on its own ports."""
    with FakeOctopusCluster(names=["a", "b"], certificate=certificate) as cluster:
        assert [n.name for n in cluster.nodes] == ["a", "b"]
        assert cluster.thumbprint == certificate.thumbprint
        assert {n.thumbprint for n in cluster.nodes} == {certificate.thumbprint}
        assert len(set(cluster.comms_addresses)) == 2
        assert cluster.server_url == cluster.nodes[0].web_url
        assert cluster.node("b") is cluster.nodes[1]
        assert "running" in repr(cluster)
        with pytest.raises(FakeServerError, match="no fake node"):
            cluster.node("c")
        with pytest.raises(FakeServerError, match="no load balancer"):
            _ = cluster.load_balancer_address
    assert "stopped" in repr(cluster)


def test_cluster_needs_unique_names() -> None:
    """Duplicate or no node names are refused before anything starts."""
    for names in (["a", "a"], []):
        with pytest.raises(FakeServerError, match="unique node names"):
            FakeOctopusCluster(names=names, certificate=None)


@pytest.mark.integration
@pytest.mark.timeout(60)
def test_load_balancer_spreads_and_skips_stopped_nodes(
    certificate: CertificateBundle,
) -> None:
    """Connections through the LB go to each node in turn, and only to running ones."""
    identity = b"MX\r\n\r\nMX-SUBSCRIBER 1.0 poll://lb/\r\n\r\n"
    with FakeOctopusCluster(3, certificate=certificate, load_balancer=True) as cluster:
        port = int(cluster.load_balancer_address.rsplit(":", 1)[1])
        for _ in range(3):
            assert exchange(port, identity) == b"MX-SERVER 1.0\r\n\r\n"
        assert [n.subscriptions for n in cluster.nodes] == [("poll://lb/",)] * 3
        cluster.nodes[1].stop()
        for _ in range(4):
            assert exchange(port, identity) == b"MX-SERVER 1.0\r\n\r\n"
        assert [len(n.subscriptions) for n in cluster.nodes] == [3, 1, 3]
        cluster.nodes[1].start()
        assert cluster.nodes[1].comms_port != port


@pytest.mark.integration
@pytest.mark.timeout(60)
def test_api_tls_is_signed_by_the_test_ca(certificate: CertificateBundle) -> None:
    """With api_tls the web API verifies against api_ca and not without it."""
    with FakeOctopusCluster(1, certificate=certificate, api_tls=True) as cluster:
        ca = cluster.api_ca
        assert ca is not None
        assert cluster.nodes[0].api_ca == ca
        url = f"{cluster.server_url}/api"
        with httpx.Client(verify=ca.client_context(), trust_env=False) as client:
            assert client.get(url).status_code == 200
        with (
            httpx.Client(trust_env=False) as default,
            pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"),
        ):
            default.get(url)


def test_generated_certificates() -> None:
    """Self-signed and CA-issued certificates carry the asked-for fields."""
    ca = generate_certificate("Test CA", ca=True)
    leaf = generate_certificate("leaf", issuer=ca, hosts=["127.0.0.1", "localhost"])
    ca_cert = x509.load_pem_x509_certificate(ca.cert_pem)
    leaf_cert = x509.load_pem_x509_certificate(leaf.cert_pem)
    assert ca_cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    assert leaf_cert.issuer == ca_cert.subject
    alt = leaf_cert.extensions.get_extension_for_class(x509.SubjectAlternativeName)
    assert alt.value.get_values_for_type(x509.DNSName) == ["localhost"]
    assert [str(ip) for ip in alt.value.get_values_for_type(x509.IPAddress)] == [
        "127.0.0.1"
    ]
    leaf_cert.verify_directly_issued_by(ca_cert)
    assert leaf.thumbprint == hashlib.sha1(leaf.der).hexdigest().upper()  # noqa: S324
    assert leaf.thumbprint != ca.thumbprint
    assert "key_pem" not in repr(leaf)
    assert "PRIVATE" not in repr(leaf)


def test_non_rsa_issuer_is_refused() -> None:
    """An issuer whose key is not RSA is refused with a TentacleHAError."""
    key = ec.generate_private_key(ec.SECP256R1())
    ca = generate_certificate("Test CA", ca=True)
    odd = CertificateBundle(
        cert_pem=ca.cert_pem,
        key_pem=key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ),
    )
    with pytest.raises(FakeServerError, match="not an RSA key"):
        generate_certificate(issuer=odd)


def test_websocket_accept_matches_rfc_6455() -> None:
    """The 101 answer carries RFC 6455's accept value for its sample key."""
    answer = _fakes._websocket_accept("dGhlIHNhbXBsZSBub25jZQ==")
    assert b"Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n" in answer
    assert answer.startswith(b"HTTP/1.1 101 Switching Protocols\r\n")


def test_fixtures_are_made_lazily() -> None:
    """The fixtures come from module __getattr__; other names still raise."""
    assert {"fake_octopus_cluster", "fake_octopus_node"} <= set(dir(testing))
    assert testing.fake_octopus_node is fake_octopus_node
    with pytest.raises(AttributeError, match="no_such_name"):
        _ = testing.no_such_name


@pytest.mark.integration
@pytest.mark.timeout(60)
def test_cluster_fixture(fake_octopus_cluster: FakeOctopusCluster) -> None:
    """The cluster fixture yields a running three-node cluster."""
    assert [n.name for n in fake_octopus_cluster.nodes] == ["Node1", "Node2", "Node3"]
    assert not refused(fake_octopus_cluster.nodes[2].comms_port)
