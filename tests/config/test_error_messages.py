"""Error messages: one line, positions not text, never a secret (#10).

An unclosed CDATA section or comment makes libxml2 follow its message with
the document text after it, which inside ``Octopus.Proxy.ProxyPassword`` or
``Tentacle.Certificate`` is the secret; only the first line is kept. A UTF-16
file without a byte-order mark is refused with what is wrong with it, not an
internal error.
"""

from __future__ import annotations

import codecs
import json
import os
import subprocess
import sys
from typing import TYPE_CHECKING
from typing import Final

import pytest
from helpers.cli import run_cli
from lxml import etree

from tentacle_ha.config import loads
from tentacle_ha.errors import ConfigEncodingError
from tentacle_ha.errors import ConfigParseError
from tentacle_ha.errors import InternalError

if TYPE_CHECKING:
    from pathlib import Path

_SECRET: Final = "Sup3rS3cretPa55w0rd"  # noqa: S105 -- a marker, not a password
_MORE: Final = "AQAAANCMnd8BFdERjHoAwEsecondline"
_SECRET_KEYS: Final = (
    "Octopus.Proxy.ProxyPassword",
    "Octopus.Server.Proxy.ProxyPassword",
    "Tentacle.Certificate",
)
_OPENERS: Final = ("<![CDATA[", "<!--", "<?pi ")


def _document(key: str, opener: str) -> bytes:
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n<octopus-settings>\n'
        f'  <set key="{key}">{opener}{_SECRET}\n{_MORE}\nthird</set>\n'
        '  <set key="Octopus.Home">/etc/octopus</set>\n'
        "</octopus-settings>\n"
    ).encode()


def _clean(text: str) -> None:
    """No piece of the secret, nor the text after it, is in *text*."""
    for piece in (_SECRET, _SECRET[:8], _SECRET[-8:], _MORE, _MORE[:10], "third"):
        assert piece not in text, text


@pytest.mark.parametrize("opener", _OPENERS)
@pytest.mark.parametrize("key", _SECRET_KEYS)
def test_parse_error_never_quotes_the_secret(key: str, opener: str) -> None:
    """A positioned, one-line ConfigParseError without the element's text."""
    data = _document(key, opener)
    with pytest.raises(ConfigParseError) as info:
        loads(data, path="Tentacle.config")
    message = str(info.value)
    assert message.startswith(f"Tentacle.config:{info.value.line}:{info.value.col}: ")
    assert "\n" not in message
    assert "\r" not in message
    assert "malformed XML" in message
    _clean(message)


def test_the_parser_itself_does_quote_it() -> None:
    """Negative control: lxml's raw message carries the secret over lines."""
    with pytest.raises(etree.XMLSyntaxError) as info:
        etree.fromstring(_document("Tentacle.Certificate", "<![CDATA["))
    assert _SECRET in str(info.value.msg)
    assert "\n" in str(info.value.msg)


@pytest.mark.parametrize("key", _SECRET_KEYS)
def test_cli_stderr_and_fleet_plan_reasons_are_clean(tmp_path: Path, key: str) -> None:
    """show's stderr and fleet plan --json's reason: one line, no secret."""
    path = tmp_path / "Tentacle.config"
    path.write_bytes(_document(key, "<![CDATA["))
    code, out, err = run_cli("show", str(path))
    assert code == 1
    assert len(err.splitlines()) == 1
    _clean(out + err)
    code, out, err = run_cli(
        "fleet",
        "plan",
        "--json",
        "--jobs",
        "1",
        "--set",
        "Octopus.Home",
        "/y",
        str(path),
    )
    assert code == 1, err
    _clean(out + err)
    (entry,) = json.loads(out)["files"]
    assert entry["status"] == "failed"
    assert "\n" not in entry["reason"]
    assert "malformed XML" in entry["reason"]


def test_python_dash_m_show(tmp_path: Path) -> None:
    """A real process: exit 1, one line on stderr, the secret nowhere."""
    path = tmp_path / "Tentacle.config"
    path.write_bytes(_document("Octopus.Proxy.ProxyPassword", "<![CDATA["))
    done = subprocess.run(
        [sys.executable, "-m", "tentacle_ha", "show", str(path)],
        capture_output=True,
        timeout=60,
        check=False,
        env={**os.environ, "PYTHONIOENCODING": "utf-8"},
    )
    err = done.stderr.decode()
    assert done.returncode == 1
    assert err.splitlines() == [
        f"{path}:8:1: malformed XML: CData section not finished"
    ]
    _clean(err + done.stdout.decode())


# -- UTF-16 without a byte-order mark (#10 item 16) ----------------------------

_BODY: Final = (
    '<octopus-settings>\n  <set key="Octopus.Home">/x</set>\n</octopus-settings>\n'
)


@pytest.mark.parametrize(
    ("codec", "name"),
    [
        ("utf-16-le", "UTF-16 (little-endian)"),
        ("utf-16-be", "UTF-16 (big-endian)"),
        ("utf-32-le", "UTF-32 (little-endian)"),
        ("utf-32-be", "UTF-32 (big-endian)"),
    ],
)
@pytest.mark.parametrize(
    "prefix", ["", '<?xml version="1.0" encoding="utf-16"?>\n', "\n  "]
)
def test_bomless_utf16_says_what_is_wrong(codec: str, name: str, prefix: str) -> None:
    """ConfigEncodingError naming the encoding and the missing BOM, at 1:1."""
    data = (prefix + _BODY).encode(codec)
    with pytest.raises(ConfigEncodingError) as info:
        loads(data, path="Tentacle.config")
    assert not isinstance(info.value, InternalError)
    assert str(info.value) == (
        f"Tentacle.config:1:1: {name} without a byte-order mark: Tentacle reads "
        "UTF-16 only with one; save the file as UTF-8 or as UTF-16 with a BOM"
    )


@pytest.mark.parametrize(
    ("codec", "bom"),
    [("utf-16-le", codecs.BOM_UTF16_LE), ("utf-16-be", codecs.BOM_UTF16_BE)],
)
def test_utf16_with_a_bom_reads(codec: str, bom: bytes) -> None:
    """Negative control: the same bytes with their BOM load and round-trip."""
    data = bom + ('<?xml version="1.0" encoding="utf-16"?>\n' + _BODY).encode(codec)
    config = loads(data, path="Tentacle.config")
    assert config.get("Octopus.Home") == "/x"
    assert config.dumps() == data


def test_utf8_starting_with_whitespace_still_reads() -> None:
    """Negative control: plain UTF-8 is not mistaken for UTF-16."""
    data = ("\n  " + _BODY).encode()
    assert loads(data).get("Octopus.Home") == "/x"
