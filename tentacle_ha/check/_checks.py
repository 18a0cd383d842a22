"""Connectivity checks for polling Tentacles and the Octopus nodes they poll.

Each path a polling Tentacle depends on becomes one `CheckResult`:

* **poll** (`PollTarget` with an ``https://host:port`` address): DNS, TCP connect
  (through an HTTP CONNECT proxy when one is given), a TLS handshake with no
  client certificate and no certificate verification, the SHA-1 thumbprint of
  the presented certificate compared with the trusted one, then proof that the
  far end is a Halibut listener: ``POST /handshake`` answered with HTTP 200 or
  400, the way Tentacle's own check does it.
* **websocket** (`PollTarget` with a ``wss://host[:port]/path`` address): the
  same up to the thumbprint (of the HTTPS certificate, port 443 by default),
  then a WebSocket opening request to the path, see `check_poll`.
* **registration** (`ApiTarget`): ``GET {server}/api`` answered with Octopus's
  root document, with normal certificate verification.
* **node_health** (`NodeTarget`): ``GET {web}/api/octopusservernodes/ping``:
  200 online, 418 draining, anything else down.

Network outcomes are results, never exceptions; `CheckReport.raise_for_failures`
raises on purpose. The checks pin the trusted thumbprint only: they never trust
on first use and never write a presented thumbprint anywhere.

Targets made from a Tentacle.config or a cluster description, the table and
JSON renderers and the ``tentacle-ha check`` command are in
`tentacle_ha.check.targets`.

.. versionadded:: 0.1.0
"""

from __future__ import annotations

import asyncio
import enum
import os
import re
import ssl
import time
from typing import TYPE_CHECKING
from typing import Final
from typing import NoReturn
from urllib.parse import urlsplit

import attrs

from tentacle_ha.check._httpget import http_get
from tentacle_ha.check._httpget import json_object
from tentacle_ha.check._limits import DEFAULT_CONCURRENCY
from tentacle_ha.check._limits import DEFAULT_TIMEOUT
from tentacle_ha.check._outcome import WARNING_STATUSES
from tentacle_ha.check._outcome import CheckStatus
from tentacle_ha.check._outcome import Outcome
from tentacle_ha.check._outcome import timed
from tentacle_ha.check._probe import PollProbe
from tentacle_ha.check._probe import split_address
from tentacle_ha.check._probe import thumbprint
from tentacle_ha.check._proxy import HttpProxy
from tentacle_ha.errors import CheckFailedError
from tentacle_ha.errors import InvalidValueError
from tentacle_ha.servers import thumbprint_key

if TYPE_CHECKING:
    from collections.abc import Awaitable
    from collections.abc import Callable
    from collections.abc import Iterable
    from collections.abc import Mapping
    from collections.abc import Sequence

    import httpx

    from tentacle_ha._secret import Secret

__all__ = [
    "DEFAULT_CONCURRENCY",
    "DEFAULT_TIMEOUT",
    "WARNING_STATUSES",
    "ApiTarget",
    "CheckKind",
    "CheckReport",
    "CheckResult",
    "CheckStatus",
    "CheckTarget",
    "HttpProxy",
    "NodeTarget",
    "PollTarget",
    "check_api",
    "check_node",
    "check_poll",
    "run_checks",
    "run_checks_sync",
    "thumbprint",
]


_PING_PATH: Final = "/api/octopusservernodes/ping"
_HTTP_OK: Final = 200
_HTTP_TEAPOT: Final = 418


class CheckKind(enum.StrEnum):
    """Which path a check covers.

    .. versionadded:: 0.1.0
    """

    REGISTRATION = "registration"
    NODE_HEALTH = "node_health"
    POLL = "poll"
    WEBSOCKET = "websocket"
    #: What the server API says against the cluster file (no path checked).
    SERVER_DRIFT = "server_drift"


