"""The fast path and the general path read and write every document alike.

`tentacle_ha.config._fast` reads a common Tentacle.config from two regex
passes and skips the re-parse of a value splice; the general path scans with
the tokenizer and re-parses every output. Here both run on the same generated
documents (every style of `strategies.styles`, Tentacle's own, and hostile
mutations of both), and every answer must be the same: the error (class and
message) of a refused input, then after each edit of a drawn sequence (set a
key, blank it, insert one, delete one, replace the trusted servers) its
result or error, the bytes `dumps` gives, and every read. The fast document
runs with the re-parse switched back on (``_fast.VERIFY``), so an output of
the fast path that would not read back identically fails here with
`InternalError`: that is the proof the skipped re-parse relies on.
"""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING

import pytest
from hypothesis import event
from hypothesis import given
from hypothesis import strategies as st
from strategies import NEW_KEYS
from strategies import TRUSTED_KEY
from strategies import EntrySpec
from strategies import GeneratedDoc
from strategies import documents
from strategies import edit_values
from strategies import server_models
from strategies import spellings
from strategies import tentacle_json
from strategies import tentacle_styles

from tentacle_ha.config import TentacleConfig
from tentacle_ha.config import _fast
from tentacle_ha.config import loads
from tentacle_ha.servers import TrustedServers

if TYPE_CHECKING:
    from collections.abc import Callable
    from collections.abc import Iterator

_HOSTILE = (
    b"<!DOCTYPE x>",
    b'<!DOCTYPE x [<!ENTITY e "boom">]>',
    b"&e;",
    b"&amp;",
    b"<!-- c -->",
    b"<![CDATA[x]]>",
    b"<set>",
    b'<set key="K"><b/></set>',
    b"<set/>",
    b"\x01",
    b"\xff",
    b"]]>",
    b"<",
    b"</octopus-settings>",
    b'<set key="a\tb">v</set>',
    b'<set key="Dup">1</set><set key="DUP">2</set>',
)


@st.composite
def _inputs(draw: st.DrawFn) -> bytes:
    """A generated document, Tentacle's or any style, perhaps made hostile."""
    servers = draw(st.lists(server_models(), max_size=3))
    fixed = (EntrySpec(key=TRUSTED_KEY, value=tentacle_json(servers)),)
    style = draw(st.sampled_from(["tentacle", "any"]))
    doc: GeneratedDoc = draw(
        documents(
            style=tentacle_styles() if style == "tentacle" else None,
            fixed=fixed if draw(st.booleans()) else (),
        )
    )
    data = doc.data
    mutation = draw(st.sampled_from(["none", "none", "insert", "truncate"]))
    if mutation == "insert":
        at = draw(st.integers(0, len(data)))
        data = data[:at] + draw(st.sampled_from(_HOSTILE)) + data[at:]
    elif mutation == "truncate":
        data = data[: draw(st.integers(0, len(data)))]
    return data


def _outcome(action: Callable[[], object]) -> tuple[str, object]:
    """What *action* gives: ``("ok", result)`` or ``("error", class, message)``."""
    try:
        return ("ok", action())
    except Exception as exc:  # noqa: BLE001 -- the class is part of the answer
        return ("error", (type(exc).__name__, str(exc)))


def _load(data: bytes, *, fast: bool) -> tuple[str, object]:
    previous = _fast.ENABLED, _fast.VERIFY
    _fast.ENABLED, _fast.VERIFY = fast, True
    try:
        return _outcome(lambda: loads(data, path="Tentacle.config"))
    finally:
        _fast.ENABLED, _fast.VERIFY = previous


def _servers(doc: TentacleConfig) -> object:
    return list(doc.trusted_servers)


def _reads(doc: TentacleConfig) -> Iterator[tuple[str, object]]:
    """Every answer a document gives about itself."""
    yield "keys", list(doc)
    yield "items", list(doc.items(reveal=True))
    yield "newline", doc.newline
    yield "changed", (doc.changed, doc.changed_keys)
    for key in list(doc):
        yield key, (doc.raw(key), doc.position(key), doc.get(key, reveal=True))
    yield "servers", _outcome(lambda: _servers(doc))
    yield "dumps", _outcome(doc.dumps)
    yield "diff", _outcome(lambda: doc.diff(reveal=True))
    yield "redacted", doc.redacted_text()
    yield "redacted diff", _outcome(doc.diff)


def _assert_same(fast: TentacleConfig, general: TentacleConfig) -> None:
    previous = _fast.VERIFY
    _fast.VERIFY = True  # the fast document's output is re-parsed too
    on_fast_path = fast._fast is not None
    try:
        fast_reads = dict(_reads(fast))
        assert fast_reads == dict(_reads(general))
    finally:
        _fast.VERIFY = previous
    if on_fast_path:  # unverified, such an output would have been written
        internal = ("error", "InternalError")
        refused = [
            v
            for v in fast_reads.values()
            if isinstance(v, tuple) and v[:1] == ("error",)
        ]
        assert all((v[0], v[1][0]) != internal for v in refused), refused


