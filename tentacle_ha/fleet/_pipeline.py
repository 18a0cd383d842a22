"""Private: an ordered, bounded, parallel worker pipeline.

`pipeline` runs ``work(item, context)`` for each item of a stream, in worker
processes, and yields the results in the items' order. At most a few chunks
per worker are in flight, so memory stays flat however long the stream. An
item wrapped in `Done` already has its result (a file skipped while finding
files) and goes straight through, in its place. A worker that dies is a
`FleetError`.

The names other modules use have no leading underscore; the helpers only
this module uses keep theirs.
"""

from __future__ import annotations

import collections
import concurrent.futures
import itertools
import multiprocessing
import os
import threading
from concurrent.futures.process import BrokenProcessPool
from typing import TYPE_CHECKING
from typing import Any
from typing import Final
from typing import Generic
from typing import TypeVar

import attrs

from tentacle_ha.errors import FleetError

if TYPE_CHECKING:
    from collections.abc import Callable
    from collections.abc import Iterable
    from collections.abc import Iterator

__all__ = ["Done", "default_jobs", "pipeline"]

_CHUNK: Final = 32
_AHEAD: Final = 4

_P = TypeVar("_P")
_R = TypeVar("_R")
_R_co = TypeVar("_R_co", covariant=True)


@attrs.frozen
class Done(Generic[_R_co]):
    """A result known without a worker (e.g. a file skipped while finding files)."""

    result: _R_co


_WORKER: dict[str, Any] = {}


def _init_worker(context: object, threads: int) -> None:
    _WORKER["context"] = context
    if threads > 1:
        _WORKER["threads"] = concurrent.futures.ThreadPoolExecutor(threads)


def _run_chunk(work: Callable[[_P, Any], _R], chunk: list[_P]) -> list[_R]:
    context = _WORKER["context"]
    threads: concurrent.futures.ThreadPoolExecutor | None = _WORKER.get("threads")
    if threads is None:
        return [work(item, context) for item in chunk]
    return list(threads.map(work, chunk, itertools.repeat(context)))


def default_jobs() -> int:
    """Worker processes by default: the number of CPUs."""
    return os.cpu_count() or 1


def _mp_context() -> multiprocessing.context.BaseContext:
    methods = multiprocessing.get_all_start_methods()
    if "fork" in methods and threading.active_count() == 1:
        return multiprocessing.get_context("fork")  # fast, and safe: no threads
    if "forkserver" in methods:
        return multiprocessing.get_context("forkserver")
    return multiprocessing.get_context("spawn")  # pragma: no cover - Windows


def _result(entry: list[_R] | concurrent.futures.Future[list[_R]]) -> list[_R]:
    if isinstance(entry, list):
        return entry
    try:
        return entry.result()
    except BrokenProcessPool as exc:
        msg = (
            "a worker process died; the files it held are each either as they "
            "were or as planned (run again to finish)"
        )
        raise FleetError(msg) from exc


def _ready(entry: list[_R] | concurrent.futures.Future[list[_R]]) -> bool:
    return isinstance(entry, list) or entry.done()


def pipeline(
    items: Iterable[_P | Done[_R]],
    work: Callable[[_P, Any], _R],
    context: object,
    *,
    jobs: int | None,
    threads: int = 1,
) -> Iterator[_R]:
    """``work(item, context)`` for each item, in order, in worker processes.

    At most ``jobs * 4`` chunks of 32 items are in flight, so memory does not
    grow with the number of items. Up to one chunk of items is processed
    here, without starting workers. With *threads*, each worker runs that
    many items of a chunk at once (for work that waits on the disk).
    """
    count = default_jobs() if jobs is None else max(1, jobs)
    stream = iter(items)
    head = list(itertools.islice(stream, _CHUNK + 1)) if count > 1 else []
    if count == 1 or len(head) <= _CHUNK:
        for item in itertools.chain(head, stream):
            yield item.result if isinstance(item, Done) else work(item, context)
        return
    executor = concurrent.futures.ProcessPoolExecutor(
        max_workers=count,
        mp_context=_mp_context(),
        initializer=_init_worker,
        initargs=(context, threads),
    )
    queue: collections.deque[list[_R] | concurrent.futures.Future[list[_R]]]
    queue = collections.deque()
    limit = count * _AHEAD
    try:
        chunk: list[_P] = []
        for item in itertools.chain(head, stream):
            if isinstance(item, Done):
                if chunk:
                    queue.append(executor.submit(_run_chunk, work, chunk))
                    chunk = []
                queue.append([item.result])
            else:
                chunk.append(item)
                if len(chunk) >= _CHUNK:
                    queue.append(executor.submit(_run_chunk, work, chunk))
                    chunk = []
            while queue and (len(queue) > limit or _ready(queue[0])):
                yield from _result(queue.popleft())
        if chunk:
            queue.append(executor.submit(_run_chunk, work, chunk))
        while queue:
            yield from _result(queue.popleft())
    finally:
        executor.shutdown(wait=True, cancel_futures=True)
