"""The cluster as the server API describes it: reading, ``cluster init``, drift (#13).

Against the loopback fakes (`tentacle_ha.testing`), which serve ``/api`` with
its links, ``/api/octopusservernodes`` and ``certificate-global`` and want
the API key; httpx mock transports only where a fake cannot misbehave the
way a test needs (paging, links to another host).
"""

from __future__ import annotations

import asyncio
import gzip
import io
import json
import re
import tomllib
import zlib
from typing import TYPE_CHECKING

import httpx
import pytest

from tentacle_ha._secret import Secret
from tentacle_ha.check import ApiTarget
from tentacle_ha.check import read_server
from tentacle_ha.check import read_server_sync
from tentacle_ha.check._server import MAX_PAGES
from tentacle_ha.check._server import expand_link
from tentacle_ha.check.targets import check_command
from tentacle_ha.cli import main
from tentacle_ha.cluster import Layout
from tentacle_ha.cluster import load_cluster
from tentacle_ha.cluster import loads_cluster
from tentacle_ha.errors import ClusterError
from tentacle_ha.errors import ServerApiError
from tentacle_ha.testing import CertificateBundle
from tentacle_ha.testing import FakeOctopusCluster
from tentacle_ha.testing import NodeMode
from tentacle_ha.testing import generate_certificate

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

pytestmark = pytest.mark.timeout(60)

API_KEY = "API-SERVERDRIFTSECRET0001"
KEY_ENV = {"OCTOPUS_API_KEY": API_KEY}


@pytest.fixture(scope="module")
def certificate() -> CertificateBundle:
    """One comms certificate for the module's fake clusters."""
    return generate_certificate("Octopus Portal")


@pytest.fixture
def fake(certificate: CertificateBundle) -> Iterator[FakeOctopusCluster]:
    """A running three-node fake cluster that wants the API key."""
    with FakeOctopusCluster(3, certificate=certificate, api_key=API_KEY) as cluster:
        yield cluster


def target(url: str, key: str | None = API_KEY) -> ApiTarget:
    """An ApiTarget for a loopback fake (plain http, so insecure_http)."""
    return ApiTarget(
        server_url=url,
        api_key=None if key is None else Secret(key),
        insecure_http=True,
    )


def run(argv: list[str]) -> tuple[int, str, str]:
    """The CLI in-process: exit code, stdout, stderr."""
    out, err = io.StringIO(), io.StringIO()
    code = main(argv, stdout=out, stderr=err)
    return code, out.getvalue(), err.getvalue()


# -- reading ------------------------------------------------------------------------


def test_read_server_follows_the_links(fake: FakeOctopusCluster) -> None:
    """Version, every node (with offline and drain flags) and the thumbprint."""
    fake.nodes[1].mode = NodeMode.DRAINING
    fake.nodes[2].mode = NodeMode.DOWN
    state = read_server_sync(target(fake.nodes[1].web_url))
    assert state.version == "2026.4.0"
    assert state.thumbprint == fake.thumbprint
    assert [(n.name, n.offline, n.draining) for n in state.nodes] == [
        ("Node1", False, False),
        ("Node2", False, True),
        ("Node3", True, False),
    ]
    assert state.multi_node_polling
    assert API_KEY not in repr(state) + json.dumps(state.to_dict())


def test_read_server_needs_the_key(fake: FakeOctopusCluster) -> None:
    """No key or a wrong one: one line naming the URL, never the key."""
    for key in (None, "API-WRONGKEY"):
        with pytest.raises(ServerApiError) as raised:
            read_server_sync(target(fake.server_url, key))
        text = str(raised.value)
        assert text == f"{fake.server_url}/api: HTTP 401: API key missing or rejected"
        assert API_KEY not in text
        assert "WRONGKEY" not in text


def test_expand_link() -> None:
    """The RFC 6570 subset the root document's links use."""
    assert expand_link("/api/octopusservernodes{/id}{?skip,take,ids}") == (
        "/api/octopusservernodes"
    )
    assert expand_link(
        "/api/configuration/certificates{/id}", id="certificate-global"
    ) == ("/api/configuration/certificates/certificate-global")
    assert expand_link("/a{?skip,take}", take="5") == "/a?take=5"
    assert expand_link("/a{/id}", id="x/y") == "/a/x%2Fy"


