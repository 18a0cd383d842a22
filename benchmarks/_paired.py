"""Paired, interleaved rounds: ours and its floor measured turn about, same run.

Each round times every contender once, in turn, so a noisy neighbour slows
both sides of a round alike; the ratio is taken per round and reported as
min/median/max over the rounds.
"""

from __future__ import annotations

import os
import statistics
import time
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Callable
    from collections.abc import Sequence

# A command as an installed package runs it: bytecode cached (pip writes it;
# a warm-up run here does), not compiled from source at every start.
INSTALLED_ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def rounds(
    contenders: Sequence[Callable[[], tuple[float, ...]]], count: int
) -> list[list[tuple[float, ...]]]:
    """Run each contender once per round, interleaved; each returns its figures.

    Returns, per contender, its figures of every round.
    """
    samples: list[list[tuple[float, ...]]] = [[] for _ in contenders]
    for _ in range(count):
        for contender, out in zip(contenders, samples, strict=True):
            out.append(contender())
    return samples


def wall(func: Callable[[], object]) -> tuple[float, ...]:
    """One call of *func*, timed by the wall clock: a contender's figures."""
    started = time.perf_counter()
    func()
    return (time.perf_counter() - started,)


def spread(values: Sequence[float]) -> tuple[float, float, float]:
    """min, median, max."""
    return min(values), statistics.median(values), max(values)


def show(values: Sequence[float], fmt: str = "{:.2f}") -> str:
    """``min / median / max`` of *values*, each written with *fmt*."""
    return " / ".join(fmt.format(v) for v in spread(values))


def plain_write(path: str, data: bytes, *, fsync: bool = True) -> None:
    """The floors' atomic write: temp, fsync, rename, folder fsync; no checks."""
    folder, name = os.path.split(path)
    tmp = os.path.join(folder, f".{name}.floor-tmp")  # noqa: PTH118 -- plain strings
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.write(fd, data)
        if fsync:
            os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, path)  # noqa: PTH105 -- plain strings, as the floor is
    dir_fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        if fsync:
            os.fsync(dir_fd)
    finally:
        os.close(dir_fd)
