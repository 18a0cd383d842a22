"""The edits a fleet run applies: small picklable values changing one config.

An edit has ``apply(doc)``, which changes a `TentacleConfig` in place (a
no-op when it is already as wanted), ``describe()``, one line saying what it
does with secrets hidden, and ``skip_reason(doc)``, which may refuse a file
the edit does not concern. `tentacle_ha.fleet.plan` and
`tentacle_ha.fleet.apply` run one edit over many files in worker processes,
so an edit is a frozen value that pickles.

`SyncToCluster` (which is also how to *migrate layout*: sync to a cluster
description of the new layout), `AddNode`, `RemoveNode`, `Rotate`,
`KeepOnly`, `SetKey`, `UnsetKey`, `SetPollingConnectionCount`.

Where this differs from Tentacle, for safety: `AddNode` copies the
SubscriptionId as ``poll-server`` does and refuses when there is none to copy;
`SyncToCluster` never invents a SubscriptionId (the server would not know it);
`RemoveNode`, `KeepOnly` and `SyncToCluster` refuse to leave a polling
Tentacle with nothing to poll (`tentacle_ha.servers.refuse_orphaning`) unless
built with ``allow_empty=True``; the CLI fails a `RemoveNode` run
that matched no file.

.. versionadded:: 0.1.0
"""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING
from typing import Final

import attrs

from tentacle_ha._secret import REDACTED
from tentacle_ha.cluster import dumps_cluster
from tentacle_ha.cluster.layout import desired_servers
from tentacle_ha.cluster.layout import subscription_for
from tentacle_ha.config import loads
from tentacle_ha.config._keys import check_known_key
from tentacle_ha.config._values import fold
from tentacle_ha.config._values import is_secret_key
from tentacle_ha.errors import FleetError
from tentacle_ha.errors import InvalidValueError
from tentacle_ha.errors import TentacleHAError
from tentacle_ha.fleet._sync_memo import known
from tentacle_ha.fleet._sync_memo import synced
from tentacle_ha.servers import TRUSTED_SERVERS_KEY
from tentacle_ha.servers import TrustedServer
from tentacle_ha.servers import TrustedServers
from tentacle_ha.servers import normalize_thumbprint
from tentacle_ha.servers import refuse_orphaning
from tentacle_ha.servers import same_address

if TYPE_CHECKING:
    from collections.abc import Iterable

    from tentacle_ha.cluster import Cluster
    from tentacle_ha.config import TentacleConfig

__all__ = [
    "AddNode",
    "Edit",
    "KeepOnly",
    "RemoveNode",
    "Rotate",
    "SetKey",
    "SetPollingConnectionCount",
    "SyncToCluster",
    "UnsetKey",
    "guard_servers_setting",
]


def __dir__() -> list[str]:
    return __all__


class Edit:
    """One change to apply to many configs: a picklable value.

    Subclasses implement `apply` and `describe`, and may refuse a file with
    `skip_reason`. `apply` raising a `TentacleHAError` fails that file only.

    .. versionadded:: 0.1.0
    """

    __slots__ = ()

    def apply(self, doc: TentacleConfig) -> None:
        """Change *doc* in place (a no-op when it is already as wanted)."""
        raise NotImplementedError

    def describe(self) -> str:
        """One line saying exactly what the edit does (secrets hidden)."""
        raise NotImplementedError

    def identity(self) -> str:
        """What makes two edits the same change, however their inputs were spelled.

        `describe()` unless that names a file: a reviewed plan is matched to
        the edit by this, so the same cluster file read from another folder
        (or as ``./x.toml``) is the same edit. Secret values are not in it
        (the plan pins them with a keyed hash instead).
        """
        return self.describe()

    def skip_reason(self, doc: TentacleConfig) -> str | None:  # noqa: ARG002 -- the default applies everywhere
        """Why this edit does not concern *doc* (it is then skipped), or None."""
        return None


def _not_polling(doc: TentacleConfig) -> str | None:
    if not doc.trusted_servers.polls:
        return "not a polling Tentacle (no polling entries)"
    return None


