"""Private: bytes <-> text, and a span scanner over the Tentacle.config XML subset.

lxml is the authority on well-formedness; this module never decides whether a
document is XML. It records, for text lxml has already accepted, where every
child of ``<octopus-settings>`` starts and ends, so that edits can splice the
original text and leave every other character alone.

The scanner works on decoded text (``str``), not bytes: the file may be UTF-16.
Decoding is checked to be lossless (``encode(decode(b)) == b``), so a splice in
the text is a splice in the bytes.
"""

from __future__ import annotations

import codecs
import re
import threading
from typing import TYPE_CHECKING
from typing import Final

from lxml import etree

from tentacle_ha.errors import ConfigEncodingError
from tentacle_ha.errors import ConfigParseError
from tentacle_ha.errors import InternalError
from tentacle_ha.errors import UnsafeXMLError
from tentacle_ha.errors import UnsupportedConstructError

if TYPE_CHECKING:
    from collections.abc import Iterator

__all__ = [
    "ROOT",
    "Decoded",
    "Node",
    "Scan",
    "decode",
    "dominant_newline",
    "line_col",
    "parse_tree",
    "scan",
    "set_value",
    "settings_of",
    "value_of",
]

ROOT: Final = "octopus-settings"
SET: Final = "set"

_BLANK: Final = re.compile(rb"[ \t\r\n\x00]*")
"""Nothing but white space and NULs: an empty file."""
_BOMS: Final = (
    (codecs.BOM_UTF32_LE, None),  # checked before UTF-16 LE, which it starts with
    (codecs.BOM_UTF32_BE, None),
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)
# Encodings where Python and libxml2 agree on every byte (Tentacle itself
# reads UTF-8 or UTF-16 by BOM and ignores the declaration).
_SUPPORTED: Final = frozenset(
    {"utf-8", "utf-16-le", "utf-16-be", "ascii", "iso8859-1", "iso8859-15", "cp1252"}
)
_DECLARED = re.compile(
    rb"""\A<\?xml\s[^>]*?encoding\s*=\s*["']([A-Za-z][A-Za-z0-9._-]*)["']""",
)

# Tokens of well-formed XML without a DOCTYPE. Only ever run on text that
# lxml has accepted (or, for the prolog check, on a prefix of it).
_TOKEN = re.compile(
    r"""
    (?P<text>[^<]+)
    |(?P<comment><!--.*?-->)
    |(?P<cdata><!\[CDATA\[.*?\]\]>)
    |(?P<pi><\?.*?\?>)
    |(?P<end></[^\s>]+\s*>)
    |(?P<start><(?P<name>[^\s/>!?]+)(?P<attrs>(?:\s+[^\s=/>]+\s*=\s*(?:"[^"]*"|'[^']*'))*)\s*(?P<empty>/?)>)
    |(?P<decl><!)
    """,
    re.DOTALL | re.VERBOSE,
)
_ATTR = re.compile(r"""([^\s=/>]+)\s*=\s*(["'])""")


class Decoded:
    """The text of a document and how to turn it back into the same bytes."""

    __slots__ = ("_newline", "bom", "codec", "text")

    def __init__(self, bom: bytes, codec: str, text: str) -> None:
        self.bom = bom
        self.codec = codec
        self.text = text
        self._newline: str | None = None

    @property
    def newline(self) -> str:
        """`dominant_newline` of the text, counted once, when first asked."""
        newline = self._newline
        if newline is None:
            newline = self._newline = dominant_newline(self.text)
        return newline

    def encode(self, text: str) -> bytes:
        return self.bom + text.encode(self.codec)

    def can_encode(self, char: str) -> bool:
        try:
            char.encode(self.codec)
        except UnicodeEncodeError:
            return False
        return True


def line_col(text: str, offset: int) -> tuple[int, int]:
    """1-based line and column (in characters) of *offset* in *text*.

    CRLF counts as one line break, as do lone CR and LF (XML's rules).
    """
    before = text[:offset]
    line = before.count("\n") + before.count("\r") - before.count("\r\n") + 1
    start = max(before.rfind("\n"), before.rfind("\r")) + 1
    return line, offset - start + 1


