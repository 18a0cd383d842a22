"""Private: the value rules of Tentacle.config settings.

The keys tentacle_ha knows by name (`KEYS`) and the secret ones
(`SECRET_KEYS`); how keys compare (`fold`, .NET's OrdinalIgnoreCase) and sort
(`sort_key`, ordinal by UTF-16 code unit); the text Tentacle stores for a typed
value (`stored_text`: ``true``/``false``, digits, an empty element for None or
blank, checked and normalised for the keys of a known type); and reading
stored text back as .NET does (`parse_int`, `parse_bool`).

`tentacle_ha.config` re-exports `KEYS` and `SECRET_KEYS`.
The names other modules use have no leading underscore; the helpers only
this module uses keep theirs.
"""

from __future__ import annotations

import functools
import ipaddress
import re
from typing import TYPE_CHECKING
from typing import Final

from tentacle_ha._secret import Secret
from tentacle_ha.errors import InvalidValueError
from tentacle_ha.errors import TentacleHAError
from tentacle_ha.servers import TRUSTED_SERVERS_KEY
from tentacle_ha.servers import TrustedServers
from tentacle_ha.servers import normalize_thumbprint

if TYPE_CHECKING:
    from collections.abc import Callable

__all__ = [
    "KEYS",
    "SECRET_KEYS",
    "Value",
    "fold",
    "is_secret_key",
    "parse_bool",
    "parse_int",
    "sort_key",
    "stored_text",
]


class KEYS:
    """The Tentacle.config keys tentacle_ha knows by name."""

    HOME: Final = "Octopus.Home"
    APPLICATION_DIRECTORY: Final = "Tentacle.Deployment.ApplicationDirectory"
    PORT_NUMBER: Final = "Tentacle.Services.PortNumber"
    LISTEN_IP: Final = "Tentacle.Services.ListenIP"
    NO_LISTEN: Final = "Tentacle.Services.NoListen"
    TRUSTED_SERVERS: Final = TRUSTED_SERVERS_KEY
    POLLING_CONNECTION_COUNT: Final = "Tentacle.Communication.PollingConnectionCount"
    CERTIFICATE_THUMBPRINT: Final = "Tentacle.CertificateThumbprint"
    CERTIFICATE: Final = "Tentacle.Certificate"
    IS_REGISTERED: Final = "Tentacle.Services.IsRegistered"
    MASTER_KEY: Final = "Octopus.Storage.MasterKey"
    SQUID: Final = "Octopus.Communications.Squid"
    WEB_PROXY_PREFIX: Final = "Octopus.Proxy."
    POLLING_PROXY_PREFIX: Final = "Octopus.Server.Proxy."


SECRET_KEYS: Final = frozenset(
    {
        KEYS.CERTIFICATE,
        KEYS.WEB_PROXY_PREFIX + "ProxyPassword",
        KEYS.POLLING_PROXY_PREFIX + "ProxyPassword",
        KEYS.MASTER_KEY,
    }
)


@functools.lru_cache(maxsize=4096)
def fold(key: str) -> str:
    """Case folding as .NET's OrdinalIgnoreCase does it (simple upper case)."""
    if key.isascii():
        return key.upper()
    return "".join(c.upper() if len(c.upper()) == 1 else c for c in key)


SECRET_FOLDED: Final = frozenset(fold(k) for k in SECRET_KEYS)
"""The secret keys, folded (`fold`)."""


def is_secret_key(key: str) -> bool:
    """Whether *key* holds a secret (compared ignoring case)."""
    return fold(key) in SECRET_FOLDED


def sort_key(key: str) -> bytes:
    """Tentacle sorts keys ordinally, by UTF-16 code unit."""
    return key.encode("utf-16-be", "surrogatepass")


# -- typed values -----------------------------------------------------------

Value = str | int | bool | Secret | TrustedServers | None
"""What `stored_text` (and `TentacleConfig.set`) takes."""


def _stored_bool(text: str, key: str) -> str:
    folded = text.strip().lower()
    if folded not in {"true", "false"}:
        msg = f"{key} takes true or false, not {text!r}"
        raise InvalidValueError(msg)
    return folded


