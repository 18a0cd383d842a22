"""Private: the one safe writer every write path shares.

`TentacleConfig.save`, the single-file commands (through ``save``) and
``fleet apply`` all replace a Tentacle.config through this module; the
Ansible writer on targets mirrors the same contract, step by step:

1. **Resolve once.** A symlink named by the caller is resolved once (its
   target is what gets replaced; the link stays); the folder is then opened
   once with ``O_DIRECTORY | O_NOFOLLOW`` and every later open, rename and
   unlink is relative to that descriptor (``dir_fd=``), so a folder or file
   swapped for a symlink meanwhile cannot redirect the write. When the file
   itself must not be followed (fleet apply), Linux opens its folder first
   and asks ``/proc/self/fd`` where that descriptor is: the kernel's one
   lookup instead of a ``lstat`` per path part, with no gap between them. (Windows: no
   ``dir_fd``/``O_NOFOLLOW``; the same steps run on paths.) Callers that must
   not follow a link (fleet apply) say so: a file that became a symlink is
   a `ConflictError`, never followed.
2. **Lock.** The config itself is opened ``O_RDONLY | O_NOFOLLOW |
   O_NONBLOCK``, fstat'ed (a regular file, else `NotRegularFileError` at
   once) and ``flock``'ed exclusively, waiting at most *timeout* seconds
   (Windows: a sidecar ``.<name>.tentacle-ha-lock``). If the path names
   another file once locked (replaced while waiting), the new one is locked.
3. **Re-read under the lock**, through the locked descriptor, at most
   `MAX_FILE_SIZE` + 1 bytes, and compare with the bytes the edit was based
   on: different bytes are a `ConflictError` (`replace_config`) or a re-edit
   (fleet apply, which re-reads once more before writing).
4. **Write.** Right before replacing, the name must still be the locked file
   (same device and inode; a writer that ignores the lock, e.g. Tentacle,
   may have replaced it): else `ConflictError`. Then, if asked, a
   **backup** of the bytes being replaced is created as a new file
   (``O_CREAT | O_EXCL | O_NOFOLLOW``:
   ``<name><suffix>``, else ``<name><suffix>.1``, ``.2``, ...; never an
   existing path; mode and owner from the config, never wider); then a
   temporary file with an unpredictable ``O_EXCL`` name gets the new bytes,
   the config's mode and owner, is fsynced and renamed over the config, and
   the folder is fsynced.
5. **Report.** `WriteResult`: whether a file was written, the backup's
   path, and warnings (a config with several hard links: the write replaces
   this name only; the other links keep the old bytes).

Stale temporary files of a config are removed only under its lock, only if
they are regular files, and only if their writer is provably gone
(`tentacle_ha._atomic.is_stale_temp`).
"""

from __future__ import annotations

import contextlib
import os
import stat
import sys
from pathlib import Path
from typing import TYPE_CHECKING
from typing import Final

from tentacle_ha import _atomic
from tentacle_ha import _lock
from tentacle_ha.errors import ConflictError
from tentacle_ha.errors import InvalidValueError
from tentacle_ha.errors import TentacleHAError
from tentacle_ha.errors import WriteError

if TYPE_CHECKING:
    from collections.abc import Iterable
    from collections.abc import Iterator

__all__ = [
    "CHANGED_UNDER_LOCK",
    "DEFAULT_BACKUP_SUFFIX",
    "Locked",
    "WriteResult",
    "check_backup_suffix",
    "locked_config",
    "replace_config",
]

DEFAULT_BACKUP_SUFFIX: Final = ".bak"

CHANGED_UNDER_LOCK: Final = (
    "changed while being edited by a program that does not take the lock "
    "(Tentacle itself?); left alone"
)
_CHANGED_SINCE_LOADED: Final = (
    "file changed on disk since it was loaded; nothing written"
)


