"""Audit Tentacle.config files, one by one and across a fleet.

`audit_config` checks one document; `audit_fleet` finds the files (folders,
globs, explicit paths: see `tentacle_ha.fleet.discover.expand_paths`), checks each in
parallel worker processes and then looks across files for cloned machines.
Every problem is a `Finding` with a severity, a stable code, the file and,
where it applies, the line and column (of the ``<set>`` element the finding
is about, e.g. ``Tentacle.Communication.TrustedOctopusServers``).

Codes (severity; what it means):

Per file
    ``not-a-config`` (error): not a Tentacle.config that can be read safely
    (malformed or unsafe XML, wrong root, bad encoding...); the position is
    the parser's.
    ``trusted-servers-broken`` (error): the TrustedOctopusServers JSON is
    broken; the position points at the JSON error.
    ``value-invalid`` (error): a known setting does not parse as its type
    (e.g. ``Tentacle.Services.NoListen`` is not true/false).
    ``no-trusted-servers`` (error when the file has a Tentacle certificate,
    i.e. a set-up Tentacle that was orphaned; warning otherwise, e.g. a
    fresh ``create-instance``): the Tentacle trusts no server.
    ``no-certificate`` (warning): no ``Tentacle.CertificateThumbprint`` (the
    Tentacle has no certificate yet; cloned machines cannot be detected).
    ``thumbprint-invalid`` (error): a thumbprint that is not 40 hex digits.
    ``thumbprint-lower-case`` (error for polling entries, warning otherwise):
    the polling client compares thumbprints case-sensitively, so polling
    fails; the listener's trust check ignores case.
    ``duplicate-entry`` (error): two entries with the same thumbprint and
    address; Tentacle's own add-or-update fails on them.
    ``style-none`` (warning): an entry with CommunicationStyle 0; Tentacle
    rewrites it as listening at start-up.
    ``subscription-id-missing`` (error): a polling entry without a
    SubscriptionId (warning when the legacy ``Octopus.Communications.Squid``
    fallback applies).
    ``subscription-id-invalid`` (error): a SubscriptionId not of the form
    ``poll://.../``.
    ``subscription-id-mismatch`` (error): one thumbprint's polling entries
    carry several SubscriptionIds: a node would hand work to a subscription
    the server does not know.
    ``address-missing`` (warning): a polling entry with no Address; Tentacle
    skips it.
    ``address-invalid`` (error): an Address that is not an ``https://``
    or ``wss://`` URL.
    ``address-http`` (warning): an ``http://`` comms address; polling is always
    TLS and Tentacle's own tools rewrite it to ``https://``.
    ``address-no-port`` (warning): an ``https://`` address without a port: it
    means 443, not the comms port 10943.
    ``no-listen`` (info): NoListen is false although every entry is polling:
    the Tentacle also listens on its port for nothing.

Against a cluster description (``cluster=``)
    ``cluster-not-polled`` (error): the Tentacle polls, but none of the
    cluster's addresses.
    ``node-missing`` (error): a cluster address (a node, or the load
    balancer) is not polled: tasks queued there wait.
    ``node-unknown`` (warning): a polling entry with the cluster's thumbprint
    at an address the cluster no longer has.
    ``thumbprint-not-cluster`` (error): a polling entry at a cluster address
    trusts another thumbprint than the cluster's certificate.
    ``layout-mismatch`` (error): the Tentacle polls one address while the
    cluster needs every node polled, or several nodes while the cluster
    uses one load-balancer address.
    ``few-polling-connections`` (warning): a worker polls with fewer than 5
    connections per node (by Tentacle's run-time rule on the file's
    ``PollingConnectionCount``: unset or 0 means 1); ``register-worker``
    seeds ``max(5, CPU count)``. Tentacle.config does not say whether it
    belongs to a worker, so this needs the cluster's ``[[tentacles]]``
    entry with ``kind = "worker"`` and this file as ``config_path``.

With a machine key (``machine_key=``, ``--machine-key``), from the decrypted
``Tentacle.Certificate`` (see ``tentacle_ha.fleet._certificates``)
    ``certificate-expired`` (error), ``certificate-expiring`` (warning:
    under ``expiry_days``, 30 by default), ``certificate-thumbprint-mismatch``
    (error: the certificate is not ``Tentacle.CertificateThumbprint``),
    ``certificate-undecryptable`` (warning: wrong key, Windows DPAPI, or not
    a PFX).

Against the server API (``server=``, ``fleet audit --server URL``; no
Tentacle is contacted)
    ``server-thumbprint-changed`` (error, per file): the server's current
    comms certificate is not one the file's polling entries trust (whatever
    the cluster file says); the message holds the staged rotation that
    fixes it. ``cluster-thumbprint-stale`` (error, once, about the cluster
    file): the cluster file's thumbprint is not the server's current
    certificate; the message says what to set. Then a file's
    ``thumbprint-not-cluster`` says to fix the cluster file first, not to
    rotate the Tentacle to the cluster's (dead) thumbprint.
    ``server-node-missing`` (error, once, about the cluster file): the server
    lists a node the cluster file lacks, so every Tentacle misses it;
    ``server-node-offline`` (warning) when the server has that node
    offline. ``server-node-unknown`` (warning, once): the cluster file lists
    a node the server does not. ``server-nodes-not-compared`` (info, once):
    no cluster file, so the server's nodes were compared with nothing.

Across files
    ``cloned-certificate`` (error): several configs share one certificate:
    its real thumbprint where the machine key decrypts it, else
    ``Tentacle.CertificateThumbprint`` (cloned machines).
    ``cloned-subscription`` (error): several configs share one SubscriptionId.

Per cluster address (`poll_paths`, ``audit_fleet(on_paths=...)``), what
the config says about that poll path, without the network (the classes that
share a name with `tentacle_ha.check.CheckStatus` mean the same):
    ``ok``: polled with the cluster's thumbprint, in Tentacle's form;
    ``not_trusted``: not polled at all; ``thumbprint_mismatch``: polled, but
    trusting another certificate; ``thumbprint_case``: polled with the
    cluster's thumbprint in lower case (the polling client compares it
    case-sensitively, so polling fails); ``listening``: the Tentacle does
    not poll at all; ``servers_broken``: the TrustedOctopusServers JSON is
    broken; ``not_a_config``: the file is not a readable Tentacle.config.

This machine's instances (``fleet audit --instances`` without ``--root``,
Linux; `tentacle_ha.fleet.running`)
    ``restart-pending`` (warning): the config changed after the running
    agent started, so it runs on the old settings until restarted;
    ``agent-not-running`` (info): no running agent found for the instance.

While finding files (from `tentacle_ha.fleet.discover.expand_paths`)
    ``not-found`` (error), ``unreadable`` (error), ``not-a-file`` (warning),
    ``file-too-large`` (warning: over 16 MiB, never opened),
    ``binary-file`` (warning), ``symlink-outside-roots`` (warning: not followed
    unless asked), ``broken-symlink`` (warning), ``instance-index-broken``
    (error: an instance index file that cannot be used).

.. versionadded:: 0.1.0
"""

