"""Find Tentacle.config files: instance index files, folders, globs; read them safely.

Instances
    `discover_instances` reads Tentacle's instance index files, as Tentacle
    does (``<machineHome>/Tentacle/Instances/*.config``, JSON with ``Name`` and
    ``ConfigurationFilePath``); `default_machine_home` says where that home
    is. Both accept a *root* (a mounted image, a test tree) below which every
    absolute path is read.

Files
    `expand_paths` turns files, folders and glob patterns into the configs to
    work on, streamed, skipping (with a `Finding`) what it must not load:
    files over 16 MiB, binary files, symlinks leading out of the given
    folders. `tentacle_ha.fleet.plan`, `tentacle_ha.fleet.apply` and
    `tentacle_ha.fleet.audit.audit_fleet` find files by the same rules and read
    each one here, once: a regular file, within the size limit, never
    blocking on a FIFO.

.. versionadded:: 0.1.0
"""

from __future__ import annotations

import errno
import glob
import json
import os
import posixpath
import re
import stat
import sys
from pathlib import Path
from typing import TYPE_CHECKING
from typing import Final
from typing import Literal
from typing import NamedTuple

import attrs

from tentacle_ha import _atomic
from tentacle_ha.config import MAX_FILE_SIZE
from tentacle_ha.errors import FileTooLargeError
from tentacle_ha.errors import TentacleHAError
from tentacle_ha.fleet.findings import Finding
from tentacle_ha.fleet.findings import Severity

if TYPE_CHECKING:
    from collections.abc import Iterable
    from collections.abc import Iterator
    from collections.abc import Mapping

__all__ = [
    "MACHINE_HOME_ENV",
    "Instance",
    "Platform",
    "count_paths",
    "default_machine_home",
    "discover_instances",
    "expand_paths",
    "instance_index_name",
    "instances_folder",
    "parse_instance_index",
    "pick_instance",
]


def __dir__() -> list[str]:
    return __all__


MACHINE_HOME_ENV: Final = "TentacleMachineConfigurationHomeDirectory"
"""The environment variable that moves Tentacle's machine-wide home.

.. versionadded:: 0.1.0
"""

_SNIFF_SIZE: Final = 4096
_INDEX_MAX: Final = 1024 * 1024

Platform = Literal["linux", "windows"]
"""Whose path conventions discovery follows.

.. versionadded:: 0.1.0
"""


def _describe_os(exc: OSError) -> str:
    name = errno.errorcode.get(exc.errno or 0, "")
    reason = exc.strerror or str(exc)
    return f"{reason} ({name})" if name else reason


def _finding(severity: Severity, code: str, path: str, message: str) -> Finding:
    return Finding(severity=severity, code=code, path=path, message=message)


# -- instances -------------------------------------------------------------------


@attrs.frozen(kw_only=True)
class Instance:
    """A Tentacle instance from its index file (no public constructor).

    Attributes:
        name: the instance name (``Name``), if the index file gives one.
        config_path: ``ConfigurationFilePath`` exactly as written.
        path: where that file is read here (under the discovery root), or
            None when the index file is unusable.
        index_path: the index file.
        problem: why the index file is unusable, or None.

    .. versionadded:: 0.1.0
    """

    name: str | None
    config_path: str | None
    path: Path | None
    index_path: Path
    problem: str | None = None


def _host_platform() -> Platform:
    return "windows" if sys.platform == "win32" else "linux"


def default_machine_home(
    *, platform: Platform | None = None, environ: Mapping[str, str] | None = None
) -> str:
    """Tentacle's machine-wide home, where the ``Tentacle/Instances`` folder is.

    ``$TentacleMachineConfigurationHomeDirectory`` when set; otherwise
    ``/etc/octopus`` on Linux and ``%ProgramData%\\Octopus`` on Windows.

    .. versionadded:: 0.1.0
    """
    env = os.environ if environ is None else environ
    override = env.get(MACHINE_HOME_ENV, "").strip()
    if override:
        return override
    if (platform or _host_platform()) == "windows":
        data = env.get("ProgramData", "").strip() or "C:\\ProgramData"
        return data.rstrip("\\/") + "\\Octopus"
    return "/etc/octopus"


