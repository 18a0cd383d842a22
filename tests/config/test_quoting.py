"""Quoting properties: every rendering gives the exact argv back.

POSIX renderings run through a real ``sh -c``. Windows renderings go through
models written here, independently of the renderer: PowerShell's tokenizer for
the words we emit, the two ways PowerShell builds a child's command line
(7.3+ ``Standard``, 5.1 ``Legacy``), cmd.exe's batch-file percent and caret
phases; then the Windows splitter, under both the UCRT and the
CommandLineToArgvW reading.
"""

from __future__ import annotations

import re
import subprocess
from typing import TYPE_CHECKING
from typing import Literal

import pytest
from hypothesis import assume
from hypothesis import example
from hypothesis import given
from hypothesis import strategies as st

from tentacle_ha import commands
from tentacle_ha._secret import Secret
from tentacle_ha.commands import _winargs
from tentacle_ha.errors import CommandError

if TYPE_CHECKING:
    import ipaddress

    from tentacle_ha.commands import Shell

POSIX: Shell = "posix"
POWERSHELL: Shell = "powershell"
CMD: Shell = "cmd"
PARSERS: tuple[Literal["ucrt", "shell32"], ...] = ("ucrt", "shell32")
TRICKY = (
    " \t\n\"'\\$`%^&|<>()!*?[]~#;=,:{}/-\u2018\u2019\u201a\u201b\u201c\u201d\xa0\x1a\r"
)
CHARS = st.characters(codec="utf-8", exclude_characters="\x00")
TEXT = st.text(st.sampled_from(TRICKY) | CHARS, max_size=12)
ARGVS = st.lists(TEXT, max_size=6)

# --- POSIX: a real shell ----------------------------------------------------------

_PRINTER = 'p() { printf \'%s\\0\' "$#" "$@"; }\n'


def _run_sh(lines: list[str], env: dict[str, str] | None = None) -> list[list[str]]:
    """Run rendered `p ...` lines in sh and return the argv each one received."""
    script = _PRINTER + "\n".join(lines) + "\n"
    done = subprocess.run(
        ["sh", "-c", script], capture_output=True, timeout=20, check=True, env=env
    )
    fields = done.stdout.decode().split("\0")
    assert fields.pop() == ""
    received = []
    while fields:
        count = int(fields.pop(0))
        received.append(fields[:count])
        del fields[:count]
    return received


@pytest.mark.integration
@given(st.lists(ARGVS, min_size=1, max_size=8))
def test_posix_rendering_round_trips_through_sh(argvs: list[list[str]]) -> None:
    """sh receives exactly the argv that was rendered, for arbitrary strings."""
    lines = [commands.render(["p", *argv], shell=POSIX) for argv in argvs]
    assert _run_sh(lines) == argvs


@pytest.mark.integration
def test_posix_negative_control_unquoted_join_fails() -> None:
    """The harness notices a wrong rendering: a bare join loses the argv."""
    argv = ["a b", "$HOME", "'"]
    assert _run_sh([" ".join(["p", *argv[:2]])]) != [argv[:2]]


@pytest.mark.integration
@given(tail=st.text(CHARS).filter(lambda s: "\n" not in s))
def test_posix_secret_reference_expands_to_the_secret(tail: str) -> None:
    """--apiKey="$OCTOPUS_API_KEY" reaches the program as the secret itself."""
    secret = "S3CR3T" + tail
    command = commands.poll_server(
        server="https://o.example.com",
        api_key=Secret(secret),
        comms_address="https://n",
    )
    line = commands.render(command, shell=POSIX, executable="p")
    assert "S3CR3T" not in line
    received = _run_sh([line], env={"OCTOPUS_API_KEY": secret, "PATH": "/usr/bin:/bin"})
    assert received == [commands.argv(command, executable="p", reveal_secrets=True)[1:]]


# --- Windows splitting ------------------------------------------------------------


@given(st.text(CHARS.filter(lambda c: c != '"'), min_size=1), ARGVS)
def test_windows_join_then_split_is_identity(program: str, argv: list[str]) -> None:
    """quote_arg's output splits back to the argv under both Windows parsers."""
    line = _winargs.join_command_line(program, argv)
    for parser in PARSERS:
        assert _winargs.split_command_line(line, parser=parser) == [program, *argv]


# --- PowerShell: model of the tokenizer and of native argument passing --------------

_PS_SQ = "'\u2018\u2019\u201a\u201b"


def _ps_single_quoted(line: str, i: int) -> tuple[str, int]:
    out = []
    i += 1
    while True:
        char = line[i]
        if char in _PS_SQ:
            if i + 1 < len(line) and line[i + 1] in _PS_SQ:
                out.append(line[i + 1])
                i += 2
                continue
            return "".join(out), i + 1
        out.append(char)
        i += 1


