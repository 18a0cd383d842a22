"""Fleet edits: plan and apply one edit to many Tentacle.config files.

The files are found as `tentacle_ha.fleet.discover.expand_paths` finds them (files,
folders, globs; `tentacle_ha.fleet.discover.discover_instances` lists a machine's
instances). The edits themselves (`SyncToCluster`, which is also how to
*migrate layout*, `AddNode`, `RemoveNode`, `Rotate`, `KeepOnly`, `SetKey`,
`UnsetKey`, `SetPollingConnectionCount`, all `Edit` values) live in
`tentacle_ha.fleet.edits`.

Editing
    `plan` writes nothing and yields a `FilePlan` per file (status, hashes,
    diff with secrets redacted). `apply` writes, yielding a `FileOutcome` per
    file. For each file it takes an advisory lock (on the file itself on
    POSIX; a sidecar ``.<name>.tentacle-ha-lock`` on Windows), removes temporary files
    a killed run left for it, reads, edits, re-checks the bytes on disk and
    replaces the file atomically (mode and owner kept, optional backup). So
    concurrent runs serialise instead of losing updates, and a crash at any
    moment leaves every file either as it was or as planned. A file that
    changed since a reviewed plan, or while it was being edited by a program
    that does not take the lock (Tentacle itself), is a ``conflict`` and left
    alone. One file's failure never stops the others. Applying twice writes
    nothing the second time. `load_plan` reads a reviewed plan back.

Both stream: files are found lazily and edited in parallel worker processes
with a bounded number of chunks in flight, so memory stays flat however large
the fleet.

.. versionadded:: 0.1.0
"""

from __future__ import annotations

import collections
import contextlib
import enum
import hashlib
import hmac
import json
import os
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING
from typing import Any
from typing import Final
from typing import NamedTuple

import attrs

from tentacle_ha import _writer
from tentacle_ha._atomic import TEMP_SUFFIX
from tentacle_ha._atomic import write_atomic
from tentacle_ha.config import TentacleConfig
from tentacle_ha.config import loads
from tentacle_ha.config import needs_restart
from tentacle_ha.config._values import is_secret_key
from tentacle_ha.errors import ConflictError
from tentacle_ha.errors import FleetError
from tentacle_ha.errors import InvalidValueError
from tentacle_ha.errors import TentacleHAError
from tentacle_ha.fleet import discover as _discover
from tentacle_ha.fleet._diff import unified_diff
from tentacle_ha.fleet._pipeline import Done
from tentacle_ha.fleet._pipeline import pipeline
from tentacle_ha.fleet.discover import _describe_os
from tentacle_ha.fleet.discover import _Found
from tentacle_ha.fleet.discover import _load_found
from tentacle_ha.fleet.discover import _walk
from tentacle_ha.fleet.edits import SetKey
from tentacle_ha.fleet.findings import Finding
from tentacle_ha.fleet.findings import Severity

if TYPE_CHECKING:
    from collections.abc import Callable
    from collections.abc import Iterable
    from collections.abc import Iterator
    from collections.abc import Mapping

    from tentacle_ha.fleet.edits import Edit

__all__ = [
    "PLAN_FORMAT",
    "FileOutcome",
    "FilePlan",
    "ReviewedPlan",
    "Status",
    "apply",
    "load_plan",
    "plan",
    "plan_header",
]


def __dir__() -> list[str]:
    return __all__


PLAN_FORMAT: Final = "tentacle-ha-fleet-plan/1"
"""The ``format`` of a saved ``fleet plan --json`` document."""


def _reason(exc: BaseException) -> str:
    if isinstance(exc, TentacleHAError):
        if exc.line is not None:
            where = f"{exc.line}:{exc.col}" if exc.col is not None else str(exc.line)
            return f"{where}: {exc.message}"
        return exc.message
    if isinstance(exc, OSError):
        return _describe_os(exc)
    return f"{type(exc).__name__}: {exc}"


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _sha256_again(
    data: bytes | None, seen: bytes | None, digest: str | None
) -> str | None:
    """`_sha256` of *data*, reusing *digest* (of *seen*) when the bytes are equal."""
    if data is None:
        return None
    if digest is not None and data == seen:
        return digest
    return _sha256(data)


