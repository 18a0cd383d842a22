"""Private: what a report holds, and how it is built from an audit or a check.

A `Report` is plain data: rows (one per Tentacle or config file) of cells
(one per node: the class of that poll path), the findings, and where and
when it was made. It holds no setting values but the ones the findings
already name (which never include a secret), so rendering it cannot leak
one. Rows are kept worst first.
"""

from __future__ import annotations

import datetime as dt
import os
import shlex
import socket
from typing import TYPE_CHECKING
from typing import Final

import attrs

from tentacle_ha.check import CheckKind
from tentacle_ha.check import CheckStatus
from tentacle_ha.check.targets import cluster_names
from tentacle_ha.config import KEYS
from tentacle_ha.fleet.audit import Finding
from tentacle_ha.fleet.audit import PathClass
from tentacle_ha.fleet.audit import Severity
from tentacle_ha.fleet.audit import audit_fleet
from tentacle_ha.servers import same_address

if TYPE_CHECKING:
    from collections.abc import Iterable

    from tentacle_ha.check import CheckResult
    from tentacle_ha.check.targets import CheckRun
    from tentacle_ha.cluster import Cluster

__all__ = [
    "CLASS_ABOUT",
    "CLASS_RANKS",
    "AuditCollector",
    "Cell",
    "Report",
    "ReportFinding",
    "Row",
    "audit_report",
    "check_report",
]

#: How bad each cell class is, for colours and worst-first order: 0 fine,
#: 1 worth knowing, 2 a warning, 3 a broken path, 4 a broken file. A class
#: not listed counts as 3.
CLASS_RANKS: Final = {
    "ok": 0,
    "listening": 1,
    "not_checked": 1,
    "draining": 2,
    "not_a_config": 4,
    "servers_broken": 4,
}

_SEVERITY_RANKS: Final = {"error": 3, "warning": 2, "info": 1}


def class_rank(status: str) -> int:
    """`CLASS_RANKS` of *status*, 3 for any other class."""
    return CLASS_RANKS.get(status, 3)


def _now() -> str:
    now = dt.datetime.now(tz=dt.UTC).replace(microsecond=0)
    return now.isoformat().replace("+00:00", "Z")


@attrs.frozen(kw_only=True)
class Cell:
    """One poll path: its class (``ok``, ``not_trusted``, ...) and a line on it.

    .. versionadded:: 0.1.0
    """

    status: str
    detail: str = ""


@attrs.frozen(kw_only=True)
class Row:
    """One Tentacle or config file: one `Cell` per column of the `Report`.

    Attributes:
        label: what the row is called (the Tentacle's name, else its path).
        path: the config file, if there is one.
        environments: from the cluster description's ``[[tentacles]]``.
        roles: likewise.
        cells: one per column.
        severity: the worst severity among the row's findings, if any.
        findings: how many findings are about the row.

    .. versionadded:: 0.1.0
    """

    label: str
    path: str | None = None
    environments: tuple[str, ...] = ()
    roles: tuple[str, ...] = ()
    cells: tuple[Cell, ...] = ()
    severity: str | None = None
    findings: int = 0

    @property
    def rank(self) -> int:
        """The worst of the cells' `CLASS_RANKS` and the findings' severity."""
        cells = max((class_rank(c.status) for c in self.cells), default=0)
        return max(cells, _SEVERITY_RANKS.get(self.severity or "", 0))

    @property
    def classes(self) -> tuple[str, ...]:
        """The distinct classes of the cells, in column order."""
        return tuple(dict.fromkeys(c.status for c in self.cells))


@attrs.frozen(kw_only=True)
class ReportFinding:
    """One finding as the report shows it: with its fix and its matrix row.

    Attributes:
        code: the stable code (an audit code, or a check's class).
        severity: error, warning or info.
        path: the file it is about, if any.
        line: 1-based, where it applies.
        col: 1-based, where it applies.
        message: one line for people.
        fix: what resolves it (a command, where there is one), or empty.
        row: the index in `Report.rows` of the row it belongs to, if any.

    .. versionadded:: 0.1.0
    """

    code: str
    severity: str
    path: str | None
    line: int | None
    col: int | None
    message: str
    fix: str = ""
    row: int | None = None

    @property
    def position(self) -> str:
        """``line:col``, ``line``, or empty."""
        if self.line is None:
            return ""
        return f"{self.line}:{self.col}" if self.col is not None else str(self.line)


