"""Concurrency: processes editing one config at once serialise on its lock.

Eight processes start together and each adds four different nodes to the same
Tentacle.config, one apply per node. The edit sleeps 20 ms between reading
and writing, so the runs really overlap. With the lock every one of the 32
entries is there at the end. The negative control runs the very same apply
code with the lock switched off: entries go missing (lost updates, or
conflicts the re-check catches), which shows it is the lock that keeps them.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tentacle_ha import load

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
CORPUS = ROOT / "tests" / "corpus" / "valid"
T = "9E4A07A1F5B2C8D3E6F7A8B9C0D1E2F3A4B5C6D7"
PROCESSES = 8
EACH = 4

CHILD = """
import json
import sys
import time
from pathlib import Path

from tentacle_ha.fleet import edits
from tentacle_ha.fleet import _plan_apply as fleet

path, go = sys.argv[1], Path(sys.argv[2])
number, each, locked = int(sys.argv[3]), int(sys.argv[4]), sys.argv[5] == "locked"


class SlowAddNode(edits.AddNode):
    __slots__ = ()

    def apply(self, doc):
        time.sleep(0.02)  # widen the read-modify-write window
        super().apply(doc)


deadline = time.monotonic() + 30
while not go.exists():  # start together
    if time.monotonic() > deadline:
        raise SystemExit("no go")
    time.sleep(0.001)
statuses = []
for k in range(each):
    edit = SlowAddNode("{T}", f"https://added-{number}-{k}.example.com:10943")
    context = fleet._ApplyContext(edit, None, True, 60.0, lock=locked)
    outcome = fleet._apply_one(fleet._ApplyTask(path, True), context)
    statuses.append(str(outcome.status))
print(json.dumps(statuses))
""".replace("{T}", T)


def _race(tmp_path: Path, *, locked: bool) -> tuple[list[str], list[str]]:
    """Run the processes; return every outcome and the added addresses found."""
    target = tmp_path / "Tentacle.config"
    target.write_bytes((CORPUS / "linux-ha-3node.config").read_bytes())
    script = tmp_path / "child.py"
    script.write_text(CHILD)
    go = tmp_path / "go"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    mode = "locked" if locked else "unlocked"
    children = [
        subprocess.Popen(
            [
                sys.executable,
                str(script),
                str(target),
                str(go),
                str(n),
                str(EACH),
                mode,
            ],
            stdout=subprocess.PIPE,
            text=True,
            env=env,
        )
        for n in range(PROCESSES)
    ]
    time.sleep(0.3)  # let them all reach the starting line
    go.touch()
    statuses: list[str] = []
    for child in children:
        out, _ = child.communicate(timeout=120)
        assert child.returncode == 0
        statuses.extend(json.loads(out))
    servers = load(target).trusted_servers
    added = [s.address or "" for s in servers if "added-" in (s.address or "")]
    return statuses, added


def test_concurrent_adds_all_survive_with_the_lock(tmp_path: Path) -> None:
    """8 processes x 4 adds on one file: all 32 entries present, none conflicted."""
    statuses, added = _race(tmp_path, locked=True)
    assert statuses == ["changed"] * (PROCESSES * EACH)
    assert sorted(added) == sorted(
        f"https://added-{n}-{k}.example.com:10943"
        for n in range(PROCESSES)
        for k in range(EACH)
    )
    subs = {
        s.subscription_id for s in load(tmp_path / "Tentacle.config").trusted_servers
    }
    assert subs == {"poll://g3662re9njtelsyfhm7t/"}


def test_negative_control_without_the_lock_updates_are_lost(tmp_path: Path) -> None:
    """The same code without the lock loses entries: the lock is what keeps them."""
    statuses, added = _race(tmp_path, locked=False)
    assert len(added) < PROCESSES * EACH
    lost_silently = statuses.count("changed") - len(added)
    conflicts = statuses.count("conflict")
    assert lost_silently + conflicts > 0
    assert lost_silently >= 0