def _stored_int(text: str, key: str, low: int, high: int) -> str:
    stripped = text.strip()
    if not re.fullmatch(r"[+-]?\d+", stripped):
        msg = f"{key} takes a whole number, not {text!r}"
        raise InvalidValueError(msg)
    number = int(stripped)
    if not low <= number <= high:
        msg = f"{key} must be between {low} and {high}, not {number}"
        raise InvalidValueError(msg)
    return str(number)


def _stored_ip(text: str, key: str) -> str:
    stripped = text.strip()
    if stripped.lower() == "any":  # as `configure --listenIpAddress=any`
        return ""
    try:
        return str(ipaddress.ip_address(stripped))
    except ValueError:
        msg = f"{key} takes an IP address or 'any', not {text!r}"
        raise InvalidValueError(msg) from None


def _stored_servers(text: str, key: str) -> str:
    try:
        TrustedServers.from_json(text)
    except TentacleHAError as exc:
        msg = f"{key} must be a valid TrustedOctopusServers array: {exc.message}"
        raise InvalidValueError(msg) from None
    return text


_WINDOWS_PATH: Final = re.compile(r"^(?:[A-Za-z]:[\\/]|\\\\)")


def is_windows_path(text: str) -> bool:
    """A drive (``C:\\``, ``C:/``) or UNC (``\\\\server``) path: Windows's own."""
    return _WINDOWS_PATH.match(text) is not None


_PORT_MAX: Final = 65535
_POLLING_MAX: Final = 2**31 - 1

_NORMALISERS: Final[dict[str, Callable[[str, str], str]]] = {
    fold(KEYS.PORT_NUMBER): lambda t, k: _stored_int(t, k, 1, _PORT_MAX),
    fold(KEYS.NO_LISTEN): _stored_bool,
    fold(KEYS.LISTEN_IP): _stored_ip,
    fold(KEYS.POLLING_CONNECTION_COUNT): lambda t, k: _stored_int(
        t, k, 1, _POLLING_MAX
    ),
    fold(KEYS.CERTIFICATE_THUMBPRINT): lambda t, _k: normalize_thumbprint(t),
    fold(KEYS.TRUSTED_SERVERS): _stored_servers,
    fold(KEYS.IS_REGISTERED): _stored_bool,
    fold(KEYS.WEB_PROXY_PREFIX + "UseDefaultProxy"): _stored_bool,
    fold(KEYS.POLLING_PROXY_PREFIX + "UseDefaultProxy"): _stored_bool,
    fold(KEYS.WEB_PROXY_PREFIX + "ProxyPort"): lambda t, k: _stored_int(
        t, k, 0, _PORT_MAX
    ),
    fold(KEYS.POLLING_PROXY_PREFIX + "ProxyPort"): lambda t, k: _stored_int(
        t, k, 0, _PORT_MAX
    ),
}


def stored_text(key: str, value: Value) -> str:
    """The text Tentacle would store for *value* ("" = null, an empty element)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        text = "true" if value else "false"
    elif isinstance(value, int):
        text = str(value)
    elif isinstance(value, Secret):
        text = value.reveal()
    elif isinstance(value, TrustedServers):
        text = value.to_json()
    else:
        text = value
    if not text.strip():
        return ""  # Tentacle stores blank strings as null
    normalise = _NORMALISERS.get(fold(key))
    return normalise(text, key) if normalise else text


# -- reading stored text ---------------------------------------------------


def parse_int(text: str) -> int:
    """A stored whole number (optional sign, digits); ValueError otherwise."""
    stripped = text.strip()
    if not re.fullmatch(r"[+-]?\d+", stripped):
        raise ValueError(text)
    return int(stripped)


def parse_bool(text: str) -> bool:
    """A stored boolean, any case, like .NET ``bool.Parse``; ValueError otherwise."""
    folded = text.strip().lower()
    if folded not in {"true", "false"}:
        raise ValueError(text)
    return folded == "true"
