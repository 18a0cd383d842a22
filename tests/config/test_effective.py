"""The effective configuration: environment, then .env, then the file, as Tentacle.

Precedence is a property over every mapped variable (Hypothesis): which of the
three layers holds a non-blank value decides the source, and nothing counts
without ``OCTOPUS_CONTRIBUTE_ENV_SETTINGS=true``.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tentacle_ha import EnvFileError
from tentacle_ha import InvalidValueError
from tentacle_ha import Secret
from tentacle_ha import TrustedServersError
from tentacle_ha import loads
from tentacle_ha.config import CONTRIBUTE_FLAG
from tentacle_ha.config import ENV_KEYS
from tentacle_ha.config import POLLING_COUNT_ENV
from tentacle_ha.config import effective_config
from tentacle_ha.config import effective_polling_connections
from tentacle_ha.config import env_contributes
from tentacle_ha.config import locate_env_file
from tentacle_ha.config import parse_env_file
from tentacle_ha.config import read_env_file

if TYPE_CHECKING:
    from pathlib import Path

T = "9E4A07A1F5B2C8D3E6F7A8B9C0D1E2F3A4B5C6D7"
OTHER = "0123456789ABCDEF0123456789ABCDEF01234567"
ENTRY = (
    '{{"Thumbprint":"{t}","CommunicationStyle":2,"Address":"{a}",'
    '"Squid":null,"SubscriptionId":"poll://g3662re9njtelsyfhm7t/"}}'
)


def _servers(thumb: str, address: str) -> str:
    return "[" + ENTRY.format(t=thumb, a=address) + "]"


def _config(*pairs: tuple[str, str]) -> bytes:
    sets = "".join(f'\n  <set key="{k}">{v}</set>' for k, v in pairs)
    return f"<octopus-settings>{sets}\n</octopus-settings>".encode()


DOC = _config(
    ("Tentacle.Communication.TrustedOctopusServers", _servers(T, "https://a:10943")),
    ("Tentacle.Services.PortNumber", "10933"),
    ("Octopus.Server.Proxy.ProxyPassword", "ENCRYPTEDBASE64"),
)
ON = {CONTRIBUTE_FLAG: "true"}


def test_the_environment_wins_and_says_where_from() -> None:
    """TENTACLE_SERVICE_PORT becomes Tentacle.Services.PortNumber, from environment."""
    doc = loads(DOC, path="T.config")
    eff = effective_config(doc, environ={**ON, "TENTACLE_SERVICE_PORT": "10999"})
    port = eff.get("tentacle.services.portnumber")
    assert port is not None
    assert port.value == "10999"
    assert str(port.source) == "environment"
    assert port.source.variable == "TENTACLE_SERVICE_PORT"
    assert str(port.overrides) == "config T.config:3:3"
    thumbs = eff.get("Tentacle.Communication.TrustedOctopusServers")
    assert thumbs is not None
    assert str(thumbs.source) == "config T.config:2:3"


def test_negative_control_without_the_flag_the_file_alone() -> None:
    """Without OCTOPUS_CONTRIBUTE_ENV_SETTINGS=true the environment is ignored."""
    doc = loads(DOC, path="T.config")
    for flag in ({}, {CONTRIBUTE_FLAG: "false"}, {CONTRIBUTE_FLAG: "yes"}):
        eff = effective_config(doc, environ={**flag, "TENTACLE_SERVICE_PORT": "1"})
        port = eff.get("Tentacle.Services.PortNumber")
        assert port is not None
        assert (port.value, port.source.kind) == ("10933", "config")
        assert not eff.contributes
        assert not eff.overridden


@pytest.mark.parametrize("flag", ["true", "True", " TRUE ", "tRuE"])
def test_the_flag_reads_as_dotnet_bool_tryparse(flag: str) -> None:
    """bool.TryParse: any case, blanks around it allowed."""
    assert env_contributes({CONTRIBUTE_FLAG: flag})


LAYER = st.sampled_from(["absent", "blank", "value"])


@given(
    variable=st.sampled_from(sorted(ENV_KEYS)),
    env=LAYER,
    dot_env=LAYER,
    in_file=st.booleans(),
    flag=st.booleans(),
)
def test_precedence_environment_then_env_file_then_config(
    variable: str, env: str, dot_env: str, *, in_file: bool, flag: bool
) -> None:
    """The first layer with a non-blank value wins; blank counts as absent."""
    key = ENV_KEYS[variable]
    doc = loads(_config((key, "from-config")) if in_file else _config())
    environ = {CONTRIBUTE_FLAG: "true"} if flag else {}
    if env != "absent":
        environ[variable] = "from-env" if env == "value" else "  "
    lines = []
    if dot_env != "absent":
        lines.append(f"{variable}={'from-dotenv' if dot_env == 'value' else ''}")
    env_file = parse_env_file("\n".join(lines), path=".env")
    found = effective_config(doc, environ=environ, env_file=env_file).get(key)
    if flag and env == "value":
        expected = ("environment", "from-env")
    elif flag and dot_env == "value":
        expected = ("env-file", "from-dotenv")
    elif in_file:
        expected = ("config", "from-config")
    else:
        assert found is None
        return
    assert found is not None
    value = found.value
    shown = value.reveal() if isinstance(value, Secret) else value
    assert (found.source.kind, shown) == expected
    assert isinstance(value, Secret) == (
        "PASSWORD" in variable or variable.endswith("CERTIFICATE")
    )


def test_env_file_source_is_file_and_line() -> None:
    """An .env value's source is env-file FILE:line; unmapped names are ignored."""
    env_file = parse_env_file(
        "# comment\n\nUNRELATED=1\nTENTACLE_SERVICE_PORT = 10950 \r\n", path="/x/.env"
    )
    eff = effective_config(loads(DOC, path="T.config"), environ=ON, env_file=env_file)
    port = eff.get("Tentacle.Services.PortNumber")
    assert port is not None
    assert (port.value, str(port.source)) == ("10950", "env-file /x/.env:4")
    assert port.source.col == 25


