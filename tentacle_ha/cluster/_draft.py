"""Private: a first cluster file drawn from what the server API says.

`draft_cluster` turns a `ServerState` into the text of a cluster file
(``tentacle-ha cluster init --server URL``): the server URL, the comms
thumbprint, one ``[[nodes]]`` per node the server lists, and a layout
suggested from the version (load-balancer only on Octopus Server 2026.4+,
which has multi-node polling). What the API cannot tell (each node's comms
address, the load balancer's host, public ports) is written as a
*placeholder*, a string in angle brackets such as ``"<comms address of
node1>"``, which `load_cluster` refuses, naming it and its position, until it
is filled in. `draft_data` is the same as JSON-ready data.

The names other modules use have no leading underscore; the helpers only
this module uses keep theirs.

.. versionadded:: 0.1.0
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING
from typing import Final

from tentacle_ha.cluster._model import Layout
from tentacle_ha.cluster._model import _toml_str
from tentacle_ha.cluster._server import LOAD_BALANCER_MIN_VERSION

if TYPE_CHECKING:
    from tentacle_ha.cluster._server import ServerNode
    from tentacle_ha.cluster._server import ServerState

__all__ = ["draft_cluster", "draft_data"]

#: What a placeholder looks like: text in angle brackets, which no cluster
#: value (host, URL, port, name) can be.
PLACEHOLDER: Final = re.compile(r"<[^<>\n]*>")


def is_placeholder(value: object) -> bool:
    """Whether *value* is a placeholder `draft_cluster` wrote, still unfilled."""
    return isinstance(value, str) and PLACEHOLDER.fullmatch(value.strip()) is not None


def _layout(state: ServerState) -> tuple[Layout, str]:
    wanted = ".".join(map(str, LOAD_BALANCER_MIN_VERSION))
    version = state.version or "an unknown version"
    if state.multi_node_polling:
        return Layout.LOAD_BALANCER, (
            f"Octopus Server {version} has multi-node polling ({wanted}+): "
            "one load-balancer address serves every node"
        )
    return Layout.UNIQUE_ADDRESS, (
        f"Octopus Server {version} is older than {wanted}: without multi-node "
        "polling every Tentacle must poll every node"
    )


def _placeholders(layout: Layout, nodes: tuple[ServerNode, ...]) -> list[str]:
    found = [f"<comms address of {n.name}>" for n in nodes]
    if layout is Layout.LOAD_BALANCER:
        found.insert(0, "<load balancer host[:port]>")
    return found


def draft_data(state: ServerState) -> dict[str, object]:
    """The draft as data: what was read, the suggested layout, the placeholders."""
    layout, why = _layout(state)
    return {
        **state.to_dict(),
        "layout": str(layout),
        "layout_reason": why,
        "placeholders": _placeholders(layout, state.nodes),
        "toml": draft_cluster(state),
    }


def _node_lines(node: ServerNode) -> list[str]:
    lines = ["", "[[nodes]]"]
    if node.offline:
        lines.append(
            "# offline on the server when this was drawn: delete this table "
            "if the node is gone"
        )
    if node.draining:
        lines.append("# in maintenance mode (draining) on the server")
    lines += [
        f"name = {_toml_str(node.name)}",
        "# The node's own comms listener, host or host:port (the API does not say).",
        f"address = {_toml_str(f'<comms address of {node.name}>')}",
        '# web_url = "https://..."   # optional: its own web address, for the ping',
    ]
    return lines


def draft_cluster(state: ServerState) -> str:
    """The text of a cluster file drawn from *state*, with placeholders to fill.

    ``state.space``, when set, goes into ``[defaults]``.
    """
    layout, why = _layout(state)
    version = state.version or "unknown"
    lines = [
        (
            f"# Drawn from {state.server_url} (Octopus Server {version}) by "
            "tentacle-ha cluster init."
        ),
        "# Values in <angle brackets> are what the API cannot tell: fill them in;",
        "# tentacle-ha refuses this file until you do.",
        "",
        "[cluster]",
        f"server = {_toml_str(state.server_url)}",
        f"thumbprint = {_toml_str(state.thumbprint)}",
        f"# Suggested: {why}.",
    ]
    if layout is Layout.LOAD_BALANCER:
        lines += [
            f"layout = {_toml_str(layout)}",
            "# The TCP-passthrough address in front of every node's comms port.",
            f"load_balancer = {_toml_str('<load balancer host[:port]>')}",
            '# Or poll each node: layout = "unique-address" (and no load_balancer).',
        ]
    else:
        lines += [
            f"layout = {_toml_str(layout)}",
            '# Or one host with a port per node: layout = "unique-port" with',
            '# load_balancer = "host" (and a public_port per node).',
        ]
    for node in state.nodes:
        lines += _node_lines(node)
    if state.space is not None:
        lines += ["", "[defaults]", f"space = {_toml_str(state.space)}"]
    return "\n".join(lines) + "\n"
