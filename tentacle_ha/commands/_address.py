"""Private: Tentacle's comms-address derivation, and reading URLs as .NET does.

`derive_comms_address` gives the ``Address`` Tentacle stores for a set of
``--server``, ``--server-comms-address``, ``--server-comms-port`` and
``--server-web-socket`` options (``RegisterMachineCommandBase.
GetActiveTentacleAddress``). `parse_url` refuses any URL whose host or port
Python and .NET ``Uri`` might read differently, so a derived address is the
one Tentacle would derive.
"""

from __future__ import annotations

import functools
import ipaddress
import re
from typing import Final
from urllib.parse import SplitResult
from urllib.parse import urlsplit

import attrs

from tentacle_ha.errors import CommandError
from tentacle_ha.servers import canonical_ipv6

__all__ = [
    "DEFAULT_COMMS_PORT",
    "DEFAULT_PORTS",
    "KEEP_PORTS",
    "check_port",
    "derive_comms_address",
    "parse_url",
    "web_socket_address",
]

DEFAULT_COMMS_PORT: Final = 10943
"""The Octopus Server comms (polling) port."""

_MAX_PORT: Final = 65535

_Schemes = tuple[tuple[str, int], ...]  # accepted schemes and their default ports
DEFAULT_PORTS: Final[_Schemes] = (("http", 80), ("https", 443))
_WEB_SOCKET_PORTS: Final[_Schemes] = (("https", 443), ("wss", 443))
KEEP_PORTS: Final[_Schemes] = (*DEFAULT_PORTS, ("wss", 443))
_NOT_URL_TEXT: Final = re.compile(r"[^!-~]")  # whitespace, controls, non-ASCII
_DNS_HOST: Final = re.compile(r"[a-z0-9_](?:[a-z0-9_.-]*[a-z0-9_.])?")
_NUMBER: Final = r"(?:0x[0-9a-f]*|[0-9]+)"
_NUMERIC_HOST: Final = re.compile(
    rf"{_NUMBER}(?:\.{_NUMBER})*\.?"
)  # .NET reads as IPv4
_BOTH: Final = (
    "Please specify a --server-web-socket, or a --server-comms-address - not both."
)


@attrs.frozen
class _Url:
    scheme: str  # lower case
    host: str  # as .NET Uri.Host gives it: lower case, IPv6 bracketed
    port: int  # explicit, else the scheme default
    parts: SplitResult


def _canonical_host(host: str, what: str) -> str:
    if ":" in host:
        if "%" in host:
            raise CommandError(f"{what}: IPv6 zone ids are not supported")
        text = canonical_ipv6(host)
        if text is None:  # pragma: no cover - urlsplit checks brackets (3.11.4+)
            raise CommandError(f"{what}: {host!r} is not an IPv6 address")
        return f"[{text}]"
    if _NUMERIC_HOST.fullmatch(host):
        try:
            return str(ipaddress.IPv4Address(host))
        except ValueError:
            raise CommandError(
                f"{what}: {host!r} is not a dotted-quad IPv4 address; "
                ".NET would read it differently"
            ) from None
    if not _DNS_HOST.fullmatch(host):
        raise CommandError(f"{what}: {host!r} is not a host name tentacle_ha accepts")
    return host


@functools.lru_cache(maxsize=1024)  # a plan parses the same few URLs many times
def parse_url(value: str, what: str, schemes: _Schemes) -> _Url:
    if _NOT_URL_TEXT.search(value):
        raise CommandError(f"{what}: {value!r} holds whitespace, controls or non-ASCII")
    if "\\" in value:
        raise CommandError(f"{what}: {value!r} holds a backslash")
    try:
        parts = urlsplit(value)
    except ValueError:  # urlsplit checks bracketed hosts itself
        raise CommandError(f"{what}: {value!r} is not an IPv6 address") from None
    scheme = parts.scheme.lower()
    defaults = dict(schemes)
    if scheme not in defaults or not parts.hostname:
        wanted = " or ".join(f"{s}://" for s, _ in schemes)
        raise CommandError(f"{what}: {value!r} is not an absolute {wanted} URL")
    try:
        port = parts.port
    except ValueError:
        raise CommandError(f"{what}: {value!r} has an invalid port") from None
    if port == 0:
        raise CommandError(f"{what}: {value!r} has port 0")
    host = _canonical_host(parts.hostname, what)
    return _Url(scheme, host, defaults[scheme] if port is None else port, parts)


def check_port(port: int, what: str) -> None:
    if isinstance(port, bool) or not 1 <= port <= _MAX_PORT:
        raise CommandError(f"{what}: {port!r} is not a port number (1-{_MAX_PORT})")


def web_socket_address(web_socket: str) -> str:
    try:
        url = parse_url(web_socket, "--server-web-socket", _WEB_SOCKET_PORTS)
    except CommandError as exc:
        if urlsplit(web_socket).scheme.lower() not in dict(_WEB_SOCKET_PORTS):
            raise CommandError("The websocket address must start with wss://") from exc
        raise
    if url.parts.username is not None:
        raise CommandError(
            "--server-web-socket: user info in the address is not supported"
        )
    if url.scheme == "wss":
        # Tentacle keeps the Uri it parsed; its OriginalString is what was typed.
        return web_socket
    # https -> wss via UriBuilder: canonical host, default port left out (inferred).
    port = "" if url.port == dict(_WEB_SOCKET_PORTS)["wss"] else f":{url.port}"
    query = f"?{url.parts.query}" if url.parts.query else ""
    fragment = f"#{url.parts.fragment}" if url.parts.fragment else ""
    return f"wss://{url.host}{port}{url.parts.path or '/'}{query}{fragment}"


def derive_comms_address(
    *,
    server: str | None,
    comms_address: str | None,
    comms_port: int | None,
    web_socket: str | None,
) -> str:
    """Return the trusted-server ``Address`` Tentacle derives from these options.

    The same rules as Tentacle's ``GetActiveTentacleAddress``: with a web
    socket, ``https://`` becomes ``wss://`` (``wss://`` is kept as given) and
    the port is ignored; otherwise the host comes from *comms_address*, else
    from *server*, and the port is *comms_port*, else the port of
    *comms_address* (its scheme default, 443 or 80, when it has none), else
    10943. The result is ``https://{host}:{port}``, with no trailing slash.

    Args:
        server: ``--server``, the Octopus Server's web address.
        comms_address: ``--server-comms-address``.
        comms_port: ``--server-comms-port``.
        web_socket: ``--server-web-socket``.

    Raises:
        CommandError: both a web socket and a comms address (Tentacle's own
            message), a web socket that is not https/wss ("The websocket
            address must start with wss://"), nothing to derive from, or a URL
            or port tentacle_ha cannot read exactly as .NET does.

    .. versionadded:: 0.1.0
    """
    if web_socket is not None and comms_address is not None:
        raise CommandError(_BOTH)
    if web_socket is not None:
        return web_socket_address(web_socket)
    if comms_port is not None:
        check_port(comms_port, "--server-comms-port")
    if comms_address is not None:
        url = parse_url(comms_address, "--server-comms-address", DEFAULT_PORTS)
        port = url.port if comms_port is None else comms_port
    elif server is not None:
        url = parse_url(server, "--server", DEFAULT_PORTS)
        port = DEFAULT_COMMS_PORT if comms_port is None else comms_port
    else:
        raise CommandError(
            "a polling address needs a server, a comms address or a web socket"
        )
    return f"https://{url.host}:{port}"
