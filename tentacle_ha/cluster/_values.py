"""Private: the value checks of a cluster file.

Each ``as_*`` function takes one value as `tomllib` read it and returns it
checked and converted (a string, a port, a host and port, an enum member), or
raises `BadValueError` with what is wrong; the reader adds the key and the
position. Hosts are DNS names, IPv4 or IPv6 addresses; URLs carry no user
name, password, query or fragment.

The names other modules use have no leading underscore; the helpers only
this module uses keep theirs.
"""

from __future__ import annotations

import enum
import ipaddress
import re
import unicodedata
from typing import TYPE_CHECKING
from typing import Final
from typing import TypeVar

from tentacle_ha.errors import InvalidValueError
from tentacle_ha.servers import canonical_ipv6
from tentacle_ha.servers import normalize_thumbprint

if TYPE_CHECKING:
    from collections.abc import Callable

__all__ = [
    "MAX_PORT",
    "BadValueError",
    "as_endpoint",
    "as_enum",
    "as_node_name",
    "as_port",
    "as_text",
    "as_text_list",
    "as_thumbprint",
    "as_url",
    "as_websocket",
    "host_key",
    "type_name",
]

_E = TypeVar("_E", bound=enum.StrEnum)


class BadValueError(ValueError):
    """A value is wrong; the reader adds the position."""


MAX_PORT: Final = 65535
_MAX_HOST: Final = 253
_NODE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,62}")
_DNS_LABEL = re.compile(r"[A-Za-z0-9_]([A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?")
_TOML_TYPES: Final = {
    str: "a string",
    int: "an integer",
    bool: "a boolean",
    float: "a float",
    list: "an array",
    dict: "a table",
}


def type_name(value: object) -> str:
    return _TOML_TYPES.get(type(value), "a date or time")


def as_text(value: object) -> str:
    if not isinstance(value, str):
        raise BadValueError(f"must be a string, not {type_name(value)}")
    if not value:
        raise BadValueError("must not be empty")
    if value != value.strip():
        raise BadValueError(f"must not start or end with blanks: {value!r}")
    for char in value:
        if unicodedata.category(char) == "Cc":
            raise BadValueError(f"must not contain control characters: {value!r}")
    return value


def as_text_list(value: object) -> tuple[str, ...]:
    if not isinstance(value, list):
        raise BadValueError(f"must be an array of strings, not {type_name(value)}")
    items: list[str] = []
    seen: set[str] = set()
    for item in value:
        text = as_text(item)
        if text.lower() in seen:
            raise BadValueError(f"lists {text!r} twice")
        seen.add(text.lower())
        items.append(text)
    return tuple(items)


def as_port(value: object) -> int:
    if not isinstance(value, int) or isinstance(value, bool):
        raise BadValueError(f"must be an integer, not {type_name(value)}")
    if not 1 <= value <= MAX_PORT:
        raise BadValueError(f"port {value} is outside 1-65535")
    return value


def as_node_name(value: object) -> str:
    text = as_text(value)
    if not _NODE_NAME.fullmatch(text):
        msg = (
            f"{text!r} is not a valid node name "
            "(up to 63 letters, digits, '.', '_', '-'; starting with a letter or digit)"
        )
        raise BadValueError(msg)
    return text


def as_enum(cls: type[_E]) -> Callable[[object], _E]:
    def convert(value: object) -> _E:
        text = as_text(value)
        for member in cls:
            if member.value.lower() == text.lower():
                return member
        choices = ", ".join(member.value for member in cls)
        raise BadValueError(f"{text!r} is not one of {choices}")

    return convert


def as_thumbprint(value: object) -> str:
    text = as_text(value)
    try:
        return normalize_thumbprint(text)
    except InvalidValueError:
        msg = f"{text!r} is not a SHA-1 thumbprint (40 hex digits)"
        raise BadValueError(msg) from None


