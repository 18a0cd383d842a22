"""Load-balancer rules for a cluster: HAProxy and nginx configurations.

`render_lb()` turns a `tentacle_ha.cluster.Cluster` into a complete, ready to
check configuration file (``haproxy -c -f FILE``, ``nginx -t -c FILE``):

* **Polling** (unique-port and load-balancer layouts). Always TCP passthrough:
  Halibut pins the server certificate's thumbprint, so TLS termination or
  interception on a comms port breaks polling.

  - unique-port: one listener per node, on the node's ``public_port``, to that
    node's ``address:comms_port``. No health check: a draining node must stay
    reachable so that Tentacles can finish the tasks it still runs.
  - load-balancer (Octopus Server 2026.4+ multi-node polling): one listener on
    the load balancer's port, least connections over every node's comms port.
    HAProxy takes a node out for *new* polling connections whenever its web
    health check says it is not up (see below); open connections stay. A
    node whose ping says 200 but whose comms port does not answer is retried
    on another node (``option redispatch 1``, ``retries 3``).

* **Web portal and REST API**, for every layout. Also TCP passthrough, on the
  port of the cluster's ``server`` URL (443 for https, 80 for http), to each
  node's web address: the node's ``web_url`` (default port by its scheme), or
  else its ``address`` on the server URL's port. Passthrough keeps the
  certificates on the nodes, sets no request-body limit (package uploads of
  1 GB and more pass) and uses 1 h idle timeouts.
  Every node's web address must therefore use the server URL's scheme.
  TLS termination at the load balancer is deliberately not generated.

**Health and draining.** HAProxy checks every node with
``GET /api/octopusservernodes/ping`` (HTTP/1.1, ``Host`` = the server URL's
host, over TLS without certificate verification when the scheme is https: the
check only reads a status code) every 3 s:

* ``200``: up, gets new connections;
* ``418`` (drain mode): after 2 checks, no *new* connections, web or (in the
  load-balancer layout) polling; open connections are left to finish, because
  ``on-marked-down shutdown-sessions`` is not set;
* anything else, or no answer: the same as 418 (HAProxy has no third state).

A node is back after 2 checks that answer 200.

Open-source nginx has no active health checks. The nginx configuration uses
passive ones: a node that refuses 2 connections is skipped for 30 s
(``max_fails=2 fail_timeout=30s``). nginx never sees the ping, so a draining
node keeps getting new connections; mark it ``down`` and reload nginx to
drain it. nginx resolves host names once, at start.

**Sizing.** Polling Tentacles hold their connections open, so the rules are
sized for at least `DEFAULT_CONNECTIONS` (16384) client connections, more when
the cluster file lists more Tentacles (one connection per Tentacle and
address): HAProxy ``maxconn`` (global and defaults; ``no strict-limits`` so
it starts with a warning where the open-files hard limit is lower), nginx
``worker_connections`` (twice that: client and node side) and
``worker_rlimit_nofile``.

The output is deterministic: the same cluster gives the same bytes.

.. versionadded:: 0.1.0
"""

from __future__ import annotations

import enum
import ipaddress
from typing import TYPE_CHECKING
from typing import Final
from urllib.parse import urlsplit

import attrs

from tentacle_ha.cluster import Layout
from tentacle_ha.cluster import format_host
from tentacle_ha.cluster import load_cluster
from tentacle_ha.errors import ClusterError
from tentacle_ha.errors import InvalidValueError

if TYPE_CHECKING:
    from collections.abc import Callable
    from collections.abc import Iterator
    from pathlib import Path

    from tentacle_ha.cluster import Cluster

__all__ = [
    "DEFAULT_CONNECTIONS",
    "NGINX_WARNING",
    "PING_PATH",
    "LBFormat",
    "render_lb",
    "run_lb_command",
]

PING_PATH: Final = "/api/octopusservernodes/ping"
"""The Octopus Server node health endpoint: 200 up, 418 draining, else down."""

