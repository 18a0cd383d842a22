"""Real processes: Ctrl-C during apply, a killed parent, the live bar on a pty."""

from __future__ import annotations

import fcntl
import json
import os
import pty
import re
import signal
import struct
import subprocess
import sys
import termios
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from helpers.fleetgen import write_fleet

if TYPE_CHECKING:
    from collections.abc import Callable

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(sys.platform != "linux", reason="signals, /proc and ptys"),
]

SET = ("--polling-connection-count", "9")
DELAY = "_TENTACLE_HA_TEST_FILE_DELAY"


def _tentacle_ha(
    *argv: str,
    delay: float = 0.0,
    stdin: int | None = None,
    stdout: int | None = None,
    stderr: int | None = None,
) -> subprocess.Popen[bytes]:
    env = {**os.environ, DELAY: str(delay)}
    return subprocess.Popen(
        [sys.executable, "-m", "tentacle_ha", *argv],
        env=env,
        stdin=stdin,
        stdout=stdout,
        stderr=stderr,
        process_group=0,  # its own group, as a terminal's foreground job is
    )


def _wait_for(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.01)


def _changed(files: dict[Path, bytes]) -> set[str]:
    return {str(p) for p, data in files.items() if p.read_bytes() != data}


@pytest.mark.parametrize(("jobs", "mode"), [("1", "json"), ("2", "text")])
def test_ctrl_c_during_apply_reports_every_file_written(
    tmp_path: Path, jobs: str, mode: str
) -> None:
    """SIGINT mid-run: the report lists exactly the files changed on disk; a sum."""
    as_json = mode == "json"
    paths = write_fleet(tmp_path / "fleet", 600)
    files = {p: p.read_bytes() for p in paths}
    argv = ["fleet", "apply", str(tmp_path / "fleet"), *SET, "--jobs", jobs]
    proc = _tentacle_ha(
        *argv,
        *(["--json"] if as_json else []),
        delay=0.03,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    _wait_for(lambda: len(_changed(files)) >= 10, 60, "the first files to change")
    os.killpg(proc.pid, signal.SIGINT)  # as Ctrl-C: to the parent and its workers
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert b"Traceback" not in err
    on_disk = _changed(files)
    assert 10 <= len(on_disk) < len(files)  # really interrupted mid-run
    text = out.decode()
    if as_json:
        report = json.loads(text)
        reported = {f["path"] for f in report["files"] if f["status"] == "changed"}
        summary = report["summary"]
        assert summary["interrupted"] is True
        assert summary["restart_required"] == summary["changed"]
        counts = {
            k: v
            for k, v in summary.items()
            if k not in {"interrupted", "restart_required"}
        }
    else:
        rows = text.splitlines()
        reported = {
            line.split()[1] for line in rows[:-1] if line.startswith("changed ")
        }
        match = re.fullmatch(
            r"interrupted: (\d+) changed, (\d+) unchanged, (\d+) failed, "
            r"(\d+) conflict, (\d+) skipped, (\d+) not reached; "
            r"\1 need a Tentacle restart",
            rows[-1],
        )
        assert match, rows[-1]
        names = ("changed", "unchanged", "failed", "conflict", "skipped")
        counts = dict(
            zip((*names, "not_reached"), map(int, match.groups()), strict=True)
        )
    assert reported == on_disk
    assert counts["changed"] == len(on_disk)
    assert counts["not_reached"] > 0
    assert sum(counts.values()) == len(files)
    # Negative control: an uninterrupted run reports no interruption and exits 0.
    again = _tentacle_ha(*argv, "--json", stdout=subprocess.PIPE)
    done, _ = again.communicate(timeout=120)
    assert again.returncode == 0
    assert "interrupted" not in json.loads(done)["summary"]
    assert len(_changed(files)) == len(files)


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rpartition(")")[2].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                found.append(int(entry.name))
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0]
    except OSError:
        return False
    return state != "Z"  # a zombie has exited; only its parent (init) may reap it


