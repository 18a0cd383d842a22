"""Fleet apply, plan and audit against floors measured in the same run.

Generates realistic configs (3-node HA; Windows BOM+CRLF and Linux LF, some
with an indented JSON array; a certificate blob of real size) in a temporary
folder and measures, each as min / median / max over interleaved rounds:

- **apply** (wall time, fsync on) against a parallel floor that does what
  apply must do per file and nothing else: the same number of worker
  processes, each writing the same number of files at once, reading the
  file, parsing and editing it with lxml, then temp + fsync + rename +
  folder fsync (no lock, no re-read, no verification, not lossless). Each
  round syncs every file of both copies, to the replaced node and back in
  turn, so every round writes every file. Target: apply >= 0.9x the floor's
  files/s. A third contender, the same pool writing the floor's edit through
  tentacle_ha's safe writer (lock, re-read under it, no symlink followed,
  the kernel's path of the folder, mode and owner kept), shows what the
  writer's promises alone leave of the floor. A fourth, ``fleet.apply``
  itself with its lossless edit swapped for the floor's lxml edit, shows
  what apply's own file handling costs beside the writer (the crawl, the
  read before the lock, the outcome records and their hashes, the
  pipeline), so the gap splits into three measured steps: the writer, apply's
  handling, the lossless edit.
- **plan**: ``tentacle-ha fleet plan --sync CLUSTER --json`` over the
  configs as a whole CLI process, start-up included (its workers may use
  every core), against a single-process loop here that reads and
  lxml-parses the same files. Target: <= 2.0x the loop's wall time (CPU
  time is printed too).
- **audit memory**: peak RSS of ``tentacle-ha fleet audit --json`` over 2k
  and 10k configs (and 50k with ``--big``), each a fresh CLI process
  started from a small launcher, read with ``wait4`` (the largest of its
  processes). Target: 10k within 1.2x of 2k, 50k within 1.2x of 10k.

Run: python benchmarks/fleet.py [--files 2000] [--plan-files 5000]
[--rounds 5] [--big]
"""

from __future__ import annotations

import argparse
import concurrent.futures
import contextlib
import itertools
import json
import multiprocessing
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
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _paired import INSTALLED_ENV  # noqa: E402 -- after the path set-up
from _paired import plain_write  # noqa: E402 -- after the path set-up
from _paired import rounds  # noqa: E402 -- after the path set-up
from _paired import show  # noqa: E402 -- after the path set-up
from _paired import spread  # noqa: E402 -- after the path set-up

from tentacle_ha import _writer  # noqa: E402 -- after the path set-up
from tentacle_ha import fleet  # noqa: E402 -- after the path set-up
from tentacle_ha.cluster import loads_cluster  # noqa: E402 -- after the path set-up
from tentacle_ha.fleet import _plan_apply  # noqa: E402 -- after the path set-up
from tentacle_ha.fleet import edits  # noqa: E402 -- after the path set-up
from tentacle_ha.fleet._fleetgen import cluster_toml  # noqa: E402 -- after the path set-up
from tentacle_ha.fleet._fleetgen import write_fleet  # noqa: E402 -- after the path set-up
from tentacle_ha.fleet._pipeline import default_jobs  # noqa: E402 -- after the path set-up

if TYPE_CHECKING:
    from collections.abc import Callable
    from collections.abc import Iterator
    from collections.abc import Sequence

APPLY_TARGET = 0.9
PLAN_TARGET = 2.0
RSS_TARGET = 1.2
IO_THREADS = 4  # as tentacle_ha.fleet._plan_apply._IO_THREADS
CHUNK = 32  # as tentacle_ha.fleet._pipeline._CHUNK
KEY = "Tentacle.Communication.TrustedOctopusServers"
CLI = [sys.executable, "-m", "tentacle_ha"]


def _cluster(third: str) -> str:
    return cluster_toml("node1", "node2", third)


def _edit(third: str) -> edits.SyncToCluster:
    return edits.SyncToCluster(loads_cluster(_cluster(third), path="bench.toml"))


# -- the apply floor: a parallel pool doing only what apply must do -----------------


def _floor_edit(data: bytes, third: str) -> bytes:
    """The floor's edit: lxml parse, the address moved in the JSON, serialise."""
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)
    root = etree.fromstring(data, parser)
    old, new = ("node3", "node4") if third == "node4" else ("node4", "node3")
    for element in root:
        if element.get("key") == KEY:
            servers = json.loads(element.text or "[]")
            for server in servers:
                server["Address"] = server["Address"].replace(old, new)
            element.text = json.dumps(servers, separators=(",", ":"))
    return etree.tostring(root, xml_declaration=True, encoding="utf-8")


