"""Crash safety: an apply over 1,000 configs, killed with SIGKILL again and again.

A child process (with its worker processes, in their own process group)
applies a sync to 1,000 generated configs and is killed at a random moment,
over and over. After every kill each file must be byte-identical to its old or
its planned content and parse; discovery must find exactly the 1,000 configs,
whatever temporary files the kill left; and a last, uninterrupted run must
clean those leftovers up and finish the job. When a job completes between
kills, the next phase syncs back, so kills keep landing mid-job.
"""

from __future__ import annotations

import hashlib
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from helpers.fleetgen import THUMBPRINT
from helpers.fleetgen import write_fleet

from tentacle_ha import fleet
from tentacle_ha import loads
from tentacle_ha._atomic import TEMP_SUFFIX
from tentacle_ha.cluster import load_cluster
from tentacle_ha.errors import TentacleHAError
from tentacle_ha.fleet import discover
from tentacle_ha.fleet import edits

pytestmark = [
    pytest.mark.integration,
    pytest.mark.slow,
    pytest.mark.skipif(sys.platform != "linux", reason="process groups via /proc"),
]

ROOT = Path(__file__).resolve().parents[2]
FILES = 1000
KILLS = 20
CHILD = """
import sys
from tentacle_ha import fleet
from tentacle_ha.fleet import edits
from tentacle_ha.cluster import load_cluster
from tentacle_ha.errors import TentacleHAError

edit = edits.SyncToCluster(load_cluster(sys.argv[2]))
print("go", flush=True)
bad = [o for o in fleet.apply([sys.argv[1]], edit, jobs=2) if o.status not in
       (fleet.Status.CHANGED, fleet.Status.UNCHANGED)]
print(f"bad {len(bad)}", flush=True)
raise SystemExit(1 if bad else 0)
"""


def _cluster(folder: Path, nodes: tuple[int, ...]) -> Path:
    path = folder / f"cluster-{'-'.join(map(str, nodes))}.toml"
    text = (
        f'[cluster]\nserver = "https://octopus.example.com"\n'
        f'thumbprint = "{THUMBPRINT}"\nlayout = "unique-address"\n'
    )
    text += "".join(
        f'[[nodes]]\nname = "node{i}"\naddress = "node{i}.octopus.example.com"\n'
        for i in nodes
    )
    path.write_text(text)
    return path


def _hashes(paths: list[Path]) -> dict[Path, str | None]:
    return {p: hashlib.sha256(p.read_bytes()).hexdigest() for p in paths}


def _start(script: Path, fleet_root: Path, cluster: Path) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen(
        [sys.executable, str(script), str(fleet_root), str(cluster)],
        stdout=subprocess.PIPE,
        text=True,
        env=env,
        start_new_session=True,  # the child and its workers die together
    )


def _running_in_group(group: int) -> list[int]:
    """Processes of *group* that still run (zombies wait for init to reap them)."""
    running = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue  # gone meanwhile
        state, group_id = fields[0], int(fields[3])
        if group_id == group and state != "Z":
            running.append(int(stat.parent.name))
    return running


def _kill_group(child: subprocess.Popen[str]) -> None:
    """SIGKILL the child's whole process group and wait until none of it runs."""
    os.killpg(child.pid, signal.SIGKILL)
    child.wait(timeout=30)
    if child.stdout is not None:
        child.stdout.close()
    deadline = time.monotonic() + 30
    while _running_in_group(child.pid):
        if time.monotonic() > deadline:
            pytest.fail("worker processes outlived the kill")
        time.sleep(0.01)


def _leftovers(top: Path) -> list[Path]:
    return list(top.rglob(f"*{TEMP_SUFFIX}"))


def _planned(top: Path, cluster: Path) -> dict[Path, str | None]:
    edit = edits.SyncToCluster(load_cluster(cluster))
    return {Path(p.path): p.after_sha256 for p in fleet.plan([top], edit, jobs=2)}


def test_sigkill_never_loses_or_tears_a_file(tmp_path: Path) -> None:
    """After each of 20+ kills every file is old or planned; a last run finishes."""
    top = tmp_path / "fleet"
    paths = write_fleet(top, FILES, seed=7)
    script = tmp_path / "child.py"
    script.write_text(CHILD)
    forward = _cluster(tmp_path, (1, 2, 4))
    backward = _cluster(tmp_path, (1, 2, 3))
    rng = random.Random(20240601)  # noqa: S311 -- kill timing, not secrets
    old = _hashes(paths)
    target = forward
    planned = _planned(top, target)
    assert set(planned) == set(paths)
    assert all(planned[p] != old[p] for p in paths)
    kills = mid_job = temp_seen = 0
    while kills < KILLS or mid_job < KILLS // 2:
        assert kills < 120, "kills never landed mid-job"
        child = _start(script, top, target)
        assert child.stdout is not None
        assert child.stdout.readline() == "go\n"
        time.sleep(rng.uniform(0.0, 0.4))
        _kill_group(child)
        kills += 1
        now = _hashes(paths)
        for path in paths:
            assert now[path] in {old[path], planned[path]}, f"torn: {path}"
            loads(path.read_bytes(), path=path)
        found = list(discover.expand_paths([top]))
        assert found == paths, "a temporary file was taken for a config"
        temp_seen += len(_leftovers(top))
        done = sum(now[p] == planned[p] for p in paths)
        mid_job += 0 < done < FILES
        if done == FILES:  # the job finished: sync back, so kills stay mid-job
            target = backward if target == forward else forward
            old = planned
            planned = _planned(top, target)
    print(f"kills {kills}, mid-job {mid_job}, temp files seen {temp_seen}")  # noqa: T201 -- shown with -s
    assert temp_seen > 0, "no kill ever interrupted a write: the test proved nothing"
    final = _start(script, top, target)
    out, _ = final.communicate(timeout=240)
    assert (final.returncode, out) == (0, "go\nbad 0\n")
    assert _hashes(paths) == planned
    assert _leftovers(top) == []
    again = [
        o.status
        for o in fleet.apply([top], edits.SyncToCluster(load_cluster(target)), jobs=2)
    ]
    assert set(again) == {fleet.Status.UNCHANGED}


def test_negative_control_torn_writes_are_caught(tmp_path: Path) -> None:
    """The checks above do fail on a torn file: a plain truncate-and-write is caught."""
    (path,) = write_fleet(tmp_path, 1, seed=3)
    data = path.read_bytes()
    with path.open(
        "r+b"
    ) as handle:  # what Tentacle's in-place write looks like mid-way
        handle.truncate(0)
        handle.write(data[: len(data) // 2])
    assert (
        hashlib.sha256(path.read_bytes()).hexdigest()
        != hashlib.sha256(data).hexdigest()
    )
    with pytest.raises(TentacleHAError):
        loads(path.read_bytes(), path=path)
