"""Private: a plan's redacted "after" text, from the "before" text, for one value.

A plan's diff compares the redacted text before an edit with the redacted
text after it (`TentacleConfig.redacted_text`, every secret value as
``***``). When the edit changed one value only, the TrustedOctopusServers
array, and wrote nothing else, the text after is the text before with that
array's content replaced; `after_text` makes it so instead of rendering the
whole document again.

Why it is the same text, checked for each file (else `redacted_text` runs):

- the only key changed is TrustedOctopusServers, which is not a secret;
- the file is UTF-8 (every position of a UTF-8 byte string found in it is a
  character boundary), the old content occurs once in the bytes read, and
  the bytes written are the bytes read with that occurrence replaced by the
  new content: so the document's text changed there and nowhere else, inside
  one non-secret element, whose text the redacted form keeps as written;
- the old content occurs once in the redacted text before (so that
  occurrence is the array's, not one made up from ``***`` and its
  neighbours).

``tests/fleet/test_redacted.py`` compares both ways over generated fleets and
the corpus, with a case for each check where it alone decides (the bytes
check, the redacted count, the encoding).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from tentacle_ha.config._values import fold
from tentacle_ha.errors import TentacleHAError
from tentacle_ha.servers import TRUSTED_SERVERS_KEY

if TYPE_CHECKING:
    from tentacle_ha.config import TentacleConfig

__all__ = ["after_text", "servers_content"]

_KEY = fold(TRUSTED_SERVERS_KEY)


def servers_content(doc: TentacleConfig) -> str | None:
    """The TrustedOctopusServers content as written, before an edit (or None)."""
    try:
        return doc.raw(TRUSTED_SERVERS_KEY)
    except TentacleHAError:
        return None


def after_text(
    doc: TentacleConfig, before: bytes, after: bytes, redacted: str, old: str | None
) -> str:
    """`doc.redacted_text()` for *doc* after an edit.

    *before* and *after* are the bytes read and written, *redacted* the
    redacted text before the edit, *old* `servers_content` before it.
    """
    changed = doc.changed_keys
    if old and len(changed) == 1 and fold(changed[0]) == _KEY:
        new = servers_content(doc)
        if new is not None and doc.encoding == "utf-8":
            old_bytes = old.encode()
            if (
                before.count(old_bytes) == 1
                and after == before.replace(old_bytes, new.encode(), 1)
                and redacted.count(old) == 1
            ):
                return redacted.replace(old, new, 1)
    return doc.redacted_text()