def _floor_file(path: str, third: str) -> None:
    """Read, lxml-parse, edit, serialise; temp + fsync + rename + folder fsync."""
    with open(path, "rb") as file:  # noqa: PTH123 -- the plainest read
        data = file.read()
    plain_write(path, _floor_edit(data, third))


def _writer_file(path: str, third: str) -> None:
    """The floor's lxml edit, written by tentacle_ha's one safe writer.

    What the writer's promises cost on their own: the folder opened once and
    its real path asked of the kernel, the file opened without following a
    symlink, locked, checked regular, read and re-read under the lock, the
    name checked to be the file locked, then temp (mode and owner copied) +
    fsync + rename + folder fsync. No lossless edit, no discovery, no hashes.
    """
    with _writer.locked_config(path, follow_symlinks=False) as held:
        data = held.reread()
        held.replace(_floor_edit(data, third))


# The reason the swapped-in edit gives: each worker sends it back per file,
# so a worker that ran the lossless edit instead shows in every round.
_LXML_REASON = "the floor's lxml edit"


@contextlib.contextmanager
def _lxml_edit_in_apply(third: str) -> Iterator[None]:
    """Within the block, `fleet.apply` edits with the floor's lxml edit.

    Benchmark only: `_plan_apply._edit_bytes` is swapped in this process, and
    apply's workers are forked inside the block, so they inherit the swap.
    Everything else is apply's own: the crawl, the read before the lock, the
    lock and re-read, the outcome records with their hashes. From the second
    round on its files are in lxml's form (no BOM, LF, compact JSON), as the
    floor's are; apply's keep theirs.
    """

    def edit_bytes(
        path: str, data: bytes, edit: object, *, diff: bool = False
    ) -> _plan_apply._Edited:
        del path, edit, diff
        after = _floor_edit(data, third)
        return _plan_apply._Edited(_plan_apply.Status.CHANGED, _LXML_REASON, after)  # noqa: SLF001 -- the record apply's workers pass on

    lossless = _plan_apply._edit_bytes  # noqa: SLF001 -- the one piece swapped
    _plan_apply._edit_bytes = edit_bytes  # noqa: SLF001 -- the one piece swapped
    try:
        yield
    finally:
        _plan_apply._edit_bytes = lossless  # noqa: SLF001 -- put back


_THREADS: list[concurrent.futures.ThreadPoolExecutor] = []
_FORK = multiprocessing.get_context("fork")


_FLOORS = {"floor": _floor_file, "writer": _writer_file}


def _floor_chunk(paths: list[str], third: str, kind: str) -> int:
    if not _THREADS:
        _THREADS.append(concurrent.futures.ThreadPoolExecutor(IO_THREADS))
    list(_THREADS[0].map(_FLOORS[kind], paths, itertools.repeat(third)))
    return len(paths)


def _floor(
    pool: concurrent.futures.Executor, paths: list[str], third: str, kind: str
) -> int:
    chunks = [paths[i : i + CHUNK] for i in range(0, len(paths), CHUNK)]
    return sum(
        pool.map(_floor_chunk, chunks, itertools.repeat(third), itertools.repeat(kind))
    )


def _changed(results: Sequence[fleet.FilePlan | fleet.FileOutcome]) -> int:
    return sum(1 for r in results if r.status is fleet.Status.CHANGED)


def _cpu_seconds() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def _apply_rounds(work: Path, count: int, jobs: int, count_rounds: int) -> None:
    ours = work / "ours"
    write_fleet(ours, count, seed=1)
    lxml_copy = work / "apply-lxml"
    write_fleet(lxml_copy, count, seed=1)
    copies = {
        kind: [str(p) for p in write_fleet(work / kind, count, seed=1)]
        for kind in _FLOORS
    }
    print(f"apply: {count} files a round, jobs {jobs} x {IO_THREADS} at once")
    turn = dict.fromkeys(["ours", "apply-lxml", *_FLOORS], 0)

    def third(who: str) -> str:
        turn[who] += 1
        return "node4" if turn[who] % 2 else "node3"

    def run_ours() -> tuple[float, ...]:
        edit = _edit(third("ours"))
        os.sync()
        cpu, started = _cpu_seconds(), time.perf_counter()
        done = _changed(list(fleet.apply([ours], edit, jobs=jobs)))
        seconds = time.perf_counter() - started
        if done != count:
            raise SystemExit(f"apply changed {done} of {count} files")
        return count / seconds, (_cpu_seconds() - cpu) / count * 1e6

    def run_apply_lxml() -> tuple[float, ...]:
        name = third("apply-lxml")
        edit = _edit(name)
        os.sync()
        cpu, started = _cpu_seconds(), time.perf_counter()
        with _lxml_edit_in_apply(name):
            results = list(fleet.apply([lxml_copy], edit, jobs=jobs))
        seconds = time.perf_counter() - started
        done = _changed(results)
        if done != count:
            raise SystemExit(f"apply (lxml edit) changed {done} of {count} files")
        if {r.reason for r in results} != {_LXML_REASON}:
            # Not forked inside the swap: the workers ran the lossless edit.
            raise SystemExit("apply (lxml edit) did not run the floor's edit")
        return count / seconds, (_cpu_seconds() - cpu) / count * 1e6

    def floor(kind: str) -> Callable[[], tuple[float, ...]]:
        def run() -> tuple[float, ...]:
            # A fresh pool each round, as apply starts its own, and forked as
            # apply's is (no thread left running here between rounds).
            name = third(kind)
            os.sync()
            cpu, started = _cpu_seconds(), time.perf_counter()
            with concurrent.futures.ProcessPoolExecutor(jobs, mp_context=_FORK) as pool:
                done = _floor(pool, copies[kind], name, kind)
            seconds = time.perf_counter() - started
            return done / seconds, (_cpu_seconds() - cpu) / done * 1e6

        return run

    _report_apply(
        rounds(
            [run_ours, floor("floor"), floor("writer"), run_apply_lxml],
            count_rounds,
        )
    )
    for folder in (ours, lxml_copy, *(work / kind for kind in _FLOORS)):
        shutil.rmtree(folder)


