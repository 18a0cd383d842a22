"""Private: the file primitives of the one safe writer (`tentacle_ha._writer`).

Reading: `read_regular` / `read_fd` open with ``O_NONBLOCK`` (and
``O_NOFOLLOW`` when asked), ``fstat`` the descriptor and refuse anything that
is not a regular file at once (a FIFO, a device such as ``/dev/zero``, a
folder), and read at most `MAX_FILE_SIZE` + 1 bytes. Nothing blocks, nothing
reads without bound.

Writing: the new bytes go to a temporary file created with ``O_CREAT |
O_EXCL | O_NOFOLLOW`` in the same folder under an unpredictable name
(``.<name>.<pid>-<random>.tentacle-ha-tmp``, so discovery never takes it for
a config and a cleaner can tell whether its writer is alive), flushed,
fsynced, renamed over the target and the folder fsynced, all relative to one
folder descriptor (``dir_fd=``) so a folder swapped meanwhile cannot redirect
the write. A reader sees the old file or the new one, never a mix; a failure
at any point leaves the old file as it was. (Tentacle itself truncates and
rewrites its file in place.)

Backups: a *new* file beside the config, created ``O_CREAT | O_EXCL |
O_NOFOLLOW``: ``<name><suffix>``, or when that path exists in any form (file,
folder, symlink), ``<name><suffix>.1``, ``.2``, ... An existing path is never
followed, reused or overwritten. The backup gets the config's owner and group
where the process may set them and the config's permission bits (owner-only
bits when the owner could not be set), never wider.

Windows has no ``O_NOFOLLOW`` and no ``dir_fd``: there the same steps run on
paths (today's checks: regular file, ``O_EXCL`` names).
"""

from __future__ import annotations

import contextlib
import errno
import functools
import os
import stat
from pathlib import Path
from typing import TYPE_CHECKING
from typing import Final

from tentacle_ha.errors import FileTooLargeError
from tentacle_ha.errors import NotRegularFileError
from tentacle_ha.errors import WriteError

if TYPE_CHECKING:
    from collections.abc import Callable

__all__ = [
    "MAX_FILE_SIZE",
    "TEMP_SUFFIX",
    "create_backup",
    "describe",
    "fsync_folder",
    "is_stale_temp",
    "open_folder",
    "read_bytes",
    "read_fd",
    "read_regular",
    "write_atomic",
    "write_temp",
]

MAX_FILE_SIZE: Final = 16 * 1024 * 1024
"""Files larger than this are refused unread (a real one is a few KiB)."""

TEMP_SUFFIX: Final = ".tentacle-ha-tmp"

MAX_BACKUPS: Final = 10_000
"""Numbered backups tried (``.bak``, ``.bak.1`` ...) before giving up."""

_NOFOLLOW: Final = getattr(os, "O_NOFOLLOW", 0)
_NONBLOCK: Final = getattr(os, "O_NONBLOCK", 0)
_BINARY: Final = getattr(os, "O_BINARY", 0)
_CLOEXEC: Final = getattr(os, "O_CLOEXEC", 0)
_DIRECTORY: Final = getattr(os, "O_DIRECTORY", 0)

DIR_FD: Final = os.open in os.supports_dir_fd and os.rename in os.supports_dir_fd
"""Whether opens and renames can be made relative to a folder descriptor.

(``os.supports_dir_fd`` lists `os.rename`, never `os.replace`, although both
are ``renameat`` and take the same ``src_dir_fd``/``dst_dir_fd``.)"""

_PREAD: Final = hasattr(os, "pread")


def describe(exc: OSError) -> str:
    """``reason (ENAME)`` for an OSError, without the file name."""
    name = errno.errorcode.get(exc.errno or 0, "")
    reason = exc.strerror or str(exc)
    return f"{reason} ({name})" if name else reason


def not_regular(mode: int, shown: str) -> NotRegularFileError:
    """The error for a path that is not a regular file (never read)."""
    if stat.S_ISDIR(mode):
        what = "is a folder, not a config file"
    elif stat.S_ISFIFO(mode):
        what = "is a FIFO (named pipe), not a regular file; not read"
    elif stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        what = "is a device, not a regular file; not read"
    elif stat.S_ISSOCK(mode):
        what = "is a socket, not a regular file; not read"
    else:
        what = "is not a regular file; not read"
    return NotRegularFileError(what, path=shown)


# -- reading -----------------------------------------------------------------