def dominant_newline(text: str) -> str:
    """The newline most used in *text* (CRLF, LF or CR); "" if it has none."""
    crlf = text.count("\r\n")
    lf = text.count("\n") - crlf
    cr = text.count("\r") - crlf
    best = max(crlf, lf, cr)
    if best == 0:
        return ""
    if best == crlf:
        return "\r\n"
    return "\n" if best == lf else "\r"


def _declared_codec(data: bytes, path: str) -> str:
    """The codec the XML declaration names (UTF-8 without one), if supported."""
    declared = _DECLARED.match(data)
    name = declared.group(1).decode("ascii") if declared else "utf-8"
    try:
        codec = codecs.lookup(name).name
    except LookupError:
        raise ConfigEncodingError(
            f"unknown encoding {name!r} in the XML declaration",
            path=path,
            line=1,
            col=1,
        ) from None
    if codec == "utf-16":
        raise ConfigEncodingError(
            f"encoding {name!r} needs a byte order mark", path=path, line=1, col=1
        )
    if codec not in _SUPPORTED:
        raise ConfigEncodingError(
            f"encoding {name!r} is not supported (Tentacle reads its file as "
            "UTF-8; supported: UTF-8, UTF-16 with a BOM, ASCII, ISO-8859-1, "
            "ISO-8859-15, windows-1252)",
            path=path,
            line=1,
            col=1,
        )
    return codec


# The first four bytes of an XML document (its "<?" or "<", maybe after
# whitespace) in UTF-16 or UTF-32 without a byte-order mark (XML 1.0 F.1).
_BOMLESS: Final = (
    (re.compile(rb"\A[\t\n\r <]\x00\x00\x00"), "UTF-32 (little-endian)"),
    (re.compile(rb"\A\x00\x00\x00[\t\n\r <]"), "UTF-32 (big-endian)"),
    (re.compile(rb"\A[\t\n\r <]\x00[^\x00]\x00"), "UTF-16 (little-endian)"),
    (re.compile(rb"\A\x00[\t\n\r <]\x00[^\x00]"), "UTF-16 (big-endian)"),
)


def _refuse_bomless_utf16(data: bytes, path: str) -> None:
    """Say what is wrong with a UTF-16 (or UTF-32) file that has no BOM.

    Tentacle picks UTF-16 by its BOM only, and Python would read the bytes
    as UTF-8 with NULs; refuse with the reason rather than misread it.
    """
    for pattern, name in _BOMLESS:
        if pattern.match(data):
            raise ConfigEncodingError(
                f"{name} without a byte-order mark: Tentacle reads UTF-16 only "
                "with one; save the file as UTF-8 or as UTF-16 with a BOM",
                path=path,
                line=1,
                col=1,
            )


def decode(data: bytes, path: str) -> Decoded:
    """Decode *data* the way the file says it is encoded, losslessly.

    A BOM decides the encoding; without one, the XML declaration does; without
    that, UTF-8. The result re-encodes to exactly *data*.

    Raises:
        ConfigParseError: the file is empty.
        ConfigEncodingError: unknown or unsupported encoding, bytes that do not
            decode, or an encoding that does not round-trip.
    """
    if _BLANK.fullmatch(data):  # (`bytes.strip` would copy the file to tell)
        raise ConfigParseError("file is empty", path=path, line=1, col=1)
    bom, codec = b"", ""
    for mark, name in _BOMS:
        if data.startswith(mark):
            if name is None:
                raise ConfigEncodingError(
                    "UTF-32 files are not supported", path=path, line=1, col=1
                )
            bom, codec = mark, name
            break
    if not codec:
        _refuse_bomless_utf16(data, path)
        codec = _declared_codec(data, path)
    body = data[len(bom) :]
    try:
        text = body.decode(codec)
    except UnicodeDecodeError as exc:
        good = body[: exc.start].decode(codec, errors="replace")
        line, col = line_col(good, len(good))
        raise ConfigEncodingError(
            f"bytes do not decode as {codec} (byte offset {len(bom) + exc.start})",
            path=path,
            line=line,
            col=col,
        ) from None
    # Strict UTF-8 decoding is one-to-one (no overlong forms, no encoded
    # surrogates), so only the other codecs need the check.
    if codec != "utf-8" and text.encode(codec) != body:
        raise ConfigEncodingError(
            f"encoding {codec!r} does not round-trip byte for byte",
            path=path,
            line=1,
            col=1,
        )
    return Decoded(bom, codec, text)