def _report_apply(samples: list[list[tuple[float, ...]]]) -> None:
    """Print apply's rounds: files/s and CPU of each contender, then the ratios."""
    ours_r, floor_r, safe_r, lxml_r = samples
    rates, floors = [o[0] for o in ours_r], [f[0] for f in floor_r]
    safes, lxmls = [w[0] for w in safe_r], [x[0] for x in lxml_r]
    ratios = [o / f for o, f in zip(rates, floors, strict=True)]
    cpu_ours, cpu_floor = [o[1] for o in ours_r], [f[1] for f in floor_r]
    print(f"  apply (locks, re-reads, checks): {show(rates, '{:.0f}')} files/s, "
          f"CPU {show(cpu_ours, '{:.0f}')} us a file (all processes)")  # fmt: skip
    print(f"  floor (same pool, lxml, temp+fsync+rename+dir fsync): "
          f"{show(floors, '{:.0f}')} files/s, "
          f"CPU {show(cpu_floor, '{:.0f}')} us a file")  # fmt: skip
    print(f"  the floor's edit through the safe writer (lock, re-read, checks): "
          f"{show(safes, '{:.0f}')} files/s, "
          f"CPU {show([w[1] for w in safe_r], '{:.0f}')} us a file")  # fmt: skip
    verdict = "meets" if spread(ratios)[1] >= APPLY_TARGET else "MISSES"
    print(f"  apply/floor: {show(ratios)}x per round ({verdict} >= {APPLY_TARGET}x)")
    print(f"  apply with the floor's lxml edit (its own crawl, reads, records): "
          f"{show(lxmls, '{:.0f}')} files/s, "
          f"CPU {show([x[1] for x in lxml_r], '{:.0f}')} us a file")  # fmt: skip
    writer = [w / f for w, f in zip(safes, floors, strict=True)]
    print(f"  safe writer/floor: {show(writer)}x per round (what its promises "
          f"leave); apply/safe writer: "
          f"{show([o / w for o, w in zip(rates, safes, strict=True)])}x")  # fmt: skip
    print("  the gap in three steps, per round: "
          f"safe writer/floor {show(writer)}x, "
          "apply with the lxml edit/safe writer "
          f"{show([x / w for x, w in zip(lxmls, safes, strict=True)])}x "
          "(apply's own handling), apply/apply with the lxml edit "
          f"{show([o / x for o, x in zip(rates, lxmls, strict=True)])}x "
          "(the lossless edit)")  # fmt: skip


# -- plan: the whole CLI against a bare read + parse loop ---------------------------


def _parse_loop(paths: list[Path]) -> int:
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)
    total = 0
    for path in paths:
        total += len(etree.fromstring(path.read_bytes(), parser))
    return total


