"""Private: the ``tentacle-ha fleet`` command (audit, plan, apply).

`register` adds it to the main parser's subcommands; each handler takes
``(args, io)`` like the others in `tentacle_ha.cli`. What was asked for (the
findings, the diffs, the report, the JSON) goes to stdout; progress goes to
stderr, only when stderr is a terminal and neither ``--json`` nor ``--quiet``
is given: a live bar (files done / total, rate, ETA; tqdm: a one-line ``\r``
bar that can be cleared before each diff or row is printed to stdout and
redrawn after, with no thread of its own). Ctrl-C during ``plan`` or ``apply``
starts no further file, finishes the files under way, reports them and ends
with an ``interrupted`` summary (exit 130); a second Ctrl-C abandons them.
Exit codes: 0 ok; 1 a finding at or above ``--fail-on``, a file that failed
or conflicted, or (``plan --check``) a file that would change; 2 usage; 130
interrupted.
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import json
import os
import shlex
import signal
import threading
from typing import TYPE_CHECKING
from typing import Any
from typing import NamedTuple
from typing import Protocol
from typing import Self
from typing import TextIO

from tentacle_ha import _lazy
from tentacle_ha import fleet as _fleet
from tentacle_ha.cli._util import add_backup_option
from tentacle_ha.cli._util import add_expiry_days_option
from tentacle_ha.cli._util import add_machine_key_option
from tentacle_ha.cli._util import add_server_api_options
from tentacle_ha.cli._util import machine_key
from tentacle_ha.cluster import load_cluster
from tentacle_ha.errors import InvalidValueError
from tentacle_ha.fleet.findings import Severity

if TYPE_CHECKING:
    from collections.abc import Callable
    from collections.abc import Iterable
    from collections.abc import Iterator
    from types import FrameType
    from typing import TypeAlias

    from tentacle_ha import report as _html
    from tentacle_ha.check import drift as _drift
    from tentacle_ha.fleet import audit as _audit
    from tentacle_ha.fleet import discover as _discover
    from tentacle_ha.fleet import edits as _edits
    from tentacle_ha.fleet import running as _running

    _Subparsers: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"  # noqa: SLF001 -- argparse has no public name for it
else:
    # The fleet modules load when a fleet command runs, not for every command.
    _audit = _lazy.module("tentacle_ha.fleet.audit")
    _discover = _lazy.module("tentacle_ha.fleet.discover")
    _edits = _lazy.module("tentacle_ha.fleet.edits")
    _running = _lazy.module("tentacle_ha.fleet.running")
    _html = _lazy.module("tentacle_ha.report")  # Jinja2 only for --html
    _drift = _lazy.module("tentacle_ha.check.drift")  # httpx only for --server


__all__ = ["cmd_apply", "cmd_audit", "cmd_plan", "register"]

_USAGE = 2


class _IO(Protocol):
    stdout: TextIO
    stderr: TextIO

    def out(self, text: str = "") -> None: ...
    def err(self, text: str) -> None: ...


class _Progress:
    """A live bar on stderr (done / total, rate, ETA), or nothing at all.

    Anything printed to stdout while it shows goes through `paused`, which
    clears the bar first and flushes stdout after, so neither clobbers the
    other on a terminal showing both.
    """

    def __init__(
        self, stream: TextIO, *, enabled: bool, total: Callable[[], int]
    ) -> None:
        self.count = 0
        self.bar: Any = None
        self.out: TextIO | None = None
        if enabled:
            # Imported only for a terminal; tqdm ships no type hints.
            import tqdm  # type: ignore[import-untyped]  # noqa: PLC0415 -- see above

            tqdm.tqdm.monitor_interval = 0  # no monitor thread: workers can fork
            self.bar = tqdm.tqdm(
                total=total(),
                file=stream,
                unit="file",
                mininterval=0.2,
                dynamic_ncols=True,
                leave=False,
            )

    def tick(self, _path: str = "") -> None:
        self.count += 1
        if self.bar is not None:
            self.bar.update()

    @contextlib.contextmanager
    def paused(self, stdout: TextIO) -> Iterator[None]:
        if self.bar is None:
            yield
            return
        self.bar.clear()
        try:
            yield
        finally:
            stdout.flush()

    def done(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None


def _progress(args: argparse.Namespace, io: _IO, paths: list[str]) -> _Progress:
    quiet = args.json or getattr(args, "quiet", False)
    isatty = getattr(io.stderr, "isatty", None)
    return _Progress(
        io.stderr,
        enabled=not quiet and bool(isatty and isatty()),
        total=lambda: _discover.count_paths(
            paths, follow_symlinks=args.follow_symlinks
        ),
    )


class _Interrupt:
    """Ctrl-C during plan or apply: the first stops starting files; a second aborts.

    The handler only sets an event (writing from a signal handler could
    re-enter a stream); the report loop says it was noticed.
    """

    def __init__(self) -> None:
        self.event = threading.Event()
        self.previous: Any = None
        self.installed = False

    def __enter__(self) -> Self:
        if threading.current_thread() is threading.main_thread():
            self.previous = signal.signal(signal.SIGINT, self._handle)
            self.installed = True
        return self

    def __exit__(self, *exc: object) -> None:
        if self.installed:
            signal.signal(signal.SIGINT, self.previous)

    def _handle(self, signum: int, frame: FrameType | None) -> None:  # noqa: ARG002 -- signal handler signature
        if self.event.is_set():
            raise KeyboardInterrupt
        self.event.set()


class _JSONStream:
    """Writes ``{"key": ..., "files": [ ... ], "summary": ...}`` entry by entry."""

    def __init__(self, stream: TextIO, head: dict[str, Any], key: str) -> None:
        self.stream = stream
        self.first = True
        opening = json.dumps(head, ensure_ascii=False)[:-1]
        separator = ", " if head else ""
        stream.write(f"{opening}{separator}{json.dumps(key)}: [")

    def add(self, value: dict[str, Any]) -> None:
        self.stream.write(("\n  " if self.first else ",\n  ") + json.dumps(value))
        self.first = False

    def close(self, summary: dict[str, Any]) -> None:
        self.stream.write(("" if self.first else "\n") + "],\n")
        self.stream.write(f' "summary": {json.dumps(summary)}}}\n')


# -- finding the files -------------------------------------------------------------


def _instance_findings(
    args: argparse.Namespace, paths: list[str]
) -> list[_audit.Finding]:
    """Add this machine's instance configs to *paths*; return unusable index files."""
    problems: list[_audit.Finding] = []
    if not args.instances:
        return problems
    seen = {os.path.realpath(p) for p in paths}
    # restart-pending needs the machine's own processes: Linux, no --root.
    linux = os.path.exists("/proc/self/stat")  # noqa: PTH110 -- as the other os.path calls here
    agents = (
        _running.RunningAgents() if linux and args.fleet_command == "audit" else None
    )
    for instance in _discover.discover_instances(root=args.root):
        if instance.problem is not None or instance.path is None:
            problems.append(
                _audit.Finding(
                    severity=_audit.Severity.ERROR,
                    code="instance-index-broken",
                    path=str(instance.index_path),
                    message=instance.problem or "unusable instance index file",
                )
            )
            continue
        if not instance.path.exists():
            problems.append(
                _audit.Finding(
                    severity=_audit.Severity.ERROR,
                    code="not-found",
                    path=str(instance.path),
                    message=(
                        f"instance {instance.name or instance.index_path.stem!r}: "
                        f"its ConfigurationFilePath {instance.config_path!r} does "
                        f"not exist (index file {instance.index_path})"
                    ),
                )
            )
            continue
        real = os.path.realpath(instance.path)
        if real not in seen:
            seen.add(real)
            paths.append(str(instance.path))
        if args.root is None and agents is not None:  # this machine's, running here
            restart = _running.restart_pending(instance.path, instance.name, agents)
            if restart is not None:
                problems.append(restart)
    return problems


