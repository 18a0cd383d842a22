"""Private: which files share an identity (cloned machines), in compact memory.

`tentacle_ha.fleet.audit.audit_fleet` meets every config once, in order, and
must say at the end which ones share a certificate thumbprint or a
SubscriptionId, naming the others. Python objects per file (a str per value
and path, a tuple and a list per place, a dict slot) cost ~0.7 KiB a config;
here each place is a few machine words in flat arrays, values and paths
are bytes in one buffer each (paths front-coded: consecutive paths of a
crawl share most of their text), and the groups are found by sorting the
64-bit hashes once at the end. A hash collision is no clone: places are
grouped by their value bytes, not by the hash.
"""

from __future__ import annotations

import array
import hashlib
import itertools
from typing import TYPE_CHECKING
from typing import Final

from tentacle_ha.fleet.findings import Finding
from tentacle_ha.fleet.findings import Severity

if TYPE_CHECKING:
    from collections.abc import Iterator

__all__ = ["Clones"]

_SHOWN: Final = 3
_RESTART: Final = 32  # a full path every 32, so decoding one reads at most 32
_NONE: Final = -1


def _hash(value: bytes) -> int:
    return int.from_bytes(hashlib.blake2b(value, digest_size=8).digest(), "little")


class _Texts:
    """Append-only byte strings in one buffer (index -> bytes)."""

    def __init__(self) -> None:
        self.data = bytearray()
        self.ends = array.array("Q")

    def add(self, text: bytes) -> int:
        self.data += text
        self.ends.append(len(self.data))
        return len(self.ends) - 1

    def __getitem__(self, index: int) -> bytes:
        start = self.ends[index - 1] if index else 0
        return bytes(self.data[start : self.ends[index]])


class _Paths:
    """Front-coded paths: each stored as (shared prefix length, the rest)."""

    def __init__(self) -> None:
        self.rests = _Texts()
        self.shared = array.array("I")
        self.last = ""
        self.last_bytes = b""

    def add(self, path: str) -> int:
        """The index of *path*; the same as the previous one if it is repeated."""
        if self.shared and path == self.last:
            return len(self.shared) - 1
        raw = path.encode("utf-8", "surrogateescape")
        index = len(self.shared)
        common = 0
        if index % _RESTART:
            limit = min(len(raw), len(self.last_bytes))
            while common < limit and raw[common] == self.last_bytes[common]:
                common += 1
        self.shared.append(common)
        self.rests.add(raw[common:])
        self.last, self.last_bytes = path, raw
        return index

    def __getitem__(self, index: int) -> str:
        start = index - index % _RESTART
        raw = b""
        for i in range(start, index + 1):
            raw = raw[: self.shared[i]] + self.rests[i]
        return raw.decode("utf-8", "surrogateescape")


class Clones:
    """The places of one kind of identity; findings for those several files share."""

    def __init__(self, code: str, what: str) -> None:
        self.code = code
        self.what = what
        self._paths = _Paths()
        self._values = _Texts()
        self._hashes = array.array("Q")
        self._files = array.array("I")
        self._lines = array.array("i")
        self._cols = array.array("i")

    def add(self, value: str, path: str, line: int | None, col: int | None) -> None:
        """Remember that *path* (at *line*:*col*) uses *value*."""
        raw = value.encode("utf-8", "surrogateescape")
        self._values.add(raw)
        self._hashes.append(_hash(raw))
        self._files.append(self._paths.add(path))
        self._lines.append(_NONE if line is None else line)
        self._cols.append(_NONE if col is None else col)

    def _groups(self) -> list[list[int]]:
        """Places sharing a value with a place of another file, by first place."""
        ordered = sorted(self._hashes)
        repeated = {a for a, b in itertools.pairwise(ordered) if a == b}
        del ordered
        by_value: dict[bytes, list[int]] = {}
        for place, digest in enumerate(self._hashes):
            if digest in repeated:
                by_value.setdefault(self._values[place], []).append(place)
        return [
            places
            for places in by_value.values()
            if len({self._paths[self._files[p]] for p in places}) > 1
        ]

    def findings(self) -> Iterator[Finding]:
        """One error per place of every value that several files use."""
        for places in self._groups():
            value = self._values[places[0]].decode("utf-8", "surrogateescape")
            paths = list(dict.fromkeys(self._paths[self._files[p]] for p in places))
            for place in places:
                path = self._paths[self._files[place]]
                others = [p for p in paths if p != path]
                shown = ", ".join(others[:_SHOWN])
                if len(others) > _SHOWN:
                    shown += ", ..."
                line, col = self._lines[place], self._cols[place]
                yield Finding(
                    severity=Severity.ERROR,
                    code=self.code,
                    path=path,
                    message=f"{self.what} {value} is also used by {len(others)} "
                    f"other config(s): {shown} (cloned machine?)",
                    line=None if line == _NONE else line,
                    col=None if col == _NONE else col,
                )
