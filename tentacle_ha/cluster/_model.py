"""The HA cluster description: a TOML file and the same thing as Python objects.

A cluster file says where the Octopus Server nodes are, how polling Tentacles
reach them (the *layout*) and which Tentacles poll them. `load_cluster()` reads
one, validates it completely and returns a frozen `Cluster`; every problem is a
`tentacle_ha.errors.ClusterError` that names the file, line and column.

Schema (every key is listed; unknown keys are refused, with a suggestion)::

    [cluster]
    server = "https://octopus.example.com"   # REST API for registration: http(s)
    thumbprint = "8E 2F ... 40 hex digits"   # the comms certificate; spaces, colons
                                             # and lower case are accepted
    layout = "unique-port"                   # unique-address | unique-port |
                                             # load-balancer | websocket
    load_balancer = "octopus-lb.example.com" # unique-port: host only;
                                             # load-balancer: host[:port], port 10943
    # websocket = "wss://octopus.example.com/OctopusComms"   # websocket layout only;
                                             # https:// is converted to wss://

    [[nodes]]                                # one table per node, at least one
    name = "node1"                           # letters, digits, '.', '_', '-'
    address = "10.0.1.11"                    # host: DNS name, IPv4 or IPv6; also
                                             # "host:port" or "https://host:port"
    comms_port = 10943                       # the node's own listener (default 10943)
    public_port = 10943                      # unique-port only: this node's port on
                                             # the load balancer (default 10943 + i,
                                             # i = 0, 1, ... in file order)
    web_url = "https://node1.example.com"    # optional: the node's own web address
                                             # (http or https), used for the ping

    [defaults]                               # optional: merged under every
    os = "linux"                             # [[tentacles]] entry (the entry wins;
    space = "Default"                        # arrays are replaced, not joined)

    [[tentacles]]                            # zero or more
    name = "web01"                           # machine display name (optional)
    instance = "Tentacle"                    # Tentacle instance (default "Tentacle")
    os = "linux"                             # windows | linux (required)
    kind = "target"                          # target (default) | worker
    executable = "/opt/octopus/tentacle/Tentacle"   # optional override
    space = "Default"                        # optional: the server's default space
    environments = ["Production"]            # targets: required, one or more
    roles = ["web-server"]                   # targets: required, one or more
    tenants = []                             # targets only
    tenant_tags = []                         # targets only
    tenanted_deployment_participation = "Untenanted"   # targets only: Untenanted |
                                             # Tenanted | TenantedOrUntenanted
    worker_pools = []                        # workers: required, one or more
    machine_policy = "Default Machine Policy"   # optional
    config_path = "/etc/octopus/Tentacle/tentacle-Tentacle.config"   # optional

What each layout needs, and the addresses a Tentacle polls
(`Cluster.comms_addresses()`), in node order:

=================  ==========================  ==================================
layout             needs                       addresses
=================  ==========================  ==================================
unique-address     nodes with distinct         ``https://{address}:{comms_port}``
                   address and port            per node
unique-port        ``load_balancer`` host,     ``https://{lb host}:{public_port}``
                   distinct public ports       per node
load-balancer      ``load_balancer``           ``https://{lb host}:{lb port}``
                   (Octopus Server 2026.4+)    once
websocket          ``websocket``               the wss URL, once
=================  ==========================  ==================================

IPv6 hosts are written in brackets. An address has no trailing slash, as
Tentacle stores it (``Uri.OriginalString`` of ``https://host:port``).

Strings that end up in commands or load-balancer configs (names, roles, paths)
must be non-empty, without control characters or surrounding blanks; hosts
must be well-formed DNS names or IP addresses. This keeps every value safe to
paste into a shell script or a load-balancer config.

.. versionadded:: 0.1.0
"""

from __future__ import annotations

import enum
from typing import TYPE_CHECKING
from typing import Final
from typing import TypeVar

import attrs

from tentacle_ha.errors import ClusterError
from tentacle_ha.servers import canonical_address
from tentacle_ha.servers import canonical_ipv6

if TYPE_CHECKING:
    from collections.abc import Iterator

__all__ = [
    "DEFAULT_COMMS_PORT",
    "DEFAULT_INSTANCE",
    "Cluster",
    "Layout",
    "Node",
    "TargetOS",
    "TenantedDeployment",
    "Tentacle",
    "TentacleKind",
    "dumps_cluster",
    "format_host",
]

