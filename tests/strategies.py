"""Shared Hypothesis strategies: Tentacle.config documents and TrustedServers.

Documents are built from *style choices* drawn with ``st.sampled_from`` (BOM,
encoding, declaration, newlines, indentation, quotes, empty-element form,
escaping, comments, unknown content, ...). The builder writes the text piece by
piece and records, for every ``<set>``, where it starts and ends and the value
an XML reader gets from it, so tests can check the library against facts the
test itself knows, not against the library's own scanner.

TrustedServers arrays are built as lists of JSON fields (valid and odd
thumbprints, numeric and legacy string styles, nulls, missing and unknown
fields) and rendered in Tentacle's compact form (Newtonsoft's escaping), one
entry per line, fully indented, or with spaced separators.
"""

from __future__ import annotations

import codecs
import functools
import json
import string
from typing import TYPE_CHECKING
from typing import Final

import attrs
from hypothesis import strategies as st

from tentacle_ha._secret import Secret
from tentacle_ha.servers import CommunicationStyle
from tentacle_ha.servers import TrustedServer

if TYPE_CHECKING:
    import random

__all__ = [
    "ADDRESS_CLASS",
    "ADDRESS_CLASSES",
    "ASCII_KEYS",
    "HEX",
    "KNOWN_FIELDS",
    "NEW_KEYS",
    "REAL_KEYS",
    "SECRET_KEYS",
    "SUBSCRIPTION_IDS",
    "TRUSTED_KEY",
    "TYPED_VALUES",
    "EntrySpec",
    "GeneratedDoc",
    "JsonEntry",
    "SetSpec",
    "Style",
    "Value",
    "compact_json",
    "documents",
    "edit_values",
    "fold",
    "is_blank",
    "json_entries",
    "newtonsoft_string",
    "render_entries",
    "server_models",
    "sort_key",
    "spellings",
    "styles",
    "tentacle_json",
    "tentacle_styles",
    "thumbprints",
    "wrap_value",
    "xml_chars",
    "xml_text",
]

TRUSTED_KEY: Final = "Tentacle.Communication.TrustedOctopusServers"

# -- drawing helpers ----------------------------------------------------------

_BOOLS: Final = st.booleans()


@functools.cache
def _choice(options: tuple[str, ...]) -> st.SearchStrategy[str]:
    """One of *options* (strategies are cached: documents draw thousands)."""
    return st.sampled_from(options)


@functools.cache
def _ints(low: int, high: int) -> st.SearchStrategy[int]:
    return st.integers(low, high)


# -- characters ---------------------------------------------------------------

_NOT_XML: Final = [chr(c) for c in range(0x20) if chr(c) not in "\t\n\r"] + [
    "\ufffe",
    "\uffff",
]
_SPECIAL: Final = [
    *"<>&\"']\r\n\t -",
    "]]>",
    "\u00e9",
    "\u0085",
    "\u2028",
    "\u2029",
    "\U0001f600",
]


@functools.cache
def xml_chars() -> st.SearchStrategy[str]:
    """Single characters XML 1.0 allows in text (no surrogates, no C0 controls)."""
    return st.characters(exclude_categories=["Cs"], exclude_characters=_NOT_XML)


@functools.cache
def xml_text(*, min_size: int = 0, max_size: int = 24) -> st.SearchStrategy[str]:
    """Text XML can carry, biased towards the characters escaping is about."""
    return st.lists(
        st.one_of(st.sampled_from(_SPECIAL), xml_chars()),
        min_size=min_size,
        max_size=max_size,
    ).map("".join)


# .NET Char.IsWhiteSpace over the characters XML allows: what Tentacle's
# string.IsNullOrWhiteSpace treats as blank.
_DOTNET_SPACE: Final = frozenset(
    "\t\n\x0b\x0c\r \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006"
    "\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000"
)


def is_blank(text: str | None) -> bool:
    """Whether Tentacle stores *text* as null (empty or only white space)."""
    return text is None or all(c in _DOTNET_SPACE for c in text)


def fold(key: str) -> str:
    """Case folding as .NET OrdinalIgnoreCase does it (simple upper case mapping)."""
    out = []
    for char in key:
        upper = char.upper()
        out.append(upper if len(upper) == 1 else char)
    return "".join(out)


def sort_key(key: str) -> tuple[int, ...]:
    """Ordinal order of .NET strings: by UTF-16 code unit."""
    units: list[int] = []
    for char in key:
        code = ord(char)
        if code > 0xFFFF:
            code -= 0x10000
            units.extend((0xD800 + (code >> 10), 0xDC00 + (code & 0x3FF)))
        else:
            units.append(code)
    return tuple(units)


# -- keys and values ----------------------------------------------------------

REAL_KEYS: Final = (
    "Octopus.Home",
    "Tentacle.Deployment.ApplicationDirectory",
    "Tentacle.Services.PortNumber",
    "Tentacle.Services.ListenIP",
    "Tentacle.Services.NoListen",
    TRUSTED_KEY,
    "Tentacle.Communication.PollingConnectionCount",
    "Tentacle.CertificateThumbprint",
    "Tentacle.Certificate",
    "Octopus.Communications.Squid",
    "Octopus.Proxy.UseDefaultProxy",
    "Octopus.Proxy.ProxyHost",
    "Octopus.Proxy.ProxyPassword",
    "Octopus.Server.Proxy.ProxyPort",
    "Octopus.Storage.MasterKey",
)
ASCII_KEYS: Final = st.builds(
    str.__add__,
    st.sampled_from(string.ascii_letters),
    st.text(string.ascii_letters + string.digits + "_.-", max_size=24),
)
_ANY_KEYS: Final = xml_text(min_size=1, max_size=16).filter(lambda k: not is_blank(k))

