"""Garbage in: anything either loads or raises a positioned TentacleHAError.

Arbitrary bytes, XML-ish token soup, and generated or corpus documents mutated
(bytes flipped, cut, spliced with DOCTYPEs, entities, nested elements, other
declarations, repeated) must either load (and then dump back and survive an
edit) or raise a `TentacleHAError` that is not `InternalError`. DOCTYPEs and
entity declarations, including billion laughs and external entities, are
refused with `UnsafeXMLError` and nothing is fetched or read.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from pathlib import Path
from typing import Final

import pytest
from hypothesis import example
from hypothesis import given
from hypothesis import strategies as st
from lxml import etree
from strategies import documents
from xml_oracle import assert_agrees
from xml_oracle import lxml_view

from tentacle_ha.config import MAX_FILE_SIZE
from tentacle_ha.config import TentacleConfig
from tentacle_ha.config import loads
from tentacle_ha.errors import ConfigEncodingError
from tentacle_ha.errors import ConfigParseError
from tentacle_ha.errors import FileTooLargeError
from tentacle_ha.errors import InternalError
from tentacle_ha.errors import InvalidValueError
from tentacle_ha.errors import TentacleHAError
from tentacle_ha.errors import TrustedServersError
from tentacle_ha.errors import UnsafeXMLError

_PATH: Final = "garbage.config"
_CORPUS: Final = Path(__file__).parent.parent / "corpus"


def _positioned(exc: TentacleHAError) -> None:
    """Parse errors carry a 1-based position and print as path:line:col: message."""
    assert not isinstance(exc, InternalError), f"scanner/lxml disagreement: {exc}"
    if isinstance(exc, ConfigParseError | TrustedServersError):
        assert exc.path == _PATH
        assert exc.line is not None
        assert exc.line >= 1
        assert exc.col is not None
        assert exc.col >= 1
        assert str(exc).startswith(f"{_PATH}:{exc.line}:{exc.col}: ")


def _exercise(config: TentacleConfig, data: bytes) -> None:
    """A document that loaded reads, dumps and takes edits without surprises."""
    assert config.dumps() == data
    assert_agrees(config, lxml_view(data))
    try:
        _ = config.trusted_servers
    except TrustedServersError as exc:
        _positioned(exc)
    edits = [("Garbage.Probe", "<&>\"'\r\n]]>"), *((k, "1") for k in list(config)[:2])]
    for key, value in edits:
        with contextlib.suppress(InvalidValueError):  # e.g. a bool key and "1"
            config.set(key, value)
    for key in list(config)[2:3]:
        config.delete(key)
    out = config.dumps()
    assert loads(out).dumps() == out


def _load_or_refuse(data: bytes) -> None:
    try:
        config = loads(data, path=_PATH)
    except TentacleHAError as exc:
        _positioned(exc)
        return
    _exercise(config, data)


# -- what garbage is made of ---------------------------------------------------

_SNIPPETS: Final = (
    b"<!DOCTYPE octopus-settings>",
    b'<!DOCTYPE x [<!ENTITY e "v">]>',
    b'<!ENTITY a "b">',
    b"<x><y/></x>",
    b'<set key="Nested">v</set>',
    b"<set>",
    b"</set>",
    b"<set key='k'/>",
    b"&amp;",
    b"&bogus;",
    b"&#0;",
    b"&#xD800;",
    b"&#x1F600;",
    b"]]>",
    b"<![CDATA[",
    b"<![CDATA[x]]>",
    b"<!--",
    b"-->",
    b"<?pi x?>",
    b'<?xml version="1.0"?>',
    b"<octopus-settings>",
    b"</octopus-settings>",
    b"\x00",
    b"\xff\xfe",
    b"\xfe\xff",
    b"\xef\xbb\xbf",
    b"\xff\xfe\x00\x00",
    b"\x80",
    b"\xc3",
    b'"',
    b"'",
    b"<",
    b">",
    b"&",
    b"\r",
    b"\n",
    b" key=",
    b'xmlns="urn:x"',
    b"xmlns:p='urn:p'",
)
# Names Python knows but that are not XML text encodings, or that Python and
# libxml2 decode differently (shift_jis: 0x5C is '\\' to one, U+00A5 to the
# other). Both once escaped or misread; they must be refused.
_NOT_TEXT_ENCODINGS: Final = (
    "rot13",
    "base64",
    "hex",
    "zlib",
    "uu",
    "punycode",
    "undefined",
    "idna",
    "unicode_escape",
    "raw_unicode_escape",
    "shift_jis",
)

# Encodings a declaration may name: real ones, ones lxml and Python disagree
# on, and ones that are not text encodings at all.
_ENCODINGS: Final = (
    "utf-8",
    "UTF-16",
    "utf-16le",
    "utf-16-be",
    "utf-32",
    "UTF-32LE",
    "utf-8-sig",
    "iso-8859-1",
    "windows-1252",
    "cp1252",
    "latin1",
    "ascii",
    "us-ascii",
    "euc-jp",
    "koi8-r",
    "utf-7",
    "cp037",
    "mbcs",
    "x-no-such-encoding",
    *_NOT_TEXT_ENCODINGS,
)
_TOKENS: Final = st.sampled_from(
    [
        *(s.decode("latin-1") for s in _SNIPPETS),
        "text",
        " ",
        "=",
        "\u00e9",
        "\U0001f600",
        '<set key="a">',
        "<set key='b'>",
        '<set key="A">',
        "<unknown>",
        "</unknown>",
        "<?xml version='1.0' encoding='utf-8'?>",
    ]
)


@st.composite
def _soup(draw: st.DrawFn) -> bytes:
    """XML-ish token soup, often starting and ending like a Tentacle.config."""
    tokens = draw(st.lists(_TOKENS, max_size=30))
    if draw(st.booleans()):
        tokens = ["<octopus-settings>", *tokens, "</octopus-settings>"]
    codec = draw(st.sampled_from(["utf-8", "utf-16", "latin-1"]))
    return "".join(tokens).encode(codec, errors="xmlcharrefreplace")


def _corpus_bytes() -> list[bytes]:
    return [p.read_bytes() for p in sorted(_CORPUS.glob("*/*")) if p.is_file()]


_BASES: Final = st.one_of(
    documents().map(lambda d: d.data),
    *([st.sampled_from(_corpus_bytes())] if _corpus_bytes() else []),
)


@st.composite
def _mutated(draw: st.DrawFn) -> bytes:
    """A valid (or invalid-corpus) document with one to four mutations."""
    data = bytearray(draw(_BASES))
    for _ in range(draw(st.integers(1, 4))):
        op = draw(
            st.sampled_from(["flip", "cut", "insert", "delete", "repeat", "declare"])
        )
        pos = draw(st.integers(0, len(data)))
        if op == "flip" and data:
            index = min(pos, len(data) - 1)
            data[index] ^= draw(st.integers(1, 255))
        elif op == "cut":
            del data[pos:]
        elif op == "insert":
            data[pos:pos] = draw(st.sampled_from(_SNIPPETS))
        elif op == "delete":
            del data[pos : pos + draw(st.integers(1, 16))]
        elif op == "repeat":
            end = min(len(data), pos + draw(st.integers(1, 64)))
            data[pos:end] = data[pos:end] * draw(st.integers(2, 64))
        else:
            encoding = draw(st.sampled_from(_ENCODINGS))
            declaration = f'<?xml version="1.0" encoding="{encoding}"?>'.encode()
            data[:0] = declaration
    return bytes(data)


class TestGarbage:
    """Nothing but a positioned TentacleHAError ever escapes."""

    @given(st.binary(max_size=600))
    @example(b"")
    @example(b"\xef\xbb\xbf")
    @example(b"\xff\xfe\x00\x00<\x00\x00\x00")
    @example(b"<octopus-settings/>\x00")
    @example(b"<octopus-settings><set key='a'><b/></set></octopus-settings>")
    @example(b"<Octopus-Settings/>")
    # Pins: declared encodings that once escaped or read differently from lxml.
    @example(b'<?xml version="1.0" encoding="rot13"?><octopus-settings/>')
    @example(b'<?xml version="1.0" encoding="unicode_escape"?><octopus-settings>\\]')
    @example(
        b'<?xml version="1.0" encoding="shift_jis"?>'
        b'<octopus-settings><set key="a">\\]</set></octopus-settings>'
    )
    @example(b"<octopus-settings xmlns='urn:x'><set key='a'>1</set></octopus-settings>")
    def test_arbitrary_bytes(self, data: bytes) -> None:
        """Random bytes load or are refused with a positioned TentacleHAError."""
        _load_or_refuse(data)

    @given(_soup())
    def test_xml_token_soup(self, data: bytes) -> None:
        """XML-ish token soup loads or is refused with a positioned TentacleHAError."""
        _load_or_refuse(data)

    @given(_mutated())
    def test_mutated_documents(self, data: bytes) -> None:
        """Mutated documents load (and take edits) or are refused cleanly."""
        _load_or_refuse(data)

    @pytest.mark.parametrize("encoding", _ENCODINGS)
    def test_declared_encodings(self, encoding: str) -> None:
        """Any declared encoding loads or is refused with a TentacleHAError."""
        body = '<octopus-settings><set key="a">b</set></octopus-settings>'
        _load_or_refuse(f'<?xml version="1.0" encoding="{encoding}"?>{body}'.encode())

    @pytest.mark.parametrize("encoding", _NOT_TEXT_ENCODINGS)
    def test_non_text_codecs_are_refused(self, encoding: str) -> None:
        """A declaration naming a non-text or misread codec: ConfigEncodingError."""
        body = '<octopus-settings><set key="a">\\]</set></octopus-settings>'
        data = f'<?xml version="1.0" encoding="{encoding}"?>{body}'.encode()
        with pytest.raises(ConfigEncodingError) as info:
            loads(data, path=_PATH)
        _positioned(info.value)

    def test_file_over_the_size_limit(self) -> None:
        """A file over the limit is refused unparsed with FileTooLargeError."""
        data = b"<octopus-settings>" + b" " * MAX_FILE_SIZE + b"</octopus-settings>"
        with pytest.raises(FileTooLargeError):
            loads(data, path=_PATH)

    def test_deep_nesting_is_refused(self) -> None:
        """Elements nested past lxml's depth limit are refused, not recursed into."""
        deep = b"<x>" * 5000 + b"</x>" * 5000
        data = b"<octopus-settings><other>" + deep + b"</other></octopus-settings>"
        with pytest.raises(ConfigParseError):
            loads(data, path=_PATH)