DEFAULT_COMMS_PORT: Final = 10943
"""The Octopus Server comms (polling) port."""

DEFAULT_INSTANCE: Final = "Tentacle"
"""Tentacle's default instance name."""


def __dir__() -> list[str]:
    return __all__


class Layout(enum.StrEnum):
    """How polling Tentacles reach the nodes of the cluster.

    .. versionadded:: 0.1.0
    """

    UNIQUE_ADDRESS = "unique-address"
    """Each node at its own host; a Tentacle polls every node."""
    UNIQUE_PORT = "unique-port"
    """One public host, one port per node; a Tentacle polls every node."""
    LOAD_BALANCER = "load-balancer"
    """One TCP-passthrough address for all nodes (Octopus Server 2026.4+)."""
    WEBSOCKET = "websocket"
    """One ``wss://`` address."""

    @property
    def polls_every_node(self) -> bool:
        """Whether a Tentacle needs one trusted-server entry per node."""
        return self in {Layout.UNIQUE_ADDRESS, Layout.UNIQUE_PORT}


class TargetOS(enum.StrEnum):
    """The operating system a Tentacle runs on.

    .. versionadded:: 0.1.0
    """

    WINDOWS = "windows"
    LINUX = "linux"


class TentacleKind(enum.StrEnum):
    """What a Tentacle registers as: a deployment target or a worker.

    .. versionadded:: 0.1.0
    """

    TARGET = "target"
    WORKER = "worker"


class TenantedDeployment(enum.StrEnum):
    """Values of ``register-with --tenanted-deployment-participation``.

    .. versionadded:: 0.1.0
    """

    UNTENANTED = "Untenanted"
    TENANTED = "Tenanted"
    TENANTED_OR_UNTENANTED = "TenantedOrUntenanted"


@attrs.frozen(kw_only=True)
class Node:
    """One Octopus Server node.

    Attributes:
        name: the node's name (letters, digits, ``.``, ``_``, ``-``).
        address: the node's host: DNS name, IPv4 or IPv6 (no brackets, no scheme).
        comms_port: the node's own comms listener.
        public_port: unique-port layout only: this node's port on the load
            balancer; `None` in the other layouts.
        web_url: the node's own web address (for the ping), if given.

    .. versionadded:: 0.1.0
    """

    name: str
    address: str
    comms_port: int = DEFAULT_COMMS_PORT
    public_port: int | None = None
    web_url: str | None = None


@attrs.frozen(kw_only=True)
class Tentacle:
    """One polling Tentacle and how it registers.

    Attributes:
        name: machine display name; `None` lets Tentacle use the machine name.
        instance: the Tentacle instance.
        os: the operating system it runs on.
        kind: deployment target or worker.
        executable: path of the Tentacle executable, overriding the OS default.
        space: the space to register in; `None` means the default space.
        environments: targets: the environments.
        roles: targets: the roles.
        tenants: targets: the tenants.
        tenant_tags: targets: the tenant tags (``TagSet/Tag``).
        tenanted_deployment_participation: targets: how it takes part in
            tenanted deployments; `None` leaves the server default.
        worker_pools: workers: the worker pools.
        machine_policy: the machine policy; `None` means the default policy.
        config_path: where its Tentacle.config is, if known.

    .. versionadded:: 0.1.0
    """

    name: str | None = None
    instance: str = DEFAULT_INSTANCE
    os: TargetOS
    kind: TentacleKind = TentacleKind.TARGET
    executable: str | None = None
    space: str | None = None
    environments: tuple[str, ...] = ()
    roles: tuple[str, ...] = ()
    tenants: tuple[str, ...] = ()
    tenant_tags: tuple[str, ...] = ()
    tenanted_deployment_participation: TenantedDeployment | None = None
    worker_pools: tuple[str, ...] = ()
    machine_policy: str | None = None
    config_path: str | None = None


