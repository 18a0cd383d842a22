"""Every invalid file raises its own error class at its own position."""

from __future__ import annotations

import pickle
from pathlib import Path

import pytest

import tentacle_ha
from tentacle_ha import config
from tentacle_ha import errors
from tentacle_ha.errors import ConfigEncodingError
from tentacle_ha.errors import ConfigParseError
from tentacle_ha.errors import TentacleHAError
from tentacle_ha.errors import TrustedServersError
from tentacle_ha.errors import UnsafeXMLError
from tentacle_ha.errors import UnsupportedConstructError

CORPUS = Path(__file__).parent / "corpus"

# (file in corpus/invalid, error class, line, col)
INVALID: list[tuple[str, type[TentacleHAError], int, int]] = [
    ("bad-utf8.config", ConfigEncodingError, 3, 19),
    ("billion-laughs.config", UnsafeXMLError, 2, 1),
    ("binary-garbage.config", ConfigEncodingError, 3, 115),
    ("child-element-in-set.config", UnsupportedConstructError, 3, 17),
    ("empty.config", ConfigParseError, 1, 1),
    ("external-dtd.config", UnsafeXMLError, 2, 1),
    ("external-entity.config", UnsafeXMLError, 2, 1),
    ("mismatched-tag.config", ConfigParseError, 3, 24),
    ("namespaced-root.config", ConfigParseError, 2, 1),
    ("set-without-key.config", UnsupportedConstructError, 3, 3),
    ("text-only.config", ConfigParseError, 1, 1),
    ("two-roots.config", ConfigParseError, 2, 1),
    ("unclosed-root.config", ConfigParseError, 4, 1),
    ("undefined-entity.config", ConfigParseError, 3, 22),
    ("unknown-encoding.config", ConfigEncodingError, 1, 1),
    ("utf32.config", ConfigEncodingError, 1, 1),
    ("whitespace-only.config", ConfigParseError, 1, 1),
    ("wrong-root.config", ConfigParseError, 2, 1),
]

# (file in corpus/broken-servers, line, col): loads, but the JSON array is broken.
BROKEN_SERVERS: list[tuple[str, int, int]] = [
    ("no-thumbprint.config", 3, 141),
    ("not-an-array.config", 3, 59),
    ("quot-escaped-broken.config", 3, 60),
    ("truncated-json.config", 4, 140),
]


def test_invalid_table_covers_the_corpus() -> None:
    """Every file in corpus/invalid has a row, and every row a file."""
    on_disk = sorted(p.name for p in (CORPUS / "invalid").iterdir())
    assert on_disk == sorted(row[0] for row in INVALID)
    on_disk = sorted(p.name for p in (CORPUS / "broken-servers").iterdir())
    assert on_disk == sorted(row[0] for row in BROKEN_SERVERS)


@pytest.mark.parametrize(
    ("name", "cls", "line", "col"), INVALID, ids=[r[0] for r in INVALID]
)
def test_invalid_file_raises_positioned_error(
    name: str, cls: type[TentacleHAError], line: int, col: int
) -> None:
    """An invalid file raises exactly its error class at its line and column."""
    path = CORPUS / "invalid" / name
    with pytest.raises(TentacleHAError) as info:
        config.load(path)
    assert type(info.value) is cls
    assert (info.value.line, info.value.col) == (line, col)
    assert str(info.value).startswith(f"{path}:{line}:{col}: ")
    assert "\n" not in str(info.value)
    assert isinstance(info.value, ValueError)


@pytest.mark.parametrize(
    ("name", "line", "col"), BROKEN_SERVERS, ids=[r[0] for r in BROKEN_SERVERS]
)
def test_broken_servers_positioned(name: str, line: int, col: int) -> None:
    """A broken TrustedOctopusServers array points at the JSON error in the file."""
    path = CORPUS / "broken-servers" / name
    doc = config.load(path)
    with pytest.raises(TrustedServersError) as info:
        _ = doc.trusted_servers
    assert (info.value.line, info.value.col) == (line, col)
    assert str(info.value).startswith(f"{path}:{line}:{col}: ")


def test_entities_are_never_resolved(tmp_path: Path) -> None:
    """An external entity naming a real file is refused, and its content never shows."""
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET-CONTENT")
    data = (
        '<?xml version="1.0"?>\n'
        f'<!DOCTYPE x [<!ENTITY e SYSTEM "{secret.as_uri()}">]>\n'
        '<octopus-settings><set key="k">&e;</set></octopus-settings>'
    ).encode()
    with pytest.raises(UnsafeXMLError) as info:
        config.loads(data)
    assert "TOP-SECRET" not in str(info.value)


def test_doctype_after_comment_is_refused() -> None:
    """A DOCTYPE hidden after comments and PIs is still refused before parsing."""
    data = (
        b'<?xml version="1.0"?><!-- x --><?p?>\n'
        b"<!DOCTYPE octopus-settings><octopus-settings/>"
    )
    with pytest.raises(UnsafeXMLError) as info:
        config.loads(data, path="x.config")
    assert (info.value.line, info.value.col) == (2, 1)


def test_doctype_text_inside_comment_is_fine() -> None:
    """The word DOCTYPE inside a comment is not a declaration."""
    data = b"<!-- <!DOCTYPE nope> --><octopus-settings/>"
    assert config.loads(data).dumps() == data


def test_every_error_is_exported_and_in_the_tree() -> None:
    """Each class in errors.__all__ subclasses TentacleHAError and is exported."""
    for name in errors.__all__:
        cls = getattr(errors, name)
        assert issubclass(cls, TentacleHAError)
        assert getattr(tentacle_ha, name) is cls
        assert name in (errors.__doc__ or "")
        if cls is not TentacleHAError:
            assert cls.__mro__[1:] != (
                TentacleHAError,
                Exception,
                BaseException,
                object,
            )


def test_error_format_without_position() -> None:
    """Messages degrade to 'path: message' and to the message alone."""
    assert str(TentacleHAError("boom", path="f", line=2, col=3)) == "f:2:3: boom"
    assert str(TentacleHAError("boom", path="f", line=2)) == "f:2: boom"
    assert str(TentacleHAError("boom", path="f")) == "f: boom"
    assert str(TentacleHAError("boom")) == "boom"
    assert str(errors.KeyNotFoundError("no key 'x'", path="f")) == "f: no key 'x'"


def test_errors_pickle_with_their_position() -> None:
    """Errors cross process boundaries (fleet workers) with path, line and col."""
    err = errors.ConfigParseError("bad", path="p", line=4, col=5)
    back = pickle.loads(pickle.dumps(err))  # noqa: S301 -- our own bytes
    assert type(back) is errors.ConfigParseError
    assert str(back) == "p:4:5: bad"