# -- results -------------------------------------------------------------------------


class Status(enum.StrEnum):
    """What happened (or would happen) to one file.

    .. versionadded:: 0.1.0
    """

    CHANGED = "changed"
    UNCHANGED = "unchanged"
    FAILED = "failed"
    CONFLICT = "conflict"
    """Changed by someone else since the plan or during the edit; left alone."""
    SKIPPED = "skipped"
    """Not worked on (not loadable safely, or the edit does not concern it)."""


@attrs.frozen(kw_only=True)
class FilePlan:
    """What `plan` would do to one file (no public constructor).

    Attributes:
        path: the file.
        status: changed, unchanged, failed or skipped.
        before_sha256: SHA-256 of the bytes read (None if unreadable).
        after_sha256: SHA-256 of the bytes it would write (None if failed/skipped).
        diff: unified diff, secrets shown as ``***`` ("" unless changed).
        reason: the keys it would update, or why it failed or was skipped.
        restart_required: whether the change touches what the Tentacle reads
            only when it starts (see `tentacle_ha.needs_restart`).

    .. versionadded:: 0.1.0
    """

    path: str
    status: Status
    before_sha256: str | None = None
    after_sha256: str | None = None
    diff: str = ""
    reason: str = ""
    restart_required: bool = False

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready values."""
        return {
            "path": self.path,
            "status": str(self.status),
            "reason": self.reason,
            "before_sha256": self.before_sha256,
            "after_sha256": self.after_sha256,
            "restart_required": self.restart_required,
            "diff": self.diff,
        }


@attrs.frozen(kw_only=True)
class FileOutcome:
    """What `apply` did to one file (no public constructor).

    Attributes:
        path: the file.
        status: changed, unchanged, failed, conflict or skipped.
        reason: the keys updated, or why it failed, conflicted or was skipped.
        before_sha256: SHA-256 of the bytes found (None if unreadable).
        after_sha256: SHA-256 of the bytes written, or found to be already right.
        backup: the backup written beside it, if any.
        restart_required: whether the change written touches what the
            Tentacle reads only when it starts: its service must be restarted.

    .. versionadded:: 0.1.0
    """

    path: str
    status: Status
    reason: str = ""
    before_sha256: str | None = None
    after_sha256: str | None = None
    backup: str | None = None
    restart_required: bool = False

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready values."""
        return {
            "path": self.path,
            "status": str(self.status),
            "reason": self.reason,
            "before_sha256": self.before_sha256,
            "after_sha256": self.after_sha256,
            "backup": self.backup,
            "restart_required": self.restart_required,
        }


def _found_status(finding: Finding) -> Status:
    return Status.FAILED if finding.severity is Severity.ERROR else Status.SKIPPED


# -- plan ------------------------------------------------------------------------------


@attrs.frozen
class _Edited:
    status: Status
    reason: str = ""
    after: bytes | None = None
    doc: TentacleConfig | None = None
    before_text: str = ""  # redacted, for the diff

    @property
    def restart(self) -> bool:
        """Whether the change needs the Tentacle service restarted."""
        if self.status is not Status.CHANGED or self.doc is None:
            return False
        return needs_restart(self.doc.changed_keys)


def _edit_bytes(path: str, data: bytes, edit: Edit, *, diff: bool = False) -> _Edited:
    try:
        doc = loads(data, path=path)
        skip = edit.skip_reason(doc)
        if skip is not None:
            return _Edited(Status.SKIPPED, skip)
        before_text = doc.redacted_text() if diff else ""
        edit.apply(doc)
        after = doc.dumps()
    except TentacleHAError as exc:
        return _Edited(Status.FAILED, _reason(exc))
    except Exception as exc:  # noqa: BLE001 -- one file's surprise must not stop the fleet
        return _Edited(Status.FAILED, f"unexpected error: {_reason(exc)}")
    if after == data:
        return _Edited(Status.UNCHANGED, after=after, doc=doc)
    reason = "updates " + ", ".join(doc.changed_keys)
    return _Edited(Status.CHANGED, reason, after, doc, before_text)


