"""Private: write a file atomically, keeping its mode and owner.

The new bytes go to a temporary file in the same folder, which is flushed,
fsynced and renamed over the target with `os.replace`; then the folder is
fsynced so the rename itself survives a power cut. A reader sees the old file
or the new one, never a mix, and a failure at any point leaves the old file as
it was. (Tentacle itself truncates and rewrites its file in place.)

Temporary files are named ``.<name>.<random>.tentacle-ha-tmp`` so that no
discovery mistakes them for configs, and `remove_stale_temp_files` can clean
up after a process that was killed mid-write.
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat
import tempfile
from pathlib import Path
from typing import Final

from tentacle_ha.errors import WriteError

__all__ = ["TEMP_SUFFIX", "read_bytes", "remove_stale_temp_files", "write_atomic"]

TEMP_SUFFIX: Final = ".tentacle-ha-tmp"


def _fsync_folder(folder: Path) -> None:
    if os.name != "posix":  # pragma: no cover - Windows has no folder fsync
        return
    fd = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _describe(exc: OSError) -> str:
    name = errno.errorcode.get(exc.errno or 0, "")
    reason = exc.strerror or str(exc)
    return f"{reason} ({name})" if name else reason


def write_atomic(
    path: str | os.PathLike[str],
    data: bytes,
    *,
    backup_suffix: str | None = None,
    fsync: bool = True,
) -> None:
    """Replace *path* with *data* atomically.

    A symlink is followed: its target is replaced and the link stays. The
    file's mode bits are kept, and its owner and group where the process may
    set them. A new file gets mode 0o600 (Tentacle.config holds secrets).

    Args:
        path: the file to write.
        data: its new content.
        backup_suffix: when given, the previous bytes are first written
            (atomically too) to ``path + backup_suffix``.
        fsync: flush to disk before and after the rename (leave on, except in
            throwaway folders).

    Raises:
        WriteError: anything failed; the original file is intact and no
            temporary file is left behind.
    """
    target = Path(os.path.realpath(path))
    folder = target.parent
    try:
        old = target.stat()
    except FileNotFoundError:
        old = None
    except OSError as exc:
        raise WriteError(f"cannot read {_describe(exc)}", path=str(path)) from exc
    if old is not None and not _is_regular(old.st_mode):
        raise WriteError("not a regular file", path=str(path))
    if backup_suffix and old is not None:
        previous = read_bytes(target)
        write_atomic(
            target.with_name(target.name + backup_suffix), previous, fsync=fsync
        )
    tmp = Path()
    try:
        tmp = _write_temp(folder, target.name, data, old, fsync=fsync)
        tmp.replace(target)
        tmp = Path()
        if fsync:
            _fsync_folder(folder)
    except OSError as exc:
        raise WriteError(f"cannot write: {_describe(exc)}", path=str(path)) from exc
    finally:
        if tmp.name:
            with contextlib.suppress(OSError):
                tmp.unlink()


def _write_temp(
    folder: Path, name: str, data: bytes, old: os.stat_result | None, *, fsync: bool
) -> Path:
    fd, tmp_name = tempfile.mkstemp(prefix=f".{name}.", suffix=TEMP_SUFFIX, dir=folder)
    tmp = Path(tmp_name)
    try:
        view = memoryview(data)
        while view:
            written = os.write(fd, view)
            view = view[written:]
        if old is not None:
            _copy_metadata(fd, old)
        if fsync:
            os.fsync(fd)
    except BaseException:
        os.close(fd)
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
    os.close(fd)
    return tmp


def _is_regular(mode: int) -> bool:
    return stat.S_ISREG(mode)


def _copy_metadata(fd: int, old: os.stat_result) -> None:
    if hasattr(os, "fchmod"):
        os.fchmod(fd, old.st_mode & 0o7777)
    if hasattr(os, "fchown"):
        # Only root (or the owner, for the group) may do this; a failure
        # keeps the caller's ownership, which is what a plain write would do.
        with contextlib.suppress(PermissionError):
            os.fchown(fd, old.st_uid, old.st_gid)


def read_bytes(path: str | os.PathLike[str]) -> bytes:
    """Read a whole file.

    Raises:
        OSError: as `open` does (callers translate it with their own context).
    """
    return Path(path).read_bytes()


def remove_stale_temp_files(
    folder: str | os.PathLike[str], *, name: str | None = None
) -> list[Path]:
    """Delete temporary files a killed writer left in *folder*; return them.

    With *name*, only the leftovers of that file are removed: call it while
    holding that file's lock, so a live writer's temporary file is never taken.
    """
    removed: list[Path] = []
    prefix = f".{name}." if name is not None else "."
    try:
        entries = list(Path(folder).iterdir())
    except OSError:
        return removed
    for entry in entries:
        if entry.name.startswith(prefix) and entry.name.endswith(TEMP_SUFFIX):
            with contextlib.suppress(OSError):
                entry.unlink()
                removed.append(entry)
    return removed