def _strip_userinfo(url: str) -> str:
    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return url
    return parts._replace(netloc=parts.netloc.rpartition("@")[2]).geturl()


def _check_web_url(url: str) -> str:
    parts = urlsplit(url)
    if parts.scheme.lower() not in {"http", "https"} or not parts.hostname:
        raise InvalidValueError(f"{url!r} is not an http:// or https:// URL")
    return url.rstrip("/")


def _to_verify(
    value: bool | str | os.PathLike[str] | ssl.SSLContext,  # noqa: FBT001  (attrs converters take the value positionally)
) -> bool | ssl.SSLContext:
    if isinstance(value, bool | ssl.SSLContext):
        return value
    try:
        return ssl.create_default_context(cafile=os.fspath(value))
    except (OSError, ssl.SSLError) as exc:
        raise InvalidValueError(
            f"cannot load CA bundle {os.fspath(value)!r}: {exc}"
        ) from exc


@attrs.frozen(kw_only=True)
class PollTarget:
    """One trusted polling address: what a Tentacle connects to, and whom it trusts.

    Args:
        address: ``https://host:port`` (Halibut over TCP; port 443 when absent,
            as a URI reads) or ``wss://host[:port]/path`` (WebSocket polling).
        thumbprint: the trusted thumbprint; compared ignoring case, ``:`` and
            spaces. A value that is not 40 hex digits simply never matches.
        proxy: the polling proxy (``Octopus.Server.Proxy.*``), if any.
        name: a label for reports, e.g. the node name.

    Raises:
        InvalidValueError: the address is not an https:// or wss:// URL with a host.

    .. versionadded:: 0.1.0
    """

    address: str = attrs.field()
    thumbprint: str
    proxy: HttpProxy | None = None
    name: str | None = None

    @address.validator
    def _check_address(self, _attribute: object, value: str) -> None:
        split_address(value)

    @property
    def kind(self) -> CheckKind:
        """``websocket`` for a wss:// address, else ``poll``."""
        scheme, _, _ = split_address(self.address)
        return CheckKind.WEBSOCKET if scheme == "wss" else CheckKind.POLL


@attrs.frozen(kw_only=True)
class ApiTarget:
    """The REST API a Tentacle registers through (``--server``).

    Args:
        server_url: the Octopus Server URL, e.g. ``https://octopus.example.com``.
        api_key: sent as ``X-Octopus-ApiKey``; never shown in results or reprs.
        proxy: the web proxy (``Octopus.Proxy.*``), if any.
        verify: certificate verification for https: True (default, the normal
            CA bundle), a CA bundle path, an `ssl.SSLContext`, or False.
        name: a label for reports.
        min_version: ``(year, release)``, e.g. ``(2026, 4)``: the root
            document's ``Version`` must be at least this, else the check is
            ``unsupported_server`` (also when it reports no readable version).
        requirement: what needs ``min_version``, for the reason text.
        insecure_http: allow sending ``api_key`` to an ``http://`` URL, where
            anyone on the path (a web proxy included) can read it.

    Raises:
        InvalidValueError: the URL is not http(s), the CA bundle cannot be
            loaded, or an API key would go over plain http without
            ``insecure_http``.

    .. versionadded:: 0.1.0
    """

    server_url: str = attrs.field(converter=_check_web_url)
    api_key: Secret | None = attrs.field(default=None, repr=False)
    proxy: HttpProxy | None = None
    verify: bool | ssl.SSLContext = attrs.field(default=True, converter=_to_verify)
    name: str | None = None
    min_version: tuple[int, int] | None = None
    requirement: str = "this cluster"
    insecure_http: bool = False

    def __attrs_post_init__(self) -> None:
        plain = urlsplit(self.server_url).scheme.lower() == "http"
        if plain and self.api_key is not None and not self.insecure_http:
            msg = (
                f"refusing to send the API key over plain http:// to "
                f"{_strip_userinfo(self.server_url)}: use an https:// server URL, "
                "or insecure_http=True (--insecure-http) to send it anyway"
            )
            raise InvalidValueError(msg)


