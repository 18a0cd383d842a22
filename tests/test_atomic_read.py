"""The bounded reader stops at the end fstat gave, and reads on if the file grew."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

import pytest

from tentacle_ha import _atomic
from tentacle_ha.errors import FileTooLargeError

if TYPE_CHECKING:
    from pathlib import Path


def _counting(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    calls: list[int] = []
    real = os.pread

    def pread(fd: int, n: int, offset: int) -> bytes:
        calls.append(offset)
        return real(fd, n, offset)

    monkeypatch.setattr(os, "pread", pread)
    return calls


class _Smaller:
    """An fstat result saying the file has 10 bytes."""

    def __init__(self, info: os.stat_result) -> None:
        self._info = info
        self.st_size = 10

    def __getattr__(self, name: str) -> object:
        return getattr(self._info, name)


def _fstat_sees_10_bytes(monkeypatch: pytest.MonkeyPatch) -> None:
    real = os.fstat
    monkeypatch.setattr(os, "fstat", lambda fd: _Smaller(real(fd)))


@pytest.mark.parametrize("size", [0, 1, 4096, 65535, 65536, 65537, 200_000])
def test_a_file_is_read_whole_in_as_few_reads_as_its_size_needs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, size: int
) -> None:
    path = tmp_path / "f"
    path.write_bytes(bytes(range(256)) * (size // 256) + b"x" * (size % 256))
    calls = _counting(monkeypatch)
    data, info = _atomic.read_regular(path)
    assert data == path.read_bytes()
    assert info.st_size == size
    assert len(calls) == 1  # no second read to find the end


def test_a_file_that_grew_after_fstat_is_read_to_its_new_end(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """fstat saw fewer bytes than there are: the short-read rule does not stop early."""
    path = tmp_path / "f"
    path.write_bytes(b"a" * 100_000)
    _fstat_sees_10_bytes(monkeypatch)
    data, _ = _atomic.read_regular(path)
    assert data == b"a" * 100_000


def test_the_limit_still_holds_for_a_file_that_grew(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "f"
    path.write_bytes(b"a" * 5000)
    _fstat_sees_10_bytes(monkeypatch)
    with pytest.raises(FileTooLargeError):
        _atomic.read_regular(path, limit=1000)
