"""The generated load-balancer configs, checked and run by the real programs.

``haproxy -c`` and ``nginx -t`` validate every golden config; each has a
negative control (a broken copy the program must reject). Two live runs start
HAProxy and nginx on loopback in front of stand-in nodes and prove the routes,
and for HAProxy what a 418 ping does. Everything is bounded in time and stops.

Without the binaries these tests skip locally and fail under CI.
"""

from __future__ import annotations

import contextlib
import http.server
import os
import re
import shutil
import socket
import socketserver
import subprocess
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tentacle_ha.cluster import loads_cluster
from tentacle_ha.commands.lb import PING_PATH
from tentacle_ha.commands.lb import render_lb

if TYPE_CHECKING:
    from collections.abc import Callable
    from collections.abc import Iterator

pytestmark = pytest.mark.integration

GOLDEN = Path(__file__).parent.parent / "golden" / "lb"
HAPROXY_GOLDEN = sorted(GOLDEN.glob("*.haproxy.cfg"))
NGINX_GOLDEN = sorted(GOLDEN.glob("*.nginx.conf"))
THUMB = "8E2F430B7A91C5D26F11E83CA0579B44D12E6CF3"
RUN_TIMEOUT = 30


def _binary(name: str, package: str) -> str:
    search = os.pathsep.join(
        [os.environ.get("PATH", ""), "/usr/sbin", "/usr/local/sbin"]
    )
    found = shutil.which(name, path=search)
    if found is None:
        why = f"{name} is not installed (apt-get install {package})"
        if os.environ.get("CI"):
            pytest.fail(f"{why}: CI must run the real-program checks")
        pytest.skip(why)
    return found


@pytest.fixture(scope="module")
def haproxy() -> str:
    """Path of the haproxy binary."""
    return _binary("haproxy", "haproxy")


@pytest.fixture(scope="module")
def nginx() -> str:
    """Path of the nginx binary."""
    return _binary("nginx", "nginx libnginx-mod-stream")