def _thumbprints(values: Iterable[str]) -> tuple[str, ...]:
    return tuple(normalize_thumbprint(v) for v in values)


@attrs.frozen
class SyncToCluster(Edit):
    """Make the polling entries exactly what *cluster* needs (`desired_servers`).

    Migrating between layouts is this edit with a cluster description of the
    new layout: new addresses are added, old ones removed, the SubscriptionId
    kept. Thumbprints in *retire* lose their polling entries (the end of a
    certificate rotation). A Tentacle without polling entries is skipped; one
    with no SubscriptionId for this cluster fails (register it first).

    .. versionadded:: 0.1.0
    """

    cluster: Cluster
    retire: tuple[str, ...] = attrs.field(default=(), converter=_thumbprints)
    allow_empty: bool = attrs.field(default=False, kw_only=True)

    def skip_reason(self, doc: TentacleConfig) -> str | None:
        """Skip Tentacles that do not poll.

        A list of a shape this worker has synced has polling entries: it is
        not parsed to find that out again (see ``_sync_memo``).
        """
        if known(self, doc):
            return None
        return _not_polling(doc)

    def apply(self, doc: TentacleConfig) -> None:
        """Converge *doc*'s trusted servers on the cluster.

        A worker works the new list out once per list shape (the same text
        but for the SubscriptionIds; see ``_sync_memo``), with the same result.

        Raises:
            FleetError: no SubscriptionId for this cluster to keep.
        """
        synced(self, doc, lambda: self._converged(doc))

    def _converged(self, doc: TentacleConfig) -> TrustedServers:
        """The new list for *doc*, or a refusal."""
        servers = doc.trusted_servers
        wanted = self.cluster.comms_addresses()
        if subscription_for(self.cluster.thumbprint, wanted, servers) is None:
            raise FleetError(
                "polls other servers only: no SubscriptionId for this cluster "
                "to keep (register the Tentacle with the cluster first)",
                path=doc.name,
            )
        new = desired_servers(self.cluster, servers, retire=self.retire)
        refuse_orphaning(
            servers, new, what="syncing to the cluster", allow_empty=self.allow_empty
        )
        return new

    def describe(self) -> str:
        """The cluster's layout, thumbprint and addresses."""
        where = self.cluster.path or self.cluster.server_url
        text = (
            f"sync to cluster {where}: {self.cluster.layout} layout, thumbprint "
            f"{self.cluster.thumbprint}, addresses "
            f"{', '.join(self.cluster.comms_addresses())}"
        )
        if self.retire:
            text += f"; retire {', '.join(self.retire)}"
        return text + _ALLOW_EMPTY[self.allow_empty]

    def identity(self) -> str:
        """The cluster by content (its normalised text), not by its file's name."""
        digest = hashlib.sha256(dumps_cluster(self.cluster).encode()).hexdigest()
        text = f"sync to cluster sha256:{digest}"
        if self.retire:
            text += f"; retire {', '.join(self.retire)}"
        return text + _ALLOW_EMPTY[self.allow_empty]


_ALLOW_EMPTY: Final = {False: "", True: " (allowing an empty list)"}


def _address(value: str) -> str:
    text = value.strip()
    if not text:
        msg = "an address cannot be empty"
        raise InvalidValueError(msg)
    return text