_parsers = threading.local()


def _parser() -> etree.XMLParser:
    parser: etree.XMLParser | None = getattr(_parsers, "parser", None)
    if parser is None:
        parser = etree.XMLParser(
            resolve_entities=False,
            no_network=True,
            load_dtd=False,
            dtd_validation=False,
            huge_tree=False,
            remove_blank_text=False,
            remove_comments=False,
            remove_pis=False,
            strip_cdata=True,
            collect_ids=False,
        )
        _parsers.parser = parser
    return parser


def _refuse_doctype(text: str, path: str) -> None:
    """Refuse a DOCTYPE (and so any entity declaration) before lxml sees it."""
    pos = 0
    for match in _TOKEN.finditer(text):
        if match.start() != pos:  # not tokenisable: leave it to lxml
            return
        pos = match.end()
        kind = match.lastgroup
        if kind == "decl":
            line, col = line_col(text, match.start())
            raise UnsafeXMLError(
                "DOCTYPE and entity declarations are refused (never resolved)",
                path=path,
                line=line,
                col=col,
            )
        if kind in {"start", "end"}:
            return


# libxml2 follows some messages with the document's text (an unclosed CDATA
# section or comment quotes what follows it, secrets included): only the
# first line is the message, and the position says where.
_MESSAGE_MAX: Final = 120


def _parser_message(raw: str | None) -> str:
    """The parser's message on one line, without any document text after it."""
    lines = (raw or "").strip().splitlines()
    message = lines[0].strip() if lines else ""
    message = re.sub(r", line \d+, column \d+$", "", message) or "malformed XML"
    if len(message) > _MESSAGE_MAX:
        message = message[: _MESSAGE_MAX - 3] + "..."
    return message


def parse_tree(
    data: bytes, text: str, path: str, *, prolog_checked: bool = False
) -> etree._Element:
    """Parse with hardened lxml and return the root element.

    *prolog_checked*: the caller has matched the prolog and knows it holds no
    DOCTYPE (the fast path's own regex), so the tokenizer need not look.

    Raises:
        UnsafeXMLError: a DOCTYPE or entity declaration.
        ConfigParseError: lxml rejects the document, or the root is wrong.
    """
    if not prolog_checked:
        _refuse_doctype(text, path)
    try:
        root = etree.fromstring(data, _parser())
    except etree.XMLSyntaxError as exc:
        line, col = exc.position
        raise ConfigParseError(
            f"malformed XML: {_parser_message(exc.msg)}",
            path=path,
            line=line or 1,
            col=col or 1,
        ) from None
    except (ValueError, TypeError) as exc:  # e.g. lxml refusing an odd encoding
        raise ConfigParseError(
            f"malformed XML: {_parser_message(str(exc))}", path=path, line=1, col=1
        ) from None
    if root.getroottree().docinfo.doctype:  # defence in depth
        raise UnsafeXMLError(
            "DOCTYPE and entity declarations are refused (never resolved)",
            path=path,
            line=1,
            col=1,
        )
    return root


class Node:
    """One child of the root: whitespace, a <set>, or anything else (kept verbatim).

    For a <set>: ``start_tag`` is its start tag as written (for a self-closing
    element, the whole element), ``content`` the raw text between the tags,
    ``value`` lxml's reading of that text, ``key`` lxml's reading of the key.
    """

    __slots__ = (
        "content",
        "end_tag",
        "key",
        "kind",
        "offset",
        "original_tag",
        "start_tag",
        "text",
        "value",
    )

    WS: Final = "ws"
    SET: Final = "set"
    OTHER: Final = "other"

    def __init__(  # noqa: PLR0917 -- a plain record, built positionally on the hot path
        self,
        kind: str,
        text: str,
        offset: int,
        key: str = "",
        start_tag: str = "",
        content: str = "",
        value: str = "",
    ) -> None:
        self.kind = kind
        self.text = text
        self.offset = offset
        self.key = key
        self.start_tag = start_tag
        self.original_tag = start_tag
        self.end_tag = ""  # learnt on the first edit: '</set>' or e.g. '</set >'
        self.content = content
        self.value = value

    @property
    def self_closing(self) -> bool:
        return self.start_tag.endswith("/>")

    @property
    def content_offset(self) -> int:
        """Offset of the content in the original text (or -1 for new nodes)."""
        if self.offset < 0:
            return -1
        return self.offset + len(self.start_tag)

    @property
    def quote(self) -> str:
        match = _ATTR.search(self.start_tag)
        return match.group(2) if match else '"'


