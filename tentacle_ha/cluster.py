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

import difflib
import enum
import ipaddress
import re
import tomllib
import unicodedata
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING
from typing import Final
from typing import TypeVar

import attrs

from tentacle_ha.errors import ClusterError

if TYPE_CHECKING:
    from collections.abc import Callable
    from collections.abc import Iterator
    from collections.abc import Mapping

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
    "load_cluster",
    "loads_cluster",
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
        ``https://host:port`` with IPv6 hosts in brackets and no trailing slash.

        .. versionadded:: 0.1.0
        """
        if self.layout is Layout.UNIQUE_ADDRESS:
            return tuple(
                f"https://{format_host(n.address)}:{n.comms_port}" for n in self.nodes
            )
        if self.layout is Layout.UNIQUE_PORT:
            host = format_host(_required(self.load_balancer_host))
            return tuple(
                f"https://{host}:{_required(n.public_port)}" for n in self.nodes
            )
        if self.layout is Layout.LOAD_BALANCER:
            host = format_host(_required(self.load_balancer_host))
            return (f"https://{host}:{_required(self.load_balancer_port)}",)
        return (_required(self.websocket_url),)


_T = TypeVar("_T")
_E = TypeVar("_E", bound=enum.StrEnum)


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


def load_cluster(path: str | Path) -> Cluster:
    """Read and validate a cluster file.

    Args:
        path: the TOML file (UTF-8; a BOM is accepted).

    Returns:
        The validated cluster, with ``path`` set.

    Raises:
        ClusterError: the file cannot be read, is not TOML, or is not a valid
            cluster; the message reads ``path:line:col: message``.

    .. versionadded:: 0.1.0
    """
    name = str(path)
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise ClusterError(
            f"cannot read the cluster file: {exc.strerror or exc}", path=name
        ) from exc
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line, col = _line_col(data[: exc.start].decode("utf-8"))
        raise ClusterError(
            "the cluster file is not UTF-8", path=name, line=line, col=col
        ) from exc
    return loads_cluster(text, path=name)


def loads_cluster(text: str, *, path: str | None = None) -> Cluster:
    """Parse and validate a cluster description from TOML text.

    Args:
        text: the TOML document; a leading BOM is ignored.
        path: the file name to put in errors and in `Cluster.path`.

    Returns:
        The validated cluster.

    Raises:
        ClusterError: not TOML, or not a valid cluster.

    .. versionadded:: 0.1.0
    """
    text = text.removeprefix("\ufeff")
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        message, line, col = _split_toml_error(str(exc), text)
        raise ClusterError(
            message, path=path or "<string>", line=line, col=col
        ) from exc
    return _Reader(path, text).cluster(data)


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


# --- positions -------------------------------------------------------------

_TOML_POS = re.compile(r"^(?P<msg>.*) \(at line (?P<line>\d+), column (?P<col>\d+)\)$")


def _split_toml_error(message: str, text: str) -> tuple[str, int, int]:
    match = _TOML_POS.match(message)
    if match is None:  # "(at end of document)": point just past the last character
        return message.replace(" (at end of document)", ""), *_line_col(text)
    return match["msg"], int(match["line"]), int(match["col"])


def _line_col(before: str) -> tuple[int, int]:
    line = before.count("\n") + 1
    return line, len(before) - (before.rfind("\n") + 1) + 1


# A table is (name, index): ("cluster", None), ("nodes", 2), ("", None) = root.
_Table = tuple[str, int | None]

_HEADER = re.compile(r"\s*(?P<open>\[\[?)\s*(?P<name>[A-Za-z0-9_-]+)\s*\]")
_KEY = re.compile(r"\s*(?P<key>[A-Za-z0-9_-]+|\"[^\"\\]*\"|'[^']*')\s*=")


class _Locator:
    """Finds where a table or key is written, for error positions.

    This reads the simple TOML a cluster file is made of (headers and
    ``key = value`` lines); keys it cannot place get the position of their
    table, or none at all.
    """

    def __init__(self, text: str) -> None:
        self.tables: dict[_Table, tuple[int, int]] = {}
        self.keys: dict[tuple[_Table, str], tuple[int, int]] = {}
        counts: dict[str, int] = {}
        table: _Table = ("", None)
        closing: str | None = None
        for number, line in enumerate(text.split("\n"), 1):
            if closing is not None:
                if closing in line:
                    closing = None
                continue
            if header := _HEADER.match(line):
                name = header["name"]
                if header["open"] == "[[":
                    index = counts.get(name, 0)
                    counts[name] = index + 1
                    table = (name, index)
                else:
                    table = (name, None)
                self.tables.setdefault(table, (number, header.start("open") + 1))
            elif key := _KEY.match(line):
                name = key["key"].strip("\"'")
                self.keys.setdefault((table, name), (number, key.start("key") + 1))
                rest = line[key.end() :]
                for quotes in ('"""', "'''"):
                    if rest.count(quotes) % 2:
                        closing = quotes

    def find(self, table: _Table, key: str | None) -> tuple[int | None, int | None]:
        root: _Table = ("", None)
        candidates = [self.keys.get((table, key)) if key else None]
        if table == root and key:  # a misplaced table: [name] or [[name]]
            candidates += [self.tables.get((key, None)), self.tables.get((key, 0))]
        candidates += [self.tables.get(table), self.keys.get((root, table[0]))]
        for spot in candidates:
            if spot is not None:
                return spot
        return None, None


