"""The checks for a Tentacle.config or a cluster description, and their report.

What `tentacle_ha.check` checks comes from what a user has: `targets_from_config`
makes one `PollTarget` per polling entry of a Tentacle.config (through the proxy
`proxy_from_settings` says Tentacle would use), `targets_from_cluster` the
registration check and node pings of a cluster description. `render_table` and
`render_json` show a `CheckReport`; `check_command` is ``tentacle-ha check``
built from these pieces.

.. versionadded:: 0.1.0
"""

from __future__ import annotations

import asyncio
import ipaddress
import json
import os
import ssl
import urllib.request
from typing import TYPE_CHECKING
from typing import Final
from typing import NamedTuple
from urllib.parse import unquote
from urllib.parse import urlsplit

import attrs

from tentacle_ha._secret import Secret
from tentacle_ha.check._checks import DEFAULT_CONCURRENCY
from tentacle_ha.check._checks import DEFAULT_TIMEOUT
from tentacle_ha.check._checks import ApiTarget
from tentacle_ha.check._checks import CheckKind
from tentacle_ha.check._checks import CheckResult
from tentacle_ha.check._checks import CheckStatus
from tentacle_ha.check._checks import NodeTarget
from tentacle_ha.check._checks import PollTarget
from tentacle_ha.check._checks import _label
from tentacle_ha.check._checks import _to_verify
from tentacle_ha.check._checks import run_checks
from tentacle_ha.check._driftrows import drift_rows
from tentacle_ha.check._driftrows import skipped_row
from tentacle_ha.check._proxy import HttpProxy
from tentacle_ha.check._server import read_server
from tentacle_ha.cluster import LOAD_BALANCER_MIN_VERSION
from tentacle_ha.cluster import Layout
from tentacle_ha.cluster import format_host
from tentacle_ha.cluster import load_cluster
from tentacle_ha.config import KEYS
from tentacle_ha.config import effective_config
from tentacle_ha.config import load as load_config
from tentacle_ha.errors import CheckFailedError
from tentacle_ha.errors import InvalidValueError
from tentacle_ha.errors import ServerApiError
from tentacle_ha.servers import CommunicationStyle
from tentacle_ha.servers import same_address
from tentacle_ha.servers import thumbprint_key

if TYPE_CHECKING:
    from collections.abc import Callable
    from collections.abc import Mapping

    from tentacle_ha.check._checks import CheckReport
    from tentacle_ha.check._checks import CheckTarget
    from tentacle_ha.cluster import Cluster
    from tentacle_ha.cluster import ServerState
    from tentacle_ha.config import ProxySettings
    from tentacle_ha.config import TentacleConfig

__all__ = [
    "CA_BUNDLE_ENVIRONMENT",
    "LOAD_BALANCER_MIN_VERSION",
    "CheckRun",
    "check_command",
    "cluster_names",
    "no_proxy_matches",
    "proxy_from_settings",
    "render_json",
    "render_table",
    "run_check_command",
    "system_proxies",
    "targets_from_cluster",
    "targets_from_config",
    "untrusted_results",
]


def no_proxy_matches(no_proxy: str, host: str, port: int | None = None) -> bool:
    """Whether a ``no_proxy`` value says to reach *host* (on *port*) directly.

    The rules curl and httpx share: entries are separated by commas (and
    spaces), compared ignoring case; ``*`` matches every host; a name matches
    itself and its subdomains (``example.com``, ``.example.com`` and
    ``*.example.com`` all match ``a.example.com``, none matches
    ``badexample.com``); an IP address matches that address (IPv6 with or
    without brackets), a CIDR block (``10.0.0.0/8``, as curl reads it) the
    addresses in it; an entry with ``:port`` matches only that port.

    .. versionadded:: 0.1.0
    """
    host = host.strip("[]").rstrip(".").lower()
    try:
        address: ipaddress.IPv4Address | ipaddress.IPv6Address | None
        address = ipaddress.ip_address(host)
    except ValueError:
        address = None
    for raw in no_proxy.replace(" ", ",").split(","):
        entry = raw.strip().lower()
        if "://" in entry:
            entry = entry.split("://", 1)[1]
        if entry == "*":
            return True
        if not entry:
            continue
        name, wanted = _split_entry(entry)
        if wanted is not None and wanted != port:
            continue
        if _entry_matches(name, host, address):
            return True
    return False


