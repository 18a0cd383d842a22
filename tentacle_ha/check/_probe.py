"""Private: the poll and WebSocket paths on raw asyncio streams and ssl.

`PollProbe` walks one polling address the way a Tentacle does: DNS, TCP (or
HTTP CONNECT through a proxy), TLS with no client certificate and no chain or
host name checks, the presented thumbprint against the pinned one, then
``POST /handshake`` (Halibut) or a WebSocket opening request (wss://). Each
failure stops the probe with its `tentacle_ha.check._outcome.Stop`;
`tentacle_ha.check.check_poll` times it and turns it into a result.

`thumbprint` (re-exported by `tentacle_ha.check`) and `split_address` are
the thumbprint and address rules the probe and `tentacle_ha.check.PollTarget`
share; thumbprints compare with `tentacle_ha.servers.thumbprint_key`.
"""

from __future__ import annotations

import asyncio
import base64
import functools
import hashlib
import os
import socket
import ssl
import uuid
from typing import TYPE_CHECKING
from typing import Final
from typing import Protocol
from urllib.parse import urlsplit

from tentacle_ha.check._outcome import CheckStatus
from tentacle_ha.check._outcome import Outcome
from tentacle_ha.check._outcome import Stop
from tentacle_ha.check._outcome import connect_failure
from tentacle_ha.check._proxy import ProxyRefusedError
from tentacle_ha.check._proxy import connect_tunnel
from tentacle_ha.check._proxy import format_authority
from tentacle_ha.check._proxy import parse_status
from tentacle_ha.check._proxy import start_tls
from tentacle_ha.errors import InvalidValueError
from tentacle_ha.servers import thumbprint_key

if TYPE_CHECKING:
    from tentacle_ha.check._proxy import HttpProxy

__all__ = ["PollProbe", "split_address", "thumbprint"]

_HTTP_OK: Final = 200
_HTTP_BAD_REQUEST: Final = 400
_HTTP_NOT_FOUND: Final = 404
_HTTP_SERVER_ERROR: Final = 500
_HTTP_SWITCHING: Final = 101
_HALIBUT_ANSWERS: Final = frozenset({_HTTP_OK, _HTTP_BAD_REQUEST})
_DEFAULT_PORTS: Final = {"https": 443, "wss": 443}


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


def split_address(address: str) -> tuple[str, str, int]:
    """Scheme, host and port of a polling address; `InvalidValueError` if not one."""
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


def _closed_by_peer(exc: BaseException) -> bool:
    """Whether a failed handshake is the peer closing or resetting, not TLS.

    An end of stream or a reset while waiting for the server's first TLS
    record; an `ssl.SSLError` with a TLS reason (a bad record, an alert, a
    protocol or certificate problem) is a real TLS failure.
    """
    if isinstance(exc, ssl.SSLEOFError | ssl.SSLZeroReturnError):
        return True
    if isinstance(exc, ssl.SSLError):
        return getattr(exc, "reason", None) == "UNEXPECTED_EOF_WHILE_READING"
    return isinstance(exc, EOFError | ConnectionError)


class _Target(Protocol):
    """What the probe reads of a `tentacle_ha.check.PollTarget`."""

    @property
    def address(self) -> str: ...
    @property
    def thumbprint(self) -> str: ...
    @property
    def proxy(self) -> HttpProxy | None: ...


@functools.cache
def _pinning_context() -> ssl.SSLContext:
    # Halibut certificates are self-signed: trust comes from the pinned
    # thumbprint compared below, never from a chain or host name.
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context


async def _open(
    host: str, port: int, what: str
) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    loop = asyncio.get_running_loop()
    try:
        infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        reason = f"{host!r} does not resolve: {exc.strerror}"
        raise Stop(CheckStatus.DNS_ERROR, reason) from exc
    first: OSError | None = None
    for _family, _type, _proto, _name, sockaddr in infos:
        try:
            return await asyncio.open_connection(str(sockaddr[0]), port)
        except OSError as exc:
            first = first or exc
    assert first is not None  # noqa: S101  (getaddrinfo never returns an empty list)
    raise connect_failure(first, what) from first


