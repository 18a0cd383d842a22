"""Private: the JSON text of ``Tentacle.Communication.TrustedOctopusServers``.

Reading: `check` refuses, before anything recurses, what no parse should
see (nesting deeper than `MAX_DEPTH`, lone surrogates); `parse_fast` handles
the common case in one C call; `parse` walks the array entry by entry and
field by field, knows where each one is, and raises `LocatedError` with the
index of what is wrong. Entries are read as Newtonsoft reads them (field names
ignoring case, the last duplicate wins). Numbers are never converted on the
way in (no 4,300-digit limit, no float rounding, no ``Infinity``): an unknown
field is kept as its exact source text, so an edit elsewhere leaves it byte
for byte.

Writing: `Layout` records the whitespace an array was written with
(`detect_layout`, `has_layout`) and renders entries the same way, with the
escapes Newtonsoft writes; the default is Tentacle's compact form.

The names other modules use have no leading underscore; the helpers only
this module uses keep theirs. It imports the model from `tentacle_ha.servers`,
which imports this module on use.
"""

from __future__ import annotations

import itertools
import json
import re
from json.encoder import encode_basestring
from typing import TYPE_CHECKING
from typing import Any
from typing import Final

import attrs

from tentacle_ha.servers._entry import CommunicationStyle
from tentacle_ha.servers._entry import TrustedServer

if TYPE_CHECKING:
    from collections.abc import Sequence

__all__ = [
    "MAX_DEPTH",
    "Layout",
    "LocatedError",
    "Row",
    "check",
    "compact_rows",
    "detect_layout",
    "has_layout",
    "parse",
    "parse_fast",
    "parse_rows",
    "plain_rows",
    "row_of",
    "server_of",
]

# Json.NET's default MaxDepth: it refuses deeper documents, and a Tentacle
# entry needs 2 (the array and the object).
MAX_DEPTH: Final = 64
_SHOWN: Final = 40  # characters of a value quoted in a message


class _Number:
    """A JSON number (or NaN/Infinity literal) kept as its source token."""

    __slots__ = ("token",)

    def __init__(self, token: str) -> None:
        self.token = token

    def __repr__(self) -> str:
        return self.token


def _decoder() -> json.JSONDecoder:
    return json.JSONDecoder(
        parse_float=_Number, parse_int=_Number, parse_constant=_Number
    )


_DECODER: Final = _decoder()

# Newtonsoft escapes these line breaks even in its default mode.
_NEWTONSOFT_ESCAPED = re.compile("[\u0085\u2028\u2029]")


def _json_value(value: object) -> str:
    if value is None:
        return "null"
    if type(value) is _Number:
        return value.token
    if type(value) is str:
        text = encode_basestring(value)
        if not text.isascii() and _NEWTONSOFT_ESCAPED.search(text):  # rare
            text = _NEWTONSOFT_ESCAPED.sub(lambda m: f"\\u{ord(m.group()):04x}", text)
        return text
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


# Tentacle's compact form of plain entries, in one C call (json's encoder
# escapes as Newtonsoft does, but for the three line breaks in `_newtonsoft`).
# `json.JSONEncoder.encode` builds its C encoder on every call; this one is
# built once (the same arguments `encode` passes it), with `encode` as the
# fallback where the C accelerator is missing.
_COMPACT: Final = json.JSONEncoder(
    ensure_ascii=False, check_circular=False, separators=(",", ":")
)
_c_make_encoder = getattr(json.encoder, "c_make_encoder", None)
_C_COMPACT: Final = (
    _c_make_encoder(
        None,  # markers: no circular check (plain dicts of strings)
        _COMPACT.default,
        encode_basestring,
        None,  # indent
        ":",
        ",",
        False,  # noqa: FBT003 -- sort_keys, positional in the C signature
        False,  # noqa: FBT003 -- skipkeys
        True,  # noqa: FBT003 -- allow_nan
    )
    if _c_make_encoder is not None
    else None
)


def _encode_compact(value: object) -> str:
    if _C_COMPACT is None:  # pragma: no cover - CPython has the accelerator
        return _COMPACT.encode(value)
    return "".join(_C_COMPACT(value, 0))