def read_fd(
    fd: int, shown: str, *, limit: int = MAX_FILE_SIZE
) -> tuple[bytes, os.stat_result]:
    """Read the whole regular file open on *fd*, from its start, bounded.

    Reads until a read comes back empty, or short with exactly the size
    ``fstat`` gave (the file's end then: one read for a file that does not
    grow meanwhile; one that grows is read on to its new end).

    Raises:
        NotRegularFileError: *fd* is not a regular file; nothing read.
        FileTooLargeError: over *limit* (at most *limit* + 1 bytes read).
        OSError: as `os.read` does.
    """
    info = os.fstat(fd)
    if not stat.S_ISREG(info.st_mode):
        raise not_regular(info.st_mode, shown)
    if info.st_size > limit:
        raise FileTooLargeError(
            f"file is {info.st_size} bytes; the limit is {limit}", path=shown
        )
    if not _PREAD:  # pragma: no cover - Windows: no pread
        os.lseek(fd, 0, os.SEEK_SET)
    chunks: list[bytes] = []
    size = 0
    while size <= limit:
        want = max(info.st_size + 1 - size, 65536)
        chunk = os.pread(fd, want, size) if _PREAD else os.read(fd, want)
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
        if size == info.st_size and len(chunk) < want:
            break  # the whole file as fstat saw it, and a short read: its end
    if size > limit:
        raise FileTooLargeError(f"file grew over {limit} bytes", path=shown)
    return b"".join(chunks), info


def read_regular(
    path: str | os.PathLike[str],
    *,
    limit: int = MAX_FILE_SIZE,
    follow_symlinks: bool = True,
    dir_fd: int | None = None,
    shown: str | None = None,
) -> tuple[bytes, os.stat_result]:
    """Open *path* without blocking, refuse a non-regular file, read it bounded.

    Args:
        path: the file (relative to *dir_fd* when given).
        limit: the size limit; at most limit + 1 bytes are ever read.
        follow_symlinks: False opens with ``O_NOFOLLOW`` (a symlink is ELOOP).
        dir_fd: a folder descriptor *path* is relative to.
        shown: the name for messages (default: *path*).

    Returns:
        The bytes and the ``fstat`` of the file read (its device and inode).

    Raises:
        NotRegularFileError: a FIFO, device, folder...; not read.
        FileTooLargeError: over *limit*.
        OSError: as `os.open` does (e.g. FileNotFoundError).
    """
    flags = os.O_RDONLY | _NONBLOCK | _BINARY | _CLOEXEC
    if not follow_symlinks:
        flags |= _NOFOLLOW
    fd = os.open(path, flags, dir_fd=dir_fd)
    try:
        return read_fd(fd, shown if shown is not None else os.fspath(path), limit=limit)
    finally:
        os.close(fd)


def read_bytes(path: str | os.PathLike[str], *, limit: int = MAX_FILE_SIZE) -> bytes:
    """`read_regular`, the bytes only."""
    return read_regular(path, limit=limit)[0]


# -- writing -----------------------------------------------------------------


def open_folder(folder: str, *, follow: bool = False) -> int | None:
    """A descriptor of the (already resolved) *folder*, or None without dir_fd.

    ``O_NOFOLLOW``: a folder replaced by a symlink since it was resolved is
    refused (ELOOP) rather than followed. *follow*: the folder is not
    resolved yet; the caller asks the kernel what was opened.
    """
    if not DIR_FD:  # pragma: no cover - Windows: paths, as before
        return None
    nofollow = 0 if follow else _NOFOLLOW
    return os.open(folder, os.O_RDONLY | _DIRECTORY | nofollow | _CLOEXEC)


def _at(folder: str, name: str, dir_fd: int | None) -> str:
    return name if dir_fd is not None else str(Path(folder, name))


def fsync_folder(folder: str, dir_fd: int | None) -> None:
    """Flush the folder itself, so a rename survives a power cut (POSIX)."""
    if os.name != "posix":  # pragma: no cover - Windows has no folder fsync
        return
    if dir_fd is not None:
        os.fsync(dir_fd)
        return
    fd = os.open(folder, os.O_RDONLY | _DIRECTORY)  # pragma: no cover - no dir_fd
    try:  # pragma: no cover
        os.fsync(fd)
    finally:  # pragma: no cover
        os.close(fd)


def temp_name(name: str) -> str:
    """An unpredictable temporary name for *name*, carrying this process's PID.

    Eight bytes from ``os.urandom`` (what `secrets.token_hex` reads, without
    importing `secrets` and `random` into every command).
    """
    return f".{name}.{os.getpid()}-{os.urandom(8).hex()}{TEMP_SUFFIX}"


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


def _create_excl(folder: str, name: str, dir_fd: int | None) -> int:
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | _NOFOLLOW | _BINARY | _CLOEXEC
    return os.open(_at(folder, name, dir_fd), flags, 0o600, dir_fd=dir_fd)