class PollProbe:
    """One poll or WebSocket check: its stage, details and open stream."""

    def __init__(self, target: _Target) -> None:
        self.target = target
        self.scheme, self.host, self.port = split_address(target.address)
        self.stage = "DNS lookup"
        self.presented: str | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def run(self) -> Outcome:
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
        except Stop as stop:
            reason = stop.outcome.reason.removeprefix("proxy: ")
            reason = f"proxy {proxy.authority}: {reason}"
            raise Stop(CheckStatus.PROXY_ERROR, reason) from stop
        self.writer = writer
        self.stage = f"CONNECT through proxy {proxy.authority}"
        try:
            await connect_tunnel(reader, writer, proxy, self.host, self.port)
        except ProxyRefusedError as exc:
            raise Stop(CheckStatus.PROXY_ERROR, exc.reason, exc.status) from exc
        except OSError as exc:
            reason = f"proxy {proxy.authority} dropped the connection: {exc}"
            raise Stop(CheckStatus.PROXY_ERROR, reason) from exc
        return reader, writer

    @property
    def _authority(self) -> str:
        return format_authority(self.host, self.port)

    async def _tls(self, writer: asyncio.StreamWriter) -> None:
        self.stage = "TLS handshake"
        try:
            await start_tls(writer, _pinning_context(), server_hostname=self.host)
        except (OSError, EOFError) as exc:
            detail = getattr(exc, "reason", None) or str(exc) or type(exc).__name__
            if _closed_by_peer(exc):
                raise Stop(
                    CheckStatus.CLOSED_BY_PEER,
                    f"{self._authority} accepted the connection, then closed it "
                    f"without a TLS answer ({detail}): typically a load balancer "
                    "or NAT whose node behind it does not answer (comms port "
                    "closed, service down); not TLS interception, which would "
                    "present a certificate",
                ) from exc
            reason = f"TLS handshake with {self._authority} failed: {detail}"
            raise Stop(CheckStatus.TLS_ERROR, reason) from exc
        ssl_object = writer.get_extra_info("ssl_object")
        der = ssl_object.getpeercert(binary_form=True) if ssl_object else None
        if not der:
            raise Stop(CheckStatus.TLS_ERROR, "the far end presented no certificate")
        self.presented = thumbprint(der)

    def _compare_thumbprint(self) -> None:
        expected = thumbprint_key(self.target.thumbprint)
        if self.presented != expected:
            reason = (
                f"presented certificate {self.presented} is not the trusted "
                f"{expected or '(empty)'}: stale trust, or TLS interception"
            )
            raise Stop(CheckStatus.THUMBPRINT_MISMATCH, reason)

    async def _exchange(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, request: str
    ) -> tuple[int, str]:
        """Send one request head; return the response's status and status line."""
        writer.write(request.encode("latin-1"))
        try:
            await writer.drain()
            line = (await reader.readline()).decode("latin-1").rstrip("\r\n")
        except (OSError, ValueError) as exc:
            raise Stop(self._no_http_status, f"connection failed: {exc}") from exc
        if not line:
            raise Stop(
                self._no_http_status, "closed the connection without an HTTP answer"
            )
        status = parse_status(line)
        if status is None:
            raise Stop(self._no_http_status, f"answered {line[:60]!r}, not HTTP")
        return status, line

    @property
    def _no_http_status(self) -> CheckStatus:
        if self.scheme == "wss":
            return CheckStatus.HTTP_ERROR
        return CheckStatus.NOT_HALIBUT

    async def _handshake(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> Outcome:
        self.stage = "POST /handshake"
        request = (
            f"POST /handshake HTTP/1.1\r\nHost: {self._authority}\r\n"
            "Content-Length: 0\r\nConnection: close\r\n\r\n"
        )
        status, line = await self._exchange(reader, writer, request)
        if status not in _HALIBUT_ANSWERS:
            reason = f"POST /handshake answered {line!r}; Halibut answers 200 or 400"
            raise Stop(CheckStatus.NOT_HALIBUT, reason, status)
        return Outcome(
            CheckStatus.OK, f"Halibut listener, trusted certificate ({status})", status
        )

    async def _websocket(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> Outcome:
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
            raise Stop(CheckStatus.HTTP_ERROR, reason, status)
        if status == _HTTP_SWITCHING:
            reason = "WebSocket upgrade accepted, trusted certificate"
        else:
            reason = f"{path} answers ({line}), trusted certificate"
        return Outcome(CheckStatus.OK, reason, status)
