"""One trusted server: `TrustedServer`, `CommunicationStyle`, thumbprints and addresses.

The entry-level rules of Tentacle's ``TrustedOctopusServers`` array: what one
entry holds, how thumbprints are normalised and compared (ignoring case, unlike
Tentacle's polling client), how addresses are compared (as Tentacle compares
URIs), and how a new ``SubscriptionId`` is made. The array itself is
`tentacle_ha.servers.TrustedServers`.

.. versionadded:: 0.1.0
"""

from __future__ import annotations

import enum
import functools
import ipaddress
import json
import math
import re
from typing import TYPE_CHECKING
from typing import Any
from typing import Final
from urllib.parse import urlsplit

import attrs

from tentacle_ha import _lazy
from tentacle_ha.errors import InvalidValueError

if TYPE_CHECKING:
    import secrets
else:
    secrets = _lazy.module("secrets")  # random and hmac only when an ID is drawn

__all__ = [
    "SUBSCRIPTION_ALPHABET",
    "TRUSTED_SERVERS_KEY",
    "CommunicationStyle",
    "TrustedServer",
    "address_key",
    "canonical_address",
    "canonical_ipv6",
    "generate_subscription_id",
    "is_valid_thumbprint",
    "normalize_thumbprint",
    "same_address",
    "thumbprint_key",
]

TRUSTED_SERVERS_KEY: Final = "Tentacle.Communication.TrustedOctopusServers"

# Tentacle's RandomStringGenerator alphabet is the 32 characters
# ``ABCDEFGHJKLMNPQRSTUVWXYZ23456789`` (no I or O), lower-cased. Its index is
# ``byte % 31 + 1``, so the first letter ``A`` is never chosen: the effective
# alphabet is the last 31 characters, ``l`` included (PollingSubscriptionId.cs,
# RandomStringGenerator.cs; pattern ``^poll://[b-hj-np-z2-9]{20}/$``).
SUBSCRIPTION_ALPHABET: Final = "bcdefghjklmnpqrstuvwxyz23456789"
_SUBSCRIPTION_LENGTH: Final = 20


class CommunicationStyle(enum.IntEnum):
    """How Octopus talks to a machine (Octopus.Client 22.3.2857 numbering).

    Tentacle always writes the number; it also reads the member name.

    .. versionadded:: 0.1.0
    """

    NONE = 0
    TENTACLE_PASSIVE = 1  # listening
    TENTACLE_ACTIVE = 2  # polling
    SSH = 3
    OFFLINE_DROP = 4
    AZURE_WEB_APP = 5
    FTP = 6
    AZURE_CLOUD_SERVICE = 7
    AZURE_SERVICE_FABRIC_CLUSTER = 8
    KUBERNETES = 9
    STEP_PACKAGE = 10
    KUBERNETES_TENTACLE = 11
    AWS_ECS_CLUSTER = 12

    @property
    def octopus_name(self) -> str:
        """The .NET member name, e.g. ``TentacleActive``."""
        return _OCTOPUS_NAMES[self]

    @classmethod
    def parse(cls, value: object, *, aliases: bool = False) -> CommunicationStyle:
        """Read a style as Tentacle does: a number, a member name, or null (None).

        Member names are case-sensitive, as .NET's ``Enum.Parse`` is; a string
        of digits is read as the number. With *aliases*, the command-line
        spellings ``polling``/``active`` and ``listening``/``passive`` (any
        case) are accepted too.

        Raises:
            ValueError: anything else.
        """
        if value is None:
            return cls.NONE
        if isinstance(value, int) and not isinstance(value, bool):
            return cls(value)
        if isinstance(value, str):
            text = value.strip()
            if text.lstrip("-").isdigit():
                return cls(int(text))
            by_name = _BY_OCTOPUS_NAME.get(text)
            if by_name is None and aliases:
                by_name = _ALIASES.get(text.lower())
            if by_name is not None:
                return by_name
        msg = f"not a CommunicationStyle: {value!r}"
        raise ValueError(msg)


_OCTOPUS_NAMES: Final = {
    CommunicationStyle.NONE: "None",
    CommunicationStyle.TENTACLE_PASSIVE: "TentaclePassive",
    CommunicationStyle.TENTACLE_ACTIVE: "TentacleActive",
    CommunicationStyle.SSH: "Ssh",
    CommunicationStyle.OFFLINE_DROP: "OfflineDrop",
    CommunicationStyle.AZURE_WEB_APP: "AzureWebApp",
    CommunicationStyle.FTP: "Ftp",
    CommunicationStyle.AZURE_CLOUD_SERVICE: "AzureCloudService",
    CommunicationStyle.AZURE_SERVICE_FABRIC_CLUSTER: "AzureServiceFabricCluster",
    CommunicationStyle.KUBERNETES: "Kubernetes",
    CommunicationStyle.STEP_PACKAGE: "StepPackage",
    CommunicationStyle.KUBERNETES_TENTACLE: "KubernetesTentacle",
    CommunicationStyle.AWS_ECS_CLUSTER: "AwsEcsCluster",
}
_BY_OCTOPUS_NAME: Final = {name: style for style, name in _OCTOPUS_NAMES.items()}
_ALIASES: Final = {
    "polling": CommunicationStyle.TENTACLE_ACTIVE,
    "active": CommunicationStyle.TENTACLE_ACTIVE,
    "listening": CommunicationStyle.TENTACLE_PASSIVE,
    "passive": CommunicationStyle.TENTACLE_PASSIVE,
}