def _split_entry(entry: str) -> tuple[str, int | None]:
    """A no_proxy entry's host part and its port, if it names one."""
    if entry.startswith("["):
        inside, _, rest = entry[1:].partition("]")
        port = rest[1:] if rest.startswith(":") else ""
        return inside, int(port) if port.isdigit() else None
    if entry.count(":") == 1:
        name, _, port = entry.partition(":")
        return name, int(port) if port.isdigit() else None
    return entry, None


def _entry_matches(
    name: str,
    host: str,
    address: ipaddress.IPv4Address | ipaddress.IPv6Address | None,
) -> bool:
    if address is not None:
        try:
            return address in ipaddress.ip_network(name, strict=False)
        except ValueError:
            return False
    name = name.removeprefix("*").removeprefix(".").rstrip(".")
    return bool(name) and (host == name or host.endswith("." + name))


def system_proxies(environ: Mapping[str, str]) -> dict[str, str]:
    """The proxies an environment names, as `urllib.request.getproxies` reads them.

    ``<scheme>_proxy`` by scheme in any case, the lower-case spelling winning,
    and ``no_proxy``/``NO_PROXY`` under ``"no"``; ``HTTP_PROXY`` is ignored
    when ``REQUEST_METHOD`` is set (a CGI request can set it), as urllib does.

    .. versionadded:: 0.1.0
    """
    found: dict[str, str] = {}
    for lower_only in (False, True):
        for name, value in environ.items():
            lower = name.lower()
            if lower.endswith("_proxy") and (not lower_only or name == lower):
                if value:
                    found[lower.removesuffix("_proxy")] = value
                elif lower_only:
                    found.pop(lower.removesuffix("_proxy"), None)
    if "REQUEST_METHOD" in environ and "HTTP_PROXY" in environ:
        lower_http = environ.get("http_proxy")
        if lower_http:
            found["http"] = lower_http
        else:
            found.pop("http", None)
    return found


def proxy_from_settings(
    settings: ProxySettings,
    *,
    scheme: str = "https",
    password: Secret | None = None,
    system: Mapping[str, str] | None = None,
    url: str | None = None,
) -> HttpProxy | None:
    """Return the proxy Tentacle would use for a connection, from its proxy keys.

    Tentacle's rule: a configured host is used; with no host and
    ``use_default_proxy`` the system proxy is used; otherwise none. The system
    proxy is read as `urllib.request.getproxies` does (``https_proxy`` and
    friends, or the Windows and macOS settings) for ``scheme`` (``wss`` counts
    as ``https``); with ``url``, a ``no_proxy`` entry matching its host (see
    `no_proxy_matches`) means no proxy, as curl and httpx do. A configured
    host is explicit and is used whatever ``no_proxy`` says.

    ``settings.password`` is never used: Tentacle.config keeps proxy passwords
    encrypted with a machine key, which tentacle_ha does not decrypt. Pass the
    plain password as ``password``.

    Args:
        settings: ``doc.polling_proxy`` or ``doc.web_proxy``.
        scheme: the scheme of the address the connection goes to.
        password: the plain password for ``settings.username``.
        system: the system proxies by scheme, and ``"no"`` for ``no_proxy``;
            `urllib.request.getproxies()` when None.
        url: the URL or address the connection goes to; its scheme replaces
            ``scheme``.

    Raises:
        InvalidValueError: the system proxy URL cannot be read.

    .. versionadded:: 0.1.0
    """
    if settings.host:
        return HttpProxy(
            host=settings.host,
            port=settings.port,
            username=settings.username,
            password=password,
        )
    if not settings.use_default_proxy:
        return None
    proxies = urllib.request.getproxies() if system is None else system
    destination = None if url is None else urlsplit(url)
    if destination is not None:
        scheme = destination.scheme or scheme
    proxy_url = proxies.get("https" if scheme.lower() == "wss" else scheme.lower())
    if not proxy_url:
        return None
    if destination is not None and destination.hostname:
        try:
            port: int | None = destination.port
        except ValueError:
            port = None
        default = 80 if scheme.lower() == "http" else 443
        bypass = proxies.get("no", "")
        if no_proxy_matches(bypass, destination.hostname, port or default):
            return None
    try:
        parts = urlsplit(proxy_url if "://" in proxy_url else f"http://{proxy_url}")
        port = parts.port or 80
    except ValueError as exc:
        msg = f"system proxy {proxy_url!r} is not a URL: {exc}"
        raise InvalidValueError(msg) from exc
    if not parts.hostname:
        raise InvalidValueError(f"system proxy {proxy_url!r} has no host")
    password = None if parts.password is None else Secret(unquote(parts.password))
    username = None if parts.username is None else unquote(parts.username)
    return HttpProxy(
        host=parts.hostname, port=port, username=username, password=password
    )


