"""Private: adding and removing ``<set>`` elements in a scanned Tentacle.config.

An edit changes only the nodes it must. `write_value` gives an element a new
value; `insert` puts a new element where Tentacle would sort it (ordinal key
order), with the quote style of its neighbour and the newline and indentation
before it, or, in a document without settings, opens a self-closing root and
indents by two spaces; `remove` takes an element out with its line. `Style`
holds what new text copies from the document: its codec, main newline, how it
writes an empty element and whether it escapes quotes in text.

The names other modules use have no leading underscore; the helpers only
this module uses keep theirs.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

import attrs

from tentacle_ha.config import _source
from tentacle_ha.config._values import sort_key

if TYPE_CHECKING:
    from collections.abc import Callable

__all__ = ["Style", "insert", "remove", "write_value"]


@attrs.define  # not frozen: built once per edited document, read-only by use
class Style:
    """What new text copies from the document it goes into.

    The newline and the form of an empty element are found in the document
    when an edit first needs them: most edits need neither.
    """

    decoded: _source.Decoded
    escape_quotes: bool
    find_empty_style: Callable[[], str]
    """How the document writes an empty element (" />" or "/>"), found once."""
    _empty_style: str | None = attrs.field(default=None, init=False)

    @property
    def newline(self) -> str:
        """The document's main newline (counted when first needed)."""
        return self.decoded.newline

    @property
    def empty_style(self) -> str:
        """How the document writes an empty element (found when first needed)."""
        if self._empty_style is None:
            self._empty_style = self.find_empty_style()
        return self._empty_style

    @classmethod
    def of(cls, scan: _source.Scan, decoded: _source.Decoded) -> Style:
        """The style of the document *scan* was read from (as read now)."""
        escape_quotes = any(
            "&quot;" in node.content
            for node in scan.nodes
            if node.kind == _source.Node.SET
        )
        empty_style = next(
            (
                " />" if node.start_tag.endswith(" />") else "/>"
                for node in scan.nodes
                if node.kind == _source.Node.SET and node.self_closing
            ),
            " />",
        )
        return cls(
            decoded=decoded,
            escape_quotes=escape_quotes,
            find_empty_style=lambda: empty_style,
        )


def write_value(node: _source.Node, text: str, style: Style) -> None:
    """Give the <set> *node* the value *text* ("" = an empty element)."""
    _source.set_value(
        node,
        text,
        escape_quotes=style.escape_quotes,
        # Only a value holding a line break needs the newline counted, and
        # only an empty one the empty element's form.
        newline=style.newline if "\n" in text else "",
        decoded=style.decoded,
        empty_style="" if text else style.empty_style,
    )


def remove(nodes: list[_source.Node], index: int) -> None:
    """Remove node *index* and the line break and indentation before it."""
    del nodes[index]
    before = index - 1
    if before >= 0 and nodes[before].kind == _source.Node.WS:
        ws = nodes[before].text
        cut = max(ws.rfind("\n"), ws.rfind("\r"))
        if cut > 0 and ws[cut] == "\n" and ws[cut - 1] == "\r":
            cut -= 1
        if cut <= 0:
            del nodes[before]
        else:
            nodes[before] = _source.Node(_source.Node.WS, ws[:cut], -1)


def _new_set(key: str, text: str, quote: str, style: Style) -> _source.Node:
    attr = _source.escape_attr(key, quote)
    if not style.decoded.codec.startswith("utf"):
        attr = "".join(
            c if style.decoded.can_encode(c) else f"&#x{ord(c):X};" for c in attr
        )
    empty_style = style.empty_style
    start = f"<set key={quote}{attr}{quote}"
    node = _source.Node(
        _source.Node.SET,
        start + empty_style,
        -1,
        key=key,
        start_tag=start + empty_style,
    )
    if text:
        write_value(node, text, style)
    return node


def insert(scan: _source.Scan, key: str, text: str, style: Style) -> None:
    """Add a <set> for *key* (not yet present) where Tentacle would sort it."""
    nodes = scan.nodes
    sets = [i for i, n in enumerate(nodes) if n.kind == _source.Node.SET]
    order = sort_key(key)
    target = next((i for i in sets if sort_key(nodes[i].key) > order), None)
    if target is not None:
        ws = _line_break_before(nodes, target)
        new = _new_set(key, text, nodes[target].quote, style)
        nodes[target:target] = [new] + ([ws] if ws else [])
    elif sets:
        last = sets[-1]
        ws = _line_break_before(nodes, last)
        new = _new_set(key, text, nodes[last].quote, style)
        nodes[last + 1 : last + 1] = ([ws] if ws else []) + [new]
    else:
        _insert_first(scan, key, text, style)


def _line_break_before(nodes: list[_source.Node], index: int) -> _source.Node | None:
    """A copy of the newline + indentation before node *index*, if any."""
    if index == 0 or nodes[index - 1].kind != _source.Node.WS:
        return None
    ws = nodes[index - 1].text
    cut = max(ws.rfind("\n"), ws.rfind("\r"))
    if cut > 0 and ws[cut] == "\n" and ws[cut - 1] == "\r":
        cut -= 1
    return _source.Node(_source.Node.WS, ws[max(cut, 0) :], -1)


def _insert_first(scan: _source.Scan, key: str, text: str, style: Style) -> None:
    quote = _first_quote(scan.head)
    new = _new_set(key, text, quote, style)
    if scan.root_self_closing:
        scan.head = scan.head[:-2].rstrip() + ">"
        scan.tail = f"</{_source.ROOT}>" + scan.tail
        scan.root_self_closing = False
    newline = style.newline
    if not newline:  # a one-line file stays on one line
        scan.nodes.append(new)
        return
    indent = _source.Node(_source.Node.WS, newline + "  ", -1)
    last = scan.nodes[-1] if scan.nodes else None
    if last is not None and last.kind == _source.Node.WS and newline in last.text:
        scan.nodes[-1:-1] = [indent, new]
    else:
        scan.nodes.extend([indent, new, _source.Node(_source.Node.WS, newline, -1)])


def _first_quote(head: str) -> str:
    tag_start = head.rfind("<")
    match = re.search(r"""=\s*(["'])""", head[tag_start:])
    if match:
        return match.group(1)
    match = re.search(r"""=\s*(["'])""", head)
    return match.group(1) if match else '"'