def _diff(edited: _Edited) -> str:
    """`TentacleConfig.diff`, without parsing the original bytes a second time.

    The redacted text taken before the edit is the original's; when a secret
    changed, the document's own diff marks it, so that case goes there.
    """
    doc = edited.doc
    if doc is None or edited.status is not Status.CHANGED:
        return ""
    if any(is_secret_key(key) for key in doc.changed_keys):
        return doc.diff()
    label = doc.name
    lines = unified_diff(
        edited.before_text.splitlines(),
        doc.redacted_text().splitlines(),
        f"a{label}" if label.startswith("/") else f"a/{label}",
        f"b{label}" if label.startswith("/") else f"b/{label}",
    )
    return "\n".join(lines) + "\n"


def _plan_one(found: _Found, edit: Edit) -> FilePlan | None:
    path = found.path
    data = _load_found(found)
    if data is None:
        return None
    if isinstance(data, Finding):
        return FilePlan(path=path, status=_found_status(data), reason=data.message)
    edited = _edit_bytes(path, data, edit, diff=True)
    before = _sha256(data)
    after = _sha256_again(edited.after, data, before)
    return FilePlan(
        path=path,
        status=edited.status,
        before_sha256=before,
        after_sha256=after,
        diff=_diff(edited),
        reason=edited.reason,
        restart_required=edited.restart,
    )


def plan(
    paths: Iterable[str | os.PathLike[str]],
    edit: Edit,
    *,
    jobs: int | None = None,
    follow_symlinks: bool = False,
    stop: threading.Event | None = None,
    on_file: Callable[[], None] | None = None,
) -> Iterator[FilePlan]:
    """What *edit* would do to every config under *paths*; writes nothing.

    Files are found as `expand_paths` finds them; a file it skips is a
    ``skipped`` plan (``failed`` when it could not be read at all). Results
    come in order, streamed, computed in *jobs* worker processes (default:
    one per CPU). *on_file* is called once for each path looked at (as
    `tentacle_ha.fleet.discover.count_paths` counts them, whether or not it
    gives a result); once *stop* is set, no further file is started.

    .. versionadded:: 0.1.0
    """
    items = (
        Done(
            FilePlan(
                path=item.path or "", status=_found_status(item), reason=item.message
            )
        )
        if isinstance(item, Finding)
        else item
        for item in _walk(paths, follow_symlinks=follow_symlinks)
    )
    for result in pipeline(items, _plan_one, edit, jobs=jobs, stop=stop):
        if on_file is not None:
            on_file()
        if result is not None:
            yield result


# -- apply -----------------------------------------------------------------------------

_IO_THREADS: Final = 4
"""Files each apply worker writes at once: fsync waits overlap (group commit)."""


@attrs.frozen
class _ApplyContext:
    edit: Edit
    backup_suffix: str | None
    fsync: bool
    lock_timeout: float
    lock: bool = True
    started: float = attrs.field(factory=time.time)
    """When the run started: a temp file older than that, found under the
    lock, is a dead writer's."""
    delay: float = 0.0  # tests only: seconds to wait after each file


_DELAY_ENV: Final = "_TENTACLE_HA_TEST_FILE_DELAY"
"""Tests only: seconds each apply waits after each file (to interrupt a run)."""


def _test_delay() -> float:
    try:
        return max(0.0, float(os.environ.get(_DELAY_ENV, "0")))
    except ValueError:
        return 0.0


class _ApplyTask(NamedTuple):
    path: str
    explicit: bool
    expected: str | None = None
    link: bool = False
    roots: tuple[str, ...] | None = None
    planned: str | None = None  # the after-hash of a reviewed plan
    temps: tuple[str, ...] | None = None  # from the crawl's listing (None: list)