def targets_from_config(
    doc: TentacleConfig,
    *,
    proxy_password: Secret | None = None,
    system_proxies: Mapping[str, str] | None = None,
    cluster: Cluster | None = None,
) -> list[PollTarget]:
    """One `PollTarget` per polling entry of a Tentacle.config, in file order.

    Entries with ``CommunicationStyle`` TentacleActive (2) and an ``Address``
    are checked, through the polling proxy (``Octopus.Server.Proxy.*``) when
    one applies; listening entries have nothing to poll.

    Args:
        doc: the loaded config.
        proxy_password: the polling proxy's plain password (see
            `proxy_from_settings`).
        system_proxies: as ``system`` in `proxy_from_settings`.
        cluster: name each target after the cluster's node (or load balancer)
            at that address.

    Raises:
        TrustedServersError: the trusted-servers JSON is broken.
        InvalidValueError: an address is not https:// or wss://.

    .. versionadded:: 0.1.0
    """
    settings = doc.polling_proxy
    names = {} if cluster is None else cluster_names(cluster)
    targets = []
    for server in doc.trusted_servers:
        if server.communication_style != CommunicationStyle.TENTACLE_ACTIVE:
            continue
        if not server.address:
            continue
        proxy = proxy_from_settings(
            settings,
            url=server.address,
            password=proxy_password,
            system=system_proxies,
        )
        name = next(
            (n for a, n in names.items() if same_address(a, server.address)), None
        )
        targets.append(
            PollTarget(
                address=server.address,
                thumbprint=server.thumbprint,
                proxy=proxy,
                name=name,
            )
        )
    return targets


def cluster_names(cluster: Cluster) -> dict[str, str]:
    """The report label of each address in ``cluster.comms_addresses()``.

    The node name for the per-node layouts; ``load balancer`` or ``WebSocket
    endpoint`` for the single-address layouts.

    .. versionadded:: 0.1.0
    """
    addresses = cluster.comms_addresses()
    if cluster.layout is Layout.LOAD_BALANCER:
        return dict.fromkeys(addresses, "load balancer")
    if cluster.layout is Layout.WEBSOCKET:
        return dict.fromkeys(addresses, "WebSocket endpoint")
    return dict(zip(addresses, (n.name for n in cluster.nodes), strict=True))


def _where(cluster: Cluster, index: int) -> str:
    """What stands behind the *index*-th comms address, in words."""
    if not cluster.layout.polls_every_node:
        return ", ".join(n.name for n in cluster.nodes) or "the nodes"
    node = cluster.nodes[index]
    return f"node {node.name} at {format_host(node.address)}:{node.comms_port}"


def _sync_fix(cluster: Cluster, server_thumbprint: str | None) -> str:
    """The fix of a ``not_trusted`` row: sync, after the cluster file if stale."""
    sync = "tentacle-ha servers sync CONFIG --cluster FILE"
    current = None if server_thumbprint is None else thumbprint_key(server_thumbprint)
    if current is None or current == thumbprint_key(cluster.thumbprint):
        return sync
    where = "" if cluster.path is None else f" {cluster.path}"
    return (
        f"the cluster file is stale (the server presents {current}): set "
        f'thumbprint = "{current}" in the cluster file{where} first, then {sync}'
    )