_PRINTABLE: Final = string.printable.replace("\x0b", "").replace("\x0c", "")
HEX: Final = "0123456789ABCDEF"


@functools.cache
def thumbprints(*, odd: bool = False) -> st.SearchStrategy[str]:
    """Thumbprints as stored: 40 upper-case hex digits, or (odd) anything else."""
    valid = st.text(HEX, min_size=40, max_size=40)
    if not odd:
        return valid
    return st.one_of(
        valid,
        valid.map(str.lower),
        st.text(HEX, min_size=1, max_size=39),
        xml_text(min_size=1, max_size=12).filter(lambda t: t.strip() == t),
    ).filter(lambda t: not is_blank(t))


_REAL_VALUES: Final = st.sampled_from(
    [
        "C:\\Octopus",
        "/etc/octopus/Tentacle",
        "10933",
        "true",
        "False",
        "1",
        "0",
        "poll://abcdefghjkmnpqrstuvw/",
        "C:\\Program Files\\Octopus Deploy\\Tentacle\\\u00e9t\u00e9",
        "MIIKcAIBAzCCCiwGCSqGSIb3DQEHAaCCCh0Egg==",
        "",
        "  ",
    ]
)


_VALUES: Final = st.one_of(_REAL_VALUES, xml_text(), st.text(_PRINTABLE, max_size=40))


def _values() -> st.SearchStrategy[str]:
    return _VALUES


# -- TrustedServers as JSON ---------------------------------------------------

KNOWN_FIELDS: Final = (
    "Thumbprint",
    "CommunicationStyle",
    "Address",
    "Squid",
    "SubscriptionId",
)
_STYLE_NAMES: Final = (
    "None",
    "TentaclePassive",
    "TentacleActive",
    "Ssh",
    "OfflineDrop",
    "AzureWebApp",
    "Ftp",
    "AzureCloudService",
    "AzureServiceFabricCluster",
    "Kubernetes",
    "StepPackage",
    "KubernetesTentacle",
    "AwsEcsCluster",
)
_ADDRESSES: Final = st.sampled_from(
    [
        "https://node1.example.com:10943",
        "https://node2.example.com:10943",
        "https://10.0.255.160:10943",
        "https://lb.example.com:10944",
        "https://[2001:db8::1]:10943",
        "wss://octopus.example.com/OctopusComms",
    ]
)
_MISSING: Final = st.sets(st.sampled_from(KNOWN_FIELDS[1:]))
SUBSCRIPTION_IDS: Final = st.text(
    "bcdefghjkmnpqrstuvwxyz23456789", min_size=20, max_size=20
).map(lambda body: f"poll://{body}/")
_SQUIDS: Final = st.one_of(
    st.none(),
    st.text(string.ascii_uppercase + string.digits, min_size=6, max_size=6).map(
        "SQ-".__add__
    ),
)
_EXTRA_NAMES: Final = st.lists(
    xml_text(min_size=1, max_size=8).filter(
        lambda n: n.lower() not in {k.lower() for k in KNOWN_FIELDS}
    ),
    max_size=2,
    unique=True,
)


@functools.cache
def _nullable(texts: st.SearchStrategy[str]) -> st.SearchStrategy[str | None]:
    return st.one_of(st.none(), _ADDRESSES, SUBSCRIPTION_IDS, texts)