_THUMBPRINT = re.compile(r"[0-9A-F]{40}")
_THUMBPRINT_NOISE = re.compile(r"[\s:\-]")


def normalize_thumbprint(value: str) -> str:
    """Return *value* as Tentacle needs it: 40 upper-case hex digits, no separators.

    Spaces, colons, hyphens and lower case are accepted (as copied from a
    certificate dialog or ``openssl x509 -fingerprint``, with or without a
    ``SHA1 Fingerprint=`` prefix).

    Raises:
        InvalidValueError: not a SHA-1 thumbprint.

    .. versionadded:: 0.1.0
    """
    text = value.strip()
    if "=" in text:
        text = text.rsplit("=", 1)[1]
    text = _THUMBPRINT_NOISE.sub("", text).upper()
    if not _THUMBPRINT.fullmatch(text):
        msg = f"not a certificate thumbprint (40 hex digits): {value!r}"
        raise InvalidValueError(msg)
    return text


def thumbprint_key(value: str) -> str:
    """*value* as thumbprints compare: no spaces, colons or hyphens, upper case.

    Unlike `normalize_thumbprint` this never refuses: an odd value simply
    matches nothing real.

    .. versionadded:: 0.1.0
    """
    return _THUMBPRINT_NOISE.sub("", value.strip()).upper()


def is_valid_thumbprint(value: str) -> bool:
    """True when *value* is already in Tentacle's form: 40 upper-case hex digits."""
    return bool(_THUMBPRINT.fullmatch(value))


def generate_subscription_id() -> str:
    """A new polling subscription ID, as ``register-with`` makes one.

    ``poll://`` + 20 characters from Tentacle's effective alphabet + ``/``,
    drawn with `secrets`.

    .. versionadded:: 0.1.0
    """
    body = "".join(
        secrets.choice(SUBSCRIPTION_ALPHABET) for _ in range(_SUBSCRIPTION_LENGTH)
    )
    return f"poll://{body}/"


_DEFAULT_PORTS: Final = {"https": 443, "http": 80, "wss": 443, "ws": 80}


def canonical_ipv6(host: str) -> str | None:
    """*host* (no brackets) in .NET's canonical IPv6 form, or None if not IPv6.

    Compressed, lower-case hex (``2001:0DB8:0:0:0:0:0:1`` is ``2001:db8::1``),
    an IPv4-mapped address in dotted form (``::ffff:10.0.0.1``), as .NET's
    ``Uri`` writes the host. The one rule every comparison and every emitted
    address uses (servers, cluster, audit, plan, commands).

    .. versionadded:: 0.1.0
    """
    if ":" not in host or "%" in host:
        return None
    try:
        address = ipaddress.IPv6Address(host)
    except ValueError:
        return None
    mapped = address.ipv4_mapped
    return f"::ffff:{mapped}" if mapped is not None else address.compressed


def canonical_address(address: str) -> str:
    """*address* with an IPv6 host in canonical form; all else as written.

    ``https://[2001:0DB8:0:0:0:0:0:1]:10943`` becomes
    ``https://[2001:db8::1]:10943``; any other address comes back unchanged.

    .. versionadded:: 0.1.0
    """
    start = address.find("[")
    end = address.find("]", start + 1)
    if start < 0 or end < 0 or "://" not in address[:start]:
        return address
    canonical = canonical_ipv6(address[start + 1 : end])
    if canonical is None:
        return address
    return f"{address[: start + 1]}{canonical}{address[end:]}"


@functools.lru_cache(maxsize=4096)
def address_key(address: str) -> tuple[object, ...]:
    """What makes two addresses the same URI (a dict key for `same_address`).

    Case is ignored, a default port equals no port, an empty path equals
    ``/``, and an IPv6 host compares in its canonical form.

    .. versionadded:: 0.1.0
    """
    try:
        parts = urlsplit(address.strip())
        scheme = parts.scheme.lower()
        port = parts.port if parts.port is not None else _DEFAULT_PORTS.get(scheme)
        host = (parts.hostname or "").lower()
    except ValueError:
        return ("raw", address.strip().lower())
    if not scheme or not host:
        return ("raw", address.strip().lower())
    host = canonical_ipv6(host) or host
    path = parts.path or "/"
    return (scheme, host, port, path.lower(), parts.query.lower())


def same_address(a: str | None, b: str | None) -> bool:
    """Whether two ``Address`` values are the same URI, as Tentacle compares them.

    Case is ignored, a default port equals no port (``https://h`` is
    ``https://h:443``), an empty path equals ``/`` and IPv6 hosts compare in
    canonical form (``[2001:0db8::0:1]`` is ``[2001:db8::1]``), as .NET's
    ``Uri`` does. Two nulls are equal.

    .. versionadded:: 0.1.0
    """
    if a is None or b is None:
        return a is b
    return address_key(a) == address_key(b)


