"""Private: an advisory lock per Tentacle.config, held across read-modify-write.

POSIX: ``fcntl.flock`` on the config itself. Every write replaces the file
(`os.replace`), so a waiter may get the lock of an inode that is no longer
at the path; it then checks, and if the path now names another file, it
closes and locks that one instead. No lock files are created.

Windows: ``msvcrt.locking`` on a sidecar file beside the config,
``.<name>.tentacle-ha-lock``, because a file that is open cannot be replaced
there. The sidecar is created on first use and never deleted (deleting a lock
file races with a process that has just opened it).

Both are advisory: they serialise tentacle_ha runs with each other, not with
Tentacle itself, which writes its file without any lock; callers re-check the
bytes before they replace a file to catch that case.
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING
from typing import Final

from tentacle_ha.errors import ConflictError
from tentacle_ha.errors import FleetError
from tentacle_ha.errors import NotRegularFileError
from tentacle_ha.errors import WriteError

if TYPE_CHECKING:
    from collections.abc import Iterator

__all__ = ["LOCK_SUFFIX", "SIDECAR", "file_lock", "hold", "lock_path"]

LOCK_SUFFIX: Final = ".tentacle-ha-lock"

_FIRST_WAIT: Final = 0.001
_MAX_WAIT: Final = 0.05


_SIDECAR: Final = sys.platform == "win32"
SIDECAR: Final = _SIDECAR
"""Windows: the lock is a sidecar file, not the config itself."""


def lock_path(path: str | os.PathLike[str]) -> Path:
    """The file whose lock guards *path*: the config itself (its target, when
    it is a symlink) on POSIX, the sidecar on Windows."""
    real = Path(os.path.realpath(path))
    return _sidecar(real) if _SIDECAR else real


def _sidecar(real: Path) -> Path:
    return real.with_name(f".{real.name}{LOCK_SUFFIX}")


def _open(
    target: Path, shown: str, dir_fd: int | None = None, link_error: str | None = None
) -> tuple[int, os.stat_result | None]:
    """Open the file to lock: never following a symlink, never blocking.

    POSIX: the config itself (relative to *dir_fd* when given), which must
    be a regular file; a FIFO or device is refused at once. Returns the fd
    and its ``fstat`` (None for a sidecar). A symlink there is a
    `ConflictError` saying *link_error*, when given.
    """
    nofollow = getattr(os, "O_NOFOLLOW", 0)
    nonblock = getattr(os, "O_NONBLOCK", 0)
    cloexec = getattr(os, "O_CLOEXEC", 0)
    if not _SIDECAR:  # lock the config itself; read access is enough for flock
        where = target.name if dir_fd is not None else target
        try:
            fd = os.open(
                where, os.O_RDONLY | nofollow | nonblock | cloexec, dir_fd=dir_fd
            )
        except OSError as exc:
            if link_error is not None and exc.errno == errno.ELOOP:
                raise ConflictError(link_error, path=shown) from exc
            raise _lock_error(exc, target, shown) from exc
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            os.close(fd)
            raise _not_regular(info.st_mode, shown)
        return fd, info
    try:
        return os.open(target, os.O_RDWR | os.O_CREAT | nofollow, 0o600), None
    except PermissionError as denied:
        # Created by someone else and not writable by us: a read-only
        # descriptor still takes the lock.
        try:
            return os.open(target, os.O_RDONLY | nofollow), None
        except FileNotFoundError:
            raise _lock_error(denied, target, shown) from denied
        except OSError as exc:
            raise _lock_error(exc, target, shown) from exc
    except OSError as exc:
        raise _lock_error(exc, target, shown) from exc


def _not_regular(mode: int, shown: str) -> NotRegularFileError:
    what = "a folder" if stat.S_ISDIR(mode) else "not a regular file"
    return NotRegularFileError(f"is {what}; not locked, not read", path=shown)


def _still_there(
    held: os.stat_result | None, target: Path, dir_fd: int | None = None
) -> bool:
    """Whether *held* (the fd's ``fstat``) is still the file at *target*."""
    if _SIDECAR or held is None:
        return True
    try:
        if dir_fd is not None:
            now = os.stat(target.name, dir_fd=dir_fd, follow_symlinks=False)
        else:
            now = target.lstat()
    except FileNotFoundError:
        return False
    return (held.st_dev, held.st_ino) == (now.st_dev, now.st_ino)


def _lock_error(exc: OSError, target: Path, shown: str) -> WriteError:
    name = errno.errorcode.get(exc.errno or 0, "")
    reason = exc.strerror or str(exc)
    detail = f"{reason} ({name})" if name else reason
    what = f"the lock file {target.name}" if _SIDECAR else "the file to lock it"
    return WriteError(f"cannot open {what}: {detail}", path=shown)


if sys.platform == "win32":  # pragma: no cover - exercised on Windows only
    import msvcrt

    def _try_lock(fd: int) -> bool:
        os.lseek(fd, 0, os.SEEK_SET)
        try:
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
        except OSError:
            return False
        return True

    def _unlock(fd: int) -> None:
        os.lseek(fd, 0, os.SEEK_SET)
        msvcrt.locking(fd, msvcrt.LK_UNLCK, 1)

else:
    import fcntl

    def _try_lock(fd: int) -> bool:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        return True

    def _unlock(fd: int) -> None:
        fcntl.flock(fd, fcntl.LOCK_UN)


@contextlib.contextmanager
def file_lock(
    path: str | os.PathLike[str], *, timeout: float = 60.0, resolved: bool = False
) -> Iterator[Path]:
    """Hold the exclusive advisory lock of *path* for the ``with`` block.

    Waits (polling, with a short back-off) while another process holds it.
    The lock goes with the process: a killed holder releases it at once.

    Args:
        path: the config file (on Windows it need not exist yet).
        timeout: seconds to wait before giving up.
        resolved: *path* is already a real path (no symlinks): skip resolving.

    Yields:
        The file locked: the config itself (POSIX) or its sidecar (Windows).

    Raises:
        WriteError: the file to lock cannot be opened (POSIX: it must exist),
            or the sidecar cannot be created.
        NotRegularFileError: POSIX: it is a FIFO, device or folder.
        FleetError: another process held the lock for longer than *timeout*.
    """
    shown = os.fspath(path)
    real = Path(shown) if resolved else Path(os.path.realpath(path))
    with hold(real, shown=shown, timeout=timeout):
        yield _sidecar(real) if _SIDECAR else real


@contextlib.contextmanager
def hold(
    real: Path,
    *,
    shown: str,
    timeout: float = 60.0,
    dir_fd: int | None = None,
    link_error: str | None = None,
) -> Iterator[int]:
    """Hold the lock of the config at *real* (resolved); yield the locked fd.

    POSIX: the fd is the config itself, opened read-only with ``O_NOFOLLOW |
    O_NONBLOCK`` (relative to *dir_fd*, the descriptor of ``real.parent``,
    when given), checked to be a regular file, and still the file at the path
    once locked. Windows: the sidecar's fd.

    Raises:
        ConflictError: with *link_error*: the file is a symlink (not followed).
        as `file_lock`.
    """
    target = _sidecar(real) if _SIDECAR else real
    deadline = time.monotonic() + timeout
    while True:
        fd, info = _open(target, shown, None if _SIDECAR else dir_fd, link_error)
        try:
            wait = _FIRST_WAIT
            while not _try_lock(fd):
                if time.monotonic() >= deadline:
                    raise FleetError(
                        f"another process held the lock of {target.name} for over "
                        f"{timeout:g} s; nothing written",
                        path=shown,
                    )
                time.sleep(wait)
                wait = min(wait * 2, _MAX_WAIT)
            if not _still_there(info, target, dir_fd):
                # Replaced while we waited: we hold the old file's lock.
                _unlock(fd)
                continue
            try:
                yield fd
            finally:
                _unlock(fd)
            return
        finally:
            os.close(fd)
