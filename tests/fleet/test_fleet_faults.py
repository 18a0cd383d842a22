"""Faults: a full disk, permissions, read-only folders, files swapped or deleted.

Each fault fails (or conflicts) only the file it hits, with a clear reason,
and leaves that file exactly as it was; the other files are applied.

- Disk full, for real: the apply runs in a private mount namespace
  (``unshare --user --map-root-user --mount``) on a 256 KiB tmpfs filled up
  first; the namespace and its tmpfs vanish with the process. Also by fault
  injection in-process (``os.write`` raising ENOSPC for one file), so the
  case is covered where namespaces are not allowed.
- Permission denied and a read-only folder: as root, chmod does not stop
  root, so the apply runs as ``nobody`` (uid 65534) in a subprocess; as
  another user, plain chmod does it.
- A file deleted, or replaced by a folder, between plan and apply (through
  the command line with a reviewed plan) and while being edited.
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from helpers.fleetgen import run_fleet_cli
from helpers.fleetgen import write_fleet

from tentacle_ha import _writer
from tentacle_ha import fleet
from tentacle_ha import loads
from tentacle_ha._atomic import TEMP_SUFFIX
from tentacle_ha.fleet import edits

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
NODE4 = "https://node4.octopus.example.com:10943"
NODE3 = "https://node3.octopus.example.com:10943"
THUMB = "8E2F430B7A91C5D26F11E83CA0579B44D12E6CF3"
UPDATED = "updates Tentacle.Communication.TrustedOctopusServers"
ENV = {**os.environ, "PYTHONPATH": f"{ROOT}{os.pathsep}{ROOT / 'tests'}"}


def _digest(paths: list[Path]) -> list[str]:
    return [hashlib.sha256(p.read_bytes()).hexdigest() for p in paths]


# -- disk full ---------------------------------------------------------------------

DISK_FULL_CHILD = """
import errno, hashlib, json, os, sys
from pathlib import Path
from helpers.fleetgen import write_fleet
from tentacle_ha import fleet, loads
from tentacle_ha.fleet import edits

top = Path(sys.argv[1])
paths = write_fleet(top / "fleet", 5, seed=5)
before = [hashlib.sha256(p.read_bytes()).hexdigest() for p in paths]
filler = top / "filler"
with filler.open("wb", buffering=0) as handle:
    try:
        while True:
            handle.write(b"x" * 4096)
            handle.flush()
    except OSError as exc:
        assert exc.errno == errno.ENOSPC, exc
edit = edits.AddNode(sys.argv[2], sys.argv[3])
first = [(str(o.status), o.reason) for o in fleet.apply([top / "fleet"], edit, jobs=1)]
after = [hashlib.sha256(p.read_bytes()).hexdigest() for p in paths]
for p in paths:
    loads(p.read_bytes())
temps = [str(p) for p in top.rglob("*.tentacle-ha-tmp")]
filler.unlink()
second = [str(o.status) for o in fleet.apply([top / "fleet"], edit, jobs=1)]
print(json.dumps({"first": first, "intact": before == after, "temps": temps,
                  "second": second}))