def test_workers_die_with_a_killed_parent(tmp_path: Path) -> None:
    """SIGKILL the parent of `fleet apply --jobs 2`: workers go, stdout ends."""
    write_fleet(tmp_path / "fleet", 300)
    proc = _tentacle_ha(
        "fleet",
        "apply",
        str(tmp_path / "fleet"),
        *SET,
        "--jobs",
        "2",
        delay=0.2,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    )
    assert proc.stdout is not None
    _wait_for(lambda: len(_children(proc.pid)) >= 2, 60, "two workers")
    workers = _children(proc.pid)
    assert all(_alive(w) for w in workers)
    eof = threading.Event()

    def read_to_end() -> None:
        assert proc.stdout is not None
        proc.stdout.read()
        eof.set()

    reader = threading.Thread(target=read_to_end, daemon=True)
    reader.start()
    proc.kill()
    proc.wait(timeout=10)
    try:
        _wait_for(
            lambda: not any(_alive(w) for w in workers), 15, "the workers to exit"
        )
        assert eof.wait(15), "the caller's stdout never reached its end"
    finally:
        for worker in workers:  # without the fix, do not leave them behind
            if _alive(worker):
                os.kill(worker, signal.SIGKILL)
        reader.join(5)
        proc.stdout.close()


def _visible_lines(raw: str) -> list[str]:
    """What a terminal shows of each line: the text after its last carriage return."""
    text = re.sub(r"\x1b\[[0-9;]*[A-Za-z]", "", raw.replace("\r\n", "\n"))
    return [line.rpartition("\r")[2].rstrip() for line in text.split("\n")]


def _run_on_pty(argv: list[str], *, stdout_too: bool) -> tuple[int, str, bytes]:
    """Run with stderr (and stdout) on a pty: exit code, what the pty got, stdout."""
    leader, follower = pty.openpty()
    # 24 x 120, as a terminal window has (a fresh pty says 0 x 0)
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 120, 0, 0))
    proc = _tentacle_ha(
        *argv,
        delay=0.002,
        stdin=subprocess.DEVNULL,
        stdout=follower if stdout_too else subprocess.PIPE,
        stderr=follower,
    )
    os.close(follower)
    captured: list[bytes] = []
    reader = None
    if proc.stdout is not None:  # read it meanwhile: a full pipe would block the run
        reader = threading.Thread(target=lambda: captured.append(proc.stdout.read()))  # type: ignore[union-attr]  # -- checked just above
        reader.start()
    chunks = []
    while True:
        try:
            chunk = os.read(leader, 65536)
        except OSError:  # EIO: every writer closed the pty
            break
        if not chunk:
            break
        chunks.append(chunk)
    if reader is not None and proc.stdout is not None:
        reader.join(60)
        proc.stdout.close()
    code = proc.wait(timeout=60)
    out = b"".join(captured)
    os.close(leader)
    return code, b"".join(chunks).decode(), out


def test_progress_bar_on_a_terminal_only(tmp_path: Path) -> None:
    """A tty stderr shows done/total, rate and ETA; diffs on the tty stay whole."""
    write_fleet(tmp_path / "fleet", 150)
    argv = ["fleet", "plan", str(tmp_path / "fleet"), *SET, "--jobs", "1"]
    code, screen, out = _run_on_pty(argv, stdout_too=False)
    assert code == 0
    assert re.search(r"\d+/150 \[[0-9:]+<[0-9:?]+, +[0-9.?]+ ?file/s\]", screen), screen
    assert out.decode().endswith(
        "150 files: 150 changed, 0 unchanged, 0 failed, 0 skipped; "
        "150 would need a Tentacle restart\n"
    )
    # Both on one terminal: every diff line shows whole, never after a bar.
    code, screen, _ = _run_on_pty(argv, stdout_too=True)
    assert code == 0
    expected = [line for line in out.decode().splitlines() if line]
    shown = [line for line in _visible_lines(screen) if line]
    assert "file/s" in screen
    assert shown == expected
    # Not a terminal: nothing at all on stderr.
    quiet = _tentacle_ha(*argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, err = quiet.communicate(timeout=60)
    assert (quiet.returncode, err) == (0, b"")