@attrs.frozen
class AddNode(Edit):
    """Poll one more address, as ``poll-server`` does.

    The SubscriptionId is copied from the Tentacle's polling entry with the
    same thumbprint (ignoring case); a Tentacle with none fails, like
    ``poll-server``. An entry already there is left as it is.

    Raises:
        InvalidValueError: on construction, a bad thumbprint or address.

    .. versionadded:: 0.1.0
    """

    thumbprint: str = attrs.field(converter=normalize_thumbprint)
    address: str = attrs.field(converter=_address)

    def __attrs_post_init__(self) -> None:
        TrustedServer.polling(self.thumbprint, self.address)  # validates

    def skip_reason(self, doc: TentacleConfig) -> str | None:
        """Skip Tentacles that do not poll."""
        return _not_polling(doc)

    def apply(self, doc: TentacleConfig) -> None:
        """Add the entry.

        Raises:
            FleetError: no polling entry with this thumbprint to copy from.
        """
        servers = doc.trusted_servers
        sub = servers.subscription_id_for(self.thumbprint)
        if sub is None:
            raise FleetError(
                f"no polling entry for thumbprint {self.thumbprint} to copy the "
                "SubscriptionId from (poll-server fails the same way)",
                path=doc.name,
            )
        doc.trusted_servers = servers.add_polling(
            self.thumbprint, self.address, subscription_id=sub
        )

    def describe(self) -> str:
        """The address and thumbprint."""
        return f"add node {self.address} (thumbprint {self.thumbprint})"


@attrs.frozen
class RemoveNode(Edit):
    """Stop polling *address* (every polling entry there, any thumbprint).

    Refuses to remove a Tentacle's last polling entry unless *allow_empty*.
    A file that does not poll *address* is left unchanged (applying twice
    changes nothing); a run where no file matched is for the caller to
    refuse (``fleet`` exits 1 "nothing matched"); `matches` tells per file.

    .. versionadded:: 0.1.0
    """

    address: str = attrs.field(converter=_address)
    allow_empty: bool = attrs.field(default=False, kw_only=True)

    def matches(self, doc: TentacleConfig) -> bool:
        """Whether *doc* polls the address."""
        return any(
            s.is_polling and same_address(s.address, self.address)
            for s in doc.trusted_servers
        )

    def apply(self, doc: TentacleConfig) -> None:
        """Remove the entries.

        Raises:
            OrphaningEditError: it would leave no polling entry.
        """
        servers = doc.trusted_servers
        new = servers.replace_all(
            s
            for s in servers
            if not (s.is_polling and same_address(s.address, self.address))
        )
        refuse_orphaning(
            servers,
            new,
            what=f"removing {self.address}",
            allow_empty=self.allow_empty,
        )
        doc.trusted_servers = new

    def describe(self) -> str:
        """The address."""
        return f"remove node {self.address}" + _ALLOW_EMPTY[self.allow_empty]


@attrs.frozen
class Rotate(Edit):
    """Move trust from certificate *old* to *new* (`TrustedServers.rotate`).

    Staged: the new thumbprint is trusted beside the old one; rotate again
    without *staged* (or sync with ``retire``) to finish.

    .. versionadded:: 0.1.0
    """

    old: str = attrs.field(converter=normalize_thumbprint)
    new: str = attrs.field(converter=normalize_thumbprint)
    staged: bool = attrs.field(default=False, kw_only=True)

    def apply(self, doc: TentacleConfig) -> None:
        """Rotate the entries of *old*."""
        doc.trusted_servers = doc.trusted_servers.rotate(
            self.old, self.new, staged=self.staged
        )

    def describe(self) -> str:
        """Old, new, staged."""
        how = "staged rotation" if self.staged else "rotate"
        return f"{how} {self.old} -> {self.new}"


def _addresses(values: Iterable[str]) -> tuple[str, ...]:
    addresses = tuple(_address(v) for v in values)
    if not addresses:
        msg = "keep at least one address"
        raise InvalidValueError(msg)
    return addresses


@attrs.frozen
class KeepOnly(Edit):
    """Keep only polling entries at *addresses* (``clear-trusted-servers --keep``).

    Listening entries stay. Refuses to leave a polling Tentacle with nothing
    to poll.

    .. versionadded:: 0.1.0
    """

    addresses: tuple[str, ...] = attrs.field(converter=_addresses)
    allow_empty: bool = attrs.field(default=False, kw_only=True)

    def apply(self, doc: TentacleConfig) -> None:
        """Drop the other polling entries.

        Raises:
            OrphaningEditError: none of the addresses is polled.
        """
        doc.trusted_servers = doc.trusted_servers.keep_only(
            self.addresses, allow_empty=self.allow_empty
        )

    def describe(self) -> str:
        """The addresses kept."""
        return f"keep only {', '.join(self.addresses)}" + _ALLOW_EMPTY[self.allow_empty]


