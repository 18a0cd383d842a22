"""TrustedServers: reading every layout, broken arrays, thumbprints, addresses.

Reading accepts what Tentacle accepts (numeric or named styles, missing and
null fields, any field order and case, unknown fields, compact or multi-line
layouts); a broken array raises `TrustedServersError` pointing into the file
while the rest of the document stays usable; thumbprints normalise to
Tentacle's form; addresses compare as URIs.
"""

from __future__ import annotations

import itertools
import json
import re
from typing import Final

import attrs
import pytest
from hypothesis import example
from hypothesis import given
from hypothesis import strategies as st
from strategies import ADDRESS_CLASS
from strategies import HEX
from strategies import TRUSTED_KEY
from strategies import EntrySpec
from strategies import GeneratedDoc
from strategies import JsonEntry
from strategies import documents
from strategies import fold
from strategies import is_blank
from strategies import json_entries
from strategies import render_entries
from strategies import render_json_value
from strategies import wrap_value

from tentacle_ha.config import loads
from tentacle_ha.errors import InvalidValueError
from tentacle_ha.errors import TrustedServersError
from tentacle_ha.servers import SUBSCRIPTION_ALPHABET
from tentacle_ha.servers import TrustedServer
from tentacle_ha.servers import TrustedServers
from tentacle_ha.servers import generate_subscription_id
from tentacle_ha.servers import is_valid_thumbprint
from tentacle_ha.servers import normalize_thumbprint
from tentacle_ha.servers import same_address

_LAYOUTS: Final = st.sampled_from(
    ["tentacle", "compact", "spaced", "per_line", "indented"]
)
_ENTRY_LISTS: Final = st.lists(json_entries(), max_size=4)


def _render(
    entries: list[JsonEntry], layout: str, newline: str, *, ascii_only: bool
) -> str:
    return render_entries(
        [list(e.fields) for e in entries],
        layout=layout,
        newline=newline,
        ascii_only=ascii_only,
    )


def _as_written(entry: JsonEntry, layout: str, *, ascii_only: bool) -> TrustedServer:
    """*entry*'s model with each unknown field's text as `_render` wrote it."""
    values = dict(entry.fields)
    extra = tuple(
        (name, render_json_value(values[name], layout=layout, ascii_only=ascii_only))
        for name, _ in entry.model.extra
    )
    return attrs.evolve(entry.model, extra=extra)


def _line_col(text: str, offset: int) -> tuple[int, int]:
    """1-based (line, column) with CRLF, LF and CR each one line break."""
    before = text[:offset]
    lines = re.split(r"\r\n|\r|\n", before)
    return len(lines), len(lines[-1]) + 1


class TestReading:
    """Every layout and legacy form reads as Tentacle reads it."""

    @given(
        _ENTRY_LISTS,
        _LAYOUTS,
        st.sampled_from(["\n", "\r\n"]),
        st.booleans(),
    )
    def test_any_layout_reads_as_the_model(
        self,
        entries: list[JsonEntry],
        layout: str,
        newline: str,
        ascii_only: bool,  # noqa: FBT001 -- a drawn flag
    ) -> None:
        """Styles by number or name, missing fields, any order: the same model."""
        text = _render(entries, layout, newline, ascii_only=ascii_only)
        servers = TrustedServers.from_json(text)
        # Unknown fields are kept as their exact source text.
        expected = [_as_written(e, layout, ascii_only=ascii_only) for e in entries]
        assert servers == expected
        assert servers.to_json() == text  # unchanged: the exact text
        config = loads(wrap_value(TRUSTED_KEY, text))
        assert config.trusted_servers == expected

    @pytest.mark.parametrize("text", [None, "", "  ", "[]", " [ ] ", "\r\n[\r\n]\r\n"])
    def test_empty_forms(self, text: str | None) -> None:
        """Null, blank and empty arrays read as no servers and keep their text."""
        servers = TrustedServers.from_json(text)
        assert list(servers) == []
        if text is not None and text.strip():
            assert servers.to_json() == text


_BROKEN_EDITS: Final = st.sampled_from(["cut", "insert", "delete", "field"])
_HOSTILE_VALUES: Final = st.one_of(
    st.integers(1, 1500).map(lambda n: "[" * n + "]" * n),
    st.integers(1, 100).map(lambda n: '{"a":' * n + "0" + "}" * n),
    st.integers(4290, 4310).map(lambda n: "9" * n),
    st.sampled_from(
        [
            "1e99999",
            "-1e99999",
            "3.14159265358979323846264",
            "NaN",
            "-Infinity",
            '"\\ud800"',
            '"x\\udc00"',
            '"\\ud83d\\ude00"',
            '"\\udbff\\udfff"',
            '"\\ud800\\ud800"',
        ]
    ),
)
_NOISE: Final[st.SearchStrategy[str]] = st.sampled_from(
    [
        *'{}[],:"x0-',
        "null",
        "true",
        "\\",
        '"\\u12',
        # Hostile shapes (#10): nesting past the limit, numbers past Python's
        # 4,300-digit limit or the double range, lone surrogates, blanks.
        "[" * 70,
        "[" * 1500 + "]" * 1500,
        '{"a":' * 70,
        "9" * 5000,
        "1e99999",
        "NaN",
        '"\\ud800"',
        "\\udfff",
        '"\\ud83d\\ude00"',
        " \t\r\n ",
    ]
)