from __future__ import annotations

import enum
import os
import re
from typing import TYPE_CHECKING
from typing import Final
from urllib.parse import urlsplit

import attrs

from tentacle_ha.cluster import DriftCode
from tentacle_ha.cluster import Layout
from tentacle_ha.cluster import TentacleKind
from tentacle_ha.cluster import server_drift
from tentacle_ha.config import KEYS
from tentacle_ha.config import TentacleConfig
from tentacle_ha.config import effective_polling_connections
from tentacle_ha.config import loads
from tentacle_ha.errors import TentacleHAError
from tentacle_ha.fleet._certificates import DEFAULT_EXPIRY_DAYS
from tentacle_ha.fleet._certificates import CertificateCheck
from tentacle_ha.fleet._certificates import certificate_findings
from tentacle_ha.fleet._clones import Clones as _Clones
from tentacle_ha.fleet._pipeline import Done
from tentacle_ha.fleet._pipeline import pipeline
from tentacle_ha.fleet.discover import _Found
from tentacle_ha.fleet.discover import _load_found
from tentacle_ha.fleet.discover import _walk
from tentacle_ha.fleet.findings import Finding
from tentacle_ha.fleet.findings import Severity
from tentacle_ha.servers import CommunicationStyle
from tentacle_ha.servers import TrustedServer
from tentacle_ha.servers import TrustedServers
from tentacle_ha.servers import address_key
from tentacle_ha.servers import is_valid_thumbprint
from tentacle_ha.servers import thumbprint_key

