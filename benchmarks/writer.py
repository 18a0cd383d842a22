"""The safe writer's own cost: its system calls, and the Python around them.

Three contenders write the same 1,000 fleet configs (one folder a host), each
its own copy, in one process, CPU time, interleaved rounds:

- **floor**: a plain read, then temp + rename (open, write, close, rename,
  the folder opened and closed): what any atomic write does;
- **bare**: the system calls of `tentacle_ha._writer.locked_config` and
  `Locked.replace`, in their order, issued from one function with no
  abstraction: the folder opened and located by the kernel, the file opened
  without following a symlink, checked regular, locked, checked to be the
  file at the name, read, checked again, an unpredictable temp name
  created exclusively, mode and owner copied, written, renamed, unlocked;
- **ours**: `locked_config` + `reread` + `replace`.

fsync is off in all three (``--fsync`` turns it on), so the disk's wait does
not drown the CPU the code spends; each write is the file's own bytes with one
trailing space added or taken away. Prints CPU a file for each and the
per-round ratios bare/floor (what the writer's extra system calls cost) and
ours/bare (what its Python costs), min/median/max.

Run: python benchmarks/writer.py [--files N] [--rounds N] [--fsync]
"""

from __future__ import annotations

import argparse
import fcntl
import os
import stat
import sys
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING

from _paired import plain_write
from _paired import rounds
from _paired import show

from tentacle_ha import _writer
from tentacle_ha.fleet._fleetgen import write_fleet

if TYPE_CHECKING:
    from collections.abc import Callable

_FLAGS_READ = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC
_FLAGS_TEMP = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC


def _edited(data: bytes) -> bytes:
    return data[:-1] if data.endswith(b" ") else data + b" "


def _floor(path: str, *, fsync: bool) -> None:
    with open(path, "rb") as file:  # noqa: PTH123 -- the plainest read
        data = file.read()
    plain_write(path, _edited(data), fsync=fsync)


def _same(a: os.stat_result, b: os.stat_result) -> None:
    if (a.st_dev, a.st_ino) != (b.st_dev, b.st_ino):
        raise SystemExit("bare: the name is no longer the file locked")


def _bare(path: str, *, fsync: bool) -> None:
    """The writer's system calls, in its order, from one function."""
    folder, name = os.path.split(path)
    dir_fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        if not os.readlink(f"/proc/self/fd/{dir_fd}").startswith("/"):  # noqa: PTH115 -- a str, as the writer reads it
            raise SystemExit("bare: no kernel path")
        fd = os.open(name, _FLAGS_READ, dir_fd=dir_fd)
        try:
            info = os.fstat(fd)
            if not stat.S_ISREG(info.st_mode):
                raise SystemExit("bare: not a regular file")
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            _same(info, os.stat(name, dir_fd=dir_fd, follow_symlinks=False))
            info = os.fstat(fd)
            data = os.pread(fd, 65536, 0)
            _same(info, os.stat(name, dir_fd=dir_fd, follow_symlinks=False))
            tmp = f".{name}.{os.getpid()}-{os.urandom(8).hex()}.tentacle-ha-tmp"
            out = os.open(tmp, _FLAGS_TEMP, 0o600, dir_fd=dir_fd)
            try:
                os.fchmod(out, stat.S_IMODE(info.st_mode))
                os.fchown(out, info.st_uid, info.st_gid)
                os.write(out, _edited(data))
                if fsync:
                    os.fsync(out)
            finally:
                os.close(out)
            os.rename(tmp, name, src_dir_fd=dir_fd, dst_dir_fd=dir_fd)
            if fsync:
                os.fsync(dir_fd)
            fcntl.flock(fd, fcntl.LOCK_UN)
        finally:
            os.close(fd)
    finally:
        os.close(dir_fd)


def _ours(path: str, *, fsync: bool) -> None:
    with _writer.locked_config(path, follow_symlinks=False, fsync=fsync) as held:
        held.replace(_edited(held.reread()))


def _contender(
    write: Callable[..., None], paths: list[str], *, fsync: bool
) -> Callable[[], tuple[float, ...]]:
    def run() -> tuple[float, ...]:
        started = time.process_time()
        for path in paths:
            write(path, fsync=fsync)
        return ((time.process_time() - started) / len(paths) * 1e6,)

    return run


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=1_000)
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--fsync", action="store_true")
    args = parser.parse_args()
    if args.rounds < 5:
        parser.error("--rounds must be at least 5")
    if not Path("/proc/self/fd").is_dir():
        sys.exit("benchmarks/writer.py: needs Linux's /proc/self/fd")
    with tempfile.TemporaryDirectory() as work:
        names = ("floor", "bare", "ours")
        copies = {
            name: [str(p) for p in write_fleet(Path(work, name), args.files, seed=1)]
            for name in names
        }
        writers = {"floor": _floor, "bare": _bare, "ours": _ours}
        for name in names:  # one warm-up round each: caches, first imports
            _contender(writers[name], copies[name], fsync=args.fsync)()
        floor, bare, ours = rounds(
            [
                _contender(writers[name], copies[name], fsync=args.fsync)
                for name in names
            ],
            args.rounds,
        )
    cpu = {
        name: [r[0] for r in runs]
        for name, runs in zip(names, (floor, bare, ours), strict=True)
    }
    print(
        f"writer: {args.files} files a round, {args.rounds} interleaved rounds, "
        f"fsync {'on' if args.fsync else 'off'}, CPU us a file, min / median / max"
    )
    for name in names:
        print(f"  {name:5}: {show(cpu[name], '{:.0f}')}")
    pairs = (("bare/floor", "bare", "floor"), ("ours/bare", "ours", "bare"))
    for label, top, bottom in pairs:
        ratios = [t / b for t, b in zip(cpu[top], cpu[bottom], strict=True)]
        extra = [t - b for t, b in zip(cpu[top], cpu[bottom], strict=True)]
        print(
            f"  {label}: {show(ratios)}x per round ({show(extra, '{:+.0f}')} us a file)"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
