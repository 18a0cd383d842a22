"""Oracle agreement: after any sequence of edits, lxml reads what the model says.

The model is a plain dict kept by the test with Tentacle's key rules (ignore
case, keep the first spelling, null for blank); lxml reads the output with its
own hardened parser (`xml_oracle`). Along the way: new keys land where
Tentacle's ordinal sort puts them, and the frame of the file (BOM, encoding,
everything before the root, the tail, the newline style) never changes.
"""

from __future__ import annotations

import codecs
from typing import TYPE_CHECKING
from typing import Final

import attrs
from hypothesis import given
from hypothesis import strategies as st
from strategies import ASCII_KEYS
from strategies import NEW_KEYS
from strategies import REAL_KEYS
from strategies import TYPED_VALUES
from strategies import GeneratedDoc
from strategies import documents
from strategies import edit_values
from strategies import fold
from strategies import is_blank
from strategies import sort_key
from strategies import spellings
from strategies import styles
from strategies import xml_text
from xml_oracle import assert_agrees
from xml_oracle import body_text
from xml_oracle import lxml_sets
from xml_oracle import newline_kinds

from tentacle_ha.config import TentacleConfig
from tentacle_ha.config import loads

if TYPE_CHECKING:
    from strategies import Value

Model = dict[str, tuple[str, str]]


class _Session:
    """A document under edit, the model of what it should hold, and checks."""

    def __init__(self, doc: GeneratedDoc) -> None:
        self.config = loads(doc.data)
        self.model: Model = doc.expected()
        counts: dict[str, int] = {}
        for spec in doc.sets:
            counts[fold(spec.key)] = counts.get(fold(spec.key), 0) + 1
        self.duplicated = {k for k, n in counts.items() if n > 1}

    def set_existing(self, key: str, value: Value, stored: str) -> None:
        folded = fold(key)
        spelling, current = self.model[folded]
        changed = self.config.set(key, value)
        if folded in self.duplicated:
            assert changed  # the copies collapse into one element
            self.duplicated.discard(folded)
        elif not stored and is_blank(current):
            assert not changed  # null and blank read the same: nothing to write
            return
        else:
            assert changed == (stored != current)
        self.model[folded] = (spelling, stored)

    def insert(self, key: str, value: Value, stored: str) -> None:
        """Insert a new key and check that it lands at its ordinal position."""
        before = [k for k, _ in lxml_sets(self.config.dumps())]
        assert self.config.set(key, value) is True
        after = [k for k, _ in lxml_sets(self.config.dumps())]
        position = next(
            (i for i, k in enumerate(before) if sort_key(k) > sort_key(key)),
            len(before),
        )
        assert after == [*before[:position], key, *before[position:]]
        self.model[fold(key)] = (key, stored)

    def delete(self, key: str) -> None:
        assert self.config.delete(key) is True
        del self.model[fold(key)]
        self.duplicated.discard(fold(key))


def _edit(session: _Session, data: st.DataObject, steps: int) -> None:
    """Apply *steps* random edits: set existing or new keys, null, delete."""
    for _ in range(steps):
        action = data.draw(st.sampled_from(["set", "new", "null", "delete"]))
        spellings_now = [spelling for spelling, _ in session.model.values()]
        if action == "new" or not spellings_now:
            key = data.draw(
                NEW_KEYS.filter(lambda k: fold(k) not in session.model), label="new"
            )
            value, stored = data.draw(edit_values(key), label="value")
            session.insert(key, value, stored)
            continue
        key = data.draw(st.sampled_from(spellings_now).flatmap(spellings), label="key")
        if action == "delete":
            session.delete(key)
        elif action == "null":
            session.set_existing(key, None, "")
        else:
            value, stored = data.draw(edit_values(key), label="value")
            session.set_existing(key, value, stored)


def _frame_kept(doc: GeneratedDoc, config: TentacleConfig, out: bytes) -> None:
    """BOM, encoding, text before the root, the tail and newline style survive."""
    assert out.startswith(doc.style.bom)
    assert config.has_bom == bool(doc.style.bom)
    out_text = body_text(out, doc.style.codec)
    assert out_text[: doc.root_start] == doc.text[: doc.root_start]
    assert out_text.endswith(doc.tail)
    before = newline_kinds(doc.text)
    if before:
        assert newline_kinds(out_text) <= before
    elif not any("\n" in text for _, text in lxml_sets(out)):
        assert not newline_kinds(out_text)  # a one-line file stays on one line