def untrusted_results(
    doc: TentacleConfig, cluster: Cluster, *, server_thumbprint: str | None = None
) -> list[CheckResult]:
    """One ``not_trusted`` result per cluster address the Tentacle does not poll.

    The addresses are the cluster layout's (`Cluster.comms_addresses`); an
    address counts as trusted when a polling entry has it (compared as
    Tentacle compares addresses) with the cluster's thumbprint (ignoring case).
    No network is used.

    The fix is ``servers sync`` to the cluster file, unless
    *server_thumbprint* (the server's current certificate, when read) is
    not the cluster's: then syncing would move the Tentacle to a dead
    certificate, so the fix is the cluster file first.

    Raises:
        TrustedServersError: the trusted-servers JSON is broken.

    .. versionadded:: 0.1.0
    """
    polling = [
        s
        for s in doc.trusted_servers
        if s.communication_style == CommunicationStyle.TENTACLE_ACTIVE and s.address
    ]
    wanted = thumbprint_key(cluster.thumbprint)
    names = cluster_names(cluster)
    results = []
    for index, address in enumerate(cluster.comms_addresses()):
        here = [s for s in polling if same_address(s.address, address)]
        if any(thumbprint_key(s.thumbprint) == wanted for s in here):
            continue
        behind = _where(cluster, index)
        if here:
            reason = (
                f"polls {address} ({behind}) only with another certificate "
                f"({here[0].thumbprint}), not the cluster's {wanted}"
            )
        else:
            reason = f"does not poll {address} ({behind})"
        if cluster.layout.polls_every_node:
            reason += ": tasks queued on that node never reach this Tentacle"
        reason += f"; fix: {_sync_fix(cluster, server_thumbprint)}"
        results.append(
            CheckResult(
                target=address,
                kind=CheckKind.WEBSOCKET
                if address.lower().startswith("wss:")
                else CheckKind.POLL,
                status=CheckStatus.NOT_TRUSTED,
                reason=reason,
                elapsed=0.0,
                name=names[address],
                expected_thumbprint=wanted,
            )
        )
    return results


def targets_from_cluster(
    cluster: Cluster,
    *,
    api_key: Secret | None = None,
    web_proxy: HttpProxy | None = None,
    verify: bool | str | os.PathLike[str] | ssl.SSLContext = True,
    poll: bool = False,
    web_proxy_for: Callable[[str], HttpProxy | None] | None = None,
    insecure_http: bool = False,
) -> list[CheckTarget]:
    """The registration check, one ping per node with a web URL, and optionally polls.

    For the load-balancer layout the registration check also needs the
    server's ``Version`` to be at least `LOAD_BALANCER_MIN_VERSION` (2026.4,
    multi-node polling).

    Args:
        cluster: the cluster description.
        api_key: sent to ``{server_url}/api``.
        web_proxy: the proxy for REST calls.
        verify: certificate verification for https URLs (see `ApiTarget`).
        poll: also check each of ``cluster.comms_addresses()`` against the
            cluster thumbprint (direct, no proxy).
        web_proxy_for: the web proxy for a URL (e.g. honouring ``no_proxy``);
            replaces ``web_proxy`` when given.
        insecure_http: allow the API key to go to an ``http://`` server URL.

    Raises:
        InvalidValueError: the API key would go over plain http without
            ``insecure_http``, or the CA bundle cannot be loaded.

    .. versionadded:: 0.1.0
    """
    checked_verify = _to_verify(verify)
    lb = cluster.layout is Layout.LOAD_BALANCER

    def proxy(url: str) -> HttpProxy | None:
        return web_proxy if web_proxy_for is None else web_proxy_for(url)

    targets: list[CheckTarget] = [
        ApiTarget(
            server_url=cluster.server_url,
            api_key=api_key,
            proxy=proxy(cluster.server_url),
            verify=checked_verify,
            name="server",
            insecure_http=insecure_http,
            min_version=LOAD_BALANCER_MIN_VERSION if lb else None,
            requirement="the load-balancer layout (multi-node polling)",
        )
    ]
    targets.extend(
        NodeTarget(
            web_url=node.web_url,
            proxy=proxy(node.web_url),
            verify=checked_verify,
            name=node.name,
        )
        for node in cluster.nodes
        if node.web_url
    )
    if poll:
        targets.extend(
            PollTarget(address=address, thumbprint=cluster.thumbprint, name=name)
            for address, name in cluster_names(cluster).items()
        )
    return targets