def _targets(
    args: argparse.Namespace, io: _IO
) -> tuple[list[str], list[_audit.Finding]] | None:
    paths = list(args.paths)
    if not paths and not args.instances:
        io.err(f"tentacle-ha fleet {args.fleet_command}: give PATHS or --instances")
        return None
    problems = _instance_findings(args, paths)
    return paths, problems


# -- audit -------------------------------------------------------------------------


class _Distinct:
    """How many distinct paths were added, remembering them only if needed.

    One folder or file is walked without meeting a path twice, so a count
    is enough; several (which may overlap) keep a set of the paths.
    """

    def __init__(self, *, repeats: bool) -> None:
        self._seen: set[str] | None = set() if repeats else None
        self._count = 0

    def add(self, path: str) -> None:
        if self._seen is None:
            self._count += 1
        else:
            self._seen.add(path)

    def __len__(self) -> int:
        return self._count if self._seen is None else len(self._seen)


def cmd_audit(args: argparse.Namespace, io: _IO) -> int:
    """``fleet audit``: findings on stdout; exit 1 at or above ``--fail-on``."""
    targets = _targets(args, io)
    if targets is None:
        return _USAGE
    paths, problems = targets
    cluster = load_cluster(args.cluster) if args.cluster else None
    server = None
    if args.server:
        server = _drift.read_command_server(
            args.server,
            api_key_env=args.api_key_env,
            ca_bundle=args.ca_bundle,
            insecure_http=args.insecure_http,
            warn=io.err,
        )
    progress = _progress(args, io, paths)
    files = _Distinct(repeats=len(paths) > 1 or bool(args.instances))
    collector = _html.AuditCollector(cluster) if args.html else None

    def checked(path: str) -> None:
        files.add(path)
        progress.tick()

    findings = _audit.audit_fleet(
        paths,
        cluster=cluster,
        jobs=args.jobs,
        follow_symlinks=args.follow_symlinks,
        on_file=checked,
        on_paths=None if collector is None else collector.paths,
        machine_key=None if args.machine_key is None else machine_key(args.machine_key),
        expiry_days=args.expiry_days,
        server=server,
    )
    counts: collections.Counter[str] = collections.Counter()
    stream = _JSONStream(io.stdout, {}, "findings") if args.json else None
    fail_rank = _audit.Severity(args.fail_on).rank
    failing = False
    for finding in (*problems, *findings):
        if collector is not None:
            collector.finding(finding)
        counts[finding.severity] += 1
        failing = failing or finding.severity.rank >= fail_rank
        if stream is not None:
            stream.add(finding.to_dict())
        else:
            with progress.paused(io.stdout):
                io.out(str(finding))
    progress.done()
    summary = {
        "files": len(files),
        "errors": counts[_audit.Severity.ERROR],
        "warnings": counts[_audit.Severity.WARNING],
        "info": counts[_audit.Severity.INFO],
    }
    if stream is not None:
        stream.close(summary)
    else:
        io.out(
            f"{_files(summary['files'])}: {summary['errors']} errors, "
            f"{summary['warnings']} warnings, {summary['info']} info"
        )
    if collector is not None:
        command = ["tentacle-ha", "fleet", "audit", *args.paths]
        command += ["--cluster", args.cluster] if args.cluster else []
        command += ["--server", args.server] if args.server else []
        report = collector.report(files=len(files), command=shlex.join(command))
        io.err(f"HTML report: {_html.write_html(report, args.html)}")
    if not files and not counts.total():
        return _nothing_found(args, io, paths)
    return 1 if failing else 0


