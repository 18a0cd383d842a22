"""A list kept as unbuilt rows behaves exactly as the same list of entries.

`TrustedServers.from_json` keeps an array in Tentacle's own form as rows and
builds `TrustedServer` objects on use (the round trip's fast path). Here
every array is read both ways (rows, and entries built by `parse_fast` as
before) and each drawn operation must give the same answer on both: the same
error (class and message), the same entries, length, JSON text and orphaning
verdict.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import pytest
from hypothesis import event
from hypothesis import given
from hypothesis import strategies as st
from strategies import ADDRESS_CLASSES
from strategies import JsonEntry
from strategies import json_entries
from strategies import tentacle_json
from strategies import thumbprints

from tentacle_ha.servers import CommunicationStyle
from tentacle_ha.servers import TrustedServers
from tentacle_ha.servers import _json
from tentacle_ha.servers import leaves_orphaned

if TYPE_CHECKING:
    from collections.abc import Callable

_ADDRESSES = [a for group in ADDRESS_CLASSES.values() for a in group]


def _outcome(
    operation: Callable[[TrustedServers], TrustedServers], servers: TrustedServers
) -> tuple[str, object]:
    try:
        out = operation(servers)
    except Exception as exc:  # noqa: BLE001 -- the class is part of the answer
        return ("error", (type(exc).__name__, str(exc)))
    assert out.polls == bool(out.polling())  # rows or entries alike
    return ("ok", (list(out), len(out), out.to_json(), bool(out), out.polling()))


@st.composite
def _operation(
    draw: st.DrawFn, thumbs: list[str]
) -> Callable[[TrustedServers], TrustedServers]:
    kind = draw(st.sampled_from(["remove", "add", "keep", "rotate", "same"]))
    thumb = draw(st.sampled_from(thumbs) if thumbs else thumbprints())
    address = draw(st.sampled_from(_ADDRESSES))
    allow = draw(st.booleans())
    if kind == "remove":
        by = draw(st.sampled_from(["thumbprint", "address", "both"]))
        return lambda s: s.remove(
            thumbprint=thumb if by != "address" else None,
            address=address if by != "thumbprint" else None,
            allow_empty=allow,
        )
    if kind == "add":
        return lambda s: s.add_polling(
            thumb, address, subscription_id="poll://abcdefghjkmnpqrstuvw/"
        )
    if kind == "keep":
        return lambda s: s.keep_only([address], allow_empty=allow)
    if kind == "rotate":
        new = draw(thumbprints())
        return lambda s: s.rotate(thumb, new, staged=allow)
    return lambda s: s


@given(
    st.lists(json_entries(tentacle_form=True), max_size=4),
    st.data(),
)
def test_rows_and_built_entries_agree(
    entries: list[JsonEntry], data: st.DataObject
) -> None:
    """Every operation gives the same answer on rows and on built entries."""
    text = tentacle_json([e.model for e in entries])
    rows = TrustedServers.from_json(text)
    event("rows" if rows._rows is not None else "built")
    parsed = _json.parse_fast(text)
    assert parsed is not None
    built = TrustedServers(parsed, _source=text, _parsed=parsed)
    assert rows.to_json() == built.to_json() == text
    assert len(rows) == len(built)
    assert leaves_orphaned(rows, []) == leaves_orphaned(built, [])
    thumbs = [e.model.thumbprint for e in entries]
    for _ in range(data.draw(st.integers(1, 3), label="operations")):
        operation = data.draw(_operation(thumbs), label="operation")
        after_rows = _outcome(operation, rows)
        after_built = _outcome(operation, built)
        assert after_rows == after_built
        if after_rows[0] == "ok":
            rows, built = operation(rows), operation(built)
            assert list(built._not_in(rows)) == list(rows._not_in(built))
            assert leaves_orphaned(rows, rows) == leaves_orphaned(built, built)
    assert list(rows) == list(built)
    assert rows == built


_STYLE_NUMBERS = st.sampled_from([0, 1, 2, 3, 4, 5, 7, 10, 22])
_PRINTABLE = st.text(
    alphabet=st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=20
)
_TEXTS = st.one_of(st.none(), _PRINTABLE, st.text(max_size=12))
_THUMBS = st.one_of(thumbprints(), _PRINTABLE, st.text(max_size=41))
_INSERTS = st.sampled_from(
    ["", "", "", " ", ",", "]", "[", '"', "\\", "0", "{}", "null", "\u2028", "\x01"]
)

_Fields = tuple[str, int, str | None, str | None, str | None]


def _plain_array(fields: list[_Fields]) -> str:
    """Tentacle's compact array, written here with the JSON encoder."""
    names = ("Thumbprint", "CommunicationStyle", "Address", "Squid", "SubscriptionId")
    return _json._encode_compact([dict(zip(names, f, strict=True)) for f in fields])


@given(
    st.lists(st.tuples(_THUMBS, _STYLE_NUMBERS, _TEXTS, _TEXTS, _TEXTS), max_size=4),
    st.integers(0, 400),
    _INSERTS,
)
def test_plain_rows_read_as_the_decoder_reads(
    fields: list[_Fields], at: int, insert: str
) -> None:
    """Where the decoder-free reader answers, it answers as the decoder does.

    Arrays of any strings and style numbers, some with a character put in
    anywhere: `plain_rows` either declines (None) or gives exactly the rows
    `parse_rows` gives after `check`, which then cannot fail.
    """
    text = _plain_array(fields)
    text = text[:at] + insert + text[at:]
    plain = _json.plain_rows(text)
    event("plain" if plain is not None else "declined")
    if plain is None:
        return
    _json.check(text)
    assert _json.parse_rows(text) == plain
    assert _json.compact_rows(plain) == text  # its own text, written back
    # Known plain, rows it read are written without a second look, and so
    # are any of them (what `remove` keeps).
    assert _json.compact_rows(plain, plain=True) == text
    for gone in range(len(plain)):
        some = plain[:gone] + plain[gone + 1 :]
        assert _json.compact_rows(some, plain=True) == _json._encoded_rows(some)


