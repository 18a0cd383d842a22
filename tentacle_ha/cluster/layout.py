"""From a cluster description to the trusted-server list a Tentacle must have.

Pure functions, no I/O. `desired_servers` answers "what should this
Tentacle's ``TrustedOctopusServers`` be for this cluster?"; `migration_steps`
answers "in which safe order do I get there?", each step both as an edit of
the list and as the Tentacle command that does the same.

The rules, for the cluster thumbprint *T* and the cluster's comms addresses
*A* (one per node, or one load-balancer or WebSocket address):

- there is exactly one polling entry with *T* for each address in *A*; a
  polling entry with *T* at an address not in *A* (a removed node, or the
  per-node entries after moving to a load balancer) goes;
- they all carry one SubscriptionId: the one of an existing polling entry
  with *T*, else of an existing polling entry at one of the addresses in *A*
  (a certificate rotation), else a new one;
- entries for other thumbprints and listening entries stay untouched, in
  place, except polling entries of thumbprints the caller *retires* (the old
  certificate, once the rotation is done);
- entries that stay keep their position; new ones go to the end, in node
  order, as ``poll-server`` appends them.

Converging is idempotent: ``desired_servers(c, desired_servers(c, s)) ==
desired_servers(c, s)``, and the result's entries do not depend on the order of
the input's.

.. versionadded:: 0.1.0
"""

from __future__ import annotations

import enum
from typing import TYPE_CHECKING

import attrs

from tentacle_ha.servers import TrustedServer
from tentacle_ha.servers import TrustedServers
from tentacle_ha.servers import generate_subscription_id
from tentacle_ha.servers import normalize_thumbprint
from tentacle_ha.servers import same_address

if TYPE_CHECKING:
    from collections.abc import Iterable
    from collections.abc import Sequence

    from tentacle_ha.cluster._model import Cluster

__all__ = [
    "Step",
    "StepKind",
    "desired_servers",
    "migration_steps",
    "subscription_for",
]


def _retired(retire: Iterable[str]) -> set[str]:
    return {normalize_thumbprint(t) for t in retire}


def _in(address: str | None, addresses: Sequence[str | None]) -> bool:
    return any(same_address(address, a) for a in addresses)


def subscription_for(
    thumbprint: str, addresses: Sequence[str], current: TrustedServers
) -> str | None:
    """The SubscriptionId this Tentacle already uses for the cluster, if any.

    In order: a polling entry with *thumbprint* (ignoring case) at one of
    *addresses* (an entry that stays), any polling entry with *thumbprint*,
    then a polling entry at one of *addresses* under another thumbprint (the
    same nodes under a previous certificate).
    """
    wanted = thumbprint.upper()
    polling = [s for s in current.polling() if s.subscription_id]
    mine = [s for s in polling if s.thumbprint.upper() == wanted]
    for candidates in (
        [s for s in mine if _in(s.address, addresses)],
        mine,
        [s for s in polling if _in(s.address, addresses)],
    ):
        if candidates:
            return candidates[0].subscription_id
    return None


def desired_servers(
    cluster: Cluster,
    current: TrustedServers,
    *,
    retire: Iterable[str] = (),
    subscription_id: str | None = None,
) -> TrustedServers:
    """The trusted-server list this Tentacle must have for *cluster*.

    Args:
        cluster: the cluster description.
        current: the Tentacle's list now.
        retire: thumbprints whose polling entries must go (a finished
            certificate rotation).
        subscription_id: the ID to use when the Tentacle has none yet
            (default: a new one, as ``register-with`` makes).

    .. versionadded:: 0.1.0
    """
    thumb = cluster.thumbprint
    wanted = cluster.comms_addresses()
    sub = (
        subscription_for(thumb, wanted, current)
        or subscription_id
        or generate_subscription_id()
    )
    return _converge(cluster, current, _retired(retire) - {thumb}, sub)


def _converge(
    cluster: Cluster, current: TrustedServers, retired: set[str], sub: str
) -> TrustedServers:
    """`desired_servers` with the SubscriptionId already chosen."""
    thumb = cluster.thumbprint
    wanted = cluster.comms_addresses()
    out: list[TrustedServer] = []
    covered: list[str] = []
    for server in current:
        upper = server.thumbprint.upper()
        if server.is_polling and upper in retired:
            continue
        if upper != thumb or not server.is_polling:
            out.append(server)
            continue
        match = next((a for a in wanted if same_address(server.address, a)), None)
        if match is None or match in covered:
            continue  # a node the cluster no longer has, or a duplicate
        covered.append(match)
        out.append(attrs.evolve(server, thumbprint=thumb, subscription_id=sub))
    out.extend(
        TrustedServer.polling(thumb, address, subscription_id=sub)
        for address in wanted
        if address not in covered
    )
    return current.replace_all(out)