_DRIVE: Final = re.compile(
    r"^(?:[\\/]{2}[?.][\\/])?([A-Za-z]):(?:[\\/](.*))?$", re.DOTALL
)
_UNC: Final = re.compile(
    r"^[\\/]{2}(?![?.][\\/])([^\\/]+)[\\/]+([^\\/]+)[\\/]*(.*)$", re.DOTALL
)


def _safe_parts(text: str, separators: str) -> list[str]:
    """Path parts with ``.`` and ``..`` resolved, never climbing above the top."""
    parts: list[str] = []
    for part in re.split(f"[{re.escape(separators)}]+", text):
        if part in {"", "."}:
            continue
        if part == "..":
            if parts:
                parts.pop()
            continue
        parts.append(part)
    return parts


def _local_path(text: str, *, root: Path | None, platform: Platform) -> Path | None:
    """Where the absolute path *text* (of a *platform* machine) is read here.

    Under *root*, ``/etc/x`` is ``root/etc/x``, ``C:\\x`` is ``root/C/x`` and
    ``\\\\server\\share\\x`` is ``root/UNC/server/share/x``. None when *text*
    is not absolute.
    """
    if platform == "windows":
        drive = _DRIVE.match(text)
        unc = _UNC.match(text)
        if drive:
            head, rest = [drive.group(1).upper()], drive.group(2) or ""
        elif unc:
            head, rest = ["UNC", unc.group(1), unc.group(2)], unc.group(3)
        else:
            return None
        if root is None:
            return Path(text)
        return root.joinpath(*head, *_safe_parts(rest, "\\/"))
    if not text.startswith("/"):
        return None
    if root is None:
        return Path(posixpath.normpath(text))
    return root.joinpath(*_safe_parts(text, "/"))


class _BrokenIndexError(ValueError):
    """Why an instance index file cannot be used."""


def _index_fields(index: Path) -> tuple[str | None, str]:
    """``Name`` and ``ConfigurationFilePath`` of an instance index file."""
    try:
        if index.stat().st_size > _INDEX_MAX:
            msg = "instance index file is over 1 MiB; not read"
            raise _BrokenIndexError(msg)
        raw = index.read_bytes()
    except OSError as exc:
        msg = f"cannot read the instance index file: {_describe_os(exc)}"
        raise _BrokenIndexError(msg) from exc
    return _parse_index(raw)


def _parse_index(raw: bytes) -> tuple[str | None, str]:
    if len(raw) > _INDEX_MAX:
        msg = "instance index file is over 1 MiB; not read"
        raise _BrokenIndexError(msg)
    try:
        data = json.loads(raw.decode("utf-8-sig"))
    except (UnicodeDecodeError, ValueError) as exc:
        msg = f"instance index file is not JSON: {exc}"
        raise _BrokenIndexError(msg) from exc
    if not isinstance(data, dict):
        msg = "instance index file is not a JSON object"
        raise _BrokenIndexError(msg)
    fields = {str(k).lower(): v for k, v in data.items()}  # Newtonsoft ignores case
    name, config = fields.get("name"), fields.get("configurationfilepath")
    if not isinstance(config, str) or not config.strip():
        msg = "instance index file has no ConfigurationFilePath"
        raise _BrokenIndexError(msg)
    return (name if isinstance(name, str) else None), config


def _instance(
    index: Path, fields: tuple[str | None, str], root: Path | None, platform: Platform
) -> Instance:
    name, config = fields
    local = _local_path(config.strip(), root=root, platform=platform)
    problem = None
    if local is None:
        problem = f"ConfigurationFilePath {config!r} is not an absolute path"
    return Instance(
        name=name, config_path=config, path=local, index_path=index, problem=problem
    )


def _unusable(index: Path, problem: str) -> Instance:
    return Instance(
        name=None, config_path=None, path=None, index_path=index, problem=problem
    )


def _read_index(index: Path, root: Path | None, platform: Platform) -> Instance:
    try:
        fields = _index_fields(index)
    except _BrokenIndexError as exc:
        return _unusable(index, str(exc))
    return _instance(index, fields, root, platform)