# -- DOCTYPE, entities, billion laughs, external entities ---------------------

_LAUGHS: Final = (
    '<!DOCTYPE octopus-settings [\n<!ENTITY lol "lol">\n'
    + "".join(
        f'<!ENTITY lol{i} "{("&lol" + (str(i - 1) if i > 1 else "") + ";") * 10}">\n'
        for i in range(1, 10)
    )
    + "]>\n"
)
_BODY: Final = '<octopus-settings><set key="A">&lol9;</set></octopus-settings>'


def _unsafe(text: str, encoding: str = "utf-8", bom: bytes = b"") -> None:
    """*text* is refused as unsafe, with a position, quickly."""
    started = time.monotonic()
    with pytest.raises(UnsafeXMLError) as info:
        loads(bom + text.encode(encoding), path=_PATH)
    assert time.monotonic() - started < 2.0
    _positioned(info.value)


@pytest.mark.parametrize(
    ("prefix", "encoding", "bom"),
    [
        ("", "utf-8", b""),
        ('<?xml version="1.0" encoding="utf-8"?>\r\n', "utf-8", b"\xef\xbb\xbf"),
        ("<!-- c -->\n<?pi?>\n", "utf-8", b""),
        ('<?xml version="1.0" encoding="utf-16"?>\n', "utf-16-le", b"\xff\xfe"),
        ('<?xml version="1.0" encoding="utf-16"?>\n', "utf-16-be", b"\xfe\xff"),
        ('<?xml version="1.0" encoding="ISO-8859-1"?>\n', "latin-1", b""),
    ],
)
def test_billion_laughs_is_refused(prefix: str, encoding: str, bom: bytes) -> None:
    """The billion-laughs document is refused before any expansion."""
    _unsafe(prefix + _LAUGHS + _BODY, encoding, bom)