NGINX_WARNING: Final = (
    "warning: open-source nginx cannot see a node's 418 (drain mode): it has "
    "passive checks only and keeps sending new connections to a draining node; "
    "mark the node's server lines down and reload to drain it, or use HAProxy"
)
"""What ``tentacle-ha lb --format nginx`` prints on stderr."""

DEFAULT_CONNECTIONS: Final = 16384
"""The fewest connections the rules are sized for (HAProxy ``maxconn``,
nginx ``worker_connections``): at least this, or more for the Tentacles the
cluster file lists (each polls every address of its layout)."""

_CHECK = "inter 3s fall 2 rise 2"
_PASSIVE = "max_fails=2 fail_timeout=30s"
_TIMEOUT = "1h"
_DEFAULT_PORTS: Final = {"https": 443, "http": 80}
_MAX_PORT: Final = 65535


def __dir__() -> list[str]:
    return __all__


class LBFormat(enum.StrEnum):
    """The load balancers `render_lb()` writes configurations for.

    .. versionadded:: 0.1.0
    """

    HAPROXY = "haproxy"
    NGINX = "nginx"


@attrs.frozen
class _Server:
    name: str
    host: str
    port: int
    tls_check: bool = False

    @property
    def endpoint(self) -> str:
        return f"{format_host(self.host)}:{self.port}"


@attrs.frozen
class _Listener:
    name: str
    port: int
    servers: tuple[_Server, ...]
    web: bool = False
    tracks_web: bool = False


@attrs.frozen
class _Plan:
    cluster: Cluster
    bind: str
    listeners: tuple[_Listener, ...]
    host_header: str
    sni: str | None
    check_uri: str


def render_lb(
    cluster: Cluster,
    *,
    fmt: LBFormat | str,
    bind_address: str = "",
    web_port: int | None = None,
    web_only: bool = False,
) -> str:
    """Render a load-balancer configuration for *cluster*.

    Args:
        cluster: a validated cluster (from `tentacle_ha.cluster.load_cluster`).
        fmt: ``"haproxy"`` or ``"nginx"``.
        bind_address: the IP address to listen on; empty means every IPv4
            address.
        web_port: the port of the web/API frontend; by default the port of
            the cluster's server URL (443 for https, 80 for http).
        web_only: render only the web/API frontend. Needed for the
            unique-address and websocket layouts, which have no polling load
            balancer.

    Returns:
        The complete configuration file, ending in a newline.

    Raises:
        ClusterError: the layout has no polling load balancer (and not
            *web_only*), two listeners would share a port, or a node's web
            address does not use the server URL's scheme.
        InvalidValueError: *fmt*, *bind_address* or *web_port* is not valid.

    .. versionadded:: 0.1.0
    """
    kind = _format(fmt)
    return _render(
        cluster,
        kind,
        bind_address,
        web_port,
        web_only=web_only,
        web_only_name="web_only=True",
    )


def _render(
    cluster: Cluster,
    kind: LBFormat,
    bind_address: str,
    web_port: int | None,
    *,
    web_only: bool,
    web_only_name: str,
) -> str:
    plan = _plan(
        cluster, bind_address, web_port, web_only=web_only, web_only_name=web_only_name
    )
    lines = _haproxy(plan) if kind is LBFormat.HAPROXY else _nginx(plan)
    return "\n".join(lines) + "\n"


def _format(fmt: LBFormat | str) -> LBFormat:
    try:
        return LBFormat(fmt)
    except ValueError:
        choices = ", ".join(LBFormat)
        raise InvalidValueError(
            f"unknown load-balancer format {fmt!r}: {choices}"
        ) from None


def run_lb_command(
    cluster_path: str | Path,
    fmt: str,
    *,
    bind_address: str = "",
    web_port: int | None = None,
    web_only: bool = False,
    warn: Callable[[str], None] | None = None,
) -> tuple[int, str]:
    """Handle ``tentacle-ha lb --cluster FILE --format haproxy|nginx``.

    Errors name the command-line flags (``--web-only``). For nginx, ``warn``
    is called with `NGINX_WARNING`: open-source nginx cannot see a draining
    node.

    Returns:
        ``(exit code, text for stdout)``: ``(0, configuration)``.

    Raises:
        ClusterError: see `tentacle_ha.cluster.load_cluster` and `render_lb`.
        InvalidValueError: see `render_lb`.

    .. versionadded:: 0.1.0
    """
    kind = _format(fmt)
    cluster = load_cluster(cluster_path)
    text = _render(
        cluster,
        kind,
        bind_address,
        web_port,
        web_only=web_only,
        web_only_name="--web-only",
    )
    if kind is LBFormat.NGINX and warn is not None:
        warn(NGINX_WARNING)
    return 0, text