def compact_json(value: object) -> str:
    """JSON text as TrustedServer.extra holds it: compact, non-ASCII kept."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


# Strings in unknown fields leave out U+0085, U+2028 and U+2029: how the
# compact text of an unknown field escapes them is not specified (Tentacle
# drops unknown fields), so the model could not say which text to expect.
_JSON_SCALARS: Final = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**40), 2**40),
    xml_text(max_size=8).filter(lambda t: not {"\x85", "\u2028", "\u2029"} & set(t)),
)


@functools.cache
def _json_values(*, nested: bool) -> st.SearchStrategy[object]:
    if not nested:
        return _JSON_SCALARS
    return st.recursive(
        _JSON_SCALARS,
        lambda inner: st.one_of(
            st.lists(inner, max_size=3),
            st.dictionaries(xml_text(max_size=5), inner, max_size=3),
        ),
        max_leaves=5,
    )


@attrs.frozen
class JsonEntry:
    """One array entry as written: its fields in file order, and its model."""

    fields: tuple[tuple[str, object], ...]
    model: TrustedServer


@st.composite
def json_entries(
    draw: st.DrawFn,
    *,
    tentacle_form: bool = False,
    odd_thumbprints: bool = True,
    text_fields: st.SearchStrategy[str] | None = None,
    extras: bool = True,
    nested_extras: bool = True,
) -> JsonEntry:
    """An entry as some writer might have left it, with the model it reads as.

    *tentacle_form* gives exactly Tentacle's shape: all five fields in order,
    numeric style, nulls written, no unknown fields.
    """
    texts = text_fields if text_fields is not None else xml_text(max_size=12)
    thumb = draw(thumbprints(odd=odd_thumbprints and not tentacle_form))
    style_number = draw(_ints(0, 12))
    style_value: object = style_number
    address = draw(_nullable(texts))
    squid = draw(_SQUIDS)
    sub = draw(_nullable(texts))
    fields: list[tuple[str, object]] = [
        ("Thumbprint", thumb),
        ("CommunicationStyle", style_value),
        ("Address", address),
        ("Squid", squid),
        ("SubscriptionId", sub),
    ]
    if not tentacle_form:
        style_form = draw(_choice(("number", "name", "digits", "null")))
        if style_form == "name":
            fields[1] = ("CommunicationStyle", _STYLE_NAMES[style_number])
        elif style_form == "digits":
            fields[1] = ("CommunicationStyle", str(style_number))
        elif style_form == "null":
            fields[1] = ("CommunicationStyle", None)
            style_number = 0
        # Missing fields read as null (style: 0); the Thumbprint is required.
        missing = draw(_MISSING)
        if "CommunicationStyle" in missing:
            style_number = 0
        fields = [f for f in fields if f[0] not in missing]
        if extras:
            names = draw(_EXTRA_NAMES)
            for name in names:
                value = draw(_json_values(nested=nested_extras))
                fields.append((name, value))
        fields = draw(st.permutations(fields)) if draw(_BOOLS) else fields
        # Newtonsoft matches property names ignoring case.
        if draw(_BOOLS):
            fields = [(k.lower() if k in KNOWN_FIELDS else k, v) for k, v in fields]
    known_lower = {k.lower() for k in KNOWN_FIELDS}
    # Unknown fields are kept in file order.
    extra = [(k, compact_json(v)) for k, v in fields if k.lower() not in known_lower]
    known = {k.lower(): v for k, v in fields}
    address_value = known.get("address")
    squid_value = known.get("squid")
    sub_value = known.get("subscriptionid")
    model = TrustedServer(
        thumbprint=thumb,
        communication_style=CommunicationStyle(style_number),
        address=address_value if isinstance(address_value, str) else None,
        squid=squid_value if isinstance(squid_value, str) else None,
        subscription_id=sub_value if isinstance(sub_value, str) else None,
        extra=tuple(extra),
    )
    return JsonEntry(fields=tuple(fields), model=model)


def server_models(
    *, text_fields: st.SearchStrategy[str] | None = None, nested_extras: bool = True
) -> st.SearchStrategy[TrustedServer]:
    """TrustedServer values with valid thumbprints and arbitrary other fields."""
    return json_entries(
        odd_thumbprints=False, text_fields=text_fields, nested_extras=nested_extras
    ).map(lambda e: e.model)


# Newtonsoft.Json's default string escaping
# (JavaScriptUtils.WriteEscapedJavaScriptString): C0 controls, quote, backslash,
# and U+0085, U+2028, U+2029.
_NEWTONSOFT_ESCAPES: Final = {
    "\t": "\\t",
    "\n": "\\n",
    "\r": "\\r",
    "\f": "\\f",
    "\b": "\\b",
    "\\": "\\\\",
    '"': '\\"',
    "\u0085": "\\u0085",
    "\u2028": "\\u2028",
    "\u2029": "\\u2029",
}


def newtonsoft_string(text: str) -> str:
    """A JSON string literal as Newtonsoft writes it by default."""
    out = []
    for char in text:
        escaped = _NEWTONSOFT_ESCAPES.get(char)
        if escaped is None and char < " ":
            escaped = f"\\u{ord(char):04x}"
        out.append(escaped if escaped is not None else char)
    return '"' + "".join(out) + '"'


def _newtonsoft_value(value: object) -> str:
    if isinstance(value, str):
        return newtonsoft_string(value)
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, list):
        return "[" + ",".join(_newtonsoft_value(v) for v in value) + "]"
    assert isinstance(value, dict)
    body = ",".join(
        f"{newtonsoft_string(k)}:{_newtonsoft_value(v)}" for k, v in value.items()
    )
    return "{" + body + "}"


def _tentacle_fields(server: TrustedServer) -> list[tuple[str, object]]:
    fields: list[tuple[str, object]] = [
        ("Thumbprint", server.thumbprint),
        ("CommunicationStyle", int(server.communication_style)),
        ("Address", server.address),
        ("Squid", server.squid),
        ("SubscriptionId", server.subscription_id),
    ]
    fields.extend((name, json.loads(raw)) for name, raw in server.extra)
    return fields


def tentacle_json(servers: list[TrustedServer]) -> str:
    """The array exactly as Tentacle writes it (compact, field order, nulls)."""
    return render_entries([_tentacle_fields(s) for s in servers], layout="tentacle")


def render_json_value(value: object, *, layout: str, ascii_only: bool) -> str:
    """One value's text as `render_entries` writes it in *layout*."""
    if ascii_only or layout == "compact":  # as Python's json writes it
        return json.dumps(value, ensure_ascii=ascii_only, separators=(",", ":"))
    return _newtonsoft_value(value)


