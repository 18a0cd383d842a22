"""Private: Ctrl-C while the command line is still starting exits quietly.

``python -m tentacle_ha`` and the ``tentacle-ha`` script import the whole
package before `tentacle_ha.cli.main` runs; a Ctrl-C in those ~0.2 s would
print a traceback from deep inside some import. `quiet_while_starting`,
run when this module is imported (the first thing the package does),
installs a SIGINT handler that exits with status 130 and no output, only
when this process *is* the command line, so
importing the library never touches a program's signal handling; `main`
puts Python's own handler back (`resume`) once it is in charge.
"""

from __future__ import annotations

import os
import signal
import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from types import FrameType

__all__ = ["quiet_while_starting", "resume"]

_SCRIPTS = frozenset({"tentacle-ha", "tentacle-ha.exe", "tentacle-ha-script.py"})
_INTERRUPTED = 130


def _exit_quietly(signum: int, frame: FrameType | None) -> None:  # noqa: ARG001 -- a signal handler
    os._exit(_INTERRUPTED)  # nothing started yet: nothing to flush or undo


def _is_command_line() -> bool:
    """Whether this process was started as the command line (not an importer).

    While ``python -m tentacle_ha`` imports the package, ``sys.argv[0]`` is
    still ``-m`` (runpy sets it once the package is imported); the console
    script is named ``tentacle-ha``.
    """
    first = sys.argv[0] if sys.argv else ""
    return first == "-m" or os.path.basename(first) in _SCRIPTS  # noqa: PTH119 -- a plain name test, no Path needed


def quiet_while_starting() -> None:
    """In the command line's own process, make an early Ctrl-C exit 130 quietly."""
    if (
        _is_command_line()
        and signal.getsignal(signal.SIGINT) is signal.default_int_handler
    ):
        signal.signal(signal.SIGINT, _exit_quietly)


def resume() -> None:
    """Python's own Ctrl-C handling again (a KeyboardInterrupt), if ours is on."""
    if signal.getsignal(signal.SIGINT) is _exit_quietly:
        signal.signal(signal.SIGINT, signal.default_int_handler)


quiet_while_starting()