"""


def test_disk_full_for_real_on_a_tiny_tmpfs(tmp_path: Path) -> None:
    """On a full filesystem every file fails with ENOSPC, intact; with room, applies."""
    unshare = shutil.which("unshare")
    if unshare is None:
        pytest.skip("unshare (util-linux) is not installed")
    mount_point = tmp_path / "tiny"
    mount_point.mkdir()
    script = tmp_path / "child.py"
    script.write_text(DISK_FULL_CHILD)
    shell = (
        'mount -t tmpfs -o size=256k tmpfs "$1" || exit 77; '
        'exec "$2" "$3" "$1" "$4" "$5"'
    )
    done = subprocess.run(
        [
            unshare,
            "--user",
            "--map-root-user",
            "--mount",
            "sh",
            "-c",
            shell,
            "sh",
            str(mount_point),
            sys.executable,
            str(script),
            THUMB,
            NODE4,
        ],
        capture_output=True,
        text=True,
        env=ENV,
        timeout=120,
        check=False,
    )
    if done.returncode == 77 or "unshare failed" in done.stderr:
        pytest.skip(f"no private mount namespace here: {done.stderr.strip()}")
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert (
        report["first"]
        == [["failed", "cannot write: No space left on device (ENOSPC)"]] * 5
    )
    assert report["intact"] is True
    assert report["temps"] == []
    assert report["second"] == ["changed"] * 5
    assert list(mount_point.iterdir()) == []  # the tmpfs went with the namespace


@pytest.mark.skipif(sys.platform != "linux", reason="names fds through /proc")
def test_disk_full_injected_fails_one_file_only(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """ENOSPC writing one file's temp copy: that file fails intact; others apply."""
    paths = write_fleet(tmp_path, 3, seed=4)
    before = _digest(paths)
    real_write = os.write
    victim = str(paths[1].parent / f".{paths[1].name}.")

    def full(fd: int, data: bytes | memoryview) -> int:
        name = str(Path(f"/proc/self/fd/{fd}").readlink())
        if name.startswith(victim) and name.endswith(TEMP_SUFFIX):
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_write(fd, data)

    monkeypatch.setattr(os, "write", full)
    outcomes = list(fleet.apply([tmp_path], edits.AddNode(THUMB, NODE4), jobs=1))
    monkeypatch.undo()
    assert [(o.status, o.reason) for o in outcomes] == [
        (fleet.Status.CHANGED, UPDATED),
        (fleet.Status.FAILED, "cannot write: No space left on device (ENOSPC)"),
        (fleet.Status.CHANGED, UPDATED),
    ]
    after = _digest(paths)
    assert after[1] == before[1]
    assert after[0] != before[0]
    assert after[2] != before[2]
    assert list(tmp_path.rglob(f"*{TEMP_SUFFIX}")) == []


# -- permissions ---------------------------------------------------------------------

AS_NOBODY_CHILD = """
import codecs, importlib, json, os, pkgutil, sys
import tentacle_ha
from tentacle_ha import fleet
from tentacle_ha.fleet import edits
# Everything is imported before dropping privileges: the checkout (and the
# venv) may sit in a folder nobody cannot read, such as a 0700 home or mktemp -d,
# so no import may be left for later, lazy or not.
for module in pkgutil.walk_packages(tentacle_ha.__path__, "tentacle_ha."):
    if not module.name.endswith("__main__"):
        importlib.import_module(module.name)
for codec in ("utf-8", "utf-8-sig", "utf-16", "utf-16-le", "utf-16-be", "latin-1"):
    codecs.lookup(codec)
edit = edits.AddNode(sys.argv[2], sys.argv[3])
if os.geteuid() == 0:  # started as root: drop to nobody before touching the fleet
    os.setgroups([])
    os.setgid(65534)
    os.setuid(65534)
    assert os.geteuid() == 65534
print(json.dumps([(o.path, str(o.status), o.reason)
                  for o in fleet.apply([sys.argv[1]], edit, jobs=1)]))
"""
NOBODY = 65534


def _apply_as_unprivileged(top: Path, script: Path) -> list[list[str]]:
    """As root, a child that drops to nobody once Python is loaded (the venv's
    interpreter may sit under a folder nobody cannot enter); else this process.
    """
    if os.geteuid() == 0:
        done = subprocess.run(
            [sys.executable, str(script), str(top), THUMB, NODE4],
            capture_output=True,
            text=True,
            env=ENV,
            timeout=120,
            check=False,
        )
        assert done.returncode == 0, done.stderr
        result: list[list[str]] = json.loads(done.stdout)
        return result
    outcomes = fleet.apply([top], edits.AddNode(THUMB, NODE4), jobs=1)
    return [[o.path, str(o.status), o.reason] for o in outcomes]


def test_permission_denied_and_read_only_folder() -> None:
    """Unreadable file and read-only folder fail, intact; a writable one is applied."""
    # Not under pytest's tmp_path: its parents are 0700, closed to nobody.
    top = Path(tempfile.mkdtemp(prefix="tentacle-ha-perm-"))
    try:
        top.chmod(0o755)
        paths = write_fleet(top / "fleet", 3, seed=6)
        owner = NOBODY if os.geteuid() == 0 else os.geteuid()
        for path in paths:
            os.chown(path.parent, owner, owner)
            os.chown(path, owner, owner)
        unreadable, read_only, writable = paths
        unreadable.chmod(0o000)
        if os.geteuid() == 0:
            os.chown(unreadable, 0, 0)
        read_only.parent.chmod(0o555)
        for folder in {p.parent.parent for p in paths} | {top / "fleet"}:
            folder.chmod(0o755)
        script = top / "child.py"
        script.write_text(AS_NOBODY_CHILD)
        script.chmod(0o644)
        before = {p: p.read_bytes() for p in paths}
        outcomes = _apply_as_unprivileged(top / "fleet", script)
        assert outcomes == [
            [str(unreadable), "failed", "cannot read: Permission denied (EACCES)"],
            [str(read_only), "failed", "cannot write: Permission denied (EACCES)"],
            [str(writable), "changed", UPDATED],
        ]
        assert unreadable.read_bytes() == before[unreadable]
        assert read_only.read_bytes() == before[read_only]
        assert writable.read_bytes() != before[writable]
        assert NODE4 in [
            s.address for s in loads(writable.read_bytes()).trusted_servers
        ]
        assert sorted(p.name for p in read_only.parent.iterdir()) == [read_only.name]
    finally:
        for folder in top.rglob("*"):
            if folder.is_dir():
                folder.chmod(0o755)
        shutil.rmtree(top)