def render_json(report: CheckReport) -> str:
    """Render a report as indented JSON (``tentacle-ha check --json``).

    .. versionadded:: 0.1.0
    """
    return json.dumps(report.to_dict(), indent=2) + "\n"


def render_table(report: CheckReport) -> str:
    """Render a report as a table for people, one row per path, and a summary line.

    .. versionadded:: 0.1.0
    """
    header = ("TARGET", "KIND", "RESULT", "TIME", "REASON")
    rows = [
        (_label(r), str(r.kind), str(r.status), f"{r.elapsed:.3f}s", r.reason)
        for r in report.results
    ]
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(4)]
    lines = []
    for row in [header, *rows]:
        cells = [cell.ljust(width) for cell, width in zip(row, widths, strict=False)]
        lines.append("  ".join([*cells, row[4]]).rstrip())
    failed = len(report.failures)
    warned = len(report.warnings)
    passed = len(report.results) - failed - warned
    verdict = "OK" if report.ok else "FAILED"
    counts = ", ".join(
        [
            _count(len(report.results), "check"),
            f"{passed} ok",
            _count(warned, "warning"),
            f"{failed} failed",
        ]
    )
    lines.append(f"{verdict}: {counts} in {report.elapsed:.3f}s")
    return "\n".join(lines) + "\n"


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}" if number == 1 else f"{number} {noun}s"


def _env_secret(env: Mapping[str, str], name: str) -> Secret | None:
    value = env.get(name)
    return Secret(value) if value else None


#: Environment variables naming a CA bundle, in the order they are read.
CA_BUNDLE_ENVIRONMENT: Final = ("REQUESTS_CA_BUNDLE", "SSL_CERT_FILE")


def _ca_verify(
    ca_bundle: str | os.PathLike[str] | None, env: Mapping[str, str]
) -> bool | ssl.SSLContext:
    """The verification for HTTPS checks: the bundle, an env bundle, or True."""
    path = None if ca_bundle is None else os.fspath(ca_bundle)
    source = "--ca-bundle"
    if path is None:
        source, path = next(
            ((name, env[name]) for name in CA_BUNDLE_ENVIRONMENT if env.get(name)),
            (source, None),
        )
    if path is None:
        return True
    try:
        return ssl.create_default_context(cafile=path)
    except (OSError, ssl.SSLError) as exc:
        detail = getattr(exc, "strerror", None) or str(exc)
        msg = f"cannot load the CA bundle ({source}): {detail}"
        raise InvalidValueError(msg, path=path) from exc


def _effective(
    doc: TentacleConfig,
    env: Mapping[str, str],
    env_file: str | os.PathLike[str] | None,
    warn: Callable[[str], None] | None,
    password: Secret | None,
) -> tuple[TentacleConfig, Secret | None]:
    """The config with the environment overlaid, and the polling proxy password."""
    effective = effective_config(doc, environ=env, env_file=env_file)
    if env_file is not None and not effective.contributes and warn is not None:
        warn(
            f"{doc.name}: --env-file ignored: OCTOPUS_CONTRIBUTE_ENV_SETTINGS is "
            "not true here, so Tentacle would not read it either"
        )
    if not effective.overridden:
        return doc, password
    found = effective.get(KEYS.POLLING_PROXY_PREFIX + "ProxyPassword")
    if found is not None and found.source.kind != "config":
        password = found.value if isinstance(found.value, Secret) else password
    if warn is not None:
        keys = ", ".join(
            f"{v.key} ({v.source.variable}, {v.source})" for v in effective.overridden
        )
        warn(f"{doc.name}: checking the effective configuration: {keys}")
    return effective.as_config(), password


class CheckRun(NamedTuple):
    """What `run_check_command` checked and found (for the table, JSON or HTML).

    .. versionadded:: 0.1.0
    """

    doc: TentacleConfig
    """The config checked."""
    cluster: Cluster | None
    """The cluster description, when one was given."""
    report: CheckReport
    """The results, ``not_trusted`` rows after the config's poll paths."""