if TYPE_CHECKING:
    from collections.abc import Callable
    from collections.abc import Iterable
    from collections.abc import Iterator

    from tentacle_ha.cluster import Cluster
    from tentacle_ha.cluster import ServerState
    from tentacle_ha.config import MachineKey

__all__ = [
    "Finding",
    "PathClass",
    "Severity",
    "audit_config",
    "audit_file",
    "audit_fleet",
    "poll_paths",
]


def __dir__() -> list[str]:
    return __all__


def _error_finding(code: str, exc: TentacleHAError, path: str | None) -> Finding:
    return Finding(
        severity=Severity.ERROR,
        code=code,
        path=exc.path if exc.path is not None else path,
        message=exc.message,
        line=exc.line,
        col=exc.col,
    )


class _Report:
    """Collects the findings of one document, positioned at a key's element."""

    def __init__(self, doc: TentacleConfig) -> None:
        self.doc = doc
        self.findings: list[Finding] = []

    def add(
        self,
        severity: Severity,
        code: str,
        message: str,
        key: str,
        *,
        node: str | None = None,
        address: str | None = None,
    ) -> None:
        position = self.doc.position(key)
        line, col = position if position is not None else (None, None)
        self.findings.append(
            Finding(
                severity=severity,
                code=code,
                path=self.doc.path,
                message=message,
                line=line,
                col=col,
                node=node,
                address=address,
            )
        )

    def servers(
        self,
        severity: Severity,
        code: str,
        message: str,
        *,
        node: str | None = None,
        address: str | None = None,
    ) -> None:
        self.add(
            severity, code, message, KEYS.TRUSTED_SERVERS, node=node, address=address
        )


_SUBSCRIPTION: Final = re.compile(r"poll://[^/\s]+/")
_THUMB_CHARS: Final = re.compile(r"[0-9A-Fa-f]{40}")


def _label(number: int, server: TrustedServer) -> str:
    where = server.address if server.address is not None else "listening"
    return f"entry {number} ({where})"


def _check_values(report: _Report) -> None:
    doc = report.doc
    checks: tuple[tuple[str, Callable[[], object]], ...] = (
        (KEYS.NO_LISTEN, lambda: doc.no_listen),
        (KEYS.PORT_NUMBER, lambda: doc.listen_port),
        (KEYS.POLLING_CONNECTION_COUNT, lambda: doc.polling_connection_count),
    )
    for key, read in checks:
        try:
            read()
        except TentacleHAError as exc:
            report.add(Severity.ERROR, "value-invalid", exc.message, key)
    if doc.certificate_thumbprint is None:
        report.add(
            Severity.WARNING,
            "no-certificate",
            "no Tentacle.CertificateThumbprint: the Tentacle has no certificate "
            "(run new-certificate)",
            KEYS.CERTIFICATE_THUMBPRINT,
        )


def _check_thumbprint(report: _Report, number: int, server: TrustedServer) -> None:
    thumb = server.thumbprint
    label = _label(number, server)
    if not _THUMB_CHARS.fullmatch(thumb):
        report.servers(
            Severity.ERROR,
            "thumbprint-invalid",
            f"{label}: thumbprint {thumb!r} is not 40 hex digits",
        )
    elif not is_valid_thumbprint(thumb):
        severity = Severity.ERROR if server.is_polling else Severity.WARNING
        why = (
            "the polling client compares it case-sensitively, so polling fails"
            if server.is_polling
            else "write it upper-case, as Tentacle does"
        )
        report.servers(
            severity,
            "thumbprint-lower-case",
            f"{label}: thumbprint {thumb} is not upper-case; {why}",
        )


def _check_address(report: _Report, number: int, server: TrustedServer) -> None:
    label = _label(number, server)
    address = server.address
    if address is None:
        report.servers(
            Severity.WARNING,
            "address-missing",
            f"{label}: polling entry without an Address; Tentacle skips it",
        )
        return
    try:
        parts = urlsplit(address.strip())
        port = parts.port
    except ValueError:
        parts, port = None, None
    scheme = parts.scheme.lower() if parts is not None else ""
    if parts is None or not parts.hostname or scheme not in {"https", "wss", "http"}:
        report.servers(
            Severity.ERROR,
            "address-invalid",
            f"{label}: {address!r} is not a comms address (https://host:port "
            "or wss://host/path)",
        )
    elif scheme == "http":
        report.servers(
            Severity.WARNING,
            "address-http",
            f"{label}: http:// comms address; polling is always TLS: write "
            f"https://{parts.netloc}",
        )
    elif scheme == "https" and port is None:
        report.servers(
            Severity.WARNING,
            "address-no-port",
            f"{label}: {address} has no port, so it means 443, not the comms "
            "port 10943",
        )


