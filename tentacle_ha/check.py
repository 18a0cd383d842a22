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

.. versionadded:: 0.1.0
"""

from __future__ import annotations

import asyncio
import base64
import enum
import errno
import functools
import hashlib
import json
import os
import socket
import ssl
import time
import urllib.request
import uuid
from typing import TYPE_CHECKING
from typing import Final
from typing import NoReturn
from urllib.parse import unquote
from urllib.parse import urlsplit

import attrs
import httpx

from tentacle_ha._proxy import HttpProxy
from tentacle_ha._proxy import ProxyRefusedError
from tentacle_ha._proxy import connect_tunnel
from tentacle_ha._proxy import format_authority
from tentacle_ha._proxy import parse_status
from tentacle_ha._secret import Secret
from tentacle_ha.cluster import load_cluster
from tentacle_ha.config import load as load_config
from tentacle_ha.errors import CheckFailedError
from tentacle_ha.errors import InvalidValueError
from tentacle_ha.servers import CommunicationStyle

if TYPE_CHECKING:
    from collections.abc import Awaitable
    from collections.abc import Callable
    from collections.abc import Iterable
    from collections.abc import Mapping
    from collections.abc import Sequence

    from tentacle_ha.cluster import Cluster
    from tentacle_ha.config import ProxySettings
    from tentacle_ha.config import TentacleConfig

__all__ = [
    "DEFAULT_CONCURRENCY",
    "DEFAULT_TIMEOUT",
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
    "check_command",
    "check_node",
    "check_poll",
    "proxy_from_settings",
    "render_json",
    "render_table",
    "run_checks",
    "run_checks_sync",
    "targets_from_cluster",
    "targets_from_config",
    "thumbprint",
]

#: Seconds one check may take before it is reported as ``timeout``.
DEFAULT_TIMEOUT: Final = 5.0
#: How many checks run at the same time.
DEFAULT_CONCURRENCY: Final = 32

_PING_PATH: Final = "/api/octopusservernodes/ping"
_HTTP_OK: Final = 200
_HTTP_BAD_REQUEST: Final = 400
_HTTP_NOT_FOUND: Final = 404
_HTTP_PROXY_AUTH: Final = 407
_HTTP_TEAPOT: Final = 418
_HTTP_SERVER_ERROR: Final = 500
_HTTP_SWITCHING: Final = 101
_HALIBUT_ANSWERS: Final = frozenset({_HTTP_OK, _HTTP_BAD_REQUEST})
_DEFAULT_PORTS: Final = {"https": 443, "wss": 443}


class CheckKind(enum.StrEnum):
    """Which path a check covers.

    .. versionadded:: 0.1.0
    """

    REGISTRATION = "registration"
    NODE_HEALTH = "node_health"
    POLL = "poll"
    WEBSOCKET = "websocket"


class CheckStatus(enum.StrEnum):
    """The class of a check's outcome.

    ``ok`` passed; ``draining`` is a warning (a failure in strict mode); every
    other value is a failure.

    .. versionadded:: 0.1.0
    """

    OK = "ok"
    DNS_ERROR = "dns_error"
    REFUSED = "refused"
    UNREACHABLE = "unreachable"
    TIMEOUT = "timeout"
    TLS_ERROR = "tls_error"
    THUMBPRINT_MISMATCH = "thumbprint_mismatch"
    NOT_HALIBUT = "not_halibut"
    HTTP_ERROR = "http_error"
    DRAINING = "draining"
    DOWN = "down"
    PROXY_ERROR = "proxy_error"


def thumbprint(der: bytes) -> str:
    """Return a certificate's thumbprint the way Windows and Tentacle show it.

    That is the SHA-1 of the DER-encoded certificate in upper-case hex without
    separators (``X509Certificate2.Thumbprint``).

    Args:
        der: the certificate, DER-encoded.

    .. versionadded:: 0.1.0
    """
    # SHA-1 is what the thumbprint *is*; it names a certificate, it does not
    # protect anything here, so it must keep working on FIPS-restricted hosts.
    return hashlib.sha1(der, usedforsecurity=False).hexdigest().upper()


def _normalise_thumbprint(value: str) -> str:
    return value.replace(":", "").replace(" ", "").upper()


def _strip_userinfo(url: str) -> str:
    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return url
    return parts._replace(netloc=parts.netloc.rpartition("@")[2]).geturl()


def _split_address(address: str) -> tuple[str, str, int]:
    try:
        parts = urlsplit(address)
        port = parts.port
    except ValueError as exc:
        raise InvalidValueError(f"{address!r} is not a valid address: {exc}") from exc
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS:
        raise InvalidValueError(
            f"{address!r}: a polling address is https://host:port or wss://host/path"
        )
    if not parts.hostname:
        raise InvalidValueError(f"{address!r} has no host")
    return scheme, parts.hostname, port or _DEFAULT_PORTS[scheme]


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
        _split_address(value)

    @property
    def kind(self) -> CheckKind:
        """``websocket`` for a wss:// address, else ``poll``."""
        scheme, _, _ = _split_address(self.address)
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

    Raises:
        InvalidValueError: the URL is not http(s), or the CA bundle cannot be loaded.

    .. versionadded:: 0.1.0
    """

    server_url: str = attrs.field(converter=_check_web_url)
    api_key: Secret | None = attrs.field(default=None, repr=False)
    proxy: HttpProxy | None = None
    verify: bool | ssl.SSLContext = attrs.field(default=True, converter=_to_verify)
    name: str | None = None


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
        return not result.ok

    @property
    def failures(self) -> tuple[CheckResult, ...]:
        """The results that make the run fail."""
        return tuple(r for r in self.results if self._fails(r))

    @property
    def warnings(self) -> tuple[CheckResult, ...]:
        """Draining nodes when not strict: worth a look, not a failure."""
        if self.strict:
            return ()
        return tuple(r for r in self.results if r.status is CheckStatus.DRAINING)

    @property
    def ok(self) -> bool:
        """True when nothing failed (draining is a warning unless strict)."""
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


# --------------------------------------------------------------------------
# Poll and WebSocket paths: raw asyncio streams and ssl.
# --------------------------------------------------------------------------


@attrs.frozen
class _Outcome:
    """What one check found, before timing and target details are added."""

    status: CheckStatus
    reason: str
    http_status: int | None = None


class _Stop(Exception):  # noqa: N818  (control flow inside one check, never escapes)
    """Ends a check early with its outcome."""

    def __init__(
        self, status: CheckStatus, reason: str, http_status: int | None = None
    ) -> None:
        super().__init__(reason)
        self.outcome = _Outcome(status, reason, http_status)


async def _timed(
    seconds: float,
    work: Callable[[], Awaitable[_Outcome]],
    stage: Callable[[], str],
) -> tuple[_Outcome, float]:
    """Run ``work`` for at most ``seconds``; a `_Stop` or the timeout is the outcome."""
    started = time.perf_counter()
    try:
        async with asyncio.timeout(seconds):
            outcome = await work()
    except _Stop as stop:
        outcome = stop.outcome
    except TimeoutError:
        reason = f"no answer within {seconds:g}s during {stage()}"
        outcome = _Outcome(CheckStatus.TIMEOUT, reason)
    return outcome, time.perf_counter() - started


@functools.cache
def _pinning_context() -> ssl.SSLContext:
    # Halibut certificates are self-signed: trust comes from the pinned
    # thumbprint compared below, never from a chain or host name.
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context


def _connect_failure(exc: OSError, what: str) -> _Stop:
    if isinstance(exc, ConnectionRefusedError):
        return _Stop(CheckStatus.REFUSED, f"{what}: connection refused")
    if isinstance(exc, TimeoutError):
        return _Stop(CheckStatus.TIMEOUT, f"{what}: connect timed out")
    name = errno.errorcode.get(exc.errno or 0, "error")
    return _Stop(CheckStatus.UNREACHABLE, f"{what}: {name}: {exc.strerror or exc}")


async def _open(
    host: str, port: int, what: str
) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    loop = asyncio.get_running_loop()
    try:
        infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        reason = f"{host!r} does not resolve: {exc.strerror}"
        raise _Stop(CheckStatus.DNS_ERROR, reason) from exc
    first: OSError | None = None
    for _family, _type, _proto, _name, sockaddr in infos:
        try:
            return await asyncio.open_connection(str(sockaddr[0]), port)
        except OSError as exc:
            first = first or exc
    assert first is not None  # noqa: S101  (getaddrinfo never returns an empty list)
    raise _connect_failure(first, what) from first


class _PollProbe:
    """One poll or WebSocket check: its stage, details and open stream."""

    def __init__(self, target: PollTarget) -> None:
        self.target = target
        self.scheme, self.host, self.port = _split_address(target.address)
        self.stage = "DNS lookup"
        self.presented: str | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def run(self) -> _Outcome:
        try:
            reader, writer = await self._connect()
            await self._tls(writer)
            self._compare_thumbprint()
            if self.scheme == "wss":
                return await self._websocket(reader, writer)
            return await self._handshake(reader, writer)
        finally:
            if self.writer is not None:
                self.writer.transport.abort()

    async def _connect(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        proxy = self.target.proxy
        if proxy is None:
            self.stage = "TCP connect"
            reader, writer = await _open(self.host, self.port, self._authority)
            self.writer = writer
            return reader, writer
        self.stage = f"connect to proxy {proxy.authority}"
        try:
            reader, writer = await _open(proxy.host, proxy.port, "proxy")
        except _Stop as stop:
            reason = stop.outcome.reason.removeprefix("proxy: ")
            reason = f"proxy {proxy.authority}: {reason}"
            raise _Stop(CheckStatus.PROXY_ERROR, reason) from stop
        self.writer = writer
        self.stage = f"CONNECT through proxy {proxy.authority}"
        try:
            await connect_tunnel(reader, writer, proxy, self.host, self.port)
        except ProxyRefusedError as exc:
            raise _Stop(CheckStatus.PROXY_ERROR, exc.reason, exc.status) from exc
        except OSError as exc:
            reason = f"proxy {proxy.authority} dropped the connection: {exc}"
            raise _Stop(CheckStatus.PROXY_ERROR, reason) from exc
        return reader, writer

    @property
    def _authority(self) -> str:
        return format_authority(self.host, self.port)

    async def _tls(self, writer: asyncio.StreamWriter) -> None:
        self.stage = "TLS handshake"
        try:
            await writer.start_tls(_pinning_context(), server_hostname=self.host)
        except (OSError, EOFError) as exc:
            detail = getattr(exc, "reason", None) or str(exc) or type(exc).__name__
            reason = f"TLS handshake with {self._authority} failed: {detail}"
            raise _Stop(CheckStatus.TLS_ERROR, reason) from exc
        ssl_object = writer.get_extra_info("ssl_object")
        der = ssl_object.getpeercert(binary_form=True) if ssl_object else None
        if not der:
            raise _Stop(CheckStatus.TLS_ERROR, "the far end presented no certificate")
        self.presented = thumbprint(der)

    def _compare_thumbprint(self) -> None:
        expected = _normalise_thumbprint(self.target.thumbprint)
        if self.presented != expected:
            reason = (
                f"presented certificate {self.presented} is not the trusted "
                f"{expected or '(empty)'}: stale trust, or TLS interception"
            )
            raise _Stop(CheckStatus.THUMBPRINT_MISMATCH, reason)

    async def _exchange(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, request: str
    ) -> tuple[int, str]:
        """Send one request head; return the response's status and status line."""
        writer.write(request.encode("latin-1"))
        try:
            await writer.drain()
            line = (await reader.readline()).decode("latin-1").rstrip("\r\n")
        except (OSError, ValueError) as exc:
            raise _Stop(self._no_http_status, f"connection failed: {exc}") from exc
        if not line:
            raise _Stop(
                self._no_http_status, "closed the connection without an HTTP answer"
            )
        status = parse_status(line)
        if status is None:
            raise _Stop(self._no_http_status, f"answered {line[:60]!r}, not HTTP")
        return status, line

    @property
    def _no_http_status(self) -> CheckStatus:
        if self.scheme == "wss":
            return CheckStatus.HTTP_ERROR
        return CheckStatus.NOT_HALIBUT

    async def _handshake(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> _Outcome:
        self.stage = "POST /handshake"
        request = (
            f"POST /handshake HTTP/1.1\r\nHost: {self._authority}\r\n"
            "Content-Length: 0\r\nConnection: close\r\n\r\n"
        )
        status, line = await self._exchange(reader, writer, request)
        if status not in _HALIBUT_ANSWERS:
            reason = f"POST /handshake answered {line!r}; Halibut answers 200 or 400"
            raise _Stop(CheckStatus.NOT_HALIBUT, reason, status)
        return _Outcome(
            CheckStatus.OK, f"Halibut listener, trusted certificate ({status})", status
        )

    async def _websocket(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> _Outcome:
        self.stage = "WebSocket request"
        parts = urlsplit(self.target.address)
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        key = base64.b64encode(os.urandom(16)).decode("ascii")
        request = (
            f"GET {path} HTTP/1.1\r\nHost: {self._authority}\r\n"
            "Upgrade: websocket\r\nConnection: Upgrade\r\n"
            f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
            "Sec-WebSocket-Protocol: Octopus\r\n"
            f"X-Octopus-RequestId: {uuid.uuid4()}\r\n\r\n"
        )
        status, line = await self._exchange(reader, writer, request)
        if status == _HTTP_NOT_FOUND or status >= _HTTP_SERVER_ERROR:
            reason = f"{path} answered {line!r}: nothing serves this path"
            raise _Stop(CheckStatus.HTTP_ERROR, reason, status)
        if status == _HTTP_SWITCHING:
            reason = "WebSocket upgrade accepted, trusted certificate"
        else:
            reason = f"{path} answers ({line}), trusted certificate"
        return _Outcome(CheckStatus.OK, reason, status)


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
    probe = _PollProbe(target)
    outcome, elapsed = await _timed(timeout, probe.run, lambda: probe.stage)
    return CheckResult(
        target=target.address,
        kind=target.kind,
        status=outcome.status,
        reason=outcome.reason,
        elapsed=elapsed,
        name=target.name,
        expected_thumbprint=_normalise_thumbprint(target.thumbprint),
        presented_thumbprint=probe.presented,
        http_status=outcome.http_status,
        proxy=_proxy_label(target.proxy),
    )


# --------------------------------------------------------------------------
# Registration and node health: httpx.
# --------------------------------------------------------------------------


def _causes(exc: BaseException) -> Iterable[BaseException]:
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__


def _httpx_failure(exc: httpx.HTTPError, *, proxied: bool) -> _Stop:
    chain = list(_causes(exc))
    text = str(exc) or type(exc).__name__
    connect = isinstance(exc, httpx.ConnectError)
    rules = (
        (isinstance(exc, httpx.ProxyError), CheckStatus.PROXY_ERROR, "proxy"),
        (isinstance(exc, httpx.TimeoutException), CheckStatus.TIMEOUT, "timed out"),
        (any(isinstance(e, ssl.SSLError) for e in chain), CheckStatus.TLS_ERROR, "TLS"),
        (not connect, CheckStatus.HTTP_ERROR, "HTTP failure"),
        (proxied, CheckStatus.PROXY_ERROR, "proxy"),
        (
            any(isinstance(e, socket.gaierror) for e in chain),
            CheckStatus.DNS_ERROR,
            "name does not resolve",
        ),
    )
    for matches, status, what in rules:
        if matches:
            return _Stop(status, f"{what}: {text}")
    # anyio wraps the per-address errors in a plain OSError: use the innermost
    # one that carries an errno.
    os_errors = [e for e in chain if isinstance(e, OSError)]
    with_errno = [e for e in os_errors if e.errno is not None]
    if os_errors:
        return _connect_failure((with_errno or os_errors)[-1], "connect")
    return _Stop(CheckStatus.UNREACHABLE, f"connect failed: {text}")


async def _get(
    url: str,
    *,
    proxy: HttpProxy | None,
    verify: bool | ssl.SSLContext,
    headers: Mapping[str, str],
    seconds: float,
    transport: httpx.AsyncBaseTransport | None,
) -> httpx.Response:
    client = httpx.AsyncClient(
        # A given transport (tests) replaces the network, proxy included.
        proxy=None if proxy is None or transport is not None else proxy.to_httpx(),
        verify=verify,
        timeout=httpx.Timeout(seconds),
        transport=transport,
        trust_env=False,  # the target says which proxy applies, as Tentacle's keys do
        follow_redirects=False,
    )
    try:
        async with client:
            response = await client.get(url, headers=dict(headers))
    except httpx.HTTPError as exc:
        raise _httpx_failure(exc, proxied=proxy is not None) from exc
    if proxy is not None and response.status_code == _HTTP_PROXY_AUTH:
        raise _Stop(
            CheckStatus.PROXY_ERROR,
            f"proxy {proxy.authority} wants other credentials (407)",
            _HTTP_PROXY_AUTH,
        )
    return response


def _json_object(response: httpx.Response) -> dict[str, object] | None:
    try:
        body = response.json()
    except ValueError:
        return None
    return body if isinstance(body, dict) else None


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
    ``Application`` and ``Version``. 401/403 (a missing or rejected API key),
    other statuses and other bodies are ``http_error``; connection failures get
    their own class, 407 from the proxy is ``proxy_error``.

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

    async def work() -> _Outcome:
        response = await _get(
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
            return _Outcome(CheckStatus.HTTP_ERROR, reason, code)
        body = _json_object(response)
        if body is None or not (
            "Links" in body or {"Application", "Version"} <= body.keys()
        ):
            reason = "200, but not an Octopus root document"
            return _Outcome(CheckStatus.HTTP_ERROR, reason, code)
        version = body.get("Version")
        what = f"Octopus Server {version}" if isinstance(version, str) else "Octopus"
        return _Outcome(CheckStatus.OK, f"{what} root document", code)

    return await _run_http(url, CheckKind.REGISTRATION, target, timeout, work=work)


async def _run_http(
    url: str,
    kind: CheckKind,
    target: ApiTarget | NodeTarget,
    seconds: float,
    *,
    work: Callable[[], Awaitable[_Outcome]],
    node: Callable[[], Mapping[str, object] | None] = lambda: None,
) -> CheckResult:
    outcome, elapsed = await _timed(seconds, work, lambda: f"GET {url}")
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

    async def work() -> _Outcome:
        nonlocal node
        response = await _get(
            url,
            proxy=target.proxy,
            verify=target.verify,
            headers={"Accept": "application/json"},
            seconds=timeout,
            transport=transport,
        )
        node = _json_object(response)
        code = response.status_code
        if code == _HTTP_OK:
            return _Outcome(CheckStatus.OK, "online (200)", code)
        if code == _HTTP_TEAPOT:
            return _Outcome(CheckStatus.DRAINING, "online, draining (418)", code)
        return _Outcome(CheckStatus.DOWN, f"down: HTTP {code}", code)

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


# --------------------------------------------------------------------------
# Adapters: Tentacle.config and cluster descriptions -> targets, and the
# ``tentacle-ha check`` command. Kept apart so they follow config.py and
# cluster.py without touching the checks above.
# --------------------------------------------------------------------------


def proxy_from_settings(
    settings: ProxySettings,
    *,
    scheme: str = "https",
    password: Secret | None = None,
    system: Mapping[str, str] | None = None,
) -> HttpProxy | None:
    """Return the proxy Tentacle would use for a connection, from its proxy keys.

    Tentacle's rule: a configured host is used; with no host and
    ``use_default_proxy`` the system proxy is used; otherwise none. The system
    proxy is read as `urllib.request.getproxies` does (``https_proxy`` and
    friends, or the Windows and macOS settings) for ``scheme`` (``wss`` counts
    as ``https``); ``no_proxy`` is not consulted.

    ``settings.password`` is never used: Tentacle.config keeps proxy passwords
    encrypted with a machine key, which tentacle_ha does not decrypt. Pass the
    plain password as ``password``.

    Args:
        settings: ``doc.polling_proxy`` or ``doc.web_proxy``.
        scheme: the scheme of the address the connection goes to.
        password: the plain password for ``settings.username``.
        system: the system proxies by scheme; `urllib.request.getproxies()`
            when None.

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
    url = proxies.get("https" if scheme.lower() == "wss" else scheme.lower())
    if not url:
        return None
    try:
        parts = urlsplit(url if "://" in url else f"http://{url}")
        port = parts.port or 80
    except ValueError as exc:
        raise InvalidValueError(f"system proxy {url!r} is not a URL: {exc}") from exc
    if not parts.hostname:
        raise InvalidValueError(f"system proxy {url!r} has no host")
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

    Raises:
        TrustedServersError: the trusted-servers JSON is broken.
        InvalidValueError: an address is not https:// or wss://.

    .. versionadded:: 0.1.0
    """
    settings = doc.polling_proxy
    targets = []
    for server in doc.trusted_servers:
        if server.communication_style != CommunicationStyle.TENTACLE_ACTIVE:
            continue
        if not server.address:
            continue
        scheme = urlsplit(server.address).scheme
        proxy = proxy_from_settings(
            settings, scheme=scheme, password=proxy_password, system=system_proxies
        )
        targets.append(
            PollTarget(
                address=server.address, thumbprint=server.thumbprint, proxy=proxy
            )
        )
    return targets


def targets_from_cluster(
    cluster: Cluster,
    *,
    api_key: Secret | None = None,
    web_proxy: HttpProxy | None = None,
    verify: bool | str | os.PathLike[str] | ssl.SSLContext = True,
    poll: bool = False,
) -> list[CheckTarget]:
    """The registration check, one ping per node with a web URL, and optionally polls.

    Args:
        cluster: the cluster description.
        api_key: sent to ``{server_url}/api``.
        web_proxy: the proxy for REST calls.
        verify: certificate verification for https URLs (see `ApiTarget`).
        poll: also check each of ``cluster.comms_addresses()`` against the
            cluster thumbprint (direct, no proxy).

    .. versionadded:: 0.1.0
    """
    checked_verify = _to_verify(verify)
    targets: list[CheckTarget] = [
        ApiTarget(
            server_url=cluster.server_url,
            api_key=api_key,
            proxy=web_proxy,
            verify=checked_verify,
            name="server",
        )
    ]
    targets.extend(
        NodeTarget(
            web_url=node.web_url, proxy=web_proxy, verify=checked_verify, name=node.name
        )
        for node in cluster.nodes
        if node.web_url
    )
    if poll:
        targets.extend(
            PollTarget(address=address, thumbprint=cluster.thumbprint)
            for address in cluster.comms_addresses()
        )
    return targets


def _env_secret(env: Mapping[str, str], name: str) -> Secret | None:
    value = env.get(name)
    return Secret(value) if value else None


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
) -> tuple[int, str]:
    """Run ``tentacle-ha check CONFIG [--cluster FILE]``; return (exit code, stdout).

    Checks every polling entry of CONFIG (through its polling proxy) and, with
    a cluster file, the registration path (with the API key from the
    ``api_key_env`` environment variable when set, through CONFIG's web proxy)
    and each node's ping. Exit code 0 when every path is ok (draining is a
    warning unless ``strict``), else 1. The output is the table, or JSON.

    Proxy passwords come from the environment variables Tentacle itself reads,
    ``TENTACLE_POLLING_CUSTOM_PROXY_PASSWORD`` (polling) and
    ``OCTOPUS_PROXY_PASSWORD`` (web), since Tentacle.config holds them
    encrypted with a machine key.

    Raises:
        ConfigError: CONFIG cannot be read.
        ClusterError: the cluster file cannot be read.
        CheckFailedError: there is nothing to check.
        InvalidValueError: ``timeout`` or ``concurrency`` is out of range.

    .. versionadded:: 0.1.0
    """
    env = os.environ if environ is None else environ
    doc = load_config(config)
    targets: list[CheckTarget] = list(
        targets_from_config(
            doc,
            proxy_password=_env_secret(env, "TENTACLE_POLLING_CUSTOM_PROXY_PASSWORD"),
        )
    )
    if cluster is not None:
        description = load_cluster(os.fspath(cluster))
        web_proxy = proxy_from_settings(
            doc.web_proxy,
            scheme=urlsplit(description.server_url).scheme,
            password=_env_secret(env, "OCTOPUS_PROXY_PASSWORD"),
        )
        targets += targets_from_cluster(
            description, api_key=_env_secret(env, api_key_env), web_proxy=web_proxy
        )
    if not targets:
        raise CheckFailedError(
            "no polling servers to check (and no --cluster)", path=os.fspath(config)
        )
    report = run_checks_sync(
        targets, timeout=timeout, concurrency=concurrency, strict=strict
    )
    return report.exit_code, render_json(report) if json_output else render_table(
        report
    )
