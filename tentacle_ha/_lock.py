"""Private: an advisory lock per Tentacle.config, held across read-modify-write.

The lock is taken on a sidecar file beside the config,
``.<name>.tentacle-ha-lock``, never on the config itself: the config is
replaced by `os.replace` on every write, so a lock on it would be lost with the
old inode. The sidecar is created on first use and never deleted (deleting a
lock file races with a process that has just opened it and would then lock a
file nobody else sees).

``fcntl.flock`` on POSIX, ``msvcrt.locking`` on Windows. Both are advisory:
they serialise tentacle_ha runs with each other, not with Tentacle itself,
which writes its file without any lock; callers re-check the bytes before they
replace a file to catch that case.
"""

from __future__ import annotations

import contextlib
import errno
import os
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING
from typing import Final

from tentacle_ha.errors import FleetError
from tentacle_ha.errors import WriteError

if TYPE_CHECKING:
    from collections.abc import Iterator

__all__ = ["LOCK_SUFFIX", "file_lock", "lock_path"]

LOCK_SUFFIX: Final = ".tentacle-ha-lock"

_FIRST_WAIT: Final = 0.001
_MAX_WAIT: Final = 0.05


def lock_path(path: str | os.PathLike[str]) -> Path:
    """The sidecar lock file of *path* (of its target, when it is a symlink)."""
    return _sidecar(Path(os.path.realpath(path)))


def _sidecar(real: Path) -> Path:
    return real.with_name(f".{real.name}{LOCK_SUFFIX}")


def _open(sidecar: Path, shown: str) -> int:
    nofollow = getattr(os, "O_NOFOLLOW", 0)
    try:
        return os.open(sidecar, os.O_RDWR | os.O_CREAT | nofollow, 0o600)
    except PermissionError as denied:
        # Created by someone else and not writable by us: a read-only
        # descriptor still takes a POSIX flock.
        try:
            return os.open(sidecar, os.O_RDONLY | nofollow)
        except FileNotFoundError:
            raise _lock_error(denied, sidecar, shown) from denied
        except OSError as exc:
            raise _lock_error(exc, sidecar, shown) from exc
    except OSError as exc:
        raise _lock_error(exc, sidecar, shown) from exc


def _lock_error(exc: OSError, sidecar: Path, shown: str) -> WriteError:
    name = errno.errorcode.get(exc.errno or 0, "")
    reason = exc.strerror or str(exc)
    detail = f"{reason} ({name})" if name else reason
    return WriteError(f"cannot open the lock file {sidecar.name}: {detail}", path=shown)


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
        path: the config file (need not exist yet).
        timeout: seconds to wait before giving up.
        resolved: *path* is already a real path (no symlinks): skip resolving.

    Yields:
        The sidecar lock file.

    Raises:
        WriteError: the lock file cannot be created or opened.
        FleetError: another process held the lock for longer than *timeout*.
    """
    shown = os.fspath(path)
    sidecar = _sidecar(Path(shown)) if resolved else lock_path(path)
    fd = _open(sidecar, shown)
    try:
        deadline = time.monotonic() + timeout
        wait = _FIRST_WAIT
        while not _try_lock(fd):
            if time.monotonic() >= deadline:
                raise FleetError(
                    f"another process held the lock {sidecar.name} for over "
                    f"{timeout:g} s; nothing written",
                    path=shown,
                )
            time.sleep(wait)
            wait = min(wait * 2, _MAX_WAIT)
        try:
            yield sidecar
        finally:
            _unlock(fd)
    finally:
        os.close(fd)