class StepKind(enum.StrEnum):
    """What a migration step does.

    .. versionadded:: 0.1.0
    """

    ADD = "add"
    """Start polling an address (a new node, or the load balancer)."""
    REMOVE = "remove"
    """Stop polling an address (a removed node, or a per-node entry)."""
    RETIRE = "retire"
    """Drop every polling entry of an old certificate thumbprint."""
    NORMALISE = "normalise"
    """Fix entries in place: upper-case thumbprint, one SubscriptionId."""


@attrs.frozen(kw_only=True)
class Step:
    """One step of a migration, in the order it must run.

    Attributes:
        kind: what the step does.
        thumbprint: the certificate it concerns.
        address: the comms address (ADD and REMOVE).
        subscription_id: the ID an added or normalised entry gets.
        description: one line for people.

    .. versionadded:: 0.1.0
    """

    kind: StepKind
    thumbprint: str
    address: str | None = None
    subscription_id: str | None = None
    description: str = ""

    def apply(self, servers: TrustedServers, cluster: Cluster) -> TrustedServers:
        """The list after this step."""
        if self.kind is StepKind.ADD:
            assert self.address is not None  # noqa: S101 -- ADD always has one
            return servers.add_polling(
                self.thumbprint, self.address, subscription_id=self.subscription_id
            )
        if self.kind is StepKind.REMOVE:
            return servers.replace_all(
                s
                for s in servers
                if not (
                    s.is_polling
                    and s.thumbprint.upper() == self.thumbprint
                    and same_address(s.address, self.address)
                )
            )
        if self.kind is StepKind.RETIRE:
            return servers.replace_all(
                s
                for s in servers
                if not (s.is_polling and s.thumbprint.upper() == self.thumbprint)
            )
        assert self.subscription_id is not None  # noqa: S101 -- NORMALISE has one
        return _converge(cluster, servers, set(), self.subscription_id)


def migration_steps(
    cluster: Cluster,
    current: TrustedServers,
    *,
    retire: Iterable[str] = (),
    subscription_id: str | None = None,
) -> tuple[Step, ...]:
    """The steps from *current* to `desired_servers`, safest order first.

    Additions come first, so a Tentacle never polls nothing: new nodes (or
    the load balancer) are added, then per-node entries the cluster no longer
    has are removed, then retired certificates are dropped, then entries are
    normalised in place. Applying every step in order gives exactly
    ``desired_servers(cluster, current, retire=retire)``.

    .. versionadded:: 0.1.0
    """
    thumb = cluster.thumbprint
    wanted = cluster.comms_addresses()
    retired = sorted(_retired(retire) - {thumb})
    sub = (
        subscription_for(thumb, wanted, current)
        or subscription_id
        or generate_subscription_id()
    )
    mine = [s for s in current if s.is_polling and s.thumbprint.upper() == thumb]
    steps: list[Step] = [
        Step(
            kind=StepKind.ADD,
            thumbprint=thumb,
            address=address,
            subscription_id=sub,
            description=f"poll {address}",
        )
        for address in wanted
        if not any(same_address(s.address, address) for s in mine)
    ]
    seen: list[str | None] = []
    for server in mine:
        if _in(server.address, wanted) or _in(server.address, seen):
            continue
        seen.append(server.address)
        steps.append(
            Step(
                kind=StepKind.REMOVE,
                thumbprint=thumb,
                address=server.address,
                description=f"stop polling {server.address}",
            )
        )
    steps.extend(
        Step(
            kind=StepKind.RETIRE,
            thumbprint=old,
            description=f"stop trusting retired certificate {old}",
        )
        for old in retired
        if any(s.is_polling and s.thumbprint.upper() == old for s in current)
    )
    state = current
    for step in steps:
        state = step.apply(state, cluster)
    goal = desired_servers(cluster, current, retire=retire, subscription_id=sub)
    if state != goal:
        steps.append(
            Step(
                kind=StepKind.NORMALISE,
                thumbprint=thumb,
                subscription_id=sub,
                description="normalise entries (thumbprint case, one SubscriptionId)",
            )
        )
    return tuple(steps)