_LISTINGS: collections.OrderedDict[str, dict[str, list[str]]] = (
    collections.OrderedDict()
)
_LISTINGS_MAX: Final = 64
_LISTINGS_LOCK = threading.Lock()


def _stale_temps(folder: str, name: str) -> list[str]:
    """Temporary files of *name* in *folder*, as listed once per folder."""
    with _LISTINGS_LOCK:
        listing = _LISTINGS.get(folder)
        if listing is not None:
            _LISTINGS.move_to_end(folder)
            return list(listing.get(name, ()))
    listing = {}
    with contextlib.suppress(OSError), os.scandir(folder) as it:
        for entry in it:
            entry_name = entry.name
            if entry_name.startswith(".") and entry_name.endswith(TEMP_SUFFIX):
                owner = entry_name[1 : -len(TEMP_SUFFIX)].rpartition(".")[0]
                listing.setdefault(owner, []).append(entry_name)
    with _LISTINGS_LOCK:
        _LISTINGS[folder] = listing
        while len(_LISTINGS) > _LISTINGS_MAX:
            _LISTINGS.popitem(last=False)
    return list(listing.get(name, ()))


def _clean_stale(held: _writer.Locked, task: _ApplyTask, ctx: _ApplyContext) -> None:
    """Remove the config's leftover temporary files; *held* is its lock.

    A crawled file's candidates come from the crawl's own listing of its
    folder; a file named explicitly has its folder listed once here.
    """
    if task.temps is not None:
        held.remove_stale_temps(task.temps, older_than=ctx.started)
        return
    held.remove_stale_temps(
        _stale_temps(held.folder, held.name), older_than=ctx.started
    )
    with _LISTINGS_LOCK:
        _LISTINGS.get(held.folder, {}).pop(held.name, None)


def _has_temps(task: _ApplyTask) -> bool:
    """Whether the file has temporary files to look at (no listing if crawled)."""
    if task.temps is not None:
        return bool(task.temps)
    folder, name = _writer.resolve(task.path, follow_symlinks=task.link)
    return bool(_stale_temps(folder, name))


def _outcome(  # noqa: PLR0917 -- a record, built positionally in one module
    path: str,
    status: Status,
    reason: str = "",
    before: bytes | None = None,
    after: bytes | None = None,
    backup: str | None = None,
    *,
    restart: bool = False,
) -> FileOutcome:
    hashed = _sha256(before) if before is not None else None
    return FileOutcome(
        path=path,
        status=status,
        reason=reason,
        before_sha256=hashed,
        after_sha256=_sha256_again(after, before, hashed),
        backup=backup,
        restart_required=restart,
    )


_CHANGED_SINCE_PLAN: Final = "changed since the plan was made; left alone"
_ALREADY_APPLIED: Final = "already applied: the file has the plan's result"
_CHANGED_UNDER_LOCK: Final = _writer.CHANGED_UNDER_LOCK


def _locked(
    task: _ApplyTask, ctx: _ApplyContext
) -> contextlib.AbstractContextManager[_writer.Locked]:
    """The config's lock, held to the discovery's rules.

    Not a symlink unless it was one when found, inside the roots; the file
    re-read under the lock is the one replaced (same device and inode).
    """
    return _writer.locked_config(
        task.path,
        timeout=ctx.lock_timeout,
        follow_symlinks=task.link,
        roots=task.roots,
        fsync=ctx.fsync,
    )


def _apply_one(task: _ApplyTask, ctx: _ApplyContext) -> FileOutcome | None:
    outcome = _apply_file(task, ctx)
    if ctx.delay:
        time.sleep(ctx.delay)
    return outcome


