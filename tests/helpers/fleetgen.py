"""Fleets of Tentacle.config files for the tests, and the fleet CLI in-process.

The generator itself is `tentacle_ha.fleet._fleetgen` (the demo uses it too); it is
re-exported here so tests import everything fleet-related from one helper.
"""

from __future__ import annotations

import argparse
import io

from tentacle_ha.cli import _fleet
from tentacle_ha.cli._util import Out
from tentacle_ha.errors import TentacleHAError
from tentacle_ha.fleet._fleetgen import ADDRESSES
from tentacle_ha.fleet._fleetgen import DRIFTS
from tentacle_ha.fleet._fleetgen import THUMBPRINT
from tentacle_ha.fleet._fleetgen import Tentacle
from tentacle_ha.fleet._fleetgen import cluster_toml
from tentacle_ha.fleet._fleetgen import config_bytes
from tentacle_ha.fleet._fleetgen import make_tentacle
from tentacle_ha.fleet._fleetgen import write_fleet

__all__ = [
    "ADDRESSES",
    "DRIFTS",
    "THUMBPRINT",
    "Tentacle",
    "cluster_toml",
    "config_bytes",
    "make_tentacle",
    "run_fleet_cli",
    "write_fleet",
]


class _TTY(io.StringIO):
    def isatty(self) -> bool:
        return True


def run_fleet_cli(*argv: str, tty: bool = False) -> tuple[int, str, str]:
    """Run ``tentacle-ha fleet ...`` in-process: (exit code, stdout, stderr).

    The parser is built with `tentacle_ha.cli._fleet.register`, as
    `tentacle_ha.cli._main` does; usage errors give exit code 2 and errors
    exit code 1, as `tentacle_ha.cli.main` gives them.
    With *tty*, stderr claims to be a terminal (to see the progress line).
    """
    parser = argparse.ArgumentParser(prog="tentacle-ha")
    _fleet.register(parser.add_subparsers(dest="command", required=True))
    out, err = io.StringIO(), (_TTY() if tty else io.StringIO())
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:
        return (2 if exc.code else 0), out.getvalue(), err.getvalue()
    try:
        code: int = args.handler(args, Out(out, err))
    except TentacleHAError as exc:  # as main() reports it
        err.write(f"{exc}\n")
        code = 1
    return code, out.getvalue(), err.getvalue()
