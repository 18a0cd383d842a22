"""Private: the loopback server plumbing under the fakes.

`LoopThread` runs one asyncio loop on a daemon thread; `Listener` accepts on
a fixed port (and can refuse while keeping it); `Connections` tracks every
accepted connection so that a stop ends them all; `splice` copies bytes both
ways; `http_response` and `headers` write and read minimal HTTP. Used by
`tentacle_ha.testing` and by the test suite's HTTP proxy.

The names other modules use have no leading underscore; the helpers only
this module uses keep theirs.
"""

from __future__ import annotations

import asyncio
import socket
import threading
from typing import TYPE_CHECKING
from typing import Final
from typing import TypeVar

from tentacle_ha.check._proxy import WireError

if TYPE_CHECKING:
    from collections.abc import Awaitable
    from collections.abc import Callable
    from collections.abc import Coroutine
    from collections.abc import Sequence

    _Serve = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]
    _Accept = Callable[[asyncio.StreamReader, asyncio.StreamWriter], None]

__all__ = [
    "Connections",
    "Listener",
    "LoopThread",
    "headers",
    "http_response",
    "splice",
]

_T = TypeVar("_T")

#: Seconds a start, stop or mode switch may take before it is an error.
_CONTROL_TIMEOUT: Final = 30.0
#: Seconds a finished connection may take to close politely before it is cut.
_CLOSE_GRACE: Final = 2.0
#: Connections accepted at most per readiness event of a listening socket.
_ACCEPT_BURST: Final = 64
#: Loop turns for already-scheduled close callbacks to run before a loop stops.
_SETTLE_TURNS: Final = 5


class LoopThread:
    """One asyncio loop on one daemon thread; coroutines are run on it from outside."""

    def __init__(self, name: str) -> None:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._main, name=name, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def _main(self) -> None:
        asyncio.set_event_loop(self._loop)
        try:
            self._loop.run_forever()
        finally:
            leftover = asyncio.all_tasks(self._loop)
            for task in leftover:
                task.cancel()
            self._loop.run_until_complete(
                asyncio.gather(*leftover, return_exceptions=True)
            )
            self._loop.run_until_complete(self._loop.shutdown_asyncgens())
            self._loop.close()

    def call(self, coro: Coroutine[object, object, _T]) -> _T:
        future = asyncio.run_coroutine_threadsafe(coro, self._loop)
        return future.result(_CONTROL_TIMEOUT)

    def stop(self) -> None:
        self.call(_settle())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(_CONTROL_TIMEOUT)


async def _settle() -> None:
    """Give callbacks already scheduled (closing sockets) their turns."""
    for _ in range(_SETTLE_TURNS):
        await asyncio.sleep(0)