def render_entries(
    entries: list[list[tuple[str, object]]],
    *,
    layout: str,
    newline: str = "\n",
    indent: str = "  ",
    ascii_only: bool = False,
) -> str:
    """Render entries (field lists) in one of the layouts people and tools write.

    Layouts: ``tentacle`` (compact, Newtonsoft escaping), ``compact`` (as
    Python's json writes it), ``spaced`` (``", "`` and ``": "``), ``per_line``
    (one compact entry per line, as the Octopus HA docs show) and
    ``indented`` (Newtonsoft Formatting.Indented).
    """

    def string_of(value: object) -> str:
        return render_json_value(value, layout=layout, ascii_only=ascii_only)

    key_sep = ": " if layout in {"spaced", "indented"} else ":"
    item_sep = ", " if layout == "spaced" else ","
    if layout == "indented":
        if not entries:
            return "[]"
        blocks = []
        for fields in entries:
            lines = [
                f"{indent * 2}{string_of(k)}{key_sep}{string_of(v)}" for k, v in fields
            ]
            body = ("," + newline).join(lines)
            blocks.append(f"{indent}{{{newline}{body}{newline}{indent}}}")
        return "[" + newline + ("," + newline).join(blocks) + newline + "]"
    objects = [
        "{"
        + item_sep.join(f"{string_of(k)}{key_sep}{string_of(v)}" for k, v in f)
        + "}"
        for f in entries
    ]
    if layout == "per_line" and objects:
        joined = ("," + newline + indent).join(objects)
        return "[" + newline + indent + joined + newline + "]"
    return "[" + item_sep.join(objects) + "]"


# -- document styles ----------------------------------------------------------


_UTF8_NAMES: Final = ("utf-8", "UTF-8", "Utf-8")
_UTF16_NAMES: Final = ("utf-16", "UTF-16")
_SINGLE_BYTE: Final = {
    "iso-8859-1": ("ISO-8859-1", "iso-8859-1"),
    "cp1252": ("windows-1252", "Windows-1252"),
}


_DECLARATION_FORMS: Final = st.sampled_from(
    ["none", "tentacle", "create-instance", "single", "bare", "standalone"]
)
_ENCODINGS: Final = st.sampled_from(
    ["utf-8", "utf-8-bom", "utf-16-le", "utf-16-be", "iso-8859-1", "cp1252"]
)


@attrs.frozen(kw_only=True)
class Style:
    """Every layout choice a document is built from (shown by Hypothesis on failure)."""

    codec: str
    bom: bytes
    declaration: str
    newline: str  # "\n", "\r\n", "mixed" (LF and CRLF) or "" (one line)
    indent: str
    xmlns: tuple[str, ...]
    root_attrs: str
    quote: str  # '"', "'" or "mixed"
    empty: str  # " />", "/>", "></set>" or "mixed"
    escape_quotes: str  # "literal", "entity" or "mixed"
    char_refs: bool
    cdata: bool
    inner_misc: bool
    outer_misc: bool
    unknown_attrs: bool
    spaced_attrs: bool
    spaced_end_tags: bool
    sorted_keys: bool
    case_duplicates: bool
    tail: str
    head_misc: str
    self_closing_root: bool


_XMLNS: Final = (
    'xmlns:xsd="http://www.w3.org/2001/XMLSchema"',
    'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"',
)


def _declaration(draw: st.DrawFn, codec: str) -> str:
    if codec in _SINGLE_BYTE:
        names: tuple[str, ...] = _SINGLE_BYTE[codec]
        form = draw(_choice(("tentacle", "single", "spaced")))
    else:
        names = _UTF16_NAMES if codec.startswith("utf-16") else _UTF8_NAMES
        form = draw(_DECLARATION_FORMS)
    name = draw(_choice(names))
    return {
        "none": "",
        "tentacle": f'<?xml version="1.0" encoding="{name}"?>',
        "create-instance": f"<?xml version='1.0' encoding='{name}' ?>",
        "single": f"<?xml version='1.0' encoding='{name}'?>",
        "spaced": f'<?xml  version = "1.0"  encoding = "{name}" ?>',
        "bare": '<?xml version="1.0"?>',
        "standalone": f'<?xml version="1.0" encoding="{name}" standalone="yes"?>',
    }[form]


@st.composite
def styles(draw: st.DrawFn) -> Style:
    """Any combination of the layout choices a Tentacle.config can show."""
    encoding = draw(_ENCODINGS)
    codec = "utf-8" if encoding == "utf-8-bom" else encoding
    bom = {
        "utf-8-bom": codecs.BOM_UTF8,
        "utf-16-le": codecs.BOM_UTF16_LE,
        "utf-16-be": codecs.BOM_UTF16_BE,
    }.get(encoding, b"")
    declaration = _declaration(draw, codec)
    xmlns_order = draw(_choice(("none", "xsd-xsi", "xsi-xsd")))
    xmlns = {"none": (), "xsd-xsi": _XMLNS, "xsi-xsd": _XMLNS[::-1]}[xmlns_order]
    return Style(
        codec=codec,
        bom=bom,
        declaration=declaration,
        newline=draw(_choice(("\n", "\r\n", "mixed", ""))),
        indent=draw(_choice(("", "  ", "    ", "\t"))),
        xmlns=xmlns,
        root_attrs=draw(_choice(("", ' version="1"', " a='b'"))),
        quote=draw(_choice(('"', "'", "mixed"))),
        empty=draw(_choice((" />", "/>", "></set>", "mixed"))),
        escape_quotes=draw(_choice(("literal", "entity", "mixed"))),
        char_refs=draw(_BOOLS),
        cdata=draw(_BOOLS),
        inner_misc=draw(_BOOLS),
        outer_misc=draw(_BOOLS),
        unknown_attrs=draw(_BOOLS),
        spaced_attrs=draw(_BOOLS),
        spaced_end_tags=draw(_BOOLS),
        sorted_keys=draw(_BOOLS),
        case_duplicates=draw(_BOOLS),
        tail=draw(_choice(("", "newline", "newline2", "comment", "spaces"))),
        head_misc=draw(_choice(("", "comment", "pi"))),
        self_closing_root=draw(_BOOLS),
    )