def _to_style(value: object) -> CommunicationStyle:
    if type(value) is CommunicationStyle:  # the usual case, without a lookup
        return value
    return CommunicationStyle.parse(value)


@attrs.frozen(kw_only=True)
class TrustedServer:
    """One entry of ``Tentacle.Communication.TrustedOctopusServers``.

    Attributes:
        thumbprint: the server's certificate thumbprint, as stored.
        communication_style: `CommunicationStyle`; polling is ``TENTACLE_ACTIVE``.
        address: the comms address polled (``https://host:10943`` or
            ``wss://host/path``); None for listening entries.
        squid: the legacy server ID, or None.
        subscription_id: ``poll://.../`` for polling entries, else None.
        extra: fields Tentacle does not know, in file order, each as
            ``(name, JSON text)``: read from a file, the value's exact source
            text (numbers are never re-rendered); kept on every write.

    The constructor takes values as they are; use `TrustedServer.polling` and
    `TrustedServer.listening` to build validated, normalised entries.

    .. versionadded:: 0.1.0
    """

    thumbprint: str
    communication_style: CommunicationStyle = attrs.field(converter=_to_style)
    address: str | None = None
    squid: str | None = None
    subscription_id: str | None = None
    extra: tuple[tuple[str, str], ...] = ()

    @classmethod
    def polling(
        cls, thumbprint: str, address: str, *, subscription_id: str | None = None
    ) -> TrustedServer:
        """A validated polling entry (thumbprint normalised, address checked).

        An IPv6 host is written in canonical form (`canonical_address`).

        Raises:
            InvalidValueError: bad thumbprint, address or subscription ID.
        """
        _check_address(address)
        if subscription_id is not None:
            _check_subscription_id(subscription_id)
        return cls(
            thumbprint=normalize_thumbprint(thumbprint),
            communication_style=CommunicationStyle.TENTACLE_ACTIVE,
            address=canonical_address(address.strip()),
            subscription_id=subscription_id,
        )

    @classmethod
    def listening(cls, thumbprint: str) -> TrustedServer:
        """A validated listening entry (thumbprint only), as ``configure --trust``."""
        return cls(
            thumbprint=normalize_thumbprint(thumbprint),
            communication_style=CommunicationStyle.TENTACLE_PASSIVE,
        )

    @property
    def is_polling(self) -> bool:
        """True for entries Tentacle polls (style 2, or 11 with an address)."""
        if self.communication_style is CommunicationStyle.TENTACLE_ACTIVE:
            return True
        return (
            self.communication_style is CommunicationStyle.KUBERNETES_TENTACLE
            and self.address is not None
        )

    def matches(self, other: TrustedServer) -> bool:
        """Tentacle's identity rule: same thumbprint (any case) and same address."""
        return self.thumbprint.upper() == other.thumbprint.upper() and same_address(
            self.address, other.address
        )

    def to_dict(self) -> dict[str, Any]:
        """The entry as Tentacle writes it (numeric style, nulls), plus extras.

        Extras are decoded from their JSON text; a number Python cannot hold
        as JSON (past 4,300 digits, or a float outside the double range such
        as ``1e99999``, or NaN/Infinity) comes back as its source text, so
        that the result always dumps as valid JSON.
        """
        out: dict[str, Any] = {
            "Thumbprint": self.thumbprint,
            "CommunicationStyle": int(self.communication_style),
            "Address": self.address,
            "Squid": self.squid,
            "SubscriptionId": self.subscription_id,
        }
        for name, raw in self.extra:
            out[name] = json.loads(
                raw,
                parse_int=_int_or_token,
                parse_float=_float_or_token,
                parse_constant=str,
            )
        return out


def _int_or_token(token: str) -> int | str:
    try:
        return int(token)
    except ValueError:  # past sys.get_int_max_str_digits()
        return token


def _float_or_token(token: str) -> float | str:
    value = float(token)
    return value if math.isfinite(value) else token


def _check_address(address: str) -> None:
    try:
        parts = urlsplit(address.strip())
        port = parts.port
    except ValueError:
        msg = f"not a comms address: {address!r}"
        raise InvalidValueError(msg) from None
    scheme = parts.scheme.lower()
    if scheme not in {"https", "wss"} or not parts.hostname:
        msg = (
            f"not a comms address: {address!r} (expected https://host:port "
            "or wss://host/path)"
        )
        raise InvalidValueError(msg)
    if scheme == "https" and port is None:
        msg = (
            f"comms address {address!r} has no port; Tentacle stores "
            "https://host:port (default 10943)"
        )
        raise InvalidValueError(msg)


_SUBSCRIPTION = re.compile(r"poll://[^/\s]+/")


def _check_subscription_id(value: str) -> None:
    if not _SUBSCRIPTION.fullmatch(value):
        msg = f"a subscription ID looks like poll://xxxxxxxxxx/, not {value!r}"
        raise InvalidValueError(msg)