def _check_subscription(
    report: _Report, number: int, server: TrustedServer, *, squid: bool
) -> None:
    label = _label(number, server)
    sub = server.subscription_id
    if sub is None or not sub.strip():
        if squid:
            report.servers(
                Severity.WARNING,
                "subscription-id-missing",
                f"{label}: no SubscriptionId; Tentacle falls back to the legacy "
                "Octopus.Communications.Squid",
            )
        else:
            report.servers(
                Severity.ERROR,
                "subscription-id-missing",
                f"{label}: polling entry without a SubscriptionId",
            )
    elif not _SUBSCRIPTION.fullmatch(sub):
        report.servers(
            Severity.ERROR,
            "subscription-id-invalid",
            f"{label}: SubscriptionId {sub!r} is not poll://.../",
        )


def _identity(server: TrustedServer) -> tuple[str, tuple[object, ...] | None]:
    """`TrustedServer.matches` as a dict key: thumbprint any case, address as URI."""
    address = None if server.address is None else address_key(server.address)
    return (server.thumbprint.upper(), address)


def _check_entries(report: _Report, servers: TrustedServers) -> None:
    """Per-entry checks, linear in the entries (a dict finds duplicates)."""
    squid = report.doc.get(KEYS.SQUID) is not None
    # Each entry's identity once: `address_key`'s cache holds 4,096 addresses,
    # so a longer list of distinct ones would miss it at every second look.
    identities = [_identity(server) for server in servers]
    last = {identity: number for number, identity in enumerate(identities, 1)}
    for number, (server, identity) in enumerate(
        zip(servers, identities, strict=True), 1
    ):
        _check_thumbprint(report, number, server)
        if server.communication_style is CommunicationStyle.NONE:
            report.servers(
                Severity.WARNING,
                "style-none",
                f"{_label(number, server)}: CommunicationStyle 0 (None); Tentacle "
                "rewrites it as listening at start-up",
            )
        if server.is_polling:
            _check_address(report, number, server)
            _check_subscription(report, number, server, squid=squid)
        if last[identity] > number:  # a later entry matches this one
            report.servers(
                Severity.ERROR,
                "duplicate-entry",
                f"{_label(number, server)} is listed twice (same thumbprint "
                "and address); Tentacle's add-or-update fails on it",
            )


def _check_subscriptions(report: _Report, servers: TrustedServers) -> None:
    by_thumb: dict[str, dict[str, None]] = {}  # insertion-ordered sets
    for server in servers.polling():
        if server.subscription_id:
            ids = by_thumb.setdefault(server.thumbprint.upper(), {})
            ids[server.subscription_id] = None
    for thumb, ids in by_thumb.items():
        if len(ids) > 1:
            report.servers(
                Severity.ERROR,
                "subscription-id-mismatch",
                f"thumbprint {thumb} polls with {len(ids)} SubscriptionIds "
                f"({', '.join(ids)}); every node's entry must share one",
            )


def _check_listen(report: _Report, servers: TrustedServers) -> None:
    try:
        no_listen = report.doc.no_listen
    except TentacleHAError:
        return  # reported as value-invalid
    if servers and not no_listen and all(s.is_polling for s in servers):
        report.add(
            Severity.INFO,
            "no-listen",
            "NoListen is false but every entry is polling: the Tentacle also "
            "listens on its port for nothing",
            KEYS.NO_LISTEN,
        )


def _node_names(cluster: Cluster) -> dict[str, tuple[str, str | None]]:
    """Each cluster address: its label for messages, and its node's name."""
    addresses = cluster.comms_addresses()
    if cluster.layout.polls_every_node:
        return {
            a: (f"node {n.name} ({a})", n.name)
            for a, n in zip(addresses, cluster.nodes, strict=True)
        }
    what = (
        "load balancer"
        if cluster.layout is Layout.LOAD_BALANCER
        else "WebSocket endpoint"
    )
    return {a: (f"the {what} ({a})", None) for a in addresses}