@pytest.mark.parametrize(
    ("text", "line", "col", "message"),
    [
        ("TENTACLE_SERVICE_PORT=1\nbroken line\n", 2, 1, "not NAME=VALUE"),
        ("  # indented comment\n", 1, 1, "not NAME=VALUE"),
        ("TENTACLE_NO_LISTEN=true\n\nTENTACLE_NO_LISTEN=false\n", 3, 1, "set twice"),
    ],
)
def test_malformed_env_files_are_refused_with_a_position(
    tmp_path: Path, text: str, line: int, col: int, message: str
) -> None:
    """A line without '=' or a mapped name twice: path:line:col: message."""
    path = tmp_path / ".env"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(EnvFileError, match=message) as caught:
        read_env_file(path)
    assert (caught.value.path, caught.value.line, caught.value.col) == (
        str(path),
        line,
        col,
    )
    assert str(caught.value).startswith(f"{path}:{line}:{col}: ")


def test_env_file_not_utf8_is_refused(tmp_path: Path) -> None:
    """Bytes that are not UTF-8: refused, positioned."""
    path = tmp_path / ".env"
    path.write_bytes(b"OCTOPUS_HOME=/a\nOCTOPUS_PROXY_HOST=\xff\n")
    with pytest.raises(EnvFileError, match="not UTF-8") as caught:
        read_env_file(path)
    assert (caught.value.line, caught.value.col) == (2, 20)


def test_duplicate_unmapped_names_are_fine() -> None:
    """Tentacle only collects mapped names, so unmapped repeats do not matter."""
    assert parse_env_file("A=1\nA=2\n", path=".env").entries == {}


def test_secrets_from_the_environment_are_masked() -> None:
    """A proxy password from the environment is a Secret; its repr hides it."""
    env = {**ON, "TENTACLE_POLLING_CUSTOM_PROXY_PASSWORD": "hunter2-env"}
    eff = effective_config(loads(DOC), environ=env)
    found = eff.get("Octopus.Server.Proxy.ProxyPassword")
    assert found is not None
    assert isinstance(found.value, Secret)
    assert found.value.reveal() == "hunter2-env"
    assert "hunter2" not in repr(eff) + repr(found) + str(found.value)


def test_effective_trusted_servers_and_config_copy() -> None:
    """TENTACLE_TRUSTED_SERVERS replaces the list; as_config() carries it, unsaved."""
    doc = loads(DOC, path="T.config")
    env = {
        **ON,
        "TENTACLE_TRUSTED_SERVERS": _servers(OTHER, "https://b:10943"),
        "TENTACLE_SERVICE_PORT": "10940",
    }
    eff = effective_config(doc, environ=env)
    assert [s.thumbprint for s in eff.trusted_servers] == [OTHER]
    copy = eff.as_config()
    assert [s.address for s in copy.trusted_servers] == ["https://b:10943"]
    assert copy.listen_port == 10940
    assert doc.listen_port == 10933
    assert not doc.changed


def test_broken_trusted_servers_from_env_file_point_into_it() -> None:
    """A broken JSON array in .env: the error's position is in the .env line."""
    env_file = parse_env_file('\nTENTACLE_TRUSTED_SERVERS=[{"Thumb', path="e.env")
    eff = effective_config(loads(DOC), environ=ON, env_file=env_file)
    with pytest.raises(TrustedServersError) as caught:
        _ = eff.trusted_servers
    assert caught.value.path == "e.env"
    assert caught.value.line == 2
    assert caught.value.col is not None
    assert caught.value.col > len("TENTACLE_TRUSTED_SERVERS=")