def check_command(
    config: str | os.PathLike[str],
    *,
    cluster: str | os.PathLike[str] | None = None,
    json_output: bool = False,
    timeout: float = DEFAULT_TIMEOUT,
    concurrency: int = DEFAULT_CONCURRENCY,
    strict: bool = False,
    api_key_env: str = "OCTOPUS_API_KEY",
    environ: Mapping[str, str] | None = None,
    ca_bundle: str | os.PathLike[str] | None = None,
    insecure_http: bool = False,
    warn: Callable[[str], None] | None = None,
    env_file: str | os.PathLike[str] | None = None,
    file_only: bool = False,
) -> tuple[int, str]:
    """Run ``tentacle-ha check CONFIG [--cluster FILE]``; return (exit code, stdout).

    Checks every polling entry of CONFIG (through its polling proxy) and, with
    a cluster file, adds a ``not_trusted`` row for each address of the
    cluster's layout that CONFIG does not poll (see `untrusted_results`),
    names the rows after the nodes, and checks the registration path (with
    the API key from the ``api_key_env`` environment variable when set,
    through CONFIG's web proxy) and each node's ping. With the API key it
    also reads the server's node list and certificate (at the same time as
    the checks) and adds the server-side drift rows of
    `tentacle_ha.check.drift.drift_rows`; without one, or when the server
    cannot be read, one ``skipped`` row says so. Exit code 0 when every path
    is ok (draining and the other warnings pass unless ``strict`` for
    draining), else 1. The output is the table, or JSON.

    HTTPS registration and pings are verified against ``ca_bundle`` (a PEM
    file of CA certificates), else the file named by ``REQUESTS_CA_BUNDLE``
    or ``SSL_CERT_FILE`` (as requests and httpx users expect), else the
    system's CAs; a bundle replaces the system CAs, as it does for requests.
    The poll path is pinned by thumbprint and uses no CA.

    The API key is refused for an ``http://`` server URL unless
    ``insecure_http``; then ``warn`` is called with a one-line warning. The
    system proxy is read from ``environ`` (when given) and skipped for the
    hosts ``no_proxy`` names, see `no_proxy_matches`.

    What is checked is the effective configuration, as `run_check_command`
    says (*env_file*, *file_only*).

    Proxy passwords come from the environment variables Tentacle itself reads,
    ``TENTACLE_POLLING_CUSTOM_PROXY_PASSWORD`` (polling) and
    ``OCTOPUS_PROXY_PASSWORD`` (web), since Tentacle.config holds them
    encrypted with a machine key.

    Raises:
        ConfigError: CONFIG cannot be read.
        ClusterError: the cluster file cannot be read.
        CheckFailedError: there is nothing to check.
        InvalidValueError: ``timeout`` or ``concurrency`` is out of range, or
            the CA bundle cannot be loaded.

    .. versionadded:: 0.1.0
    """
    run = run_check_command(
        config,
        cluster=cluster,
        timeout=timeout,
        concurrency=concurrency,
        strict=strict,
        api_key_env=api_key_env,
        environ=environ,
        ca_bundle=ca_bundle,
        insecure_http=insecure_http,
        warn=warn,
        env_file=env_file,
        file_only=file_only,
    )
    report = run.report
    return report.exit_code, render_json(report) if json_output else render_table(
        report
    )