@st.composite
def _edit(draw: st.DrawFn, keys: list[str]) -> tuple[str, str, object]:
    """One edit: (kind, key, value)."""
    kind = draw(st.sampled_from(["set", "set", "insert", "delete", "servers"]))
    if kind == "servers":
        servers = draw(st.lists(server_models(), max_size=3))
        return kind, TRUSTED_KEY, TrustedServers(servers)
    if kind == "insert" or not keys:
        key = draw(NEW_KEYS)
    else:
        key = draw(st.sampled_from(keys).flatmap(spellings))
    if kind == "delete":
        return kind, key, draw(st.booleans())
    value, _ = draw(edit_values(key))
    return "set", key, value


def _apply(doc: TentacleConfig, edit: tuple[str, str, object]) -> tuple[str, object]:
    kind, key, value = edit
    if kind == "delete":
        return _outcome(lambda: doc.delete(key, missing_ok=bool(value)))
    if kind == "servers":
        assert isinstance(value, TrustedServers)

        def assign() -> None:
            doc.trusted_servers = value

        return _outcome(assign)
    return _outcome(lambda: doc.set(key, value))  # type: ignore[arg-type]  # a drawn Value


@given(_inputs(), st.data())
def test_fast_and_general_paths_agree(data: bytes, draw: st.DataObject) -> None:
    """Same refusal, or the same answers after every edit of a drawn sequence."""
    fast, general = _load(data, fast=True), _load(data, fast=False)
    if fast[0] == "error" or general[0] == "error":
        assert fast == general
        return
    fast_doc, general_doc = fast[1], general[1]
    assert isinstance(fast_doc, TentacleConfig)
    assert isinstance(general_doc, TentacleConfig)
    assert general_doc._fast is None
    event("fast" if fast_doc._fast is not None else "general")
    _assert_same(fast_doc, general_doc)
    for _ in range(draw.draw(st.integers(1, 4), label="edits")):
        edit = draw.draw(_edit(list(general_doc)), label="edit")
        assert _apply(fast_doc, edit) == _apply(general_doc, edit)
        _assert_same(fast_doc, general_doc)


@given(documents(style=tentacle_styles()))
def test_tentacle_written_documents_take_the_fast_path(doc: GeneratedDoc) -> None:
    """What Tentacle writes is what the fast path is for (else it proves nothing).

    A value Tentacle escaped (``&lt;``, ``&amp;``) sends the file to the
    general path, by design.
    """
    config = loads(doc.data)
    assert (config._fast is not None) == ("&" not in doc.text)
    fast = config._fast is not None
    for spec in doc.singles():
        config.set(spec.key, None)
        assert (config._fast is not None) == fast


