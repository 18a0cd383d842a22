"""Private: the table of the keys Tentacle knows, and did-you-mean for typos.

`KNOWN_KEYS` lists every Tentacle.config key the agent (or one of its
commands) reads or writes, from Tentacle's ``TentacleConfiguration``,
``HomeConfiguration``, ``ProxyConfiguration`` and ``PollingProxyConfiguration``
(see /work/shared/reference/tentacle-facts.md, section 2), plus
``Octopus.Storage.MasterKey`` (Tentacle 2/3 era, still found in old files)
and ``Octopus.Node.Cache`` (mapped from ``OCTOPUS_NODE_CACHE``).

Deliberately not listed: the keys ``show-configuration`` adds from the
server (``Tentacle.Roles``, ``Tentacle.Environments``, ``Tentacle.WorkerPools``
...) and ``Octopus.Watchdog.*``, which live on the server or in a Windows
scheduled task, never in Tentacle.config: setting them there does nothing.

Keys compare ignoring case, as Tentacle's dictionary does
(``OrdinalIgnoreCase``, `tentacle_ha.config._values.fold`). A key Tentacle
does not know is kept by Tentacle but never read, so writing one is almost
always a typo: `check_known_key` refuses it with a suggestion.
"""

from __future__ import annotations

import difflib
from typing import TYPE_CHECKING
from typing import Final

from tentacle_ha.config._values import KEYS
from tentacle_ha.config._values import fold
from tentacle_ha.errors import UnknownKeyError

if TYPE_CHECKING:
    from collections.abc import Iterable

__all__ = ["KNOWN_KEYS", "check_known_key", "is_known_key", "suggest_key"]

_PROXY_FIELDS: Final = (
    "UseDefaultProxy",
    "ProxyHost",
    "ProxyPort",
    "ProxyUsername",
    "ProxyPassword",
)

KNOWN_KEYS: Final = frozenset(
    {
        KEYS.HOME,
        KEYS.APPLICATION_DIRECTORY,
        KEYS.PORT_NUMBER,
        KEYS.LISTEN_IP,
        KEYS.NO_LISTEN,
        KEYS.TRUSTED_SERVERS,
        KEYS.POLLING_CONNECTION_COUNT,
        KEYS.CERTIFICATE_THUMBPRINT,
        KEYS.CERTIFICATE,
        KEYS.IS_REGISTERED,
        "Tentacle.Communication.LastReceivedHandshake",
        KEYS.SQUID,
        KEYS.MASTER_KEY,
        "Octopus.Node.Cache",
        *(KEYS.WEB_PROXY_PREFIX + f for f in _PROXY_FIELDS),
        *(KEYS.POLLING_PROXY_PREFIX + f for f in _PROXY_FIELDS),
    }
)
"""Every key Tentacle reads or writes in Tentacle.config, spelled as it does."""

_BY_FOLD: Final = {fold(k): k for k in KNOWN_KEYS}


def is_known_key(key: str) -> bool:
    """Whether Tentacle knows *key* (compared ignoring case)."""
    return fold(key) in _BY_FOLD


def suggest_key(key: str, candidates: Iterable[str] = ()) -> str | None:
    """The known key (or one of *candidates*) *key* is most likely a typo of.

    Compared ignoring case, with `difflib`; None when nothing is close.
    """
    pool = dict(_BY_FOLD)
    pool.update({fold(c): c for c in candidates})
    pool.pop(fold(key), None)
    close = difflib.get_close_matches(fold(key), list(pool), n=1, cutoff=0.8)
    return pool[close[0]] if close else None


def check_known_key(key: str, *, present: Iterable[str] = ()) -> None:
    """Refuse writing a key Tentacle does not know (a typo, most likely).

    Args:
        key: the key to be written.
        present: the keys already in the file; writing one of them again is
            fine, whatever it is.

    Raises:
        UnknownKeyError: *key* is neither known nor present; the message has
            a did-you-mean when a known key is close.
    """
    present = list(present)
    if is_known_key(key) or any(fold(p) == fold(key) for p in present):
        return
    hint = suggest_key(key, present)
    mean = f"did you mean {hint!r}? " if hint else ""
    msg = (
        f"{key!r} is not a key Tentacle knows; {mean}"
        "Tentacle would keep it but never read it (pass --new-key to add it anyway)"
    )
    raise UnknownKeyError(msg)