def tentacle_styles() -> st.SearchStrategy[Style]:
    """Exactly what Tentacle writes: BOM, its declaration, 2 spaces, sorted keys."""
    return st.builds(
        Style,
        codec=st.just("utf-8"),
        bom=st.just(codecs.BOM_UTF8),
        declaration=st.just('<?xml version="1.0" encoding="utf-8"?>'),
        newline=st.sampled_from(["\r\n", "\n"]),
        indent=st.just("  "),
        xmlns=st.just(_XMLNS),
        root_attrs=st.just(""),
        quote=st.just('"'),
        empty=st.just(" />"),
        escape_quotes=st.just("literal"),
        char_refs=st.just(False),  # noqa: FBT003 -- a field value, not a flag
        cdata=st.just(False),  # noqa: FBT003
        inner_misc=st.just(False),  # noqa: FBT003
        outer_misc=st.just(False),  # noqa: FBT003
        unknown_attrs=st.just(False),  # noqa: FBT003
        spaced_attrs=st.just(False),  # noqa: FBT003
        spaced_end_tags=st.just(False),  # noqa: FBT003
        sorted_keys=st.just(True),  # noqa: FBT003
        case_duplicates=st.just(False),  # noqa: FBT003
        tail=st.just(""),
        head_misc=st.just(""),
        self_closing_root=st.just(False),  # noqa: FBT003
    )


# -- the generated document ---------------------------------------------------


@attrs.frozen(kw_only=True)
class SetSpec:
    """One ``<set>`` as generated; offsets index `GeneratedDoc.text`."""

    key: str  # as an XML reader reads the attribute
    value: str  # as an XML reader reads the content ("" when empty)
    raw: str  # the content as written
    start: int  # '<set'
    content_start: int  # just after the start tag (the end, when self-closing)
    content_end: int  # '</set>' (the end, when self-closing)
    end: int  # just after the element
    self_closing: bool


@attrs.frozen(kw_only=True)
class EntrySpec:
    """A key and value to write into a generated document."""

    key: str
    value: str


@attrs.frozen(kw_only=True)
class GeneratedDoc:
    """A generated Tentacle.config with everything the test knows about it."""

    data: bytes
    text: str
    style: Style
    sets: tuple[SetSpec, ...]
    root_start: int
    tail: str  # the text after the root element

    def byte_offset(self, offset: int) -> int:
        """The byte offset of text offset *offset*."""
        return len(self.style.bom) + len(self.text[:offset].encode(self.style.codec))

    def expected(self) -> dict[str, tuple[str, str]]:
        """Tentacle's reading: folded key -> (first spelling, last value)."""
        out: dict[str, tuple[str, str]] = {}
        for spec in self.sets:
            folded = fold(spec.key)
            first = out[folded][0] if folded in out else spec.key
            out[folded] = (first, spec.value)
        return out

    def singles(self) -> list[SetSpec]:
        """The sets whose key occurs once (ignoring case)."""
        counts: dict[str, int] = {}
        for spec in self.sets:
            counts[fold(spec.key)] = counts.get(fold(spec.key), 0) + 1
        return [s for s in self.sets if counts[fold(s.key)] == 1]

    def escapes_quotes(self) -> bool:
        """Whether some value in the file is written with ``&quot;``."""
        return any("&quot;" in s.raw for s in self.sets)


_COMMENTS: Final = (
    "<!---->",
    "<!-- comment -->",
    "<!--written by hand: a-b-->",
    '<!-- <set key="Commented.Out">x</set> -->',
)
_PIS: Final = ("<?pi?>", '<?tentacle-ha note="1"?>', '<?x <set key="InPI">?>')
_UNKNOWN_ELEMENTS: Final = (
    "<unknown />",
    "<unknown></unknown>",
    '<Set key="Capital.Set">not a setting</Set>',
    '<group><set key="Nested.Set">inner</set></group>',
    "<note a='1'>text &amp; more<!-- c --><b/></note>",
)
_UNKNOWN_ATTRS: Final = ('extra="1"', "note='x &amp; y'", 'version=""')