def _is_broken(text: str) -> bool:
    try:
        TrustedServers.from_json(text)
    except TrustedServersError:
        return True
    return False


@st.composite
def _broken(draw: st.DrawFn) -> str:
    """A rendered array with one edit that may break it."""
    entries = draw(st.lists(json_entries(), min_size=1, max_size=3))
    text = _render(entries, draw(_LAYOUTS), "\n", ascii_only=draw(st.booleans()))
    pos = draw(st.integers(0, len(text)))
    edit = draw(_BROKEN_EDITS)
    if edit == "field":  # a well-formed but hostile value, in a field of its own
        closing = [i for i, c in enumerate(text) if c == "}"]
        at = draw(st.sampled_from(closing)) if closing else pos
        name = draw(st.sampled_from(["Hostile", "Address", "CommunicationStyle"]))
        return text[:at] + f',"{name}":{draw(_HOSTILE_VALUES)}' + text[at:]
    if edit == "cut":
        return text[:pos]
    if edit == "insert":
        return text[:pos] + draw(_NOISE) + text[pos:]
    return text[:pos] + text[pos + draw(st.integers(1, 5)) :]


class TestBroken:
    """A broken array is refused with a position inside it; the rest works."""

    @given(_broken())
    @example('{"Thumbprint":"A"}')
    @example('[{"Thumbprint":null}]')
    @example('[{"CommunicationStyle":2}]')
    @example('[{"Thumbprint":"  "}]')
    @example('["not an object"]')
    @example("[1]")
    @example('"text"')
    @example('[{"Thumbprint":"A","CommunicationStyle":"Polling2"}]')
    @example('[{"Thumbprint":"A","CommunicationStyle":99}]')
    @example('[{"Thumbprint":"A","Address":5}]')
    @example('[{"Thumbprint":"A"}] x')
    @example("[" * 1500 + "]" * 1500)
    @example('[{"Thumbprint":"A","X":' + "[" * 1500 + "]" * 1500 + "}]")
    @example('[{"Thumbprint":"A","CommunicationStyle":' + "9" * 5000 + "}]")
    @example('[{"Thumbprint":"A","X":' + "9" * 5000 + "}]")
    @example('[{"Thumbprint":"A","X":"\\ud800"}]')
    @example('[{"Thumbprint":"A","X":1e99999}]')
    @example(" \t ")
    def test_broken_arrays_are_refused_with_a_position(self, text: str) -> None:
        """Parse or TrustedServersError with a line and column inside the text.

        What parses also dumps as strict JSON, encodes as UTF-8 and takes an
        edit; what does not is one positioned line, never another exception.
        """
        if not _is_broken(text):
            servers = TrustedServers.from_json(text)
            json.dumps(servers.to_list(), allow_nan=False).encode()
            edited = servers.add_polling("AB" * 20, "https://n:10943").to_json()
            assert TrustedServers.from_json(edited)[-1].address == "https://n:10943"
            return  # the edit left valid JSON
        with pytest.raises(TrustedServersError) as info:
            TrustedServers.from_json(text)
        exc, lines = info.value, re.split(r"\r\n|\r|\n", text)
        assert "\n" not in str(exc)
        assert len(str(exc)) < 300
        assert exc.line is not None
        assert exc.col is not None
        assert 1 <= exc.line <= len(lines)
        assert 1 <= exc.col <= len(lines[exc.line - 1]) + 1

    @given(_broken().filter(_is_broken), st.data())
    def test_broken_array_in_a_file_points_into_its_element(
        self, text: str, data: st.DataObject
    ) -> None:
        """The error's line:col lies inside the element; other keys still work."""
        doc: GeneratedDoc = data.draw(
            documents(fixed=(EntrySpec(key=TRUSTED_KEY, value=text),), min_sets=2)
        )
        config = loads(doc.data, path="Tentacle.config")
        with pytest.raises(TrustedServersError) as info:
            _ = config.trusted_servers
        exc = info.value
        (spec,) = [s for s in doc.sets if s.key == TRUSTED_KEY]
        assert exc.path == "Tentacle.config"
        assert exc.line is not None
        assert exc.col is not None
        first = _line_col(doc.text, spec.content_start)
        last = _line_col(doc.text, spec.content_end)
        assert first <= (exc.line, exc.col) <= last
        assert str(exc).startswith(f"Tentacle.config:{exc.line}:{exc.col}: ")
        # The rest of the document stays readable and editable.
        for folded, (spelling, value) in doc.expected().items():
            if folded != fold(TRUSTED_KEY):
                expected = None if is_blank(value) else value
                assert config.get(spelling, reveal=True) == expected
        config.set("Garbage.Free", "still editable")
        assert loads(config.dumps()).get("Garbage.Free") == "still editable"


