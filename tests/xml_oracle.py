"""The independent reader the properties compare tentacle_ha against: bare lxml.

It reads a Tentacle.config the way Tentacle does (direct ``<set>`` children of
the root, the text of each including text after comments and PIs; keys
compared ignoring case, first spelling kept, last value wins) with a hardened
parser of its own, and knows nothing of tentacle_ha's scanner.
"""

from __future__ import annotations

import codecs
import difflib
from typing import TYPE_CHECKING
from typing import Final

from hypothesis import note
from lxml import etree
from strategies import SECRET_KEYS
from strategies import fold
from strategies import is_blank

from tentacle_ha._secret import Secret

if TYPE_CHECKING:
    from tentacle_ha.config import TentacleConfig

__all__ = [
    "assert_agrees",
    "body_text",
    "lxml_sets",
    "lxml_view",
    "newline_kinds",
    "show_diff",
]

_PARSER: Final = etree.XMLParser(
    resolve_entities=False,
    no_network=True,
    load_dtd=False,
    dtd_validation=False,
    huge_tree=False,
    strip_cdata=True,
)
_BOMS: Final = (
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)


def lxml_sets(data: bytes) -> list[tuple[str, str]]:
    """``(key, text)`` of every direct ``<set>`` child, in file order."""
    root = etree.fromstring(data, _PARSER)
    assert root.getroottree().docinfo.doctype == ""
    assert root.tag == "octopus-settings"
    out = []
    for child in root:
        if child.tag != "set":
            continue
        key = child.get("key")
        assert key is not None
        text = (child.text or "") + "".join(c.tail or "" for c in child)
        out.append((key, text))
    return out


def lxml_view(data: bytes) -> dict[str, tuple[str, str]]:
    """Tentacle's reading: folded key -> (first spelling, last value)."""
    out: dict[str, tuple[str, str]] = {}
    for key, text in lxml_sets(data):
        folded = fold(key)
        first = out[folded][0] if folded in out else key
        out[folded] = (first, text)
    return out


def body_text(data: bytes, codec: str) -> str:
    """The text of *data* after its BOM, decoded with *codec*."""
    for bom, _name in _BOMS:
        if data.startswith(bom):
            return data[len(bom) :].decode(codec)
    return data.decode(codec)


def newline_kinds(text: str) -> set[str]:
    """Which line endings *text* uses: ``"\\r\\n"``, ``"\\n"`` and/or ``"\\r"``."""
    kinds = set()
    crlf = text.count("\r\n")
    if crlf:
        kinds.add("\r\n")
    if text.count("\n") > crlf:
        kinds.add("\n")
    if text.count("\r") > crlf:
        kinds.add("\r")
    return kinds


def show_diff(before: bytes, after: bytes) -> None:
    """Log a readable diff of two outputs for Hypothesis's failure report."""
    lines = difflib.unified_diff(
        repr(before)[2:-1].split("\\n"), repr(after)[2:-1].split("\\n"), lineterm=""
    )
    note("\n".join(lines))


def assert_agrees(doc: TentacleConfig, model: dict[str, tuple[str, str]]) -> bytes:
    """Check that lxml's reading of ``doc.dumps()``, the document's own answers
    and *model* (folded key -> (spelling, stored text)) all agree; return the bytes.
    """
    data = doc.dumps()
    view = lxml_view(data)
    assert view == model
    assert len(doc) == len(model)
    assert sorted(doc) == sorted(spelling for spelling, _ in model.values())
    for folded, (spelling, text) in model.items():
        expected = None if is_blank(text) else text
        assert spelling in doc
        assert fold(spelling) == folded
        got = doc.get(
            spelling.swapcase() if spelling.isascii() else spelling, reveal=True
        )
        assert got == expected, (spelling, got, expected)
        if folded in SECRET_KEYS and expected is not None:
            _assert_hidden(doc, spelling, expected)
    return data


def _assert_hidden(doc: TentacleConfig, spelling: str, expected: str) -> None:
    """A secret reads as a Secret that shows only ``***`` unless revealed."""
    hidden = doc.get(spelling)
    assert isinstance(hidden, Secret)
    assert hidden.reveal() == expected
    assert (repr(hidden), str(hidden), f"{hidden}") == ("Secret('***')", "***", "***")
    assert dict(doc.items())[spelling] == "***"