# -- plan and apply ------------------------------------------------------------------


def _edit(args: argparse.Namespace, io: _IO) -> _edits.Edit | None:
    """The one edit the options ask for; None after a usage error."""
    command = f"tentacle-ha fleet {args.fleet_command}"
    misplaced = [
        (
            args.thumbprint is not None and args.add_node is None,
            "--thumbprint",
            "--add-node",
        ),
        (args.staged and args.rotate is None, "--staged", "--rotate"),
        (
            bool(args.retire_thumbprint) and args.sync is None,
            "--retire-thumbprint",
            "--sync",
        ),
        (args.new_key and args.set is None, "--new-key", "--set"),
        (
            args.allow_empty
            and args.sync is None
            and args.remove_node is None
            and args.keep is None
            and args.set is None
            and args.unset is None,
            "--allow-empty",
            "--sync, --remove-node, --keep, --set or --unset",
        ),
    ]
    for wrong, option, needs in misplaced:
        if wrong:
            io.err(f"{command}: {option} goes with {needs}")
            return None
    if args.sync is not None:
        return _edits.SyncToCluster(
            load_cluster(args.sync),
            retire=tuple(args.retire_thumbprint or ()),
            allow_empty=args.allow_empty,
        )
    if args.add_node is not None:
        return _add_node(args, io, command)
    makers: list[tuple[object, Callable[[], _edits.Edit]]] = [
        (
            args.remove_node,
            lambda: _edits.RemoveNode(args.remove_node, allow_empty=args.allow_empty),
        ),
        (args.rotate, lambda: _edits.Rotate(*args.rotate, staged=args.staged)),
        (
            args.keep,
            lambda: _edits.KeepOnly(tuple(args.keep), allow_empty=args.allow_empty),
        ),
        (
            args.set,
            lambda: _edits.SetKey(
                *args.set, new_key=args.new_key, allow_empty=args.allow_empty
            ),
        ),
        (
            args.unset,
            lambda: _edits.UnsetKey(args.unset, allow_empty=args.allow_empty),
        ),
    ]
    for given, make in makers:
        if given is not None:
            return make()
    # argparse requires exactly one edit option: this is the last one left.
    return _edits.SetPollingConnectionCount(args.polling_connection_count)


