"""The ``Tentacle.Communication.TrustedOctopusServers`` array, with Tentacle's rules.

Tentacle keeps the servers it trusts (and, for polling, the addresses it polls)
in one setting whose value is a JSON array::

    [{"Thumbprint":"<SHA-1>","CommunicationStyle":2,"Address":"https://node1:10943",
      "Squid":null,"SubscriptionId":"poll://abcdefghjkmnpqrstuvw/"}, ...]

An HA cluster shows up as one polling entry per node, all with the same
thumbprint and the same ``SubscriptionId``. `TrustedServers` reads everything
Tentacle reads, writes what Tentacle writes, and keeps the exact text of an
array nobody changed.

Where this module deliberately differs from Tentacle, for safety:

- an updated entry keeps its position (Tentacle moves it to the end), so diffs
  stay minimal;
- thumbprints are compared ignoring case everywhere and written upper-case
  (Tentacle's polling client compares them case-sensitively, so a lower-case
  thumbprint silently breaks polling);
- unknown JSON fields are kept (Tentacle drops them on its next write);
- `TrustedServers.keep_only` keeps listening entries instead of crashing on
  them, as ``clear-trusted-servers`` does;
- an array laid out across lines keeps its layout when edited (Tentacle
  rewrites it on one line).

The JSON text itself (reading with positioned errors, layouts, Newtonsoft's
escapes) is handled by the private `tentacle_ha._servers_json`.

.. versionadded:: 0.1.0
"""

from __future__ import annotations

import enum
import functools
import json
import re
import secrets
from collections.abc import Callable
from collections.abc import Iterable
from collections.abc import Iterator
from collections.abc import Sequence
from typing import TYPE_CHECKING
from typing import Any
from typing import Final
from typing import overload
from urllib.parse import urlsplit

import attrs

from tentacle_ha.errors import InvalidValueError
from tentacle_ha.errors import TrustedServersError

if TYPE_CHECKING:
    from tentacle_ha._servers_json import Layout

__all__ = [
    "SUBSCRIPTION_ALPHABET",
    "TRUSTED_SERVERS_KEY",
    "CommunicationStyle",
    "TrustedServer",
    "TrustedServers",
    "generate_subscription_id",
    "is_valid_thumbprint",
    "normalize_thumbprint",
    "same_address",
    "thumbprint_key",
]

TRUSTED_SERVERS_KEY: Final = "Tentacle.Communication.TrustedOctopusServers"

# Tentacle's RandomStringGenerator alphabet, lower-cased. Its index is
# ``byte % 31 + 1``, so the first letter is never chosen: the effective
# alphabet is the last 31 characters (PollingSubscriptionId.cs).
SUBSCRIPTION_ALPHABET: Final = "bcdefghjkmnpqrstuvwxyz23456789"
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


@functools.lru_cache(maxsize=4096)
def _address_key(address: str) -> tuple[object, ...]:
    """What makes two addresses the same URI, ignoring case and default ports."""
    try:
        parts = urlsplit(address.strip())
        scheme = parts.scheme.lower()
        port = parts.port if parts.port is not None else _DEFAULT_PORTS.get(scheme)
        host = (parts.hostname or "").lower()
    except ValueError:
        return ("raw", address.strip().lower())
    if not scheme or not host:
        return ("raw", address.strip().lower())
    path = parts.path or "/"
    return (scheme, host, port, path.lower(), parts.query.lower())


def same_address(a: str | None, b: str | None) -> bool:
    """Whether two ``Address`` values are the same URI, as Tentacle compares them.

    Case is ignored, a default port equals no port (``https://h`` is
    ``https://h:443``) and an empty path equals ``/``. Two nulls are equal.

    .. versionadded:: 0.1.0
    """
    if a is None or b is None:
        return a is b
    return _address_key(a) == _address_key(b)


