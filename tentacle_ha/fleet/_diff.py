"""Private: `difflib.unified_diff`, without the matcher for one replaced run of lines.

A plan's diff compares two versions of a whole config (about 25 lines, a
few KB each) to show the few lines an edit changed. Mostly one run of lines
is replaced by another that has no line in common with it (the
TrustedOctopusServers element), with the same lines before (the common
prefix *P*) and after (the suffix *S*). `unified_diff` writes that hunk
directly; anything else goes to `difflib`. Either way the lines are exactly
those of ``difflib.unified_diff(a, b, fromfile, tofile, lineterm="", n=n)``.

Why the direct hunk is difflib's: `difflib.SequenceMatcher` picks the
longest matching block of a range, then recurses left and right of it.
When both changed middles (*A* in the first version, *B* in the second)
are non-empty, no line of *P* or *S* occurs in either middle, and *A* and
*B* share no line (all checked), the only blocks are *P* and *S*, and
blocks crossing between them: those are never longer than *P* and lose the
tie to it (they start later in one version), and every range that holds
part of *P* or *S* holds all of it. So the matcher finds *P* and *S* only,
the opcodes are ``equal, replace, equal`` and the hunk is *A* replaced by *B*
with *n* lines of context each side. `difflib`'s "popular line" heuristic
(``autojunk``) applies from 200 lines; longer inputs go to `difflib`.
``tests/fleet/test_diff.py`` compares both on generated line lists rich in
repeated lines, and shows each check is needed.
"""

from __future__ import annotations

import difflib
from typing import TYPE_CHECKING
from typing import Final

if TYPE_CHECKING:
    from collections.abc import Sequence

__all__ = ["unified_diff"]

_AUTOJUNK_MIN: Final = 200
"""From this many lines in the second sequence, difflib drops popular lines."""


def unified_diff(
    a: Sequence[str], b: Sequence[str], fromfile: str, tofile: str, *, n: int = 3
) -> list[str]:
    """The lines ``difflib.unified_diff`` gives (with ``lineterm=""``)."""
    ends = _one_replaced_run(a, b, n)
    if ends is None:
        return list(difflib.unified_diff(a, b, fromfile, tofile, lineterm="", n=n))
    return _hunk(a, b, fromfile, tofile, n, ends)


def _one_replaced_run(
    a: Sequence[str], b: Sequence[str], n: int
) -> tuple[int, int] | None:
    """(prefix, suffix) when *b* is *a* with one run replaced as above, else None."""
    if len(b) >= _AUTOJUNK_MIN or n < 0:
        return None
    limit = min(len(a), len(b))
    prefix = 0
    while prefix < limit and a[prefix] == b[prefix]:
        prefix += 1
    suffix = 0
    while suffix < limit - prefix and a[-1 - suffix] == b[-1 - suffix]:
        suffix += 1
    if prefix + suffix in {len(a), len(b)}:
        return None  # only added or only removed lines (or no change)
    old = set(a[prefix : len(a) - suffix])
    new = set(b[prefix : len(b) - suffix])
    edges = {*a[:prefix], *a[len(a) - suffix :]}
    if not (old.isdisjoint(new) and edges.isdisjoint(old) and edges.isdisjoint(new)):
        return None
    return prefix, suffix


def _range(start: int, stop: int) -> str:
    """A hunk header's range, as difflib writes it (never empty here)."""
    return str(start + 1) if stop - start == 1 else f"{start + 1},{stop - start}"


def _hunk(  # noqa: PLR0917 -- unified_diff's own arguments, passed on
    a: Sequence[str],
    b: Sequence[str],
    fromfile: str,
    tofile: str,
    n: int,
    ends: tuple[int, int],
) -> list[str]:
    """The one hunk: context, the old run as ``-``, the new run as ``+``, context."""
    prefix, suffix = ends
    first = max(0, prefix - n)
    a_end, b_end = len(a) - suffix, len(b) - suffix
    a_stop, b_stop = min(len(a), a_end + n), min(len(b), b_end + n)
    lines = [
        f"--- {fromfile}",
        f"+++ {tofile}",
        f"@@ -{_range(first, a_stop)} +{_range(first, b_stop)} @@",
    ]
    lines.extend(" " + line for line in a[first:prefix])
    lines.extend("-" + line for line in a[prefix:a_end])
    lines.extend("+" + line for line in b[prefix:b_end])
    lines.extend(" " + line for line in a[a_end:a_stop])
    return lines