def _run(argv: list[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        argv, capture_output=True, text=True, timeout=RUN_TIMEOUT, check=False
    )


# --- haproxy -c ----------------------------------------------------------------


def _haproxy_check(
    haproxy: str, text: str, tmp_path: Path
) -> subprocess.CompletedProcess[str]:
    path = tmp_path / "haproxy.cfg"
    path.write_text(text, encoding="utf-8")
    return _run([haproxy, "-c", "-f", str(path)])


def _has_names(text: str) -> bool:
    """Whether a config names a backend by DNS name rather than IP address."""
    hosts = re.findall(r"(?:server \S+|server|proxy_pass) \[?([^\s\]]+?)\]?:\d+", text)
    assert hosts
    return any(re.search(r"[g-z]", host, re.IGNORECASE) for host in hosts)


def test_golden_sets_are_not_empty() -> None:
    """There are haproxy and nginx goldens, some with IP addresses only."""
    assert len(HAPROXY_GOLDEN) >= 6
    assert len(NGINX_GOLDEN) == len(HAPROXY_GOLDEN)
    assert any(not _has_names(p.read_text(encoding="utf-8")) for p in NGINX_GOLDEN)


@pytest.mark.parametrize("path", HAPROXY_GOLDEN, ids=lambda p: p.name)
def test_haproxy_accepts_golden(haproxy: str, path: Path, tmp_path: Path) -> None:
    """haproxy -c accepts it; the only warnings are for unresolvable example names."""
    text = path.read_text(encoding="utf-8")
    result = _haproxy_check(haproxy, text, tmp_path)
    assert result.returncode == 0, result.stderr
    assert "Configuration file is valid" in result.stdout + result.stderr
    warnings = [line for line in result.stderr.splitlines() if "[WARNING]" in line]
    if not _has_names(text):
        assert warnings == []
    assert all("could not resolve address" in w for w in warnings), warnings


@pytest.mark.parametrize(
    ("old", "new", "complaint"),
    [
        ("balance leastconn", "balance fewestconn", "balance"),
        ("track octopus_web/node2", "track octopus_web/node9", "node9"),
        ("http-check expect status 200", "http-check expect status", "expect"),
    ],
)
def test_haproxy_rejects_broken_config(
    haproxy: str, tmp_path: Path, old: str, new: str, complaint: str
) -> None:
    """Negative control: haproxy -c rejects a golden config with a broken directive."""
    text = (GOLDEN / "cluster-load-balancer.haproxy.cfg").read_text(encoding="utf-8")
    assert old in text
    result = _haproxy_check(haproxy, text.replace(old, new, 1), tmp_path)
    assert result.returncode != 0
    assert "[ALERT]" in result.stderr
    assert complaint in result.stderr


# --- nginx -t ------------------------------------------------------------------


def _stream_module(nginx: str) -> str:
    """The load_module line this nginx needs for stream {} ('' if built in)."""
    build = _run([nginx, "-V"]).stderr
    if "--with-stream=dynamic" not in build:
        return ""
    match = re.search(r"--modules-path=(\S+)", build)
    prefix = re.search(r"--prefix=(\S+)", build)
    folder = match[1] if match else f"{prefix[1] if prefix else '/etc/nginx'}/modules"
    return f"load_module {folder}/ngx_stream_module.so;\n"


def _nginx_argv(nginx: str, conf: Path, *extra: str) -> list[str]:
    """Run nginx with its prefix, pid file and error log inside the temp folder."""
    folder = conf.parent
    return [
        nginx,
        *extra,
        "-p",
        f"{folder}/",
        "-c",
        str(conf),
        "-e",
        str(folder / "error.log"),
    ]


def _nginx_test(
    nginx: str, text: str, tmp_path: Path
) -> subprocess.CompletedProcess[str]:
    conf = tmp_path / "nginx.conf"
    conf.write_text(
        _stream_module(nginx) + f"pid {tmp_path / 'nginx.pid'};\n" + text,
        encoding="utf-8",
    )
    return _run(_nginx_argv(nginx, conf, "-t"))


def _pin_names(text: str) -> str:
    """Replace DNS names of backends by 127.0.0.1: nginx resolves them at start."""
    return re.sub(
        r"((?:server|proxy_pass) )([A-Za-z][\w.-]*)(:\d+)",
        lambda m: f"{m[1]}127.0.0.1{m[3]}" if _has_names(m[0]) else m[0],
        text,
    )


@pytest.mark.parametrize("path", NGINX_GOLDEN, ids=lambda p: p.name)
def test_nginx_accepts_golden(nginx: str, path: Path, tmp_path: Path) -> None:
    """nginx -t accepts the config (DNS names pinned to loopback, as nginx resolves)."""
    text = _pin_names(path.read_text(encoding="utf-8"))
    assert not _has_names(text)
    result = _nginx_test(nginx, text, tmp_path)
    assert result.returncode == 0, result.stderr
    assert "test is successful" in result.stderr
    assert "[warn]" not in result.stderr


@pytest.mark.parametrize(
    ("old", "new", "complaint"),
    [
        ("least_conn;", "fewest_conn;", 'unknown directive "fewest_conn"'),
        ("proxy_timeout 1h;", "proxy_timeout forever;", "invalid value"),
        ("listen 10943;", "listen 10943 bogus;", 'the invalid "bogus" parameter'),
    ],
)
def test_nginx_rejects_broken_config(
    nginx: str, tmp_path: Path, old: str, new: str, complaint: str
) -> None:
    """Negative control: nginx -t rejects a golden config with one directive broken."""
    text = _pin_names(
        (GOLDEN / "cluster-load-balancer.nginx.conf").read_text(encoding="utf-8")
    )
    assert old in text
    result = _nginx_test(nginx, text.replace(old, new, 1), tmp_path)
    assert result.returncode != 0
    assert complaint in result.stderr


# --- live runs -----------------------------------------------------------------


def _free_ports(count: int) -> list[int]:
    sockets = []
    try:
        for _ in range(count):
            sock = socket.socket()
            sock.bind(("127.0.0.1", 0))
            sockets.append(sock)
        return [s.getsockname()[1] for s in sockets]
    finally:
        for sock in sockets:
            sock.close()


class _NameServer(socketserver.ThreadingTCPServer):
    """A stand-in comms port: says its node's name and hangs up."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, name: str) -> None:
        self.name = name
        super().__init__(("127.0.0.1", 0), _SayName)


class _SayName(socketserver.BaseRequestHandler):
    server: _NameServer

    def handle(self) -> None:
        self.request.sendall(self.server.name.encode() + b"\n")


class _PingServer(http.server.ThreadingHTTPServer):
    """A stand-in web port: answers the ping with a status the test can change."""

    daemon_threads = True

    def __init__(self, name: str, status: int) -> None:
        self.name = name
        self.status = status
        self.pings = 0
        super().__init__(("127.0.0.1", 0), _Ping)


class _Ping(http.server.BaseHTTPRequestHandler):
    server: _PingServer

    def do_GET(self) -> None:
        body = self.server.name.encode()
        if self.path == PING_PATH:
            self.server.pings += 1
        self.send_response(self.server.status)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - stdlib name
        del format, args


@contextlib.contextmanager
def _serving(*servers: socketserver.BaseServer) -> Iterator[None]:
    threads = [threading.Thread(target=s.serve_forever, daemon=True) for s in servers]
    for thread in threads:
        thread.start()
    try:
        yield
    finally:
        for server in servers:
            server.shutdown()
            server.server_close()
        for thread in threads:
            thread.join(timeout=5)


def _port_of(server: socketserver.TCPServer) -> int:
    port = server.socket.getsockname()[1]
    assert isinstance(port, int)
    return port


@contextlib.contextmanager
def _running(argv: list[str], log: Path) -> Iterator[subprocess.Popen[bytes]]:
    with log.open("wb") as out:
        proc = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT)
    try:
        yield proc
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


def _ask(port: int, request: bytes = b"") -> str:
    """Connect to 127.0.0.1:port, send *request*, return all it says (bounded)."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        if request:
            sock.sendall(request)
        chunks = []
        while chunk := sock.recv(4096):
            chunks.append(chunk)
    return b"".join(chunks).decode()


def _wait_for(what: str, condition: Callable[[], bool], seconds: float = 20) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {seconds}s waiting for {what}")
        time.sleep(0.1)


def _accepting(port: int) -> bool:
    with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 1):
        return True
    return False