class _Writer:
    """Appends text and tracks offsets; knows the style's per-item choices."""

    def __init__(self, draw: st.DrawFn, style: Style) -> None:
        self.draw = draw
        # Per-character spelling choices come from one seeded Random: drawing
        # each through Hypothesis made documents ten times slower to build.
        self.rng: random.Random = draw(st.randoms(use_true_random=True))
        self.style = style
        self.parts: list[str] = []
        self.length = 0

    def add(self, text: str) -> int:
        start = self.length
        self.parts.append(text)
        self.length += len(text)
        return start

    def text(self) -> str:
        return "".join(self.parts)

    def choose(self, options: tuple[str, ...] | list[str]) -> str:
        return self.rng.choice(options)

    def randint(self, low: int, high: int) -> int:
        return self.rng.randint(low, high)

    def coin(self) -> bool:
        return bool(self.rng.getrandbits(1))

    def newline(self) -> str:
        choice = self.style.newline
        if choice == "mixed":
            return self.choose(("\n", "\r\n"))
        return choice

    def pick(self, choice: str, options: list[str]) -> str:
        return self.choose(options) if choice == "mixed" else choice

    def encodable(self, char: str) -> bool:
        if self.style.codec.startswith("utf"):
            return True
        try:
            char.encode(self.style.codec)
        except UnicodeEncodeError:
            return False
        return True

    def char_ref(self, char: str) -> str:
        form = self.choose(("&#{};", "&#x{:X};", "&#x{:x};"))
        return form.format(ord(char))

    def literal_or_ref(self, char: str) -> str:
        if not self.encodable(char):
            return self.char_ref(char)
        if self.style.char_refs and self.randint(0, 7) == 0:
            return self.char_ref(char)
        return char


# Characters with a fixed set of spellings in element content, the plain one
# first. A literal CR would read as LF, so CR is always a character reference;
# a literal newline may be LF or CRLF (both read as LF).
_TEXT_FORMS: Final = {
    "&": ("&amp;", "&#38;", "&#x26;"),
    "<": ("&lt;", "&#60;", "&#x3C;"),
    ">": ("&gt;", ">", "&#62;"),
    "\r": ("&#xD;", "&#13;", "&#xd;"),
    "\n": ("\n", "\r\n", "&#xA;"),
}
_QUOTE_ENTITIES: Final = {'"': "&quot;", "'": "&apos;"}


def _text_char(w: _Writer, char: str, before: str) -> str:
    """How one character of a value is written in element content."""
    if char == ">" and before.endswith("]]"):
        return "&gt;"  # a literal ']]>' is not allowed in text
    forms = _TEXT_FORMS.get(char)
    if forms is not None:
        return w.choose(forms) if w.style.char_refs else forms[0]
    entity = _QUOTE_ENTITIES.get(char)
    if entity is not None:
        style = w.pick(w.style.escape_quotes, ["literal", "entity"])
        if style == "entity":
            return entity
    return w.literal_or_ref(char)


def _cdata_ok(w: _Writer, chunk: str) -> bool:
    return "]]>" not in chunk and "\r" not in chunk and all(map(w.encodable, chunk))


def _content(w: _Writer, value: str) -> str:
    """The raw element content for *value*, in the style's escaping."""
    out = ""
    i = 0
    while i < len(value):
        if w.style.inner_misc and w.randint(0, 5) == 0:
            out += w.choose(_COMMENTS[:3] + _PIS)
        if w.style.cdata and w.randint(0, 4) == 0:
            size = w.randint(1, len(value) - i)
            chunk = value[i : i + size]
            if _cdata_ok(w, chunk):
                out += "<![CDATA[" + chunk.replace("\n", w.newline() or "\n") + "]]>"
                i += size
                continue
        out += _text_char(w, value[i], out)
        i += 1
    if w.style.inner_misc and w.randint(0, 3) == 0:
        out += w.choose(_COMMENTS[:3] + _PIS)
    return out


def _attr_value(w: _Writer, key: str, quote: str) -> str:
    out = []
    for char in key:
        if char == "&":
            out.append("&amp;")
        elif char == "<":
            out.append("&lt;")
        elif char == quote:
            out.append("&quot;" if quote == '"' else "&apos;")
        elif char in "\t\n\r":  # literal ones would read as spaces
            out.append(w.char_ref(char))
        else:
            out.append(w.literal_or_ref(char))
    return "".join(out)


def _start_tag_attrs(w: _Writer, key: str) -> str:
    quote = w.pick(w.style.quote, ['"', "'"])
    equals = w.choose(("=", " = ")) if w.style.spaced_attrs else "="
    attrs_ = [f"key{equals}{quote}{_attr_value(w, key, quote)}{quote}"]
    if w.style.unknown_attrs and w.coin():
        extra = w.choose(_UNKNOWN_ATTRS)
        attrs_.insert(w.randint(0, 1), extra)
    return " " + " ".join(attrs_)


def _write_set(w: _Writer, key: str, value: str) -> SetSpec:
    start = w.length
    tag = "<set" + _start_tag_attrs(w, key)
    if w.style.spaced_attrs and w.coin():
        tag += " "
    raw = _content(w, value) if value else ""
    form = "></set>" if raw else w.pick(w.style.empty, [" />", "/>", "></set>"])
    self_closing = form != "></set>"
    if self_closing:
        w.add(tag.rstrip() + form)
        content_start = w.length
    else:
        content_start = w.add(tag + ">") + len(tag) + 1
        w.add(raw)
        spaced = w.style.spaced_end_tags and w.coin()
        w.add("</set >" if spaced else "</set>")
    return SetSpec(
        key=key,
        value=value,
        raw=raw,
        start=start,
        content_start=content_start,
        content_end=content_start + len(raw),
        end=w.length,
        self_closing=self_closing,
    )