def _https(address: str | None) -> str | None:
    """``http://`` read as ``https://``, as Tentacle's own tools rewrite it."""
    if address is None:
        return None
    return re.sub(r"(?i)^http://", "https://", address.strip())


def _key(address: str | None) -> tuple[object, ...] | None:
    """*address* as addresses compare (``http://`` read as ``https://``)."""
    wanted = _https(address)
    return None if wanted is None else address_key(wanted)


def _check_cluster(report: _Report, servers: TrustedServers, cluster: Cluster) -> None:
    polling = servers.polling()
    if not polling:
        return  # a listening Tentacle: the cluster's polling rules do not apply
    thumb = cluster.thumbprint
    wanted = cluster.comms_addresses()
    names = _node_names(cluster)
    mine = [s for s in polling if s.thumbprint.upper() == thumb]
    wanted_set = {_key(a) for a in wanted}
    foreign = [
        s
        for s in polling
        if s.thumbprint.upper() != thumb and _key(s.address) in wanted_set
    ]
    if not mine and not foreign:
        report.servers(
            Severity.ERROR,
            "cluster-not-polled",
            f"polls {len(polling)} address(es), but none of the cluster's "
            f"({', '.join(wanted)})",
        )
        return
    node_of = {_key(a): node for a, (_, node) in names.items()}
    for server in foreign:
        report.servers(
            Severity.ERROR,
            "thumbprint-not-cluster",
            f"polls {server.address} trusting {server.thumbprint}, but the "
            f"cluster's certificate is {thumb} (rotate the thumbprint)",
            node=node_of.get(_key(server.address)),
            address=server.address,
        )
    covered = {_key(s.address) for s in [*mine, *foreign]}  # linear in entries
    wanted_keys = {_key(a) for a in wanted}
    missing = [a for a in wanted if _key(a) not in covered]
    extra = [s.address for s in mine if _key(s.address) not in wanted_keys]
    polled = [a for a in wanted if _key(a) in covered]
    if (
        cluster.layout.polls_every_node
        and len(wanted) > 1
        and not polled
        and len(extra) == 1
    ):
        report.servers(
            Severity.ERROR,
            "layout-mismatch",
            f"polls only {extra[0]}, as with a load-balancer layout, but the "
            f"cluster is {cluster.layout}: every node must be polled or tasks "
            "queued on the others wait",
        )
        return
    if not cluster.layout.polls_every_node and not polled and len(extra) > 1:
        report.servers(
            Severity.ERROR,
            "layout-mismatch",
            f"polls {len(extra)} per-node addresses, but the cluster is "
            f"{cluster.layout} with the one address {wanted[0]}",
        )
        return
    for address in missing:
        label, node = names[address]
        report.servers(
            Severity.ERROR,
            "node-missing",
            f"does not poll {label}: tasks queued there wait",
            node=node,
            address=address,
        )
    for unknown in extra:
        report.servers(
            Severity.WARNING,
            "node-unknown",
            f"polls {unknown}, which the cluster no longer has",
            address=unknown,
        )


class PathClass(enum.StrEnum):
    """What a config says about one of the cluster's poll paths (module docstring).

    .. versionadded:: 0.1.0
    """

    OK = "ok"
    NOT_TRUSTED = "not_trusted"
    THUMBPRINT_MISMATCH = "thumbprint_mismatch"
    THUMBPRINT_CASE = "thumbprint_case"
    LISTENING = "listening"
    SERVERS_BROKEN = "servers_broken"
    NOT_A_CONFIG = "not_a_config"


def _path_class(here: list[TrustedServer], thumb: str) -> PathClass:
    """The class of one address from the polling entries at it."""
    if not here:
        return PathClass.NOT_TRUSTED
    ours = [s for s in here if s.thumbprint.upper() == thumb]
    if not ours:
        return PathClass.THUMBPRINT_MISMATCH
    if any(s.thumbprint == thumb for s in ours):
        return PathClass.OK
    return PathClass.THUMBPRINT_CASE