def _newtonsoft(text: str) -> str:
    """*text* (JSON) with U+0085, U+2028 and U+2029 escaped, as Newtonsoft does."""
    if text.isascii() or _NEWTONSOFT_ESCAPED.search(text) is None:
        return text
    return _NEWTONSOFT_ESCAPED.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


# An entry of Tentacle's own form, not yet built: thumbprint, style, address,
# squid, subscription ID (each str or None, no unknown fields).
Row = tuple[str, CommunicationStyle, str | None, str | None, str | None]


def server_of(row: Row) -> TrustedServer:
    """The entry a row stands for."""
    return TrustedServer(
        thumbprint=row[0],
        communication_style=row[1],
        address=row[2],
        squid=row[3],
        subscription_id=row[4],
    )


def row_of(server: TrustedServer) -> Row | None:
    """*server* as a row, or None if it is unusual (unknown fields, odd types)."""
    thumbprint, address = server.thumbprint, server.address
    squid, sub = server.squid, server.subscription_id
    if (
        server.extra
        or type(thumbprint) is not str
        or (address is not None and type(address) is not str)
        or (squid is not None and type(squid) is not str)
        or (sub is not None and type(sub) is not str)
    ):
        return None
    return (thumbprint, server.communication_style, address, squid, sub)


def compact_rows(rows: Sequence[Row], *, plain: bool = False) -> str:
    """The compact array of *rows*: what `Layout.render` writes, in one pass.

    Rows whose strings are all plain (`_plain_text`) are written with one
    format each, which is the encoder's output for them character for
    character; any other row sends the array to the encoder. *plain*: the
    caller knows every string is plain (rows `plain_rows` read, whose pattern
    takes plain characters only), so none is looked at again.
    """
    parts = []
    for thumbprint, style, address, squid, sub in rows:
        if not plain and not _plain_text(
            f"{thumbprint}{address or ''}{squid or ''}{sub or ''}"
        ):
            return _encoded_rows(rows)
        at = "null" if address is None else f'"{address}"'
        squid_text = "null" if squid is None else f'"{squid}"'
        sub_text = "null" if sub is None else f'"{sub}"'
        parts.append(
            f'{{"Thumbprint":"{thumbprint}","CommunicationStyle":{style:d},'
            f'"Address":{at},"Squid":{squid_text},"SubscriptionId":{sub_text}}}'
        )
    return f"[{','.join(parts)}]"


def _plain_text(text: str) -> bool:
    """Printable ASCII without a quote or backslash: JSON writes it as it is."""
    return (
        text.isascii() and text.isprintable() and '"' not in text and "\\" not in text
    )


def _encoded_rows(rows: Sequence[Row]) -> str:
    """`compact_rows` through the JSON encoder (any string)."""
    plain = [
        {
            "Thumbprint": thumbprint,
            "CommunicationStyle": int(style),
            "Address": address,
            "Squid": squid,
            "SubscriptionId": sub,
        }
        for thumbprint, style, address, squid, sub in rows
    ]
    return _newtonsoft(_encode_compact(plain))


def _compact(servers: Sequence[TrustedServer]) -> str | None:
    """The compact array of *servers* in one encoder call; None if one is unusual."""
    rows = []
    for server in servers:
        row = row_of(server)
        if row is None:
            return None
        rows.append(row)
    return compact_rows(rows)


def _fields(server: TrustedServer) -> list[tuple[str, str]]:
    """``(name, JSON text)`` pairs in Tentacle's order, then the extras."""
    return [
        ("Thumbprint", _json_value(server.thumbprint)),
        ("CommunicationStyle", str(int(server.communication_style))),
        ("Address", _json_value(server.address)),
        ("Squid", _json_value(server.squid)),
        ("SubscriptionId", _json_value(server.subscription_id)),
        *server.extra,
    ]