def parse_instance_index(
    raw: bytes | None,
    index_path: str | os.PathLike[str],
    *,
    platform: Platform,
    unreadable: str | None = None,
) -> Instance:
    """An `Instance` from the bytes of an index file read elsewhere.

    For index files read on another machine (the Ansible collection slurps
    them from its targets): the same rules as `discover_instances`; an
    unusable file gives an `Instance` with `Instance.problem` set. *raw*
    None: the file could not be read, for the reason *unreadable*.

    .. versionadded:: 0.1.0
    """
    index = Path(index_path)
    if raw is None:
        reason = unreadable or "unknown reason"
        return _unusable(index, f"cannot read the instance index file: {reason}")
    try:
        fields = _parse_index(raw)
    except _BrokenIndexError as exc:
        return _unusable(index, str(exc))
    return _instance(index, fields, None, platform)


def instance_index_name(instance: str) -> str:
    """Tentacle's index file name for *instance* (``Tentacle``: ``tentacle.config``).

    .. versionadded:: 0.1.0
    """
    return instance.replace(" ", "-").lower() + ".config"


def pick_instance(instances: Iterable[Instance], name: str) -> Instance | None:
    """The instance called *name*, as Tentacle matches: ignoring case, an
    exact-case match winning; None when there is none.

    .. versionadded:: 0.1.0
    """
    folded = [
        i for i in instances if i.name is not None and i.name.lower() == name.lower()
    ]
    exact = [i for i in folded if i.name == name]
    chosen = exact or folded
    return chosen[0] if chosen else None


def instances_folder(
    *,
    root: str | os.PathLike[str] | None = None,
    machine_home: str | None = None,
    platform: Platform | None = None,
) -> Path:
    """Where `discover_instances` reads the instance index files (same arguments).

    .. versionadded:: 0.1.0
    """
    system: Platform = platform or _host_platform()
    home = (
        machine_home
        if machine_home is not None
        else default_machine_home(platform=system)
    )
    top = Path(root) if root is not None else None
    base = _local_path(home, root=top, platform=system)
    if base is None:
        base = (top or Path()) / home
    return base / "Tentacle" / "Instances"


def discover_instances(
    *,
    root: str | os.PathLike[str] | None = None,
    machine_home: str | None = None,
    platform: Platform | None = None,
) -> list[Instance]:
    """The Tentacle instances registered on a machine, as Tentacle lists them.

    Reads every ``*.config`` index file in ``<machineHome>/Tentacle/Instances``
    (sorted by name). An index file that cannot be used is still listed, with
    `Instance.problem` set, so nothing is silently missed.

    Args:
        root: a folder that stands for the machine's file system: every
            absolute path (the machine home and each ``ConfigurationFilePath``)
            is read below it; Windows paths map ``C:\\x`` to ``root/C/x``.
        machine_home: the machine home (default: `default_machine_home()` of
            *platform*).
        platform: whose conventions to use (default: this machine's).

    .. versionadded:: 0.1.0
    """
    system: Platform = platform or _host_platform()
    top = Path(root) if root is not None else None
    folder = instances_folder(root=root, machine_home=machine_home, platform=system)
    try:
        with os.scandir(folder) as entries:
            names = sorted(
                entry.name
                for entry in entries
                if entry.name.lower().endswith(".config") and entry.is_file()
            )
    except OSError:
        return []
    return [_read_index(folder / name, top, system) for name in names]


# -- finding files -------------------------------------------------------------------


def _is_config_name(name: str) -> bool:
    return name.lower().endswith(".config")


def _is_tentacle_name(name: str) -> bool:
    return name.lower().startswith("tentacle") and _is_config_name(name)


def _read_head(path: str) -> bytes:
    fd = os.open(
        path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0)
    )
    try:
        return os.read(fd, _SNIFF_SIZE)
    finally:
        os.close(fd)