def check_backup_suffix(suffix: str | None) -> None:
    """Refuse a backup suffix that is not a plain, harmless file-name ending.

    The one rule for ``--backup=SUFFIX``, ``fleet apply --backup``, `save`
    and the Ansible writer: not empty, no path separator or NUL, and not
    ending like a config or one of tentacle-ha's own files.

    Raises:
        InvalidValueError: the suffix is refused.
    """
    if suffix is None:
        return
    seps = {"/", "\\", "\x00", os.sep} | ({os.altsep} if os.altsep else set())
    if not suffix or any(sep in suffix for sep in seps) or suffix in {".", ".."}:
        msg = f"a backup suffix is a plain file-name ending, not {suffix!r}"
        raise InvalidValueError(msg)
    lowered = suffix.lower()
    if lowered.endswith((".config", _atomic.TEMP_SUFFIX, _lock.LOCK_SUFFIX)):
        msg = (
            f"backup suffix {suffix!r} would make backups look like configs or "
            "tentacle-ha's own files"
        )
        raise InvalidValueError(msg)


class WriteResult:
    """What a safe write did.

    Attributes:
        written: a file was replaced (False: it already held the bytes).
        backup: the backup created, if any (a path).
        warnings: one line each, e.g. hard links broken by the write.
    """

    __slots__ = ("backup", "warnings", "written")

    def __init__(
        self,
        *,
        written: bool,
        backup: str | None = None,
        warnings: tuple[str, ...] = (),
    ) -> None:
        self.written = written
        self.backup = backup
        self.warnings = warnings

    def __repr__(self) -> str:
        return (
            f"WriteResult(written={self.written!r}, backup={self.backup!r}, "
            f"warnings={self.warnings!r})"
        )


def _hard_link_warning(info: os.stat_result) -> tuple[str, ...]:
    if info.st_nlink <= 1:
        return ()
    others = info.st_nlink - 1
    verb = "holds" if others == 1 else "hold"
    return (
        (
            f"had {info.st_nlink} hard links: the write replaced this name only; "
            f"the other {others} still {verb} the old bytes"
        ),
    )


class Locked:
    """A config held under its lock (from `locked_config`).

    Attributes:
        shown: the path as the caller named it (for messages).
        folder: the resolved folder; name: the file's name in it.
        current: the bytes read under the lock (updated by `reread`).
        info: the ``fstat`` of the locked file.
    """

    def __init__(
        self,
        *,
        shown: str,
        folder: str,
        name: str,
        dir_fd: int | None,
        fd: int,
        fsync: bool,
    ) -> None:
        self.shown = shown
        self.folder = folder
        self.name = name
        self._dir_fd = dir_fd
        self._fd = fd
        self._fsync = fsync
        self._read: tuple[bytes, os.stat_result] | None = None

    @property
    def current(self) -> bytes:
        """The bytes read under the lock (read on first use; see `reread`)."""
        if self._read is None:
            self.reread()
        assert self._read is not None  # noqa: S101 -- set by reread
        return self._read[0]

    @property
    def info(self) -> os.stat_result:
        """The ``fstat`` of the locked file, as of the last read."""
        if self._read is None:
            self.reread()
        assert self._read is not None  # noqa: S101 -- set by reread
        return self._read[1]

    @property
    def path(self) -> str:
        """The resolved path of the file locked."""
        return str(Path(self.folder, self.name))

    def reread(self) -> bytes:
        """Read the locked file (again: a writer ignoring the lock may write)."""
        self._read = _atomic.read_fd(self._fd, self.shown)
        return self._read[0]

    def _check_still_ours(self) -> None:
        where = self.name if self._dir_fd is not None else self.path
        now = os.stat(where, dir_fd=self._dir_fd, follow_symlinks=False)
        if stat.S_ISDIR(now.st_mode):
            raise _atomic.not_regular(now.st_mode, self.shown)
        if _lock.SIDECAR:  # pragma: no cover - Windows: the lock is the sidecar
            return
        if (now.st_dev, now.st_ino) != (self.info.st_dev, self.info.st_ino):
            raise ConflictError(CHANGED_UNDER_LOCK, path=self.shown)

    def replace(self, data: bytes, *, backup_suffix: str | None = None) -> WriteResult:
        """Back up `current` (if asked) and replace the file with *data*.

        Raises:
            ConflictError: the name no longer is the locked file.
            WriteError: the write failed; the file is intact.
            FileNotFoundError: the file was deleted meanwhile.
        """
        check_backup_suffix(backup_suffix)
        self._check_still_ours()
        backup = _atomic.write_locked(
            self.folder, self.name, data, self.info, self.current,
            shown=self.shown, dir_fd=self._dir_fd,
            backup_suffix=backup_suffix, fsync=self._fsync,
        )  # fmt: skip
        return WriteResult(
            written=True, backup=backup, warnings=_hard_link_warning(self.info)
        )

    def remove_stale_temps(
        self, candidates: Iterable[str], *, older_than: float
    ) -> list[str]:
        """Remove those of *candidates* (temp names in the folder) that are stale."""
        removed = []
        for temp in candidates:
            if _atomic.is_stale_temp(
                self.folder, temp, dir_fd=self._dir_fd, older_than=older_than
            ):
                _atomic.unlink_quietly(self.folder, temp, dir_fd=self._dir_fd)
                removed.append(temp)
        return removed


