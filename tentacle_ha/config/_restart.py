"""Private: whether a change needs the Tentacle service restarted.

The running agent reads its settings when it starts (Halibut is set up once,
in ``HalibutInitializer``: the trusted servers, the polling connections per
node, the listening port and address, the certificate, the proxies), so a
change to any of them is seen only after ``Tentacle service --restart``.

`RESTART_KEYS` is every key Tentacle knows (`KNOWN_KEYS`) except three it
never reads at start: ``Tentacle.Services.IsRegistered`` (Kubernetes agent
registration only), ``Tentacle.Communication.LastReceivedHandshake`` (legacy,
no caller) and ``Octopus.Storage.MasterKey`` (Tentacle 2/3; unknown to current
code). Erring towards "restart": a needless restart costs seconds, a missed
one leaves a Tentacle polling the old list. Keys Tentacle does not know are
never read, so they need no restart.
"""

from __future__ import annotations

from typing import TYPE_CHECKING
from typing import Final

from tentacle_ha.config._keys import KNOWN_KEYS
from tentacle_ha.config._values import KEYS
from tentacle_ha.config._values import fold

if TYPE_CHECKING:
    from collections.abc import Iterable

    from tentacle_ha.config._document import TentacleConfig

__all__ = ["RESTART_KEYS", "needs_restart", "restart_required"]

RESTART_KEYS: Final = KNOWN_KEYS - {
    KEYS.IS_REGISTERED,
    "Tentacle.Communication.LastReceivedHandshake",
    KEYS.MASTER_KEY,
}
"""The keys the running Tentacle reads only when it starts."""

_FOLDED: Final = frozenset(fold(k) for k in RESTART_KEYS)


def needs_restart(keys: Iterable[str]) -> bool:
    """Whether changing any of *keys* (compared ignoring case) needs a restart.

    E.g. ``needs_restart(doc.changed_keys)`` after editing *doc*.

    .. versionadded:: 0.1.0
    """
    return any(fold(k) in _FOLDED for k in keys)


def restart_required(before: TentacleConfig, after: TentacleConfig) -> bool:
    """Whether going from *before* to *after* needs the Tentacle restarted.

    True when a key of `RESTART_KEYS` reads differently (absent, empty and
    blank all read as Tentacle's default, so they compare equal). A pure
    function of the two documents; fleet reports can call it per file.

    .. versionadded:: 0.1.0
    """
    for key in RESTART_KEYS:
        if before.get(key, reveal=True) != after.get(key, reveal=True):
            return True
    return False
