"""Tests for tentacle_ha.commands.lb: golden configs and the routes they promise."""

from __future__ import annotations

import difflib
import io
import os
import re
from pathlib import Path
from urllib.parse import urlsplit

import attrs
import pytest
from cluster_strategies import clusters
from hypothesis import given
from hypothesis import note
from hypothesis import strategies as st

from tentacle_ha.cli import main
from tentacle_ha.cluster import Cluster
from tentacle_ha.cluster import Layout
from tentacle_ha.cluster import dumps_cluster
from tentacle_ha.cluster import format_host
from tentacle_ha.cluster import load_cluster
from tentacle_ha.cluster import loads_cluster
from tentacle_ha.commands.lb import DEFAULT_CONNECTIONS
from tentacle_ha.commands.lb import NGINX_WARNING
from tentacle_ha.commands.lb import PING_PATH
from tentacle_ha.commands.lb import LBFormat
from tentacle_ha.commands.lb import render_lb
from tentacle_ha.commands.lb import run_lb_command
from tentacle_ha.errors import ClusterError
from tentacle_ha.errors import InvalidValueError

TESTS = Path(__file__).parent.parent
EXAMPLES = TESTS.parent / "examples"
VALID = TESTS / "corpus" / "clusters" / "valid"
GOLDEN = TESTS / "golden" / "lb"

# (cluster file, web_only): every golden file comes from one of these.
CASES = [
    (EXAMPLES / "cluster-unique-port.toml", False),
    (EXAMPLES / "cluster-load-balancer.toml", False),
    (EXAMPLES / "cluster-unique-address.toml", True),
    (EXAMPLES / "cluster-websocket.toml", True),
    (VALID / "unique-port-ipv6.toml", False),
    (VALID / "load-balancer-ip.toml", False),
    (VALID / "single-node.toml", True),
]


def golden_name(source: Path, fmt: LBFormat, *, web_only: bool) -> str:
    """The golden file name for a cluster file, format and mode."""
    mode = ".web-only" if web_only else ""
    ext = "cfg" if fmt is LBFormat.HAPROXY else "conf"
    return f"{source.stem}{mode}.{fmt}.{ext}"


GOLDEN_CASES = [
    (source, fmt, web_only) for source, web_only in CASES for fmt in LBFormat
]


@pytest.mark.parametrize(
    ("source", "fmt", "web_only"),
    GOLDEN_CASES,
    ids=[golden_name(s, f, web_only=w) for s, f, w in GOLDEN_CASES],
)
def test_golden(source: Path, fmt: LBFormat, *, web_only: bool) -> None:
    """The rendered config equals its golden file (UPDATE_GOLDEN=1 rewrites them)."""
    text = render_lb(load_cluster(source), fmt=fmt, web_only=web_only)
    path = GOLDEN / golden_name(source, fmt, web_only=web_only)
    if os.environ.get("UPDATE_GOLDEN") == "1":
        GOLDEN.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8", newline="\n")
    expected = path.read_text(encoding="utf-8")
    if text != expected:
        diff = difflib.unified_diff(
            expected.splitlines(keepends=True),
            text.splitlines(keepends=True),
            str(path),
            "rendered",
        )
        print("".join(diff))  # noqa: T201 - the diff is the useful failure output
    assert text == expected


def test_no_stray_golden_files() -> None:
    """Every file in tests/golden/lb is produced by a case (none can go stale)."""
    expected = {golden_name(s, f, web_only=w) for s, f, w in GOLDEN_CASES}
    assert {p.name for p in GOLDEN.iterdir()} == expected


def test_goldens_cover_both_polling_layouts() -> None:
    """The goldens include unique-port and load-balancer polling configs."""
    layouts = {load_cluster(s).layout for s, web_only in CASES if not web_only}
    assert layouts == {Layout.UNIQUE_PORT, Layout.LOAD_BALANCER}


