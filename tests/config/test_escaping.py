"""Two escaping layers: JSON (TrustedOctopusServers) inside XML text.

A TrustedServers value with any text in it goes through ``set`` -> ``dumps`` ->
lxml -> ``json.loads`` and comes back as the model. An array written by
Tentacle keeps its exact text through a no-op edit, and an edited array is
written as Tentacle writes it (or in the one-entry-per-line / indented layout
it was found in).
"""

from __future__ import annotations

import json
import sys
from typing import Final

import pytest
from hypothesis import given
from hypothesis import note
from hypothesis import strategies as st
from strategies import TRUSTED_KEY
from strategies import EntrySpec
from strategies import GeneratedDoc
from strategies import compact_json
from strategies import documents
from strategies import fold
from strategies import json_entries
from strategies import render_entries
from strategies import server_models
from strategies import tentacle_json
from strategies import wrap_value
from strategies import xml_text
from xml_oracle import body_text
from xml_oracle import lxml_view

from tentacle_ha.config import _source
from tentacle_ha.config import loads
from tentacle_ha.servers import CommunicationStyle
from tentacle_ha.servers import TrustedServer
from tentacle_ha.servers import TrustedServers

# Text for JSON string fields (with U+0085, U+2028 and U+2029 among the
# special characters: Newtonsoft escapes them).
_PLAIN_TEXT: Final = xml_text(max_size=16)


def _expected_pairs(server: TrustedServer) -> list[tuple[str, object]]:
    """The entry's JSON as Tentacle writes it, as ordered (name, value) pairs."""
    return [
        ("Thumbprint", server.thumbprint),
        ("CommunicationStyle", int(server.communication_style)),
        ("Address", server.address),
        ("Squid", server.squid),
        ("SubscriptionId", server.subscription_id),
        *(
            (name, json.loads(raw, object_pairs_hook=list))
            for name, raw in server.extra
        ),
    ]


def _stored_json(data: bytes) -> str:
    """The TrustedOctopusServers text as lxml reads it (last one wins)."""
    return lxml_view(data)[fold(TRUSTED_KEY)][1]


class TestJsonInXml:
    """Arbitrary text survives both escaping layers."""

    @given(documents(), st.lists(server_models(), max_size=4))
    def test_servers_survive_set_dumps_lxml_json(
        self, doc: GeneratedDoc, models: list[TrustedServer]
    ) -> None:
        """set -> dumps -> lxml -> json.loads gives back every field, in order."""
        servers = TrustedServers(models)
        config = loads(doc.data)
        config.trusted_servers = servers
        out = config.dumps()
        if not models and TRUSTED_KEY not in config:
            # An absent key already reads as the empty list: nothing is written.
            assert out == doc.data
            return
        text = _stored_json(out)
        note(f"stored JSON: {text!r}")
        assert json.loads(text, object_pairs_hook=list) == [
            _expected_pairs(s) for s in models
        ]
        assert TrustedServers.from_json(text) == servers
        assert loads(out).trusted_servers == servers
        # Written in the file's own escaping style, inside the element.
        raw = config.raw(TRUSTED_KEY)
        assert raw in body_text(out, doc.style.codec)
        assert "<" not in raw
        assert "]]>" not in raw
        if models and doc.escapes_quotes():
            assert '"' not in raw
        elif models:
            assert "&quot;" not in raw


def _tentacle_doc(
    texts: st.SearchStrategy[str] = _PLAIN_TEXT,
) -> st.SearchStrategy[tuple[GeneratedDoc, list[TrustedServer]]]:
    """A document holding an array exactly as Tentacle wrote it, with its model."""
    entries = st.lists(
        json_entries(tentacle_form=True, text_fields=texts),
        min_size=1,
        max_size=4,
        # Tentacle never writes two entries for one thumbprint and address.
        unique_by=lambda e: (e.model.thumbprint, (e.model.address or "").lower()),
    )

    def build(
        models: list[TrustedServer],
    ) -> st.SearchStrategy[tuple[GeneratedDoc, list[TrustedServer]]]:
        fixed = (EntrySpec(key=TRUSTED_KEY, value=tentacle_json(models)),)
        return st.tuples(documents(fixed=fixed), st.just(models))

    return entries.map(lambda es: [e.model for e in es]).flatmap(build)


_NEW_THUMB: Final = "F" * 40


class TestTentacleWrittenArrays:
    """Tentacle's compact array: kept exactly, and re-rendered as Tentacle would."""

    @given(_tentacle_doc(), st.data())
    def test_no_op_keeps_the_text_and_an_edit_writes_tentacles_form(
        self, built: tuple[GeneratedDoc, list[TrustedServer]], data: st.DataObject
    ) -> None:
        """No-op edits write nothing; a real edit writes exactly Tentacle's JSON."""
        doc, models = built
        config = loads(doc.data)
        servers = config.trusted_servers
        assert servers == models
        assert servers.to_json() == tentacle_json(models)
        # No-ops: re-add an entry, remove what is not there, revert a removal.
        entry = data.draw(st.sampled_from(models), label="entry")
        config.trusted_servers = servers.add_or_update(entry)
        config.trusted_servers = servers.remove(thumbprint=_NEW_THUMB)
        reverted = servers.remove(
            thumbprint=entry.thumbprint, allow_empty=True
        ).replace_all(models)
        config.trusted_servers = reverted
        assert config.dumps() == doc.data
        assert not config.changed
        # A real edit: drop one entry, add a polling node.
        index = data.draw(st.integers(0, len(models) - 1), label="removed")
        expected = models[:index] + models[index + 1 :]
        address = "https://new-node.example.com:10943"
        sub = data.draw(st.from_regex(r"poll://[b-z2-9]{20}/", fullmatch=True))
        edited = servers.replace_all(expected).add_polling(
            _NEW_THUMB, address, subscription_id=sub
        )
        expected.append(
            TrustedServer(
                thumbprint=_NEW_THUMB,
                communication_style=CommunicationStyle.TENTACLE_ACTIVE,
                address=address,
                subscription_id=sub,
            )
        )
        config.trusted_servers = edited
        out = config.dumps()
        assert _stored_json(out) == tentacle_json(expected)
        assert loads(out).trusted_servers == expected


