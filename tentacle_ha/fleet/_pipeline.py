"""Private: an ordered, bounded, parallel worker pipeline.

`pipeline` runs ``work(item, context)`` for each item of a stream, in worker
processes, and yields the results in the items' order. At most a few chunks
per worker are in flight, so memory stays flat however long the stream. An
item wrapped in `Done` already has its result (a file skipped while finding
files) and goes straight through, in its place. A worker that dies is a
`FleetError`.

Stopping: when the *stop* event is set (the CLI sets it on Ctrl-C), no new
item is started; the items already handed to workers are finished and their
results yielded, so a caller's report accounts for every file written.
Workers ignore SIGINT for that reason (the terminal sends it to the whole
process group), and never outlive the process that started them: on Linux
the kernel kills them when it dies (``PR_SET_PDEATHSIG``), and everywhere a
watchdog thread ends them when their parent changes, so a caller reading
their inherited stdout sees its end.

The names other modules use have no leading underscore; the helpers only
this module uses keep theirs.
"""

from __future__ import annotations

import collections
import concurrent.futures
import contextlib
import ctypes
import itertools
import multiprocessing
import os
import signal
import sys
import threading
import time
from concurrent.futures.process import BrokenProcessPool
from typing import TYPE_CHECKING
from typing import Any
from typing import Final
from typing import Generic
from typing import NamedTuple
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
_T = TypeVar("_T")
_R = TypeVar("_R")
_R_co = TypeVar("_R_co", covariant=True)


@attrs.frozen
class Done(Generic[_R_co]):
    """A result known without a worker (e.g. a file skipped while finding files)."""

    result: _R_co


_WORKER: dict[str, Any] = {}
_PR_SET_PDEATHSIG: Final = 1
_WATCH_SECONDS: Final = 0.5


def _watch_parent(parent: int) -> None:
    while True:
        time.sleep(_WATCH_SECONDS)
        if os.getppid() != parent:
            os._exit(1)  # the parent is gone: nobody will read our results


def _die_with_parent(expected_parent: int | None) -> None:
    """End this worker when the process that started it dies."""
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError):
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    parent = os.getppid()
    # The parent may have died before prctl: then we were already re-parented.
    if expected_parent is not None and parent != expected_parent:
        os._exit(1)
    threading.Thread(target=_watch_parent, args=(parent,), daemon=True).start()


class _Guard(NamedTuple):
    """A real worker's set-up: the parent it must have (None: not checked)."""

    parent: int | None


def _init_worker(context: object, threads: int, guard: _Guard | None = None) -> None:
    """Set up a worker; with *guard*, as a real one (no Ctrl-C, dies with parent)."""
    if guard is not None:
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent stops us in order
        _die_with_parent(guard.parent)
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


def _until(items: Iterable[_T], stopped: Callable[[], bool]) -> Iterator[_T]:
    """*items* until *stopped* says so (checked before each one)."""
    for item in items:
        if stopped():
            return
        yield item


def _forks(context: multiprocessing.context.BaseContext) -> bool:
    """Whether workers are children of this process (fork), not of a server."""
    return context.get_start_method() == "fork"


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


def _cancelled(entry: list[_R] | concurrent.futures.Future[list[_R]]) -> bool:
    return not isinstance(entry, list) and entry.cancel()


def _ready(entry: list[_R] | concurrent.futures.Future[list[_R]]) -> bool:
    return isinstance(entry, list) or entry.done()


def pipeline(
    items: Iterable[_P | Done[_R]],
    work: Callable[[_P, Any], _R],
    context: object,
    *,
    jobs: int | None,
    threads: int = 1,
    stop: threading.Event | None = None,
) -> Iterator[_R]:
    """``work(item, context)`` for each item, in order, in worker processes.

    At most ``jobs * 4`` chunks of 32 items are in flight, so memory does not
    grow with the number of items. Up to one chunk of items is processed
    here, without starting workers. With *threads*, each worker runs that
    many items of a chunk at once (for work that waits on the disk). Once
    *stop* is set, no further item is started; those under way finish and
    are yielded.
    """
    count = default_jobs() if jobs is None else max(1, jobs)
    stopped = stop.is_set if stop is not None else bool
    stream = _until(items, stopped)
    head = list(itertools.islice(stream, _CHUNK + 1)) if count > 1 else []
    if count == 1 or len(head) <= _CHUNK:
        for item in itertools.chain(head, stream):
            yield item.result if isinstance(item, Done) else work(item, context)
        return
    yield from _parallel(
        itertools.chain(head, stream), work, context, count, threads, stopped
    )


def _parallel(  # noqa: PLR0917 -- pipeline's own arguments, passed on
    items: Iterable[_P | Done[_R]],
    work: Callable[[_P, Any], _R],
    context: object,
    count: int,
    threads: int,
    stopped: Callable[[], bool],
) -> Iterator[_R]:
    """`pipeline` with *count* worker processes."""
    context_ = _mp_context()
    executor = concurrent.futures.ProcessPoolExecutor(
        max_workers=count,
        mp_context=context_,
        initializer=_init_worker,
        initargs=(context, threads, _Guard(os.getpid() if _forks(context_) else None)),
    )
    queue: collections.deque[list[_R] | concurrent.futures.Future[list[_R]]]
    queue = collections.deque()
    limit = count * _AHEAD
    try:
        chunk: list[_P] = []
        for item in items:
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
        if chunk and not stopped():
            queue.append(executor.submit(_run_chunk, work, chunk))
        if stopped():  # chunks no worker has started are not reached
            queue = collections.deque(e for e in queue if not _cancelled(e))
        while queue:
            yield from _result(queue.popleft())
    finally:
        executor.shutdown(wait=True, cancel_futures=True)
