"""Private: which files share an identity (cloned machines), in compact memory.

`tentacle_ha.fleet.audit.audit_fleet` meets every config once, in order, and
must say at the end which ones share a certificate thumbprint or a
SubscriptionId, naming the others. Python objects per file (a str per value
and path, a tuple and a list per place, a dict slot) cost ~0.7 KiB a config;
here each place is a few machine words in flat arrays (a 64-bit hash of
its value, a file index, line and column), paths are bytes in one buffer
(front-coded: consecutive paths of a crawl share most of their text), and a
value's text is kept only once a second place has it.
"""

from __future__ import annotations

import array
import hashlib
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
    """64 bits of BLAKE2b, never 0 (the empty slot of `_HashSet`)."""
    digest = int.from_bytes(hashlib.blake2b(value, digest_size=8).digest(), "little")
    return digest or 1


class _Texts:
    """Append-only byte strings in one buffer (index -> bytes)."""

    def __init__(self) -> None:
        self.data = bytearray()
        self.ends = array.array("I")  # a 4 GiB buffer is far off

    def add(self, text: bytes) -> int:
        self.data += text
        self.ends.append(len(self.data))
        return len(self.ends) - 1

    def __getitem__(self, index: int) -> bytes:
        start = self.ends[index - 1] if index else 0
        return bytes(self.data[start : self.ends[index]])


class _HashSet:
    """A set of 64-bit hashes in one flat table (open addressing, linear probing)."""

    def __init__(self) -> None:
        self.table = array.array("Q", bytes(8 * 1024))
        self.used = 0

    def add(self, digest: int) -> bool:
        """Add *digest* (not 0); whether it was there already."""
        table = self.table
        mask = len(table) - 1
        slot = digest & mask
        while True:
            here = table[slot]
            if here == digest:
                return True
            if not here:
                table[slot] = digest
                self.used += 1
                if self.used * 2 > len(table):
                    self._grow()
                return False
            slot = (slot + 1) & mask

    def _grow(self) -> None:
        old = self.table
        self.table = array.array("Q", bytes(16 * len(old)))
        self.used = 0
        for digest in old:
            if digest:
                self.add(digest)


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
    """The places of one kind of identity; findings for those several files share.

    Each place is its value's 64-bit hash, its file (an index into front-coded
    paths, shared with *like*) and its line and column: about 28 bytes a
    place. A value's text is kept only once a second place has it; two values
    with the same hash (odds about n^2 / 2^65) would be taken for one.
    """

    def __init__(self, code: str, what: str, *, like: Clones | None = None) -> None:
        self.code = code
        self.what = what
        self.paths: _Paths = like.paths if like is not None else _Paths()
        self._seen = _HashSet()
        self._repeated: dict[int, str] = {}
        self._hashes = array.array("Q")
        self._files = array.array("I")
        self._lines = array.array("i")  # configs are <= 16 MiB
        self._cols = array.array("i")

    def add(self, value: str, path: str, line: int | None, col: int | None) -> None:
        """Remember that *path* (at *line*:*col*) uses *value*."""
        digest = _hash(value.encode("utf-8", "surrogateescape"))
        if self._seen.add(digest):
            self._repeated.setdefault(digest, value)
        self._hashes.append(digest)
        self._files.append(self.paths.add(path))
        self._lines.append(_NONE if line is None else line)
        self._cols.append(_NONE if col is None else col)

    def _groups(self) -> list[tuple[str, list[int]]]:
        """Values that several files use, with their places, by first place."""
        by_hash: dict[int, list[int]] = {}
        for place, digest in enumerate(self._hashes):
            if digest in self._repeated:
                by_hash.setdefault(digest, []).append(place)
        return [
            (self._repeated[digest], places)
            for digest, places in by_hash.items()
            if len({self.paths[self._files[p]] for p in places}) > 1
        ]

    def findings(self) -> Iterator[Finding]:
        """One error per place of every value that several files use."""
        for value, places in self._groups():
            paths = list(dict.fromkeys(self.paths[self._files[p]] for p in places))
            for place in places:
                path = self.paths[self._files[place]]
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