class Scan:
    """The document as head + children of the root + tail."""

    __slots__ = ("head", "nodes", "root_self_closing", "tail")

    def __init__(
        self, head: str, nodes: list[Node], tail: str, *, root_self_closing: bool
    ) -> None:
        self.head = head
        self.nodes = nodes
        self.tail = tail
        self.root_self_closing = root_self_closing

    def render(self) -> str:
        parts = [self.head]
        parts.extend(node.text for node in self.nodes)
        parts.append(self.tail)
        return "".join(parts)


def _tokens(text: str, start: int) -> Iterator[re.Match[str]]:
    pos = start
    for match in _TOKEN.finditer(text, start):
        if match.start() != pos:
            line, col = line_col(text, pos)
            raise InternalError(
                "scanner lost its place in XML that lxml accepted",
                line=line,
                col=col,
            )
        pos = match.end()
        yield match


def value_of(elem: etree._Element) -> str:
    """The text of a <set> as Tentacle's XmlSerializer reads it."""
    parts = [elem.text or ""]
    parts.extend(child.tail or "" for child in elem)
    return "".join(parts)


# The common case, matched in one step: whitespace, then a <set> whose only
# attribute is a plain key and whose content is plain text. For these, XML's
# only transformation is newline normalisation, so no tree walk is needed.
_SIMPLE_SET = re.compile(
    r"""([ \t\r\n]*)(<set\s+key\s*=\s*(?:"([^"<&\t\r\n]*)"|'([^'<&\t\r\n]*)')\s*"""
    r"""(?:/>|>([^<&]*)</set\s*>))"""
)


def _plain_value(raw: str) -> str:
    if "\r" in raw:
        return raw.replace("\r\n", "\n").replace("\r", "\n")
    return raw


