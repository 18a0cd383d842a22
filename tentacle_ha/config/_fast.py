"""Private: the fast path for the common Tentacle.config, spans without objects.

Most files are exactly what Tentacle writes: an XML declaration, the root, and
one plain ``<set key="...">text</set>`` (or ``<set key="..." />``) per line.
`scan` recognises that shape with two regex passes over the decoded text: one
over the prolog (the declaration and white space only, so no DOCTYPE can hide
before the root; it runs before lxml sees the bytes) and one split of the body
on its settings (white space and plain ``<set>`` elements only, the key in
double quotes: no entity or character reference, no CDATA, comment, PI,
unknown element or attribute, no two keys equal ignoring case). lxml still
parses every input and stays the authority: an input it rejects, a root it
reads differently, or a different number of children sends the document to
the general path (`_source.scan`), which raises today's error. Anything else
unusual goes there too, so the fast path never decides a refusal.

A `Spans` records the text and the keys, in order; no content, key or other
markup in the body holds a ``<``, so the *n*-th ``<set`` of the body is
setting *n*. A `_source.Node` is built only for a key that is read or edited
(`Spans.node`, one anchored match there), exactly as the general scanner
builds it, and `Spans.to_scan` builds the general `_source.Scan` (reusing
those nodes) when an edit needs more than a value splice. An edit on this
path is always a pure value splice of text escaped by `_source.set_value`
(the start and end tags as written, the content escaped by us), so its output
is well-formed by construction and reads back as the model says; it is not
re-parsed unless ``TENTACLE_HA_VERIFY_EDITS=1`` (the property tests prove the
equivalence by comparing this path with the general one, which re-parses).
"""

from __future__ import annotations

import os
import re
from typing import Final

from tentacle_ha.config import _source
from tentacle_ha.config import _splice
from tentacle_ha.config._values import SECRET_FOLDED
from tentacle_ha.config._values import fold

__all__ = ["Spans", "scan"]

ENABLED: bool = True
"""Take the fast path when a document allows it (tests switch it off)."""

ESCAPE_QUOTES: Final = False
"""Whether a document on this path escapes quotes in text: no, none holds a
reference (`Spans.style`; a value set here is escaped the same way)."""

VERIFY: bool = os.environ.get("TENTACLE_HA_VERIFY_EDITS", "") not in {"", "0"}
"""Re-parse fast-path output too (debugging; the general path always does)."""

# White space in these patterns is XML's (space, tab, CR, LF), never `\s`:
# Python's `\s` also matches e.g. U+1680, which XML reads as part of a name.
# The prolog as Tentacle writes it: an optional XML declaration, white space,
# and the root's start tag (not self-closing). Python's regex engine runs a
# class of one excluded character (``[^"]*``, ``[^<]*``) at memchr-like
# speed and any other class a character at a time, which matters for a 3 KB
# certificate: the patterns use only the fast form for long runs, and what
# they would let through is refused by plain C searches (`scan`) or by lxml.
_S: Final = r"[ \t\r\n]"  # one character of XML white space
_HEAD: Final = re.compile(
    rf"""(?:<\?xml{_S}[^>]*\?>)?{_S}*<octopus-settings"""
    rf"""(?:{_S}+[^ \t\r\n=/>]+{_S}*={_S}*(?:"[^"]*"|'[^']*'))*{_S}*>"""
)
# One plain <set> and the white space before it: its only attribute the key,
# in double quotes as Tentacle writes it, its content text. The body it runs
# on holds no '&' (so no reference), and no key holds a tab or line break
# (lxml would read those as spaces); both are checked in `scan`. `scan`
# splits the body on it: the one group is the key, and the body is nothing
# but settings exactly when every piece between two matches is empty.
# Every repeat is possessive (``*+``): what follows it is a character it
# cannot take, so giving some back could never help a match, and the engine
# keeps no state to try (a fifth fewer instructions over a body).
_OPENING: Final = rf"""<set{_S}++key{_S}*+={_S}*+"([^"]*+)"{_S}*+"""
_CLOSER: Final = rf"""(/>|>[^<]*+</set{_S}*+>)"""
_SET_KEY: Final = re.compile(rf"""{_S}*+{_OPENING}(?:/>|>[^<]*+</set{_S}*+>)""")
# The same, in parts. Groups: whole, white space, opening (up to the closer),
# key, closer ('/>', or '>' content end tag); `_SET_PARTS` finds them all
# (`Spans.to_scan`), `_SET_AT` (opening, key, closer) matches one at its
# '<set' (`Spans.node`).
_SET_PARTS: Final = re.compile(rf"""(({_S}*+)({_OPENING}){_CLOSER})""")
_SET_AT: Final = re.compile(rf"""({_OPENING}){_CLOSER}""")
# The first empty setting, for the style of new empty ones.
_EMPTY_AT: Final = re.compile(rf"""<set{_S}+key{_S}*={_S}*"[^"]*"({_S}*)/>""")
_END: Final = re.compile(rf"</octopus-settings{_S}*>")
_ROOT_END: Final = "</octopus-settings"
_OPEN: Final = "<set"
_OPEN_AT: Final = re.compile(_OPEN)
_FEW: Final = 8
"""Settings read one by one (each search costs up to the file's length) before
`Spans.starts` records where every setting starts (one pass), so that reading
every key of a file of many settings stays linear."""