@attrs.frozen(kw_only=True)
class NodeTarget:
    """One node's web address, for its health ping.

    Args:
        web_url: the node's own web URL (not the load balancer's).
        proxy: the web proxy, if any.
        verify: as for `ApiTarget`.
        name: the node name, for reports.

    Raises:
        InvalidValueError: the URL is not http(s), or the CA bundle cannot be loaded.

    .. versionadded:: 0.1.0
    """

    web_url: str = attrs.field(converter=_check_web_url)
    proxy: HttpProxy | None = None
    verify: bool | ssl.SSLContext = attrs.field(default=True, converter=_to_verify)
    name: str | None = None


#: Anything `run_checks` accepts.
CheckTarget = PollTarget | ApiTarget | NodeTarget


@attrs.frozen(kw_only=True)
class CheckResult:
    """The outcome of one check. No public constructor: the checks return it.

    Attributes:
        target: the address or URL checked (never with credentials).
        kind: which path this is.
        status: the outcome class.
        reason: one human line saying what happened.
        elapsed: seconds the check took.
        name: the target's label, if it has one.
        expected_thumbprint: the trusted thumbprint (poll and websocket).
        presented_thumbprint: the thumbprint the far end presented, if TLS got that far.
        http_status: the HTTP status that decided the result, if any.
        node: the node JSON from the ping, if it was a JSON object.
        proxy: ``host:port`` of the proxy used, if any.

    .. versionadded:: 0.1.0
    """

    target: str
    kind: CheckKind
    status: CheckStatus
    reason: str
    elapsed: float
    name: str | None = None
    expected_thumbprint: str | None = None
    presented_thumbprint: str | None = None
    http_status: int | None = None
    node: Mapping[str, object] | None = attrs.field(default=None, hash=False)
    proxy: str | None = None

    @property
    def ok(self) -> bool:
        """True when the status is ``ok``."""
        return self.status is CheckStatus.OK

    def to_dict(self) -> dict[str, object]:
        """A JSON-ready dict of the attributes; ``elapsed`` rounded to ms."""
        return {
            "target": self.target,
            "name": self.name,
            "kind": str(self.kind),
            "status": str(self.status),
            "reason": self.reason,
            "elapsed": round(self.elapsed, 3),
            "expected_thumbprint": self.expected_thumbprint,
            "presented_thumbprint": self.presented_thumbprint,
            "http_status": self.http_status,
            "node": None if self.node is None else dict(self.node),
            "proxy": self.proxy,
        }


@attrs.frozen(kw_only=True)
class CheckReport:
    """All results of one run. No public constructor: `run_checks` returns it.

    Attributes:
        results: one per target, in the order the targets were given.
        strict: whether ``draining`` counts as a failure.
        elapsed: wall-clock seconds of the whole run.

    .. versionadded:: 0.1.0
    """

    results: tuple[CheckResult, ...]
    strict: bool = False
    elapsed: float = 0.0

    def _fails(self, result: CheckResult) -> bool:
        if result.status is CheckStatus.DRAINING:
            return self.strict
        return not result.ok and result.status not in WARNING_STATUSES

    @property
    def failures(self) -> tuple[CheckResult, ...]:
        """The results that make the run fail."""
        return tuple(r for r in self.results if self._fails(r))

    @property
    def warnings(self) -> tuple[CheckResult, ...]:
        """Worth a look, not a failure: draining nodes when not strict, and
        the statuses in `WARNING_STATUSES` (skipped checks, server-side
        drift that breaks no path)."""
        return tuple(
            r
            for r in self.results
            if r.status in WARNING_STATUSES
            or (r.status is CheckStatus.DRAINING and not self.strict)
        )

    @property
    def ok(self) -> bool:
        """True when nothing failed (warnings, draining unless strict, pass)."""
        return not self.failures

    @property
    def exit_code(self) -> int:
        """0 when `ok`, else 1: the ``tentacle-ha check`` exit status."""
        return 0 if self.ok else 1

    def raise_for_failures(self) -> None:
        """Raise if any check failed; do nothing otherwise.

        Raises:
            CheckFailedError: naming each failed target, its status and reason.
        """
        failures = self.failures
        if not failures:
            return
        listed = "; ".join(f"{_label(r)}: {r.status} ({r.reason})" for r in failures)
        count = len(self.results)
        raise CheckFailedError(f"{len(failures)} of {count} checks failed: {listed}")

    def to_dict(self) -> dict[str, object]:
        """A JSON-ready dict: ok, strict, elapsed, counts and results."""
        counts: dict[str, int] = {}
        for result in self.results:
            counts[str(result.status)] = counts.get(str(result.status), 0) + 1
        return {
            "ok": self.ok,
            "strict": self.strict,
            "elapsed": round(self.elapsed, 3),
            "counts": dict(sorted(counts.items())),
            "results": [r.to_dict() for r in self.results],
        }