@attrs.frozen(kw_only=True)
class Report:
    """Everything one HTML report shows. Build one with `audit_report` or
    `check_report`, or by hand.

    Attributes:
        kind: ``fleet audit`` or ``check``.
        columns: the node names (or addresses), one per cell of each row.
        addresses: the comms address behind each column, where known.
        rows: worst first (see `Row.rank`), then by label.
        findings: errors first, then warnings, then info, in the order found.
        files: how many files were read.
        cluster: the cluster description's path, if one was used.
        layout: its layout.
        server: its server URL.
        made_at: when (ISO 8601, UTC, to the second).
        made_on: the host it was made on.
        command: the command line that made it, if any.

    .. versionadded:: 0.1.0
    """

    kind: str
    columns: tuple[str, ...]
    rows: tuple[Row, ...]
    findings: tuple[ReportFinding, ...]
    files: int
    addresses: tuple[str, ...] = ()
    cluster: str | None = None
    layout: str | None = None
    server: str | None = None
    made_at: str = attrs.field(factory=_now)
    made_on: str = attrs.field(factory=socket.gethostname)
    command: str = ""

    @property
    def tentacles(self) -> int:
        """How many rows are a Tentacle's config (not, e.g., the node pings)."""
        return sum(1 for r in self.rows if r.path is not None)

    def class_counts(self) -> dict[str, int]:
        """Cells per class, worst class first."""
        counts: dict[str, int] = {}
        for row in self.rows:
            for cell in row.cells:
                counts[cell.status] = counts.get(cell.status, 0) + 1
        return dict(sorted(counts.items(), key=lambda kv: (-class_rank(kv[0]), kv[0])))

    def severity_counts(self) -> dict[str, int]:
        """Findings per severity: error, warning, info."""
        counts = dict.fromkeys(("error", "warning", "info"), 0)
        for finding in self.findings:
            counts[finding.severity] = counts.get(finding.severity, 0) + 1
        return counts


def _sorted_rows(rows: Iterable[Row]) -> list[Row]:
    return sorted(rows, key=lambda r: (-r.rank, r.label))


def _columns(cluster: Cluster) -> tuple[str, ...]:
    """One column label per comms address (node names; one for the LB layouts)."""
    return tuple(cluster_names(cluster).values())


def _q(path: str | None) -> str:
    return shlex.quote(path) if path else "CONFIG"


# -- fixes ---------------------------------------------------------------------

_SYNC: Final = "tentacle-ha servers sync {path} --cluster {cluster} --diff"
_REGISTER: Final = "tentacle-ha plan --cluster {cluster} --config {path}"
_BY_HAND: Final = "edit the file at this position by hand, or restore its backup"
_NEW_CERTIFICATE: Final = "run Tentacle new-certificate, then " + _REGISTER

#: What resolves each audit finding; {path} and {cluster} are shell-quoted.
_AUDIT_FIXES: Final = {
    "node-missing": _SYNC,
    "node-unknown": _SYNC,
    "layout-mismatch": _SYNC,
    "thumbprint-lower-case": _SYNC,
    "duplicate-entry": _SYNC,
    "address-http": _SYNC,
    "address-no-port": _SYNC,
    "subscription-id-mismatch": _SYNC,
    "thumbprint-not-cluster": (
        "tentacle-ha servers sync {path} --cluster {cluster} "
        "--retire-thumbprint OLD --diff (once the rotation is done)"
    ),
    "cluster-not-polled": "register it with the cluster: " + _REGISTER,
    "no-trusted-servers": "register it: " + _REGISTER,
    "subscription-id-missing": "register it again: " + _REGISTER,
    "cloned-certificate": (
        "a cloned machine: run Tentacle new-certificate on it, then " + _REGISTER
    ),
    "cloned-subscription": (
        "a cloned machine: run Tentacle new-certificate on it, then " + _REGISTER
    ),
    "no-certificate": _NEW_CERTIFICATE,
    "certificate-expired": _NEW_CERTIFICATE,
    "certificate-expiring": _NEW_CERTIFICATE,
    "no-listen": "tentacle-ha set {path} Tentacle.Services.NoListen true --diff",
    "few-polling-connections": (
        "tentacle-ha set {path} Tentacle.Communication.PollingConnectionCount 5 --diff"
    ),
    "restart-pending": "restart the Tentacle service (the finding gives the command)",
    "not-a-config": _BY_HAND,
    "trusted-servers-broken": _BY_HAND,
    "value-invalid": _BY_HAND,
    "thumbprint-invalid": _BY_HAND,
    "subscription-id-invalid": _BY_HAND,
}


def _audit_fix(code: str, path: str | None, cluster: str | None) -> str:
    template = _AUDIT_FIXES.get(code, "")
    return template.format(path=_q(path), cluster=_q(cluster or "CLUSTER.toml"))


_UNREACHED: Final = (
    "start the node, or open its port from this host (firewall, load balancer)"
)
_CHECK_FIXES: Final = {
    "draining": "wait for the drain to end, or end the node's drain in Octopus",
    "timeout": _UNREACHED,
    "refused": _UNREACHED,
    "unreachable": _UNREACHED,
    "closed_by_peer": _UNREACHED,
    "dns_error": "fix the host name, or its DNS record",
    "proxy_error": "check the proxy settings (Octopus.Server.Proxy.*)",
    "unsupported_server": "upgrade Octopus Server, or use a per-node layout",
}