def _apply_file(task: _ApplyTask, ctx: _ApplyContext) -> FileOutcome | None:  # noqa: PLR0911 -- one early return per way a file can end
    path = task.path
    data = _load_found(_Found(path, task.explicit))
    if data is None:
        return None
    if isinstance(data, Finding):
        return FileOutcome(path=path, status=_found_status(data), reason=data.message)
    if task.expected is not None and _sha256(data) != task.expected:
        return _since_plan(path, data, task)
    edited = _edit_bytes(path, data, ctx.edit)
    try:
        if edited.status is not Status.CHANGED:
            if ctx.lock and _has_temps(task):
                with _locked(task, ctx) as held:
                    _clean_stale(held, task, ctx)
            return _outcome(path, edited.status, edited.reason, data, edited.after)
        if not ctx.lock:  # the tests' negative control: what the lock prevents
            return _write_unlocked(path, data, edited, task, ctx)
        with _locked(task, ctx) as held:
            _clean_stale(held, task, ctx)
            return _write_locked(path, data, edited, task, ctx, held)
    except ConflictError as exc:
        return _outcome(path, Status.CONFLICT, exc.message, data)
    except (TentacleHAError, OSError) as exc:
        return _outcome(path, Status.FAILED, _reason(exc), data)


def _since_plan(path: str, data: bytes, task: _ApplyTask) -> FileOutcome:
    """A file whose bytes are no longer the plan's before: applied, or a conflict."""
    if task.planned is not None and _sha256(data) == task.planned:
        return _outcome(path, Status.UNCHANGED, _ALREADY_APPLIED, data, data)
    return _outcome(path, Status.CONFLICT, _CHANGED_SINCE_PLAN, data)


def _write_locked(  # noqa: PLR0917 -- one module's helper, called once
    path: str,
    data: bytes,
    edited: _Edited,
    task: _ApplyTask,
    ctx: _ApplyContext,
    held: _writer.Locked,
) -> FileOutcome:
    """Re-read, re-edit if it changed before we held the lock, re-check, write."""
    for attempt in range(2):
        current = held.reread()
        if current == data and edited.after is not None:
            result = held.replace(edited.after, backup_suffix=ctx.backup_suffix)
            reason = "; ".join((edited.reason, *result.warnings))
            return _outcome(
                path,
                Status.CHANGED,
                reason,
                data,
                edited.after,
                result.backup,
                restart=edited.restart,
            )
        if attempt:
            return _outcome(path, Status.CONFLICT, _CHANGED_UNDER_LOCK, current)
        if task.expected is not None and _sha256(current) != task.expected:
            return _since_plan(path, current, task)
        data = current
        edited = _edit_bytes(path, data, ctx.edit)
        if edited.status is not Status.CHANGED:
            return _outcome(path, edited.status, edited.reason, data, edited.after)
    raise AssertionError  # pragma: no cover - the loop always returns


def _write_unlocked(
    path: str, data: bytes, edited: _Edited, task: _ApplyTask, ctx: _ApplyContext
) -> FileOutcome:
    """Without the lock (only the tests' negative control): compare, then write."""
    current = _discover._read_config_bytes(path)  # noqa: SLF001 -- same package
    if current != data or edited.after is None:
        return _outcome(path, Status.CONFLICT, _CHANGED_UNDER_LOCK, current)
    del task
    backup = write_atomic(
        path, edited.after, backup_suffix=ctx.backup_suffix, fsync=ctx.fsync
    )
    return _outcome(
        path,
        Status.CHANGED,
        edited.reason,
        data,
        edited.after,
        backup,
        restart=edited.restart,
    )


def _gone(path: str) -> str | None:
    file = Path(path)
    if file.is_dir():
        return "replaced by a folder since the plan was made; left alone"
    if not os.path.lexists(path):
        return "deleted since the plan was made"
    if not file.is_file():
        return "no longer a regular file since the plan was made; left alone"
    return None