def _host(text: str) -> str:
    if ":" in text:
        if "%" in text:
            raise BadValueError(f"IPv6 zone IDs are not supported: {text!r}")
        try:
            ipaddress.IPv6Address(text)
        except ValueError:
            raise BadValueError(f"{text!r} is not a valid IPv6 address") from None
        return text
    if re.fullmatch(r"[0-9.]+", text):
        try:
            ipaddress.IPv4Address(text)
        except ValueError:
            raise BadValueError(f"{text!r} is not a valid IPv4 address") from None
        return text
    labels = text.split(".")
    if len(text) > _MAX_HOST or not all(
        _DNS_LABEL.fullmatch(label) for label in labels
    ):
        raise BadValueError(f"{text!r} is not a valid host name")
    return text


def host_key(host: str) -> str:
    """The form of *host* two equal hosts share (case, IPv6 spelling)."""
    return canonical_ipv6(host) or host.lower()


def _hostport(text: str) -> tuple[str, int | None]:
    """Split ``host``, ``host:port``, ``[v6]`` or ``[v6]:port``; bare v6: no port."""
    port_text: str | None = None
    if text.startswith("["):
        host, bracket, rest = text[1:].partition("]")
        if not bracket or ":" not in host:
            raise BadValueError(f"{text!r}: brackets are for IPv6 addresses only")
        if rest:
            if not rest.startswith(":"):
                raise BadValueError(f"{text!r} is not host[:port]")
            port_text = rest[1:]
    elif text.count(":") == 1:
        host, _, port_text = text.partition(":")
    else:
        host = text
    if port_text is None:
        return _host(host), None
    if not port_text.isdigit() or not port_text.isascii():
        raise BadValueError(f"{text!r}: the port must be a number")
    return _host(host), as_port(int(port_text))


def _split_url(text: str) -> tuple[str, str, str]:
    """Split an absolute URL into (scheme, authority, rest); refuse credentials."""
    match = re.fullmatch(r"([A-Za-z][A-Za-z0-9+.-]*)://([^/?#]*)(.*)", text)
    if match is None:
        raise BadValueError(f"{text!r} is not an absolute URL")
    scheme, authority, rest = match.groups()
    if "@" in authority:
        raise BadValueError("must not hold a user name or password")
    if "?" in rest or "#" in rest:
        raise BadValueError(f"{text!r}: a query or fragment is not allowed here")
    return scheme.lower(), authority, rest


def as_url(value: object) -> str:
    """An http(s) URL with a valid host; returned as written."""
    text = as_text(value)
    scheme, authority, _ = _split_url(text)
    if scheme not in {"http", "https"}:
        raise BadValueError(f"{text!r} must be an http:// or https:// URL")
    _hostport(authority)
    if " " in text:
        raise BadValueError(f"{text!r} must not contain spaces")
    return text


def as_websocket(value: object) -> str:
    text = as_text(value)
    scheme, authority, rest = _split_url(text)
    if scheme not in {"wss", "https"}:
        # Tentacle's own message for this mistake.
        raise BadValueError("The websocket address must start with wss://")
    _hostport(authority)
    if " " in rest:
        raise BadValueError(f"{text!r} must not contain spaces")
    return f"wss://{authority}{rest}"


def as_endpoint(value: object) -> tuple[str, int | None]:
    """``host``, ``host:port`` or ``https://host[:port][/]`` -> (host, port)."""
    text = as_text(value)
    if "://" not in text:
        return _hostport(text)
    scheme, authority, rest = _split_url(text)
    if scheme == "http":
        msg = "Tentacle polls over TLS: a comms address is https://, not http://"
        raise BadValueError(msg)
    if scheme != "https":
        raise BadValueError(
            f"{text!r}: a comms address is host[:port] or https://host:port"
        )
    if rest not in {"", "/"}:
        raise BadValueError(f"{text!r}: a comms address has no path")
    return _hostport(authority)