def _label(result: CheckResult) -> str:
    if result.name:
        return f"{result.target} ({result.name})"
    return result.target


# --------------------------------------------------------------------------
# Poll and WebSocket paths: the probe itself is in tentacle_ha.check._probe.
# --------------------------------------------------------------------------


async def check_poll(
    target: PollTarget,
    *,
    timeout: float = DEFAULT_TIMEOUT,  # noqa: ASYNC109  (per-check limit, applied inside)
) -> CheckResult:
    """Check one polling address: the poll path, or the WebSocket path for wss://.

    Poll path (``https://host:port``): DNS, TCP (or HTTP CONNECT through
    ``target.proxy``), TLS without a client certificate and without chain or host
    name checks, thumbprint comparison, then ``POST /handshake``: HTTP 200 or 400
    means a Halibut listener (``ok``); any other answer, garbage or a closed
    connection is ``not_halibut``.

    WebSocket path (``wss://host[:port]/path``): the same up to the thumbprint,
    which is the HTTPS certificate's, then a WebSocket opening request (``GET``
    with ``Upgrade: websocket``, subprotocol ``Octopus``) to the path. The
    endpoint answers when the response is HTTP with any status except 404 and
    5xx: 101 (upgrade accepted) and statuses such as 400 or 403 (the Octopus
    listener wants a client certificate this check does not send) count as
    ``ok``; 404, 5xx or no HTTP answer are ``http_error``.

    Failures: ``dns_error``, ``refused``, ``unreachable``, ``timeout`` (naming the
    stage), ``tls_error``, ``thumbprint_mismatch`` (both thumbprints in the
    result), ``proxy_error`` for anything between us and the proxy's tunnel.

    Args:
        target: the address and trusted thumbprint.
        timeout: seconds for the whole check.

    .. versionadded:: 0.1.0
    """
    probe = PollProbe(target)
    outcome, elapsed = await timed(timeout, probe.run, lambda: probe.stage)
    return CheckResult(
        target=target.address,
        kind=target.kind,
        status=outcome.status,
        reason=outcome.reason,
        elapsed=elapsed,
        name=target.name,
        expected_thumbprint=thumbprint_key(target.thumbprint),
        presented_thumbprint=probe.presented,
        http_status=outcome.http_status,
        proxy=_proxy_label(target.proxy),
    )


# --------------------------------------------------------------------------
# Registration and node health: the GET itself is in tentacle_ha.check._httpget.
# --------------------------------------------------------------------------


def _proxy_label(proxy: HttpProxy | None) -> str | None:
    return None if proxy is None else proxy.authority