@attrs.frozen
class Layout:
    """How an array was laid out, so an edit can keep the layout.

    The defaults are Tentacle's compact form. Each field is the exact
    whitespace (and comma) found at that place in the original text.
    """

    open: str = ""  # between '[' and the first '{'
    sep: str = ","  # between '}' and the next '{'
    close: str = ""  # between the last '}' and ']'
    entry_open: str = ""  # between '{' and the first key
    item_sep: str = ","  # between a value and the next key
    key_sep: str = ":"  # between a key and its value
    entry_close: str = ""  # between the last value and '}'

    def render(self, servers: Sequence[TrustedServer]) -> str:
        if not servers:
            return "[]"
        if self == _TENTACLE_FORM:
            compact = _compact(servers)
            if compact is not None:
                return compact
        entries = [
            "{"
            + self.entry_open
            + self.item_sep.join(
                f"{_json_value(k)}{self.key_sep}{v}" for k, v in _fields(s)
            )
            + self.entry_close
            + "}"
            for s in servers
        ]
        return "[" + self.open + self.sep.join(entries) + self.close + "]"


_TENTACLE_FORM: Final = Layout()


def _object_layout(text: str, start: int) -> dict[str, str]:
    """The whitespace inside the JSON object at *start* (already known valid)."""
    decoder = _DECODER
    ws = _WS.match
    pos = start + 1
    after_open = ws(text, pos).end()  # type: ignore[union-attr]  # always matches
    if text.startswith("}", after_open):
        return {}
    found: dict[str, str] = {"entry_open": text[pos:after_open]}
    pos = after_open
    while True:
        _, pos = decoder.raw_decode(text, pos)  # the key
        colon = ws(text, pos).end()  # type: ignore[union-attr]  # always matches
        value_start = ws(text, colon + 1).end()  # type: ignore[union-attr]  # always matches
        found.setdefault("key_sep", text[pos:value_start])
        _, pos = decoder.raw_decode(text, value_start)
        after = ws(text, pos).end()  # type: ignore[union-attr]  # always matches
        if text.startswith("}", after):
            found["entry_close"] = text[pos:after]
            return found
        next_key = ws(text, after + 1).end()  # type: ignore[union-attr]  # always matches
        found.setdefault("item_sep", text[pos:next_key])
        pos = next_key


_STRINGS = re.compile(r'"(?:[^"\\]|\\.)*"')
_JSON_WS = re.compile(r"[ \t\r\n]")


def has_layout(text: str) -> bool:
    """Whether *text* has whitespace outside its strings (else: Tentacle's form)."""
    if " " not in text and "\t" not in text and "\n" not in text and "\r" not in text:
        return False  # the usual case: no whitespace at all (four C searches)
    return _JSON_WS.search(_STRINGS.sub("", text)) is not None


def detect_layout(text: str, spans: list[tuple[int, int]]) -> Layout:
    """Work out how *text* (a JSON array with entries at *spans*) is laid out."""
    if not spans:
        return Layout()
    opening = text[text.index("[") + 1 : spans[0][0]]
    closing = text[spans[-1][1] : text.rindex("]")]
    # With one entry, guess the separator from the opening: "\n  " -> ",\n  ".
    sep = text[spans[0][1] : spans[1][0]] if len(spans) > 1 else "," + opening
    return Layout(
        open=opening, sep=sep, close=closing, **_object_layout(text, spans[0][0])
    )


class LocatedError(ValueError):
    """A problem at an index of the JSON text (translated by the caller)."""

    def __init__(self, message: str, index: int) -> None:
        super().__init__(message)
        self.index = index


_KNOWN: Final = {
    "thumbprint": "Thumbprint",
    "communicationstyle": "CommunicationStyle",
    "address": "Address",
    "squid": "Squid",
    "subscriptionid": "SubscriptionId",
}


def _shown(value: object, raw: str | None) -> str:
    """A value for a message: its source text (else JSON), one short line."""
    if raw is None:
        try:
            raw = _json_value(value)
        except (TypeError, ValueError):  # a container holding number tokens
            raw = type(value).__name__
    text = " ".join(raw.split())
    return text if len(text) <= _SHOWN else text[: _SHOWN - 3] + "..."


def _string_field(
    entry: dict[str, tuple[Any, str | None]], name: str, index: int
) -> str | None:
    value, raw = entry.get(name, (None, None))
    if value is None or type(value) is str:
        return value
    msg = f"{name} must be a string or null, not {_shown(value, raw)}"
    raise LocatedError(msg, index)