# --- the plan: what listens where, shared by both formats -------------------


def _plan(
    cluster: Cluster,
    bind_address: str,
    web_port: int | None,
    *,
    web_only: bool,
    web_only_name: str,
) -> _Plan:
    if bind_address:
        try:
            ipaddress.ip_address(bind_address)
        except ValueError:
            msg = f"bind address {bind_address!r} is not an IP address"
            raise InvalidValueError(msg) from None
    server = urlsplit(cluster.server_url)
    scheme = server.scheme.lower()
    node_port = server.port or _DEFAULT_PORTS[scheme]
    port = node_port if web_port is None else web_port
    if not 1 <= port <= _MAX_PORT:
        raise InvalidValueError(f"web port {port} is outside 1-65535")
    servers = _web_servers(cluster, scheme, node_port)
    web = _Listener("octopus_web", port, servers, web=True)
    listeners = [web]
    if not web_only:
        listeners.extend(_polling(cluster, web_only_name))
    seen: dict[int, _Listener] = {}
    for listener in listeners:
        if (other := seen.get(listener.port)) is not None:
            both = f"{other.name} and {listener.name}"
            msg = f"{both} would both listen on port {listener.port}"
            raise ClusterError(msg, path=cluster.path)
        seen[listener.port] = listener
    sni = server.hostname
    if sni is not None and _is_ip(sni):
        sni = None
    return _Plan(
        cluster=cluster,
        bind=bind_address,
        listeners=tuple(listeners),
        host_header=server.netloc.lower(),
        sni=sni,
        check_uri=server.path.rstrip("/") + PING_PATH,
    )


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def _web_servers(
    cluster: Cluster, scheme: str, default_port: int
) -> tuple[_Server, ...]:
    servers = []
    for node in cluster.nodes:
        if node.web_url is None:
            host, port = node.address, default_port
        else:
            url = urlsplit(node.web_url)
            if url.scheme.lower() != scheme:
                msg = (
                    f"node {node.name!r} has web_url {node.web_url!r} but the server "
                    f"URL is {scheme}://: the web frontend passes TLS through "
                    "untouched, so both must use the same scheme"
                )
                raise ClusterError(msg, path=cluster.path)
            host = url.hostname or node.address
            port = url.port or _DEFAULT_PORTS[scheme]
        servers.append(_Server(node.name, host, port, tls_check=scheme == "https"))
    return tuple(servers)


def _polling(cluster: Cluster, web_only_name: str) -> list[_Listener]:
    if cluster.layout is Layout.UNIQUE_PORT:
        return [
            _Listener(
                f"octopus_poll_{node.name}",
                _known(node.public_port),
                (_Server(node.name, node.address, node.comms_port),),
            )
            for node in cluster.nodes
        ]
    if cluster.layout is Layout.LOAD_BALANCER:
        servers = tuple(
            _Server(node.name, node.address, node.comms_port) for node in cluster.nodes
        )
        port = _known(cluster.load_balancer_port)
        return [_Listener("octopus_poll", port, servers, tracks_web=True)]
    msg = (
        f"the {cluster.layout} layout has no polling load balancer (Tentacles "
        f"poll {_polls(cluster)}); render the web frontend alone with "
        f"{web_only_name}"
    )
    raise ClusterError(msg, path=cluster.path)


def _polls(cluster: Cluster) -> str:
    if cluster.layout is Layout.WEBSOCKET:
        return "the websocket address"
    return "each node directly"


