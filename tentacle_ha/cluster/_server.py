"""Private: what the Octopus Server API says about the cluster, and the drift.

`ServerState` is what ``tentacle-ha cluster init`` and the server-side drift
checks read from the API (`tentacle_ha.check` does the reading): the
version, the nodes the server lists and the thumbprint of its current comms
certificate. `server_drift` compares it with a cluster description and the
thumbprints a Tentacle (or a fleet) trusts, without any network, and
returns one `Drift` per difference; `check` turns them into rows, the fleet
audit into findings, so both say the same thing.

The names other modules use have no leading underscore; the helpers only
this module uses keep theirs.

.. versionadded:: 0.1.0
"""

from __future__ import annotations

import enum
import re
from typing import TYPE_CHECKING
from typing import Final

import attrs

from tentacle_ha.servers import thumbprint_key

if TYPE_CHECKING:
    from collections.abc import Iterable

    from tentacle_ha.cluster._model import Cluster

__all__ = [
    "LOAD_BALANCER_MIN_VERSION",
    "Drift",
    "DriftCode",
    "ServerNode",
    "ServerState",
    "server_drift",
]

#: The oldest Octopus Server with multi-node polling, which the load-balancer
#: layout needs: ``(year, release)``.
LOAD_BALANCER_MIN_VERSION: Final = (2026, 4)

_VERSION: Final = re.compile(r"\s*([0-9]+)\.([0-9]+)")


def version_at_least(version: str | None, minimum: tuple[int, int]) -> bool:
    """Whether *version* (``2026.4.1234``) is at least ``(year, release)``.

    A missing or unreadable version is not.
    """
    match = _VERSION.match(version) if isinstance(version, str) else None
    return match is not None and (int(match[1]), int(match[2])) >= minimum


@attrs.frozen(kw_only=True)
class ServerNode:
    """One node as ``/api/octopusservernodes`` lists it.

    Attributes:
        name: ``Name``.
        offline: ``IsOffline`` (the server has not heard from it lately);
            None when the server does not say.
        draining: ``IsInMaintenanceMode`` (drain mode); None when not said.

    .. versionadded:: 0.1.0
    """

    name: str
    offline: bool | None = None
    draining: bool | None = None

    def to_dict(self) -> dict[str, object]:
        """JSON-ready: name, offline, draining."""
        return {"name": self.name, "offline": self.offline, "draining": self.draining}


@attrs.frozen(kw_only=True)
class ServerState:
    """What the Octopus Server API told us (no secrets in it).

    Attributes:
        server_url: the URL it was read from (no credentials).
        version: the root document's ``Version``, if it has one.
        thumbprint: the comms certificate thumbprint (``certificate-global``),
            40 upper-case hex digits.
        nodes: the nodes, in the server's order.
        space: the space asked for, as the server spells it (None when no
            space was asked for).

    .. versionadded:: 0.1.0
    """

    server_url: str
    version: str | None
    thumbprint: str
    nodes: tuple[ServerNode, ...]
    space: str | None = None

    @property
    def multi_node_polling(self) -> bool:
        """Whether the version has multi-node polling (the load-balancer layout)."""
        return version_at_least(self.version, LOAD_BALANCER_MIN_VERSION)

    def to_dict(self) -> dict[str, object]:
        """JSON-ready: server, version, thumbprint, nodes, space."""
        return {
            "server": self.server_url,
            "version": self.version,
            "thumbprint": self.thumbprint,
            "nodes": [n.to_dict() for n in self.nodes],
            "space": self.space,
        }


class DriftCode(enum.StrEnum):
    """What differs between the server and the files.

    .. versionadded:: 0.1.0
    """

    #: The server lists a node the cluster file lacks: no Tentacle polls it.
    NODE_NOT_IN_CLUSTER = "server_node_missing"
    #: The server lists, offline, a node the cluster file lacks.
    OFFLINE_NODE_NOT_IN_CLUSTER = "server_node_offline"
    #: The cluster file lists a node the server does not.
    NODE_NOT_ON_SERVER = "server_node_unknown"
    #: The Tentacle does not trust the server's current certificate.
    THUMBPRINT_CHANGED = "server_thumbprint_changed"
    #: The cluster file's thumbprint is not the server's current certificate.
    CLUSTER_THUMBPRINT_STALE = "cluster_thumbprint_stale"