def test_bad_environment_value_names_its_variable() -> None:
    """A port that is not a number: refused when used, naming the variable."""
    eff = effective_config(loads(DOC), environ={**ON, "TENTACLE_SERVICE_PORT": "x"})
    with pytest.raises(InvalidValueError, match="TENTACLE_SERVICE_PORT") as caught:
        eff.as_config()
    assert caught.value.path == "$TENTACLE_SERVICE_PORT"


@pytest.mark.parametrize(
    ("env", "configured", "expected", "kind"),
    [
        (None, "7", 7, "config"),
        ("12", "7", 12, "environment"),
        ("0", "7", 1, "environment"),
        ("-1", "7", 7, "config"),
        ("lots", "7", 7, "config"),
        ("+3", "7", 3, "environment"),
        ("9000", "7", 512, "environment"),
        (None, "0", 1, "default"),
        (None, "600", 512, "config"),
        ("99999999999", None, 1, "default"),
    ],
)
def test_polling_connection_count_runtime_rule(
    env: str | None, configured: str | None, expected: int, kind: str
) -> None:
    """Environment if it parses (>= 0), else config if > 0, else 1; 0 -> 1; <= 512."""
    pairs = (
        []
        if configured is None
        else [("Tentacle.Communication.PollingConnectionCount", configured)]
    )
    doc = loads(_config(*pairs))
    environ = {} if env is None else {POLLING_COUNT_ENV: env}
    count, source = effective_polling_connections(doc, environ)
    assert (count, source.kind) == (expected, kind)


@given(st.integers(min_value=-(2**31), max_value=2**31 - 1), st.integers(0, 10**4))
def test_polling_count_is_always_between_1_and_512(env: int, configured: int) -> None:
    """Whatever the layers say, the agent opens 1..512 connections per node."""
    doc = loads(
        _config(("Tentacle.Communication.PollingConnectionCount", str(configured)))
    )
    count, _ = effective_polling_connections(doc, {POLLING_COUNT_ENV: str(env)})
    assert 1 <= count <= 512


def test_locate_env_file_walks_up(tmp_path: Path) -> None:
    """Tentacle's search: the binary's folder, then each parent."""
    binary = tmp_path / "opt" / "octopus" / "tentacle"
    binary.mkdir(parents=True)
    assert locate_env_file(binary) in {None, "/.env"}
    (tmp_path / "opt" / ".env").write_text("OCTOPUS_HOME=/h\n", encoding="utf-8")
    assert locate_env_file(binary) == str(tmp_path / "opt" / ".env")
    (binary / ".env").write_text("", encoding="utf-8")
    assert locate_env_file(binary) == str(binary / ".env")


def test_keys_only_the_environment_supplies_are_listed() -> None:
    """A mapped variable for a key the file lacks still shows, after the file's."""
    env = {**ON, "OCTOPUS_NODE_CACHE": "/cache"}
    eff = effective_config(loads(DOC), environ=env)
    assert [v.key for v in eff][-1] == "Octopus.Node.Cache"
    assert json.dumps(eff.values[-1].source.to_dict())


_NAMES = st.one_of(
    st.sampled_from(sorted(ENV_KEYS)),
    st.from_regex(r"[A-Z][A-Z_]{0,12}", fullmatch=True),
)
_VALUES = st.text(
    st.characters(exclude_categories=["Cs"], exclude_characters="\n\r"),
    max_size=20,
)


@given(
    st.lists(st.tuples(_NAMES, _VALUES, st.sampled_from(["", " ", "\t"])), max_size=8),
    st.sampled_from(["\n", "\r\n"]),
)
def test_env_file_lines_read_back_as_written(
    lines: list[tuple[str, str, str]], newline: str
) -> None:
    """NAME=VALUE lines: mapped names come back trimmed, with their line numbers."""
    seen: set[str] = set()
    unique = []
    for name, value, pad in lines:
        if name in ENV_KEYS and name in seen:
            continue
        seen.add(name)
        unique.append((name, value, pad))
    text = newline.join(f"{pad}{n}{pad}={pad}{v}" for n, v, pad in unique)
    parsed = parse_env_file(text, path=".env")
    expected = {
        n: (v.strip(), number)
        for number, (n, v, _) in enumerate(unique, 1)
        if n in ENV_KEYS
    }
    assert {n: (v, line) for n, (v, line, _) in parsed.entries.items()} == expected
    for name, (value, line, col) in parsed.entries.items():
        raw = text.split("\n")[line - 1]
        assert raw[col - 1 :].strip() == value or not value
        assert name in raw