def _mock(pages: int, *, next_host: str = "server") -> httpx.MockTransport:
    """A server whose node list has *pages* pages of one node each."""
    certificate = {"Thumbprint": "ab" * 20}
    root = {
        "Version": "2025.1.0",
        "Links": {
            "OctopusServerNodes": "/api/octopusservernodes{/id}{?skip,take}",
            "CertificateConfiguration": "/api/configuration/certificates{/id}",
        },
    }

    def handle(request: httpx.Request) -> httpx.Response:
        assert request.headers["X-Octopus-ApiKey"] == API_KEY
        path = request.url.path
        if path == "/api":
            return httpx.Response(200, json=root)
        if path.endswith("certificate-global"):
            return httpx.Response(200, json=certificate)
        page = int(request.url.params.get("skip", "0"))
        links = {}
        if page + 1 < pages:
            links["Page.Next"] = (
                f"http://{next_host}/api/octopusservernodes?skip={page + 1}"
            )
        return httpx.Response(
            200, json={"Items": [{"Name": f"n{page}"}], "Links": links}
        )

    return httpx.MockTransport(handle)


def test_read_server_pages_and_bounds() -> None:
    """Every page of the node list by Page.Next; an endless list is refused."""
    state = asyncio.run(read_server(target("http://server"), transport=_mock(3)))
    assert [n.name for n in state.nodes] == ["n0", "n1", "n2"]
    assert state.thumbprint == "AB" * 20
    assert (state.nodes[0].offline, state.nodes[0].draining) == (None, None)
    assert not state.multi_node_polling
    with pytest.raises(ServerApiError, match=f"more than {MAX_PAGES} pages"):
        asyncio.run(read_server(target("http://server"), transport=_mock(10**6)))


def test_read_server_keeps_the_key_on_the_server() -> None:
    """A link to another host is not followed with the key (control: same host)."""
    with pytest.raises(ServerApiError, match=r"another host.*not sending the API key"):
        asyncio.run(
            read_server(target("http://server"), transport=_mock(2, next_host="evil"))
        )
    asyncio.run(read_server(target("http://server"), transport=_mock(2)))


# -- cluster init -----------------------------------------------------------------


def _fill(text: str, fake: FakeOctopusCluster) -> str:
    """The draft with its placeholders filled in from the fake."""
    for node in fake.nodes:
        port = node.comms_address.rsplit(":", 1)[1]
        text = text.replace(f"<comms address of {node.name}>", f"127.0.0.1:{port}")
    return text.replace("<load balancer host[:port]>", "lb.example.com:10943")