def test_internal_subset_and_external_dtd_are_refused() -> None:
    """Any DOCTYPE is refused: empty, internal subset, external DTD, % entity."""
    _unsafe("<!DOCTYPE octopus-settings><octopus-settings/>")
    _unsafe('<!DOCTYPE octopus-settings [<!ENTITY a "b">]><octopus-settings/>')
    _unsafe('<!DOCTYPE octopus-settings SYSTEM "x.dtd"><octopus-settings/>')
    _unsafe(
        "<!DOCTYPE octopus-settings [<!ENTITY % p \"<!ENTITY a 'b'>\"> %p;]>"
        "<octopus-settings/>"
    )


def test_external_file_entity_is_refused_and_not_read(tmp_path: Path) -> None:
    """An entity naming a local file is refused; the file's text never shows up."""
    # Negative control: an unhardened lxml parser does read the file, so the
    # marker would be seen if tentacle_ha resolved the entity.
    secret = tmp_path / "secret.txt"
    secret.write_text("MARKER-8d1c5f", encoding="utf-8")
    text = (
        f'<!DOCTYPE octopus-settings [<!ENTITY x SYSTEM "{secret.as_uri()}">]>'
        '<octopus-settings><set key="A">&x;</set></octopus-settings>'
    )
    with pytest.raises(UnsafeXMLError) as info:
        loads(text.encode(), path=_PATH)
    assert "MARKER-8d1c5f" not in str(info.value)
    unsafe = etree.XMLParser(resolve_entities=True, load_dtd=True)
    root = etree.fromstring(text.encode(), unsafe)  # the negative control
    assert root[0].text == "MARKER-8d1c5f"


