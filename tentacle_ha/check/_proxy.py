"""Private: HTTP/1.x wire helpers, the HTTP CONNECT tunnel, and a safe TLS upgrade.

Shared by the connectivity checks (client side) and `tentacle_ha.testing` (the
fake servers), so that both read a request or response head the same way: lines
up to an empty line, ``\\r`` ignored, as Halibut's listener does.
"""

from __future__ import annotations

import base64
import re
from typing import TYPE_CHECKING
from typing import Final

import attrs
import httpx

if TYPE_CHECKING:
    import asyncio
    import ssl

    from tentacle_ha._secret import Secret

__all__ = [
    "HEAD_LIMIT",
    "HttpProxy",
    "ProxyRefusedError",
    "WireError",
    "connect_tunnel",
    "format_authority",
    "parse_status",
    "read_head",
    "start_tls",
]

#: Halibut's listener reads at most 20000 characters of a request head.
HEAD_LIMIT: Final = 20_000

_STATUS_LINE: Final = re.compile(r"HTTP/1\.[01] ([0-9]{3})(?: |$)")


class WireError(ValueError):
    """A request or response head is too long or is not text we can read."""


class ProxyRefusedError(Exception):
    """The proxy did not open the tunnel; ``status`` is its HTTP status, if any."""

    def __init__(self, reason: str, status: int | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.status = status


def format_authority(host: str, port: int) -> str:
    """Return ``host:port``, with an IPv6 literal in brackets."""
    if ":" in host and not host.startswith("["):
        return f"[{host}]:{port}"
    return f"{host}:{port}"


def _password_text(password: Secret | None) -> str:
    return "" if password is None else password.reveal()


@attrs.frozen(kw_only=True)
class HttpProxy:
    """An HTTP proxy, as ``Octopus.Proxy.*`` or ``Octopus.Server.Proxy.*`` set it.

    The password is a `Secret`: it is left out of ``repr()`` and only revealed to
    build the ``Proxy-Authorization`` header sent to the proxy itself.

    Args:
        host: host name or IP address of the proxy.
        port: TCP port (Tentacle stores 80 when ``--proxyPort`` is empty).
        username: user for Basic authentication; no authentication when None.
        password: the password for ``username``.

    .. versionadded:: 0.1.0
    """

    host: str
    port: int = 80
    username: str | None = None
    password: Secret | None = attrs.field(default=None, repr=False)

    @property
    def authority(self) -> str:
        """``host:port`` of the proxy (no credentials)."""
        return format_authority(self.host, self.port)

    def authorization(self) -> str | None:
        """The ``Proxy-Authorization`` header value, or None without a username.

        This reveals the password on purpose: it is sent to the proxy only.
        """
        if self.username is None:
            return None
        raw = f"{self.username}:{_password_text(self.password)}".encode()
        return "Basic " + base64.b64encode(raw).decode("ascii")

    def to_httpx(self) -> httpx.Proxy:
        """The same proxy for httpx (credentials passed apart from the URL)."""
        auth = None
        if self.username is not None:
            auth = (self.username, _password_text(self.password))
        return httpx.Proxy(f"http://{self.authority}", auth=auth)


async def read_head(
    reader: asyncio.StreamReader, *, limit: int = HEAD_LIMIT
) -> list[str]:
    """Read lines up to an empty line; return them without line ends.

    A lone ``\\n`` ends a line as well as ``\\r\\n``. The text is decoded as
    Latin-1, so any byte sequence reads. An empty list means the very first line
    was empty.

    Raises:
        EOFError: the stream ended before the empty line.
        WireError: the head is longer than ``limit`` characters.
    """
    lines: list[str] = []
    total = 0
    while True:
        try:
            raw = await reader.readline()
        except ValueError as exc:  # asyncio's LimitOverrunError surfaces as this
            raise WireError("head line too long") from exc
        if not raw.endswith(b"\n"):
            raise EOFError("stream ended inside a head")
        total += len(raw)
        if total > limit:
            raise WireError(f"head longer than {limit} characters")
        line = raw.decode("latin-1").rstrip("\r\n")
        if not line:
            return lines
        lines.append(line)


def parse_status(line: str) -> int | None:
    """Return the status code of an ``HTTP/1.x NNN reason`` line, else None."""
    match = _STATUS_LINE.match(line)
    return int(match.group(1)) if match else None


async def connect_tunnel(
    reader: asyncio.StreamReader,
    writer: asyncio.StreamWriter,
    proxy: HttpProxy,
    host: str,
    port: int,
) -> None:
    """Ask the proxy on this stream to open a tunnel to ``host:port``.

    Raises:
        ProxyRefusedError: the proxy answered with anything but 2xx, closed the
            connection or answered something that is not HTTP.
        OSError: the connection to the proxy failed.
    """
    authority = format_authority(host, port)
    lines = [f"CONNECT {authority} HTTP/1.1", f"Host: {authority}"]
    credentials = proxy.authorization()
    if credentials is not None:
        lines.append(f"Proxy-Authorization: {credentials}")
    writer.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"))
    await writer.drain()
    try:
        head = await read_head(reader)
    except (EOFError, WireError) as exc:
        raise ProxyRefusedError(f"proxy {proxy.authority}: {exc}") from exc
    status = parse_status(head[0]) if head else None
    if status is None:
        raise ProxyRefusedError(f"proxy {proxy.authority} did not answer with HTTP")
    if not 200 <= status < 300:  # noqa: PLR2004  (the 2xx range)
        raise ProxyRefusedError(
            f"proxy {proxy.authority} refused CONNECT {authority}: {head[0]}",
            status,
        )


async def start_tls(
    writer: asyncio.StreamWriter,
    context: ssl.SSLContext,
    *,
    server_hostname: str | None = None,
) -> None:
    """``writer.start_tls`` that survives a peer leaving right after the handshake.

    On CPython 3.11, when the connection is lost just as the handshake ends,
    the upgrade hands back no transport: the writer is left holding None and
    ``start_tls`` itself may fail with an AttributeError reading it; later the
    writer's ``__del__`` fails the same way, surfacing as an "exception
    ignored" message. Here the writer keeps its old (closed) transport and the
    loss is raised as a `ConnectionResetError`.
    """
    transport = writer.transport
    try:
        await writer.start_tls(context, server_hostname=server_hostname)
    except AttributeError:
        # 3.11 goes on to read the missing transport and fails right there.
        lost: object = writer.transport
        if lost is not None:
            raise
    upgraded: object = writer.transport  # typed as never None; it can be
    if upgraded is None:
        # Put back what start_tls dropped, so the writer can be collected.
        setattr(writer, "_transport", transport)  # noqa: B010 -- a private slot
        msg = "the connection was lost during the TLS handshake"
        raise ConnectionResetError(msg)