def test_cluster_init_draws_a_cluster_file(
    fake: FakeOctopusCluster, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """TOML with server, thumbprint, one [[nodes]] per node; refused until filled."""
    monkeypatch.setenv("OCTOPUS_API_KEY", API_KEY)
    code, text, err = run(
        ["cluster", "init", "--server", fake.server_url, "--insecure-http"]
    )
    assert code == 0, err
    assert API_KEY not in text + err
    data = tomllib.loads(text)
    assert data["cluster"]["server"] == fake.server_url
    assert data["cluster"]["thumbprint"] == fake.thumbprint
    assert data["cluster"]["layout"] == "load-balancer"  # the fake is 2026.4
    assert [n["name"] for n in data["nodes"]] == ["Node1", "Node2", "Node3"]
    draft = tmp_path / "cluster.toml"
    draft.write_text(text, encoding="utf-8")
    with pytest.raises(ClusterError) as refused:
        load_cluster(draft)
    message = str(refused.value)
    line = text.splitlines().index('load_balancer = "<load balancer host[:port]>"') + 1
    assert message == (
        f"{draft}:{line}:1: cluster.load_balancer is still the placeholder "
        "'<load balancer host[:port]>' (from tentacle-ha cluster init): fill it in"
    )
    # Half filled: the next placeholder is named, at its own line.
    half = text.replace("<load balancer host[:port]>", "lb.example.com")
    with pytest.raises(ClusterError, match=r":\d+:1: nodes\[0\]\.address is still "
                       "the placeholder '<comms address of Node1>'"):  # fmt: skip
        loads_cluster(half, path="half.toml")
    draft.write_text(_fill(text, fake), encoding="utf-8")
    cluster = load_cluster(draft)
    assert cluster.layout is Layout.LOAD_BALANCER
    assert cluster.thumbprint == fake.thumbprint
    assert [n.name for n in cluster.nodes] == ["Node1", "Node2", "Node3"]
    assert cluster.load_balancer_host == "lb.example.com"


def test_cluster_init_json_is_the_same_data(
    fake: FakeOctopusCluster, monkeypatch: pytest.MonkeyPatch
) -> None:
    """--json: what was read, the layout, the placeholders and the TOML itself."""
    monkeypatch.setenv("OCTOPUS_API_KEY", API_KEY)
    fake.nodes[2].mode = NodeMode.DOWN
    base = ["cluster", "init", "--server", fake.server_url, "--insecure-http"]
    for node in fake.nodes:
        node.spaces = ["Default", "Ops"]
    code, text, _ = run([*base, "--json", "--space", " ops "])
    assert code == 0
    data = json.loads(text)
    toml = tomllib.loads(data["toml"])
    assert data["thumbprint"] == toml["cluster"]["thumbprint"] == fake.thumbprint
    assert [n["name"] for n in data["nodes"]] == [n["name"] for n in toml["nodes"]]
    assert data["nodes"][2] == {"name": "Node3", "offline": True, "draining": False}
    assert data["layout"] == toml["cluster"]["layout"] == "load-balancer"
    assert data["placeholders"][0] == "<load balancer host[:port]>"
    assert toml["defaults"] == {"space": "Ops"}  # the server's spelling
    assert data["space"] == "Ops"
    assert "# offline on the server" in data["toml"]
    assert API_KEY not in text


def test_cluster_init_space_must_exist(
    fake: FakeOctopusCluster, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A space the server does not have: one line listing those it has, exit 1;
    control: without --space there is no [defaults]."""
    monkeypatch.setenv("OCTOPUS_API_KEY", API_KEY)
    base = ["cluster", "init", "--server", fake.server_url, "--insecure-http"]
    code, text, err = run([*base, "--space", "Opps"])
    assert (code, text) == (1, "")
    assert err.splitlines()[-1] == (
        f"{fake.server_url}/api: no space named 'Opps' (the server has: Default)"
    )
    code, text, _ = run(base)
    assert code == 0
    assert "defaults" not in tomllib.loads(text)


def test_cluster_init_suggests_no_load_balancer_before_2026_4(
    certificate: CertificateBundle, monkeypatch: pytest.MonkeyPatch
) -> None:
    """2025.x: unique-address, no load_balancer key (control: 2026.4 above)."""
    monkeypatch.setenv("OCTOPUS_API_KEY", API_KEY)
    with FakeOctopusCluster(
        2, certificate=certificate, api_key=API_KEY, version="2026.3.9"
    ) as old:
        code, text, _ = run(
            ["cluster", "init", "--server", old.server_url, "--insecure-http"]
        )
        assert code == 0
        data = tomllib.loads(text)
        assert data["cluster"]["layout"] == "unique-address"
        assert "load_balancer" not in data["cluster"]
        assert "older than 2026.4" in text
        filled = loads_cluster(_fill(text, old))
        assert filled.comms_addresses() == old.comms_addresses


def test_cluster_init_without_or_with_a_wrong_key(
    fake: FakeOctopusCluster, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One clean line, exit 1, the key never echoed; control: the right key works."""
    base = ["cluster", "init", "--server", fake.server_url, "--insecure-http"]
    monkeypatch.delenv("OCTOPUS_API_KEY", raising=False)
    code, text, err = run(base)
    assert (code, text) == (1, "")
    assert err == (
        f"{fake.server_url}: the node list and the certificate need an API key: "
        "set $OCTOPUS_API_KEY\n"
    )
    monkeypatch.setenv("OCTOPUS_API_KEY", "API-NOTTHEKEY")
    code, text, err = run(base)
    assert (code, text) == (1, "")
    lines = err.splitlines()
    assert lines[-1] == f"{fake.server_url}/api: HTTP 401: API key missing or rejected"
    assert lines[0].startswith("warning: sending the API key over plain http://")
    assert len(lines) == 2
    assert "NOTTHEKEY" not in err
    monkeypatch.setenv("OCTOPUS_API_KEY", API_KEY)
    assert run(base)[0] == 0
    # Plain http without --insecure-http: refused before anything is sent.
    code, _, err = run(base[:-1])
    assert code == 1
    assert "refusing to send the API key over plain http://" in err


def test_cluster_init_network_error_is_one_line(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Nothing listening: one line naming the URL, exit 1."""
    monkeypatch.setenv("OCTOPUS_API_KEY", API_KEY)
    code, text, err = run(
        ["cluster", "init", "--server", "http://127.0.0.1:9", "--insecure-http"]
    )
    assert (code, text) == (1, "")
    assert re.fullmatch(
        r"warning: .*\nhttp://127\.0\.0\.1:9/api: connect: connection refused\n", err
    )


# -- server-side drift in check --cluster ---------------------------------------------


def write_config(path: Path, addresses: tuple[str, ...], thumbprint: str) -> Path:
    """A Tentacle.config polling *addresses* trusting *thumbprint*."""
    entries = ",".join(
        f'{{"Thumbprint":"{thumbprint}","CommunicationStyle":2,"Address":"{a}",'
        '"Squid":null,"SubscriptionId":"poll://bcdefghjkmnpqrstuvwx/"}'
        for a in addresses
    )
    path.write_text(
        '<?xml version="1.0" encoding="utf-8"?>\n<octopus-settings>\n'
        '  <set key="Tentacle.Communication.TrustedOctopusServers">'
        f"[{entries}]</set>\n</octopus-settings>"
    )
    return path


def write_cluster(
    path: Path,
    fake: FakeOctopusCluster,
    *,
    names: list[str] | None = None,
    thumbprint: str | None = None,
) -> Path:
    """A unique-address cluster file for the fake's nodes (or *names* of them)."""
    lines = [
        f'[cluster]\nserver = "{fake.server_url}"',
        f'thumbprint = "{thumbprint or fake.thumbprint}"\nlayout = "unique-address"',
    ]
    for number, name in enumerate(names or [n.name for n in fake.nodes], 1):
        lines.append(
            f'\n[[nodes]]\nname = "{name}"\naddress = "127.0.0.{number}"\n'
            "comms_port = 10943"
        )
    path.write_text("\n".join(lines) + "\n")
    return path


def drift(
    config: Path, cluster: Path, env: dict[str, str] | None = None
) -> tuple[int, list[dict[str, object]]]:
    """Exit code and the server_drift rows of check --cluster."""
    code, text = check_command(
        config,
        cluster=cluster,
        json_output=True,
        environ=KEY_ENV if env is None else env,
        insecure_http=True,
    )
    rows = json.loads(text)["results"]
    return code, [r for r in rows if r["kind"] == "server_drift"]


def _polls(
    fake: FakeOctopusCluster, tmp_path: Path, thumbprint: str | None = None
) -> Path:
    return write_config(
        tmp_path / "Tentacle.config",
        fake.comms_addresses,
        thumbprint or fake.thumbprint,
    )


def test_drift_node_on_the_server_missing_from_the_file(
    fake: FakeOctopusCluster, tmp_path: Path
) -> None:
    """A node the server lists and the file lacks: an error row; control: all listed."""
    config = _polls(fake, tmp_path)
    full = write_cluster(tmp_path / "full.toml", fake)
    code, rows = drift(config, full)
    assert [r["status"] for r in rows] == ["ok"]
    assert "3 node(s)" in str(rows[0]["reason"])
    fake.add_node("Node4")
    code, rows = drift(config, full)
    assert code == 1
    assert [(r["status"], r["name"]) for r in rows] == [
        ("server_node_missing", "Node4")
    ]
    assert "every Tentacle misses node Node4" in str(rows[0]["reason"])
    # Offline on the server: a warning only.
    fake.node("Node4").mode = NodeMode.DOWN
    code, rows = drift(config, full)
    assert [(r["status"], r["name"]) for r in rows] == [
        ("server_node_offline", "Node4")
    ]


def test_drift_node_in_the_file_unknown_to_the_server(
    fake: FakeOctopusCluster, tmp_path: Path
) -> None:
    """A node the file lists and the server does not: a warning row."""
    config = _polls(fake, tmp_path)
    cluster = write_cluster(
        tmp_path / "ghost.toml", fake, names=["Node1", "Node2", "Node3", "Ghost"]
    )
    _, rows = drift(config, cluster)
    assert [(r["status"], r["name"]) for r in rows] == [
        ("server_node_unknown", "Ghost")
    ]
    # Control: the same names in another case are the same nodes.
    same = write_cluster(
        tmp_path / "same.toml", fake, names=["node1", "NODE2", "Node3"]
    )
    assert [r["status"] for r in drift(config, same)[1]] == ["ok"]
    _, text = check_command(
        config, cluster=cluster, environ=KEY_ENV, insecure_http=True
    )
    assert "1 warning" in text.splitlines()[-1]


def test_drift_server_certificate_changed(
    fake: FakeOctopusCluster, tmp_path: Path
) -> None:
    """Cluster and Tentacle trust an old certificate: both rows, the staged
    rotation and the cluster file's fix; control: all on the new one, ok."""
    old = generate_certificate("Octopus Portal (old)").thumbprint
    config = _polls(fake, tmp_path, old)
    cluster = write_cluster(tmp_path / "old.toml", fake, thumbprint=old)
    code, rows = drift(config, cluster)
    assert code == 1
    assert [r["status"] for r in rows] == [
        "server_thumbprint_changed",
        "cluster_thumbprint_stale",
    ]
    reason = str(rows[0]["reason"])
    assert (rows[0]["expected_thumbprint"], rows[0]["presented_thumbprint"]) == (
        old,
        fake.thumbprint,
    )
    assert (
        f"fix: tentacle-ha servers rotate {config} --old {old} --new "
        f"{fake.thumbprint} --staged"
    ) in reason
    assert f'set thumbprint = "{fake.thumbprint}" in the cluster file {cluster}' in (
        str(rows[1]["reason"])
    )
    assert not any("the trusted one" in str(r["reason"]) for r in rows)
    fresh = write_cluster(tmp_path / "new.toml", fake)
    new = _polls(fake, tmp_path, fake.thumbprint)
    _, rows = drift(new, fresh)
    assert [r["status"] for r in rows] == ["ok"]
    assert "its certificate is the trusted one" in str(rows[0]["reason"])


def test_drift_tentacle_trust_stale_cluster_updated(
    fake: FakeOctopusCluster, tmp_path: Path
) -> None:
    """Cluster file on the new certificate, Tentacle still on the old one:
    server_thumbprint_changed only, no "trusted one"; control: Tentacle on
    the new one, ok."""
    old = generate_certificate("Octopus Portal (old)").thumbprint
    cluster = write_cluster(tmp_path / "new.toml", fake)
    code, rows = drift(_polls(fake, tmp_path, old), cluster)
    assert code == 1
    assert [r["status"] for r in rows] == ["server_thumbprint_changed"]
    assert (rows[0]["expected_thumbprint"], rows[0]["presented_thumbprint"]) == (
        old,
        fake.thumbprint,
    )
    assert "servers rotate" in str(rows[0]["reason"])
    assert "the trusted one" not in str(rows[0]["reason"])
    _, rows = drift(_polls(fake, tmp_path, fake.thumbprint), cluster)
    assert [r["status"] for r in rows] == ["ok"]


def test_drift_cluster_file_stale_tentacle_current(
    fake: FakeOctopusCluster, tmp_path: Path
) -> None:
    """Tentacle on the server's certificate, cluster file on the old one:
    cluster_thumbprint_stale, and the not_trusted rows say to fix the file
    first, not to sync back to the dead thumbprint; controls: the file
    updated (no rows), no API key (plain sync advice)."""
    old = generate_certificate("Octopus Portal (old)").thumbprint
    stale = write_cluster(tmp_path / "old.toml", fake, thumbprint=old)
    # Poll exactly the cluster file's addresses, trusting the server's cert.
    config = write_config(
        tmp_path / "Tentacle.config",
        load_cluster(stale).comms_addresses(),
        fake.thumbprint,
    )
    code, text = check_command(
        config, cluster=stale, json_output=True, environ=KEY_ENV, insecure_http=True
    )
    assert code == 1
    results = json.loads(text)["results"]
    rows = [r for r in results if r["kind"] == "server_drift"]
    assert [r["status"] for r in rows] == ["cluster_thumbprint_stale"]
    reason = str(rows[0]["reason"])
    assert f'set thumbprint = "{fake.thumbprint}" in the cluster file {stale}' in (
        reason
    )
    assert "servers rotate" not in reason
    assert (rows[0]["expected_thumbprint"], rows[0]["presented_thumbprint"]) == (
        old,
        fake.thumbprint,
    )
    gaps = [r for r in results if r["status"] == "not_trusted"]
    assert len(gaps) == 3
    for gap in gaps:
        assert "the cluster file is stale" in gap["reason"]
        assert f'set thumbprint = "{fake.thumbprint}"' in gap["reason"]
    assert not any("the trusted one" in str(r["reason"]) for r in results)
    # Control: the file updated: no drift, no not_trusted rows.
    fresh = write_cluster(tmp_path / "new.toml", fake)
    code, text = check_command(
        config, cluster=fresh, json_output=True, environ=KEY_ENV, insecure_http=True
    )
    results = json.loads(text)["results"]
    assert [r["status"] for r in results if r["kind"] == "server_drift"] == ["ok"]
    assert not [r for r in results if r["status"] == "not_trusted"]
    # Control: without the server's view, the advice is the plain sync.
    _, text = check_command(
        config, cluster=stale, json_output=True, environ={}, insecure_http=True
    )
    gaps = [r for r in json.loads(text)["results"] if r["status"] == "not_trusted"]
    assert len(gaps) == 3
    for gap in gaps:
        assert gap["reason"].endswith(
            "; fix: tentacle-ha servers sync CONFIG --cluster FILE"
        )


def test_drift_skipped_without_a_key(fake: FakeOctopusCluster, tmp_path: Path) -> None:
    """No key: one skipped row saying why (control: with the key, no skipped row)."""
    config = _polls(fake, tmp_path)
    cluster = write_cluster(tmp_path / "cluster.toml", fake)
    _, rows = drift(config, cluster, {})
    assert [r["status"] for r in rows] == ["skipped"]
    assert "no API key ($OCTOPUS_API_KEY is not set)" in str(rows[0]["reason"])
    _, rows = drift(config, cluster, {"OCTOPUS_API_KEY": "API-NOTTHEKEY"})
    assert [r["status"] for r in rows] == ["skipped"]
    assert "HTTP 401" in str(rows[0]["reason"])
    assert [r["status"] for r in drift(config, cluster)[1]] == ["ok"]


@pytest.mark.parametrize(
    ("path", "body", "message"),
    [
        ("/api", {"Version": "2026.4.0"}, "the root document has no Links"),
        ("/api", [1, 2], "the answer is not a JSON object"),
        ("/api/octopusservernodes", {"Items": [{"Id": "x"}]}, "has no Name"),
        ("/api/octopusservernodes", {"Links": {}}, "has no Items array"),
        ("certificate-global", {"Thumbprint": "nope"}, "has no SHA-1 Thumbprint"),
    ],
)
def test_read_server_refuses_odd_answers(path: str, body: object, message: str) -> None:
    """Each odd answer is one ServerApiError line naming the URL (control: _mock)."""
    good = _mock(1)

    def handle(request: httpx.Request) -> httpx.Response:
        if request.url.path == path or request.url.path.endswith(path):
            return httpx.Response(200, json=body)
        return good.handle_request(request)

    with pytest.raises(ServerApiError, match=message) as raised:
        asyncio.run(
            read_server(target("http://server"), transport=httpx.MockTransport(handle))
        )
    assert str(raised.value).startswith("http://server/")
    assert "\n" not in str(raised.value)


def _answering(path: str, answer: httpx.Response) -> httpx.MockTransport:
    """The `_mock` server, but *path* answers *answer*."""
    good = _mock(1)

    def handle(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith(path):
            return answer
        return good.handle_request(request)

    return httpx.MockTransport(handle)


def _read(transport: httpx.MockTransport) -> object:
    return asyncio.run(read_server(target("http://server"), transport=transport))


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"[" * 100_000 + b"]" * 100_000, "the answer is not a JSON object"),
        (b'{"Links": "' + b"x" * (9 * 2**20) + b'"}', "larger than 8 MiB"),
    ],
    ids=["nested-too-deep", "too-large"],
)
def test_hostile_answers_are_one_line(content: bytes, message: str) -> None:
    """JSON nested past the decoder's recursion and an answer of 9 MiB are each
    one ServerApiError line, not a RecursionError or a read of everything
    (control: the same server with a normal root document reads)."""
    with pytest.raises(ServerApiError, match=message) as raised:
        _read(_answering("/api", httpx.Response(200, content=content)))
    assert "\n" not in str(raised.value)
    assert len(str(raised.value)) < 200
    assert _read(_mock(1)) is not None


def test_server_values_in_messages_are_clipped() -> None:
    """A server's value quoted in an error is at most 60 characters, so it
    cannot carry a page of text (or what a request sent) into the message."""
    thumbprint = "API-" + "K" * 500
    answer = httpx.Response(200, json={"Thumbprint": thumbprint})
    with pytest.raises(ServerApiError, match="has no SHA-1 Thumbprint") as raised:
        _read(_answering("certificate-global", answer))
    assert "K" * 60 not in str(raised.value)


@pytest.mark.parametrize(
    ("written", "read"),
    [
        ("2026.4.1", "2026.4.1"),
        (" 2025.3.12345-hotfix ", "2025.3.12345-hotfix"),
        ('2026.4\n[[nodes]]\nname = "evil"', None),
        ("x" * 65, None),
    ],
)
def test_only_a_version_shaped_version_is_kept(written: str, read: str | None) -> None:
    """The root document's Version is kept only when it looks like a version:
    anything else is unknown and never reaches the drafted TOML's comments."""
    good = _mock(1)

    def handle(request: httpx.Request) -> httpx.Response:
        response = good.handle_request(request)
        if request.url.path.endswith("/api"):
            body = json.loads(response.read())
            body["Version"] = written
            return httpx.Response(200, json=body)
        return response

    state = _read(httpx.MockTransport(handle))
    assert getattr(state, "version", "missing") == read


@pytest.mark.parametrize("encoding", ["gzip", "deflate", "identity"])
def test_compressed_answers_are_read_once_decoded(encoding: str) -> None:
    """A server that compresses its answers (IIS does) reads as one that does
    not: the body is decoded once, not again (control: identity)."""
    raw = json.dumps({"Thumbprint": "nope"}).encode()
    packed = {
        "gzip": gzip.compress(raw),
        "deflate": zlib.compress(raw),
        "identity": raw,
    }[encoding]
    answer = httpx.Response(200, content=packed, headers={"Content-Encoding": encoding})
    with pytest.raises(ServerApiError, match="has no SHA-1 Thumbprint"):
        _read(_answering("certificate-global", answer))


def test_a_compression_bomb_stops_at_the_cap() -> None:
    """The cap counts decoded bytes: 9 MiB of zeros gzip to a few KB and still stop."""
    packed = gzip.compress(b'{"Links": "' + b"0" * (9 * 2**20) + b'"}')
    assert len(packed) < 100_000
    answer = httpx.Response(200, content=packed, headers={"Content-Encoding": "gzip"})
    with pytest.raises(ServerApiError, match="larger than 8 MiB"):
        _read(_answering("/api", answer))
