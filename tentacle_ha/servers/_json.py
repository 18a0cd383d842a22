"""Private: the JSON text of ``Tentacle.Communication.TrustedOctopusServers``.

Reading: `parse_fast` handles the common case in one C call; `parse` walks the
array entry by entry, knows where each one is, and raises `LocatedError` with
the index of what is wrong. Entries are read as Newtonsoft reads them (field
names ignoring case, the last duplicate wins, unknown fields kept as compact
JSON text).

Writing: `Layout` records the whitespace an array was written with
(`detect_layout`, `has_layout`) and renders entries the same way, with the
escapes Newtonsoft writes; the default is Tentacle's compact form.

The names other modules use have no leading underscore; the helpers only
this module uses keep theirs. It imports the model from `tentacle_ha.servers`,
which imports this module on use.
"""

from __future__ import annotations

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
    "Layout",
    "LocatedError",
    "detect_layout",
    "has_layout",
    "parse",
    "parse_fast",
]

# Newtonsoft escapes these line breaks even in its default mode.
_NEWTONSOFT_ESCAPED = re.compile("[\u0085\u2028\u2029]")


def _json_value(value: object) -> str:
    if value is None:
        return "null"
    if type(value) is str:
        text = encode_basestring(value)
        if _NEWTONSOFT_ESCAPED.search(text):  # rare: line separators
            text = _NEWTONSOFT_ESCAPED.sub(lambda m: f"\\u{ord(m.group()):04x}", text)
        return text
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


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


def _object_layout(text: str, start: int) -> dict[str, str]:
    """The whitespace inside the JSON object at *start* (already known valid)."""
    decoder = json.JSONDecoder()
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
    if _JSON_WS.search(text) is None:
        return False  # the usual case: no whitespace at all
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


def _string_field(entry: dict[str, Any], name: str, index: int) -> str | None:
    value = entry.get(name)
    if value is None or isinstance(value, str):
        return value
    msg = f"{name} must be a string or null, not {_json_value(value)}"
    raise LocatedError(msg, index)


_CANONICAL: Final = (
    "Thumbprint",
    "CommunicationStyle",
    "Address",
    "Squid",
    "SubscriptionId",
)
_STYLES: Final = tuple(CommunicationStyle)


def _plain_entry(pairs: dict[str, Any]) -> TrustedServer | None:
    """The common case, Tentacle's own five fields with plain values, fast."""
    if tuple(pairs) != _CANONICAL:
        return None
    thumbprint, style, address, squid, sub = pairs.values()
    if (
        type(thumbprint) is not str
        or not thumbprint.strip()
        or type(style) is not int
        or not 0 <= style < len(_STYLES)
        or not all(v is None or type(v) is str for v in (address, squid, sub))
    ):
        return None
    return TrustedServer(
        thumbprint=thumbprint.strip(),
        communication_style=_STYLES[style],
        address=address,
        squid=squid,
        subscription_id=sub,
    )


def _entry(pairs: dict[str, Any], index: int, number: int) -> TrustedServer:
    plain = _plain_entry(pairs)
    if plain is not None:
        return plain
    known: dict[str, Any] = {}
    extra: dict[str, str] = {}
    for name, value in pairs.items():
        canonical = _KNOWN.get(name.lower())
        if canonical is None:
            extra[name] = _json_value(value)  # last one wins, as Newtonsoft reads
        else:
            known[canonical] = value
    thumbprint = _string_field(known, "Thumbprint", index)
    if thumbprint is None or not thumbprint.strip():
        msg = f"entry {number} has no Thumbprint (Tentacle refuses to start)"
        raise LocatedError(msg, index)
    try:
        style = CommunicationStyle.parse(known.get("CommunicationStyle"))
    except ValueError as exc:
        raise LocatedError(f"entry {number}: {exc}", index) from None
    return TrustedServer(
        thumbprint=thumbprint.strip(),
        communication_style=style,
        address=_string_field(known, "Address", index),
        squid=_string_field(known, "Squid", index),
        subscription_id=_string_field(known, "SubscriptionId", index),
        extra=tuple(extra.items()),
    )


_WS = re.compile(r"[ \t\r\n]*")


def parse_fast(text: str) -> tuple[TrustedServer, ...] | None:
    """Parse the common case in one C call; None (or an error) sends it to `parse`.

    `parse` redoes the work slowly but knows where every entry is, for
    positioned errors and for keeping the layout.
    """
    value = json.loads(text)
    if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
        return None
    try:
        return tuple(_entry(item, 0, n) for n, item in enumerate(value, 1))
    except LocatedError:
        return None


def parse(text: str) -> tuple[tuple[TrustedServer, ...], list[tuple[int, int]]]:
    """The entries of the array *text* and the ``(start, end)`` span of each."""
    decoder = json.JSONDecoder()
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
            try:
                value, pos = decoder.raw_decode(text, pos)
            except json.JSONDecodeError as exc:
                raise LocatedError(f"invalid JSON: {exc.msg}", exc.pos) from None
            if not isinstance(value, dict):
                msg = f"entry {len(servers) + 1} is not a JSON object"
                raise LocatedError(msg, start)
            servers.append(_entry(value, start, len(servers) + 1))
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