async def check_api(
    target: ApiTarget,
    *,
    timeout: float = DEFAULT_TIMEOUT,  # noqa: ASYNC109  (per-check limit, applied inside)
    transport: httpx.AsyncBaseTransport | None = None,
) -> CheckResult:
    """Check the registration path: ``GET {server}/api`` gives the root document.

    ``ok`` when the answer is 200 with a JSON object that has ``Links``, or both
    ``Application`` and ``Version`` (and, with ``target.min_version``, a
    ``Version`` at least that: else ``unsupported_server``). 401/403 (a
    missing or rejected API key), other statuses and other bodies are
    ``http_error``; connection failures get their own class, 407 from the
    proxy is ``proxy_error``.

    Args:
        target: the server URL, API key, proxy and verification settings.
        timeout: seconds for the whole check.
        transport: an httpx transport to use instead of the network (tests).

    .. versionadded:: 0.1.0
    """
    url = f"{target.server_url}/api"
    headers = {"Accept": "application/json"}
    if target.api_key is not None:
        headers["X-Octopus-ApiKey"] = target.api_key.reveal()

    async def work() -> Outcome:
        response = await http_get(
            url,
            proxy=target.proxy,
            verify=target.verify,
            headers=headers,
            seconds=timeout,
            transport=transport,
        )
        code = response.status_code
        if code != _HTTP_OK:
            hint = {401: ": API key missing or rejected", 403: ": API key not allowed"}
            reason = f"HTTP {code}{hint.get(code, '')}"
            if response.has_redirect_location:
                reason += f", redirected to {response.headers['Location']}"
            return Outcome(CheckStatus.HTTP_ERROR, reason, code)
        body = json_object(response)
        if body is None or not (
            "Links" in body or {"Application", "Version"} <= body.keys()
        ):
            reason = "200, but not an Octopus root document"
            return Outcome(CheckStatus.HTTP_ERROR, reason, code)
        version = body.get("Version")
        what = f"Octopus Server {version}" if isinstance(version, str) else "Octopus"
        too_old = _too_old(version, target.min_version, target.requirement)
        if too_old is not None:
            return Outcome(CheckStatus.UNSUPPORTED_SERVER, too_old, code)
        return Outcome(CheckStatus.OK, f"{what} root document", code)

    return await _run_http(url, CheckKind.REGISTRATION, target, timeout, work=work)


_VERSION: Final = re.compile(r"\s*([0-9]+)\.([0-9]+)")


def _too_old(
    version: object, minimum: tuple[int, int] | None, requirement: str
) -> str | None:
    """Why *version* does not meet *minimum*, or None when it does."""
    if minimum is None:
        return None
    wanted = f"{minimum[0]}.{minimum[1]}"
    match = _VERSION.match(version) if isinstance(version, str) else None
    if match is None:
        return (
            f"the root document reports no readable Version ({version!r}); "
            f"{requirement} needs Octopus Server {wanted} or later"
        )
    if (int(match[1]), int(match[2])) < minimum:
        return (
            f"Octopus Server {version} is older than {wanted}, which "
            f"{requirement} needs"
        )
    return None


async def _run_http(
    url: str,
    kind: CheckKind,
    target: ApiTarget | NodeTarget,
    seconds: float,
    *,
    work: Callable[[], Awaitable[Outcome]],
    node: Callable[[], Mapping[str, object] | None] = lambda: None,
) -> CheckResult:
    outcome, elapsed = await timed(seconds, work, lambda: f"GET {url}")
    return CheckResult(
        target=_strip_userinfo(url),
        kind=kind,
        status=outcome.status,
        reason=outcome.reason,
        elapsed=elapsed,
        name=target.name,
        http_status=outcome.http_status,
        node=node(),
        proxy=_proxy_label(target.proxy),
    )