def run_check_command(
    config: str | os.PathLike[str],
    *,
    cluster: str | os.PathLike[str] | None = None,
    timeout: float = DEFAULT_TIMEOUT,
    concurrency: int = DEFAULT_CONCURRENCY,
    strict: bool = False,
    api_key_env: str = "OCTOPUS_API_KEY",
    environ: Mapping[str, str] | None = None,
    ca_bundle: str | os.PathLike[str] | None = None,
    insecure_http: bool = False,
    warn: Callable[[str], None] | None = None,
    env_file: str | os.PathLike[str] | None = None,
    file_only: bool = False,
) -> CheckRun:
    """Run the checks of ``tentacle-ha check``; return them with what was read.

    `check_command` without the rendering: the same arguments, errors and
    order of results.

    What is checked is the effective configuration
    (`tentacle_ha.config.effective_config`): when the environment has
    ``OCTOPUS_CONTRIBUTE_ENV_SETTINGS=true``, as Tentacle started here would
    see it, ``TENTACLE_TRUSTED_SERVERS`` and the other mapped variables
    (then *env_file*, a ``.env``) replace the file's values, and ``warn``
    says which. ``file_only`` checks the file alone.

    .. versionadded:: 0.1.0
    """
    env = os.environ if environ is None else environ
    system = None if environ is None else system_proxies(environ)
    doc = load_config(config)
    polling_password = _env_secret(env, "TENTACLE_POLLING_CUSTOM_PROXY_PASSWORD")
    if not file_only:
        doc, polling_password = _effective(doc, env, env_file, warn, polling_password)
    description = None if cluster is None else load_cluster(os.fspath(cluster))
    targets: list[CheckTarget] = list(
        targets_from_config(
            doc,
            proxy_password=polling_password,
            system_proxies=system,
            cluster=description,
        )
    )
    polls = len(targets)
    gaps = [] if description is None else untrusted_results(doc, description)
    key: Secret | None = None
    if description is not None:
        web_password = _env_secret(env, "OCTOPUS_PROXY_PASSWORD")

        def web_proxy_for(url: str) -> HttpProxy | None:
            return proxy_from_settings(
                doc.web_proxy, url=url, password=web_password, system=system
            )

        key = _env_secret(env, api_key_env)
        server = description.server_url
        if key is not None and urlsplit(server).scheme.lower() == "http":
            if not insecure_http:
                msg = (
                    f"refusing to send the API key (${api_key_env}) over plain "
                    f"http:// to {server}: use an https:// server URL, or "
                    "--insecure-http to send it anyway"
                )
                raise InvalidValueError(msg, path=description.path)
            via = web_proxy_for(server)
            through = "" if via is None else f" and the proxy {via.authority}"
            if warn is not None:
                warn(
                    f"warning: sending the API key over plain http:// to {server} "
                    f"(--insecure-http): anyone on the path{through} can read it"
                )
        targets += targets_from_cluster(
            description,
            api_key=key,
            web_proxy_for=web_proxy_for,
            verify=_ca_verify(ca_bundle, env),
            insecure_http=insecure_http,
        )
    if not targets:
        raise CheckFailedError(
            "no polling servers to check (and no --cluster)", path=os.fspath(config)
        )
    api = next((t for t in targets if isinstance(t, ApiTarget)), None)
    report, drift = asyncio.run(
        _checks_and_drift(
            targets,
            api if description is not None and key is not None else None,
            timeout=timeout,
            concurrency=concurrency,
            strict=strict,
        )
    )
    rows = report.results
    if description is not None:
        found = _server_rows(doc, description, drift, api_key_env, os.fspath(config))
        if drift is not None and not isinstance(drift, str):
            gaps = untrusted_results(
                doc, description, server_thumbprint=drift.thumbprint
            )
        rows = (*rows[:polls], *gaps, *rows[polls:], *found)
    report = attrs.evolve(report, results=rows)
    return CheckRun(doc, description, report)


def _server_rows(
    doc: TentacleConfig,
    description: Cluster,
    drift: ServerState | str | None,
    api_key_env: str,
    config: str,
) -> list[CheckResult]:
    """The server-side drift rows, or the one row saying why they were skipped."""
    if isinstance(drift, str):
        return [skipped_row(description.server_url, drift)]
    if drift is None:
        why = (
            f"no API key (${api_key_env} is not set), so the server's nodes "
            "and certificate were not compared with the cluster file"
        )
        return [skipped_row(description.server_url, why)]
    trusted = [
        s.thumbprint
        for s in doc.trusted_servers
        if s.communication_style == CommunicationStyle.TENTACLE_ACTIVE
    ]
    return drift_rows(drift, description, dict.fromkeys(trusted), config=config)


async def _checks_and_drift(
    targets: list[CheckTarget],
    server: ApiTarget | None,
    *,
    timeout: float,  # noqa: ASYNC109  (per-check limit, applied inside)
    concurrency: int,
    strict: bool,
) -> tuple[CheckReport, ServerState | str | None]:
    """The checks and, at the same time, the server read for the drift rows.

    The read is None without a *server* to read, its failure in one line
    when it fails.
    """
    checks = run_checks(
        targets, timeout=timeout, concurrency=concurrency, strict=strict
    )
    if server is None:
        return await checks, None

    async def read() -> ServerState | str:
        try:
            return await read_server(server, timeout=timeout)
        except ServerApiError as exc:
            return f"cannot read the server: {exc}"

    report, state = await asyncio.gather(checks, read())
    return report, state