def _unique_port_cluster(
    names: dict[str, int], public: list[int], web_port: int
) -> str:
    nodes = "".join(
        f'[[nodes]]\nname = "{name}"\naddress = "127.0.0.1:{port}"\n'
        f"public_port = {public_port}\n"
        for (name, port), public_port in zip(names.items(), public, strict=True)
    )
    return (
        f'[cluster]\nserver = "http://127.0.0.1:{web_port}"\nthumbprint = "{THUMB}"\n'
        f'layout = "unique-port"\nload_balancer = "127.0.0.1"\n{nodes}'
    )


def _check_unique_port_routes(
    fmt: str, argv: Callable[[Path], list[str]], tmp_path: Path
) -> None:
    """Start the LB for three live nodes and one dead one; check each public port."""
    nodes = [_NameServer(f"node{i}") for i in (1, 2, 3)]
    dead_port = _free_ports(1)[0]
    *public, web_port, nowhere = _free_ports(6)
    names = {s.name: _port_of(s) for s in nodes} | {"dead": dead_port}
    cluster = loads_cluster(_unique_port_cluster(names, public, nowhere))
    conf = tmp_path / "lb.conf"
    conf.write_text(
        render_lb(cluster, fmt=fmt, bind_address="127.0.0.1", web_port=web_port),
        encoding="utf-8",
    )
    with _serving(*nodes), _running(argv(conf), tmp_path / "lb.log"):
        _wait_for("the listeners", lambda: all(_accepting(p) for p in public))
        for server, port in zip(nodes, public, strict=False):
            assert _ask(port) == f"{server.name}\n"
        # Negative control: the port of a node nobody listens for carries nothing.
        assert _ask(public[3]) == ""


def test_haproxy_routes_each_public_port_to_its_node(
    haproxy: str, tmp_path: Path
) -> None:
    """Live HAProxy (unique-port): each public port reaches exactly its own node."""
    conf = tmp_path / "lb.conf"
    _check_unique_port_routes(
        "haproxy", lambda _: [haproxy, "-db", "-f", str(conf)], tmp_path
    )


def test_nginx_routes_each_public_port_to_its_node(nginx: str, tmp_path: Path) -> None:
    """Live nginx (unique-port): each public port reaches exactly its own node."""
    module = _stream_module(nginx)
    pid = tmp_path / "nginx.pid"
    extra = ["-g", f"daemon off; master_process off; pid {pid};"]

    def argv(conf: Path) -> list[str]:
        wrapper = tmp_path / "nginx.conf"
        wrapper.write_text(f"{module}include {conf};\n", encoding="utf-8")
        return _nginx_argv(nginx, wrapper, *extra)

    _check_unique_port_routes("nginx", argv, tmp_path)