def apply(
    paths: Iterable[str | os.PathLike[str]],
    edit: Edit,
    *,
    jobs: int | None = None,
    backup_suffix: str | None = None,
    expected: Mapping[str, str] | None = None,
    reviewed: ReviewedPlan | None = None,
    follow_symlinks: bool = False,
    fsync: bool = True,
    lock_timeout: float = 60.0,
    stop: threading.Event | None = None,
    on_file: Callable[[], None] | None = None,
) -> Iterator[FileOutcome]:
    """Apply *edit* to every config under *paths*, file by file, safely.

    For each file: read it; if the edit changes it, take its lock, remove its
    stale temporary files, read it again (re-editing if another run changed
    it meanwhile), re-check the bytes right before replacing it atomically.
    Outcomes come in order, streamed; *jobs* worker processes do the work.

    Args:
        paths: files, folders and globs, as for `expand_paths`.
        edit: the change.
        jobs: worker processes (default: one per CPU; 1 = none).
        backup_suffix: keep each file's previous bytes in ``path + suffix``.
        expected: a reviewed plan: ``{path: before_sha256}``. A file whose
            bytes differ is a ``conflict`` and left alone; a file not in it is
            skipped; a planned file that is now gone or a folder is a
            ``conflict`` at the end.
        reviewed: a `load_plan` result, instead of *expected*: checked
            first (`ReviewedPlan.check`: the same edit, the same secret
            values), and a file that already has the plan's result is
            ``unchanged`` (already applied), not a conflict.
        follow_symlinks: follow symlinks leading out of the given folders.
        fsync: flush each write to disk (leave on outside throwaway folders).
        lock_timeout: seconds to wait for a file's lock before failing it.
        stop: once set (on Ctrl-C), no further file is started; the files
            under way are finished and their outcomes yielded, so every file
            written is reported. Planned files not reached are then not
            reported as gone.
        on_file: called once for each path looked at, as for `plan`.

    Raises:
        InvalidValueError: a backup suffix that could pass for a config.
        FleetError: *reviewed* is for another edit or another secret value.

    .. versionadded:: 0.1.0
    """
    _writer.check_backup_suffix(backup_suffix)
    applied: Mapping[str, str] = {}
    if reviewed is not None:
        reviewed.check(edit)
        expected, applied = reviewed.expected, reviewed.applied
    context = _ApplyContext(
        edit, backup_suffix, fsync, lock_timeout, delay=_test_delay()
    )
    found = _walk(paths, follow_symlinks=follow_symlinks)
    matcher = _Reviewed(expected, applied) if expected is not None else None
    tasks = (
        matcher.tasks(found)
        if matcher is not None
        else (
            Done(_found_outcome(item))
            if isinstance(item, Finding)
            else _ApplyTask(
                item.path, item.explicit, None, item.link, item.roots, None, item.temps
            )
            for item in found
        )
    )
    results = pipeline(
        tasks, _apply_one, context, jobs=jobs, threads=_IO_THREADS, stop=stop
    )
    for result in results:
        if on_file is not None:
            on_file()
        if result is not None:
            yield result
    if matcher is not None and not (stop is not None and stop.is_set()):
        yield from matcher.leftovers()


def _absolute(path: str | os.PathLike[str], base: str | None = None) -> str:
    return os.path.normpath(Path(base or Path.cwd(), path))


def _found_outcome(finding: Finding) -> FileOutcome:
    return FileOutcome(
        path=finding.path or "", status=_found_status(finding), reason=finding.message
    )


class _Reviewed:
    """Matches the files found with a reviewed plan's before-hashes."""

    def __init__(self, expected: Mapping[str, str], applied: Mapping[str, str]) -> None:
        self.wanted = {_absolute(k): (k, v) for k, v in expected.items()}
        self.after = {_absolute(k): v for k, v in applied.items()}
        self.seen: set[str] = set()

    def tasks(
        self, found: Iterable[_Found | Finding]
    ) -> Iterator[_ApplyTask | Done[FileOutcome | None]]:
        for item in found:
            if isinstance(item, Finding):
                self.seen.add(_absolute(item.path or ""))
                yield Done(_found_outcome(item))
                continue
            key = _absolute(item.path)
            self.seen.add(key)
            if key in self.wanted:
                yield _ApplyTask(
                    item.path,
                    item.explicit,
                    self.wanted[key][1],
                    item.link,
                    item.roots,
                    self.after.get(key),
                    item.temps,
                )
            else:
                yield Done(
                    FileOutcome(
                        path=item.path,
                        status=Status.SKIPPED,
                        reason="not in the reviewed plan",
                    )
                )

    def leftovers(self) -> Iterator[FileOutcome]:
        """Planned files not found this time, because they are gone."""
        for key, (shown, before) in self.wanted.items():
            gone = _gone(key) if key not in self.seen else None
            if gone is not None:
                yield FileOutcome(
                    path=shown,
                    status=Status.CONFLICT,
                    reason=gone,
                    before_sha256=before,
                )


