"""Private: the ``tentacle-ha fleet`` command (audit, plan, apply).

`register` adds it to the main parser's subcommands; each handler takes
``(args, io)`` like the others in `tentacle_ha.cli`. What was asked for (the
findings, the diffs, the report, the JSON) goes to stdout; progress goes to
stderr, only when stderr is a terminal and neither ``--json`` nor ``--quiet``
is given. Exit codes: 0 ok; 1 a finding at or above ``--fail-on``, a file
that failed or conflicted, or (``plan --check``) a file that would change;
2 usage.
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import time
from pathlib import Path
from typing import TYPE_CHECKING
from typing import Any
from typing import Protocol
from typing import TextIO

from tentacle_ha import fleet as _fleet
from tentacle_ha.cli._util import add_backup_option
from tentacle_ha.cluster import load_cluster
from tentacle_ha.errors import InvalidValueError
from tentacle_ha.fleet import audit as _audit
from tentacle_ha.fleet import discover as _discover
from tentacle_ha.fleet import edits as _edits

if TYPE_CHECKING:
    from collections.abc import Callable
    from collections.abc import Iterable
    from collections.abc import Iterator
    from typing import TypeAlias

    _Subparsers: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"  # noqa: SLF001 -- argparse has no public name for it

__all__ = ["cmd_apply", "cmd_audit", "cmd_plan", "register"]

_USAGE = 2


class _IO(Protocol):
    stdout: TextIO
    stderr: TextIO

    def out(self, text: str = "") -> None: ...
    def err(self, text: str) -> None: ...


class _Progress:
    """``N files`` on stderr, redrawn at most five times a second."""

    def __init__(self, stream: TextIO, *, enabled: bool) -> None:
        self.stream = stream
        self.enabled = enabled
        self.count = 0
        self.shown = 0.0

    def tick(self) -> None:
        self.count += 1
        now = time.monotonic()
        if self.enabled and now - self.shown >= 0.2:  # noqa: PLR2004 -- seconds
            self.shown = now
            self.stream.write(f"\r{self.count} files...")
            self.stream.flush()

    def done(self) -> None:
        if self.enabled and self.shown:
            self.stream.write("\r\x1b[K")
            self.stream.flush()
            self.shown = 0.0


def _progress(args: argparse.Namespace, io: _IO) -> _Progress:
    quiet = args.json or getattr(args, "quiet", False)
    isatty = getattr(io.stderr, "isatty", None)
    return _Progress(io.stderr, enabled=not quiet and bool(isatty and isatty()))


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
        real = os.path.realpath(instance.path)
        if real not in seen:
            seen.add(real)
            paths.append(str(instance.path))
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


def cmd_audit(args: argparse.Namespace, io: _IO) -> int:
    """``fleet audit``: findings on stdout; exit 1 at or above ``--fail-on``."""
    targets = _targets(args, io)
    if targets is None:
        return _USAGE
    paths, problems = targets
    cluster = load_cluster(args.cluster) if args.cluster else None
    progress = _progress(args, io)
    files: set[str] = set()

    def checked(path: str) -> None:
        files.add(path)
        progress.tick()

    findings = _audit.audit_fleet(
        paths,
        cluster=cluster,
        jobs=args.jobs,
        follow_symlinks=args.follow_symlinks,
        on_file=checked,
    )
    counts: collections.Counter[str] = collections.Counter()
    stream = _JSONStream(io.stdout, {}, "findings") if args.json else None
    fail_rank = _audit.Severity(args.fail_on).rank
    failing = False
    for finding in (*problems, *findings):
        counts[finding.severity] += 1
        failing = failing or finding.severity.rank >= fail_rank
        if stream is not None:
            stream.add(finding.to_dict())
        else:
            progress.done()
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
            f"{summary['files']} files: {summary['errors']} errors, "
            f"{summary['warnings']} warnings, {summary['info']} info"
        )
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


def _summary_line(counts: collections.Counter[str], statuses: Iterable[str]) -> str:
    total = sum(counts.values())
    parts = ", ".join(f"{counts[s]} {s}" for s in statuses)
    return f"{total} files: {parts}"


_PLAN_STATUSES = ("changed", "unchanged", "failed", "skipped")
_APPLY_STATUSES = ("changed", "unchanged", "failed", "conflict", "skipped")


def _report(
    results: Iterator[_fleet.FilePlan] | Iterator[_fleet.FileOutcome],
    problems: list[_audit.Finding],
    args: argparse.Namespace,
    io: _IO,
    head: dict[str, Any],
) -> collections.Counter[str]:
    """Print each result as it comes (row, diff or JSON); return the counts."""
    statuses = _PLAN_STATUSES if args.fleet_command == "plan" else _APPLY_STATUSES
    counts: collections.Counter[str] = collections.Counter(dict.fromkeys(statuses, 0))
    stream = _JSONStream(io.stdout, head, "files") if args.json else None
    progress = _progress(args, io)
    for problem in problems:
        counts["failed"] += 1
        path = problem.path or ""
        if stream is not None:
            stream.add({"path": path, "status": "failed", "reason": problem.message})
        else:
            io.out(_row("failed", path, problem.message))
    for result in results:
        progress.tick()
        counts[str(result.status)] += 1
        if stream is not None:
            stream.add(result.to_dict())
            continue
        diff = getattr(result, "diff", "")
        if diff:
            progress.done()
            io.out(diff)
        elif result.status is not _fleet.Status.UNCHANGED:
            progress.done()
            io.out(_row(str(result.status), result.path, result.reason))
    progress.done()
    if stream is not None:
        stream.close(dict(counts))
    else:
        io.out(_summary_line(counts, statuses))
    return counts


def cmd_plan(args: argparse.Namespace, io: _IO) -> int:
    """``fleet plan``: diffs and a summary; writes nothing."""
    targets = _targets(args, io)
    edit = _edit(args, io) if targets is not None else None
    if targets is None or edit is None:
        return _USAGE
    paths, problems = targets
    head = {
        "format": _fleet.PLAN_FORMAT,
        "edit": edit.describe(),
        "cwd": str(Path.cwd()),
    }
    plans = _fleet.plan(
        paths, edit, jobs=args.jobs, follow_symlinks=args.follow_symlinks
    )
    counts = _report(plans, problems, args, io, head)
    if counts["failed"] or (args.check and counts["changed"]):
        return 1
    return _nothing_matched(edit, counts, io)


def cmd_apply(args: argparse.Namespace, io: _IO) -> int:
    """``fleet apply``: write, then report; exit 1 if a file failed or conflicted."""
    targets = _targets(args, io)
    edit = _edit(args, io) if targets is not None else None
    if targets is None or edit is None:
        return _USAGE
    paths, problems = targets
    expected = None
    if args.plan is not None:
        reviewed = _fleet.load_plan(args.plan)
        if reviewed.edit != edit.describe():
            io.err(
                f"{args.plan}: the plan was made for another edit "
                f"({reviewed.edit}); nothing written"
            )
            return 1
        expected = reviewed.expected
    outcomes = _fleet.apply(
        paths,
        edit,
        jobs=args.jobs,
        backup_suffix=args.backup_suffix,
        expected=expected,
        follow_symlinks=args.follow_symlinks,
    )
    counts = _report(outcomes, problems, args, io, {"edit": edit.describe()})
    if counts["failed"] or counts["conflict"]:
        return 1
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
        nargs="+",
        action="extend",
        metavar="URL",
        help="keep only these polling addresses (put PATHS first)",
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
        "--fail-on",
        choices=[str(s) for s in _audit.Severity],
        default=str(_audit.Severity.ERROR),
        help="exit 1 when a finding is this bad or worse (default: error)",
    )
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