def _sniff(head: bytes) -> str:
    """``config``, ``json``, ``binary`` or ``other``, from the first bytes."""
    if head.startswith((b"\xff\xfe\x00\x00", b"\x00\x00\xfe\xff")):
        return "other"
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        codec = "utf-16-le" if head.startswith(b"\xff\xfe") else "utf-16-be"
        text = head[2 : len(head) - len(head) % 2].decode(codec, "ignore")
    elif b"\x00" in head:
        return "binary"
    else:
        text = head.decode("latin-1")
    text = text.lstrip("\ufeff\xef\xbb\xbf \t\r\n")
    if "<octopus-settings" in text:
        return "config"
    if text.startswith(("{", "[")):
        return "json"
    return "other"


def _unreadable(path: str, exc: OSError, what: str = "read") -> Finding:
    return _finding(
        Severity.ERROR, "unreadable", path, f"cannot {what}: {_describe_os(exc)}"
    )


def _not_loadable(path: str, info: os.stat_result) -> Finding | None:
    """Why a file found by `os.stat` must not even be opened, if it must not."""
    if not stat.S_ISREG(info.st_mode):
        return _finding(
            Severity.WARNING, "not-a-file", path, "not a regular file; skipped"
        )
    if info.st_size > MAX_FILE_SIZE:
        return _finding(
            Severity.WARNING,
            "file-too-large",
            path,
            f"{info.st_size} bytes, over the {MAX_FILE_SIZE // (1024 * 1024)} MiB "
            "limit; skipped without reading it",
        )
    return None


class _Found(NamedTuple):
    """A file the walk found: named explicitly, or met while crawling a folder."""

    path: str
    explicit: bool
    link: bool = False
    """It was a symlink when found (else a symlink there later is refused)."""
    roots: tuple[str, ...] | None = None
    """Resolved folders it must stay inside (None: no such rule)."""
    temps: tuple[str, ...] | None = None
    """Its temporary files (``.<name>.*.tentacle-ha-tmp``) in the crawl's
    listing of its folder; None when it was not crawled (named explicitly)."""


def _temps_by_owner(names: Iterable[str]) -> dict[str, tuple[str, ...]]:
    """The temporary files in a folder's listing, by the config they belong to."""
    suffix = _atomic.TEMP_SUFFIX
    owners: dict[str, list[str]] = {}
    for name in names:
        if name.startswith(".") and name.endswith(suffix):
            owner = name[1 : -len(suffix)].rpartition(".")[0]
            owners.setdefault(owner, []).append(name)
    return {owner: tuple(temps) for owner, temps in owners.items()}


def _classify(path: str, head: bytes, *, explicit: bool) -> Finding | bool:
    """From a file's first bytes: take it (True), skip it (a finding), or ignore it."""
    kind = _sniff(head)
    if kind == "binary":
        return _finding(
            Severity.WARNING, "binary-file", path, "binary content (NUL bytes); skipped"
        )
    if explicit or kind == "config":
        return True
    # A broken Tentacle.config is taken: loading it says what is wrong.
    return kind == "other" and _is_tentacle_name(os.path.basename(path))  # noqa: PTH119 -- as in _app_config


def _checked(found: _Found) -> Path | Finding | None:
    """*found* if it is to be worked on, a finding why not, or None (not a config)."""
    path = found.path
    try:
        info = Path(path).stat()
        problem = _not_loadable(path, info)
        if problem is not None:
            return problem if found.explicit or stat.S_ISREG(info.st_mode) else None
        verdict = _classify(path, _read_head(path), explicit=found.explicit)
    except OSError as exc:
        return _unreadable(path, exc)
    if verdict is True:
        return Path(path)
    return verdict or None


def _load_found(found: _Found) -> bytes | Finding | None:
    """`_checked`, reading the whole file once: its bytes, a finding, or None."""
    path = found.path
    try:
        info = os.stat(path)  # noqa: PTH116 -- hot path: a Path costs more than the stat
        problem = _not_loadable(path, info)
        if problem is not None:
            return problem if found.explicit or stat.S_ISREG(info.st_mode) else None
        data, _ = _read_config(path)
    except OSError as exc:
        return _unreadable(path, exc)
    except TentacleHAError as exc:  # it changed under us: too large, not a file
        code = "file-too-large" if isinstance(exc, FileTooLargeError) else "not-a-file"
        return _finding(Severity.WARNING, code, path, exc.message)
    verdict = _classify(path, data[:_SNIFF_SIZE], explicit=found.explicit)
    if verdict is True:
        return data
    return verdict or None