class Connections:
    """The connections of some listeners, so that stop can end every one of them.

    A connection is registered synchronously when it is accepted (asyncio
    calls a plain callback from ``connection_made``), so none can slip past a
    stop, even one whose handler task has not started yet.
    """

    def __init__(self) -> None:
        self._open: dict[asyncio.StreamWriter, asyncio.Task[None]] = {}

    def wrap(self, handler: _Serve) -> _Accept:
        async def run(
            reader: asyncio.StreamReader, writer: asyncio.StreamWriter
        ) -> None:
            try:
                await handler(reader, writer)
            except (OSError, EOFError, WireError):
                pass  # the client went away or sent garbage: that is its business
            finally:
                self._open.pop(writer, None)
                await _close(writer)

        def accept(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            self._open[writer] = asyncio.get_running_loop().create_task(
                run(reader, writer)
            )

        return accept

    async def cancel_all(self) -> None:
        while self._open:
            pending = dict(self._open)
            for task in pending.values():
                task.cancel()
            await asyncio.gather(*pending.values(), return_exceptions=True)
            for writer in pending:
                # A task cancelled before it ran never reached its finally.
                if self._open.pop(writer, None) is not None:
                    writer.transport.abort()


async def _close(writer: asyncio.StreamWriter) -> None:
    """Close politely (flushing what was written), cut after a grace period."""
    if writer.transport.is_closing():
        # Already closing, e.g. after a failed TLS handshake replaced the protocol.
        writer.transport.abort()
        return
    try:
        writer.close()
        async with asyncio.timeout(_CLOSE_GRACE):
            await writer.wait_closed()
    except (OSError, TimeoutError):
        pass
    finally:
        writer.transport.abort()


def _bound_socket(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    return sock


class Listener:
    """A TCP listener on a fixed port that can also refuse (bound, not listening).

    It accepts by itself rather than through `asyncio.start_server`: Python
    3.11 leaks the socket of a connection accepted just before
    ``Server.close()``. Here every accepted socket is either handed to the
    handler or closed, whenever the listener stops.
    """

    def __init__(self, host: str, handler: _Accept) -> None:
        self.host = host
        self.port = 0
        self._handler = handler
        self._sock: socket.socket | None = None
        self._held: socket.socket | None = None
        self._pending: dict[socket.socket, asyncio.Task[None]] = {}

    async def listen(self) -> None:
        if self._sock is not None:
            return
        sock = self._held or _bound_socket(self.host, self.port)
        self._held = None
        self.port = sock.getsockname()[1]
        sock.listen(128)
        sock.settimeout(0)  # non-blocking
        self._sock = sock
        loop = asyncio.get_running_loop()
        loop.add_reader(sock.fileno(), self._on_readable, loop, sock)

    def _protocol(self) -> asyncio.StreamReaderProtocol:
        return asyncio.StreamReaderProtocol(asyncio.StreamReader(), self._handler)

    def _on_readable(
        self, loop: asyncio.AbstractEventLoop, sock: socket.socket
    ) -> None:
        for _ in range(_ACCEPT_BURST):
            try:
                conn, _address = sock.accept()
            except OSError:  # nothing left (or out of descriptors): wait for more
                return
            conn.settimeout(0)
            conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            self._pending[conn] = loop.create_task(self._connect(loop, conn))

    async def _connect(
        self, loop: asyncio.AbstractEventLoop, conn: socket.socket
    ) -> None:
        try:
            await loop.connect_accepted_socket(self._protocol, conn)
        except OSError:
            conn.close()
        finally:
            self._pending.pop(conn, None)

    async def refuse(self) -> None:
        """Stop accepting but keep the port, so that connecting is refused."""
        if self._held is not None:
            return
        await self.close()
        self._held = _bound_socket(self.host, self.port)
        self.port = self._held.getsockname()[1]

    async def close(self) -> None:
        if self._sock is not None:
            asyncio.get_running_loop().remove_reader(self._sock.fileno())
            self._sock.close()
            self._sock = None
        tasks = list(self._pending.values())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        for conn in list(self._pending):  # cancelled before they ran
            conn.close()
        self._pending.clear()
        if self._held is not None:
            self._held.close()
            self._held = None


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
        if writer.can_write_eof():
            writer.write_eof()
    except OSError:
        writer.transport.abort()


async def splice(
    client: tuple[asyncio.StreamReader, asyncio.StreamWriter],
    upstream: tuple[asyncio.StreamReader, asyncio.StreamWriter],
) -> None:
    """Copy bytes both ways until both directions are done; then close upstream."""
    try:
        await asyncio.gather(
            _pipe(client[0], upstream[1]), _pipe(upstream[0], client[1])
        )
    finally:
        await _close(upstream[1])


def http_response(
    status: str,
    body: bytes,
    content_type: str,
    *,
    version: str = "HTTP/1.1",
    extra: Sequence[str] = (),
) -> bytes:
    lines = [
        f"{version} {status}",
        f"Content-Type: {content_type}",
        f"Content-Length: {len(body)}",
        *extra,
    ]
    if version == "HTTP/1.1":
        lines.append("Connection: close")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


def headers(head: Sequence[str]) -> dict[str, str]:
    fields: dict[str, str] = {}
    for line in head[1:]:
        name, _, value = line.partition(":")
        fields[name.strip().lower()] = value.strip()
    return fields
