"""Hostile TrustedOctopusServers JSON: positioned errors, never a traceback (#10).

Nesting far past any real list, numbers past Python's 4,300-digit limit, lone
surrogates and a whitespace-only value each end as a one-line, positioned
`TrustedServersError` (or, where the value is fine, read and edit cleanly),
through the library, the in-process CLI and ``python -m tentacle_ha``. Numbers
in unknown fields keep their exact source text through an edit elsewhere.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import TYPE_CHECKING
from typing import Final

import pytest
from helpers.cli import run_cli
from hypothesis import given
from hypothesis import strategies as st

from tentacle_ha.config import loads
from tentacle_ha.errors import TrustedServersError
from tentacle_ha.servers import TrustedServers

if TYPE_CHECKING:
    from pathlib import Path

T: Final = "9E4A07A1F5B2C8D3E6F7A8B9C0D1E2F3A4B5C6D7"
T2: Final = "1111111111111111111111111111111111111111"
SUB: Final = "poll://g3662re9njtelsyfhm7t/"
_ENTRY: Final = (
    f'{{"Thumbprint":"{T}","CommunicationStyle":2,"Address":"https://n1:10943",'
    f'"Squid":null,"SubscriptionId":"{SUB}"'
)


def _with_extra(raw: str) -> str:
    """One Tentacle entry carrying an unknown field ``X`` written as *raw*."""
    return f'[{_ENTRY},"X":{raw}}}]'


def _nested(depth: int) -> str:
    return "[" * depth + "]" * depth


# name -> (the JSON value, where the error points in it, or None: it reads)
HOSTILE: Final = {
    "deep-array": (_nested(1500), 64),
    "deep-in-field": (_with_extra(_nested(1500)), len(_with_extra("")) - 2 + 62),
    "deep-objects": ('{"a":' * 1500 + "1" + "}" * 1500, 64 * 5),
    "huge-int-style": (
        f'[{{"Thumbprint":"{T}","CommunicationStyle":{"9" * 5000}}}]',
        1,
    ),
    "huge-int-address": (f'[{{"Thumbprint":"{T}","Address":{"9" * 5000}}}]', 1),
    "lone-high-surrogate": (_with_extra('"\\ud800"'), len(_with_extra("")) - 2),
    "lone-low-surrogate": (_with_extra('"a\\uDC00b"'), len(_with_extra("")) - 2),
    "surrogate-in-address": (
        f'[{{"Thumbprint":"{T}","CommunicationStyle":2,"Address":"https://\\ud800"}}]',
        len(f'[{{"Thumbprint":"{T}","CommunicationStyle":2,"Address":'),
    ),
}
# Values that look hostile but read (negative controls for the limits).
READABLE: Final = {
    "depth-64": _with_extra(_nested(62)),  # the array + the entry + 62 = 64
    "huge-int-extra": _with_extra("9" * 5000),
    "surrogate-pair": _with_extra('"\\ud83d\\ude00"'),
    "brackets-in-strings": _with_extra('"' + "[" * 1500 + '"'),
    "whitespace-only": " \t\n ",
}


def _one_line(message: str) -> None:
    assert "\n" not in message
    assert "\r" not in message
    assert len(message) < 300, message


class TestLibrary:
    """`TrustedServers.from_json` refuses each shape with a position, or reads it."""

    @pytest.mark.parametrize("name", sorted(HOSTILE))
    def test_hostile_shapes_are_positioned_errors(self, name: str) -> None:
        """A TrustedServersError pointing at the shape, on one short line."""
        text, index = HOSTILE[name]
        with pytest.raises(TrustedServersError) as info:
            TrustedServers.from_json(text)
        assert (info.value.line, info.value.col) == (1, index + 1)
        _one_line(str(info.value))

    def test_depth_one_past_the_limit_is_refused(self) -> None:
        """65 levels: refused; 64 (below) reads: the limit is exact."""
        with pytest.raises(TrustedServersError, match="more than 64 levels"):
            TrustedServers.from_json(_with_extra(_nested(63)))

    @pytest.mark.parametrize("name", sorted(READABLE))
    def test_readable_shapes_read_and_edit(self, name: str) -> None:
        """Within the limits: reads, dumps as JSON, takes an edit."""
        text = READABLE[name]
        servers = TrustedServers.from_json(text)
        json.dumps(servers.to_list(), allow_nan=False).encode()
        edited = servers.add_polling(T2, "https://n9:10943").to_json()
        again = TrustedServers.from_json(edited)
        assert again[-1].address == "https://n9:10943"
        if servers:  # the unknown field's text survives the edit byte for byte
            assert text[len(_ENTRY) + 6 : -2] in edited

    def test_whitespace_only_then_add(self) -> None:
        """A blank value reads as empty, and an add writes Tentacle's compact form."""
        servers = TrustedServers.from_json("   ")
        out = servers.add_polling(T, "https://n1:10943", subscription_id=SUB)
        assert out.to_json() == f"[{_ENTRY}}}]"