# -- reviewed plans ----------------------------------------------------------------

_SCRYPT: Final = {"n": 2**14, "r": 8, "p": 1}
"""scrypt costs for a plan's secret hashes: ~20 ms and 16 MiB per guess."""


def _secret_values(edit: Edit) -> dict[str, str]:
    """The secret values *edit* writes, by key."""
    if isinstance(edit, SetKey) and edit.value is not None and is_secret_key(edit.key):
        return {edit.key: edit.value}
    return {}


def _secret_digest(salt: bytes, key: str, value: str) -> str:
    # The key is part of the salt: the same value under two keys hashes apart.
    digest = hashlib.scrypt(
        value.encode(), salt=salt + key.encode(), dklen=32, **_SCRYPT
    )
    return digest.hex()


def _edit_id(edit: Edit) -> str:
    return "sha256:" + _sha256(edit.identity().encode())


def plan_header(
    edit: Edit, *, cwd: str | os.PathLike[str] | None = None
) -> dict[str, Any]:
    """The head of a saved plan document (``fleet plan --json``) for *edit*.

    ``format``, ``edit`` (`Edit.describe`), ``edit_id`` (a hash of
    `Edit.identity`: the edit by content, so a cluster file named another way
    is the same edit), ``cwd`` (relative paths in the plan are from there)
    and, when the edit writes a secret, ``secrets``: a keyed hash of each
    secret value, never the value.

    Threat model for ``secrets``: the plan file is what was reviewed, so it
    is trusted for integrity (whoever can rewrite it could also rewrite its
    before-hashes). What is not trusted is the value given again on the
    command line at apply time: a different variable, a paste or a script
    swapping the reviewed secret for another. `apply` recomputes the hash of
    the value it is given and refuses any other. The plan may be read by more
    people than may know the secret, so it holds only a salted scrypt hash,
    with a random salt per plan: reading a plan does not give the value,
    every guess costs an scrypt, and the same secret in two plans does not
    look the same.

    .. versionadded:: 0.1.0
    """
    head: dict[str, Any] = {
        "format": PLAN_FORMAT,
        "edit": edit.describe(),
        "edit_id": _edit_id(edit),
        "cwd": str(Path.cwd() if cwd is None else Path(cwd)),
    }
    values = _secret_values(edit)
    if values:
        salt = os.urandom(16)  # as secrets.token_bytes(16) reads it
        head["secrets"] = {
            "hash": "scrypt",
            **_SCRYPT,
            "salt": salt.hex(),
            "values": {k: _secret_digest(salt, k, v) for k, v in values.items()},
        }
    return head


@attrs.frozen(kw_only=True)
class ReviewedPlan:
    """A saved ``fleet plan --json`` document, for `apply` (no public constructor).

    Attributes:
        edit: the `Edit.describe` line the plan was made for.
        expected: ``{absolute path: before_sha256}`` for every file read.
        applied: ``{absolute path: after_sha256}``: what each file becomes.
        edit_id: the hash of `Edit.identity` (None in plans made before it).
        secret_salt: the salt of the secret hashes (None without secrets).
        secret_hashes: ``{key: hash}`` of each secret value the edit sets.

    .. versionadded:: 0.1.0
    """

    edit: str
    expected: Mapping[str, str]
    applied: Mapping[str, str] = attrs.field(factory=dict)
    edit_id: str | None = None
    secret_salt: bytes | None = attrs.field(default=None, repr=False)
    secret_hashes: Mapping[str, str] = attrs.field(factory=dict, repr=False)
    source: str = ""

    def check(self, edit: Edit) -> None:
        """Refuse *edit* unless it is the one reviewed, secret values included.

        Raises:
            FleetError: another edit, or another value for a secret it sets.
        """
        where = self.source or None
        same = (
            self.edit_id == _edit_id(edit)
            if self.edit_id is not None
            else self.edit == edit.describe()
        )
        if not same:
            msg = f"the plan was made for another edit ({self.edit}); nothing written"
            raise FleetError(msg, path=where)
        values = _secret_values(edit)
        for key in sorted(set(values) | set(self.secret_hashes)):
            pinned = self.secret_hashes.get(key)
            if pinned is None or self.secret_salt is None:
                msg = (
                    f"the plan does not pin the value of secret {key}; make the "
                    "plan again; nothing written"
                )
                raise FleetError(msg, path=where)
            given = values.get(key)
            if given is None or not hmac.compare_digest(
                pinned, _secret_digest(self.secret_salt, key, given)
            ):
                msg = (
                    f"the value of secret {key} is not the one the plan was "
                    "reviewed with; nothing written"
                )
                raise FleetError(msg, path=where)