class _Walker:
    """Scans the children of the root, one child at a time."""

    __slots__ = ("count", "elements", "path", "root", "text")

    def __init__(self, text: str, root: etree._Element, path: str) -> None:
        self.text = text
        self.root = root
        self.path = path
        self.count = 0  # element children seen so far
        self.elements: list[etree._Element] | None = None

    def element(self, index: int) -> etree._Element:
        if self.elements is None:
            self.elements = [c for c in self.root if isinstance(c.tag, str)]
        if index >= len(self.elements):  # pragma: no cover - lxml agrees
            raise InternalError("more elements than lxml saw", path=self.path)
        return self.elements[index]

    def error(
        self, cls: type[UnsupportedConstructError], message: str, at: int
    ) -> None:
        line, col = line_col(self.text, at)
        raise cls(message, path=self.path, line=line, col=col)

    def walk(self, pos: int) -> tuple[list[Node], int]:
        """Nodes from *pos* to the root's end tag; returns them and its offset."""
        text = self.text
        nodes: list[Node] = []
        simple = _SIMPLE_SET.match
        append = nodes.append
        ws_kind, set_kind = Node.WS, Node.SET
        while True:
            match = simple(text, pos)
            if match is not None:
                ws, whole, key, key2, raw = match.groups()
                start = match.start(2)
                if ws:
                    append(Node(ws_kind, ws, pos))
                if key is None:
                    key = key2
                if raw is None:
                    append(Node(set_kind, whole, start, key, whole))
                else:
                    tag = whole[: match.start(5) - start]
                    value = _plain_value(raw) if "\r" in raw else raw
                    append(Node(set_kind, whole, start, key, tag, raw, value))
                self.count += 1
                pos = match.end()
                continue
            end = self._slow(pos, nodes)
            if end < 0:
                return nodes, pos
            pos = end

    def _slow(self, pos: int, nodes: list[Node]) -> int:  # noqa: C901, PLR0912 -- one child, every shape
        """Scan one child at *pos* with the general tokenizer; -1 at the root's end."""
        text = self.text
        tokens = _tokens(text, pos)
        first = next(tokens)
        kind = first.lastgroup
        if kind == "end":
            return -1
        if kind == "text":
            node_kind = Node.WS if not first.group().strip() else Node.OTHER
            nodes.append(Node(node_kind, first.group(), pos))
            return first.end()
        if kind != "start":
            nodes.append(Node(Node.OTHER, first.group(), pos))
            return first.end()
        elem = self.element(self.count)
        self.count += 1
        is_set = elem.tag == SET and first.group("name") == SET
        if is_set and elem.get("key") is None:
            self.error(UnsupportedConstructError, "<set> has no key attribute", pos)
        if first.group("empty"):
            if is_set:
                whole = first.group()
                key = elem.get("key", "")
                nodes.append(Node(Node.SET, whole, pos, key=key, start_tag=whole))
            else:
                nodes.append(Node(Node.OTHER, first.group(), pos))
            return first.end()
        depth = 1
        for match in tokens:
            kind = match.lastgroup
            if kind == "start":
                if is_set:
                    self.error(
                        UnsupportedConstructError,
                        f"element <{match.group('name')}> inside <set>: Tentacle "
                        "settings hold text only",
                        match.start(),
                    )
                if not match.group("empty"):
                    depth += 1
            elif kind == "end":
                depth -= 1
                if depth == 0:
                    whole = text[pos : match.end()]
                    if not is_set:
                        nodes.append(Node(Node.OTHER, whole, pos))
                    else:
                        nodes.append(
                            Node(
                                Node.SET,
                                whole,
                                pos,
                                key=elem.get("key", ""),
                                start_tag=first.group(),
                                content=text[first.end() : match.start()],
                                value=value_of(elem),
                            )
                        )
                    return match.end()
        raise InternalError(  # pragma: no cover - lxml guarantees closed elements
            "element not closed", path=self.path
        )


def scan(text: str, root: etree._Element, path: str) -> Scan:
    """Split lxml-accepted *text* into head, root children and tail.

    Raises:
        ConfigParseError: the root element is not <octopus-settings>.
        UnsupportedConstructError: a <set> without a key, or with an element inside.
        InternalError: the scanner and lxml disagree.
    """
    root_match: re.Match[str] | None = None
    for match in _tokens(text, 0):
        if match.lastgroup == "start":
            root_match = match
            break
    if root_match is None:  # pragma: no cover - lxml guarantees a root
        raise InternalError("no root element found", path=path)
    if root.tag != ROOT or root_match.group("name") != ROOT:
        line, col = line_col(text, root_match.start())
        name = root_match.group("name")
        namespace = etree.QName(root).namespace
        if namespace and root.prefix is None:
            name += f" xmlns={namespace!r}"
        raise ConfigParseError(
            f"root element is <{name}>, expected <{ROOT}>: not a Tentacle.config",
            path=path,
            line=line,
            col=col,
        )
    head = text[: root_match.end()]
    if root_match.group("empty"):
        return Scan(head, [], text[root_match.end() :], root_self_closing=True)
    walker = _Walker(text, root, path)
    nodes, end = walker.walk(root_match.end())
    element_count = sum(1 for c in root if isinstance(c.tag, str))
    if walker.count != element_count:  # pragma: no cover - defensive
        raise InternalError("the scanner and lxml count different elements", path=path)
    return Scan(head, nodes, text[end:], root_self_closing=False)


def settings_of(root: etree._Element) -> list[tuple[str, str]]:
    """``(key, value)`` of every <set> child, in order, as lxml reads them."""
    return [
        (child.get("key", ""), value_of(child) if len(child) else child.text or "")
        for child in root
        if child.tag == SET
    ]


# Characters XML 1.0 does not allow in text: the complement of its Char
# production (tab, LF, CR, U+0020-U+D7FF, U+E000-U+FFFD, U+10000-U+10FFFF),
# spelled as the few ranges outside it. The same class written as a negation
# of those wide ranges costs the regex compiler about 10 ms, at every start.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
# The ASCII ones it does not (C0 controls but tab, LF and CR), as bytes for
# `bytes.translate`, which drops them at C speed (a regex class or
# `str.isprintable` looks at a character at a time, several times slower).
_NOT_XML_ASCII: Final = bytes([*range(0x09), 0x0B, 0x0C, *range(0x0E, 0x20)])