def _plan_rounds(work: Path, count: int, jobs: int, count_rounds: int) -> None:
    folder = work / "plan"
    paths = write_fleet(folder, count, seed=3)
    cluster = work / "cluster.toml"
    cluster.write_text(_cluster("node4"))
    command = [*CLI, "fleet", "plan", "--quiet", "--json", "--jobs", str(jobs)]
    command += ["--sync", str(cluster), str(folder)]
    print(f"plan: {count} files, the CLI (jobs {jobs}) vs a 1-process parse loop")
    _parse_loop(paths)  # warm the page cache for both

    def run_cli() -> tuple[float, ...]:
        cpu, started = _cpu_seconds(), time.perf_counter()
        done = subprocess.run(
            command, check=False, capture_output=True, cwd=ROOT, env=INSTALLED_ENV
        )
        seconds = time.perf_counter() - started
        if done.returncode not in {0, 1}:
            raise SystemExit(done.stderr.decode(errors="replace"))
        files = json.loads(done.stdout)["files"]
        if len(files) != count:
            raise SystemExit(f"plan gave {len(files)} of {count} files")
        return seconds, _cpu_seconds() - cpu

    def run_loop() -> tuple[float, ...]:
        cpu, started = _cpu_seconds(), time.perf_counter()
        _parse_loop(paths)
        return time.perf_counter() - started, _cpu_seconds() - cpu

    run_cli()  # writes the bytecode cache, as installing the package does
    cli_r, loop_r = rounds([run_cli, run_loop], count_rounds)
    wall = [c[0] / f[0] for c, f in zip(cli_r, loop_r, strict=True)]
    cpu = [c[1] / f[1] for c, f in zip(cli_r, loop_r, strict=True)]
    print(f"  CLI wall {show([c[0] for c in cli_r], '{:.2f}')} s, "
          f"CPU {show([c[1] for c in cli_r], '{:.2f}')} s (all processes)")  # fmt: skip
    print(f"  loop wall {show([f[0] for f in loop_r], '{:.2f}')} s, "
          f"CPU {show([f[1] for f in loop_r], '{:.2f}')} s")  # fmt: skip
    verdict = "meets" if spread(wall)[1] <= PLAN_TARGET else "MISSES"
    print(f"  CLI/loop wall: {show(wall)}x ({verdict} <= {PLAN_TARGET}x); "
          f"CPU: {show(cpu)}x")  # fmt: skip
    shutil.rmtree(folder)


# -- audit memory ------------------------------------------------------------------

_LAUNCHER = """
import json, os, sys
env = dict(os.environ, PYTHONPATH=sys.argv[-1])
pid = os.posix_spawn(sys.argv[1], sys.argv[1:-1], env)
_, status, usage = os.wait4(pid, 0)
print(json.dumps({"status": status, "maxrss_kib": usage.ru_maxrss}))
"""


def _audit_rss(folder: Path, jobs: int) -> int:
    """Peak RSS (KiB) of ``fleet audit`` over *folder*: its largest process."""
    command = [*CLI, "fleet", "audit", "--quiet", "--json", "--jobs", str(jobs)]
    done = subprocess.run(
        [sys.executable, "-c", _LAUNCHER, *command, str(folder), str(ROOT)],
        check=True,
        capture_output=True,
        text=True,
        env=INSTALLED_ENV,
    )
    result = json.loads(done.stdout.splitlines()[-1])
    return int(result["maxrss_kib"])


def _memory(work: Path, counts: Sequence[int], jobs: int, count_rounds: int) -> None:
    peaks: dict[int, list[int]] = {}
    for count in counts:
        folder = work / f"audit-{count}"
        write_fleet(folder, count, seed=2)
        peaks[count] = [_audit_rss(folder, jobs) for _ in range(count_rounds)]
        shutil.rmtree(folder)
        mib = [p / 1024 for p in peaks[count]]
        print(f"audit peak RSS over {count} files: {show(mib, '{:.1f}')} MiB")
    for small, large in itertools.pairwise(counts):
        ratio = spread(peaks[large])[1] / spread(peaks[small])[1]
        verdict = "meets" if ratio <= RSS_TARGET else "MISSES"
        print(f"  audit RSS {large}/{small}: {ratio:.2f}x of the medians "
              f"({verdict} <= {RSS_TARGET}x)")  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=2_000, help="apply, per round")
    parser.add_argument("--plan-files", type=int, default=5_000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--jobs", type=int, default=default_jobs())
    parser.add_argument("--big", action="store_true", help="audit 50k files too")
    parser.add_argument(
        "--only", choices=("apply", "plan", "audit"), action="append", default=[]
    )
    args = parser.parse_args()
    parts = args.only or ["apply", "plan", "audit"]
    counts = (2_000, 10_000, 50_000) if args.big else (2_000, 10_000)
    print(f"cpus {os.cpu_count()}, rounds {args.rounds}")
    with tempfile.TemporaryDirectory(prefix="tentacle-ha-bench-") as tmp:
        work = Path(tmp)
        if "apply" in parts:
            _apply_rounds(work, args.files, args.jobs, args.rounds)
        if "plan" in parts:
            _plan_rounds(work, args.plan_files, args.jobs, args.rounds)
        if "audit" in parts:
            _memory(work, counts, args.jobs, args.rounds)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
