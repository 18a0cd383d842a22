"""Fleet throughput and memory: plan, apply with fsync against a floor, peak RSS.

Generates realistic configs (3-node HA; Windows BOM+CRLF and Linux LF, some
with an indented JSON array; a certificate blob of real size) in a temporary
folder and measures, in one run:

- plan (no writes): files/s; target >= 5,000 on 2 cores;
- the floor: a bare single-process loop that reads each file, parses it with
  lxml, edits the JSON, serialises it and writes it with temp + fsync +
  rename (no lock, no verification, not lossless);
- apply with fsync: files/s, and its ratio to the floor; target >= 1.0x;
- peak RSS of apply over N and over 5N files, each in a fresh subprocess
  (fsync off there: it changes time, not memory); target: within 20 %.

The edit syncs every config to a cluster whose third node was replaced, so
every file changes. Prints each figure and ratio on its own line.

Run: python benchmarks/fleet.py [--files 10000] [--rss-files 10000 50000]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING

from lxml import etree

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tentacle_ha import fleet  # noqa: E402 -- after the path set-up
from tentacle_ha.cluster import loads_cluster  # noqa: E402 -- after the path set-up
from tentacle_ha.fleet import edits  # noqa: E402 -- after the path set-up
from tentacle_ha.fleet._fleetgen import ADDRESSES  # noqa: E402 -- after the path set-up
from tentacle_ha.fleet._fleetgen import THUMBPRINT  # noqa: E402 -- after the path set-up
from tentacle_ha.fleet._fleetgen import write_fleet  # noqa: E402 -- after the path set-up
from tentacle_ha.fleet._pipeline import default_jobs  # noqa: E402 -- after the path set-up

if TYPE_CHECKING:
    from collections.abc import Callable
    from collections.abc import Iterable

PLAN_TARGET = 5000.0
APPLY_TARGET = 1.0
RSS_TARGET = 1.2
KEY = "Tentacle.Communication.TrustedOctopusServers"
NEW_NODE = "https://node4.octopus.example.com:10943"

CLUSTER = f"""
[cluster]
server = "https://octopus.example.com"
thumbprint = "{THUMBPRINT}"
layout = "unique-address"

[[nodes]]
name = "node1"
address = "node1.octopus.example.com"

[[nodes]]
name = "node2"
address = "node2.octopus.example.com"

[[nodes]]
name = "node4"
address = "node4.octopus.example.com"
"""


def _edit() -> edits.SyncToCluster:
    return edits.SyncToCluster(loads_cluster(CLUSTER, path="bench-cluster.toml"))


def _floor(paths: list[Path]) -> None:
    """Read, lxml-parse, edit the JSON, serialise, write temp + fsync + rename."""
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)
    for path in paths:
        data = path.read_bytes()
        root = etree.fromstring(data, parser)
        for element in root:
            if element.get("key") == KEY:
                servers = json.loads(element.text or "[]")
                servers = [s for s in servers if s["Address"] != ADDRESSES[2]]
                servers.append({**servers[0], "Address": NEW_NODE})
                element.text = json.dumps(servers, separators=(",", ":"))
        out = etree.tostring(root, xml_declaration=True, encoding="utf-8")
        tmp = path.with_name(path.name + ".floor-tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            os.write(fd, out)
            os.fsync(fd)
        finally:
            os.close(fd)
        tmp.replace(path)


def _own_peak_kib() -> int:
    """This process's peak RSS since it started its program.

    ``ru_maxrss`` would not do: Linux carries it over ``exec`` from the
    process that spawned us, so it would report the benchmark's own size.
    ``VmHWM`` belongs to this program's memory map alone.
    """
    status = Path("/proc/self/status")
    if status.exists():
        for line in status.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def _rss_child(folder: str, jobs: int) -> int:
    """Apply over *folder* (fsync off) and print the peak RSS figures as JSON."""
    count = sum(1 for _ in fleet.apply([folder], _edit(), jobs=jobs, fsync=False))
    own = _own_peak_kib()
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    print(json.dumps({"files": count, "self_kib": own, "children_kib": children}))
    return 0


def _peak_rss(folder: Path, jobs: int) -> dict[str, int]:
    done = subprocess.run(
        [sys.executable, __file__, "--rss-child", str(folder), "--jobs", str(jobs)],
        check=True,
        capture_output=True,
        text=True,
    )
    result: dict[str, int] = json.loads(done.stdout)
    return result


def _cpu_seconds() -> float:
    """CPU time of this process and of its finished children (the workers)."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def _measure(label: str, count: int, run: Callable[[], int]) -> float:
    """Run one phase from a synced disk; print files/s and CPU; return files/s."""
    os.sync()  # nothing left to write back from earlier phases
    cpu, start = _cpu_seconds(), time.perf_counter()
    done = run()
    seconds, cpu = time.perf_counter() - start, _cpu_seconds() - cpu
    if done != count:
        raise SystemExit(f"{label}: only {done} of {count} files changed")
    rate = count / seconds
    per_file = cpu / count * 1e6
    print(
        f"{label}: {rate:.0f} files/s ({per_file:.0f} us CPU a file, all "
        f"processes; CPU-bound ceiling on {os.cpu_count()} cores: "
        f"{(os.cpu_count() or 1) * 1e6 / per_file:.0f} files/s)"
    )
    return rate