@attrs.frozen(kw_only=True)
class Drift:
    """One difference between the server and a cluster file or a Tentacle.

    Attributes:
        code: what kind of difference.
        error: True for an error, False for a warning.
        message: one line for people.
        node: the node it is about, if any.
        old_thumbprint: for a changed certificate: the thumbprint trusted now
            (for a stale cluster file: the file's).
        new_thumbprint: for a changed certificate or a stale cluster file:
            the server's current one.

    .. versionadded:: 0.1.0
    """

    code: DriftCode
    error: bool
    message: str
    node: str | None = None
    old_thumbprint: str | None = None
    new_thumbprint: str | None = None


def _unlisted(node: ServerNode) -> Drift:
    """The drift of a node the server lists and the cluster file lacks."""
    if node.offline:
        return Drift(
            code=DriftCode.OFFLINE_NODE_NOT_IN_CLUSTER,
            error=False,
            node=node.name,
            message=f"the server lists node {node.name} (offline), which the "
            "cluster file lacks; if it is gone for good, delete it on the "
            "server, else add it to the file",
        )
    return Drift(
        code=DriftCode.NODE_NOT_IN_CLUSTER,
        error=True,
        node=node.name,
        message=f"the server lists node {node.name}, which the cluster file "
        f"lacks: every Tentacle misses node {node.name} (tasks queued there "
        "wait); add it to the file, then sync",
    )


def server_drift(
    state: ServerState,
    cluster: Cluster | None,
    trusted: Iterable[str] = (),
) -> list[Drift]:
    """The differences between *state* and *cluster* and the *trusted* thumbprints.

    * a node the server lists and *cluster* lacks: an error when the server
      has it online (every Tentacle misses it: tasks queued there wait), a
      warning when the server has it offline (perhaps a node gone for good
      whose record is left);
    * a node *cluster* lists and the server does not: a warning;
    * the server's thumbprint is none of *trusted* (the thumbprints a
      Tentacle trusts, in its order; empty: not compared): an error
      (``THUMBPRINT_CHANGED``), with the thumbprint to rotate from (the
      cluster's when the Tentacle trusts it, else the Tentacle's first) and
      to, whatever the cluster file says;
    * the server's thumbprint is not *cluster*'s: an error
      (``CLUSTER_THUMBPRINT_STALE``): the file is stale, and syncing a
      Tentacle to it would move it to a certificate the server no longer
      presents. Both can hold at once.

    Node names compare ignoring case, as the cluster file's names do.
    """
    found: list[Drift] = []
    if cluster is not None:
        mine = {n.name.lower() for n in cluster.nodes}
        theirs = {n.name.lower() for n in state.nodes}
        found.extend(_unlisted(n) for n in state.nodes if n.name.lower() not in mine)
        found.extend(
            Drift(
                code=DriftCode.NODE_NOT_ON_SERVER,
                error=False,
                node=node.name,
                message=f"the cluster file lists node {node.name}, which the "
                "server does not (removed or renamed?)",
            )
            for node in cluster.nodes
            if node.name.lower() not in theirs
        )
    current = thumbprint_key(state.thumbprint)
    keys = [thumbprint_key(t) for t in trusted]
    filed = None if cluster is None else thumbprint_key(cluster.thumbprint)
    if keys and current not in keys:
        old = filed if filed in keys else keys[0]
        found.append(
            Drift(
                code=DriftCode.THUMBPRINT_CHANGED,
                error=True,
                message=f"the server's certificate is now {current}, but "
                f"the Tentacle trusts {old}",
                old_thumbprint=old,
                new_thumbprint=current,
            )
        )
    if filed is not None and filed != current:
        where = "" if cluster is None or cluster.path is None else f" {cluster.path}"
        found.append(
            Drift(
                code=DriftCode.CLUSTER_THUMBPRINT_STALE,
                error=True,
                message=f"the server's certificate is now {current}, but the "
                f"cluster file says {filed}; fix: set thumbprint = "
                f'"{current}" in the cluster file{where}',
                old_thumbprint=filed,
                new_thumbprint=current,
            )
        )
    return found
