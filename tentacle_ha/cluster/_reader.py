"""Private: reading a cluster file: TOML text -> a validated `Cluster`.

`load_cluster` and `loads_cluster` live here, re-exported by
`tentacle_ha.cluster`. `tomllib` parses; the reader then walks the tables
against the schema (`tentacle_ha.cluster` documents it), checks every value
with `tentacle_ha.cluster._values` and builds the model.
Each problem is a `ClusterError` at ``path:line:col``: the `_Locator` finds
where a table or key is written, since `tomllib` keeps no positions.

The names other modules use have no leading underscore; the helpers only
this module uses keep theirs.
"""

from __future__ import annotations

import difflib
import re
import tomllib
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING
from typing import Final
from typing import TypeVar

from tentacle_ha.cluster._draft import is_placeholder
from tentacle_ha.cluster._model import DEFAULT_COMMS_PORT
from tentacle_ha.cluster._model import Cluster
from tentacle_ha.cluster._model import Layout
from tentacle_ha.cluster._model import Node
from tentacle_ha.cluster._model import TargetOS
from tentacle_ha.cluster._model import TenantedDeployment
from tentacle_ha.cluster._model import Tentacle
from tentacle_ha.cluster._model import TentacleKind
from tentacle_ha.cluster._model import format_host
from tentacle_ha.cluster._values import MAX_PORT
from tentacle_ha.cluster._values import BadValueError
from tentacle_ha.cluster._values import as_endpoint
from tentacle_ha.cluster._values import as_enum
from tentacle_ha.cluster._values import as_node_name
from tentacle_ha.cluster._values import as_port
from tentacle_ha.cluster._values import as_text
from tentacle_ha.cluster._values import as_text_list
from tentacle_ha.cluster._values import as_thumbprint
from tentacle_ha.cluster._values import as_url
from tentacle_ha.cluster._values import as_websocket
from tentacle_ha.cluster._values import host_key
from tentacle_ha.cluster._values import type_name
from tentacle_ha.errors import ClusterError

if TYPE_CHECKING:
    from collections.abc import Callable
    from collections.abc import Iterator
    from collections.abc import Mapping

__all__ = ["load_cluster", "loads_cluster"]

_T = TypeVar("_T")


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
# Where `tentacle-ha cluster init` writes placeholders for what the API cannot
# tell; elsewhere (roles, names) angle brackets are ordinary text.
_PLACEHOLDER_TABLES: Final = frozenset({"cluster", "nodes"})


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
        except BadValueError as exc:
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
            kind = type_name(value)
            msg = f"{name} must be an array of tables ([[{name}]]), not {kind}"
            raise self.error(msg, ("", None), name)
        return value

    def table(self, data: Mapping[str, object], name: str) -> dict[str, object]:
        value = data.get(name, {})
        if not isinstance(value, dict):
            msg = f"{name} must be a table ([{name}]), not {type_name(value)}"
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
        server = self.need(top, here, "server", as_url)
        thumbprint = self.need(top, here, "thumbprint", as_thumbprint)
        layout = self.need(top, here, "layout", as_enum(Layout))
        lb_host, lb_port = self.load_balancer(top, layout)
        websocket = self.value(top, here, "websocket", as_websocket)
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
        self.refuse_placeholder(data, table, key)
        with self.at(table, key):
            return convert(data[key])

    def refuse_placeholder(
        self, data: Mapping[str, object], table: _Table, key: str
    ) -> None:
        if table[0] in _PLACEHOLDER_TABLES and is_placeholder(data[key]):
            msg = (
                f"{_display(table, key)} is still the placeholder {data[key]!r} "
                "(from tentacle-ha cluster init): fill it in"
            )
            raise self.error(msg, table, key)

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
        self.refuse_placeholder(top, here, "load_balancer")
        with self.at(here, "load_balancer"):
            host, port = as_endpoint(top["load_balancer"])
            if layout is Layout.UNIQUE_PORT and port is not None:
                msg = (
                    "in the unique-port layout this is the host only; "
                    "give each node its public_port"
                )
                raise BadValueError(msg)
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
            endpoint = (host_key(node.address), node.comms_port)
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
        name = self.need(table, here, "name", as_node_name)
        host, port = self.need(table, here, "address", as_endpoint)
        comms_port = self.value(table, here, "comms_port", as_port)
        if comms_port is not None and port is not None and comms_port != port:
            key = _display(here, "comms_port")
            msg = f"{key} is {comms_port} but the address says {port}"
            raise self.error(msg, here, "comms_port")
        public_port = self.value(table, here, "public_port", as_port)
        if layout is Layout.UNIQUE_PORT:
            if public_port is None:
                public_port = DEFAULT_COMMS_PORT + index
                if public_port > MAX_PORT:  # pragma: no cover - 54593 nodes
                    raise self.error("too many nodes for default ports", here, None)
        elif public_port is not None:
            msg = f"public_port applies only to the unique-port layout, not {layout}"
            raise self.error(msg, here, "public_port")
        return Node(
            name=name,
            address=host,
            comms_port=comms_port or port or DEFAULT_COMMS_PORT,
            public_port=public_port,
            web_url=self.value(table, here, "web_url", as_url),
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


_TENTACLE_CONVERTERS: Final[Mapping[str, Callable[[object], object]]] = {
    "name": as_text,
    "instance": as_text,
    "os": as_enum(TargetOS),
    "kind": as_enum(TentacleKind),
    "executable": as_text,
    "space": as_text,
    "environments": as_text_list,
    "roles": as_text_list,
    "tenants": as_text_list,
    "tenant_tags": as_text_list,
    "tenanted_deployment_participation": as_enum(TenantedDeployment),
    "worker_pools": as_text_list,
    "machine_policy": as_text,
    "config_path": as_text,
}
_TENTACLE_KEYS: Final = tuple(_TENTACLE_CONVERTERS)
