"""Private: `SyncToCluster`'s new server list, worked out once per list shape.

Across a fleet registered with one cluster, the TrustedOctopusServers arrays
are the same text but for each Tentacle's SubscriptionId. Syncing them runs
the same steps on the same entries every time (the SubscriptionId to keep,
the converge, the orphaning check, the JSON written), so a worker remembers
the outcome per *shape*: the array's exact text with each SubscriptionId
value replaced by a numbered placeholder (in order of first appearance).
Another file of the same shape gets the remembered JSON with its own IDs put
back, written as the `TentacleConfig.trusted_servers` setter writes a list
it has checked (the remembered text is that setter's own rendering of the
remembered list, whose new entries it checked). Neither the file's list nor
the new one is parsed again, and the file is not skipped: a shape is
remembered only from a file with polling entries, so one of its shape has
them too (`known`, for `SyncToCluster.skip_reason`).

Why that is the same as running the steps: every step treats a
SubscriptionId as an opaque value (compared for equality, tested for being
set, copied, written back as a JSON string); none looks inside it, sorts or
hashes by it or measures it. So consistently renaming the IDs of the input
renames those of the output and changes nothing else. Only what keeps that
argument simple is taken, else the steps run as before:

- an ID is taken only as ``"SubscriptionId": "poll://<letters and digits>/"``
  (a valid ID that needs no escaping) and only if it occurs nowhere else in
  the text (not in an address, not in an unknown field), in a text with no
  backslash, ``&`` or ``<`` (a JSON escape, an XML reference, a comment or
  CDATA could spell the same ID another way, unseen);
- a result is remembered only when the steps succeeded (refusals are never
  remembered, so a file that fails fails by the steps themselves) for a file
  whose list read and had polling entries (so it was not skipped), when the
  JSON written holds each ID only where it was copied (no ``poll:`` left
  after the placeholders go in: an escaped form would show; and each ID's
  text only as a SubscriptionId, not inside an address the cluster gave) and
  when parsing that JSON gives back the list the steps built (defensive: no
  input has been found where it does not; the setter must see the same
  entries);
- at most `_MAX_SHAPES` shapes per edit; beyond that, the steps run.

``tests/fleet/test_sync_memo.py`` compares the two routes byte for byte
over generated fleets (every drift, pretty arrays, IDs of every length) and
the corpus, and shows each guard is needed.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING
from typing import Final

from tentacle_ha.config._values import fold
from tentacle_ha.errors import TentacleHAError
from tentacle_ha.servers import TRUSTED_SERVERS_KEY
from tentacle_ha.servers import TrustedServers

if TYPE_CHECKING:
    from collections.abc import Callable

    from tentacle_ha.config import TentacleConfig

__all__ = ["known", "synced"]

_MAX_SHAPES: Final = 256
_SERVERS_FOLDED: Final = fold(TRUSTED_SERVERS_KEY)
_ID: Final = re.compile(r'"SubscriptionId"\s*:\s*"(poll://[0-9A-Za-z]+/)"')

_current: tuple[object, dict[str, str]] = (None, {})
"""The edit the remembered shapes belong to, and the shapes (one pair, so a
thread reading it never pairs one edit with another's shapes)."""


_last: tuple[str | None, tuple[str, list[str]] | None] = (None, None)
"""The servers text last shaped, and its shape (a plan asks twice a file:
`known`, then `synced`)."""


def _placeholder(number: int) -> str:
    return f"\x00{number}\x00"  # XML cannot carry NUL: never in a config


def _shape(text: str) -> tuple[str, list[str]] | None:
    """The text with its SubscriptionIds as placeholders, and the IDs; or None."""
    if "\x00" in text or "\\" in text or "&" in text or "<" in text:
        return None  # an escape, entity, comment or CDATA could hide an ID
    ids: dict[str, int] = {}  # value -> times seen as a SubscriptionId
    for match in _ID.finditer(text):
        ids[match[1]] = ids.get(match[1], 0) + 1
    shape = text
    for number, (value, seen) in enumerate(ids.items()):
        if text.count(value) != seen:
            return None  # the value occurs elsewhere too
        shape = shape.replace(value, _placeholder(number))
    return shape, list(ids)


def _table(edit: object) -> dict[str, str]:
    """The shapes remembered for *edit* (a new table when the edit changes)."""
    global _current  # noqa: PLW0603 -- one table per worker process, per edit
    owner, table = _current
    if owner is not edit:
        table = {}
        _current = (edit, table)
    return table


def _shape_of(doc: TentacleConfig) -> tuple[str, list[str]] | None:
    """The shape of *doc*'s servers text, or None (no text, or no shape).

    None too for a list edited in memory since loading: it may still know the
    text it was loaded with (and give that text back when an edit restores
    it), which a remembered rendering of its current text would not keep.
    """
    global _last  # noqa: PLW0603 -- one slot per worker process
    if _SERVERS_FOLDED in map(fold, doc.changed_keys):
        return None
    try:
        text = doc.raw(TRUSTED_SERVERS_KEY)
    except TentacleHAError:
        return None
    seen, found = _last  # one pair: a thread never pairs a text with another's shape
    if seen != text:
        found = _shape(text)
        _last = (text, found)
    return found


def _restored(shaped: str, ids: list[str]) -> str:
    """A remembered text with this file's SubscriptionIds put back."""
    for number, value in enumerate(ids):
        shaped = shaped.replace(_placeholder(number), value)
    return shaped


def known(edit: object, doc: TentacleConfig) -> bool:
    """Whether *doc*'s shape is remembered for *edit* (then it has polling entries)."""
    found = _shape_of(doc)
    return found is not None and found[0] in _table(edit)


def synced(
    edit: object, doc: TentacleConfig, steps: Callable[[], TrustedServers]
) -> None:
    """Set *doc*'s new server list: remembered for its shape, or by *steps*.

    *steps* works the list out for *doc* (raising to refuse it); *edit* is
    the edit the remembered shapes belong to.
    """
    found = _shape_of(doc)  # of the file's text, before anything is set
    table = _table(edit)
    if found is not None:
        shaped = table.get(found[0])
        if shaped is not None:
            out = _restored(shaped, found[1])
            doc._write_checked_servers(out)  # noqa: SLF001 -- the setter's own rendering, checked once
            return
    new = steps()
    polls = bool(doc.trusted_servers.polls)  # read by the steps: not parsed again
    doc.trusted_servers = new
    if polls and found is not None and len(table) < _MAX_SHAPES:
        _remember(table, found, new)


def _remember(
    table: dict[str, str], found: tuple[str, list[str]], new: TrustedServers
) -> None:
    out = new.to_json()
    shaped = out
    for number, value in enumerate(found[1]):
        shaped = shaped.replace(value, _placeholder(number))
    if "poll:" in shaped or "\x00" in out:
        return
    written = [match[1] for match in _ID.finditer(out)]
    if any(out.count(value) != written.count(value) for value in found[1]):
        return  # an ID's text also where no SubscriptionId was copied
    try:
        again = TrustedServers.from_json(out)
    except TentacleHAError:  # pragma: no cover - our own rendering reads back
        return
    if again == new:  # defensive: the setter must see the entries built
        table[found[0]] = shaped