def _entries(
    draw: st.DrawFn, style: Style, fixed: tuple[EntrySpec, ...]
) -> list[tuple[str, str]]:
    keys = draw(
        st.lists(
            st.one_of(st.sampled_from(REAL_KEYS), ASCII_KEYS, _ANY_KEYS), max_size=8
        )
    )
    seen = {fold(e.key) for e in fixed}
    pairs = [(e.key, e.value) for e in fixed]
    for key in keys:
        if fold(key) in seen:
            continue
        seen.add(fold(key))
        pairs.append((key, draw(_values())))
    if style.case_duplicates and len(pairs) > len(fixed):
        index = draw(_ints(len(fixed), len(pairs) - 1))  # fixed entries stay single
        key = pairs[index][0]
        twin = key.swapcase()
        if twin != key and fold(twin) == fold(key) and twin.isascii():
            pairs.insert(draw(_ints(index + 1, len(pairs))), (twin, draw(_values())))
    if style.sorted_keys:
        pairs.sort(key=lambda p: sort_key(p[0]))
    return pairs


def _misc(w: _Writer) -> str:
    return w.choose(_COMMENTS + _PIS + _UNKNOWN_ELEMENTS)


def _write_head(w: _Writer) -> None:
    style = w.style
    if style.declaration:
        w.add(style.declaration)
        if not style.declaration.endswith("' ?>"):  # create-instance: no break
            w.add(w.newline())
    elif style.newline and w.coin():
        w.add(w.newline())
    if style.head_misc:
        w.add(_COMMENTS[1] if style.head_misc == "comment" else _PIS[1])
        w.add(w.newline())


def _root_start(w: _Writer) -> str:
    style = w.style
    attributes = "".join(" " + a for a in style.xmlns) + style.root_attrs
    return "<octopus-settings" + attributes


def _write_tail(w: _Writer) -> str:
    choice = w.style.tail
    if choice == "newline":
        tail = w.newline()
    elif choice == "newline2":
        tail = w.newline() + w.newline()
    elif choice == "comment":
        tail = w.newline() + _COMMENTS[1] + w.newline()
    elif choice == "spaces":
        tail = "  "
    else:
        tail = ""
    w.add(tail)
    return tail


@st.composite
def documents(
    draw: st.DrawFn,
    *,
    style: st.SearchStrategy[Style] | None = None,
    fixed: tuple[EntrySpec, ...] = (),
    min_sets: int = 0,
) -> GeneratedDoc:
    """A Tentacle.config in a drawn style, with its known layout.

    *fixed* entries are always written (e.g. a TrustedServers array); other
    keys and values are drawn. With *min_sets*, documents with fewer sets are
    filtered out.
    """
    chosen = draw(style if style is not None else styles())
    w = _Writer(draw, chosen)
    pairs = _entries(draw, chosen, fixed)
    if len(pairs) < min_sets:
        taken = {fold(k) for k, _ in pairs}
        fillers = [f"Filler.Key{i}" for i in range(min_sets)]
        pairs.extend((k, f"value {k}") for k in fillers if fold(k) not in taken)
        if chosen.sorted_keys:
            pairs.sort(key=lambda p: sort_key(p[0]))
    _write_head(w)
    root_start = w.add(_root_start(w))
    sets: list[SetSpec] = []
    if not pairs and chosen.self_closing_root:
        w.add(w.choose((" />", "/>")))
    else:
        w.add(">")
        for key, value in pairs:
            w.add(w.newline() + chosen.indent)
            if chosen.outer_misc and w.randint(0, 3) == 0:
                w.add(_misc(w) + w.newline() + chosen.indent)
            sets.append(_write_set(w, key, value))
        if chosen.outer_misc and w.coin():
            w.add(w.newline() + chosen.indent + _misc(w))
        closing_break = True if pairs else w.coin()
        if closing_break:
            w.add(w.newline())
        w.add("</octopus-settings>")
    tail = _write_tail(w)
    text = w.text()
    data = chosen.bom + text.encode(chosen.codec)
    return GeneratedDoc(
        data=data,
        text=text,
        style=chosen,
        sets=tuple(sets),
        root_start=root_start,
        tail=tail,
    )


# -- values to set, with the text Tentacle stores for them --------------------

Value = str | int | bool | Secret | None


def _ints_stored(low: int, high: int) -> st.SearchStrategy[tuple[Value, str]]:
    def forms(n: int) -> st.SearchStrategy[tuple[Value, str]]:
        plus = f"+{n}" if n >= 0 else str(n)
        return st.sampled_from([(n, str(n)), (str(n), str(n)), (f" {plus} ", str(n))])

    return st.integers(low, high).flatmap(forms)


_BOOL_STORED: Final[st.SearchStrategy[tuple[Value, str]]] = st.sampled_from(
    [
        (True, "true"),
        (False, "false"),
        ("True", "true"),
        (" FALSE ", "false"),
        ("tRuE", "true"),
    ]
)
_IP_STORED: Final[st.SearchStrategy[tuple[Value, str]]] = st.sampled_from(
    [
        ("any", ""),
        ("ANY", ""),
        ("10.0.0.1", "10.0.0.1"),
        (" 192.168.1.20 ", "192.168.1.20"),
        ("::1", "::1"),
        ("2001:DB8::1", "2001:db8::1"),
    ]
)


def _thumbprint_forms(thumb: str) -> st.SearchStrategy[tuple[Value, str]]:
    pairs = ":".join(thumb[i : i + 2] for i in range(0, 40, 2))
    return st.sampled_from(
        [(thumb, thumb), (thumb.lower(), thumb), (pairs, thumb), (f" {thumb} ", thumb)]
    )


