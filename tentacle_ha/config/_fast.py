"""Private: the fast path for the common Tentacle.config, spans without objects.

Most files are exactly what Tentacle writes: an XML declaration, the root, and
one plain ``<set key="...">text</set>`` (or ``<set key="..." />``) per line.
`scan` recognises that shape with two regex passes over the decoded text: one
over the prolog (the declaration and white space only, so no DOCTYPE can hide
before the root; it runs before lxml sees the bytes) and one over the body
(white space and plain ``<set>`` elements only: no entity or character
reference, no CDATA, comment, PI, unknown element or attribute, no two keys
equal ignoring case). lxml still parses every input and stays the authority:
an input it rejects, a root it reads differently, or a different number of
children sends the document to the general path (`_source.scan`), which
raises today's error. Anything else unusual goes there too, so the fast path
never decides a refusal.

A `Spans` records the text, and for each ``<set>`` the tuple the body regex
found; a `_source.Node` is built only for a key that is read or edited
(`Spans.node`), exactly as the general scanner builds it, and `Spans.to_scan`
builds the general `_source.Scan` (reusing those nodes) when an edit needs
more than a value splice. An edit on this path is always a pure value splice
of text escaped by `_source.set_value` (the start and end tags as written,
the content escaped by us), so its output is well-formed by construction and
reads back as the model says; it is not re-parsed unless
``TENTACLE_HA_VERIFY_EDITS=1`` (the property tests prove the equivalence by
comparing this path with the general one, which re-parses).
"""

from __future__ import annotations

import os
import re
from itertools import accumulate
from operator import itemgetter
from typing import Final

from tentacle_ha.config import _source
from tentacle_ha.config import _splice
from tentacle_ha.config._values import fold

__all__ = ["Spans", "scan"]

ENABLED: bool = True
"""Take the fast path when a document allows it (tests switch it off)."""

VERIFY: bool = os.environ.get("TENTACLE_HA_VERIFY_EDITS", "") not in {"", "0"}
"""Re-parse fast-path output too (debugging; the general path always does)."""

# The prolog as Tentacle writes it: an optional XML declaration, white space,
# and the root's start tag (not self-closing). Python's regex engine runs a
# class of one excluded character (``[^"]*``, ``[^<]*``) at memchr-like
# speed and any other class a character at a time, which matters for a 3 KB
# certificate: the patterns use only the fast form for long runs, and what
# they would let through is refused by plain C searches (`scan`) or by lxml.
_HEAD: Final = re.compile(
    r"""(?:<\?xml\s[^>]*\?>)?[ \t\r\n]*<octopus-settings"""
    r"""(?:\s+[^\s=/>]+\s*=\s*(?:"[^"]*"|'[^']*'))*\s*>"""
)
# One plain <set> and the white space before it: its only attribute the key,
# its content text. The body it runs on holds no '&' (so no reference), and
# no key holds a tab or line break (lxml would read those as spaces); both
# are checked in `scan`. Groups: whole, white space, opening (up to the
# closer), key ("..."), key ('...'), closer ('/>', or '>' content end tag).
_SET_PARTS: Final = re.compile(
    r"""(([ \t\r\n]*)(<set\s+key\s*=\s*(?:"([^"]*)"|'([^']*)')\s*)"""
    r"""(/>|>[^<]*</set\s*>))"""
)
_END: Final = re.compile(r"</octopus-settings\s*>")
_ROOT_END: Final = "</octopus-settings"

_Found = tuple[str, str, str, str, str, str]