async def check_node(
    target: NodeTarget,
    *,
    timeout: float = DEFAULT_TIMEOUT,  # noqa: ASYNC109  (per-check limit, applied inside)
    transport: httpx.AsyncBaseTransport | None = None,
) -> CheckResult:
    """Check one node's health: ``GET {web}/api/octopusservernodes/ping``.

    200 is ``ok`` (online), 418 ``draining`` (online, in drain mode), any other
    status ``down``; connection failures get their own class. The node JSON body
    is kept in `CheckResult.node` when it is a JSON object.

    Args:
        target: the node's web URL.
        timeout: seconds for the whole check.
        transport: an httpx transport to use instead of the network (tests).

    .. versionadded:: 0.1.0
    """
    url = f"{target.web_url}{_PING_PATH}"
    node: dict[str, object] | None = None

    async def work() -> Outcome:
        nonlocal node
        response = await http_get(
            url,
            proxy=target.proxy,
            verify=target.verify,
            headers={"Accept": "application/json"},
            seconds=timeout,
            transport=transport,
        )
        node = json_object(response)
        code = response.status_code
        if code == _HTTP_OK:
            return Outcome(CheckStatus.OK, "online (200)", code)
        if code == _HTTP_TEAPOT:
            return Outcome(CheckStatus.DRAINING, "online, draining (418)", code)
        return Outcome(CheckStatus.DOWN, f"down: HTTP {code}", code)

    return await _run_http(
        url, CheckKind.NODE_HEALTH, target, timeout, work=work, node=lambda: node
    )


# --------------------------------------------------------------------------
# Running many checks.
# --------------------------------------------------------------------------


async def _check_one(target: CheckTarget, seconds: float) -> CheckResult:
    if isinstance(target, PollTarget):
        return await check_poll(target, timeout=seconds)
    if isinstance(target, ApiTarget):
        return await check_api(target, timeout=seconds)
    return await check_node(target, timeout=seconds)


def _invalid(message: str) -> NoReturn:
    raise InvalidValueError(message)


async def run_checks(
    targets: Iterable[CheckTarget],
    *,
    timeout: float = DEFAULT_TIMEOUT,  # noqa: ASYNC109  (per-check limit, applied inside)
    concurrency: int = DEFAULT_CONCURRENCY,
    strict: bool = False,
) -> CheckReport:
    """Run every check concurrently and collect a report.

    At most ``concurrency`` checks run at once; each has ``timeout`` seconds
    (counted from its start, not from when it was queued). The whole run takes
    about as long as the slowest check per wave of ``concurrency``, never the
    sum. Network outcomes never raise.

    Args:
        targets: poll, API and node targets, in report order.
        timeout: seconds per check; must be positive.
        concurrency: checks at a time; at least 1.
        strict: count ``draining`` as a failure.

    Raises:
        InvalidValueError: ``timeout`` or ``concurrency`` is out of range, or a
            target is not one of the target types.

    .. versionadded:: 0.1.0
    """
    if not timeout > 0:
        _invalid(f"timeout must be positive, not {timeout!r}")
    if concurrency < 1:
        _invalid(f"concurrency must be at least 1, not {concurrency!r}")
    todo: Sequence[CheckTarget] = list(targets)
    for target in todo:
        if not isinstance(target, PollTarget | ApiTarget | NodeTarget):
            _invalid(f"not a check target: {target!r}")
    gate = asyncio.Semaphore(concurrency)

    async def gated(target: CheckTarget) -> CheckResult:
        async with gate:
            return await _check_one(target, timeout)

    started = time.perf_counter()
    results = await asyncio.gather(*(gated(t) for t in todo))
    return CheckReport(
        results=tuple(results), strict=strict, elapsed=time.perf_counter() - started
    )


def run_checks_sync(
    targets: Iterable[CheckTarget],
    *,
    timeout: float = DEFAULT_TIMEOUT,
    concurrency: int = DEFAULT_CONCURRENCY,
    strict: bool = False,
) -> CheckReport:
    """`run_checks` for synchronous code: runs its own event loop.

    Raises:
        InvalidValueError: as `run_checks`.

    .. versionadded:: 0.1.0
    """
    return asyncio.run(
        run_checks(targets, timeout=timeout, concurrency=concurrency, strict=strict)
    )