@pytest.mark.parametrize("char", ["\u0085", "\u2028", "\u2029"])
def test_line_separators_are_escaped_as_tentacle_does(char: str) -> None:
    """An edited array escapes U+0085/U+2028/U+2029 as Newtonsoft does (was raw)."""
    server = TrustedServer(
        thumbprint="A" * 40,
        communication_style=CommunicationStyle.TENTACLE_ACTIVE,
        address="https://node1:10943",
        squid=f"x{char}y",
    )
    assert TrustedServers([server]).to_json() == tentacle_json([server])
    assert f"\\u{ord(char):04x}" in tentacle_json([server])


_LAYOUTS: Final = st.sampled_from(["per_line", "indented", "spaced"])


class TestLayouts:
    """An array laid out across lines (or spaced out) keeps its layout when edited."""

    @given(
        st.lists(
            json_entries(tentacle_form=True, text_fields=_PLAIN_TEXT, extras=False).map(
                lambda e: e.model
            ),
            min_size=2,
            max_size=4,
        ),
        _LAYOUTS,
        st.sampled_from(["\n", "\r\n"]),
        st.sampled_from(["  ", "    ", "\t"]),
        st.data(),
    )
    def test_edit_keeps_a_multi_line_layout(
        self,
        models: list[TrustedServer],
        layout: str,
        newline: str,
        indent: str,
        data: st.DataObject,
    ) -> None:
        """Removing an entry re-renders the rest in the layout the array used."""
        fields = [_expected_pairs(m) for m in models]

        def render(entries: list[list[tuple[str, object]]]) -> str:
            return render_entries(
                entries, layout=layout, newline=newline, indent=indent
            )

        servers = TrustedServers.from_json(render(fields))
        assert servers == models
        index = data.draw(st.integers(0, len(models) - 1), label="removed")
        kept = models[:index] + models[index + 1 :]
        edited = servers.replace_all(kept).to_json()
        assert edited == render(fields[:index] + fields[index + 1 :])
        # And through a document: the element holds exactly that text.
        config = loads(wrap_value(TRUSTED_KEY, render(fields)))
        config.trusted_servers = config.trusted_servers.replace_all(kept)
        assert _stored_json(config.dumps()) == edited


def test_extras_are_kept_as_their_source_text() -> None:
    """Unknown fields are kept exactly as written, spaces and all (#10)."""
    text = '[{"Thumbprint":"' + "A" * 40 + '","Extra": { "a" : [1, 2] }}]'
    (server,) = TrustedServers.from_json(text)
    assert server.extra == (("Extra", '{ "a" : [1, 2] }'),)
    assert server.extra != (("Extra", compact_json({"a": [1, 2]})),)


@given(st.text(alphabet=st.characters(max_codepoint=0x7F)) | st.text())
def test_the_quick_check_for_characters_xml_cannot_carry_is_the_class(
    value: str,
) -> None:
    """ASCII text is checked with `bytes.translate`; the answer is the class's."""
    quick = _source._not_xml(value)
    slow = _source._NOT_XML.search(value)
    assert (quick is None) == (slow is None)
    if quick is not None and slow is not None:
        assert quick.start() == slow.start()


def _xml_char(point: int) -> bool:
    """XML 1.0's Char production, as the specification writes it."""
    return (
        point in {0x09, 0x0A, 0x0D}
        or 0x20 <= point <= 0xD7FF
        or 0xE000 <= point <= 0xFFFD
        or 0x10000 <= point <= 0x10FFFF
    )


def test_the_class_refuses_exactly_what_xml_char_leaves_out() -> None:
    """Every code point: the class matches where XML 1.0's Char does not."""
    everything = "".join(map(chr, range(sys.maxunicode + 1)))
    refused = {match.start() for match in _source._NOT_XML.finditer(everything)}
    assert refused == {p for p in range(sys.maxunicode + 1) if not _xml_char(p)}
    assert {0x00, 0x1F, 0xD800, 0xDFFF, 0xFFFE, 0xFFFF} <= refused
    assert not {0x09, 0x0A, 0x0D, 0x20, 0xD7FF, 0xE000, 0xFFFD, 0x10000} & refused


@pytest.mark.parametrize("char", ["\x00", "\x08", "\x0b", "\x0c", "\x0e", "\x1f"])
def test_an_ascii_control_is_refused_and_tab_lf_cr_del_are_not(char: str) -> None:
    doc = loads(b'<?xml version="1.0" encoding="utf-8"?>\n<octopus-settings />')
    for fine in "\t\n\r\x7f":
        doc.set("A", f"a{fine}b")
    with pytest.raises(ValueError, match=f"U\\+{ord(char):04X} is not allowed"):
        doc.set("A", f"a{char}b")


@pytest.mark.parametrize(
    ("value", "at"), [("\u00e9\ufffe", 1), ("a\uffff", 1), ("ab\ud800", 2), ("\x01", 0)]
)
def test_text_beyond_ascii_still_meets_the_class(value: str, at: int) -> None:
    """Only ASCII takes the quick check; U+FFFE, U+FFFF and surrogates are refused."""
    bad = _source._not_xml(value)
    assert bad is not None
    assert bad.start() == at