@given(
    st.lists(
        st.tuples(
            st.one_of(thumbprints(), st.text(min_size=1, max_size=41)),
            st.sampled_from(list(CommunicationStyle)),
            _TEXTS,
            _TEXTS,
            _TEXTS,
        ),
        max_size=4,
    )
)
def test_compact_rows_writes_what_the_encoder_writes(rows: list[_json.Row]) -> None:
    """The formatted fast form equals the encoder's output for any strings."""
    assert _json.compact_rows(rows) == _json._encoded_rows(rows)


_ENTRY = (
    '{{"Thumbprint":"{t}","CommunicationStyle":{s},"Address":{a},'
    '"Squid":null,"SubscriptionId":null}}'
)


@pytest.mark.parametrize(
    "text",
    [
        "[" + _ENTRY.format(t=" AB", s=2, a="null") + "]",
        "[" + _ENTRY.format(t="", s=2, a="null") + "]",
        "[" + _ENTRY.format(t="AB", s="02", a="null") + "]",
        "[" + _ENTRY.format(t="AB", s=99, a="null") + "]",
        "[" + _ENTRY.format(t="AB", s=2, a='"a\\u0041"') + "]",
        "[" + _ENTRY.format(t="AB", s=2, a="null") + ",]",
        "[" + _ENTRY.format(t="AB", s=2, a="null") + " ]",
        "[" + _ENTRY.format(t="AB", s=2, a="null") * 2 + "]",
        "["
        + _ENTRY.format(t="AB", s=2, a="null")
        + "x"
        + _ENTRY.format(t="CD", s=2, a="null")
        + "]",
        "x" + _ENTRY.format(t="AB", s=2, a="null") + "]",
    ],
)
def test_plain_rows_declines_what_it_cannot_read_as_the_decoder(text: str) -> None:
    """Padding, blank, leading zero, unknown style, escape, stray comma or space."""
    assert _json.plain_rows(text) is None


def test_plain_rows_reads_tentacle_form() -> None:
    """Control: the same entries without the oddity are read as the decoder reads."""
    text = (
        "["
        + _ENTRY.format(t="AB", s=2, a='"https://n1:10943/"')
        + ","
        + _ENTRY.format(t="CD", s=1, a="null")
        + "]"
    )
    assert _json.plain_rows(text) == _json.parse_rows(text)
    assert _json.plain_rows(text) is not None
    assert _json.plain_rows("[]") == ()


@pytest.mark.parametrize("text", ['A"B', "A\\B", "A\nB", "\u2028", "\u00e9", "\x7f"])
def test_compact_rows_leaves_strings_that_need_escaping_to_the_encoder(
    text: str,
) -> None:
    """A quote, backslash, control or non-ASCII character is not written as is."""
    rows = [(text, CommunicationStyle.TENTACLE_ACTIVE, text, None, text)]
    assert _json.compact_rows(rows) == _json._encoded_rows(rows)


# -- rows edited in place: the cases a mutation of the inline loops showed unpinned --

_N1, _N2 = "https://n1.example.com:10943/", "https://n2.example.com:10943/"


def _array(*entries: tuple[str, int, str | None]) -> str:
    """A compact array of (thumbprint JSON text, style, address) entries."""
    return (
        "["
        + ",".join(
            _ENTRY.format(t=t, s=s, a="null" if a is None else f'"{a}"')
            for t, s, a in entries
        )
        + "]"
    )


@pytest.mark.parametrize("thumb", ['AB\\"C', "AB\\\\C", "\\u00e9t\\u00e9", "caf\u00e9"])
def test_removing_beside_a_string_that_needs_escaping_writes_valid_json(
    thumb: str,
) -> None:
    """Rows the decoder read (not plain) are checked again when written back."""
    servers = TrustedServers.from_json(_array((thumb, 2, _N1), ("CC", 2, _N2)))
    out = servers.remove(thumbprint="CC")
    assert json.loads(out.to_json()) == [servers[0].to_dict()]
    assert out.to_json() == TrustedServers(list(out)).to_json()  # the encoder's


def test_remove_by_thumbprint_ignores_the_stored_case() -> None:
    servers = TrustedServers.from_json(_array(("ab12", 2, _N1), ("CD34", 2, _N2)))
    assert servers._rows is not None  # the rows path
    assert [s.thumbprint for s in servers.remove(thumbprint="AB12")] == ["CD34"]


def test_remove_by_thumbprint_and_address_takes_only_entries_matching_both() -> None:
    servers = TrustedServers.from_json(_array(("AB", 2, _N1), ("AB", 2, _N2)))
    out = servers.remove(thumbprint="ab", address=_N2.upper())
    assert [s.address for s in out] == [_N1]
    assert len(servers.remove(thumbprint="CD", address=_N1)) == 2


def test_an_empty_address_matches_no_entry_without_one() -> None:
    """`same_address(None, "")` is false: a null Address is not an empty one."""
    servers = TrustedServers.from_json(_array(("AB", 1, None), ("CD", 2, _N1)))
    assert servers.remove(address="", allow_empty=True).to_json() == servers.to_json()


@pytest.mark.parametrize(("address", "polls"), [(None, False), (_N1, True)])
def test_a_kubernetes_entry_polls_only_with_an_address(
    address: str | None, *, polls: bool
) -> None:
    servers = TrustedServers.from_json(_array(("AB", 11, address)))
    assert servers._rows is not None
    assert servers.polls is polls