def test_run_lb_command_prints_the_config() -> None:
    """The CLI handler returns exit 0 and exactly what render_lb gives."""
    source = EXAMPLES / "cluster-unique-port.toml"
    code, out = run_lb_command(source, "nginx")
    assert code == 0
    assert out == render_lb(load_cluster(source), fmt="nginx")


def test_run_lb_command_reports_cluster_errors(tmp_path: Path) -> None:
    """A broken cluster file surfaces as the positioned ClusterError."""
    path = tmp_path / "c.toml"
    path.write_text("[cluster]\nlayout = 3\n", encoding="utf-8")
    with pytest.raises(ClusterError) as info:
        run_lb_command(path, "haproxy")
    assert str(info.value) == f"{path}:1:1: cluster.server is missing"


# --- refusals ----------------------------------------------------------------


def _cluster(layout: str, extra: str = "", nodes: str = "") -> Cluster:
    return loads_cluster(
        "[cluster]\n"
        'server = "https://octopus.example.com"\n'
        'thumbprint = "8E2F430B7A91C5D26F11E83CA0579B44D12E6CF3"\n'
        f'layout = "{layout}"\n{extra}\n'
        '[[nodes]]\nname = "node1"\naddress = "10.0.0.1"\n' + nodes,
        path="c.toml",
    )


@pytest.mark.parametrize(
    ("layout", "extra", "where"),
    [
        ("unique-address", "", "each node directly"),
        (
            "websocket",
            'websocket = "wss://o.example.com/OctopusComms"',
            "the websocket address",
        ),
    ],
)
def test_layouts_without_polling_lb_are_refused(
    layout: str, extra: str, where: str
) -> None:
    """unique-address and websocket have no polling LB: refused unless web_only."""
    cluster = _cluster(layout, extra)
    for fmt in LBFormat:
        with pytest.raises(ClusterError) as info:
            render_lb(cluster, fmt=fmt)
        assert str(info.value) == (
            f"c.toml: the {layout} layout has no polling load balancer "
            f"(Tentacles poll {where}); render the web frontend alone with "
            "web_only=True"
        )
        assert "listen octopus_web" in render_lb(cluster, fmt="haproxy", web_only=True)


def test_port_collision_is_refused() -> None:
    """The web frontend and a polling listener cannot share a port."""
    cluster = _cluster("unique-port", 'load_balancer = "lb.example.com"')
    with pytest.raises(ClusterError) as info:
        render_lb(cluster, fmt="haproxy", web_port=10943)
    assert str(info.value) == (
        "c.toml: octopus_web and octopus_poll_node1 would both listen on port 10943"
    )


def test_web_scheme_mismatch_is_refused() -> None:
    """A node's web_url must use the server URL's scheme: passthrough cannot convert."""
    cluster = _cluster(
        "load-balancer",
        'load_balancer = "lb.example.com"',
        'web_url = "http://10.0.0.1:8080"\n',
    )
    with pytest.raises(ClusterError, match=r"node 'node1' has web_url 'http://10\.0"):
        render_lb(cluster, fmt="nginx")


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"fmt": "traefik"}, "unknown load-balancer format 'traefik': haproxy, nginx"),
        ({"fmt": "nginx", "bind_address": "lb"}, "bind address 'lb' is not an IP"),
        ({"fmt": "nginx", "web_port": 0}, "web port 0 is outside 1-65535"),
        ({"fmt": "haproxy", "web_port": 65536}, "web port 65536 is outside 1-65535"),
    ],
)
def test_bad_arguments_are_refused(kwargs: dict[str, object], message: str) -> None:
    """A bad format, bind address or web port is an InvalidValueError."""
    cluster = _cluster("load-balancer", 'load_balancer = "lb.example.com"')
    with pytest.raises(InvalidValueError, match=re.escape(message)):
        render_lb(cluster, **kwargs)  # type: ignore[arg-type]  # bad values on purpose