def write_temp(
    folder: str,
    name: str,
    data: bytes,
    old: os.stat_result | None,
    *,
    dir_fd: int | None,
    fsync: bool,
) -> str:
    """Write *data* to a new temporary file beside *name*; return its name.

    The file gets *old*'s mode, owner and group (where permitted), or 0o600.
    On failure nothing is left behind.
    """
    for _ in range(100):
        tmp = temp_name(name)
        try:
            fd = _create_excl(folder, tmp, dir_fd)
        except FileExistsError:  # pragma: no cover - 64 random bits collided
            continue
        break
    else:  # pragma: no cover - never, with 64 random bits
        raise FileExistsError(errno.EEXIST, "no free temporary name")
    setup = None if old is None else functools.partial(_copy_metadata, old=old)
    _fill(folder, tmp, fd, data, setup=setup, dir_fd=dir_fd, fsync=fsync)
    return tmp


def _fill(
    folder: str,
    name: str,
    fd: int,
    data: bytes,
    *,
    setup: Callable[[int], None] | None,
    dir_fd: int | None,
    fsync: bool,
) -> None:
    """Give the new file *name* (open as *fd*) its metadata, *data*; close it.

    *setup* sets owner and mode before any byte is written; on any failure
    the file is closed and removed again, so nothing half-made stays.
    """
    try:
        if setup is not None:
            setup(fd)
        _write_all(fd, data)
        if fsync:
            os.fsync(fd)
    except BaseException:
        os.close(fd)
        with contextlib.suppress(OSError):
            os.unlink(_at(folder, name, dir_fd), dir_fd=dir_fd)
        raise
    os.close(fd)


def _copy_metadata(fd: int, old: os.stat_result) -> None:
    if hasattr(os, "fchmod"):
        os.fchmod(fd, old.st_mode & 0o7777)
    if hasattr(os, "fchown"):
        # Only root (or the owner, for the group) may do this; a failure
        # keeps the caller's ownership, which is what a plain write would do.
        with contextlib.suppress(PermissionError):
            os.fchown(fd, old.st_uid, old.st_gid)


def backup_names(name: str, suffix: str) -> list[str]:
    """The names a backup of *name* may take, in the order they are tried."""
    first = name + suffix
    return [first] + [f"{first}.{n}" for n in range(1, MAX_BACKUPS)]


def create_backup(
    folder: str,
    name: str,
    suffix: str,
    data: bytes,
    old: os.stat_result,
    *,
    dir_fd: int | None,
    fsync: bool,
) -> str:
    """Keep *data* (the bytes being replaced) in a new file beside *name*.

    Returns:
        The backup's name (in *folder*): ``name + suffix``, or the first free
        ``name + suffix + ".N"``.

    Raises:
        OSError: no backup could be made (the config is then not replaced).
    """
    for candidate in backup_names(name, suffix):
        try:
            fd = _create_excl(folder, candidate, dir_fd)
        except FileExistsError:
            continue
        break
    else:
        raise FileExistsError(
            errno.EEXIST, f"{MAX_BACKUPS} backups exist already; remove some"
        )
    setup = functools.partial(_backup_metadata, old=old)
    _fill(folder, candidate, fd, data, setup=setup, dir_fd=dir_fd, fsync=fsync)
    return candidate


def _backup_metadata(fd: int, old: os.stat_result) -> None:
    """The config's owner and group, and a mode no wider than the config's.

    Where the owner cannot be given (not root), the backup stays ours and
    loses the group and other bits, so it never reads wider than the config.
    """
    owner_kept = True
    if hasattr(os, "fchown") and old.st_uid != os.geteuid():
        try:
            os.fchown(fd, old.st_uid, old.st_gid)
        except PermissionError:
            owner_kept = False
    elif hasattr(os, "fchown"):
        with contextlib.suppress(PermissionError):
            os.fchown(fd, -1, old.st_gid)
    if hasattr(os, "fchmod"):
        mode = old.st_mode & 0o777
        os.fchmod(fd, mode if owner_kept else mode & 0o700)


def replace(folder: str, tmp: str, name: str, *, dir_fd: int | None) -> None:
    """Rename *tmp* over *name*, both in the folder *dir_fd* names."""
    os.replace(
        _at(folder, tmp, dir_fd),
        _at(folder, name, dir_fd),
        src_dir_fd=dir_fd,
        dst_dir_fd=dir_fd,
    )


def link_new(folder: str, tmp: str, name: str, *, dir_fd: int | None) -> None:
    """Put *tmp* in place as *name*, which must not exist (FileExistsError)."""
    src, dst = _at(folder, tmp, dir_fd), _at(folder, name, dir_fd)
    try:
        os.link(src, dst, src_dir_fd=dir_fd, dst_dir_fd=dir_fd, follow_symlinks=False)
    except FileExistsError:
        raise
    except OSError:  # pragma: no cover - a file system without hard links
        if os.path.lexists(str(Path(folder, name))):
            raise FileExistsError(errno.EEXIST, "created meanwhile") from None
        replace(folder, tmp, name, dir_fd=dir_fd)
        return
    with contextlib.suppress(FileNotFoundError):
        os.unlink(src, dir_fd=dir_fd)


