"""Identity: what Tentacle or a person wrote comes back byte for byte.

Generated documents cover every style choice in ``strategies.styles``; the
corpus under ``tests/corpus/valid`` covers real-world files. Since an unedited
document may simply hand back its input, each property also checks that the
document *reads* as the generator (and lxml) say it does, and that an edit
undone (insert a key, delete it) re-renders the very same bytes.
"""

from __future__ import annotations

import codecs
import os
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from hypothesis import given
from hypothesis import note
from hypothesis import settings
from hypothesis import strategies as st
from strategies import NEW_KEYS
from strategies import TYPED_VALUES
from strategies import GeneratedDoc
from strategies import documents
from strategies import edit_values
from strategies import fold
from strategies import spellings
from strategies import tentacle_styles
from xml_oracle import assert_agrees
from xml_oracle import body_text
from xml_oracle import lxml_view
from xml_oracle import show_diff

from tentacle_ha.config import loads

if TYPE_CHECKING:
    from tentacle_ha.config import TentacleConfig

CORPUS_VALID = Path(__file__).parent.parent / "corpus" / "valid"


def _corpus_files() -> list[Path]:
    if not CORPUS_VALID.is_dir():
        return []
    return sorted(
        p
        for p in CORPUS_VALID.iterdir()
        if p.is_file() and not p.name.startswith(".") and p.suffix != ".md"
    )


def _first_spellings(doc: GeneratedDoc) -> list[str]:
    seen: dict[str, str] = {}
    for spec in doc.sets:
        seen.setdefault(fold(spec.key), spec.key)
    return list(seen.values())


def _insert_and_delete(
    config: TentacleConfig,
    original: bytes,
    model: dict[str, tuple[str, str]],
    data: st.DataObject,
) -> None:
    """Insert a new key, check the result, delete it: the original bytes are back."""
    key = data.draw(NEW_KEYS.filter(lambda k: fold(k) not in model), label="new key")
    value, stored = data.draw(edit_values(key), label="value")
    assert config.set(key, value) is True
    edited = assert_agrees(config, {**model, fold(key): (key, stored)})
    show_diff(original, edited)
    # One contiguous insertion: a common prefix and suffix make up the input.
    before = body_text(original, config.encoding)
    after = body_text(edited, config.encoding)
    prefix = next(
        (i for i, (a, b) in enumerate(zip(before, after, strict=False)) if a != b),
        len(before),
    )
    assert after.endswith(before[prefix:])
    assert config.delete(data.draw(spellings(key), label="deleted as")) is True
    assert config.dumps() == original
    assert not config.changed


class TestIdentity:
    """``loads(b).dumps() == b`` for every document in every supported style."""

    @given(documents())
    def test_generated_documents_round_trip(self, doc: GeneratedDoc) -> None:
        """A generated document dumps byte for byte and reads as it was written."""
        config = loads(doc.data)
        assert config.dumps() == doc.data
        assert not config.changed
        assert config.diff() == ""
        expected = doc.expected()
        assert lxml_view(doc.data) == expected  # the generator's own bookkeeping
        assert_agrees(config, expected)
        assert list(config) == _first_spellings(doc)
        # Setting a key to the value it reads as is a no-op.
        for spec in doc.singles():
            if spec.value.strip() and fold(spec.key) not in TYPED_VALUES:
                assert config.set(spec.key, spec.value) is False
        assert config.dumps() == doc.data
        assert not config.changed
        assert config.has_bom == bool(doc.style.bom)
        assert (
            codecs.lookup(config.encoding).name == codecs.lookup(doc.style.codec).name
        )

    @given(documents(style=tentacle_styles()))
    def test_tentacle_written_documents_round_trip(self, doc: GeneratedDoc) -> None:
        """A document exactly as Tentacle writes it dumps byte for byte."""
        config = loads(doc.data)
        assert config.dumps() == doc.data
        assert_agrees(config, doc.expected())

    @given(documents(min_sets=1), st.data())
    def test_insert_then_delete_restores_the_bytes(
        self, doc: GeneratedDoc, data: st.DataObject
    ) -> None:
        """Inserting a new key and deleting it again gives back the original bytes."""
        config = loads(doc.data)
        _insert_and_delete(config, doc.data, doc.expected(), data)


def test_corpus_is_present() -> None:
    """The valid corpus exists and is non-empty (required on CI)."""
    if not _corpus_files():
        if os.environ.get("CI"):
            pytest.fail(f"no files in {CORPUS_VALID}")
        pytest.skip(f"no files in {CORPUS_VALID} yet")


@pytest.mark.parametrize("path", _corpus_files(), ids=lambda p: p.name)
def test_corpus_file_round_trips(path: Path) -> None:
    """Every corpus file dumps byte for byte and agrees with lxml's reading."""
    original = path.read_bytes()
    config = loads(original, path=path)
    assert config.dumps() == original
    assert_agrees(config, lxml_view(original))


# Per file, only the inserted key and value vary: 25 examples each over the
# whole corpus is plenty and keeps the CI run short.
@pytest.mark.parametrize("path", _corpus_files(), ids=lambda p: p.name)
@settings(max_examples=25)
@given(data=st.data())
def test_corpus_file_insert_then_delete(path: Path, data: st.DataObject) -> None:
    """Inserting a key into a corpus file and deleting it restores its bytes."""
    original = path.read_bytes()
    config = loads(original, path=path)
    model = lxml_view(original)
    if not model:
        note("no <set> to insert beside: exactness is only promised next to one")
        return
    _insert_and_delete(config, original, model, data)