_SEPARATORS: Final = st.sampled_from(["", ":", " ", "-"])


class TestThumbprints:
    """Thumbprints are written as Tentacle's polling client needs them."""

    @given(
        st.text(HEX, min_size=40, max_size=40),
        _SEPARATORS,
        st.booleans(),
        st.booleans(),
    )
    def test_any_spelling_normalises_to_upper_hex(
        self,
        thumb: str,
        separator: str,
        lower: bool,  # noqa: FBT001 -- a drawn flag
        prefixed: bool,  # noqa: FBT001 -- a drawn flag
    ) -> None:
        """Case, separators and an openssl prefix are accepted and removed."""
        spelled = separator.join(thumb[i : i + 2] for i in range(0, 40, 2))
        spelled = spelled.lower() if lower else spelled
        spelled = f"SHA1 Fingerprint={spelled}" if prefixed else f" {spelled} "
        assert normalize_thumbprint(spelled) == thumb
        assert is_valid_thumbprint(thumb)
        assert is_valid_thumbprint(thumb.lower()) == (thumb.lower() == thumb)

    @given(st.text(HEX + "g", max_size=45).filter(lambda t: len(t) != 40 or "g" in t))
    def test_anything_else_is_refused(self, text: str) -> None:
        """Not 40 hex digits: InvalidValueError, and not valid as stored."""
        with pytest.raises(InvalidValueError):
            normalize_thumbprint(text)
        assert not is_valid_thumbprint(text)


class TestAddresses:
    """Addresses compare as URIs: case, default port and empty path aside."""

    @given(st.sampled_from(list(ADDRESS_CLASS)), st.sampled_from(list(ADDRESS_CLASS)))
    def test_same_address_is_uri_equality(self, a: str, b: str) -> None:
        """Two pool addresses are the same exactly when their classes are."""
        assert same_address(a, b) == (ADDRESS_CLASS[a] == ADDRESS_CLASS[b])
        assert same_address(a, b) == same_address(b, a)
        assert same_address(a, a)

    @given(
        st.from_regex(
            r"[a-z][a-z0-9-]{0,20}(\.[a-z][a-z0-9-]{0,10}){0,2}", fullmatch=True
        ),
        st.integers(1, 65535),
        st.sampled_from(["https", "wss"]),
    )
    def test_case_port_and_slash_do_not_matter(
        self, host: str, port: int, scheme: str
    ) -> None:
        """``https://h:p`` equals its upper-case and trailing-slash spellings."""
        address = f"{scheme}://{host}:{port}"
        assert same_address(address, address.upper())
        assert same_address(address, address + "/")
        assert same_address(f"{scheme}://{host}", f"{scheme}://{host}:443")
        assert same_address(address, f"{scheme}://{host}:{port % 65535 + 1}") is False
        assert same_address(None, None)
        assert not same_address(address, None)


class TestSubscriptionIds:
    """New subscription IDs look like Tentacle's and are reused for a thumbprint."""

    def test_generated_ids_have_tentacles_form(self) -> None:
        """``poll://`` + 20 characters of Tentacle's alphabet + ``/``, all distinct."""
        ids = [generate_subscription_id() for _ in range(200)]
        pattern = re.compile(f"poll://[{SUBSCRIPTION_ALPHABET}]{{20}}/")
        assert all(pattern.fullmatch(i) for i in ids)
        assert all(c.islower() or c.isdigit() for c in SUBSCRIPTION_ALPHABET)
        assert len(set(ids)) == len(ids)

    @given(
        st.lists(
            st.sampled_from([*list(ADDRESS_CLASS)[:4], "https://n3:10943"]), min_size=1
        )
    )
    def test_nodes_of_one_thumbprint_share_one_id(self, addresses: list[str]) -> None:
        """poll-server semantics: every node of one thumbprint gets the same ID."""
        servers = TrustedServers()
        for address in addresses:
            servers = servers.add_polling("ab" * 20, address)
        assert len({s.subscription_id for s in servers}) == 1
        other = servers.add_polling("CD" * 20, "https://n3:10943")
        assert other[-1].subscription_id not in {s.subscription_id for s in servers}
        pairs = itertools.combinations(servers, 2)
        assert not any(a.matches(b) for a, b in pairs)  # one entry per address
