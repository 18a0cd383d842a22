"""tentacle_config sync on 50 hosts vs Ansible's own floor, ansible.builtin.copy.

50 inventory hosts with ``ansible_connection=local`` (each its own drifted
Tentacle.config in a temp folder), forks 10, pipelining on for both. Per
round, in alternating order, the configs are reset and one playbook runs:

- ours: ``tentacle_ha.octopus.tentacle_config: {path, sync}`` (slurp, the
  edit on the controller, the stdlib writer with lock and SHA-1 re-check);
- floor: ``ansible.builtin.copy`` of the very bytes ours writes (computed
  beforehand with the library) to the same files: what any tool that puts
  new bytes on 50 hosts through Ansible costs, with no reading or editing.

Prints min/median/max wall time of each, the ratio of the medians and the
min/median/max of the per-round ratios.
Target: at most 1.5x the copy floor.

Run: python benchmarks/ansible.py [--rounds N] [--hosts N]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tentacle_ha import SyncToCluster
from tentacle_ha import load_cluster
from tentacle_ha import loads
from tentacle_ha.fleet._fleetgen import ADDRESSES
from tentacle_ha.fleet._fleetgen import write_fleet

ROOT = Path(__file__).resolve().parents[1]
CLUSTER = ROOT / "examples" / "cluster-unique-address.toml"
PLAYBOOK = Path(sys.executable).parent / "ansible-playbook"

OURS = f"""\
- hosts: all
  gather_facts: false
  tasks:
    - tentacle_ha.octopus.tentacle_config:
        path: "{{{{ tentacle_path }}}}"
        sync: {CLUSTER}
"""

FLOOR = """\
- hosts: all
  gather_facts: false
  tasks:
    - ansible.builtin.copy:
        src: "{{ tentacle_new }}"
        dest: "{{ tentacle_path }}"
        mode: preserve
"""


def _setup(folder: Path, hosts: int) -> tuple[dict[Path, bytes], dict[Path, bytes]]:
    paths = write_fleet(folder / "hosts", hosts, addresses=ADDRESSES[:2])
    cluster = load_cluster(CLUSTER)
    old, new = {}, {}
    lines = ["[all]"]
    for number, path in enumerate(paths):
        data = path.read_bytes()
        doc = loads(data, path=str(path))
        SyncToCluster(cluster).apply(doc)
        after = doc.dumps()
        assert after != data  # noqa: S101 -- every host must need the edit
        source = folder / "new" / f"{number}.config"
        source.parent.mkdir(exist_ok=True)
        source.write_bytes(after)
        old[path], new[path] = data, after
        lines.append(f"h{number:02d} tentacle_path={path} tentacle_new={source}")
    lines += [
        "[all:vars]",
        "ansible_connection=local",
        f"ansible_python_interpreter={sys.executable}",
    ]
    (folder / "inventory.ini").write_text("\n".join(lines) + "\n")
    (folder / "ansible.cfg").write_text(
        "[defaults]\nforks = 10\ninterpreter_python = auto_silent\n"
        "[connection]\npipelining = true\n"
    )
    (folder / "ours.yml").write_text(OURS)
    (folder / "floor.yml").write_text(FLOOR)
    return old, new


def _run(folder: Path, playbook: str) -> float:
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(folder / "home"),
        "ANSIBLE_CONFIG": str(folder / "ansible.cfg"),
        "ANSIBLE_LOCAL_TEMP": str(folder / "local-tmp"),
        "ANSIBLE_REMOTE_TEMP": str(folder / "remote-tmp"),
        "ANSIBLE_COLLECTIONS_PATH": str(ROOT),
        "ANSIBLE_NOCOLOR": "1",
        "LC_ALL": "C.UTF-8",
    }
    started = time.perf_counter()
    done = subprocess.run(
        [str(PLAYBOOK), "-i", "inventory.ini", playbook],
        cwd=folder, env=env, capture_output=True, text=True, timeout=600,
        check=False,
    )  # fmt: skip
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        sys.exit(f"{playbook} failed:\n{done.stdout}{done.stderr}")
    return elapsed


def _reset(old: dict[Path, bytes]) -> None:
    for path, data in old.items():
        path.write_bytes(data)


def _check(new: dict[Path, bytes]) -> None:
    for path, data in new.items():
        if path.read_bytes() != data:
            sys.exit(f"{path}: not the expected bytes after the run")


def _stats(times: list[float]) -> str:
    return f"{min(times):.2f}/{statistics.median(times):.2f}/{max(times):.2f} s"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--hosts", type=int, default=50)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="tentacle-ha-bench-") as tmp:
        folder = Path(tmp)
        (folder / "home").mkdir()
        old, new = _setup(folder, args.hosts)
        ours: list[float] = []
        floor: list[float] = []
        for round_number in range(args.rounds):
            order = [("ours.yml", ours), ("floor.yml", floor)]
            for playbook, times in order if round_number % 2 == 0 else order[::-1]:
                _reset(old)
                times.append(_run(folder, playbook))
                _check(new)  # both wrote exactly the converged bytes
    ratio = statistics.median(ours) / statistics.median(floor)
    paired = [mine / theirs for mine, theirs in zip(ours, floor, strict=True)]
    print(
        f"{args.hosts} hosts, forks 10, {args.rounds} rounds: "
        f"tentacle_config sync min/median/max {_stats(ours)}; "
        f"ansible.builtin.copy floor {_stats(floor)}; ratio of medians "
        f"{ratio:.2f}x, per round min/median/max {min(paired):.2f}/"
        f"{statistics.median(paired):.2f}/{max(paired):.2f}x (target <= 1.5x)"
    )


if __name__ == "__main__":
    main()