def resolve(path: str, *, follow_symlinks: bool) -> tuple[str, str]:
    if follow_symlinks:
        return os.path.split(os.path.realpath(path))
    folder, name = os.path.split(os.path.normpath(Path(path).absolute()))
    return os.path.realpath(folder), name


_PROC_FD: Final = sys.platform == "linux"
"""``/proc/self/fd/N`` names what descriptor N has open (when /proc is mounted)."""


def _open_resolved(shown: str) -> tuple[str, str, int] | None:
    """Open the folder of *shown* once; its real path from the kernel (Linux).

    The folder is opened following any symlink on the way, as `resolve`
    would, and ``/proc/self/fd`` then says what was opened: one lookup that
    no swap can slip between (`os.path.realpath` is a ``lstat`` per part,
    then a second open). None where ``/proc`` cannot tell (then `resolve`).
    """
    if not _PROC_FD or not _atomic.DIR_FD:
        return None
    folder, name = os.path.split(os.path.abspath(shown))  # noqa: PTH100 -- hot path
    try:
        dir_fd = _atomic.open_folder(folder, follow=True)
    except OSError:
        return None  # the slow path says why
    assert dir_fd is not None  # noqa: S101 -- DIR_FD is set
    real = kernel_path(dir_fd)
    if real is None:
        os.close(dir_fd)
        return None
    return real, name, dir_fd


def kernel_path(dir_fd: int) -> str | None:
    """What folder *dir_fd* has open, as the kernel says (``/proc/self/fd``).

    None where ``/proc`` cannot tell (not Linux, not mounted) or the folder
    was deleted since it was opened (its link count is 0; a folder merely
    *named* ``... (deleted)`` is still told).
    """
    if not _PROC_FD:
        return None
    try:
        real = os.readlink(f"/proc/self/fd/{dir_fd}")  # noqa: PTH115 -- a str, no Path
        if real.endswith(" (deleted)") and os.fstat(dir_fd).st_nlink == 0:
            return None
    except OSError:
        return None
    return real if real.startswith("/") else None


@contextlib.contextmanager
def locked_config(
    path: str | os.PathLike[str],
    *,
    timeout: float = 60.0,
    follow_symlinks: bool = True,
    roots: tuple[str, ...] | None = None,
    fsync: bool = True,
) -> Iterator[Locked]:
    """Steps 1-3 of the contract: resolve, lock, re-read; yield a `Locked`.

    Args:
        path: the config.
        timeout: seconds to wait for the lock.
        follow_symlinks: False: a symlink at *path* is a `ConflictError`.
        roots: resolved folders the file must be inside (else `ConflictError`).
        fsync: flush writes (leave on, except in throwaway folders).

    Raises:
        ConflictError: see *follow_symlinks* and *roots*.
        NotRegularFileError: a FIFO, device or folder; refused at once.
        FileTooLargeError: over the size limit.
        WriteError: the file or its folder cannot be opened.
        FleetError: the lock was held by another process beyond *timeout*.
    """
    shown = os.fspath(path)
    opened = None if follow_symlinks else _open_resolved(shown)
    dir_fd: int | None = None
    if opened is not None:
        folder, name, dir_fd = opened
    else:
        folder, name = resolve(shown, follow_symlinks=follow_symlinks)
    real = os.path.join(folder, name)  # noqa: PTH118 -- hot path, plain strings
    if roots is not None and not _inside(real, roots):
        if opened is not None:
            os.close(opened[2])
        msg = f"resolves outside the given folders now, to {real}; left alone"
        raise ConflictError(msg, path=shown)
    if opened is None:
        try:
            dir_fd = _atomic.open_folder(folder)
        except OSError as exc:
            raise WriteError(
                f"cannot open its folder: {_atomic.describe(exc)}", path=shown
            ) from exc
        # `resolve` read the path part by part and open_folder refuses a
        # symlink only as the last part: a folder higher up swapped in
        # between is caught here, by what the kernel says was opened.
        seen = None if dir_fd is None else kernel_path(dir_fd)
        if dir_fd is not None and seen is not None and seen != folder:
            os.close(dir_fd)
            msg = f"its folder moved while it was opened (now {seen}); left alone"
            raise ConflictError(msg, path=shown)
    try:
        if not follow_symlinks and dir_fd is None:  # pragma: no cover - no dir_fd
            _refuse_symlink(folder, name, dir_fd, shown)
        link_error = None if follow_symlinks else _BECAME_SYMLINK
        with _lock.hold(
            Path(real), shown=shown, timeout=timeout, dir_fd=dir_fd,
            link_error=link_error,
        ) as fd:  # fmt: skip
            if _lock.SIDECAR:  # pragma: no cover - Windows: read the config itself
                with open(real, "rb", buffering=0) as file:  # noqa: PTH123 -- an fd
                    locked = Locked(
                        shown=shown, folder=folder, name=name,
                        dir_fd=dir_fd, fd=file.fileno(), fsync=fsync,
                    )  # fmt: skip
                    yield locked
                return
            locked = Locked(
                shown=shown, folder=folder, name=name,
                dir_fd=dir_fd, fd=fd, fsync=fsync,
            )  # fmt: skip
            yield locked
    finally:
        if dir_fd is not None:
            os.close(dir_fd)