def test_unique_port_has_no_health_check_but_load_balancer_tracks_it() -> None:
    """unique-port polling has no health check; load-balancer polling tracks it."""
    unique = render_lb(
        _cluster("unique-port", 'load_balancer = "lb.example.com"'), fmt="haproxy"
    )
    shared = render_lb(
        _cluster("load-balancer", 'load_balancer = "lb.example.com"'), fmt="haproxy"
    )
    assert _haproxy_routes(unique)[10943] == [("node1", "10.0.0.1:10943", "")]
    assert _haproxy_routes(shared)[10943] == [
        ("node1", "10.0.0.1:10943", "track octopus_web/node1")
    ]
    for text in (unique, shared):
        assert f"http-check send meth GET uri {PING_PATH} ver HTTP/1.1" in text
        assert "http-check expect status 200" in text
        assert "TLS termination or" in text


# --- what the configs route where: parsed back, for any cluster ----------------

_HAPROXY_LINE = re.compile(r"    (bind|server) (\S+)(?: (\S+))?(?: (.*))?")


def _haproxy_routes(text: str) -> dict[int, list[tuple[str, str, str]]]:
    """Map each bound port to its (server name, endpoint, options) list."""
    routes: dict[int, list[tuple[str, str, str]]] = {}
    port = 0
    for line in text.splitlines():
        if match := _HAPROXY_LINE.fullmatch(line):
            kind, first, second, rest = match.groups()
            if kind == "bind":
                port = int(first.rpartition(":")[2])
                assert port not in routes
                routes[port] = []
            else:
                routes[port].append((first, second, rest or ""))
    return routes


def _nginx_routes(text: str) -> dict[int, list[str]]:
    """Map each listened port to the endpoints it proxies to."""
    upstreams: dict[str, list[str]] = {}
    for name, body in re.findall(r"upstream (\S+) \{\n(.*?)\n    \}", text, re.DOTALL):
        upstreams[name] = re.findall(
            r"server (\S+) max_fails=2 fail_timeout=30s;", body
        )
    routes: dict[int, list[str]] = {}
    pattern = r"listen (\S+);\n\s+proxy_pass (\S+);"
    for listen, target in re.findall(pattern, text):
        port = int(listen.rpartition(":")[2])
        assert port not in routes
        routes[port] = upstreams.get(target, [target])
    return routes


def _web_endpoint(cluster: Cluster, web_url: str | None, address: str) -> str:
    server = urlsplit(cluster.server_url)
    default = 443 if server.scheme == "https" else 80
    if web_url is None:
        return f"{format_host(address)}:{server.port or default}"
    url = urlsplit(web_url)
    return f"{format_host(url.hostname or '')}:{url.port or default}"


def _same_scheme(cluster: Cluster) -> Cluster:
    """Drop web URLs whose scheme differs from the server URL's."""
    scheme = urlsplit(cluster.server_url).scheme
    nodes = tuple(
        node
        if node.web_url is None or node.web_url.startswith(f"{scheme}://")
        else attrs.evolve(node, web_url=None)
        for node in cluster.nodes
    )
    return attrs.evolve(cluster, nodes=nodes)


lb_clusters = clusters((Layout.UNIQUE_PORT, Layout.LOAD_BALANCER)).map(_same_scheme)


