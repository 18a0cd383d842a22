"""Ctrl-C while the command line is still importing: exit 130, no traceback."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from helpers.unmeasured import unmeasured_env

from tentacle_ha import _interrupt

if TYPE_CHECKING:
    from collections.abc import Iterator

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")


def _python_owns_sigint() -> None:
    """In the child: SIGINT at its default, so Python installs its own handler.

    A test run started in the background by a shell without job control
    inherits SIGINT ignored; a command line started like that ignores Ctrl-C
    (as it should), which is not what these tests are about.
    """
    signal.signal(signal.SIGINT, signal.SIG_DFL)


@pytest.fixture(autouse=True)
def _python_handler_in_this_process() -> Iterator[None]:
    """Python's own SIGINT handler here for each test, whatever the run inherited."""
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, previous)


def _interrupted_after_our_handler(argv: list[str], delay: float) -> tuple[int, str]:
    """Start, wait until `tentacle_ha._interrupt` is imported, then *delay*, SIGINT.

    ``-X importtime`` reports each import on stderr as it completes: that says
    when the package's first line has run (before it, the interpreter's own
    start-up can still be interrupted, which no package can change).
    """
    proc = subprocess.Popen(
        [sys.executable, "-X", "importtime", *argv],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        env=unmeasured_env(),
        preexec_fn=_python_owns_sigint,  # noqa: PLW1509 -- a signal reset, no threads involved
    )
    assert proc.stderr is not None
    for raw in proc.stderr:
        if raw.rstrip().endswith(b"tentacle_ha._interrupt"):
            break
    time.sleep(delay)
    proc.send_signal(signal.SIGINT)
    rest = proc.stderr.read()
    proc.stderr.close()
    code = proc.wait(timeout=30)
    lines = rest.decode(errors="replace").splitlines()
    return code, "\n".join(s for s in lines if not s.startswith("import time:"))


def _import_window() -> float:
    """Seconds the CLI takes to start (``--version`` returns once imported)."""
    start = time.monotonic()
    subprocess.run(
        [sys.executable, "-m", "tentacle_ha", "--version"],
        check=True,
        capture_output=True,
        env=unmeasured_env(),
    )
    return time.monotonic() - start


def test_ctrl_c_during_imports_is_quiet() -> None:
    """SIGINT at points through the imports: exit 130 quietly, never a traceback."""
    window = _import_window()
    # `fleet audit` of a missing path: quick once started, so any round that is
    # still importing when the signal lands shows how it exits.
    argv = ["-m", "tentacle_ha", "fleet", "audit", "/nonexistent"]
    interrupted = 0
    for step in range(12):
        delay = window * step / 16
        code, err = _interrupted_after_our_handler(argv, delay)
        assert "Traceback" not in err, (delay, err)
        # 1: the run had ended; -SIGINT: the signal landed while the finished
        # interpreter was shutting down (its handlers are back to the default).
        assert code in {130, 1, -signal.SIGINT}, (delay, code, err)
        interrupted += code == 130
    assert interrupted >= 3  # really sent during start-up, not after the run


def test_only_the_command_line_changes_the_handler(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Importing the library (as this test does) leaves SIGINT alone."""
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
    monkeypatch.setattr(sys, "argv", ["-m"])
    try:
        _interrupt.quiet_while_starting()
        assert signal.getsignal(signal.SIGINT) is not signal.default_int_handler
        _interrupt.resume()
        assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
    finally:
        signal.signal(signal.SIGINT, signal.default_int_handler)
    monkeypatch.setattr(sys, "argv", [str(Path("bin") / "pytest")])
    _interrupt.quiet_while_starting()
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_ctrl_c_while_the_parser_is_built_exits_130(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """After the imports, before a command runs: 130, no KeyboardInterrupt."""
    from tentacle_ha.cli import _main  # noqa: PLC0415 -- the module under test

    def interrupted() -> object:
        raise KeyboardInterrupt

    monkeypatch.setattr(_main, "_parser", interrupted)
    assert _main.main(["--version"]) == 130
