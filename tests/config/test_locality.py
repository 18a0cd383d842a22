"""Locality, edit-then-revert and idempotence of edits to a Tentacle.config.

The span of each ``<set>`` comes from the generator's own bookkeeping
(`strategies.SetSpec`), never from tentacle_ha's scanner.
"""

from __future__ import annotations

from hypothesis import assume
from hypothesis import given
from hypothesis import strategies as st
from strategies import TYPED_VALUES
from strategies import GeneratedDoc
from strategies import SetSpec
from strategies import documents
from strategies import edit_values
from strategies import fold
from strategies import is_blank
from strategies import spellings
from strategies import tentacle_styles
from xml_oracle import assert_agrees
from xml_oracle import body_text
from xml_oracle import show_diff

from tentacle_ha.config import loads


def _pick_single(doc: GeneratedDoc, data: st.DataObject) -> SetSpec:
    singles = doc.singles()
    assume(singles)
    return data.draw(st.sampled_from(singles), label="edited set")


def _spelling(key: str, data: st.DataObject) -> str:
    return data.draw(spellings(key), label="spelled")


def _dominant_newline(text: str) -> str:
    crlf = text.count("\r\n")
    counts = {
        "\r\n": crlf,
        "\n": text.count("\n") - crlf,
        "\r": text.count("\r") - crlf,
    }
    best = max(counts.values())
    return next(nl for nl, n in counts.items() if n == best) if best else "\n"


def _canonical(value: str, doc: GeneratedDoc) -> str | None:
    """*value* as a writer in this file's own style writes it, or None if that
    style leaves a choice (a CR, or a character the encoding cannot hold).

    ``&``, ``<`` and ``>`` as entities, quotes as the file writes them
    (``&quot;``/``&apos;`` in a file that uses ``&quot;``), newlines as the
    file's main newline.
    """
    if "\r" in value:
        return None
    try:
        value.encode(doc.style.codec)
    except UnicodeEncodeError:
        return None
    out = value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    if doc.escapes_quotes():
        out = out.replace('"', "&quot;").replace("'", "&apos;")
    return out.replace("\n", _dominant_newline(doc.text))


class TestLocality:
    """An edit changes only the bytes of the element it edits, and only once."""

    @given(documents(min_sets=1), st.data())
    def test_set_changes_only_that_element(
        self, doc: GeneratedDoc, data: st.DataObject
    ) -> None:
        """Setting an existing key leaves every byte outside its element alone."""
        spec = _pick_single(doc, data)
        value, stored = data.draw(edit_values(spec.key), label="value")
        config = loads(doc.data)
        changed = config.set(_spelling(spec.key, data), value)
        out = config.dumps()
        show_diff(doc.data, out)
        assert changed == (out != doc.data)
        # Outside the element: always untouched.
        assert (
            out[: doc.byte_offset(spec.start)]
            == doc.data[: doc.byte_offset(spec.start)]
        )
        assert out.endswith(doc.data[doc.byte_offset(spec.end) :])
        if not spec.self_closing and stored:
            # An element with content keeps its tags; only the content changes.
            head = doc.byte_offset(spec.content_start)
            assert out[:head] == doc.data[:head]
            assert out.endswith(doc.data[doc.byte_offset(spec.content_end) :])
        if not stored and is_blank(spec.value):
            stored = spec.value  # both read as null: nothing to write
        assert_agrees(config, {**doc.expected(), fold(spec.key): (spec.key, stored)})
        # Idempotent: the same value again (any case of the key) changes nothing.
        assert config.set(_spelling(spec.key, data), value) is False
        assert config.dumps() == out
        reloaded = loads(out)
        assert reloaded.dumps() == out
        assert reloaded.set(spec.key, value) is False
        assert not reloaded.changed
        # Once tentacle_ha wrote the element, v -> v2 -> v gives the same bytes.
        other, other_stored = data.draw(edit_values(spec.key), label="v2")
        if changed and other_stored != stored:
            assert config.set(spec.key, other) is True
            assert config.set(spec.key, value) is True
            assert config.dumps() == out

    @given(documents(min_sets=1), st.data())
    def test_delete_removes_only_that_element_and_its_line(
        self, doc: GeneratedDoc, data: st.DataObject
    ) -> None:
        """Deleting a key removes its element and at most the white space before it."""
        spec = _pick_single(doc, data)
        config = loads(doc.data)
        assert config.delete(_spelling(spec.key, data)) is True
        out_text = body_text(config.dumps(), doc.style.codec)
        before, after = doc.text[: spec.start], doc.text[spec.end :]
        assert out_text.endswith(after)
        kept = out_text[: len(out_text) - len(after)]
        assert before.startswith(kept)
        assert not before[len(kept) :].strip(" \t\r\n")
        expected = doc.expected()
        del expected[fold(spec.key)]
        assert_agrees(config, expected)