def _servers_stored() -> st.SearchStrategy[tuple[Value, str]]:
    entries = st.lists(
        json_entries(tentacle_form=True, extras=False, text_fields=_ADDRESSES),
        max_size=3,
    )
    return entries.map(lambda es: tentacle_json([e.model for e in es])).map(
        lambda text: (text, text)
    )


# Folded keys whose values the library validates and normalises, with values
# it must accept and the text Tentacle stores for each (from tentacle-facts §2).
TYPED_VALUES: Final[dict[str, st.SearchStrategy[tuple[Value, str]]]] = {
    fold("Tentacle.Services.PortNumber"): _ints_stored(1, 65535),
    fold("Tentacle.Services.NoListen"): _BOOL_STORED,
    fold("Tentacle.Services.ListenIP"): _IP_STORED,
    fold("Tentacle.Communication.PollingConnectionCount"): _ints_stored(1, 2**31 - 1),
    fold("Tentacle.CertificateThumbprint"): thumbprints().flatmap(_thumbprint_forms),
    fold(TRUSTED_KEY): _servers_stored(),
    fold("Tentacle.Services.IsRegistered"): _BOOL_STORED,
    fold("Octopus.Proxy.UseDefaultProxy"): _BOOL_STORED,
    fold("Octopus.Server.Proxy.UseDefaultProxy"): _BOOL_STORED,
    fold("Octopus.Proxy.ProxyPort"): _ints_stored(0, 65535),
    fold("Octopus.Server.Proxy.ProxyPort"): _ints_stored(0, 65535),
}
SECRET_KEYS: Final = frozenset(
    fold(k)
    for k in (
        "Tentacle.Certificate",
        "Octopus.Proxy.ProxyPassword",
        "Octopus.Server.Proxy.ProxyPassword",
        "Octopus.Storage.MasterKey",
    )
)


def _stored_plain(value: Value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        text = "true" if value else "false"
    elif isinstance(value, int):
        text = str(value)
    elif isinstance(value, Secret):
        text = value.reveal()
    else:
        text = value
    return "" if is_blank(text) else text


_PLAIN_VALUES: Final = st.one_of(
    xml_text(),
    st.text(_PRINTABLE, max_size=30),
    st.integers(-(2**31), 2**31),
    st.booleans(),
    st.none(),
    st.sampled_from(["", " ", "\t\r\n", "\u3000"]),
    xml_text(min_size=1).map(Secret),
).map(lambda v: (v, _stored_plain(v)))


def edit_values(key: str) -> st.SearchStrategy[tuple[Value, str]]:
    """Values ``doc.set(key, value)`` accepts, with the text stored ("" = empty).

    Keys of a known type get values valid for that type, in the spellings
    users give (``True``, `` FALSE ``, ``+5``, lower-case thumbprints, ...).
    """
    return _edit_values(fold(key))


@functools.cache
def _edit_values(folded: str) -> st.SearchStrategy[tuple[Value, str]]:
    typed = TYPED_VALUES.get(folded)
    if typed is None:
        return _PLAIN_VALUES
    blank: st.SearchStrategy[tuple[Value, str]] = st.sampled_from(
        [(None, ""), ("  ", "")]
    )
    return st.one_of(typed, blank)


NEW_KEYS: Final = st.one_of(st.sampled_from(REAL_KEYS), ASCII_KEYS, _ANY_KEYS)


def spellings(key: str) -> st.SearchStrategy[str]:
    """*key* as a caller may spell it: lookup ignores case."""
    if key.isascii() and key.swapcase() != key:
        return st.sampled_from([key, key.swapcase()])
    return st.just(key)


# URI-equivalence classes of comms addresses, written out by hand: case,
# default port and an empty path do not make two addresses different.
ADDRESS_CLASSES: Final = {
    "n1": (
        "https://node1.example.com:10943",
        "https://NODE1.example.com:10943",
        "https://node1.example.com:10943/",
        "HTTPS://node1.Example.com:10943",
    ),
    "n2": ("https://node2.example.com:10943", "https://node2.EXAMPLE.com:10943/"),
    "lb44": ("https://lb.example.com:10944",),
    "lb45": ("https://lb.example.com:10945", "https://LB.example.com:10945/"),
    "ip": ("https://10.0.0.5:443", "https://10.0.0.5", "https://10.0.0.5/"),
    "v6": (
        "https://[2001:db8::1]:10943",
        "https://[2001:DB8::1]:10943",
        "https://[2001:0db8:0:0:0:0:0:1]:10943",  # the long form (#9)
    ),
    "ws": (
        "wss://ws.example.com/OctopusComms",
        "wss://WS.example.com:443/octopuscomms",
    ),
}
ADDRESS_CLASS: Final = {
    a: name for name, group in ADDRESS_CLASSES.items() for a in group
}


def wrap_value(key: str, value: str) -> bytes:
    """A minimal Tentacle.config (Tentacle's own layout) holding one value."""
    escaped = value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    escaped = escaped.replace("\r", "&#xD;")
    return (
        '\ufeff<?xml version="1.0" encoding="utf-8"?>\r\n<octopus-settings>\r\n'
        f'  <set key="{key}">{escaped}</set>\r\n</octopus-settings>'
    ).encode()