@attrs.frozen(kw_only=True)
class Cluster:
    """An Octopus Server HA cluster and the Tentacles that poll it.

    Build one with `load_cluster()` or `loads_cluster()`: they validate it.

    Attributes:
        server_url: the REST API URL used for registration (http or https).
        thumbprint: the server's comms certificate thumbprint, 40 upper-case hex.
        layout: how Tentacles reach the nodes.
        nodes: the nodes, in file order.
        load_balancer_host: unique-port and load-balancer layouts: the public host.
        load_balancer_port: load-balancer layout: the public comms port.
        websocket_url: websocket layout: the ``wss://`` URL.
        tentacles: the Tentacles, with ``[defaults]`` merged in.
        path: the file it was read from; not part of equality.

    .. versionadded:: 0.1.0
    """

    server_url: str
    thumbprint: str
    layout: Layout
    nodes: tuple[Node, ...]
    load_balancer_host: str | None = None
    load_balancer_port: int | None = None
    websocket_url: str | None = None
    tentacles: tuple[Tentacle, ...] = ()
    path: str | None = attrs.field(default=None, eq=False)

    def comms_addresses(self) -> tuple[str, ...]:
        """Return the exact ``Address`` strings a Tentacle must poll.

        One per node, in node order, for the per-node layouts (unique-address:
        each node's address and comms port; unique-port: the load balancer's
        host and each node's public port); a single address for the
        load-balancer and websocket layouts. The forms are Tentacle's own:
        ``https://host:port`` with IPv6 hosts in brackets, in canonical form
        (``[2001:db8::1]``, however the cluster file spells them), and no
        trailing slash.

        .. versionadded:: 0.1.0
        """
        if self.layout is Layout.UNIQUE_ADDRESS:
            return tuple(
                f"https://{_url_host(n.address)}:{n.comms_port}" for n in self.nodes
            )
        if self.layout is Layout.UNIQUE_PORT:
            host = _url_host(_required(self.load_balancer_host))
            return tuple(
                f"https://{host}:{_required(n.public_port)}" for n in self.nodes
            )
        if self.layout is Layout.LOAD_BALANCER:
            host = _url_host(_required(self.load_balancer_host))
            return (f"https://{host}:{_required(self.load_balancer_port)}",)
        return (canonical_address(_required(self.websocket_url)),)


_T = TypeVar("_T")


def _required(value: _T | None) -> _T:
    if value is None:  # pragma: no cover - only a hand-built, unvalidated Cluster
        msg = "this Cluster was not validated: a field its layout needs is None"
        raise ClusterError(msg)
    return value


def format_host(host: str) -> str:
    """Return *host* as it goes into a URL: IPv6 addresses in brackets.

    .. versionadded:: 0.1.0
    """
    return f"[{host}]" if ":" in host else host


def _url_host(host: str) -> str:
    """*host* as a comms address holds it: IPv6 canonical (.NET's form), bracketed."""
    return format_host(canonical_ipv6(host) or host)


def dumps_cluster(cluster: Cluster) -> str:
    """Write *cluster* as a cluster file that `loads_cluster()` reads back equal.

    Every field is written out (no ``[defaults]`` table); fields that are
    `None` or empty are left out.

    .. versionadded:: 0.1.0
    """
    out = ["[cluster]"]
    out.append(f"server = {_toml_str(cluster.server_url)}")
    out.append(f"thumbprint = {_toml_str(cluster.thumbprint)}")
    out.append(f"layout = {_toml_str(cluster.layout)}")
    if cluster.load_balancer_host is not None:
        lb = format_host(cluster.load_balancer_host)
        if cluster.load_balancer_port is not None:
            lb = f"{lb}:{cluster.load_balancer_port}"
        out.append(f"load_balancer = {_toml_str(lb)}")
    if cluster.websocket_url is not None:
        out.append(f"websocket = {_toml_str(cluster.websocket_url)}")
    for node in cluster.nodes:
        out.extend(("", "[[nodes]]"))
        out.extend(_toml_fields(node))
    for tentacle in cluster.tentacles:
        out.extend(("", "[[tentacles]]"))
        out.extend(_toml_fields(tentacle))
    return "\n".join(out) + "\n"


def _toml_fields(item: Node | Tentacle) -> Iterator[str]:
    for field in attrs.fields(type(item)):
        key, value = field.name, getattr(item, field.name)
        if value is None or value == ():
            continue
        if isinstance(value, int):
            yield f"{key} = {value}"
        elif isinstance(value, tuple):
            yield f"{key} = [{', '.join(_toml_str(str(v)) for v in value)}]"
        else:
            yield f"{key} = {_toml_str(str(value))}"


def _toml_str(value: str) -> str:
    out = ['"']
    for char in value:
        if char in {'"', "\\"}:
            out.append("\\" + char)
        elif char < " " or char == "\x7f":
            out.append(f"\\u{ord(char):04X}")
        else:
            out.append(char)
    out.append('"')
    return "".join(out)