def _not_xml(value: str) -> re.Match[str] | None:
    """The first character of *value* XML 1.0 cannot carry, or None."""
    if value.isascii():
        data = value.encode()
        if len(data.translate(None, _NOT_XML_ASCII)) == len(data):
            return None
    return _NOT_XML.search(value)


def set_value(
    node: Node,
    value: str,
    *,
    escape_quotes: bool,
    newline: str,
    decoded: Decoded,
    empty_style: str,
) -> None:
    """Give a <set> node a new value, written in the file's own style.

    An empty value gives a self-closing element, as Tentacle writes null, in
    *empty_style* (" />" or "/>"; a non-empty value does not read it). The
    start and end tags are kept as written; a tag that must change form
    (self-closing <-> open) is derived from the original, so that setting the
    original value back gives back the original bytes.
    """
    if not node.end_tag:
        if node.self_closing:
            node.end_tag = "</set>"
        else:
            node.end_tag = node.text[len(node.start_tag) + len(node.content) :]
    original = node.original_tag
    original_empty = original.endswith("/>")
    if not value:
        if original_empty:
            node.start_tag = original
        else:
            node.start_tag = original[:-1].rstrip() + empty_style
        node.content = ""
        node.value = ""
        node.text = node.start_tag
        return
    node.start_tag = original[:-2].rstrip() + ">" if original_empty else original
    node.content = escape_text(
        value, escape_quotes=escape_quotes, newline=newline, decoded=decoded
    )
    node.value = value
    node.text = node.start_tag + node.content + node.end_tag


def escape_text(
    value: str, *, escape_quotes: bool, newline: str, decoded: Decoded
) -> str:
    """Escape *value* for XML text content in the style of the file.

    ``&``, ``<`` and ``>`` always; ``"`` and ``'`` when the file escapes them;
    CR as a character reference (it would not survive XML's newline
    normalisation); LF as the file's newline; characters the file's encoding
    cannot hold as character references.

    Raises:
        ValueError: *value* holds a character XML 1.0 does not allow.
    """
    bad = _not_xml(value)
    if bad:
        msg = f"character U+{ord(bad.group()):04X} is not allowed in XML"
        raise ValueError(msg)
    out = value
    if "&" in out or "<" in out or ">" in out:  # (three C searches, no copies)
        out = out.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    if escape_quotes:
        out = out.replace('"', "&quot;").replace("'", "&apos;")
    if "\r" in out:
        out = out.replace("\r", "&#xD;")
    if newline and newline != "\n":
        out = out.replace("\n", newline)
    if not decoded.codec.startswith("utf"):
        out = "".join(c if decoded.can_encode(c) else f"&#x{ord(c):X};" for c in out)
    return out


def escape_attr(value: str, quote: str) -> str:
    """Escape *value* for an attribute delimited by *quote*."""
    out = value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    out = out.replace(quote, "&quot;" if quote == '"' else "&apos;")
    return out.replace("\t", "&#x9;").replace("\n", "&#xA;").replace("\r", "&#xD;")


def raw_offset(raw: str, index: int) -> int:
    """Map an index into the decoded value to an index into its *raw* text.

    Used to point a JSON error inside a value at the right file column.
    """
    pos = 0
    seen = 0
    length = len(raw)
    while pos < length and seen < index:
        if raw.startswith("<![CDATA[", pos):
            end = raw.find("]]>", pos)
            inner_start = pos + 9
            take = min(index - seen, end - inner_start)
            seen += take
            pos = inner_start + take
            if seen < index:
                pos = end + 3
            continue
        if raw.startswith("<!--", pos):
            pos = raw.find("-->", pos) + 3
            continue
        if raw.startswith("<?", pos):
            pos = raw.find("?>", pos) + 2
            continue
        if raw[pos] == "&":
            pos = raw.find(";", pos) + 1
        elif raw.startswith("\r\n", pos):
            pos += 2
        else:
            pos += 1
        seen += 1
    return pos
