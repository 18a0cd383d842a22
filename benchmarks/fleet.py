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

from lxml import etree

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT))

from helpers.fleetgen import ADDRESSES  # noqa: E402 -- after the path set-up
from helpers.fleetgen import THUMBPRINT  # noqa: E402 -- after the path set-up
from helpers.fleetgen import write_fleet  # noqa: E402 -- after the path set-up

from tentacle_ha import fleet  # noqa: E402 -- after the path set-up
from tentacle_ha.cluster import loads_cluster  # noqa: E402 -- after the path set-up

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


def _edit() -> fleet.SyncToCluster:
    return fleet.SyncToCluster(loads_cluster(CLUSTER, path="bench-cluster.toml"))


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


def _rss_child(folder: str, jobs: int) -> int:
    """Apply over *folder* (fsync off) and print the peak RSS figures as JSON."""
    count = sum(
        1 for _ in fleet.apply([folder], _edit(), jobs=jobs, fsync=False)
    )
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
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


def _rate(count: int, seconds: float) -> float:
    return count / seconds if seconds > 0 else float("inf")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=10_000)
    parser.add_argument("--rss-files", type=int, nargs=2, default=(10_000, 50_000))
    parser.add_argument("--jobs", type=int, default=fleet.default_jobs())
    parser.add_argument("--rss-child", metavar="FOLDER", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.rss_child:
        return _rss_child(args.rss_child, args.jobs)
    edit = _edit()
    with tempfile.TemporaryDirectory(prefix="tentacle-ha-bench-") as tmp:
        work = Path(tmp)
        ours = write_fleet(work / "ours", args.files, seed=1)
        floor_paths = write_fleet(work / "floor", args.files, seed=1)
        print(f"files: {args.files} (jobs {args.jobs}, cpus {os.cpu_count()})")
        print(f"average size: {sum(p.stat().st_size for p in ours) // len(ours)} bytes")

        os.sync()  # start every phase with nothing left to write back
        start = time.perf_counter()
        plans = sum(
            1
            for p in fleet.plan([work / "ours"], edit, jobs=args.jobs)
            if p.status is fleet.Status.CHANGED
        )
        plan_rate = _rate(args.files, time.perf_counter() - start)
        if plans != args.files:
            raise SystemExit(f"plan: only {plans} of {args.files} files would change")
        print(f"plan: {plan_rate:.0f} files/s (target >= {PLAN_TARGET:.0f})")

        os.sync()
        start = time.perf_counter()
        _floor(floor_paths)
        floor_rate = _rate(args.files, time.perf_counter() - start)
        print(f"floor (1 process, lxml, temp+fsync+rename): {floor_rate:.0f} files/s")

        os.sync()
        start = time.perf_counter()
        changed = sum(
            1
            for o in fleet.apply([work / "ours"], edit, jobs=args.jobs)
            if o.status is fleet.Status.CHANGED
        )
        apply_rate = _rate(args.files, time.perf_counter() - start)
        if changed != args.files:
            raise SystemExit(f"apply: only {changed} of {args.files} files changed")
        print(f"apply (fsync, locks, re-check): {apply_rate:.0f} files/s")
        print(
            f"apply/floor ratio: {apply_rate / floor_rate:.2f}x "
            f"(target >= {APPLY_TARGET:.1f}x)"
        )
        shutil.rmtree(work / "floor")
        shutil.rmtree(work / "ours")

        small, large = args.rss_files
        figures = []
        for count in (small, large):
            folder = work / f"rss-{count}"
            write_fleet(folder, count, seed=2)
            rss = _peak_rss(folder, args.jobs)
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
            f"peak RSS ratio {large}/{small} files: main {ratio:.2f}x, "
            f"workers {worker_ratio:.2f}x (target <= {RSS_TARGET:.1f}x)"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