_BECAME_SYMLINK: Final = "became a symlink since it was found; not followed, left alone"


def _refuse_symlink(folder: str, name: str, dir_fd: int | None, shown: str) -> None:
    """Without ``dir_fd`` (Windows): a symlink at the name is refused here.

    With it, the lock's ``O_NOFOLLOW`` open refuses it (ELOOP), in the same
    lookup that opens the file.
    """
    where = name if dir_fd is not None else str(Path(folder, name))
    with contextlib.suppress(FileNotFoundError):
        if stat.S_ISLNK(os.stat(where, dir_fd=dir_fd, follow_symlinks=False).st_mode):
            raise ConflictError(_BECAME_SYMLINK, path=shown)


def _inside(real: str, roots: tuple[str, ...]) -> bool:
    return any(real == r or real.startswith(r.rstrip(os.sep) + os.sep) for r in roots)


def replace_config(
    path: str | os.PathLike[str],
    data: bytes,
    *,
    based_on: bytes | None,
    backup_suffix: str | None = None,
    fsync: bool = True,
    timeout: float = 60.0,
) -> WriteResult:
    """The whole contract in one call: lock, re-read, compare, back up, write.

    Args:
        path: the config (a symlink is resolved once; its target is replaced).
        data: the new bytes.
        based_on: the bytes the edit started from; the file must still hold
            them (else `ConflictError`, nothing written). None: no check.
        backup_suffix: keep the replaced bytes in a new backup file.
        fsync: flush to disk (leave on, except in throwaway folders).
        timeout: seconds to wait for the lock.

    A file that does not exist is created (mode 0o600) without a lock, and
    only if it still does not exist when it is put in place.

    Raises:
        ConflictError: the file changed since *based_on* was read.
        InvalidValueError: a refused backup suffix.
        NotRegularFileError, FileTooLargeError, WriteError, FleetError: as
            `locked_config`; the file is intact.
    """
    check_backup_suffix(backup_suffix)
    shown = os.fspath(path)
    folder, name = resolve(shown, follow_symlinks=True)
    if not os.path.lexists(str(Path(folder, name))):
        _atomic.write_locked(
            folder, name, data, None, b"", shown=shown, dir_fd=None,
            backup_suffix=None, fsync=fsync,
        )  # fmt: skip
        return WriteResult(written=True)
    try:
        with locked_config(shown, timeout=timeout, fsync=fsync) as locked:
            if based_on is not None and locked.current != based_on:
                raise ConflictError(_CHANGED_SINCE_LOADED, path=shown)
            if locked.current == data:
                return WriteResult(written=False)
            return locked.replace(data, backup_suffix=backup_suffix)
    except TentacleHAError:
        raise
    except OSError as exc:
        raise WriteError(f"cannot write: {_atomic.describe(exc)}", path=shown) from exc