class _Listener:
    """A loopback TCP listener that counts connections; stops by itself."""

    def __init__(self) -> None:
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.connections = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        deadline = time.monotonic() + 10
        while not self._stop.is_set() and time.monotonic() < deadline:
            try:
                conn, _ = self.sock.accept()
            except TimeoutError:
                continue
            self.connections += 1
            conn.close()

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self.sock.close()
        assert not self._thread.is_alive()


def test_network_entities_are_refused_and_nothing_is_fetched() -> None:
    """External entities and DTDs over http are refused; no connection is made."""
    # Negative control: a plain client connecting to the same listener is
    # counted, so a fetch would have been seen.
    listener = _Listener()
    try:
        url = f"http://127.0.0.1:{listener.port}/x"
        _unsafe(
            f'<!DOCTYPE octopus-settings [<!ENTITY x SYSTEM "{url}">]>'
            '<octopus-settings><set key="A">&x;</set></octopus-settings>'
        )
        _unsafe(f'<!DOCTYPE octopus-settings SYSTEM "{url}.dtd"><octopus-settings/>')
        _unsafe(
            f'<!DOCTYPE octopus-settings [<!ENTITY % p SYSTEM "{url}.ent"> %p;]>'
            "<octopus-settings/>"
        )
        time.sleep(0.3)
        assert listener.connections == 0
        with socket.create_connection(("127.0.0.1", listener.port), timeout=2):
            pass  # the negative control
        deadline = time.monotonic() + 3
        while listener.connections == 0 and time.monotonic() < deadline:
            time.sleep(0.02)
        assert listener.connections == 1
    finally:
        listener.close()