def _add_node(args: argparse.Namespace, io: _IO, command: str) -> _edits.Edit | None:
    """``--add-node URL --thumbprint T``; a bad URL (e.g. http://) is a usage error."""
    if args.thumbprint is None:
        io.err(f"{command}: --add-node needs --thumbprint")
        return None
    try:
        return _edits.AddNode(args.thumbprint, args.add_node)
    except InvalidValueError as exc:
        io.err(f"{command}: --add-node: {exc.message}")
        return None


def _row(status: str, path: str, reason: str) -> str:
    return f"{status:<9}  {path}" + (f"  ({reason})" if reason else "")


def _files(count: int) -> str:
    return f"{count} file" if count == 1 else f"{count} files"


def _summary_line(
    counts: collections.Counter[str],
    statuses: Iterable[str],
    not_reached: int | None = None,
) -> str:
    parts = ", ".join(f"{counts[s]} {s}" for s in statuses)
    if not_reached is not None:
        return f"interrupted: {parts}, {not_reached} not reached"
    return f"{_files(sum(counts.values()))}: {parts}"


_PLAN_STATUSES = ("changed", "unchanged", "failed", "skipped")
_APPLY_STATUSES = ("changed", "unchanged", "failed", "conflict", "skipped")


_FINISHING = "interrupted: finishing the files under way (Ctrl-C again abandons them)"


class _Run(NamedTuple):
    """What `_report` needs to follow a run: its paths, progress and Ctrl-C."""

    paths: list[str]
    progress: _Progress
    interrupt: _Interrupt


def _report(
    results: Iterator[_fleet.FilePlan] | Iterator[_fleet.FileOutcome],
    problems: list[_audit.Finding],
    args: argparse.Namespace,
    io: _IO,
    head: dict[str, Any],
    *,
    run: _Run,
) -> tuple[collections.Counter[str], bool]:
    """Print each result as it comes (row, diff or JSON); the counts, interrupted."""
    statuses = _PLAN_STATUSES if args.fleet_command == "plan" else _APPLY_STATUSES
    counts: collections.Counter[str] = collections.Counter(dict.fromkeys(statuses, 0))
    stream = _JSONStream(io.stdout, head, "files") if args.json else None
    progress, stop = run.progress, run.interrupt.event
    for problem in problems:
        counts["failed"] += 1
        path = problem.path or ""
        if stream is not None:
            stream.add({"path": path, "status": "failed", "reason": problem.message})
        else:
            io.out(_row("failed", path, problem.message))
    noticed = False
    restarts = 0
    for result in results:
        counts[str(result.status)] += 1
        restarts += result.restart_required
        if stop.is_set() and not noticed:
            noticed = True
            with progress.paused(io.stdout):
                io.err(_FINISHING)
        if stream is not None:
            stream.add(result.to_dict())
            continue
        diff = getattr(result, "diff", "")
        if diff or result.status is not _fleet.Status.UNCHANGED:
            with progress.paused(io.stdout):
                io.out(diff or _row(str(result.status), result.path, result.reason))
    progress.done()
    not_reached = None
    if stop.is_set():
        total = _discover.count_paths(run.paths, follow_symlinks=args.follow_symlinks)
        not_reached = max(0, total - progress.count)
    _summarise(io, stream, counts, statuses, not_reached, restarts)
    return counts, not_reached is not None


def _summarise(  # noqa: PLR0917 -- _report's tallies, handed on once
    io: _IO,
    stream: _JSONStream | None,
    counts: collections.Counter[str],
    statuses: tuple[str, ...],
    not_reached: int | None,
    restarts: int,
) -> None:
    """The summary: JSON's last object, or a line; both count the restarts due."""
    if stream is not None:
        summary: dict[str, Any] = dict(counts) | {"restart_required": restarts}
        if not_reached is not None:
            summary |= {"interrupted": True, "not_reached": not_reached}
        stream.close(summary)
    else:
        line = _summary_line(counts, statuses, not_reached)
        if restarts:
            need = "needs" if restarts == 1 else "need"
            if statuses is _PLAN_STATUSES:
                need = "would need"
            line += f"; {restarts} {need} a Tentacle restart"
        io.out(line)


