"""The TLS upgrade helper survives CPython 3.11 dropping the transport."""

from __future__ import annotations

import asyncio
import gc
import ssl

import pytest

from tentacle_ha.check._proxy import start_tls


@pytest.mark.parametrize("fails", [False, True])
def test_lost_transport_is_restored_and_reported(*, fails: bool) -> None:
    """A start_tls that leaves the writer without a transport raises, cleanly."""

    async def scenario() -> None:
        server = await asyncio.start_server(lambda _r, w: w.close(), "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        _reader, writer = await asyncio.open_connection("127.0.0.1", port)
        original = writer.transport

        async def dropping(*_args: object, **_kwargs: object) -> None:
            # What CPython 3.11 does when the peer leaves as the handshake ends:
            # the writer gets no transport, and reading it may then fail too.
            writer._transport = None  # type: ignore[attr-defined]
            if fails:
                msg = "'NoneType' object has no attribute 'get_extra_info'"
                raise AttributeError(msg)

        writer.start_tls = dropping  # type: ignore[method-assign]
        with pytest.raises(ConnectionResetError, match="lost during the TLS"):
            await start_tls(writer, ssl.create_default_context())
        assert writer.transport is original
        writer.close()
        server.close()
        await server.wait_closed()

    asyncio.run(scenario())
    gc.collect()  # no "exception ignored" in StreamWriter.__del__ (warnings=error)


def test_normal_upgrade_passes_through() -> None:
    """Without the race, the helper is writer.start_tls (here: a refused handshake)."""

    async def scenario() -> None:
        server = await asyncio.start_server(lambda _r, w: w.close(), "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        _reader, writer = await asyncio.open_connection("127.0.0.1", port)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        with pytest.raises((OSError, EOFError)):
            await start_tls(writer, context, server_hostname="127.0.0.1")
        writer.transport.abort()
        server.close()
        await server.wait_closed()

    asyncio.run(scenario())