def _check_fix(result: CheckResult, config: str, cluster: str | None) -> str:
    if result.status is CheckStatus.NOT_TRUSTED:
        return _SYNC.format(path=_q(config), cluster=_q(cluster or "CLUSTER.toml"))
    if result.status is CheckStatus.THUMBPRINT_MISMATCH and result.presented_thumbprint:
        return (
            f"tentacle-ha servers rotate {_q(config)} --old "
            f"{result.expected_thumbprint} --new {result.presented_thumbprint} "
            "--staged --diff (if the node's new certificate is the right one)"
        )
    return _CHECK_FIXES.get(str(result.status), "")


# -- from an audit ---------------------------------------------------------------


class _Tentacles:
    """The cluster's ``[[tentacles]]`` by the real path of their config."""

    def __init__(self, cluster: Cluster | None) -> None:
        self.by_path = {}
        if cluster is not None:
            self.by_path = {
                os.path.realpath(t.config_path): t
                for t in cluster.tentacles
                if t.config_path
            }

    def row(self, path: str, cells: tuple[Cell, ...]) -> Row:
        tentacle = self.by_path.get(os.path.realpath(path))
        if tentacle is None:
            return Row(label=path, path=path, cells=cells)
        return Row(
            label=tentacle.name or path,
            path=path,
            environments=tentacle.environments,
            roles=tentacle.roles,
            cells=cells,
        )


#: What each class of `tentacle_ha.fleet.audit.PathClass` says about a path
#: (audit cells carry no detail of their own: the page shows this instead).
CLASS_ABOUT: Final = {
    str(PathClass.OK): "polls it, trusting the cluster's certificate",
    str(PathClass.NOT_TRUSTED): "does not poll it: tasks queued there wait",
    str(PathClass.THUMBPRINT_MISMATCH): (
        "polls it, trusting another certificate than the cluster's"
    ),
    str(PathClass.THUMBPRINT_CASE): (
        "polls it with a lower-case thumbprint: polling fails"
    ),
    str(PathClass.LISTENING): "a listening Tentacle: it polls nothing",
    str(PathClass.SERVERS_BROKEN): "the TrustedOctopusServers JSON is broken",
    str(PathClass.NOT_A_CONFIG): "not a readable Tentacle.config",
}


def _finish(
    rows: list[Row], findings: list[Finding], cluster: str | None
) -> tuple[tuple[Row, ...], tuple[ReportFinding, ...]]:
    """Rows worst first with their findings' severity; findings linked to rows."""
    worst: dict[str, Severity] = {}
    counts: dict[str, int] = {}
    for finding in findings:
        if finding.path is None:
            continue
        counts[finding.path] = counts.get(finding.path, 0) + 1
        seen = worst.get(finding.path)
        if seen is None or finding.severity.rank > seen.rank:
            worst[finding.path] = finding.severity
    rows = _sorted_rows(
        attrs.evolve(r, severity=str(worst[r.path]), findings=counts[r.path])
        if r.path in worst
        else r
        for r in rows
    )
    index = {r.path: n for n, r in enumerate(rows) if r.path is not None}
    shown = [
        ReportFinding(
            code=f.code,
            severity=str(f.severity),
            path=f.path,
            line=f.line,
            col=f.col,
            message=f.message,
            fix=_audit_fix(f.code, f.path, cluster),
            row=index.get(f.path) if f.path is not None else None,
        )
        for f in sorted(findings, key=lambda f: -f.severity.rank)
    ]
    return tuple(rows), tuple(shown)


class AuditCollector:
    """Builds the `Report` of one ``audit_fleet`` run while its findings stream.

    Pass `paths` as ``on_paths=`` and every finding to `finding`, then call
    `report`.

    .. versionadded:: 0.1.0
    """

    def __init__(self, cluster: Cluster | None) -> None:
        self.cluster = cluster
        self.tentacles = _Tentacles(cluster)
        self.rows: list[Row] = []
        self.findings: list[Finding] = []

    def paths(self, path: str, classes: tuple[PathClass, ...]) -> None:
        """Record one file's poll paths (the ``on_paths`` callback)."""
        cells = tuple(Cell(status=str(c)) for c in classes)
        self.rows.append(self.tentacles.row(path, cells))

    def finding(self, finding: Finding) -> None:
        """Record one finding."""
        self.findings.append(finding)

    def report(self, *, files: int | None = None, command: str = "") -> Report:
        """The report of what was recorded."""
        cluster = self.cluster
        rows, findings = _finish(
            self.rows, self.findings, None if cluster is None else cluster.path
        )
        return Report(
            kind="fleet audit",
            columns=() if cluster is None else _columns(cluster),
            addresses=() if cluster is None else cluster.comms_addresses(),
            rows=rows,
            findings=findings,
            files=len(self.rows) if files is None else files,
            cluster=None if cluster is None else cluster.path,
            layout=None if cluster is None else str(cluster.layout),
            server=None if cluster is None else cluster.server_url,
            command=command,
        )