@given(lb_clusters, st.sampled_from(["", "127.0.0.1", "::1"]))
def test_routes_match_the_cluster(cluster: Cluster, bind: str) -> None:
    """Both formats listen on exactly the promised ports, routed to the right nodes."""
    web_port = urlsplit(cluster.server_url).port or (
        443 if cluster.server_url.startswith("https") else 80
    )
    web = [_web_endpoint(cluster, n.web_url, n.address) for n in cluster.nodes]
    listeners: list[tuple[int, list[str]]] = [(web_port, web)]
    if cluster.layout is Layout.UNIQUE_PORT:
        listeners += [
            (node.public_port or 0, [f"{format_host(node.address)}:{node.comms_port}"])
            for node in cluster.nodes
        ]
    else:
        everyone = [f"{format_host(n.address)}:{n.comms_port}" for n in cluster.nodes]
        listeners.append((cluster.load_balancer_port or 0, everyone))
    expected = dict(listeners)
    if len(expected) < len(listeners):
        for fmt in LBFormat:
            with pytest.raises(ClusterError, match="would both listen on port"):
                render_lb(cluster, fmt=fmt, bind_address=bind)
        return
    haproxy = render_lb(cluster, fmt="haproxy", bind_address=bind)
    nginx = render_lb(cluster, fmt="nginx", bind_address=bind)
    note(haproxy)
    routes = _haproxy_routes(haproxy)
    assert {port: [e for _, e, _ in servers] for port, servers in routes.items()} == (
        expected
    )
    for name, _, options in routes[web_port]:
        assert options.startswith("check")
        assert name in {n.name for n in cluster.nodes}
    assert _nginx_routes(nginx) == expected
    prefix = f"{format_host(bind)}:" if bind else ""
    assert haproxy.count(f"    bind {prefix}") == len(expected)
    assert nginx.count(f"        listen {prefix}") == len(expected)


@given(lb_clusters)
def test_rendering_is_deterministic_and_ends_in_newline(cluster: Cluster) -> None:
    """The same cluster renders the same text, one trailing newline, no tabs."""
    for fmt in LBFormat:
        try:
            first = render_lb(cluster, fmt=fmt)
        except ClusterError:
            return
        assert render_lb(loads_cluster(dumps_cluster(cluster)), fmt=fmt) == first
        assert first.endswith("}\n" if fmt is LBFormat.NGINX else "\n")
        assert not first.endswith("\n\n")
        assert "\t" not in first


def test_module_dir_is_the_public_api() -> None:
    """dir(tentacle_ha.commands.lb) lists the public names only."""
    import tentacle_ha.commands.lb as module  # noqa: PLC0415 - the module object itself

    assert dir(module) == sorted(module.__all__)


# --- sizing, redispatch, the nginx warning (#9) ------------------------------


def _listen_block(text: str, name: str) -> list[str]:
    lines = text.splitlines()
    start = lines.index(f"listen {name}")
    block = []
    for line in lines[start + 1 :]:
        if not line.startswith("    "):
            break
        block.append(line.strip())
    return block


def test_connection_limits_have_a_large_default() -> None:
    """maxconn and worker_connections are set, at least DEFAULT_CONNECTIONS."""
    cluster = load_cluster(EXAMPLES / "cluster-load-balancer.toml")
    haproxy = render_lb(cluster, fmt="haproxy").splitlines()
    assert DEFAULT_CONNECTIONS >= 16384
    assert haproxy[haproxy.index("global") + 5] == f"    maxconn {DEFAULT_CONNECTIONS}"
    assert (
        haproxy[haproxy.index("defaults") + 2] == f"    maxconn {DEFAULT_CONNECTIONS}"
    )
    nginx = render_lb(cluster, fmt="nginx")
    both_sides = 2 * DEFAULT_CONNECTIONS
    assert f"events {{\n    worker_connections {both_sides};\n}}" in nginx
    assert f"\nworker_rlimit_nofile {2 * both_sides};\n" in nginx
    assert nginx.index("worker_rlimit_nofile") < nginx.index("events {")