def _inside(real: str, roots: tuple[str, ...]) -> bool:
    return any(real == r or real.startswith(r.rstrip(os.sep) + os.sep) for r in roots)


def _broken_link(path: str, real: str) -> Finding:
    return _finding(
        Severity.WARNING,
        "broken-symlink",
        path,
        f"points at {real}, which does not exist",
    )


def _symlink(
    path: str, top: str, roots: tuple[str, ...], *, follow: bool
) -> tuple[str | None, Finding | None]:
    """How the crawl of *top* takes a symlink: as a "dir" or "file", or not."""
    real = os.path.realpath(path)
    target = Path(real)
    if not target.exists():
        if _is_config_name(Path(path).name):
            return None, _broken_link(path, real)
        return None, None
    is_dir = target.is_dir()
    if _inside(real, (top,)):
        # The crawl reaches the target under its own name; do not count it twice.
        if is_dir or _is_config_name(target.name):
            return None, None
        return "file", None
    if not follow and not _inside(real, roots):
        return None, _finding(
            Severity.WARNING,
            "symlink-outside-roots",
            path,
            f"points outside the given folders, at {real}; not followed "
            "(--follow-symlinks follows it)",
        )
    return ("dir" if is_dir else "file"), None


def _crawl(
    top: str, roots: tuple[str, ...], *, follow: bool
) -> Iterator[_Found | Finding]:
    """Depth-first, sorted, streaming: a folder's files, then its subfolders.

    Without symlinks there can be no loop, so only the targets of followed
    symlinks are remembered.
    """
    real_top = os.path.realpath(top)
    stack = [top]
    visited = {real_top}
    while stack:
        folder = stack.pop()
        try:
            with os.scandir(folder) as it:
                entries = sorted(it, key=lambda e: e.name)
        except OSError as exc:
            yield _unreadable(folder, exc, "list")
            continue
        subfolders: list[str] = []
        temps = _temps_by_owner(e.name for e in entries)
        for entry in entries:
            kind, problem = _entry_kind(entry, real_top, roots, follow=follow)
            if problem is not None:
                yield problem
            if kind == "dir":
                subfolders.append(entry.path)
            elif kind == "linked-dir":
                real = os.path.realpath(entry.path)
                if real not in visited:
                    visited.add(real)
                    subfolders.append(entry.path)
            elif kind == "file" and _is_config_name(entry.name):
                yield _app_config(entry.path) or _Found(
                    entry.path,
                    explicit=False,
                    link=entry.is_symlink(),
                    roots=None if follow else (real_top, *roots),
                    temps=temps.get(entry.name, ()),
                )
        stack.extend(reversed(subfolders))


_APP_CONFIG: Final = "tentacle.exe.config"


def _app_config(path: str) -> Finding | None:
    """An info finding for ``Tentacle.exe.config``: .NET's file, not Tentacle's."""
    # os.path, not Path: pathlib interns every path part for good, so a Path
    # per crawled file grows memory with the size of the fleet.
    if os.path.basename(path).lower() != _APP_CONFIG:  # noqa: PTH119 -- see above
        return None
    return _finding(
        Severity.INFO,
        "dotnet-app-config",
        path,
        "the .NET application config of Tentacle.exe, not a Tentacle.config; skipped",
    )


def _entry_kind(
    entry: os.DirEntry[str], top: str, roots: tuple[str, ...], *, follow: bool
) -> tuple[str | None, Finding | None]:
    """ "dir", "linked-dir", "file" or None (skip), and a finding if any."""
    if entry.is_symlink():
        kind, problem = _symlink(entry.path, top, roots, follow=follow)
        return ("linked-dir" if kind == "dir" else kind), problem
    if entry.is_dir(follow_symlinks=False):
        return "dir", None
    return ("file" if entry.is_file(follow_symlinks=False) else None), None