class Spans:
    """A document on the fast path: its text and the spans of its settings."""

    __slots__ = (
        "body_end",
        "edited",
        "found",
        "head_end",
        "index",
        "keys",
        "nodes",
        "offsets",
        "tail_start",
        "text",
    )

    def __init__(  # noqa: PLR0917 -- a plain record, built once per document
        self,
        text: str,
        head_end: int,
        body_end: int,
        tail_start: int,
        found: list[_Found],
        keys: list[str],
        offsets: list[int],
        index: dict[str, list[int]],
    ) -> None:
        self.text = text
        self.head_end = head_end
        # The white space before the root's end tag, and where that tag starts.
        self.body_end = body_end
        self.tail_start = tail_start
        self.found = found
        self.keys = keys
        self.index = index  # folded key -> [ordinal]
        self.offsets = offsets  # where each match starts
        self.nodes: dict[int, _source.Node] = {}
        self.edited: set[int] = set()

    def node(self, ordinal: int) -> _source.Node:
        """The node of setting *ordinal*, built as the general scanner builds it."""
        node = self.nodes.get(ordinal)
        if node is None:
            _, ws, opening, _, _, closer = self.found[ordinal]
            start = self.offsets[ordinal] + len(ws)
            key = self.keys[ordinal]
            if closer == "/>":
                whole = opening + closer
                node = _source.Node(_source.Node.SET, whole, start, key, whole)
            else:
                raw = closer[1 : closer.rindex("</")]
                value = raw.replace("\r\n", "\n").replace("\r", "\n")
                node = _source.Node(
                    _source.Node.SET,
                    opening + closer,
                    start,
                    key,
                    opening + ">",
                    raw,
                    value,
                )
            self.nodes[ordinal] = node
        return node

    def style(self, decoded: _source.Decoded) -> _splice.Style:
        """`_splice.Style.of` for this document, read from the spans.

        No content holds a reference here, so none escapes quotes.
        """
        empty_style = " />"
        for _, _, opening, _, _, closer in self.found:
            if closer == "/>":
                empty_style = " />" if opening.endswith(" ") else "/>"
                break
        return _splice.Style(
            decoded=decoded,
            newline=_source.dominant_newline(self.text),
            escape_quotes=False,
            empty_style=empty_style,
        )

    def render(self) -> str:
        """The text with every edited setting's new text spliced in."""
        text = self.text
        parts = []
        pos = 0
        for ordinal in sorted(self.edited):
            found = self.found[ordinal]
            start = self.offsets[ordinal] + len(found[1])
            parts.append(text[pos:start])
            parts.append(self.nodes[ordinal].text)
            pos = start + len(found[2]) + len(found[5])
        parts.append(text[pos:])
        return "".join(parts)

    def to_scan(self) -> _source.Scan:
        """The general scan of the document, holding this path's nodes and edits."""
        nodes: list[_source.Node] = []
        for ordinal, found in enumerate(self.found):
            if found[1]:
                nodes.append(
                    _source.Node(_source.Node.WS, found[1], self.offsets[ordinal])
                )
            nodes.append(self.node(ordinal))
        text, end = self.text, self.tail_start
        if end > self.body_end:
            nodes.append(
                _source.Node(_source.Node.WS, text[self.body_end : end], self.body_end)
            )
        return _source.Scan(
            text[: self.head_end], nodes, text[end:], root_self_closing=False
        )


def scan(data: bytes, text: str, path: str) -> Spans | None:  # noqa: PLR0911 -- one exit per shape refused
    """The spans of a common document that lxml accepts; None: the general path.

    Raises:
        ConfigParseError: lxml rejects the document (the same error
            `_source.parse_tree` raises on the general path).
    """
    head = _HEAD.match(text)
    if head is None:
        return None
    pos = head.end()
    # The root's end tag is the last one in the text, or the body below
    # (which must be nothing but settings) would hold it: then general path.
    tail_start = text.rfind(_ROOT_END)
    if tail_start < pos or _END.match(text, tail_start) is None:
        return None
    body_end = len(text[:tail_start].rstrip(" \t\r\n"))
    if body_end < pos or text.find("&", pos, body_end) >= 0:
        return None
    found: list[_Found] = _SET_PARTS.findall(text, pos, body_end)
    # The settings found must cover the body, with nothing between them.
    offsets = list(accumulate(map(len, map(itemgetter(0), found)), initial=pos))
    if offsets.pop() != body_end:
        return None
    keys = [f[3] or f[4] for f in found]
    joined = "".join(keys)
    if "\t" in joined or "\n" in joined or "\r" in joined or "<" in joined:
        return None
    # Folded key -> [ordinal]; two keys equal ignoring case: general path.
    if joined.isascii():  # `fold` of ASCII is upper case, without its cache
        index = {key.upper(): [i] for i, key in enumerate(keys)}
    else:
        index = {fold(key): [i] for i, key in enumerate(keys)}
    if len(index) != len(keys):
        return None
    # No DOCTYPE before the root (the prolog above has none): lxml may parse.
    root = _source.parse_tree(data, text, path, prolog_checked=True)
    if root.tag != _source.ROOT or len(root) != len(found):
        return None
    return Spans(text, pos, body_end, tail_start, found, keys, offsets, index)