def unlink_quietly(folder: str, name: str, *, dir_fd: int | None) -> None:
    with contextlib.suppress(OSError):
        os.unlink(_at(folder, name, dir_fd), dir_fd=dir_fd)


# -- leftovers ---------------------------------------------------------------


def temp_pid(temp: str) -> int | None:
    """The PID a temporary file's name carries (None for other names)."""
    if not temp.endswith(TEMP_SUFFIX):
        return None
    random = temp[: -len(TEMP_SUFFIX)].rpartition(".")[2]
    pid, dash, _ = random.partition("-")
    return int(pid) if dash and pid.isdigit() else None


def _pid_alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError, OverflowError):
        return True  # exists (not ours), or cannot tell: keep the file
    return True


def is_stale_temp(
    folder: str, temp: str, *, dir_fd: int | None, older_than: float
) -> bool:
    """Whether *temp* is provably a dead writer's leftover, to be removed.

    Only a regular file (never a folder, a symlink or its target) whose
    writer is gone: it is older than *older_than* (call this only while
    holding the config's lock, so no live writer of it exists), or its name
    carries the PID of a process that no longer exists.
    """
    try:
        info = os.stat(_at(folder, temp, dir_fd), dir_fd=dir_fd, follow_symlinks=False)
    except OSError:
        return False
    if not stat.S_ISREG(info.st_mode):
        return False
    if info.st_mtime < older_than:
        return True
    pid = temp_pid(temp)
    return pid is not None and not _pid_alive(pid)


# -- the unlocked writer, for files nobody else edits --------------------------


def write_atomic(
    path: str | os.PathLike[str],
    data: bytes,
    *,
    backup_suffix: str | None = None,
    fsync: bool = True,
) -> str | None:
    """Replace *path* with *data* atomically, without taking its lock.

    Configs go through `tentacle_ha._writer` (lock, re-read, then this
    sequence); this is the bare sequence, for files no other writer edits.
    A symlink named by *path* is resolved once and its target replaced; a
    new file gets mode 0o600.

    Returns:
        The backup written (a path), if any.

    Raises:
        WriteError: anything failed; the original file is intact and no
            temporary file is left behind.
    """
    shown = os.fspath(path)
    folder, name = os.path.split(os.path.realpath(path))
    try:
        dir_fd = open_folder(folder)
    except OSError as exc:
        raise WriteError(f"cannot write: {describe(exc)}", path=shown) from exc
    try:
        try:
            old_data, old = read_regular(
                _at(folder, name, dir_fd),
                dir_fd=dir_fd,
                follow_symlinks=False,
                shown=shown,
            )
        except FileNotFoundError:
            old_data, old = b"", None
        except NotRegularFileError as exc:
            raise WriteError("not a regular file", path=shown) from exc
        except OSError as exc:
            raise WriteError(f"cannot read: {describe(exc)}", path=shown) from exc
        return write_locked(
            folder, name, data, old, old_data, shown=shown, dir_fd=dir_fd,
            backup_suffix=backup_suffix, fsync=fsync,
        )  # fmt: skip
    finally:
        if dir_fd is not None:
            os.close(dir_fd)


def write_locked(
    folder: str,
    name: str,
    data: bytes,
    old: os.stat_result | None,
    old_data: bytes,
    *,
    shown: str,
    dir_fd: int | None,
    backup_suffix: str | None,
    fsync: bool,
) -> str | None:
    """Backup (if asked), temp + fsync + rename + folder fsync; the backup's path.

    *old* is the file being replaced (None: there is none, and *name* must
    still not exist when the new file is put in place).

    Raises:
        WriteError: anything failed; the original file is intact.
    """
    backup: str | None = None
    tmp = ""
    try:
        if backup_suffix and old is not None:
            backup = create_backup(
                folder, name, backup_suffix, old_data, old, dir_fd=dir_fd, fsync=fsync
            )
        tmp = write_temp(folder, name, data, old, dir_fd=dir_fd, fsync=fsync)
        if old is None:
            try:
                link_new(folder, tmp, name, dir_fd=dir_fd)
            except FileExistsError as exc:
                raise WriteError(
                    "cannot write: the file was created by someone else meanwhile",
                    path=shown,
                ) from exc
        else:
            replace(folder, tmp, name, dir_fd=dir_fd)
        tmp = ""
        if fsync:
            fsync_folder(folder, dir_fd)
    except WriteError:
        raise
    except OSError as exc:
        raise WriteError(f"cannot write: {describe(exc)}", path=shown) from exc
    finally:
        if tmp:
            unlink_quietly(folder, tmp, dir_fd=dir_fd)
    return str(Path(folder, backup)) if backup is not None else None