def _walk(
    paths: Iterable[str | os.PathLike[str]],
    *,
    follow_symlinks: bool,
    roots: Iterable[str | os.PathLike[str]] | None = None,
) -> Iterator[_Found | Finding]:
    """The files named by *paths*, before any per-file check."""
    fixed = tuple(os.path.realpath(r) for r in roots) if roots is not None else None
    for arg in paths:
        text = os.fspath(arg)
        if not os.path.lexists(text) and glob.has_magic(text):
            matches = sorted(glob.iglob(text, recursive=True))  # noqa: PTH207 -- takes absolute patterns too
            if not matches:
                yield _finding(Severity.ERROR, "not-found", text, "matches no file")
            for match in matches:
                yield from _walk_one(
                    match, fixed, follow=follow_symlinks, explicit=False
                )
        else:
            yield from _walk_one(text, fixed, follow=follow_symlinks, explicit=True)


def _walk_one(
    text: str, roots: tuple[str, ...] | None, *, follow: bool, explicit: bool
) -> Iterator[_Found | Finding]:
    path = Path(text)
    if path.is_dir():
        yield from _crawl(text, roots or (os.path.realpath(text),), follow=follow)
    elif path.is_symlink() and not path.exists():
        yield _broken_link(text, os.path.realpath(text))
    elif not path.exists():
        yield _finding(Severity.ERROR, "not-found", text, "no such file or folder")
    else:
        yield _app_config(text) or _Found(
            text, explicit=explicit, link=path.is_symlink()
        )


def expand_paths(
    paths: Iterable[str | os.PathLike[str]],
    *,
    follow_symlinks: bool = False,
    roots: Iterable[str | os.PathLike[str]] | None = None,
) -> Iterator[Path | Finding]:
    """The Tentacle.config files named by *paths*, streamed, with findings.

    - A file is taken as it is (even if its name does not end in
      ``.config``), unless it is over 16 MiB or binary: then a `Finding`
      says so and the file is never read (a too-large one is not opened).
    - A folder is searched recursively, in sorted order, for ``*.config``
      files that look like Tentacle configs (the first 4 KiB hold
      ``<octopus-settings``, or the name starts with ``Tentacle``). Instance
      index files (JSON), temporary files, lock files and backups are not
      configs and are never returned.
    - A pattern with ``*``, ``?`` or ``[`` that names no existing path is
      expanded as a glob (``**`` recurses); its matches are sorted, and
      taken when they look like Tentacle configs, as in a folder.

    Inside a folder, a symlink leading outside it and outside *roots* gives
    a ``symlink-outside-roots`` finding and is not followed, unless
    *follow_symlinks*. A symlink to a place inside the folder is skipped: the
    crawl reaches its target under its own name.

    `tentacle_ha.fleet.plan`, `tentacle_ha.fleet.apply` and
    `tentacle_ha.fleet.audit.audit_fleet` find files by the same rules, checking
    each file where they read it.

    .. versionadded:: 0.1.0
    """
    for item in _walk(paths, follow_symlinks=follow_symlinks, roots=roots):
        found = item if isinstance(item, Finding) else _checked(item)
        if found is not None:
            yield found


def count_paths(
    paths: Iterable[str | os.PathLike[str]], *, follow_symlinks: bool = False
) -> int:
    """How many paths a fleet run over *paths* looks at, opening no file.

    The files and findings the crawl meets, as `tentacle_ha.fleet.plan` and
    `tentacle_ha.fleet.apply` meet them (a folder's ``*.config`` files that
    turn out not to be Tentacle configs included): the total of a progress
    bar, and what "not reached" is counted from after an interrupt.

    .. versionadded:: 0.1.0
    """
    return sum(1 for _ in _walk(paths, follow_symlinks=follow_symlinks))


# -- reading -----------------------------------------------------------------------


def _read_config(path: str) -> tuple[bytes, os.stat_result]:
    """Read one config: a regular file, at most `MAX_FILE_SIZE` bytes, never blocking.

    Returns:
        The bytes and the ``fstat`` of the file read (its device and inode).

    Raises:
        FileTooLargeError: over the limit (at most the limit + 1 bytes read).
        NotRegularFileError: not a regular file (a folder, a FIFO...).
        OSError: as `os.open` does.
    """
    return _atomic.read_regular(path, limit=MAX_FILE_SIZE)


def _read_config_bytes(path: str) -> bytes:
    """`_read_config`, the bytes only."""
    return _read_config(path)[0]