def test_haproxy_drains_nodes_that_do_not_answer_200(
    haproxy: str, tmp_path: Path
) -> None:
    """Live HAProxy (load-balancer): 418 and 503 nodes get no new connections."""
    comms = [_NameServer(f"node{i}") for i in (1, 2, 3)]
    pings = [
        _PingServer("node1", 200),
        _PingServer("node2", 418),
        _PingServer("node3", 503),
    ]
    lb_port, web_port = _free_ports(2)
    nodes = "".join(
        f'[[nodes]]\nname = "{c.name}"\naddress = "127.0.0.1:{_port_of(c)}"\n'
        f'web_url = "http://127.0.0.1:{_port_of(p)}"\n'
        for c, p in zip(comms, pings, strict=True)
    )
    cluster = loads_cluster(
        f'[cluster]\nserver = "http://127.0.0.1:{web_port}"\nthumbprint = "{THUMB}"\n'
        f'layout = "load-balancer"\nload_balancer = "127.0.0.1:{lb_port}"\n{nodes}'
    )
    conf = tmp_path / "haproxy.cfg"
    conf.write_text(render_lb(cluster, fmt="haproxy", bind_address="127.0.0.1"))
    argv = [haproxy, "-db", "-f", str(conf)]
    with _serving(*comms, *pings), _running(argv, tmp_path / "haproxy.log"):
        _wait_for("the listeners", lambda: _accepting(lb_port) and _accepting(web_port))
        # Two failed checks mark a node down; wait for a third to be sure.
        _wait_for("failed checks", lambda: min(p.pings for p in pings[1:]) >= 3)
        assert {_ask(lb_port) for _ in range(12)} == {"node1\n"}
        request = b"GET / HTTP/1.0\r\n\r\n"
        answers = {_ask(web_port, request).rpartition("\n")[2] for _ in range(6)}
        assert answers == {"node1"}
        # Control: once node2 answers 200 again it gets new connections again.
        pings[1].status = 200
        _wait_for("node2 back", lambda: "node2\n" in {_ask(lb_port) for _ in range(4)})


def test_haproxy_redispatches_from_a_dead_comms_port(
    haproxy: str, tmp_path: Path
) -> None:
    """Live HAProxy (load-balancer): ping 200 but comms port dead: polls still land."""
    comms = [_NameServer(f"node{i}") for i in (1, 2)]
    pings = [_PingServer(f"node{i}", 200) for i in (1, 2, 3)]
    dead, lb_port, web_port = _free_ports(3)
    ports = [*(_port_of(c) for c in comms), dead]
    nodes = "".join(
        f'[[nodes]]\nname = "{p.name}"\naddress = "127.0.0.1:{port}"\n'
        f'web_url = "http://127.0.0.1:{_port_of(p)}"\n'
        for port, p in zip(ports, pings, strict=True)
    )
    cluster = loads_cluster(
        f'[cluster]\nserver = "http://127.0.0.1:{web_port}"\nthumbprint = "{THUMB}"\n'
        f'layout = "load-balancer"\nload_balancer = "127.0.0.1:{lb_port}"\n{nodes}'
    )
    text = render_lb(cluster, fmt="haproxy", bind_address="127.0.0.1")
    assert "    option redispatch 1\n" in text

    def answers(config: str, name: str, count: int) -> list[str]:
        conf = tmp_path / name
        conf.write_text(config, encoding="utf-8")
        argv = [haproxy, "-db", "-f", str(conf)]
        with _running(argv, tmp_path / f"{name}.log"):
            _wait_for("the listeners", lambda: _accepting(lb_port))
            # Servers start up; the dead one's ping says 200, so it stays up.
            return [_ask(lb_port) for _ in range(count)]

    with _serving(*comms, *pings):
        got = answers(text, "haproxy.cfg", 12)
        assert set(got) <= {"node1\n", "node2\n"}, got
        # Negative control: the same rules without redispatch lose the polls
        # that land on the dead port (leastconn takes each node in turn).
        plain = answers(text.replace("    option redispatch 1\n", ""), "plain.cfg", 4)
        assert "" in plain, plain