def guard_servers_setting(
    doc: TentacleConfig, key: str, value: str | None, *, allow_empty: bool
) -> None:
    """Refuse setting or removing the TrustedOctopusServers key so it orphans.

    *value* None means removing the key. The same rule as every other write
    path (`tentacle_ha.servers.refuse_orphaning`); a list in the file that
    does not parse is not guarded (the write may be its repair).

    Raises:
        OrphaningEditError: no polling entry would be left, not *allow_empty*.
        TrustedServersError: *value* is not a valid array.
    """
    if fold(key) != fold(TRUSTED_SERVERS_KEY):
        return
    try:
        current = doc.trusted_servers
    except TentacleHAError:
        return
    new = TrustedServers.from_json(value)
    what = f"removing {key}" if value is None else f"setting {key}"
    refuse_orphaning(current, new, what=what, allow_empty=allow_empty)


def _check_setting(key: str, value: str | None) -> None:
    """Refuse, once and up front, a value no file could store."""
    loads(b"<octopus-settings />").set(key, value)


@attrs.frozen
class SetKey(Edit):
    """Set one setting, as Tentacle would store it (`TentacleConfig.set`).

    The value of a secret key never shows in `describe` or the repr. A key
    Tentacle does not know (a typo, most likely) is refused unless *new_key*.

    Raises:
        InvalidValueError: on construction, a value the key cannot hold.
        UnknownKeyError: on construction, an unknown key and not *new_key*.

    .. versionadded:: 0.1.0
    """

    key: str
    value: str | None = attrs.field(repr=False)
    new_key: bool = attrs.field(default=False, kw_only=True)
    allow_empty: bool = attrs.field(default=False, kw_only=True)

    def __attrs_post_init__(self) -> None:
        if not self.new_key:
            check_known_key(self.key)
        _check_setting(self.key, self.value)

    def apply(self, doc: TentacleConfig) -> None:
        """Set it (a TrustedOctopusServers value must leave something to poll)."""
        guard_servers_setting(
            doc, self.key, self.value or "", allow_empty=self.allow_empty
        )
        doc.set(self.key, self.value)

    def describe(self) -> str:
        """Key and value (``***`` for a secret)."""
        shown = REDACTED if is_secret_key(self.key) else repr(self.value)
        return f"set {self.key} = {shown}" + _ALLOW_EMPTY[self.allow_empty]


@attrs.frozen
class UnsetKey(Edit):
    """Remove one setting's element(s); a missing key is not an error.

    .. versionadded:: 0.1.0
    """

    key: str
    allow_empty: bool = attrs.field(default=False, kw_only=True)

    def apply(self, doc: TentacleConfig) -> None:
        """Remove it (TrustedOctopusServers only if that orphans nothing)."""
        guard_servers_setting(doc, self.key, None, allow_empty=self.allow_empty)
        doc.delete(self.key, missing_ok=True)

    def describe(self) -> str:
        """The key."""
        return f"unset {self.key}" + _ALLOW_EMPTY[self.allow_empty]


def _count(value: int) -> int:
    checked: object = value
    if (
        not isinstance(checked, int)
        or isinstance(checked, bool)
        or not 1 <= value <= 2**31 - 1
    ):
        msg = f"the polling connection count is a whole number from 1, not {value!r}"
        raise InvalidValueError(msg)
    return value


@attrs.frozen
class SetPollingConnectionCount(Edit):
    """Set ``Tentacle.Communication.PollingConnectionCount`` (connections per node).

    .. versionadded:: 0.1.0
    """

    count: int = attrs.field(converter=_count)

    def apply(self, doc: TentacleConfig) -> None:
        """Set it."""
        doc.polling_connection_count = self.count

    def describe(self) -> str:
        """The count."""
        return f"set the polling connection count to {self.count}"