def poll_paths(doc: TentacleConfig, cluster: Cluster) -> tuple[PathClass, ...]:
    """One `PathClass` per address of ``cluster.comms_addresses()``, in order.

    Addresses compare as in the audit (Tentacle's URI rules, ``http://``
    read as ``https://``); no network is used. Linear in the entries.

    .. versionadded:: 0.1.0
    """
    wanted = cluster.comms_addresses()
    try:
        servers = doc.trusted_servers
    except TentacleHAError:
        return (PathClass.SERVERS_BROKEN,) * len(wanted)
    polling = servers.polling()
    if servers and not polling:
        return (PathClass.LISTENING,) * len(wanted)
    at: dict[tuple[object, ...] | None, list[TrustedServer]] = {}
    for server in polling:
        at.setdefault(_key(server.address), []).append(server)
    thumb = cluster.thumbprint
    return tuple(_path_class(at.get(_key(a), []), thumb) for a in wanted)


def audit_config(
    doc: TentacleConfig,
    *,
    cluster: Cluster | None = None,
    machine_key: MachineKey | None = None,
    expiry_days: int = DEFAULT_EXPIRY_DAYS,
) -> list[Finding]:
    """Check one loaded Tentacle.config; return its findings (codes: module docstring).

    Args:
        doc: the document.
        cluster: when given, the polling entries are also checked against it.
        machine_key: when given, ``Tentacle.Certificate`` is decrypted with
            it (in memory) and its expiry and thumbprint checked.
        expiry_days: with *machine_key*: ``certificate-expiring`` below this.

    .. versionadded:: 0.1.0
    """
    report = _Report(doc)
    if machine_key is not None:
        check = CertificateCheck(machine_key, expiry_days)
        report.findings.extend(certificate_findings(doc, check)[0])
    _check_values(report)
    try:
        servers = doc.trusted_servers
    except TentacleHAError as exc:
        report.findings.append(_error_finding("trusted-servers-broken", exc, doc.path))
        return report.findings
    if not servers:
        has_certificate = any(
            doc.get(key) is not None
            for key in (KEYS.CERTIFICATE, KEYS.CERTIFICATE_THUMBPRINT)
        )
        report.servers(
            Severity.ERROR if has_certificate else Severity.WARNING,
            "no-trusted-servers",
            "trusts no Octopus Server: nothing can reach or be polled",
        )
        return report.findings
    _check_entries(report, servers)
    _check_subscriptions(report, servers)
    _check_listen(report, servers)
    if cluster is not None:
        _check_cluster(report, servers, cluster)
        _check_worker_connections(report, servers, cluster)
    return report.findings


_WORKER_MIN_CONNECTIONS: Final = 5
"""Fewer polling connections than this on a worker is a finding."""


def _check_worker_connections(
    report: _Report, servers: TrustedServers, cluster: Cluster
) -> None:
    """``few-polling-connections`` for a worker (known from the cluster file)."""
    doc = report.doc
    if doc.path is None or not any(servers.polling()):
        return
    real = os.path.realpath(doc.path)
    worker = any(
        t.kind is TentacleKind.WORKER
        and t.config_path
        and os.path.realpath(t.config_path) == real
        for t in cluster.tentacles
    )
    if not worker:
        return
    try:
        count, _ = effective_polling_connections(doc)
    except TentacleHAError:
        return  # value-invalid says so already
    if count < _WORKER_MIN_CONNECTIONS:
        report.add(
            Severity.WARNING,
            "few-polling-connections",
            f"this worker polls each node with {count} connection(s), fewer "
            f"than the {_WORKER_MIN_CONNECTIONS} register-worker seeds "
            "(max(5, CPU count)); raise it with set-polling-connection-count "
            f"--pollingConnectionCount={_WORKER_MIN_CONNECTIONS}",
            KEYS.POLLING_CONNECTION_COUNT
            if KEYS.POLLING_CONNECTION_COUNT in doc
            else KEYS.TRUSTED_SERVERS,
        )


@attrs.frozen
class _FileAudit:
    """What a worker sends back: the findings and the identities to compare."""

    path: str | None
    findings: list[Finding]
    certificate: tuple[str, int | None, int | None] | None = None
    subscriptions: tuple[tuple[str, int | None, int | None], ...] = ()
    paths: tuple[PathClass, ...] = ()
    # The polling entries' thumbprints (in order) and where the list is.
    trust: tuple[tuple[str, ...], int | None, int | None] = ((), None, None)