def test_edit_keeps_a_spaced_end_tag() -> None:
    """Editing a value keeps the end tag as written (was a bug: '</set>')."""
    config = loads(b'<octopus-settings><set key="A">1</set ></octopus-settings>')
    config.set("A", "2")
    assert (
        config.dumps() == b'<octopus-settings><set key="A">2</set ></octopus-settings>'
    )


def test_null_keeps_the_elements_empty_form() -> None:
    """Set and back to null keeps ``<set key="A"/>`` (was a bug: ' />')."""
    original = b'<octopus-settings><set key="A"/><set key="B"/></octopus-settings>'
    config = loads(original)
    config.set("A", "1")
    config.set("A", None)
    assert config.dumps() == original


def test_null_and_back_keeps_the_start_tag() -> None:
    """Null and back keeps ``<set key="A" >`` as written (was a bug: '>')."""
    original = b'<octopus-settings><set key="A" >1</set></octopus-settings>'
    config = loads(original)
    config.set("A", None)
    config.set("A", "1")
    assert config.dumps() == original


class TestRevert:
    """Edit then revert gives back the bytes, where the writing is not a choice.

    Exact for null written as a self-closing element and for a value already
    written the way this file writes values (see `_canonical`); for any other
    value (character references, CDATA, comments inside, a CR, ``<set></set>``
    for null), exact once tentacle_ha has written the element itself.
    """

    @given(documents(min_sets=1), st.data())
    def test_revert_of_canonical_value_is_exact(
        self, doc: GeneratedDoc, data: st.DataObject
    ) -> None:
        """Set a key to another value and back: a canonical original is restored."""
        candidates = [
            s
            for s in doc.singles()
            if fold(s.key) not in TYPED_VALUES  # odd stored values may be refused
            and (
                s.self_closing
                or (s.value.strip() and _canonical(s.value, doc) == s.raw)
            )
        ]
        assume(candidates)
        spec = data.draw(st.sampled_from(candidates), label="edited set")
        other, stored = data.draw(edit_values(spec.key), label="other value")
        assume(stored != spec.value)
        config = loads(doc.data)
        assert config.set(spec.key, other) is True
        assert config.set(_spelling(spec.key, data), spec.value) is True
        show_diff(doc.data, config.dumps())
        assert config.dumps() == doc.data
        assert not config.changed

    @given(documents(style=tentacle_styles(), min_sets=1), st.data())
    def test_revert_in_tentacle_written_files(
        self, doc: GeneratedDoc, data: st.DataObject
    ) -> None:
        """In a file Tentacle wrote, null and one-line values revert exactly."""
        spec = data.draw(st.sampled_from(doc.sets), label="edited set")
        assume(spec.value == "" or spec.value.strip())  # Tentacle writes blank as null
        assume("\r" not in spec.value and "\n" not in spec.value)
        assume(fold(spec.key) not in TYPED_VALUES)
        other, stored = data.draw(edit_values(spec.key), label="other value")
        assume(stored != spec.value)
        config = loads(doc.data)
        config.set(spec.key, other)
        config.set(spec.key, spec.value)
        assert config.dumps() == doc.data
