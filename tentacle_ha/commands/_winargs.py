"""Windows command lines: MSVCRT quoting and splitting, cmd.exe and PowerShell text.

A Windows process receives one command line, not an argv; the program splits it.
The rules modelled here, with their sources:

* **Splitting (post-2008 msvcrt / UCRT)**, Microsoft Learn, "Parsing C
  command-line arguments": space and tab separate arguments; double quotes
  group; ``2n`` backslashes before a quote give ``n`` backslashes and the quote
  delimits; ``2n+1`` backslashes before a quote give ``n`` backslashes and a
  literal quote; other backslashes are literal; inside quotes a doubled quote
  ``""`` gives one literal quote and the parser stays in quoted mode; an
  unterminated quote runs to the end. The first argument is the program name:
  quotes group it and backslashes are not special.
* **CommandLineToArgvW (shell32)** reads a doubled quote inside quotes as one
  literal quote that *ends* quoted mode (MicrosoftDocs/cpp-docs issue #3291,
  checked against CommandLineToArgvW). `quote_arg` never writes a doubled quote,
  so both readings give the same argv; `split_command_line` implements both.
* **cmd.exe, batch-file semantics** (the text is meant for a ``.cmd`` file):
  percent expansion runs first (``%%`` is one ``%``, ``%NAME%`` expands), then
  every ``"`` toggles quoting, and outside quotes ``^`` escapes the next
  character and ``^ & | < > ( )`` are operators. Delayed expansion (``!``) is
  assumed off, the cmd.exe default. cmd.exe cannot carry CR, LF, NUL or
  Ctrl-Z in a line, and a line holds at most 8191 characters.
* **PowerShell**: arguments are single-quoted literals (``'`` and its three
  typographic twins are doubled); the child command line is then built by
  PowerShell. PowerShell 7.3+ ``Standard`` mode (and ``Windows`` mode, which
  only differs for cmd/batch/WSH/msiexec targets, not Tentacle.exe) quotes like
  .NET ``ProcessStartInfo.ArgumentList``. Windows PowerShell 5.1 (``Legacy``)
  wraps an argument holding whitespace in quotes without escaping embedded
  quotes or a trailing backslash, and drops empty arguments. We refuse the
  arguments those two modes would pass differently, so one text works in both.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING
from typing import Final
from typing import Literal

import attrs

from tentacle_ha.errors import CommandError

if TYPE_CHECKING:
    from collections.abc import Sequence

__all__ = [
    "CMD_MAX_LINE",
    "EnvArg",
    "cmd_line",
    "join_command_line",
    "powershell_line",
    "quote_arg",
    "split_command_line",
]

CMD_MAX_LINE: Final = 8191


def __dir__() -> list[str]:
    return __all__


_SEPARATORS: Final = " \t"
_CMD_OPERATORS: Final = frozenset("^&|<>()")
_CMD_UNCARRIABLE: Final = frozenset("\r\n\x00\x1a")
# PowerShell's tokenizer takes the typographic single quotes for quotes too.
_PS_SINGLE_QUOTES: Final = frozenset("'\u2018\u2019\u201a\u201b")
_PS_BAREWORD: Final = re.compile(r"[A-Za-z][A-Za-z0-9-]*")
# Characters special to some shell inside a double-quoted prefix (PowerShell's
# typographic double quotes included).
_PREFIX_FORBIDDEN: Final = frozenset("\"'`$%\\^!\u201c\u201d\u201e")
_ENV_NAME: Final = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


@attrs.frozen
class EnvArg:
    """One argument whose tail is read from an environment variable by the shell.

    The argument is ``prefix`` followed by the variable's value, e.g.
    ``--apiKey=`` and ``OCTOPUS_API_KEY``. The value is assumed to hold no
    double quote (API keys are ``API-`` and letters and digits).
    """

    prefix: str
    env_var: str

    def __attrs_post_init__(self) -> None:
        if not _ENV_NAME.fullmatch(self.env_var):
            raise CommandError(f"{self.env_var!r} is not an environment variable name")
        if any(c in _PREFIX_FORBIDDEN for c in self.prefix) or _has_space(self.prefix):
            raise CommandError(f"{self.prefix!r} cannot prefix an environment value")


def _has_space(text: str) -> bool:
    # Python's str.isspace covers every character .NET's char.IsWhiteSpace does.
    return any(c.isspace() for c in text)


def quote_arg(arg: str) -> str:
    """Quote one argument so the MSVCRT rules give it back unchanged.

    Arguments without whitespace or quotes are left as they are. Otherwise
    the argument is wrapped in quotes; a quote inside becomes ``\\"`` and the
    backslashes before it, or before the closing quote, are doubled.
    """
    if arg and not _has_space(arg) and '"' not in arg:
        return arg
    out = ['"']
    backslashes = 0
    for char in arg:
        if char == "\\":
            backslashes += 1
            continue
        if char == '"':
            out.append("\\" * (2 * backslashes + 1))
        else:
            out.append("\\" * backslashes)
        out.append(char)
        backslashes = 0
    out.append("\\" * (2 * backslashes))
    out.append('"')
    return "".join(out)


def _quote_program(program: str) -> str:
    if not program or '"' in program:
        raise CommandError(f"{program!r} cannot be a Windows program path")
    return f'"{program}"' if _has_space(program) else program


def join_command_line(program: str, args: Sequence[str]) -> str:
    """Build the command line a Windows process receives for ``[program, *args]``."""
    return " ".join([_quote_program(program), *(quote_arg(a) for a in args)])


def _split_program(line: str) -> tuple[str, int]:
    chars: list[str] = []
    in_quotes = False
    i = 0
    while i < len(line):
        char = line[i]
        if char == '"':
            in_quotes = not in_quotes
        elif char in _SEPARATORS and not in_quotes:
            break
        else:
            chars.append(char)
        i += 1
    return "".join(chars), i


def _split_one(line: str, i: int, *, quote_pair_ends: bool) -> tuple[str, int]:
    chars: list[str] = []
    in_quotes = False
    while i < len(line):
        char = line[i]
        if char in _SEPARATORS and not in_quotes:
            break
        if char == "\\":
            end = i
            while end < len(line) and line[end] == "\\":
                end += 1
            count = end - i
            if end < len(line) and line[end] == '"':
                chars.append("\\" * (count // 2))
                if count % 2:
                    chars.append('"')
                    end += 1
            else:
                chars.append("\\" * count)
            i = end
        elif char == '"':
            if in_quotes and line[i + 1 : i + 2] == '"':
                chars.append('"')
                i += 2
                in_quotes = not quote_pair_ends
            else:
                in_quotes = not in_quotes
                i += 1
        else:
            chars.append(char)
            i += 1
    return "".join(chars), i


def split_command_line(
    line: str, *, parser: Literal["ucrt", "shell32"] = "ucrt"
) -> list[str]:
    """Split a Windows command line into argv, program name first.

    Args:
        line: the whole command line.
        parser: ``"ucrt"`` for the post-2008 Microsoft C runtime, ``"shell32"``
            for CommandLineToArgvW; they differ only on ``""`` inside quotes.
    """
    program, i = _split_program(line)
    argv = [program]
    while True:
        while i < len(line) and line[i] in _SEPARATORS:
            i += 1
        if i >= len(line):
            return argv
        arg, i = _split_one(line, i, quote_pair_ends=parser == "shell32")
        argv.append(arg)


def _cmd_escape(segments: Sequence[tuple[str, bool]]) -> str:
    """Escape text segments for a batch file; raw segments (``%NAME%``) pass as is."""
    out: list[str] = []
    in_quotes = False
    for text, raw in segments:
        if raw:
            out.append(text)
            continue
        for char in text:
            if char in _CMD_UNCARRIABLE:
                raise CommandError(f"cmd.exe cannot carry the character {char!r}")
            if char == '"':
                in_quotes = not in_quotes
                out.append(char)
            elif char == "%":
                out.append("%%")
            elif char in _CMD_OPERATORS and not in_quotes:
                out.append("^" + char)
            else:
                out.append(char)
    line = "".join(out)
    if len(line) > CMD_MAX_LINE:
        raise CommandError(
            f"the cmd.exe line would be {len(line)} characters; "
            f"cmd.exe allows {CMD_MAX_LINE}"
        )
    return line


def cmd_line(program: str, args: Sequence[str | EnvArg]) -> str:
    """Render ``[program, *args]`` as one cmd.exe line for a batch file.

    An `EnvArg` becomes ``"PREFIX%NAME%"``: cmd.exe expands the variable
    inside quotes, where its value is safe from cmd.exe's operators.

    Raises:
        CommandError: a character cmd.exe cannot carry, or a line too long.
    """
    segments: list[tuple[str, bool]] = [(_quote_program(program), False)]
    for arg in args:
        if isinstance(arg, EnvArg):
            segments += [(' "' + arg.prefix, False), (f"%{arg.env_var}%", True)]
            segments.append(('"', False))
        else:
            segments.append((" " + quote_arg(arg), False))
    return _cmd_escape(segments)


def _powershell_word(arg: str) -> str:
    if _PS_BAREWORD.fullmatch(arg):
        return arg
    doubled = "".join(c + c if c in _PS_SINGLE_QUOTES else c for c in arg)
    return f"'{doubled}'"


def _check_both_powershells(arg: str) -> None:
    if not arg:
        raise CommandError("Windows PowerShell 5.1 drops an empty argument")
    if '"' in arg:
        raise CommandError(
            f"{arg!r}: Windows PowerShell 5.1 and PowerShell before 7.3 pass "
            "embedded double quotes unescaped; use the posix or cmd rendering"
        )
    if arg.endswith("\\") and _has_space(arg):
        raise CommandError(
            f"{arg!r}: Windows PowerShell 5.1 would let the trailing backslash "
            "escape its closing quote"
        )


def powershell_line(program: str, args: Sequence[str | EnvArg]) -> str:
    """Render ``[program, *args]`` as one PowerShell line: ``& 'program' args...``.

    An `EnvArg` becomes ``"PREFIX$env:NAME"``, expanded by PowerShell.

    Raises:
        CommandError: an argument PowerShell 5.1 and 7.3+ would pass differently.
    """
    words = ["&", _powershell_word(program)]
    for arg in args:
        if isinstance(arg, EnvArg):
            words.append(f'"{arg.prefix}$env:{arg.env_var}"')
        else:
            _check_both_powershells(arg)
            words.append(_powershell_word(arg))
    return " ".join(words)