def test_negative_control_the_unprivileged_run_can_write() -> None:
    """The same unprivileged run applies what it may write: failures are permissions."""
    top = Path(tempfile.mkdtemp(prefix="tentacle-ha-perm-"))
    try:
        top.chmod(0o755)
        paths = write_fleet(top / "fleet", 2, seed=6)
        owner = NOBODY if os.geteuid() == 0 else os.geteuid()
        for path in {p.parent for p in paths} | set(paths):
            os.chown(path, owner, owner)
        for folder in {p.parent.parent for p in paths} | {top / "fleet"}:
            folder.chmod(0o755)
        script = top / "child.py"
        script.write_text(AS_NOBODY_CHILD)
        script.chmod(0o644)
        outcomes = _apply_as_unprivileged(top / "fleet", script)
        assert [o[1] for o in outcomes] == ["changed", "changed"]
    finally:
        shutil.rmtree(top)


# -- files swapped or deleted ----------------------------------------------------------


def test_deleted_and_replaced_between_plan_and_apply(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Through the CLI with a reviewed plan: gone files conflict, the rest applies."""
    monkeypatch.chdir(tmp_path)
    paths = [
        p.relative_to(tmp_path) for p in write_fleet(tmp_path / "fleet", 4, seed=8)
    ]
    code, out, _ = run_fleet_cli(
        "fleet", "plan", "fleet", "--remove-node", NODE3, "--json"
    )
    assert code == 0
    Path("plan.json").write_text(out)
    paths[1].unlink()
    paths[2].unlink()
    paths[2].mkdir()
    before = paths[0].read_bytes()
    code, out, err = run_fleet_cli(
        "fleet", "apply", "fleet", "--remove-node", NODE3, "--plan", "plan.json"
    )
    assert (code, err) == (1, "")
    assert out.splitlines() == [
        f"changed    {paths[0]}  ({UPDATED})",
        f"changed    {paths[3]}  ({UPDATED})",
        f"conflict   {paths[1]}  (deleted since the plan was made)",
        (
            f"conflict   {paths[2]}  (replaced by a folder since the plan was made; "
            "left alone)"
        ),
        (
            "4 files: 2 changed, 0 unchanged, 0 failed, 2 conflict, 0 skipped; "
            "2 need a Tentacle restart"
        ),
    ]
    assert paths[0].read_bytes() != before
    assert paths[2].is_dir()
    assert list(paths[2].iterdir()) == []


@pytest.mark.parametrize("fault", ["deleted", "folder"])
def test_file_swapped_while_being_edited(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fault: str
) -> None:
    """A file deleted or made a folder mid-edit fails with the reason, unwritten."""
    paths = write_fleet(tmp_path, 2, seed=9)
    victim = paths[0]
    real_reread = _writer.Locked.reread

    def reread(self: _writer.Locked) -> bytes:
        if self.shown == str(victim) and not victim.is_dir():
            victim.unlink()
            if fault == "folder":
                victim.mkdir()
        return real_reread(self)

    monkeypatch.setattr(_writer.Locked, "reread", reread)
    outcomes = list(fleet.apply([tmp_path], edits.AddNode(THUMB, NODE4), jobs=1))
    reason = (
        "No such file or directory (ENOENT)"
        if fault == "deleted"
        else "is a folder, not a config file"
    )
    assert [(o.status, o.reason) for o in outcomes] == [
        (fleet.Status.FAILED, reason),
        (fleet.Status.CHANGED, UPDATED),
    ]
    assert victim.is_dir() == (fault == "folder")
    assert not victim.is_file()
    assert list(tmp_path.rglob(f"*{TEMP_SUFFIX}")) == []