def _identities(doc: TentacleConfig, real: str | None = None) -> _FileAudit:
    """The identities to compare across files; *real*: the decrypted certificate's."""
    cert = doc.certificate_thumbprint if real is None else real
    key = KEYS.CERTIFICATE_THUMBPRINT if real is None else KEYS.CERTIFICATE
    position = doc.position(key) or (None, None)
    certificate = (cert.strip().upper(), *position) if cert and cert.strip() else None
    subs: list[tuple[str, int | None, int | None]] = []
    try:
        servers = doc.trusted_servers
    except TentacleHAError:
        servers = TrustedServers()
    squid = doc.get(KEYS.SQUID)
    where = doc.position(KEYS.TRUSTED_SERVERS) or (None, None)
    seen: set[str] = set()
    for server in servers.polling():
        sub = server.subscription_id
        if not sub and squid is not None:
            sub = f"poll://{str(squid).strip().lower()}/"  # Tentacle's fallback
        if sub and sub not in seen:
            seen.add(sub)
            subs.append((sub, *where))
    thumbs = tuple(dict.fromkeys(s.thumbprint for s in servers.polling()))
    return _FileAudit(doc.path, [], certificate, tuple(subs), trust=(thumbs, *where))


def _audit_one(
    found: _Found, cluster: Cluster | None, certs: CertificateCheck | None = None
) -> _FileAudit | None:

    data = _load_found(found)
    if data is None:
        return None
    if isinstance(data, Finding):
        return _FileAudit(None, [data])
    try:
        doc = loads(data, path=found.path)
    except TentacleHAError as exc:
        broken = (
            ()
            if cluster is None
            else (PathClass.NOT_A_CONFIG,) * len(cluster.comms_addresses())
        )
        return _FileAudit(
            found.path, [_error_finding("not-a-config", exc, found.path)], paths=broken
        )
    mine, real = ([], None) if certs is None else certificate_findings(doc, certs)
    ids = _identities(doc, real)
    return attrs.evolve(
        ids,
        findings=[*mine, *audit_config(doc, cluster=cluster)],
        paths=() if cluster is None else poll_paths(doc, cluster),
    )


def _audit_worker(
    found: _Found, context: tuple[Cluster | None, CertificateCheck | None]
) -> _FileAudit | None:
    return _audit_one(found, *context)


def audit_file(
    path: str | os.PathLike[str],
    *,
    cluster: Cluster | None = None,
    machine_key: MachineKey | None = None,
    expiry_days: int = DEFAULT_EXPIRY_DAYS,
) -> list[Finding]:
    """Read and check one file; a file that cannot be read is a finding too.

    *machine_key* and *expiry_days* as for `audit_config`.

    .. versionadded:: 0.1.0
    """
    certs = None if machine_key is None else CertificateCheck(machine_key, expiry_days)
    result = _audit_one(_Found(os.fspath(path), explicit=True), cluster, certs)
    return result.findings if result is not None else []