def test_connection_limits_grow_with_the_listed_tentacles() -> None:
    """2,000 Tentacles x 12 nodes need more than the default: sized up."""
    base = load_cluster(EXAMPLES / "cluster-unique-port.toml")
    nodes = tuple(
        attrs.evolve(base.nodes[0], name=f"n{i}", public_port=20000 + i)
        for i in range(12)
    )
    tentacle = base.tentacles[0]
    many = attrs.evolve(
        base,
        nodes=nodes,
        tentacles=tuple(attrs.evolve(tentacle, name=f"t{i}") for i in range(2000)),
    )
    polls = 2000 * 12
    haproxy = render_lb(many, fmt="haproxy")
    (maxconn,) = {int(m) for m in re.findall(r"maxconn (\d+)", haproxy)}
    assert maxconn >= polls
    nginx = render_lb(many, fmt="nginx")
    (workers,) = re.findall(r"worker_connections (\d+);", nginx)
    assert int(workers) >= 2 * polls
    # Negative control: the example's few Tentacles keep the default.
    assert f"maxconn {DEFAULT_CONNECTIONS}" in render_lb(base, fmt="haproxy")


def test_load_balancer_polling_redispatches() -> None:
    """LB layout: the polling listener retries a dead comms port on another node."""
    shared = render_lb(
        _cluster("load-balancer", 'load_balancer = "lb.example.com"'), fmt="haproxy"
    )
    poll = _listen_block(shared, "octopus_poll")
    assert "option redispatch 1" in poll
    assert "retries 3" in poll
    # Negative control: unique-port listeners pin one node each: no redispatch.
    unique = render_lb(
        _cluster("unique-port", 'load_balancer = "lb.example.com"'), fmt="haproxy"
    )
    assert "redispatch" not in unique
    assert "redispatch" not in "\n".join(_listen_block(shared, "octopus_web"))


def test_comment_names_both_server_lines_of_each_node() -> None:
    """LB layout: the comment lists each node's web and polling server lines."""
    cluster = load_cluster(EXAMPLES / "cluster-load-balancer.toml")
    for fmt in LBFormat:
        text = render_lb(cluster, fmt=fmt)
        comment = [line for line in text.splitlines() if line.startswith("#")]
        for node in cluster.nodes:
            (first,) = [i for i, c in enumerate(comment) if f"  {node.name}  " in c]
            assert comment[first].endswith(f"octopus_web   {node.address}:443")
            assert comment[first + 1].endswith(
                f"octopus_poll  {node.address}:{node.comms_port}"
            )
    unique = load_cluster(EXAMPLES / "cluster-unique-port.toml")
    assert "server line in both" not in render_lb(unique, fmt="nginx")


def test_run_lb_command_warns_about_nginx_and_names_the_flag() -> None:
    """nginx gets the 418 warning; errors name --web-only, not web_only."""
    source = EXAMPLES / "cluster-load-balancer.toml"
    warnings: list[str] = []
    run_lb_command(source, "nginx", warn=warnings.append)
    assert warnings == [NGINX_WARNING]
    assert "418" in NGINX_WARNING
    assert "passive" in NGINX_WARNING
    run_lb_command(source, "haproxy", warn=warnings.append)
    assert warnings == [NGINX_WARNING]  # none for HAProxy
    with pytest.raises(ClusterError, match=r"alone with --web-only$"):
        run_lb_command(EXAMPLES / "cluster-unique-address.toml", "haproxy")


def test_cli_lb_nginx_warns_on_stderr_and_names_the_flag() -> None:
    """`lb --format nginx`: the config on stdout, the 418 warning on stderr."""
    source = str(EXAMPLES / "cluster-load-balancer.toml")
    for fmt, warned in (("nginx", True), ("haproxy", False)):
        out, err = io.StringIO(), io.StringIO()
        code = main(
            ["lb", "--cluster", source, "--format", fmt], stdout=out, stderr=err
        )
        assert code == 0
        assert out.getvalue().startswith("# Load balancer")
        assert (err.getvalue() == NGINX_WARNING + "\n") is warned, err.getvalue()
    out, err = io.StringIO(), io.StringIO()
    unique = str(EXAMPLES / "cluster-unique-address.toml")
    code = main(
        ["lb", "--cluster", unique, "--format", "nginx"], stdout=out, stderr=err
    )
    assert code == 1
    assert err.getvalue().rstrip().endswith("alone with --web-only")
    assert "web_only" not in err.getvalue()