_INTERRUPTED = 130


def _nothing_found(args: argparse.Namespace, io: _IO, paths: list[str]) -> int:
    """Say where it looked when no Tentacle.config was found at all; exit 1."""
    looked = [repr(p) for p in paths]
    if args.instances:
        folder = _discover.instances_folder(root=args.root)
        looked.append(f"the instance index files in {folder}")
    io.err(
        f"tentacle-ha fleet {args.fleet_command}: no Tentacle.config found in "
        + ", ".join(looked)
    )
    return 1


def _targets_and_edit(
    args: argparse.Namespace, io: _IO
) -> tuple[list[str], list[_audit.Finding], _edits.Edit] | None:
    """What plan and apply work on and the edit; None after a usage error."""
    targets = _targets(args, io)
    edit = _edit(args, io) if targets is not None else None
    if targets is None or edit is None:
        return None
    return (*targets, edit)


def cmd_plan(args: argparse.Namespace, io: _IO) -> int:
    """``fleet plan``: diffs and a summary; writes nothing."""
    work = _targets_and_edit(args, io)
    if work is None:
        return _USAGE
    paths, problems, edit = work
    head = _fleet.plan_header(edit)
    with _Interrupt() as interrupt:
        progress = _progress(args, io, paths)
        plans = _fleet.plan(
            paths,
            edit,
            jobs=args.jobs,
            follow_symlinks=args.follow_symlinks,
            stop=interrupt.event,
            on_file=progress.tick,
        )
        run = _Run(paths, progress, interrupt)
        counts, interrupted = _report(plans, problems, args, io, head, run=run)
    if interrupted:
        return _INTERRUPTED
    if not counts.total():
        return _nothing_found(args, io, paths)
    if counts["failed"] or (args.check and counts["changed"]):
        return 1
    return _nothing_matched(edit, counts, io)


def cmd_apply(args: argparse.Namespace, io: _IO) -> int:
    """``fleet apply``: write, then report; exit 1 if a file failed or conflicted."""
    work = _targets_and_edit(args, io)
    if work is None:
        return _USAGE
    paths, problems, edit = work
    reviewed = _fleet.load_plan(args.plan) if args.plan is not None else None
    if reviewed is not None:
        reviewed.check(edit)  # before anything is read or printed
    with _Interrupt() as interrupt:
        progress = _progress(args, io, paths)
        outcomes = _fleet.apply(
            paths,
            edit,
            jobs=args.jobs,
            backup_suffix=args.backup_suffix,
            reviewed=reviewed,
            follow_symlinks=args.follow_symlinks,
            stop=interrupt.event,
            on_file=progress.tick,
        )
        run = _Run(paths, progress, interrupt)
        head = {"edit": edit.describe()}
        counts, interrupted = _report(outcomes, problems, args, io, head, run=run)
    if interrupted:
        return _INTERRUPTED
    if not counts.total():
        return _nothing_found(args, io, paths)
    if counts["failed"] or counts["conflict"]:
        return 1
    if reviewed is not None:
        return 0  # the plan already said what matched; a re-run is "already applied"
    return _nothing_matched(edit, counts, io)


def _nothing_matched(
    edit: _edits.Edit, counts: collections.Counter[str], io: _IO
) -> int:
    """``--remove-node`` that no file polls is a mistyped address: exit 1."""
    if isinstance(edit, _edits.RemoveNode) and not counts["changed"]:
        io.err(
            f"tentacle-ha fleet: nothing matched: no file polls {edit.address}; "
            "nothing to remove"
        )
        return 1
    return 0


# -- parser ----------------------------------------------------------------------------


def _jobs(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        msg = f"not a positive whole number: {text!r}"
        raise argparse.ArgumentTypeError(msg)
    return value


def _add_common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "paths",
        nargs="*",
        metavar="PATHS",
        help="Tentacle.config files, folders (searched recursively) and globs",
    )
    parser.add_argument("--json", action="store_true", help="JSON on stdout")
    parser.add_argument(
        "--jobs",
        type=_jobs,
        default=None,
        metavar="N",
        help="worker processes (default: one per CPU)",
    )
    parser.add_argument(
        "--instances",
        action="store_true",
        help="also take the configs of the Tentacle instances on this machine",
    )
    parser.add_argument(
        "--root",
        metavar="DIR",
        help="with --instances: read the machine's files below DIR (a mounted image)",
    )
    parser.add_argument(
        "--follow-symlinks",
        action="store_true",
        help="follow symlinks that lead out of the given folders",
    )
    parser.add_argument("--quiet", action="store_true", help="no progress on stderr")