def ps_values(line: str, env: dict[str, str]) -> list[str]:
    """The string values PowerShell gives the words of `& program args...`."""
    assert line.startswith("& ")
    values, i = [], 2
    while i < len(line):
        if line[i] in _PS_SQ:
            value, i = _ps_single_quoted(line, i)
        elif line[i] == '"':
            end = line.index('"', i + 1)
            match = re.fullmatch(r"([^$`\"]*)\$env:(\w+)", line[i + 1 : end])
            assert match is not None, line
            value, i = match[1] + env[match[2]], end + 1
        else:
            match = re.compile(r"[A-Za-z][A-Za-z0-9-]*").match(line, i)
            assert match is not None, line[i:]
            value, i = match[0], match.end()
        values.append(value)
        assert i == len(line) or line[i] == " ", line
        i += 1
    return values


def standard_mode(args: list[str]) -> str:
    """PowerShell 7.3+ Standard: .NET ProcessStartInfo.ArgumentList pasting."""
    out = []
    for arg in args:
        if arg and not any(c.isspace() or c == '"' for c in arg):
            out.append(arg)
            continue
        quoted, slashes = ['"'], 0
        for char in arg:
            if char == "\\":
                slashes += 1
                continue
            quoted.append(
                "\\" * (slashes * 2 + 1) + '"' if char == '"' else "\\" * slashes + char
            )
            slashes = 0
        quoted.append("\\" * (slashes * 2) + '"')
        out.append("".join(quoted))
    return " ".join(out)


def legacy_mode(args: list[str]) -> str:
    """Windows PowerShell 5.1: quote when unquoted whitespace, never escape, drop ''."""
    out = []
    for arg in args:
        if not arg:
            continue
        quotes, need, after_slash = 0, False, False
        for char in arg:
            if char == '"' and not after_slash:
                quotes += 1
            elif char.isspace() and quotes % 2 == 0:
                need = True
            after_slash = char == "\\"
        out.append(f'"{arg}"' if need else arg)
    return " ".join(out)


def _ps_argvs(line: str, env: dict[str, str]) -> list[list[str]]:
    values = ps_values(line, env)
    got = []
    for build in (standard_mode, legacy_mode):
        child = f'"C:\\T.exe" {build(values[1:])}'
        got += [_winargs.split_command_line(child, parser=p)[1:] for p in PARSERS]
    return got


@given(ARGVS)
@example(["a b\\", 'x"y', ""])
@example(["\u2019'\u2018", "-x", "1e3", "--a=b.c"])
def test_powershell_rendering_round_trips_or_refuses(argv: list[str]) -> None:
    """Both PowerShells pass the argv unchanged, or rendering refuses it."""
    try:
        line = commands.render(["C:\\T.exe", *argv], shell=POWERSHELL)
    except CommandError:
        assert any(
            not a or '"' in a or (a.endswith("\\") and any(c.isspace() for c in a))
            for a in argv
        )
        return
    assert _ps_argvs(line, {}) == [argv] * 4


@given(ARGVS.map(lambda argv: [a.replace('"', "") for a in argv if a]))
def test_powershell_refuses_only_what_legacy_mangles(argv: list[str]) -> None:
    """Arguments with no quote, not empty, no spaced trailing backslash all render."""
    argv = [a.rstrip("\\") or "x" for a in argv]
    line = commands.render(["C:\\T.exe", *argv], shell=POWERSHELL)
    assert _ps_argvs(line, {}) == [argv] * 4


def test_powershell_negative_control_naive_double_quotes_fail() -> None:
    """The model notices a wrong rendering: double-quoted words expand `$`."""
    with pytest.raises(AssertionError):
        _ps_argvs('& "C:\\T.exe" "$x"', {})


# --- cmd.exe: model of the batch-file phases ----------------------------------------


def cmd_batch(line: str, env: dict[str, str]) -> str:
    """The command line cmd.exe starts a program with, for one batch-file line."""
    expanded, i = [], 0
    while i < len(line):
        if line[i] == "%":
            end = line.index("%", i + 1)
            expanded.append(env.get(line[i + 1 : end], "") if end > i + 1 else "%")
            i = end + 1
        else:
            expanded.append(line[i])
            i += 1
    text, out, quoted, i = "".join(expanded), [], False, 0
    while i < len(text):
        char = text[i]
        if char == '"':
            quoted = not quoted
        elif not quoted and char == "^":
            i += 1
            char = text[i]
        elif not quoted:
            assert char not in "&|<>()\r\n", f"cmd.exe would act on {char!r}"
        out.append(char)
        i += 1
    return "".join(out)


def _cmd_argvs(line: str, env: dict[str, str]) -> list[list[str]]:
    child = cmd_batch(line, env)
    return [_winargs.split_command_line(child, parser=p) for p in PARSERS]