def _to_style(value: object) -> CommunicationStyle:
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
            ``(name, compact JSON text)``; kept on every write.

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

        Raises:
            InvalidValueError: bad thumbprint, address or subscription ID.
        """
        _check_address(address)
        if subscription_id is not None:
            _check_subscription_id(subscription_id)
        return cls(
            thumbprint=normalize_thumbprint(thumbprint),
            communication_style=CommunicationStyle.TENTACLE_ACTIVE,
            address=address.strip(),
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
        """The entry as Tentacle writes it (numeric style, nulls), plus extras."""
        out: dict[str, Any] = {
            "Thumbprint": self.thumbprint,
            "CommunicationStyle": int(self.communication_style),
            "Address": self.address,
            "Squid": self.squid,
            "SubscriptionId": self.subscription_id,
        }
        for name, raw in self.extra:
            out[name] = json.loads(raw)
        return out


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


class TrustedServers(Sequence[TrustedServer]):
    """An immutable list of `TrustedServer` entries, with Tentacle's operations.

    Every operation returns a new `TrustedServers`; the original is unchanged.
    `to_json` gives back the exact original text while the entries are the
    ones that were parsed, and otherwise renders as Tentacle would (keeping a
    multi-line layout, see the module docstring).

    .. versionadded:: 0.1.0
    """

    __slots__ = ("_layout", "_parsed", "_servers", "_source")

    def __init__(
        self,
        servers: Iterable[TrustedServer] = (),
        *,
        _source: str | None = None,
        _parsed: tuple[TrustedServer, ...] | None = None,
        _layout: Layout | None = None,
    ) -> None:
        self._servers = tuple(servers)
        items: tuple[object, ...] = self._servers
        for server in items:
            if not isinstance(server, TrustedServer):
                msg = f"TrustedServers holds TrustedServer, not {type(server).__name__}"
                raise TypeError(msg)
        self._source = _source
        self._parsed = _parsed
        self._layout = _layout

    # -- reading and writing -------------------------------------------------

    @classmethod
    def from_json(
        cls,
        text: str | None,
        *,
        locate: Callable[[int], tuple[str | None, int, int]] | None = None,
    ) -> TrustedServers:
        """Parse the setting's value (None or blank = empty, as Tentacle reads it).

        Args:
            text: the JSON text.
            locate: maps an index into *text* to ``(path, line, col)`` for
                error messages; by default positions are inside *text*.

        Raises:
            TrustedServersError: broken JSON, not an array, an entry that is not
                an object or has no Thumbprint, an unknown style.
        """
        if text is None or not text.strip():
            return cls(_source=text, _parsed=())
        from tentacle_ha import _servers_json  # noqa: PLC0415 -- it imports this module

        try:
            servers = _servers_json.parse_fast(text)
        except (ValueError, TypeError):
            servers = None
        if servers is not None:
            return cls(servers, _source=text, _parsed=servers)
        try:
            servers, spans = _servers_json.parse(text)
        except _servers_json.LocatedError as exc:
            if locate is not None:
                path, line, col = locate(exc.index)
            else:
                path = None
                line = text.count("\n", 0, exc.index) + 1
                col = exc.index - (text.rfind("\n", 0, exc.index) + 1) + 1
            raise TrustedServersError(
                f"{TRUSTED_SERVERS_KEY}: {exc}", path=path, line=line, col=col
            ) from None
        return cls(
            servers,
            _source=text,
            _parsed=servers,
            _layout=_servers_json.detect_layout(text, spans),
        )

    def to_json(self) -> str:
        """The JSON text to store: the original text when nothing changed."""
        if self._source is not None and self._servers == self._parsed:
            return self._source
        if self._layout is None:
            from tentacle_ha import _servers_json  # noqa: PLC0415 -- it imports this module

            self._layout = _servers_json.Layout()
            source = self._source
            if source is not None and _servers_json.has_layout(source):
                self._layout = _servers_json.detect_layout(
                    source, _servers_json.parse(source)[1]
                )
        return self._layout.render(self._servers)

    def to_list(self) -> list[dict[str, Any]]:
        """Plain dicts, as Tentacle serialises each entry (for ``--json`` output)."""
        return [server.to_dict() for server in self._servers]

    def _with(self, servers: Iterable[TrustedServer]) -> TrustedServers:
        return TrustedServers(
            servers, _source=self._source, _parsed=self._parsed, _layout=self._layout
        )

    # -- sequence protocol ---------------------------------------------------

    @overload
    def __getitem__(self, index: int) -> TrustedServer: ...
    @overload
    def __getitem__(self, index: slice) -> tuple[TrustedServer, ...]: ...
    def __getitem__(
        self, index: int | slice
    ) -> TrustedServer | tuple[TrustedServer, ...]:
        return self._servers[index]

    def __len__(self) -> int:
        return len(self._servers)

    def __iter__(self) -> Iterator[TrustedServer]:
        return iter(self._servers)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, TrustedServers):
            return self._servers == other._servers
        if isinstance(other, (list, tuple)):
            return list(self._servers) == list(other)
        return NotImplemented

    def __hash__(self) -> int:
        return hash(self._servers)

    def __repr__(self) -> str:
        return f"TrustedServers({list(self._servers)!r})"

    # -- queries -------------------------------------------------------------

    def polling(self) -> tuple[TrustedServer, ...]:
        """The entries Tentacle polls."""
        return tuple(s for s in self._servers if s.is_polling)

    def for_thumbprint(self, thumbprint: str) -> tuple[TrustedServer, ...]:
        """Entries with this thumbprint, compared ignoring case."""
        wanted = thumbprint.strip().upper()
        return tuple(s for s in self._servers if s.thumbprint.upper() == wanted)

    def subscription_id_for(self, thumbprint: str) -> str | None:
        """The SubscriptionId of the first polling entry for *thumbprint*, if any.

        This is the ID ``poll-server`` copies to a new node's entry.
        """
        for server in self.for_thumbprint(thumbprint):
            if server.is_polling and server.subscription_id:
                return server.subscription_id
        return None

    # -- operations ----------------------------------------------------------

    def add_or_update(self, server: TrustedServer) -> TrustedServers:
        """Tentacle's ``AddOrUpdateTrustedOctopusServer``, keeping the position.

        An entry with the same thumbprint (ignoring case) and the same address
        is replaced where it stands (Tentacle removes it and appends the new
        one at the end); otherwise *server* is appended. Hand-edited duplicates
        of the match are removed, leaving one entry.
        """
        out: list[TrustedServer] = []
        replaced = False
        for existing in self._servers:
            if existing.matches(server):
                if not replaced:
                    out.append(server)
                    replaced = True
                continue
            out.append(existing)
        if not replaced:
            out.append(server)
        return self._with(out)

    def add_polling(
        self,
        thumbprint: str,
        address: str,
        *,
        subscription_id: str | None = None,
    ) -> TrustedServers:
        """Add (or update) a polling entry for one node, as ``poll-server`` does.

        The SubscriptionId is, in order: *subscription_id* when given, the one
        of the existing polling entry for this thumbprint (compared ignoring
        case; Tentacle compares exactly), or a new one (where ``poll-server``
        would fail and ask for ``register-with`` first).

        Raises:
            InvalidValueError: bad thumbprint, address or subscription ID.
        """
        thumb = normalize_thumbprint(thumbprint)
        sub = subscription_id or self.subscription_id_for(thumb)
        if sub is None:
            sub = generate_subscription_id()
        return self.add_or_update(
            TrustedServer.polling(thumb, address, subscription_id=sub)
        )

    def add_listening(self, thumbprint: str) -> TrustedServers:
        """Trust *thumbprint* for listening, as ``configure --trust`` does."""
        return self.add_or_update(TrustedServer.listening(thumbprint))

    def remove(
        self, *, thumbprint: str | None = None, address: str | None = None
    ) -> TrustedServers:
        """Remove entries by thumbprint (ignoring case), by address, or both.

        With both, only entries matching both go. Tentacle's ``--remove-trust``
        compares thumbprints exactly; we ignore case, because the listener's
        trust check does too.

        Raises:
            InvalidValueError: neither given.
        """
        if thumbprint is None and address is None:
            msg = "remove needs a thumbprint, an address, or both"
            raise InvalidValueError(msg)
        wanted = thumbprint.strip().upper() if thumbprint is not None else None

        def hit(server: TrustedServer) -> bool:
            if wanted is not None and server.thumbprint.upper() != wanted:
                return False
            return address is None or same_address(server.address, address)

        return self._with(s for s in self._servers if not hit(s))

    def rotate(self, old: str, new: str, *, staged: bool = False) -> TrustedServers:
        """Move trust from certificate *old* to *new*, like ``update-trust``.

        Direct (the default): every entry with thumbprint *old* (ignoring case)
        gets *new*, in place; where an entry for *new* at the same address is
        already there (a staged rotation), the old entry just goes, so there
        are no duplicates (Tentacle's ``update-trust`` would leave two).

        Staged: a copy with *new* is inserted right after each such entry
        (same address, style and SubscriptionId), so the Tentacle trusts both
        during the rotation; call `rotate` again without *staged*, or `remove`
        the old thumbprint, to finish.

        Raises:
            InvalidValueError: *new* is not a thumbprint.
        """
        new_thumb = normalize_thumbprint(new)
        wanted = thumbprint_key(old)
        if wanted == new_thumb:
            return self  # nothing to move
        out: list[TrustedServer] = []
        for server in self._servers:
            if thumbprint_key(server.thumbprint) != wanted:
                out.append(server)
                continue
            moved = attrs.evolve(server, thumbprint=new_thumb)
            if staged:
                out.append(server)
            already = any(s.matches(moved) for s in self._servers) or any(
                s.matches(moved) for s in out
            )
            if not already:
                out.append(moved)
        return self._with(out)

    def keep_only(
        self, addresses: Iterable[str], *, keep_listening: bool = True
    ) -> TrustedServers:
        """Keep only entries polling one of *addresses* (``clear-trusted-servers``).

        Addresses compare as URIs (ignoring case, default ports); ``http://``
        is read as ``https://``, as Tentacle does. Listening entries (no
        address) are kept unless *keep_listening* is false; Tentacle's command
        crashes on them.
        """
        keep = [re.sub(r"(?i)^http://", "https://", a.strip()) for a in addresses]

        def kept(server: TrustedServer) -> bool:
            if server.address is None:
                return keep_listening
            return any(same_address(server.address, a) for a in keep)

        return self._with(s for s in self._servers if kept(s))

    def changes(self, before: TrustedServers) -> list[str]:
        """One line per entry added (``+``), removed (``-``) or changed (``~``).

        For people reading a diff of the one-line JSON array.
        """

        def line(mark: str, server: TrustedServer) -> str:
            style = server.communication_style
            kind = {
                CommunicationStyle.TENTACLE_ACTIVE: "polling",
                CommunicationStyle.TENTACLE_PASSIVE: "listening",
            }.get(style, style.octopus_name)
            where = server.address or "(no address)"
            sub = f" {server.subscription_id}" if server.subscription_id else ""
            return f"{mark} {kind} {where} {server.thumbprint}{sub}"

        out: list[str] = []
        matched: list[TrustedServer] = []
        for old in before:
            twin = next((s for s in self._servers if s.matches(old)), None)
            if twin is None:
                out.append(line("-", old))
            elif twin != old:
                out.append(line("~", twin))
                matched.append(twin)
            else:
                matched.append(twin)
        out.extend(line("+", s) for s in self._servers if s not in matched)
        return out

    def replace_all(self, servers: Iterable[TrustedServer]) -> TrustedServers:
        """The same list object style (layout) with other entries."""
        return self._with(servers)