class TestOracle:
    """lxml's reading of every output equals the model; output is stable."""

    @given(documents(), st.data(), st.integers(1, 8))
    def test_any_edit_sequence_agrees_with_lxml(
        self, doc: GeneratedDoc, data: st.DataObject, steps: int
    ) -> None:
        """After sets, inserts, nulls and deletes, lxml, the model and get() agree."""
        session = _Session(doc)
        _edit(session, data, steps)
        out = assert_agrees(session.config, session.model)
        _frame_kept(doc, session.config, out)
        again = loads(out)
        assert again.dumps() == out
        assert_agrees(again, session.model)

    @given(
        documents(style=styles().map(lambda s: attrs.evolve(s, sorted_keys=True))),
        st.data(),
    )
    def test_new_keys_keep_a_sorted_file_sorted(
        self, doc: GeneratedDoc, data: st.DataObject
    ) -> None:
        """Keys inserted into a file sorted as Tentacle sorts it keep it sorted."""
        config = loads(doc.data)
        keys = data.draw(st.lists(NEW_KEYS, min_size=1, max_size=6), label="keys")
        for key in keys:
            config.set(key, data.draw(edit_values(key), label="value")[0])
        order = [sort_key(k) for k, _ in lxml_sets(config.dumps())]
        assert order == sorted(order)


# -- in a file Tentacle wrote, edits write what Tentacle would write ------------

_XMLNS: Final = (
    'xmlns:xsd="http://www.w3.org/2001/XMLSchema" '
    'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"'
)
_ONE_LINE: Final = xml_text(max_size=20).filter(
    lambda t: "\r" not in t and "\n" not in t
)
_TENTACLE_KEYS: Final = st.one_of(
    st.sampled_from(REAL_KEYS), ASCII_KEYS, _ONE_LINE.filter(lambda k: k.strip())
).filter(lambda k: "\t" not in k and fold(k) not in TYPED_VALUES)


def _tentacle_writes(pairs: dict[str, tuple[str, str]], newline: str) -> bytes:
    """The file Tentacle's XmlSerializer writes for these settings.

    BOM, lower-case declaration, xsd/xsi namespaces, keys in ordinal order,
    two-space indent, ``&<>`` escaped in text, ``&<>"`` in the key, null as
    ``<set key="K" />``, no newline after the root.
    """
    lines = ['<?xml version="1.0" encoding="utf-8"?>', f"<octopus-settings {_XMLNS}>"]
    for key, value in sorted(pairs.values(), key=lambda p: sort_key(p[0])):
        attr = key.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
        attr = attr.replace('"', "&quot;")
        if is_blank(value):
            lines.append(f'  <set key="{attr}" />')
        else:
            text = value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
            lines.append(f'  <set key="{attr}">{text}</set>')
    lines.append("</octopus-settings>")
    return codecs.BOM_UTF8 + newline.join(lines).encode()


class TestTentacleWrittenFiles:
    """Edits to a file Tentacle wrote give the bytes Tentacle would write."""

    @given(
        st.dictionaries(_TENTACLE_KEYS, _ONE_LINE, min_size=1, max_size=6),
        st.sampled_from(["\r\n", "\n"]),
        st.data(),
    )
    def test_edits_write_what_tentacle_writes(
        self, initial: dict[str, str], newline: str, data: st.DataObject
    ) -> None:
        """Set, null, insert and delete leave exactly Tentacle's own output."""
        state: dict[str, tuple[str, str]] = {}
        for key, value in initial.items():
            state.setdefault(fold(key), (key, "" if is_blank(value) else value))
        config = loads(_tentacle_writes(state, newline))
        for _ in range(data.draw(st.integers(1, 5), label="steps")):
            action = data.draw(st.sampled_from(["set", "null", "new", "delete"]))
            if action == "new":
                key = data.draw(_TENTACLE_KEYS.filter(lambda k: fold(k) not in state))
                value = data.draw(_ONE_LINE, label="value")
                config.set(key, value)
                state[fold(key)] = (key, "" if is_blank(value) else value)
                continue
            folded = data.draw(st.sampled_from(sorted(state)), label="key")
            spelling = state[folded][0]
            if action == "delete" and len(state) > 1:
                config.delete(spelling)
                del state[folded]
            elif action in {"set", "delete"}:
                value = data.draw(_ONE_LINE, label="value")
                config.set(spelling, value)
                if not (is_blank(value) and is_blank(state[folded][1])):
                    state[folded] = (spelling, "" if is_blank(value) else value)
            else:
                config.set(spelling, None)
                state[folded] = (spelling, "")
        assert config.dumps() == _tentacle_writes(state, newline)