@given(ARGVS)
@example(["%PATH%", "^", "a&b", '"&"', 'x\\"&', "%%", "!x!"])
def test_cmd_rendering_round_trips_or_refuses(argv: list[str]) -> None:
    """cmd.exe hands the program exactly this argv, or rendering refuses it."""
    program = "C:\\Program Files\\T.exe"
    try:
        line = commands.render([program, *argv], shell=CMD)
    except CommandError:
        assert any(c in "\r\n\x1a" for a in argv for c in a)
        return
    assert _cmd_argvs(line, {"PATH": "oops"}) == [[program, *argv]] * 2


def test_cmd_negative_control_unescaped_operator_fails() -> None:
    """The model notices a wrong rendering: an unescaped & or % is caught."""
    with pytest.raises(AssertionError):
        _cmd_argvs("T a&b", {})
    assert _cmd_argvs("T %PATH%", {"PATH": "x"}) != [["T", "%PATH%"]] * 2


API_KEYS = st.from_regex(r"API-[A-Z0-9]{1,32}", fullmatch=True)


@given(API_KEYS, st.sampled_from([POWERSHELL, CMD]))
def test_windows_secret_reference_expands_to_the_secret(key: str, shell: Shell) -> None:
    """$env:OCTOPUS_API_KEY / %OCTOPUS_API_KEY% reach Tentacle as the key."""
    command = commands.poll_server(
        server="https://o.example.com", api_key=key, comms_address="https://n"
    )
    line = commands.render(command, shell=shell, executable="C:\\T.exe")
    assert key not in line
    env = {"OCTOPUS_API_KEY": key}
    expected = commands.argv(command, executable="C:\\T.exe", reveal_secrets=True)
    if shell == "cmd":
        assert _cmd_argvs(line, env) == [expected] * 2
    else:
        assert _ps_argvs(line, env) == [expected[1:]] * 4


# --- address derivation -------------------------------------------------------------

LABEL = st.from_regex(r"[a-zA-Z][a-zA-Z0-9-]{0,10}[a-zA-Z0-9]", fullmatch=True)
HOSTS = st.lists(LABEL, min_size=1, max_size=4).map(".".join)
PORTS = st.integers(1, 65535)
PATHS = st.sampled_from(["", "/", "/octopus", "/a/b?x=1#f"])


@given(
    HOSTS, st.sampled_from(["http", "https", "HTTPS"]), *[st.none() | PORTS] * 2, PATHS
)
def test_comms_address_port_rules(
    host: str, scheme: str, explicit: int | None, override: int | None, path: str
) -> None:
    """Port: explicit option, else the address's own, else its scheme default."""
    port_part = "" if explicit is None else f":{explicit}"
    derived = commands.derive_comms_address(
        server="https://ignored.example.com",
        comms_address=f"{scheme}://{host}{port_part}{path}",
        comms_port=override,
        web_socket=None,
    )
    default = 80 if scheme == "http" else 443
    port = override if override is not None else explicit or default
    assert derived == f"https://{host.lower()}:{port}"


@given(HOSTS, st.none() | PORTS, PATHS)
def test_server_only_defaults_to_10943(
    host: str, override: int | None, path: str
) -> None:
    """With only --server the port is 10943 unless --server-comms-port is given."""
    derived = commands.derive_comms_address(
        server=f"https://{host}{path}",
        comms_address=None,
        comms_port=override,
        web_socket=None,
    )
    assert derived == f"https://{host.lower()}:{override or 10943}"


@given(st.ip_addresses(v=6), PORTS)
def test_ipv6_hosts_are_bracketed_and_canonical(
    address: ipaddress.IPv6Address, port: int
) -> None:
    """IPv6 hosts come out bracketed, in one canonical form, whatever the spelling."""
    assume(address.ipv4_mapped is None and address.scope_id is None)
    spelled = address.exploded.upper()
    derived = commands.derive_comms_address(
        server=None,
        comms_address=f"https://[{spelled}]:{port}",
        comms_port=None,
        web_socket=None,
    )
    assert derived == f"https://[{address.compressed}]:{port}"


@given(HOSTS, st.sampled_from(["/OctopusComms", "/x/y", ""]))
def test_web_socket_https_becomes_wss(host: str, path: str) -> None:
    """https:// web sockets become wss://; wss:// ones are kept as typed."""
    derived = commands.derive_comms_address(
        server=None,
        comms_address=None,
        comms_port=99,
        web_socket=f"https://{host}{path}",
    )
    assert derived == f"wss://{host.lower()}{path or '/'}"
    typed = f"wss://{host}{path}"
    kept = commands.derive_comms_address(
        server=None, comms_address=None, comms_port=None, web_socket=typed
    )
    assert kept == typed


@given(st.sampled_from(["http", "ws", "ftp", "tcp"]), HOSTS)
def test_other_web_socket_schemes_are_refused(scheme: str, host: str) -> None:
    """Any scheme but https/wss gives Tentacle's own message."""
    with pytest.raises(
        CommandError, match=r"^The websocket address must start with wss://$"
    ):
        commands.derive_comms_address(
            server=None,
            comms_address=None,
            comms_port=None,
            web_socket=f"{scheme}://{host}/",
        )