_STYLE_NUMBER = re.compile(r"-?[0-9]{1,9}")


def _style(
    field: tuple[Any, str | None], index: int, number: int
) -> CommunicationStyle:
    """``CommunicationStyle`` as Tentacle reads it; a number token must be whole."""
    value, raw = field
    msg = f"entry {number}: not a CommunicationStyle: {_shown(value, raw)}"
    if type(value) is _Number:
        if not _STYLE_NUMBER.fullmatch(value.token):
            raise LocatedError(msg, index)
        value = int(value.token)
    try:
        return CommunicationStyle.parse(value)
    except ValueError:
        raise LocatedError(msg, index) from None


_CANONICAL: Final = (
    "Thumbprint",
    "CommunicationStyle",
    "Address",
    "Squid",
    "SubscriptionId",
)
_PLAIN_STYLES: Final = {str(int(style)): style for style in CommunicationStyle}


def _plain_entry(pairs: dict[str, Any]) -> TrustedServer | None:
    """The common case, Tentacle's own five fields with plain values, fast."""
    row = _plain_row(pairs)
    return None if row is None else server_of(row)


def _plain_row(pairs: dict[str, Any]) -> Row | None:
    """`_plain_entry`, not built yet."""
    if tuple(pairs) != _CANONICAL:
        return None
    thumbprint, style, address, squid, sub = pairs.values()
    if (
        type(thumbprint) is not str
        or not thumbprint.strip()
        or type(style) is not _Number
        or (address is not None and type(address) is not str)
        or (squid is not None and type(squid) is not str)
        or (sub is not None and type(sub) is not str)
    ):
        return None
    plain_style = _PLAIN_STYLES.get(style.token)
    if plain_style is None:
        return None
    return (thumbprint.strip(), plain_style, address, squid, sub)


# One field of an object: name, value, and its source text (None: render it).
_Member = tuple[str, Any, str | None]


def _entry(members: Sequence[_Member], index: int, number: int) -> TrustedServer:
    known: dict[str, tuple[Any, str | None]] = {}
    extra: dict[str, str] = {}
    for name, value, raw in members:
        canonical = _KNOWN.get(name.lower())
        if canonical is None:
            # Kept as written; the last duplicate wins, as Newtonsoft reads.
            extra.pop(name, None)
            extra[name] = raw if raw is not None else _json_value(value)
        else:
            known[canonical] = (value, raw)
    thumbprint = _string_field(known, "Thumbprint", index)
    if thumbprint is None or not thumbprint.strip():
        msg = f"entry {number} has no Thumbprint (Tentacle refuses to start)"
        raise LocatedError(msg, index)
    style = _style(known.get("CommunicationStyle", (None, None)), index, number)
    return TrustedServer(
        thumbprint=thumbprint.strip(),
        communication_style=style,
        address=_string_field(known, "Address", index),
        squid=_string_field(known, "Squid", index),
        subscription_id=_string_field(known, "SubscriptionId", index),
        extra=tuple(extra.items()),
    )


_WS = re.compile(r"[ \t\r\n]*")
_STRING_TOKEN = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"')
_NOT_BRACKET = re.compile(r"[^\[\]{}]+")
_SURROGATE = re.compile("[\ud800-\udfff]")
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F][0-9a-fA-F]{2}")
_DEPTH_STEP: Final = {"[": 1, "{": 1, "]": -1, "}": -1}


def _too_deep(text: str) -> int:
    """Where *text* first nests past `MAX_DEPTH` (strings skipped), or -1.

    One pass of C-speed regexes keeps only the brackets outside strings; only
    a document that is too deep is walked again, token by token, for the
    position.
    """
    if text.count("[") + text.count("{") <= MAX_DEPTH:
        return -1  # the usual case: too few brackets to nest that deep
    brackets = _NOT_BRACKET.sub("", _STRING_TOKEN.sub("", text))
    if len(brackets) <= MAX_DEPTH or (
        max(itertools.accumulate(map(_DEPTH_STEP.__getitem__, brackets))) <= MAX_DEPTH
    ):
        return -1
    depth = 0
    for match in re.finditer(r'"[^"\\]*(?:\\.[^"\\]*)*"|[\[\]{}]', text):
        char = match.group()
        if char in "[{":
            depth += 1
            if depth > MAX_DEPTH:
                return match.start()
        elif char in "]}":
            depth -= 1
    return -1  # pragma: no cover - the count above says otherwise


