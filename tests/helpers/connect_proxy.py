"""A small HTTP proxy on loopback for the proxy tests: CONNECT tunnels and forwarding.

It speaks just enough HTTP/1.1: ``CONNECT host:port`` opens a tunnel (what
Halibut's polling client and httpx use for https), an absolute-form request
(``GET http://host:port/path``) is forwarded once (what httpx uses for plain
http). With a username it demands ``Proxy-Authorization: Basic`` and answers
407 otherwise; an unreachable upstream gets 502. It runs on the same background
loop plumbing as `tentacle_ha.testing` (`tentacle_ha.testing._loopback`), so it starts
and stops as cleanly.
"""

from __future__ import annotations

import asyncio
import base64
from urllib.parse import urlsplit

from tentacle_ha._secret import Secret
from tentacle_ha.check._proxy import HttpProxy
from tentacle_ha.check._proxy import format_authority
from tentacle_ha.check._proxy import read_head
from tentacle_ha.testing._fakes import _Service
from tentacle_ha.testing._loopback import Connections
from tentacle_ha.testing._loopback import Listener
from tentacle_ha.testing._loopback import LoopThread
from tentacle_ha.testing._loopback import headers
from tentacle_ha.testing._loopback import http_response
from tentacle_ha.testing._loopback import splice

__all__ = ["ConnectProxy"]


class ConnectProxy(_Service):
    """An HTTP proxy on 127.0.0.1, optionally demanding Basic credentials."""

    def __init__(self, *, username: str | None = None, password: str = "") -> None:
        self.username = username
        self.password = password
        self.requests: list[str] = []
        self._connections = Connections()
        self._runner: LoopThread | None = None
        self._listener = Listener("127.0.0.1", self._connections.wrap(self._serve))

    def _is_running(self) -> bool:
        return self._runner is not None

    def _start(self) -> None:
        self._runner = LoopThread("tests.helpers.connect_proxy")
        self._runner.start()
        self._runner.call(self._listener.listen())

    def stop(self) -> None:
        """Stop listening, end every tunnel and the thread."""
        runner = self._runner
        if runner is None:
            return
        runner.call(self._astop())
        runner.stop()
        self._runner = None

    async def _astop(self) -> None:
        await self._listener.close()
        await self._connections.cancel_all()

    @property
    def port(self) -> int:
        """The port the proxy listens on."""
        return self._listener.port

    def proxy(
        self, *, username: str | None = None, password: str | None = None
    ) -> HttpProxy:
        """An `HttpProxy` for this proxy, with the given (or no) credentials."""
        secret = None if password is None else Secret(password)
        return HttpProxy(
            host="127.0.0.1", port=self.port, username=username, password=secret
        )

    def _authorised(self, fields: dict[str, str]) -> bool:
        if self.username is None:
            return True
        raw = f"{self.username}:{self.password}".encode()
        expected = "Basic " + base64.b64encode(raw).decode("ascii")
        return fields.get("proxy-authorization") == expected

    async def _serve(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        head = await read_head(reader)
        if not head:
            return
        method, target, _version = head[0].split(" ", 2)
        fields = headers(head)
        if not self._authorised(fields):
            writer.write(
                http_response(
                    "407 Proxy Authentication Required",
                    b"",
                    "text/plain",
                    extra=('Proxy-Authenticate: Basic realm="tests"',),
                )
            )
            await writer.drain()
            return
        self.requests.append(f"{method} {target}")
        if method == "CONNECT":
            host, _, port = target.rpartition(":")
            first = b"HTTP/1.1 200 Connection established\r\n\r\n"
            upstream = (host.strip("[]"), int(port))
            await self._relay((reader, writer), upstream, to_client=first)
            return
        parts = urlsplit(target)
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        kept = [
            line
            for line in head[1:]
            if not line.lower().startswith(
                ("proxy-authorization:", "proxy-connection:")
            )
        ]
        request = "\r\n".join([f"{method} {path} {_version}", *kept]) + "\r\n\r\n"
        upstream = (parts.hostname or "", parts.port or 80)
        await self._relay(
            (reader, writer), upstream, to_upstream=request.encode("latin-1")
        )

    async def _relay(
        self,
        client: tuple[asyncio.StreamReader, asyncio.StreamWriter],
        upstream: tuple[str, int],
        *,
        to_client: bytes = b"",
        to_upstream: bytes = b"",
    ) -> None:
        """Connect upstream, send the first bytes each way, then copy both ways."""
        try:
            up_reader, up_writer = await asyncio.open_connection(*upstream)
        except OSError:
            message = f"cannot reach {format_authority(*upstream)}".encode()
            client[1].write(http_response("502 Bad Gateway", message, "text/plain"))
            await client[1].drain()
            return
        client[1].write(to_client)
        up_writer.write(to_upstream)
        await splice(client, (up_reader, up_writer))