def audit_fleet(
    paths: Iterable[str | os.PathLike[str]],
    *,
    cluster: Cluster | None = None,
    jobs: int | None = None,
    follow_symlinks: bool = False,
    on_file: Callable[[str], None] | None = None,
    on_paths: Callable[[str, tuple[PathClass, ...]], None] | None = None,
    machine_key: MachineKey | None = None,
    expiry_days: int = DEFAULT_EXPIRY_DAYS,
    server: ServerState | None = None,
) -> Iterator[Finding]:
    """Audit every Tentacle.config under *paths*, streaming the findings.

    Files are found as `tentacle_ha.fleet.discover.expand_paths` finds them (problems
    finding them are findings too) and checked in parallel worker processes,
    in a stable order: each file's findings, in file order, then the
    cross-file findings (``cloned-certificate``, ``cloned-subscription``).
    Memory stays flat except for one certificate thumbprint and one
    SubscriptionId per file, kept to compare files.

    Args:
        paths: files, folders (searched recursively) and glob patterns.
        cluster: check polling entries against this cluster too.
        jobs: worker processes (default: the number of CPUs; 1 = no workers).
        follow_symlinks: follow symlinks that point outside the given folders.
        on_file: called with each file's path once it has been checked.
        on_paths: called with each file's path and its `poll_paths` against
            *cluster* (all ``not_a_config`` for a file that cannot be read;
            empty without a cluster), before its findings are yielded.
        machine_key: decrypt each ``Tentacle.Certificate`` with this key (in
            memory, in the workers): certificate findings, and clones by the
            real certificate.
        expiry_days: with *machine_key*: ``certificate-expiring`` below this.
        server: what the server API says (`tentacle_ha.cluster.ServerState`):
            each file gets ``server-thumbprint-changed`` when its polling
            entries trust another certificate; with *cluster*, the node
            differences and ``cluster-thumbprint-stale`` come once, after
            the cross-file findings (codes: module docstring).

    .. versionadded:: 0.1.0
    """

    certificates = _Clones("cloned-certificate", "certificate thumbprint")
    subscriptions = _Clones("cloned-subscription", "SubscriptionId", like=certificates)
    items = (
        Done(_FileAudit(None, [item])) if isinstance(item, Finding) else item
        for item in _walk(paths, follow_symlinks=follow_symlinks)
    )
    certs = None if machine_key is None else CertificateCheck(machine_key, expiry_days)
    for result in pipeline(items, _audit_worker, (cluster, certs), jobs=jobs):
        if result is None:
            continue
        if on_paths is not None and result.path is not None:
            on_paths(result.path, result.paths)
        yield from _stale_advice(result.findings, server, cluster)
        path = result.path
        if path is None:
            continue
        if server is not None:
            yield from _server_findings(server, cluster, path, result.trust)
        if result.certificate is not None:
            certificates.add(result.certificate[0], path, *result.certificate[1:])
        for sub, line, col in result.subscriptions:
            subscriptions.add(sub, path, line, col)
        if on_file is not None:
            on_file(path)
    yield from certificates.findings()
    yield from subscriptions.findings()
    if server is not None:
        yield from _node_drift_findings(server, cluster)


def _stale_advice(
    findings: list[Finding], server: ServerState | None, cluster: Cluster | None
) -> Iterator[Finding]:
    """*findings*, with ``thumbprint-not-cluster`` advice fixed for a stale file.

    When the server presents another certificate than the cluster file's,
    rotating a Tentacle to the cluster's thumbprint would break it: the fix
    is the cluster file first.
    """
    current = None if server is None else thumbprint_key(server.thumbprint)
    if cluster is None or current in {None, thumbprint_key(cluster.thumbprint)}:
        yield from findings
        return
    advice = (
        f"(the cluster file is stale: the server presents {current}; fix the "
        "cluster file first)"
    )
    for finding in findings:
        if finding.code != "thumbprint-not-cluster":
            yield finding
            continue
        message = finding.message.replace("(rotate the thumbprint)", advice)
        yield attrs.evolve(finding, message=message)


def _node_drift_findings(
    server: ServerState, cluster: Cluster | None
) -> Iterator[Finding]:
    """The server's nodes and certificate against the cluster file's, about it."""
    if cluster is None:
        yield Finding(
            severity=Severity.INFO,
            code="server-nodes-not-compared",
            path=None,
            message=f"the server lists {len(server.nodes)} node(s); without a "
            "cluster file they were not compared (give --cluster)",
        )
        return
    for drift in server_drift(server, cluster):
        if drift.code is not DriftCode.THUMBPRINT_CHANGED:
            yield Finding(
                severity=Severity.ERROR if drift.error else Severity.WARNING,
                code=str(drift.code).replace("_", "-"),
                path=cluster.path,
                message=drift.message,
                node=drift.node,
            )


def _server_findings(
    server: ServerState,
    cluster: Cluster | None,
    path: str,
    trust: tuple[tuple[str, ...], int | None, int | None],
) -> Iterator[Finding]:
    """``server-thumbprint-changed`` for one file, when its trust is stale."""
    thumbs, line, col = trust
    if not thumbs:
        return  # listening only, or broken: nothing polls the server
    for drift in server_drift(server, cluster, thumbs):
        if drift.code is DriftCode.THUMBPRINT_CHANGED:
            fix = (
                f"tentacle-ha fleet apply PATHS --rotate {drift.old_thumbprint} "
                f"{drift.new_thumbprint} --staged"
            )
            yield Finding(
                severity=Severity.ERROR,
                code="server-thumbprint-changed",
                path=path,
                message=f"{drift.message}; fix: {fix}",
                line=line,
                col=col,
            )