# --- validation ------------------------------------------------------------


class _BadValueError(ValueError):
    """A value is wrong; the reader adds the position."""


_CLUSTER_KEYS: Final = ("server", "thumbprint", "layout", "load_balancer", "websocket")
_NODE_KEYS: Final = ("name", "address", "comms_port", "public_port", "web_url")
_TARGET_ONLY: Final = (
    "environments",
    "roles",
    "tenants",
    "tenant_tags",
    "tenanted_deployment_participation",
)
_PER_TENTACLE: Final = frozenset({"name", "config_path"})
_TOP_KEYS: Final = ("cluster", "nodes", "defaults", "tentacles")

_NODE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,62}")
_DNS_LABEL = re.compile(r"[A-Za-z0-9_]([A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?")
_HEX40 = re.compile(r"[0-9A-Fa-f]{40}")
_TOML_TYPES: Final = {
    str: "a string",
    int: "an integer",
    bool: "a boolean",
    float: "a float",
    list: "an array",
    dict: "a table",
}


def _type_name(value: object) -> str:
    return _TOML_TYPES.get(type(value), "a date or time")


def _display(table: _Table, key: str | None) -> str:
    name, index = table
    where = name if index is None else f"{name}[{index}]"
    return where if key is None else f"{where}.{key}" if where else key


# A value read from the file, with the table it came from (for positions).
_Sourced = tuple[object, _Table]


