"""Private: what every ``tentacle-ha`` command shares: output streams, options."""

from __future__ import annotations

import argparse
import json
from typing import TYPE_CHECKING

from tentacle_ha._secret import REDACTED
from tentacle_ha._secret import Secret
from tentacle_ha._writer import DEFAULT_BACKUP_SUFFIX
from tentacle_ha._writer import check_backup_suffix
from tentacle_ha.config import MachineKey
from tentacle_ha.config._values import is_secret_key
from tentacle_ha.errors import InvalidValueError
from tentacle_ha.errors import TentacleHAError
from tentacle_ha.fleet._certificates import DEFAULT_EXPIRY_DAYS

if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import TextIO

    from tentacle_ha.servers import TrustedServers

__all__ = [
    "Out",
    "add_backup_option",
    "add_expiry_days_option",
    "add_machine_key_option",
    "add_server_api_options",
    "machine_key",
    "servers_or_error",
    "shown",
]


def shown(key: str, value: str | Secret | None, *, reveal: bool) -> str | None:
    """A setting's value as ``show`` prints it: a secret (a `Secret`, or any
    value of a secret key) is ``***`` unless *reveal*."""
    if isinstance(value, Secret):
        return value.reveal() if reveal else REDACTED
    if value is not None and is_secret_key(key) and not reveal:
        return REDACTED
    return value


def servers_or_error(
    read: Callable[[], TrustedServers],
) -> tuple[TrustedServers | None, str | None]:
    """The trusted servers, or None and the one-line reason they cannot be read."""
    try:
        return read(), None
    except TentacleHAError as exc:
        return None, str(exc)


class Out:
    """Where a command's output goes: requested output on stdout, status on stderr.

    `tentacle_ha.cli.main` builds one from its streams, so tests can swap them.
    """

    def __init__(self, stdout: TextIO, stderr: TextIO) -> None:
        self.stdout = stdout
        self.stderr = stderr

    def out(self, text: str = "") -> None:
        self.stdout.write(text if text.endswith("\n") else text + "\n")

    def err(self, text: str) -> None:
        self.stderr.write(text.rstrip("\n") + "\n")

    def json(self, value: object) -> None:
        text = json.dumps(value, indent=2, ensure_ascii=False)
        if not _encodable(text, self.stdout):
            # JSON's own escapes, so the output stays valid JSON (a stream's
            # backslashreplace would not be for characters beyond U+FFFF).
            text = json.dumps(value, indent=2)
        self.stdout.write(text + "\n")


def _encodable(text: str, stream: TextIO) -> bool:
    encoding = getattr(stream, "encoding", None)
    if not encoding or text.isascii():
        return True
    try:
        text.encode(encoding)
    except (UnicodeEncodeError, LookupError):
        return False
    return True


def _backup_suffix(text: str) -> str:
    """argparse type: the one backup-suffix rule (a refusal is a usage error)."""
    try:
        check_backup_suffix(text)
    except InvalidValueError as exc:
        raise argparse.ArgumentTypeError(exc.message) from exc
    return text


def add_backup_option(
    parser: argparse.ArgumentParser | argparse._ArgumentGroup,
    *,
    help_text: str,
) -> None:
    """``--backup[=SUFFIX]``: keep the previous bytes beside the file (``.bak``).

    Each backup is a new file: ``NAME.bak``, else ``NAME.bak.1``, ``.2``, ...
    """
    parser.add_argument(
        "--backup",
        dest="backup_suffix",
        nargs="?",
        type=_backup_suffix,
        const=DEFAULT_BACKUP_SUFFIX,
        default=None,
        metavar="SUFFIX",
        help=help_text,
    )


def machine_key(spec: str) -> MachineKey:
    """``--machine-key auto|FILE``: this machine's key, or a collected copy's."""
    if spec == "auto":
        return MachineKey.auto()
    return MachineKey.from_file(spec)


def add_machine_key_option(
    parser: argparse.ArgumentParser | argparse._ArgumentGroup, *, help_text: str
) -> None:
    """``--machine-key auto|FILE`` (a Linux Tentacle's machine key)."""
    parser.add_argument(
        "--machine-key",
        metavar="auto|FILE",
        help=help_text
        + " (auto: this machine's /etc/machine-id, else /etc/octopus/machinekey; "
        "FILE: a copy of a machine's /etc/machine-id or /etc/octopus/machinekey)",
    )


def _days(text: str) -> int:
    """argparse type: a whole number of days, 0 or more."""
    try:
        value = int(text)
    except ValueError:
        value = -1
    if value < 0:
        msg = f"not a whole number of days (0 or more): {text!r}"
        raise argparse.ArgumentTypeError(msg)
    return value


def add_expiry_days_option(
    parser: argparse.ArgumentParser | argparse._ArgumentGroup,
) -> None:
    """``--expiry-days N``: ``certificate-expiring`` under N days left (0: off).

    ``show`` and ``fleet audit`` share it, so both read N the same way.
    """
    parser.add_argument(
        "--expiry-days",
        type=_days,
        default=DEFAULT_EXPIRY_DAYS,
        metavar="N",
        help="with --machine-key: certificate-expiring when fewer than N days "
        f"are left (default {DEFAULT_EXPIRY_DAYS}; 0: report only expired)",
    )


def add_server_api_options(parser: argparse.ArgumentParser, *, when: str = "") -> None:
    """``--api-key-env``, ``--ca-bundle``, ``--insecure-http``: reading the server API.

    The API key only ever comes from an environment variable; *when* starts
    each help text (e.g. ``"with --server: "``).
    """
    parser.add_argument(
        "--api-key-env",
        default="OCTOPUS_API_KEY",
        metavar="NAME",
        help=f"{when}the variable holding the API key (default OCTOPUS_API_KEY; "
        "never printed)",
    )
    parser.add_argument(
        "--ca-bundle",
        metavar="FILE",
        help=f"{when}PEM CA certificates for HTTPS (as for check)",
    )
    parser.add_argument(
        "--insecure-http",
        action="store_true",
        help=f"{when}send the API key to an http:// server anyway",
    )