def audit_report(
    paths: Iterable[str | os.PathLike[str]],
    *,
    cluster: Cluster | None = None,
    jobs: int | None = None,
    follow_symlinks: bool = False,
    command: str = "",
) -> Report:
    """Audit the configs under *paths* (as `audit_fleet` does) into a `Report`.

    With a cluster, each row has one cell per comms address: what the config
    says about that poll path (`tentacle_ha.fleet.audit.PathClass`); the
    cluster's ``[[tentacles]]`` whose ``config_path`` is the file name the
    row and give its environments and roles.

    .. versionadded:: 0.1.0
    """
    collector = AuditCollector(cluster)
    for finding in audit_fleet(
        paths,
        cluster=cluster,
        jobs=jobs,
        follow_symlinks=follow_symlinks,
        on_paths=collector.paths,
    ):
        collector.finding(finding)
    return collector.report(command=command)


# -- from a check ------------------------------------------------------------------


def _column_of(result: CheckResult, addresses: list[str]) -> int | None:
    for number, address in enumerate(addresses):
        if same_address(result.target, address):
            return number
    return None


def _check_finding(
    result: CheckResult, run: CheckRun, position: tuple[int | None, int | None]
) -> ReportFinding:
    config = run.doc.path or "CONFIG"
    cluster = None if run.cluster is None else run.cluster.path
    on_poll = result.kind in {CheckKind.POLL, CheckKind.WEBSOCKET}
    warning = result in run.report.warnings  # draining unless strict, skipped...
    line, col = position if on_poll else (None, None)
    label = f"{result.target} ({result.name})" if result.name else result.target
    return ReportFinding(
        code=str(result.status),
        severity="warning" if warning else "error",
        path=config if on_poll or cluster is None else cluster,
        line=line,
        col=col,
        message=f"{label}: {result.reason}",
        fix=_check_fix(result, config, cluster),
        row=0 if on_poll else None,
    )


def check_report(run: CheckRun, *, command: str = "") -> Report:
    """The `Report` of one ``tentacle-ha check`` run (`run_check_command`).

    One row for the config's poll paths (a column per node of the cluster,
    or per polling entry without one) and, for the per-node layouts, one for
    the nodes' pings from this host; every result that is not ``ok`` is a
    finding too.

    .. versionadded:: 0.1.0
    """
    doc, cluster, checked = run
    config = doc.path or "CONFIG"
    results = checked.results
    polls = [r for r in results if r.kind in {CheckKind.POLL, CheckKind.WEBSOCKET}]
    if cluster is not None:
        addresses = list(cluster.comms_addresses())
        columns = list(_columns(cluster))
    else:
        addresses, columns = [], []
    placed: dict[int, Cell] = {}
    for result in polls:
        number = _column_of(result, addresses)
        if number is None:  # an address the cluster does not have
            number = len(addresses)
            addresses.append(result.target)
            columns.append(result.name or result.target)
        placed[number] = Cell(status=str(result.status), detail=result.reason)
    cells = [
        placed.get(n, Cell(status="not_checked", detail="not checked"))
        for n in range(len(columns))
    ]
    tentacle = _Tentacles(cluster).row(config, tuple(cells))
    rows = [tentacle]
    pings = [r for r in results if r.kind is CheckKind.NODE_HEALTH]
    if cluster is not None and cluster.layout.polls_every_node and pings:
        by_name = {r.name: r for r in pings}
        ping_cells = tuple(
            Cell(status=str(by_name[c].status), detail=by_name[c].reason)
            if c in by_name
            else Cell(status="not_checked", detail="no web_url for this node")
            for c in columns
        )
        rows.append(Row(label="node pings (from this host)", cells=ping_cells))
    position = doc.position(KEYS.TRUSTED_SERVERS) or (None, None)
    findings = [_check_finding(r, run, position) for r in results if not r.ok]
    findings.sort(key=lambda f: -_SEVERITY_RANKS[f.severity])
    mine = [f.severity for f in findings if f.row == 0]
    worst = mine[0] if mine else None  # findings are sorted worst first
    rows[0] = attrs.evolve(rows[0], severity=worst, findings=len(mine))
    return Report(
        kind="check",
        columns=tuple(columns),
        addresses=tuple(addresses),
        rows=tuple(rows),
        findings=tuple(findings),
        files=1,
        cluster=None if cluster is None else cluster.path,
        layout=None if cluster is None else str(cluster.layout),
        server=None if cluster is None else cluster.server_url,
        command=command,
    )