class _Reader:
    """Validates the parsed TOML and builds the `Cluster`."""

    def __init__(self, path: str | None, text: str) -> None:
        self.path = path
        self.locator = _Locator(text)

    def error(self, message: str, table: _Table, key: str | None) -> ClusterError:
        line, col = self.locator.find(table, key)
        return ClusterError(message, path=self.path or "<string>", line=line, col=col)

    @contextmanager
    def at(self, table: _Table, key: str) -> Iterator[None]:
        try:
            yield
        except _BadValueError as exc:
            raise self.error(f"{_display(table, key)}: {exc}", table, key) from None

    def check_keys(
        self, data: Mapping[str, object], table: _Table, allowed: tuple[str, ...]
    ) -> None:
        for key in data:
            if key not in allowed:
                hint = difflib.get_close_matches(key, allowed, n=1)
                maybe = f" (did you mean {hint[0]!r}?)" if hint else ""
                name, index = table
                where = f"in [{name}]" if name else "at the top level"
                if index is not None:
                    where = f"in [[{name}]]"
                msg = f"unknown key {key!r} {where}{maybe}"
                raise self.error(msg, table, key)

    def tables(self, data: Mapping[str, object], name: str) -> list[dict[str, object]]:
        value = data.get(name, [])
        if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
            kind = _type_name(value)
            msg = f"{name} must be an array of tables ([[{name}]]), not {kind}"
            raise self.error(msg, ("", None), name)
        return value

    def table(self, data: Mapping[str, object], name: str) -> dict[str, object]:
        value = data.get(name, {})
        if not isinstance(value, dict):
            msg = f"{name} must be a table ([{name}]), not {_type_name(value)}"
            raise self.error(msg, ("", None), name)
        return value

    # --- the whole file ---

    def cluster(self, data: Mapping[str, object]) -> Cluster:
        self.check_keys(data, ("", None), _TOP_KEYS)
        if "cluster" not in data:
            raise self.error("the [cluster] table is missing", ("", None), None)
        top = self.table(data, "cluster")
        here: _Table = ("cluster", None)
        self.check_keys(top, here, _CLUSTER_KEYS)
        server = self.need(top, here, "server", _url)
        thumbprint = self.need(top, here, "thumbprint", _thumbprint)
        layout = self.need(top, here, "layout", _enum(Layout))
        lb_host, lb_port = self.load_balancer(top, layout)
        websocket = self.value(top, here, "websocket", _websocket)
        if (websocket is None) == (layout is Layout.WEBSOCKET):
            need = "needs" if websocket is None else "takes no"
            msg = f"the {layout} layout {need} cluster.websocket"
            raise self.error(msg, here, "websocket" if websocket else "layout")
        nodes = self.nodes(data, layout)
        tentacles = self.tentacles(data)
        return Cluster(
            server_url=server,
            thumbprint=thumbprint,
            layout=layout,
            nodes=nodes,
            load_balancer_host=lb_host,
            load_balancer_port=lb_port,
            websocket_url=websocket,
            tentacles=tentacles,
            path=self.path,
        )

    def need(
        self,
        data: Mapping[str, object],
        table: _Table,
        key: str,
        convert: Callable[[object], _T],
    ) -> _T:
        if key not in data:
            raise self.error(f"{_display(table, key)} is missing", table, None)
        with self.at(table, key):
            return convert(data[key])

    def value(
        self,
        data: Mapping[str, object],
        table: _Table,
        key: str,
        convert: Callable[[object], _T],
    ) -> _T | None:
        return self.need(data, table, key, convert) if key in data else None

    def load_balancer(
        self, top: Mapping[str, object], layout: Layout
    ) -> tuple[str | None, int | None]:
        here: _Table = ("cluster", None)
        wanted = layout in {Layout.UNIQUE_PORT, Layout.LOAD_BALANCER}
        if "load_balancer" not in top:
            if wanted:
                msg = f"the {layout} layout needs cluster.load_balancer"
                raise self.error(msg, here, "layout")
            return None, None
        if not wanted:
            msg = f"the {layout} layout takes no cluster.load_balancer"
            raise self.error(msg, here, "load_balancer")
        with self.at(here, "load_balancer"):
            host, port = _endpoint(top["load_balancer"])
            if layout is Layout.UNIQUE_PORT and port is not None:
                msg = (
                    "in the unique-port layout this is the host only; "
                    "give each node its public_port"
                )
                raise _BadValueError(msg)
        if layout is Layout.LOAD_BALANCER and port is None:
            port = DEFAULT_COMMS_PORT
        return host, port

    # --- nodes ---

    def nodes(self, data: Mapping[str, object], layout: Layout) -> tuple[Node, ...]:
        tables = self.tables(data, "nodes")
        if not tables:
            raise self.error("the cluster has no [[nodes]]", ("", None), None)
        nodes: list[Node] = []
        seen_names: dict[str, Node] = {}
        seen_endpoints: dict[tuple[str, int], Node] = {}
        seen_ports: dict[int, Node] = {}
        for index, table in enumerate(tables):
            here: _Table = ("nodes", index)
            node = self.node(table, here, index, layout)
            if (other := seen_names.get(node.name.lower())) is not None:
                msg = f"duplicate node name {node.name!r} (also {other.name!r})"
                raise self.error(msg, here, "name")
            endpoint = (_host_key(node.address), node.comms_port)
            if (other := seen_endpoints.get(endpoint)) is not None:
                msg = (
                    f"node {node.name!r} has the same address and comms port "
                    f"as node {other.name!r}: {format_host(node.address)}:"
                    f"{node.comms_port}"
                )
                raise self.error(msg, here, "address")
            if node.public_port is not None:
                if (other := seen_ports.get(node.public_port)) is not None:
                    msg = (
                        f"public port {node.public_port} of node {node.name!r} "
                        f"is already the public port of node {other.name!r}"
                    )
                    raise self.error(msg, here, "public_port")
                seen_ports[node.public_port] = node
            seen_names[node.name.lower()] = node
            seen_endpoints[endpoint] = node
            nodes.append(node)
        return tuple(nodes)

    def node(
        self, table: Mapping[str, object], here: _Table, index: int, layout: Layout
    ) -> Node:
        self.check_keys(table, here, _NODE_KEYS)
        name = self.need(table, here, "name", _node_name)
        host, port = self.need(table, here, "address", _endpoint)
        comms_port = self.value(table, here, "comms_port", _port)
        if comms_port is not None and port is not None and comms_port != port:
            key = _display(here, "comms_port")
            msg = f"{key} is {comms_port} but the address says {port}"
            raise self.error(msg, here, "comms_port")
        public_port = self.value(table, here, "public_port", _port)
        if layout is Layout.UNIQUE_PORT:
            if public_port is None:
                public_port = DEFAULT_COMMS_PORT + index
                if public_port > _MAX_PORT:  # pragma: no cover - 54593 nodes
                    raise self.error("too many nodes for default ports", here, None)
        elif public_port is not None:
            msg = f"public_port applies only to the unique-port layout, not {layout}"
            raise self.error(msg, here, "public_port")
        return Node(
            name=name,
            address=host,
            comms_port=comms_port or port or DEFAULT_COMMS_PORT,
            public_port=public_port,
            web_url=self.value(table, here, "web_url", _url),
        )

    # --- tentacles ---

    def fields(self, table: Mapping[str, object], here: _Table) -> dict[str, _Sourced]:
        fields: dict[str, _Sourced] = {}
        for key in table:
            convert = _TENTACLE_CONVERTERS[key]
            fields[key] = (self.value(table, here, key, convert), here)
        return fields

    def tentacles(self, data: Mapping[str, object]) -> tuple[Tentacle, ...]:
        defaults = self.table(data, "defaults")
        here: _Table = ("defaults", None)
        self.check_keys(defaults, here, _TENTACLE_KEYS)
        for key in sorted(_PER_TENTACLE & defaults.keys()):
            msg = f"{key} is different for every Tentacle: set it in [[tentacles]]"
            raise self.error(msg, here, key)
        shared = self.fields(defaults, here)
        tentacles: list[Tentacle] = []
        names: dict[str, _Table] = {}
        paths: dict[str, _Table] = {}
        for index, table in enumerate(self.tables(data, "tentacles")):
            here = ("tentacles", index)
            self.check_keys(table, here, _TENTACLE_KEYS)
            tentacle = self.tentacle(shared | self.fields(table, here), here)
            for value, seen, key in (
                (tentacle.name, names, "name"),
                (tentacle.config_path, paths, "config_path"),
            ):
                if value is None:
                    continue
                if (first := seen.get(value.lower())) is not None:
                    also = _display(first, key)
                    msg = f"duplicate Tentacle {key} {value!r} (also {also})"
                    raise self.error(msg, here, key)
                seen[value.lower()] = here
            tentacles.append(tentacle)
        return tuple(tentacles)

    def tentacle(self, fields: Mapping[str, _Sourced], here: _Table) -> Tentacle:
        if "os" not in fields:
            key = _display(here, "os")
            msg = f"{key} is missing (windows or linux, here or in [defaults])"
            raise self.error(msg, here, None)
        kind = fields.get("kind", (TentacleKind.TARGET, here))[0]
        needs = (
            ("environments", "roles")
            if kind is TentacleKind.TARGET
            else ("worker_pools",)
        )
        refuses = ("worker_pools",) if kind is TentacleKind.TARGET else _TARGET_ONLY
        for key in needs:
            if not fields.get(key, ((), here))[0]:
                msg = f"a {kind} needs {key} (here or in [defaults])"
                raise self.error(msg, here, key if key in fields else None)
        for key in refuses:
            if key in fields and fields[key][0]:
                source = fields[key][1]
                inherited = " (inherited from [defaults])" if source != here else ""
                msg = f"a {kind} takes no {key}{inherited}"
                raise self.error(msg, here, key if source == here else None)
        values = {
            key: value
            for key, (value, _) in fields.items()
            if not (key in refuses and not value)
        }
        return Tentacle(**values)  # type: ignore[arg-type]  # converters typed each field