def _config(value: str) -> bytes:
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n<octopus-settings>\n'
        '  <set key="Octopus.Home">/etc/octopus</set>\n'
        f'  <set key="Tentacle.Communication.TrustedOctopusServers">{value}</set>\n'
        "</octopus-settings>\n"
    ).encode()


_LINE3: Final = len('  <set key="Tentacle.Communication.TrustedOctopusServers">')


def _commands(path: str) -> dict[str, list[str]]:
    return {
        "show": ["show", path],
        "show-json": ["show", "--json", path],
        "list": ["servers", "list", path],
        "add": [
            "servers",
            "add",
            path,
            "--thumbprint",
            T2,
            "--address",
            "https://x:10943",
        ],
        "audit": ["fleet", "audit", path],
    }


class TestCommandLine:
    """Every command that reads the list: one positioned line, exit 1, no traceback."""

    @pytest.mark.parametrize("command", ["show", "show-json", "list", "add", "audit"])
    @pytest.mark.parametrize("name", sorted(HOSTILE))
    def test_in_process(self, tmp_path: Path, name: str, command: str) -> None:
        """main() returns 1 with the file's line:col on stderr; the file is kept."""
        text, index = HOSTILE[name]
        path = tmp_path / "Tentacle.config"
        path.write_bytes(_config(text))
        code, out, err = run_cli(*_commands(str(path))[command])
        assert code == 1, err
        assert "Traceback" not in err
        assert f"{path}:4:{_LINE3 + index + 1}: " in out + err
        assert path.read_bytes() == _config(text)

    @pytest.mark.parametrize("name", sorted(HOSTILE))
    def test_set_of_another_key_never_parses_the_list(
        self, tmp_path: Path, name: str, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """``set CONFIG Octopus.Home V`` (also with --diff) leaves the list unread."""
        text, _ = HOSTILE[name]
        path = tmp_path / "Tentacle.config"
        path.write_bytes(_config(text))

        def refuse(*_: object, **__: object) -> TrustedServers:
            raise AssertionError("the server list was parsed")

        monkeypatch.setattr(TrustedServers, "from_json", refuse)
        code, out, err = run_cli("set", str(path), "Octopus.Home", "/x", "--diff")
        assert (code, err.count("Traceback")) == (0, 0), err
        assert '+  <set key="Octopus.Home">/x</set>' in out
        code, _, err = run_cli("set", str(path), "Octopus.Home", "/x")
        assert code == 0, err
        assert path.read_bytes() == _config(text).replace(b"/etc/octopus", b"/x")

    def test_the_monkeypatch_would_catch_a_parse(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """Negative control: an edit of the list itself does reach from_json."""
        path = tmp_path / "Tentacle.config"
        path.write_bytes(_config("[]"))
        calls: list[object] = []
        real = TrustedServers.from_json

        def spy(*args: object, **kwargs: object) -> TrustedServers:
            calls.append(args)
            return real(*args, **kwargs)  # type: ignore[arg-type]  # a transparent spy

        monkeypatch.setattr(TrustedServers, "from_json", spy)
        run_cli(
            "servers",
            "add",
            str(path),
            "--thumbprint",
            T,
            "--address",
            "https://n:10943",
        )
        assert calls

    @pytest.mark.parametrize("name", sorted(HOSTILE))
    def test_python_dash_m_show_json(self, tmp_path: Path, name: str) -> None:
        """A real process with a UTF-8 stdout: one positioned line, exit 1."""
        text, index = HOSTILE[name]
        path = tmp_path / "Tentacle.config"
        path.write_bytes(_config(text))
        env = {**os.environ, "PYTHONIOENCODING": "utf-8"}
        done = subprocess.run(
            [sys.executable, "-m", "tentacle_ha", "show", "--json", str(path)],
            capture_output=True,
            timeout=60,
            check=False,
            env=env,
        )
        err = done.stderr.decode()
        assert done.returncode == 1, err
        assert "Traceback" not in err
        lines = err.splitlines()
        assert lines == [lines[0]]
        assert lines[0].startswith(f"{path}:4:{_LINE3 + index + 1}: ")
        json.loads(done.stdout)  # what was printed is still valid JSON


# -- numbers in unknown fields (#10 item 15) ----------------------------------

_NUMBERS: Final = st.one_of(
    st.sampled_from(
        [
            "3.14159265358979323846264",
            "1E5",
            "1e99999",
            "-1e-99999",
            "-0",
            "-0.0",
            "0.1",
            "1.0",
            "1e+2",
            "2E-3",
            "123456789012345678901234567890",
            "9" * 5000,
        ]
    ),
    st.from_regex(r"\A-?(0|[1-9][0-9]{0,30})(\.[0-9]{1,30})?([eE][+-]?[0-9]{1,6})?\Z"),
)


@st.composite
def _number_values(draw: st.DrawFn) -> str:
    """A JSON value made of number tokens, as some other tool may have written it."""
    numbers = draw(st.lists(_NUMBERS, min_size=1, max_size=3))
    shape = draw(st.sampled_from(["bare", "array", "object", "spaced"]))
    if shape == "bare":
        return numbers[0]
    if shape == "array":
        return "[" + ",".join(numbers) + "]"
    if shape == "object":
        return "{" + ",".join(f'"k{i}":{n}' for i, n in enumerate(numbers)) + "}"
    return "[ " + " ,\n ".join(numbers) + " ]"


class TestNumbersKeepTheirText:
    """An unknown field's numbers are kept as written, through any edit."""

    @given(_number_values(), st.sampled_from(["add", "update", "remove-other"]))
    def test_an_edit_elsewhere_keeps_the_field_byte_for_byte(
        self, raw: str, edit: str
    ) -> None:
        """The field's text is in the output unchanged; to_list dumps as JSON."""
        other = (
            f'{{"Thumbprint":"{T2}","CommunicationStyle":1,"Address":null,'
            '"Squid":null,"SubscriptionId":null}'
        )
        text = f'[{_ENTRY},"Extra":{raw}}},{other}]'
        servers = TrustedServers.from_json(text)
        assert servers[0].extra == (("Extra", raw),)
        if edit == "add":
            edited = servers.add_polling(T, "https://n2:10943")
        elif edit == "update":
            edited = servers.replace_all(
                [
                    servers[0],
                    servers[1].__class__(
                        thumbprint=T2, communication_style=2, address="https://n3:10943"
                    ),
                ]
            )
        else:
            edited = servers.remove(thumbprint=T2)
        out = edited.to_json()
        assert out != text
        assert f'"Extra":{raw}}}' in out
        assert "Infinity" not in out
        json.dumps(edited.to_list(), allow_nan=False)
        # And through a document, as `servers add` writes it.
        config = loads(_config(text))
        config.trusted_servers = config.trusted_servers.add_polling(
            T, "https://n2:10943"
        )
        assert f'"Extra":{raw}}}'.encode() in config.dumps()

    def test_the_issue_examples(self) -> None:
        """3.14159265358979323846264, 1E5 and 1e99999 come back as written."""
        for raw in ("3.14159265358979323846264", "1E5", "1e99999"):
            text = _with_extra(raw)
            out = (
                TrustedServers.from_json(text).add_polling(T2, "https://n:1").to_json()
            )
            assert f'"X":{raw}}}' in out
        # Negative control: Python's own round trip is what used to happen.
        assert json.dumps(json.loads("[3.14159265358979323846264,1E5,1e99999]")) == (
            "[3.141592653589793, 100000.0, Infinity]"
        )

    def test_to_list_gives_valid_json_for_any_number(self) -> None:
        """Numbers Python cannot hold come back as their text, never Infinity."""
        text = _with_extra("[1e99999, " + "9" * 5000 + ", 1E5, NaN]")
        (entry,) = TrustedServers.from_json(text).to_list()
        assert entry["X"] == ["1e99999", "9" * 5000, 100000.0, "NaN"]
        json.dumps(entry, allow_nan=False)
