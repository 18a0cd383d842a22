"""The ``Tentacle.Communication.TrustedOctopusServers`` array, with Tentacle's rules.

Tentacle keeps the servers it trusts (and, for polling, the addresses it polls)
in one setting whose value is a JSON array::

    [{"Thumbprint":"<SHA-1>","CommunicationStyle":2,"Address":"https://node1:10943",
      "Squid":null,"SubscriptionId":"poll://bcdefghjklmnpqrstuvw/"}, ...]

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
  rewrites it on one line);
- `TrustedServers.remove` and `TrustedServers.keep_only` refuse to leave a
  polling Tentacle with no polling entry, or a trusting one trusting nothing
  (`refuse_orphaning`), unless ``allow_empty=True``: Tentacle's
  ``configure --remove-trust`` and ``clear-trusted-servers`` do it silently.

The JSON text itself (reading with positioned errors, layouts, Newtonsoft's
escapes) is handled by the private `tentacle_ha.servers._json`.

.. versionadded:: 0.1.0
"""

from __future__ import annotations

import re
from collections.abc import Callable
from collections.abc import Iterable
from collections.abc import Iterator
from collections.abc import Sequence
from typing import Any
from typing import Final
from typing import overload

import attrs

from tentacle_ha.errors import InvalidValueError
from tentacle_ha.errors import OrphaningEditError
from tentacle_ha.errors import TrustedServersError
from tentacle_ha.servers import _json
from tentacle_ha.servers._entry import TRUSTED_SERVERS_KEY
from tentacle_ha.servers._entry import CommunicationStyle
from tentacle_ha.servers._entry import TrustedServer
from tentacle_ha.servers._entry import address_key
from tentacle_ha.servers._entry import generate_subscription_id
from tentacle_ha.servers._entry import normalize_thumbprint
from tentacle_ha.servers._entry import same_address
from tentacle_ha.servers._entry import thumbprint_key

__all__ = ["TrustedServers", "leaves_orphaned", "refuse_orphaning"]

_TENTACLE_FORM: Final = _json.Layout()
_ACTIVE: Final = CommunicationStyle.TENTACLE_ACTIVE
_KUBERNETES: Final = CommunicationStyle.KUBERNETES_TENTACLE


def leaves_orphaned(
    before: Sequence[TrustedServer], after: Sequence[TrustedServer]
) -> bool:
    """Whether going from *before* to *after* orphans the Tentacle.

    Orphaned: it polled (had a polling entry, CommunicationStyle 2
    TentacleActive) and polls nothing now, so its SubscriptionId is gone; or
    it trusted some server and trusts none now. A list that polled nothing
    and still polls nothing (a listening Tentacle losing one of several
    trusts) is not orphaned.

    .. versionadded:: 0.1.0
    """
    if _polls(before) and not _polls(after):
        return True
    return bool(before) and not after


def _polls(servers: Sequence[TrustedServer]) -> bool:
    if isinstance(servers, TrustedServers):
        return servers._polls()  # noqa: SLF001 -- its own rows, unbuilt
    return any(s.is_polling for s in servers)


def refuse_orphaning(
    before: Sequence[TrustedServer],
    after: Sequence[TrustedServer],
    *,
    what: str,
    allow_empty: bool = False,
) -> None:
    """The one check every write path calls before changing the trusted servers.

    Args:
        before: the list in the file.
        after: the list the edit would write.
        what: the edit, for the message (e.g. ``"removing https://n1:10943"``).
        allow_empty: allow it anyway (``--allow-empty`` on the command line).

    Raises:
        OrphaningEditError: `leaves_orphaned` and not *allow_empty*.

    .. versionadded:: 0.1.0
    """
    if allow_empty or not leaves_orphaned(before, after):
        return
    if any(s.is_polling for s in before):
        why = (
            "would leave no polling entry: the Tentacle would poll nothing and "
            "lose its SubscriptionId"
        )
    else:
        why = "would leave no trusted server: nothing could reach the Tentacle"
    raise OrphaningEditError(
        f"{what} {why}; refused (pass --allow-empty, or allow_empty=True, to do it)"
    )


def _upper_squid(server: TrustedServer) -> TrustedServer:
    """*server* with a non-blank Squid upper-cased, as add-or-update does.

    Like .NET's ``ToUpperInvariant``, one character maps to one character
    (``str.upper`` would turn ``ß`` into ``SS``).
    """
    squid = server.squid
    if squid is None or not squid.strip():
        return server
    upper = "".join(c.upper() if len(c.upper()) == 1 else c for c in squid)
    return server if upper == squid else attrs.evolve(server, squid=upper)