def _known(port: int | None) -> int:
    if port is None:  # pragma: no cover - only a hand-built, unvalidated Cluster
        raise ClusterError("this Cluster was not validated: a port is missing")
    return port


def _connections(cluster: Cluster) -> int:
    """Client connections to size for: the listed Tentacles' polls, or the default.

    Each Tentacle holds one connection per address it polls, plus headroom
    for web and API traffic; rounded up to a power of two.
    """
    polls = len(cluster.tentacles) * len(cluster.comms_addresses())
    wanted = max(DEFAULT_CONNECTIONS, polls + polls // 4)
    return 1 << (wanted - 1).bit_length()


def _both_lines(plan: _Plan) -> Iterator[str]:
    """Each node's two server lines in the load-balancer layout."""
    polling = [x for x in plan.listeners if x.tracks_web]
    if not polling:
        return
    web, poll = plan.listeners[0], polling[0]
    width = max(len(n.name) for n in web.servers)
    names = max(len(web.name), len(poll.name))
    yield f"# Each node has a server line in both {web.name} and {poll.name};"
    yield "# taking a node out (or draining it by hand) means both:"
    for node, comms in zip(web.servers, poll.servers, strict=True):
        yield f"#   {node.name:<{width}}  {web.name:<{names}}  {node.endpoint}"
        yield f"#   {'':<{width}}  {poll.name:<{names}}  {comms.endpoint}"
    yield "#"


def _comments(plan: _Plan, health: tuple[str, ...]) -> Iterator[str]:
    cluster = plan.cluster
    yield f"# Load balancer for the Octopus Deploy HA cluster {cluster.server_url}"
    yield f"# Generated by tentacle-ha from a cluster file (layout: {cluster.layout})."
    yield "#"
    polling = [listener for listener in plan.listeners if not listener.web]
    if polling:
        lb_host = format_host(cluster.load_balancer_host or "")
        yield "# Polling: TCP passthrough. TLS must reach the nodes untouched: Halibut"
        yield "# pins the server certificate thumbprint"
        yield f"# {cluster.thumbprint}, so TLS termination or"
        yield "# interception on these ports breaks polling."
        for listener in polling:
            yield from _routes(f"https://{lb_host}:{listener.port}", listener)
        if cluster.layout is Layout.UNIQUE_PORT:
            yield "# No health check on these: a draining node must stay reachable so"
            yield "# that Tentacles can finish the tasks it still runs."
        yield "#"
    yield "# Web portal and REST API: TCP passthrough (certificates stay on the"
    yield "# nodes; no request-body limit, so package uploads of 1 GB and more pass;"
    yield f"# {_TIMEOUT} idle timeouts)."
    yield from _routes(f"port {plan.listeners[0].port}", plan.listeners[0])
    yield "#"
    yield from _both_lines(plan)
    yield from health


def _routes(front: str, listener: _Listener) -> Iterator[str]:
    if len(listener.servers) == 1:
        only = listener.servers[0]
        yield f"#   {front} -> {only.name} {only.endpoint}"
        return
    yield f"#   {front} -> least connections over:"
    for server in listener.servers:
        yield f"#     {server.name} {server.endpoint}"


# --- HAProxy ----------------------------------------------------------------


def _haproxy(plan: _Plan) -> list[str]:
    tracked = " or polling" if any(x.tracks_web for x in plan.listeners) else ""
    health = (
        f"# Node health: GET {plan.check_uri} on each node's web",
        "# address every 3s (HTTP/1.1; over TLS without certificate verification",
        "# for https: the check only reads the status code):",
        "#   200        up: gets new connections",
        f"#   418        draining: after 2 checks no new web{tracked} connections;",
        "#              open connections are left to finish",
        "#   otherwise  down: treated like 418 (HAProxy has no third state)",
        "# A node is back after 2 checks answering 200.",
    )
    out = [*_comments(plan, health), ""]
    connections = _connections(plan.cluster)
    out += [
        "global",
        "    # Polling Tentacles hold their connections open: one per Tentacle and",
        f"    # address it polls. Sized for {connections}; raise it for larger",
        "    # fleets. HAProxy raises its open-files limit to match; where the",
        "    # hard limit is lower it warns and starts anyway (no strict-limits).",
        f"    maxconn {connections}",
        "    no strict-limits",
        "",
        "defaults",
        "    mode tcp",
        f"    maxconn {connections}",
        "    timeout connect 10s",
        f"    timeout client {_TIMEOUT}",
        f"    timeout server {_TIMEOUT}",
        "    timeout check 5s",
        "    # Start even when a node's name does not resolve; that node stays down.",
        "    default-server init-addr libc,none",
    ]
    for listener in plan.listeners:
        out += ["", f"listen {listener.name}"]
        out.append(f"    bind {_bind(plan.bind, listener.port)}")
        if len(listener.servers) > 1:
            out.append("    balance leastconn")
        if listener.tracks_web:
            out += [
                "    # A node whose ping is 200 but whose comms port does not",
                "    # answer: retry the connect on another node at once.",
                "    option redispatch 1",
                "    retries 3",
            ]
        if listener.web:
            out += _haproxy_check(plan)
        for server in listener.servers:
            line = f"    server {server.name} {server.endpoint}"
            if listener.web:
                line += " check"
                if server.tls_check:
                    line += " check-ssl verify none"
                    if plan.sni is not None:
                        line += f" check-sni {plan.sni}"
            elif listener.tracks_web:
                line += f" track octopus_web/{server.name}"
            out.append(line)
    return out


def _haproxy_check(plan: _Plan) -> list[str]:
    return [
        "    option httpchk",
        (
            f"    http-check send meth GET uri {plan.check_uri} ver HTTP/1.1"
            f" hdr Host {plan.host_header}"
        ),
        "    http-check expect status 200",
        f"    default-server {_CHECK}",
    ]


def _bind(address: str, port: int) -> str:
    return f"{format_host(address)}:{port}" if address else f":{port}"


# --- nginx ------------------------------------------------------------------


def _nginx(plan: _Plan) -> list[str]:
    health = (
        "# Node health: open-source nginx has no active health checks, so the",
        f"# ping ({plan.check_uri}) is not used. Passive checks",
        "# instead: a node that fails 2 connections is skipped for 30s",
        "# (max_fails/fail_timeout; a lone server is never skipped).",
        "# nginx cannot see 418 (draining): a draining node keeps getting new",
        "# connections. To drain one, add `down` to its server lines and reload.",
        "# nginx resolves host names once, at start: each must resolve here.",
        "#",
        "# A complete nginx.conf. To merge it into another, copy the stream block",
        "# to the top level (not inside http). Debian and Ubuntu build the stream",
        "# module as a dynamic module: `load_module modules/ngx_stream_module.so;`",
        "# must come first (the libnginx-mod-stream package's",
        "# /etc/nginx/modules-enabled/50-mod-stream.conf does that).",
    )
    out = [*_comments(plan, health), ""]
    connections = 2 * _connections(plan.cluster)
    out += [
        "# Each polling connection holds two here (client and node side): sized",
        f"# for {connections // 2} polls; raise both for larger fleets.",
        f"worker_rlimit_nofile {2 * connections};",
        "",
        "events {",
        f"    worker_connections {connections};",
        "}",
        "",
        "stream {",
        "    proxy_connect_timeout 10s;",
        f"    proxy_timeout {_TIMEOUT};",
    ]
    for listener in plan.listeners:
        target = listener.name
        out.append("")
        if len(listener.servers) == 1:
            only = listener.servers[0]
            target = only.endpoint
            out.append(f"    # {only.name}")
        else:
            out += [f"    upstream {listener.name} {{", "        least_conn;"]
            out += [
                f"        server {server.endpoint} {_PASSIVE};  # {server.name}"
                for server in listener.servers
            ]
            out.append("    }")
        out += [
            "    server {",
            f"        listen {_listen(plan.bind, listener.port)};",
            f"        proxy_pass {target};",
            "    }",
        ]
    out.append("}")
    return out


def _listen(address: str, port: int) -> str:
    return f"{format_host(address)}:{port}" if address else str(port)
