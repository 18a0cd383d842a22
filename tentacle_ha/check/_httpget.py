"""Private: one GET over httpx, with its failures classed as check statuses.

`http_get` makes the request the registration and node-health checks
(`tentacle_ha.check.check_api`, `check_node`) need: through the target's proxy
only (never the environment's), no redirects, one timeout; any transport
failure, and a 407 from the proxy, stops the check with its
`tentacle_ha.check._outcome.Stop`. `json_object` reads a body that should be a JSON
object.
"""

from __future__ import annotations

import socket
import ssl
from typing import TYPE_CHECKING
from typing import Final

import httpx

from tentacle_ha.check._outcome import CheckStatus
from tentacle_ha.check._outcome import Stop
from tentacle_ha.check._outcome import connect_failure

if TYPE_CHECKING:
    from collections.abc import Iterable
    from collections.abc import Mapping

    from tentacle_ha.check._proxy import HttpProxy

__all__ = ["http_get", "json_object"]

_HTTP_PROXY_AUTH: Final = 407
#: The most of an answer that is read: Octopus's root document and a page of
#: nodes are a few KB; anything this large is not an Octopus answer.
MAX_BODY: Final = 8 * 2**20
_DECODED_AWAY: Final = frozenset({"content-encoding", "content-length"})
# The far end accepted the connection, then closed or reset it unanswered.
_CLOSED: Final = (ssl.SSLEOFError, ssl.SSLZeroReturnError, ConnectionError, EOFError)
_CLOSED_TEXT: Final = (
    "accepted the connection, then closed it without answering (typically a "
    "load balancer whose node behind it does not answer)"
)


def _causes(exc: BaseException) -> Iterable[BaseException]:
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__


def _httpx_failure(exc: httpx.HTTPError, *, proxied: bool) -> Stop:
    chain = list(_causes(exc))
    text = next((str(e) for e in chain if str(e)), type(exc).__name__)
    connect = isinstance(exc, httpx.ConnectError)
    closed = not proxied and (
        any(
            isinstance(e, _CLOSED) and not isinstance(e, ConnectionRefusedError)
            for e in chain
        )
        or (
            isinstance(exc, httpx.RemoteProtocolError)
            and "without sending a response" in text
        )
    )
    rules = (
        (isinstance(exc, httpx.ProxyError), CheckStatus.PROXY_ERROR, "proxy"),
        (isinstance(exc, httpx.TimeoutException), CheckStatus.TIMEOUT, "timed out"),
        (closed, CheckStatus.CLOSED_BY_PEER, _CLOSED_TEXT),
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
            return Stop(status, f"{what}: {text}")
    # anyio wraps the per-address errors in a plain OSError: use the innermost
    # one that carries an errno.
    os_errors = [e for e in chain if isinstance(e, OSError)]
    with_errno = [e for e in os_errors if e.errno is not None]
    if os_errors:
        return connect_failure((with_errno or os_errors)[-1], "connect")
    return Stop(CheckStatus.UNREACHABLE, f"connect failed: {text}")


async def http_get(
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
        async with client, client.stream("GET", url, headers=dict(headers)) as got:
            body = await _capped_body(got)
            # The body is decoded already: the copy must not decode it again.
            kept = [
                (name, value)
                for name, value in got.headers.multi_items()
                if name.lower() not in _DECODED_AWAY
            ]
            response = httpx.Response(
                got.status_code, headers=kept, content=body, request=got.request
            )
    except httpx.HTTPError as exc:
        raise _httpx_failure(exc, proxied=proxy is not None) from exc
    if proxy is not None and response.status_code == _HTTP_PROXY_AUTH:
        raise Stop(
            CheckStatus.PROXY_ERROR,
            f"proxy {proxy.authority} wants other credentials (407)",
            _HTTP_PROXY_AUTH,
        )
    return response


async def _capped_body(response: httpx.Response) -> bytes:
    """The decoded body, refused past `MAX_BODY` (a server is not trusted to
    be small; counted after gzip/deflate, so a compression bomb stops too)."""
    chunks: list[bytes] = []
    size = 0
    async for chunk in response.aiter_bytes():
        size += len(chunk)
        if size > MAX_BODY:
            raise Stop(
                CheckStatus.HTTP_ERROR,
                f"the answer is larger than {MAX_BODY // 2**20} MiB; not read further",
                response.status_code,
            )
        chunks.append(chunk)
    return b"".join(chunks)


def json_object(response: httpx.Response) -> dict[str, object] | None:
    """The body as a JSON object, or None: not JSON, not an object, or nested
    deeper than the JSON decoder's recursion allows (a hostile answer)."""
    try:
        body = response.json()
    except (ValueError, RecursionError):
        return None
    return body if isinstance(body, dict) else None