def _plan_secrets(
    data: dict[str, Any], name: str
) -> tuple[bytes | None, dict[str, str]]:
    block = data.get("secrets")
    if block is None:
        return None, {}
    salt: bytes | None = None
    values: object = None
    if (
        isinstance(block, dict)
        and block.get("hash") == "scrypt"
        and {k: block.get(k) for k in _SCRYPT} == _SCRYPT
        and isinstance(block.get("salt"), str)
    ):
        with contextlib.suppress(ValueError):
            salt = bytes.fromhex(block["salt"])
        values = block.get("values")
    if (
        salt is None
        or not isinstance(values, dict)
        or not all(isinstance(k, str) and isinstance(v, str) for k, v in values.items())
    ):
        msg = "plan has an unusable secrets block"
        raise InvalidValueError(msg, path=name)
    return salt, dict(values)


def load_plan(path: str | os.PathLike[str]) -> ReviewedPlan:
    """Read a plan saved from ``tentacle-ha fleet plan --json``.

    Relative paths in it are taken from the folder the plan was made in (and
    kept relative when that is the current folder).

    Raises:
        InvalidValueError: not a readable plan document.

    .. versionadded:: 0.1.0
    """
    name = os.fspath(path)
    try:
        data = json.loads(Path(name).read_bytes().decode("utf-8-sig"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        detail = _describe_os(exc) if isinstance(exc, OSError) else str(exc)
        raise InvalidValueError(f"cannot read the plan: {detail}", path=name) from exc
    if not isinstance(data, dict) or data.get("format") != PLAN_FORMAT:
        msg = f"not a fleet plan (expected format {PLAN_FORMAT!r})"
        raise InvalidValueError(msg, path=name)
    edit, cwd, files = data.get("edit"), data.get("cwd"), data.get("files")
    if (
        not isinstance(edit, str)
        or not isinstance(cwd, str)
        or not isinstance(files, list)
    ):
        raise InvalidValueError("plan is missing edit, cwd or files", path=name)
    edit_id = data.get("edit_id")
    if edit_id is not None and not isinstance(edit_id, str):
        raise InvalidValueError("plan has an edit_id that is not text", path=name)
    salt, hashes = _plan_secrets(data, name)
    expected: dict[str, str] = {}
    applied: dict[str, str] = {}
    moved = _absolute(cwd) != _absolute(".")  # run elsewhere: make paths absolute
    for number, entry in enumerate(files, 1):
        if not isinstance(entry, dict) or not isinstance(entry.get("path"), str):
            raise InvalidValueError(f"plan entry {number} has no path", path=name)
        before, after = entry.get("before_sha256"), entry.get("after_sha256")
        key = _absolute(entry["path"], cwd) if moved else entry["path"]
        if isinstance(before, str):
            expected[key] = before
            if isinstance(after, str):
                applied[key] = after
    return ReviewedPlan(
        edit=edit,
        expected=expected,
        applied=applied,
        edit_id=edit_id,
        secret_salt=salt,
        secret_hashes=hashes,
        source=name,
    )