def _changed(results: Iterable[fleet.FilePlan | fleet.FileOutcome]) -> int:
    return sum(1 for r in results if r.status is fleet.Status.CHANGED)


def _throughput(work: Path, count: int, jobs: int) -> None:
    edit = _edit()
    ours = work / "ours"
    write_fleet(ours, count, seed=1)
    floor_paths = write_fleet(work / "floor", count, seed=1)
    print(f"files: {count} (jobs {jobs}, cpus {os.cpu_count()})")
    print(f"average size: {sum(p.stat().st_size for p in floor_paths) // count} bytes")
    plan_rate = _measure(
        "plan", count, lambda: _changed(fleet.plan([ours], edit, jobs=jobs))
    )
    print(
        f"plan vs target: {plan_rate / PLAN_TARGET:.2f}x of {PLAN_TARGET:.0f} files/s"
    )

    def floor() -> int:
        _floor(floor_paths)
        return count

    floor_rate = _measure("floor (1 process, lxml, temp+fsync+rename)", count, floor)
    apply_rate = _measure(
        "apply (fsync, locks, re-checks)",
        count,
        lambda: _changed(fleet.apply([ours], edit, jobs=jobs)),
    )
    print(
        f"apply/floor ratio: {apply_rate / floor_rate:.2f}x "
        f"(target >= {APPLY_TARGET:.1f}x)"
    )
    back = edits.SyncToCluster(loads_cluster(CLUSTER.replace("node4", "node3")))
    again_rate = _measure(
        "apply again (sync back)",
        count,
        lambda: _changed(fleet.apply([ours], back, jobs=jobs)),
    )
    print(f"apply again/floor ratio: {again_rate / floor_rate:.2f}x")
    shutil.rmtree(ours)
    shutil.rmtree(work / "floor")


def _memory(work: Path, counts: tuple[int, int], jobs: int) -> None:
    figures = []
    for count in counts:
        folder = work / f"rss-{count}"
        write_fleet(folder, count, seed=2)
        rss = _peak_rss(folder, jobs)
        shutil.rmtree(folder)
        figures.append(rss)
        print(
            f"peak RSS of apply over {rss['files']} files: main "
            f"{rss['self_kib'] / 1024:.1f} MiB, largest worker "
            f"{rss['children_kib'] / 1024:.1f} MiB"
        )
    ratio = figures[1]["self_kib"] / figures[0]["self_kib"]
    worker_ratio = figures[1]["children_kib"] / figures[0]["children_kib"]
    print(
        f"peak RSS ratio {counts[1]}/{counts[0]} files: main {ratio:.2f}x, "
        f"workers {worker_ratio:.2f}x (target <= {RSS_TARGET:.1f}x)"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=10_000)
    parser.add_argument("--rss-files", type=int, nargs=2, default=(10_000, 50_000))
    parser.add_argument("--jobs", type=int, default=default_jobs())
    parser.add_argument("--rss-child", metavar="FOLDER", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.rss_child:
        return _rss_child(args.rss_child, args.jobs)
    with tempfile.TemporaryDirectory(prefix="tentacle-ha-bench-") as tmp:
        _throughput(Path(tmp), args.files, args.jobs)
        _memory(Path(tmp), tuple(args.rss_files), args.jobs)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