class Spans:
    """A document on the fast path: its text and the keys of its settings.

    Every '<set' in the body starts a setting (no content, key or other
    markup holds a '<'), so the *n*-th of them is setting *n*: a node is
    found there when it is first read, and the rest of the text is never
    taken apart.
    """

    __slots__ = (
        "body_end",
        "edited",
        "head_end",
        "index",
        "keys",
        "nodes",
        "spans",
        "starts",
        "tail_start",
        "text",
    )

    def __init__(  # noqa: PLR0917 -- a plain record, built once per document
        self,
        text: str,
        head_end: int,
        body_end: int,
        tail_start: int,
        keys: list[str],
        index: dict[str, list[int]],
    ) -> None:
        self.text = text
        self.head_end = head_end
        # The white space before the root's end tag, and where that tag starts.
        self.body_end = body_end
        self.tail_start = tail_start
        self.keys = keys
        self.index = index  # folded key -> [ordinal]
        self.nodes: dict[int, _source.Node] = {}
        self.spans: dict[int, tuple[int, int]] = {}  # ordinal -> (start, end)
        self.starts: list[int] | None = None  # every '<set', once many are read
        self.edited: set[int] = set()

    def _match(self, ordinal: int) -> re.Match[str]:
        """Setting *ordinal*, matched by `_SET_AT` where its '<set' is."""
        text, head, end = self.text, self.head_end, self.body_end
        if len(self.nodes) >= _FEW:  # many read: where every one starts, once
            if self.starts is None:
                self.starts = [m.start() for m in _OPEN_AT.finditer(text, head, end)]
            return self._match_at(self.starts[ordinal])
        # Usually the quoted key is found in the setting's own start tag
        # (keys are unique and hold no quote), and the '<set' before it
        # starts that setting; a content holding the same quoted text may be
        # found instead, and is told by where the match's key is.
        # (Searched for from the nearer end: a certificate is long.)
        quoted = f'"{self.keys[ordinal]}"'
        if ordinal * 2 < len(self.keys):
            at = text.find(quoted, head, end)
        else:
            at = text.rfind(quoted, head, end)
        if at >= 0:
            match = _SET_AT.match(text, text.rfind(_OPEN, head, at), end)
            if match is not None and match.start(2) == at + 1:
                return match
        pos = head  # else: the n-th '<set'
        for _ in range(ordinal + 1):
            pos = text.find(_OPEN, pos, end) + len(_OPEN)
        return self._match_at(pos - len(_OPEN))

    def _match_at(self, start: int) -> re.Match[str]:
        match = _SET_AT.match(self.text, start, self.body_end)
        if match is None:  # pragma: no cover - `scan` matched every setting
            msg = "fast path: a setting is not where the scan found it"
            raise AssertionError(msg)
        return match

    def node(self, ordinal: int) -> _source.Node:
        """The node of setting *ordinal*, built as the general scanner builds it."""
        node = self.nodes.get(ordinal)
        if node is None:
            match = self._match(ordinal)
            start = match.start()
            opening, _, closer = match.groups()
            self.spans[ordinal] = (start, match.end())
            key = self.keys[ordinal]
            if closer == "/>":
                whole = opening + closer
                node = _source.Node(_source.Node.SET, whole, start, key, whole)
            else:
                raw = closer[1 : closer.rindex("</")]
                value = raw  # XML's line-end normalisation, as lxml reads it
                if "\r" in raw:
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
        """`_splice.Style.of` for this document, read from the text on use.

        No content holds a reference here, so none escapes quotes.
        """
        return _splice.Style(
            decoded=decoded,
            escape_quotes=ESCAPE_QUOTES,
            find_empty_style=self.empty_style,
        )

    def empty_style(self) -> str:
        """How the first empty setting of the input ends: " />" or "/>"."""
        empty = _EMPTY_AT.search(self.text, self.head_end, self.body_end)
        return " />" if empty is None or empty.group(1).endswith(" ") else "/>"

    def render(self) -> str:
        """The text with every edited setting's new text spliced in."""
        return self._spliced({i: self.nodes[i].text for i in self.edited})

    def redacted(self, marker: str) -> str:
        """`render`, with the content of every non-empty secret as *marker*.

        What the general scan's redacted text gives (`_source.Scan` nodes as
        `Spans.node` builds them), touching only the edited and secret ones.
        """
        texts = {i: self.nodes[i].text for i in self.edited}
        for folded in self.index.keys() & SECRET_FOLDED:
            for ordinal in self.index[folded]:
                node = self.node(ordinal)
                if node.content:
                    texts[ordinal] = f"{node.start_tag}{marker}</set>"
        return self._spliced(texts)

    def _spliced(self, texts: dict[int, str]) -> str:
        """The text with each setting *ordinal* of *texts* replaced by its text."""
        text = self.text
        parts = []
        pos = 0
        for ordinal in sorted(texts):
            if ordinal not in self.spans:
                self.node(ordinal)  # where it is
            start, end = self.spans[ordinal]
            parts.append(text[pos:start])
            parts.append(texts[ordinal])
            pos = end
        parts.append(text[pos:])
        return "".join(parts)

    def to_scan(self) -> _source.Scan:
        """The general scan of the document, holding this path's nodes and edits."""
        text = self.text
        nodes: list[_source.Node] = []
        pos = self.head_end
        for ordinal, found in enumerate(
            _SET_PARTS.findall(text, self.head_end, self.body_end)
        ):
            if found[1]:
                nodes.append(_source.Node(_source.Node.WS, found[1], pos))
            nodes.append(self.node(ordinal))
            pos += len(found[0])
        end = self.tail_start
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
    # The settings must cover the body, with nothing between them: split on
    # them, the pieces between are all empty; the others are the keys.
    pieces = _SET_KEY.split(text[pos:body_end])
    if any(pieces[::2]):
        return None
    keys = pieces[1::2]
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
    if root.tag != _source.ROOT or len(root) != len(keys):
        return None
    return Spans(text, pos, body_end, tail_start, keys, index)