# --- converters ------------------------------------------------------------

_MAX_PORT: Final = 65535
_MAX_HOST: Final = 253


def _text(value: object) -> str:
    if not isinstance(value, str):
        raise _BadValueError(f"must be a string, not {_type_name(value)}")
    if not value:
        raise _BadValueError("must not be empty")
    if value != value.strip():
        raise _BadValueError(f"must not start or end with blanks: {value!r}")
    for char in value:
        if unicodedata.category(char) == "Cc":
            raise _BadValueError(f"must not contain control characters: {value!r}")
    return value


def _text_list(value: object) -> tuple[str, ...]:
    if not isinstance(value, list):
        raise _BadValueError(f"must be an array of strings, not {_type_name(value)}")
    items: list[str] = []
    seen: set[str] = set()
    for item in value:
        text = _text(item)
        if text.lower() in seen:
            raise _BadValueError(f"lists {text!r} twice")
        seen.add(text.lower())
        items.append(text)
    return tuple(items)


def _port(value: object) -> int:
    if not isinstance(value, int) or isinstance(value, bool):
        raise _BadValueError(f"must be an integer, not {_type_name(value)}")
    if not 1 <= value <= _MAX_PORT:
        raise _BadValueError(f"port {value} is outside 1-65535")
    return value


def _node_name(value: object) -> str:
    text = _text(value)
    if not _NODE_NAME.fullmatch(text):
        msg = (
            f"{text!r} is not a valid node name "
            "(up to 63 letters, digits, '.', '_', '-'; starting with a letter or digit)"
        )
        raise _BadValueError(msg)
    return text