def _lone_surrogate(text: str) -> int:
    """Where a string of *text* holds a lone surrogate (raw or escaped), or -1."""
    raw = None if text.isascii() else _SURROGATE.search(text)
    if raw is not None:
        return raw.start()
    if "\\u" not in text or _SURROGATE_ESCAPE.search(text) is None:
        return -1
    for match in _STRING_TOKEN.finditer(text):
        token = match.group()
        if _SURROGATE_ESCAPE.search(token) is None:
            continue
        try:
            value = json.loads(token)
        except ValueError:
            continue  # broken: the parse reports it
        if _SURROGATE.search(value):
            return match.start()
    return -1


def check(text: str) -> None:
    """Refuse what must not be parsed at all, before anything recurses.

    Raises:
        LocatedError: nesting deeper than `MAX_DEPTH` (Python's decoder
            recurses; Json.NET refuses it too), or a string holding a lone
            surrogate such as ``\ud800`` (not Unicode text: it cannot be
            printed, encoded or written back to XML, by us or by Tentacle).
    """
    deep = _too_deep(text)
    if deep >= 0:
        msg = f"JSON nested more than {MAX_DEPTH} levels deep (Json.NET's limit)"
        raise LocatedError(msg, deep)
    lone = _lone_surrogate(text)
    if lone >= 0:
        msg = (
            "a JSON string holds a lone surrogate (e.g. \\ud800): not Unicode "
            "text, and Tentacle could not write it back"
        )
        raise LocatedError(msg, lone)


# One entry of Tentacle's compact form whose strings are all plain (printable
# ASCII, no quote or backslash: `_plain_text`), field by field: thumbprint,
# style token, address, squid, subscription ID (a group is None for null).
_PLAIN: Final = r"([ !#-\[\]-~]*)"
_PLAIN_ENTRY: Final = re.compile(
    rf'{{"Thumbprint":"{_PLAIN}","CommunicationStyle":([0-9]+),'
    rf'"Address":(?:"{_PLAIN}"|null),"Squid":(?:"{_PLAIN}"|null),'
    rf'"SubscriptionId":(?:"{_PLAIN}"|null)}}'
)


def plain_rows(text: str) -> tuple[Row, ...] | None:  # noqa: PLR0911 -- one exit per shape refused
    """The rows of an array in Tentacle's compact form with plain strings, or None.

    No JSON decoder runs: such text is valid JSON by construction (no escape,
    no control character, no nesting), and reads as `parse_rows` reads it.
    Anything else (white space, another field order, a number that is not a
    known style, a blank or padded thumbprint) gives None.
    """
    end = len(text) - 1
    if end < 1 or text[0] != "[" or text[end] != "]":
        return None
    if end == 1:
        return ()
    rows = []
    pos = 1
    for match in _PLAIN_ENTRY.finditer(text, 1, end):
        if match.start() != pos:
            return None
        thumbprint, token, address, squid, sub = match.groups()
        style = _PLAIN_STYLES.get(token)
        if style is None or not thumbprint or thumbprint.strip() != thumbprint:
            return None
        rows.append((thumbprint, style, address, squid, sub))
        pos = match.end()
        if pos == end:  # the closing bracket
            return tuple(rows)
        if text[pos] != ",":
            return None
        pos += 1
    return None


def parse_rows(text: str) -> tuple[Row, ...] | None:
    """The commonest case in one C call: every entry in Tentacle's own form.

    The entries are not built (`server_of` builds one on use); None sends the
    text to `parse_fast`. *text* must have passed `check`.

    Raises:
        ValueError: not JSON (`parse` says where).
    """
    value = _DECODER.decode(text)
    if type(value) is not list:
        return None
    rows = []
    for item in value:
        row = _plain_row(item) if type(item) is dict else None
        if row is None:
            return None
        rows.append(row)
    return tuple(rows)