def _add_edit_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("the edit (exactly one)")
    edit = group.add_mutually_exclusive_group(required=True)
    edit.add_argument(
        "--sync",
        metavar="CLUSTER",
        help="make the polling entries what the cluster file needs (also: "
        "migrate layout, with a cluster file of the new layout)",
    )
    edit.add_argument("--add-node", metavar="URL", help="poll one more address")
    edit.add_argument("--remove-node", metavar="URL", help="stop polling an address")
    edit.add_argument(
        "--rotate",
        nargs=2,
        metavar=("OLD", "NEW"),
        help="move trust from one server thumbprint to another",
    )
    edit.add_argument(
        "--keep",
        action="append",
        metavar="URL",
        help="keep only this polling address (repeat: --keep A --keep B)",
    )
    edit.add_argument("--set", nargs=2, metavar=("KEY", "VALUE"), help="set a key")
    edit.add_argument("--unset", metavar="KEY", help="remove a key")
    edit.add_argument(
        "--polling-connection-count",
        type=_jobs,
        metavar="N",
        help="set Tentacle.Communication.PollingConnectionCount",
    )
    group.add_argument(
        "--retire-thumbprint",
        action="append",
        metavar="T",
        help="with --sync: drop the polling entries of this old thumbprint (repeat)",
    )
    group.add_argument(
        "--thumbprint", metavar="T", help="with --add-node: the server thumbprint"
    )
    group.add_argument(
        "--staged",
        action="store_true",
        help="with --rotate: trust the new thumbprint beside the old one",
    )
    group.add_argument(
        "--new-key",
        action="store_true",
        help="with --set: allow a key Tentacle does not know",
    )
    group.add_argument(
        "--allow-empty",
        action="store_true",
        help="with --sync, --remove-node, --keep, --set or --unset: allow "
        "leaving a Tentacle no polling entry",
    )


def register(sub: _Subparsers) -> None:
    """Add ``fleet audit|plan|apply`` to the main parser's subcommands."""
    fleet = sub.add_parser(
        "fleet", help="audit, plan and apply one edit across many Tentacle.config files"
    )
    actions = fleet.add_subparsers(
        dest="fleet_command", metavar="ACTION", required=True
    )

    audit = actions.add_parser("audit", help="check configs, alone and together")
    _add_common(audit)
    audit.add_argument(
        "--cluster", metavar="FILE", help="check polling entries against a cluster file"
    )
    audit.add_argument(
        "--server", metavar="URL",
        help="also compare with the Octopus Server API (nodes, certificate; "
        "API key from $OCTOPUS_API_KEY); no Tentacle is contacted",
    )  # fmt: skip
    add_server_api_options(audit, when="with --server: ")
    audit.add_argument(
        "--fail-on",
        choices=[str(s) for s in Severity],
        default=str(Severity.ERROR),
        help="exit 1 when a finding is this bad or worse (default: error)",
    )
    audit.add_argument(
        "--html",
        metavar="FILE",
        help="also write a self-contained HTML report (Tentacles x nodes, findings)",
    )
    add_machine_key_option(
        audit,
        help_text="decrypt each Tentacle.Certificate in memory with this Linux "
        "machine key: expiry, thumbprint and clones by the real certificate",
    )
    add_expiry_days_option(audit)
    audit.set_defaults(handler=cmd_audit)

    plan = actions.add_parser(
        "plan", help="show what an edit would change; write nothing"
    )
    _add_common(plan)
    _add_edit_options(plan)
    plan.add_argument(
        "--check", action="store_true", help="exit 1 if any file would change"
    )
    plan.set_defaults(handler=cmd_plan)

    apply = actions.add_parser("apply", help="apply an edit, file by file, safely")
    _add_common(apply)
    _add_edit_options(apply)
    apply.add_argument(
        "--plan",
        metavar="FILE",
        help="a reviewed `fleet plan --json` output: files changed since are "
        "left alone (conflict)",
    )
    add_backup_option(
        apply, help_text="keep each file's previous bytes beside it (default: .bak)"
    )
    apply.set_defaults(handler=cmd_apply)