def test_the_comparison_catches_a_fast_path_that_writes_differently(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Negative control: a fast path that escapes quotes differently is caught."""
    data = (
        b'<?xml version="1.0" encoding="utf-8"?>\n<octopus-settings>\n'
        b'  <set key="A">1</set>\n</octopus-settings>'
    )
    monkeypatch.setattr(_fast, "ESCAPE_QUOTES", True)
    fast, general = _load(data, fast=True), _load(data, fast=False)
    fast_doc, general_doc = fast[1], general[1]
    assert isinstance(fast_doc, TentacleConfig)
    assert isinstance(general_doc, TentacleConfig)
    for doc in (fast_doc, general_doc):
        doc.set("A", 'say "hi"')
    with pytest.raises(AssertionError):
        _assert_same(fast_doc, general_doc)


def test_verify_flag_re_parses_fast_output(monkeypatch: pytest.MonkeyPatch) -> None:
    """With the flag on, a fast-path output that reads back wrong is refused."""
    data = (
        b'<?xml version="1.0" encoding="utf-8"?>\n<octopus-settings>\n'
        b'  <set key="A">1</set>\n</octopus-settings>'
    )
    doc = loads(data)
    assert doc._fast is not None
    doc.set("A", "2")
    # Break the splice: the rendered text loses the new value's element.
    monkeypatch.setattr(_fast.Spans, "render", lambda self: self.text)
    monkeypatch.setattr(_fast, "VERIFY", True)
    with pytest.raises(Exception, match="reads back differently"):
        doc.dumps()
    monkeypatch.setattr(_fast, "VERIFY", False)
    assert doc.dumps() == data  # unchecked, the broken splice would go out


def _escaped(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


_QUOTING = {  # the setting edited -> the settings, a content quoting its key
    "B": '  <set key="A">{}</set>\n  <set key="B">2</set>\n  <set key="C" />\n',
    "C": (
        '  <set key="A">1</set>\n  <set key="B" />\n  <set key="C">2</set>\n'
        '  <set key="D">{}</set>\n'
    ),
}


@pytest.mark.parametrize(
    ("key", "content"),
    [("B", c) for c in ['"B"', 'say "B" twice: "B"', "B", '"b"', '<set key="B">']]
    + [("C", c) for c in ['"C"', 'x "C" y "C"', "C"]],
)
def test_a_content_holding_a_quoted_key_does_not_hide_that_setting(
    key: str, content: str
) -> None:
    """A setting is found at its own start tag, not where a content quotes its key.

    The fast path looks for ``"KEY"`` from the nearer end (B is in the first
    half, C in the second); here a content on that side holds that text (the
    last B case is escaped, so it takes the general path), and both paths
    must read and edit the right settings.
    """
    data = (
        '<?xml version="1.0" encoding="utf-8"?>\n<octopus-settings>\n'
        f"{_QUOTING[key].format(_escaped(content))}</octopus-settings>"
    ).encode()
    fast, general = _load(data, fast=True), _load(data, fast=False)
    fast_doc, general_doc = fast[1], general[1]
    assert isinstance(fast_doc, TentacleConfig)
    assert isinstance(general_doc, TentacleConfig)
    assert fast_doc.get(key) == "2"
    assert content in {fast_doc.get("A"), fast_doc.get("D")}
    for doc in (fast_doc, general_doc):
        doc.set(key, "3")
        doc.set("B" if key == "C" else "C", "4")  # the empty one
    expected = data.replace(b">2<", b">3<")
    empty = b'<set key="C" />' if key == "B" else b'<set key="B" />'
    expected = expected.replace(empty, empty[:-3] + b">4</set>")
    assert fast_doc.dumps() == expected
    _assert_same(fast_doc, general_doc)


_ODD = {
    "text between settings": ('  <set key="A">1</set>  x<set key="B">2</set>', False),
    "CDATA between settings": (
        '  <set key="A">1</set><![CDATA[x]]>\n  <set key="B">2</set>',
        False,
    ),
    "a tab in a key": ('  <set key="A">1</set>\n  <set key="a\tb">2</set>', False),
    "U+1680 after the attribute name": (
        '  <set key="B">2</set>\n  <set key\u1680="A">1</set>',
        False,
    ),
    "empty and odd secrets": (
        (
            '  <set key="A">1</set>\n  <set key="Tentacle.Certificate" />\n'
            '  <set key="Octopus.Proxy.ProxyPassword">p</set >'
        ),
        True,
    ),
    "a tab before />": ('  <set key="A"\t/>\n  <set key="B">2</set>', True),
    "a non-ASCII key": ('  <set key="A">1</set>\n  <set key="\u00df">2</set>', True),
    "a lone CR in a value": ('  <set key="A">a\rb</set>\n  <set key="B">2</set>', True),
}


@pytest.mark.parametrize("name", sorted(_ODD))
def test_odd_documents_read_and_edit_alike_on_both_paths(name: str) -> None:
    """Each shape pins one guard of the fast path (found by mutating them).

    The fast path takes only what it reads exactly as the general path; the
    rest goes to the general path. Either way every read and edit agrees.
    """
    body, fast_path = _ODD[name]
    data = (
        '<?xml version="1.0" encoding="utf-8"?>\n<octopus-settings>\n'
        f"{body}\n</octopus-settings>"
    ).encode()
    fast, general = _load(data, fast=True), _load(data, fast=False)
    assert fast[0] == general[0] == "ok", (fast, general)
    fast_doc, general_doc = fast[1], general[1]
    assert isinstance(fast_doc, TentacleConfig)
    assert isinstance(general_doc, TentacleConfig)
    assert (fast_doc._fast is not None) is fast_path
    _assert_same(fast_doc, general_doc)
    edits: list[Callable[[TentacleConfig], object]] = [
        lambda d: d.set("B", "3"),
        lambda d: d.set("B", None),  # an empty element in the file's style
        lambda d: d.set("A", None),
        lambda d: d.set("Tentacle.Certificate", "c2"),
        lambda d: d.set("Z.New", "z"),
        lambda d: d.delete("A", missing_ok=True),
    ]
    for edit in edits:
        assert _outcome(partial(edit, fast_doc)) == _outcome(partial(edit, general_doc))
        _assert_same(fast_doc, general_doc)


def test_a_file_of_nuls_is_empty() -> None:
    """NULs count as white space for an empty file, as before."""
    for fast in (True, False):
        outcome = _load(b"\x00\x00 \r\n", fast=fast)
        assert outcome[0] == "error"
        assert "file is empty" in str(outcome[1])


def test_many_settings_are_found_from_one_list_of_starts() -> None:
    """Reading every key of a long file records where they start, once."""
    body = "".join(f'  <set key="K{i}">"K{i + 1}" {i}</set>\n' for i in range(60))
    data = f"<octopus-settings>\n{body}</octopus-settings>".encode()
    fast, general = _load(data, fast=True), _load(data, fast=False)
    fast_doc, general_doc = fast[1], general[1]
    assert isinstance(fast_doc, TentacleConfig)
    assert isinstance(general_doc, TentacleConfig)
    assert fast_doc._fast is not None
    assert [fast_doc.get(k) for k in fast_doc] == [
        general_doc.get(k) for k in general_doc
    ]
    assert fast_doc._fast is not None
    assert fast_doc._fast.starts is not None
    _assert_same(fast_doc, general_doc)