def parse_fast(text: str) -> tuple[TrustedServer, ...] | None:
    """Parse the common case in one C call; None (or an error) sends it to `parse`.

    `parse` redoes the work slowly but knows where every entry and field is,
    for positioned errors, for keeping the layout and for keeping unknown
    fields as their source text (so an entry with one goes there too).
    *text* must have passed `check`.
    """
    value = _DECODER.decode(text)
    if not isinstance(value, list) or not all(type(v) is dict for v in value):
        return None
    out: list[TrustedServer] = []
    for number, item in enumerate(value, 1):
        plain = _plain_entry(item)
        if plain is None:
            if not all(name.lower() in _KNOWN for name in item):
                return None  # unknown fields: their source text is in `parse`
            try:
                plain = _entry([(k, v, None) for k, v in item.items()], 0, number)
            except LocatedError:
                return None
        out.append(plain)
    return tuple(out)


def _decode(text: str, pos: int) -> tuple[Any, int]:
    try:
        return _DECODER.raw_decode(text, pos)
    except json.JSONDecodeError as exc:
        raise LocatedError(f"invalid JSON: {exc.msg}", exc.pos) from None


def _members(text: str, pos: int) -> tuple[list[_Member], int]:
    """The fields of the object whose ``{`` is at *pos*, each with its source text."""
    ws = _WS.match
    pos = ws(text, pos + 1).end()  # type: ignore[union-attr]  # always matches
    members: list[_Member] = []
    if text.startswith("}", pos):
        return members, pos + 1
    while True:
        if not text.startswith('"', pos):
            msg = "invalid JSON: expecting property name enclosed in double quotes"
            raise LocatedError(msg, pos)
        name, pos = _decode(text, pos)
        pos = ws(text, pos).end()  # type: ignore[union-attr]  # always matches
        if not text.startswith(":", pos):
            raise LocatedError("invalid JSON: expecting ':' delimiter", pos)
        start = ws(text, pos + 1).end()  # type: ignore[union-attr]  # always matches
        value, end = _decode(text, start)
        members.append((name, value, text[start:end]))
        pos = ws(text, end).end()  # type: ignore[union-attr]  # always matches
        if text.startswith(",", pos):
            pos = ws(text, pos + 1).end()  # type: ignore[union-attr]  # always matches
        elif text.startswith("}", pos):
            return members, pos + 1
        else:
            raise LocatedError("invalid JSON: expecting ',' delimiter", pos)


def parse(text: str) -> tuple[tuple[TrustedServer, ...], list[tuple[int, int]]]:
    """The entries of the array *text* and the ``(start, end)`` span of each.

    *text* must have passed `check`.
    """
    pos = _WS.match(text, 0).end()  # type: ignore[union-attr]  # always matches
    if not text.startswith("[", pos):
        msg = "TrustedOctopusServers must be a JSON array"
        raise LocatedError(msg, pos)
    pos = _WS.match(text, pos + 1).end()  # type: ignore[union-attr]  # always matches
    servers: list[TrustedServer] = []
    spans: list[tuple[int, int]] = []
    if text.startswith("]", pos):
        pos += 1
    else:
        while True:
            start = pos
            if not text.startswith("{", pos):
                _decode(text, pos)  # broken JSON is reported as such
                msg = f"entry {len(servers) + 1} is not a JSON object"
                raise LocatedError(msg, start)
            members, pos = _members(text, pos)
            servers.append(_entry(members, start, len(servers) + 1))
            spans.append((start, pos))
            pos = _WS.match(text, pos).end()  # type: ignore[union-attr]  # always matches
            if text.startswith(",", pos):
                pos = _WS.match(text, pos + 1).end()  # type: ignore[union-attr]  # always matches
                continue
            if text.startswith("]", pos):
                pos += 1
                break
            msg = "invalid JSON: expected ',' or ']'"
            raise LocatedError(msg, pos)
    pos = _WS.match(text, pos).end()  # type: ignore[union-attr]  # always matches
    if pos != len(text):
        raise LocatedError("invalid JSON: extra data after the array", pos)
    return tuple(servers), spans