class TrustedServers(Sequence[TrustedServer]):
    """An immutable list of `TrustedServer` entries, with Tentacle's operations.

    Every operation returns a new `TrustedServers`; the original is unchanged.
    `to_json` gives back the exact original text while the entries are the
    ones that were parsed, and otherwise renders as Tentacle would (keeping a
    multi-line layout, see the module docstring).

    A list read from Tentacle's own form keeps its entries as rows (a tuple
    of the five fields) and builds the `TrustedServer` objects only when one
    is asked for: `remove`, `to_json`, `len` and the orphaning check work on
    the rows, so a round trip that removes an entry builds none.

    .. versionadded:: 0.1.0
    """

    __slots__ = (
        "_built",
        "_layout",
        "_parsed",
        "_parsed_rows",
        "_plain",
        "_rows",
        "_source",
    )

    def __init__(
        self,
        servers: Iterable[TrustedServer] = (),
        *,
        _source: str | None = None,
        _parsed: tuple[TrustedServer, ...] | None = None,
        _layout: _json.Layout | None = None,
    ) -> None:
        built = tuple(servers)
        items: tuple[object, ...] = built
        for server in items:
            if not isinstance(server, TrustedServer):
                msg = f"TrustedServers holds TrustedServer, not {type(server).__name__}"
                raise TypeError(msg)
        self._built: tuple[TrustedServer, ...] | None = built
        self._rows: tuple[_json.Row, ...] | None = None
        self._plain = False  # every string of `_rows` known plain (`plain_rows`)
        self._parsed_rows: tuple[_json.Row, ...] | None = None
        self._source = _source
        self._parsed = _parsed
        self._layout = _layout

    @classmethod
    def _of_rows(
        cls,
        rows: tuple[_json.Row, ...],
        *,
        source: str | None,
        parsed_rows: tuple[_json.Row, ...] | None,
        parsed: tuple[TrustedServer, ...] | None = None,
        layout: _json.Layout | None = None,
        plain: bool = False,
    ) -> TrustedServers:
        out: TrustedServers = cls.__new__(cls)  # every slot set: no entries to check
        out._built = None
        out._rows = rows
        out._plain = plain
        out._parsed_rows = parsed_rows
        out._source = source
        out._parsed = parsed
        out._layout = layout
        return out

    @property
    def _servers(self) -> tuple[TrustedServer, ...]:
        """The entries, built from the rows on first use."""
        built = self._built
        if built is None:
            assert self._rows is not None  # noqa: S101 -- one of the two is set
            built = self._built = tuple(map(_json.server_of, self._rows))
        return built

    def _polls(self) -> bool:
        """Whether an entry is polling (`TrustedServer.is_polling`)."""
        if self._rows is None:
            return any(s.is_polling for s in self._servers)
        for _, style, address, _, _ in self._rows:  # (a loop: no generator to run)
            if style is _ACTIVE or (style is _KUBERNETES and address is not None):
                return True
        return False

    def _not_in(self, other: TrustedServers) -> Iterator[TrustedServer]:
        """The entries of this list that *other* does not hold."""
        if self._rows is not None and other._rows is not None:
            # A row is equal to another exactly when the entries built are.
            theirs = other._rows
            for row in self._rows:
                if row not in theirs:
                    yield _json.server_of(row)
            return
        for server in self._servers:
            if server not in other:
                yield server

    def _unchanged(self) -> bool:
        """Whether the entries are the ones parsed from `_source`."""
        if self._rows is not None and self._parsed_rows is not None:
            return self._rows == self._parsed_rows
        parsed = self._parsed
        if parsed is None and self._parsed_rows is not None:
            parsed = self._parsed = tuple(map(_json.server_of, self._parsed_rows))
        return self._servers == parsed

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
                an object or has no Thumbprint, an unknown style, nesting deeper
                than 64 levels, a lone surrogate in a string.
        """
        if text is None or not text or text.isspace():  # as `not text.strip()`
            return cls(_source=text, _parsed=())

        try:
            plain = _json.plain_rows(text)  # the commonest case, no decoder
            if plain is not None:
                return cls._of_rows(plain, source=text, parsed_rows=plain, plain=True)
            _json.check(text)
            servers = None
            try:
                rows = _json.parse_rows(text)
                if rows is not None:
                    return cls._of_rows(rows, source=text, parsed_rows=rows)
                servers = _json.parse_fast(text)
            except (ValueError, TypeError):
                pass  # `parse` says where
            if servers is not None:
                return cls(servers, _source=text, _parsed=servers)
            servers, spans = _json.parse(text)
        except _json.LocatedError as exc:
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
            _layout=_json.detect_layout(text, spans),
        )

    def to_json(self) -> str:
        """The JSON text to store: the original text when nothing changed."""
        if self._source is not None and self._unchanged():
            return self._source
        if self._layout is None:
            self._layout = _TENTACLE_FORM  # frozen: one shared instance
            source = self._source
            if source and not source.isspace() and _json.has_layout(source):
                self._layout = _json.detect_layout(source, _json.parse(source)[1])
        if self._rows is not None and (
            self._layout is _TENTACLE_FORM or self._layout == _TENTACLE_FORM
        ):
            return _json.compact_rows(self._rows, plain=self._plain)
        return self._layout.render(self._servers)

    def to_list(self) -> list[dict[str, Any]]:
        """Plain dicts, as Tentacle serialises each entry (for ``--json`` output)."""
        return [server.to_dict() for server in self._servers]

    def _with(self, servers: Iterable[TrustedServer]) -> TrustedServers:
        out = TrustedServers(
            servers, _source=self._source, _parsed=self._parsed, _layout=self._layout
        )
        out._parsed_rows = self._parsed_rows
        return out

    def _with_rows(self, rows: tuple[_json.Row, ...]) -> TrustedServers:
        """This list with *rows*, some of its own rows (plain if they were)."""
        return TrustedServers._of_rows(
            rows,
            source=self._source,
            parsed_rows=self._parsed_rows,
            parsed=self._parsed,
            layout=self._layout,
            plain=self._plain,
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
        return len(self._rows) if self._rows is not None else len(self._servers)

    def __iter__(self) -> Iterator[TrustedServer]:
        return iter(self._servers)

    def __contains__(self, value: object) -> bool:
        return value in self._servers  # as Sequence's, in one C call

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

    @property
    def polls(self) -> bool:
        """Whether Tentacle polls any entry (``bool(polling())``, building none).

        .. versionadded:: 0.1.0
        """
        return self._polls()

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
        of the match are removed, leaving one entry. A non-blank ``Squid`` is
        upper-cased first, as Tentacle does.
        """
        server = _upper_squid(server)
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
        self,
        *,
        thumbprint: str | None = None,
        address: str | None = None,
        allow_empty: bool = False,
    ) -> TrustedServers:
        """Remove entries by thumbprint (ignoring case), by address, or both.

        With both, only entries matching both go. Tentacle's ``--remove-trust``
        compares thumbprints exactly; we ignore case, because the listener's
        trust check does too. Matching nothing returns the list unchanged
        (compare lengths to tell).

        Raises:
            InvalidValueError: neither given.
            OrphaningEditError: it would remove the last polling entry (or the
                last entry), unless *allow_empty*.
        """
        if thumbprint is None and address is None:
            msg = "remove needs a thumbprint, an address, or both"
            raise InvalidValueError(msg)
        wanted = thumbprint.strip().upper() if thumbprint is not None else None

        key: list[tuple[object, ...]] = []  # *address*'s, when first needed

        def hit(thumb: str, at: str | None) -> bool:
            if wanted is not None and thumb.upper() != wanted:
                return False
            if address is None:
                return True
            if at is None:  # `same_address`: a null matches only a null
                return False
            if not key:
                key.append(address_key(address))
            return address_key(at) == key[0]

        if self._rows is not None:  # the same test on the unbuilt rows
            out = self._with_rows(
                tuple(row for row in self._rows if not hit(row[0], row[2]))
            )
        else:
            out = self._with(
                s for s in self._servers if not hit(s.thumbprint, s.address)
            )
        if allow_empty or not leaves_orphaned(self, out):
            return out  # the usual case: no message to word
        what = " and ".join(
            f"{name} {value}"
            for name, value in (("thumbprint", thumbprint), ("address", address))
            if value is not None
        )
        refuse_orphaning(self, out, what=f"removing {what}", allow_empty=allow_empty)
        return out

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
        self,
        addresses: Iterable[str],
        *,
        keep_listening: bool = True,
        allow_empty: bool = False,
    ) -> TrustedServers:
        """Keep only entries polling one of *addresses* (``clear-trusted-servers``).

        Addresses compare as URIs (ignoring case, default ports); ``http://``
        is read as ``https://``, as Tentacle does. Listening entries (no
        address) are kept unless *keep_listening* is false; Tentacle's command
        crashes on them.

        Raises:
            OrphaningEditError: no polling entry (or no entry) would be left,
                unless *allow_empty*.
        """
        keep = [re.sub(r"(?i)^http://", "https://", a.strip()) for a in addresses]

        def kept(server: TrustedServer) -> bool:
            if server.address is None:
                return keep_listening
            return any(same_address(server.address, a) for a in keep)

        out = self._with(s for s in self._servers if kept(s))
        refuse_orphaning(
            self,
            out,
            what="keeping only " + ", ".join(keep),
            allow_empty=allow_empty,
        )
        return out

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