def _enum(cls: type[_E]) -> Callable[[object], _E]:
    def convert(value: object) -> _E:
        text = _text(value)
        for member in cls:
            if member.value.lower() == text.lower():
                return member
        choices = ", ".join(member.value for member in cls)
        raise _BadValueError(f"{text!r} is not one of {choices}")

    return convert


def _thumbprint(value: object) -> str:
    text = _text(value)
    compact = re.sub(r"[\s:]", "", text)
    if not _HEX40.fullmatch(compact):
        msg = f"{text!r} is not a SHA-1 thumbprint (40 hex digits)"
        raise _BadValueError(msg)
    return compact.upper()


def _host(text: str) -> str:
    if ":" in text:
        if "%" in text:
            raise _BadValueError(f"IPv6 zone IDs are not supported: {text!r}")
        try:
            ipaddress.IPv6Address(text)
        except ValueError:
            raise _BadValueError(f"{text!r} is not a valid IPv6 address") from None
        return text
    if re.fullmatch(r"[0-9.]+", text):
        try:
            ipaddress.IPv4Address(text)
        except ValueError:
            raise _BadValueError(f"{text!r} is not a valid IPv4 address") from None
        return text
    labels = text.split(".")
    if len(text) > _MAX_HOST or not all(
        _DNS_LABEL.fullmatch(label) for label in labels
    ):
        raise _BadValueError(f"{text!r} is not a valid host name")
    return text


def _host_key(host: str) -> str:
    """The form of *host* two equal hosts share (case, IPv6 spelling)."""
    if ":" in host:
        return ipaddress.IPv6Address(host).compressed
    return host.lower()


def _hostport(text: str) -> tuple[str, int | None]:
    """Split ``host``, ``host:port``, ``[v6]`` or ``[v6]:port``; bare v6: no port."""
    port_text: str | None = None
    if text.startswith("["):
        host, bracket, rest = text[1:].partition("]")
        if not bracket or ":" not in host:
            raise _BadValueError(f"{text!r}: brackets are for IPv6 addresses only")
        if rest:
            if not rest.startswith(":"):
                raise _BadValueError(f"{text!r} is not host[:port]")
            port_text = rest[1:]
    elif text.count(":") == 1:
        host, _, port_text = text.partition(":")
    else:
        host = text
    if port_text is None:
        return _host(host), None
    if not port_text.isdigit() or not port_text.isascii():
        raise _BadValueError(f"{text!r}: the port must be a number")
    return _host(host), _port(int(port_text))


def _split_url(text: str) -> tuple[str, str, str]:
    """Split an absolute URL into (scheme, authority, rest); refuse credentials."""
    match = re.fullmatch(r"([A-Za-z][A-Za-z0-9+.-]*)://([^/?#]*)(.*)", text)
    if match is None:
        raise _BadValueError(f"{text!r} is not an absolute URL")
    scheme, authority, rest = match.groups()
    if "@" in authority:
        raise _BadValueError("must not hold a user name or password")
    if "?" in rest or "#" in rest:
        raise _BadValueError(f"{text!r}: a query or fragment is not allowed here")
    return scheme.lower(), authority, rest


def _url(value: object) -> str:
    """An http(s) URL with a valid host; returned as written."""
    text = _text(value)
    scheme, authority, _ = _split_url(text)
    if scheme not in {"http", "https"}:
        raise _BadValueError(f"{text!r} must be an http:// or https:// URL")
    _hostport(authority)
    if " " in text:
        raise _BadValueError(f"{text!r} must not contain spaces")
    return text


def _websocket(value: object) -> str:
    text = _text(value)
    scheme, authority, rest = _split_url(text)
    if scheme not in {"wss", "https"}:
        # Tentacle's own message for this mistake.
        raise _BadValueError("The websocket address must start with wss://")
    _hostport(authority)
    if " " in rest:
        raise _BadValueError(f"{text!r} must not contain spaces")
    return f"wss://{authority}{rest}"


def _endpoint(value: object) -> tuple[str, int | None]:
    """``host``, ``host:port`` or ``https://host[:port][/]`` -> (host, port)."""
    text = _text(value)
    if "://" not in text:
        return _hostport(text)
    scheme, authority, rest = _split_url(text)
    if scheme == "http":
        msg = "Tentacle polls over TLS: a comms address is https://, not http://"
        raise _BadValueError(msg)
    if scheme != "https":
        raise _BadValueError(
            f"{text!r}: a comms address is host[:port] or https://host:port"
        )
    if rest not in {"", "/"}:
        raise _BadValueError(f"{text!r}: a comms address has no path")
    return _hostport(authority)


_TENTACLE_CONVERTERS: Final[Mapping[str, Callable[[object], object]]] = {
    "name": _text,
    "instance": _text,
    "os": _enum(TargetOS),
    "kind": _enum(TentacleKind),
    "executable": _text,
    "space": _text,
    "environments": _text_list,
    "roles": _text_list,
    "tenants": _text_list,
    "tenant_tags": _text_list,
    "tenanted_deployment_participation": _enum(TenantedDeployment),
    "worker_pools": _text_list,
    "machine_policy": _text,
    "config_path": _text,
}
_TENTACLE_KEYS: Final = tuple(_TENTACLE_CONVERTERS)
