"""Benchmark the poll-path check against bare TCP+TLS handshakes, in the same run.

A child process (this script with ``--serve``) runs 500 fake comms endpoints
(one `FakeOctopusCluster`, one shared certificate) and 50 stalled ones on
loopback, so that server and client each have their own interpreter. The parent
then times, at the same concurrency:

* **bare**: an asyncio loop that only connects and completes the TLS handshake;
* **check**: `tentacle_ha.check.run_checks` doing the whole poll path (TCP, TLS,
  thumbprint, ``POST /handshake``).

Each is run in interleaved rounds (at least 5); each prints min / median / max
of its wall time and of this process's CPU time per endpoint (the client's
own cost: the wall time is bound by the single-process fakes, which do the
server side of every handshake), with the per-round ratios (target: wall at
most 1.5x). Then 50 stalled endpoints are checked with a 2 s timeout: the
total should be about 2 s (one wave), not 100 s.

Run: ``.venv/bin/python benchmarks/check.py``
"""

from __future__ import annotations

import argparse
import asyncio
import json
import ssl
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _paired import rounds
from _paired import show

from tentacle_ha.check import DEFAULT_CONCURRENCY
from tentacle_ha.check import PollTarget
from tentacle_ha.check import run_checks
from tentacle_ha.testing import CommsMode
from tentacle_ha.testing import FakeOctopusCluster

if TYPE_CHECKING:
    from collections.abc import Callable
    from collections.abc import Sequence

ENDPOINTS = 500
STALLED = 50
STALL_TIMEOUT = 2.0
ROUNDS = 5
TARGET_RATIO = 1.5


def serve(endpoints: int, stalled: int) -> None:
    """Run the fakes, print their ports as one JSON line, stop when stdin closes."""
    with (
        FakeOctopusCluster(endpoints) as healthy,
        FakeOctopusCluster(stalled, certificate=healthy.certificate) as stuck,
    ):
        for node in stuck.nodes:
            node.comms_mode = CommsMode.STALL
        print(
            json.dumps(
                {
                    "thumbprint": healthy.thumbprint,
                    "ports": [n.comms_port for n in healthy.nodes],
                    "stalled": [n.comms_port for n in stuck.nodes],
                }
            ),
            flush=True,
        )
        sys.stdin.read()


def _bare_context() -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context


async def bare(ports: Sequence[int], concurrency: int) -> float:
    """Seconds to connect and finish TLS to every port, ``concurrency`` at once."""
    context = _bare_context()
    gate = asyncio.Semaphore(concurrency)

    async def one(port: int) -> None:
        async with gate:
            _reader, writer = await asyncio.open_connection(
                "127.0.0.1", port, ssl=context, server_hostname="127.0.0.1"
            )
            writer.transport.abort()

    started = time.perf_counter()
    await asyncio.gather(*(one(port) for port in ports))
    return time.perf_counter() - started


async def full(targets: Sequence[PollTarget], concurrency: int) -> float:
    """Seconds for the full poll-path check of every target."""
    started = time.perf_counter()
    report = await run_checks(targets, timeout=30, concurrency=concurrency)
    elapsed = time.perf_counter() - started
    if not report.ok:
        failed = report.failures[0]
        raise SystemExit(f"check failed: {failed.target}: {failed.reason}")
    return elapsed


def main(argv: Sequence[str] | None = None) -> int:
    """Start the fakes in a child process, time both loops, print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--endpoints", type=int, default=ENDPOINTS)
    parser.add_argument("--concurrency", type=int, default=DEFAULT_CONCURRENCY)
    parser.add_argument("--rounds", type=int, default=ROUNDS)
    args = parser.parse_args(argv)
    if args.serve:
        serve(args.endpoints, STALLED)
        return 0
    child = subprocess.Popen(
        [sys.executable, __file__, "--serve", "--endpoints", str(args.endpoints)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert child.stdout is not None  # noqa: S101  (PIPE was asked for)
        fakes = json.loads(child.stdout.readline())
        ports: list[int] = fakes["ports"]
        targets = [
            PollTarget(
                address=f"https://127.0.0.1:{port}", thumbprint=fakes["thumbprint"]
            )
            for port in ports
        ]
        print(f"endpoints: {len(ports)} on loopback, concurrency {args.concurrency}")
        count = len(ports)

        def timed(run: Callable[[], float]) -> tuple[float, ...]:
            cpu = time.process_time()
            wall = run()
            return wall, (time.process_time() - cpu) / count * 1e6

        bare_r, check_r = rounds(
            [
                lambda: timed(lambda: asyncio.run(bare(ports, args.concurrency))),
                lambda: timed(lambda: asyncio.run(full(targets, args.concurrency))),
            ],
            args.rounds,
        )
        for label, runs in (("bare TCP+TLS", bare_r), ("full check  ", check_r)):
            print(
                f"{label}: wall {show([r[0] for r in runs], '{:.3f}')} s; client "
                f"CPU {show([r[1] for r in runs], '{:.0f}')} us an endpoint"
            )
        wall = [c[0] / b[0] for c, b in zip(check_r, bare_r, strict=True)]
        cpu = [c[1] / b[1] for c, b in zip(check_r, bare_r, strict=True)]
        verdict = "within" if statistics.median(wall) <= TARGET_RATIO else "OVER"
        print(
            f"check/bare per round: wall {show(wall)}x ({verdict} the "
            f"{TARGET_RATIO}x target); client CPU {show(cpu)}x"
        )
        stalled = [
            PollTarget(
                address=f"https://127.0.0.1:{port}", thumbprint=fakes["thumbprint"]
            )
            for port in fakes["stalled"]
        ]
        for concurrency in (len(stalled), args.concurrency):
            report = asyncio.run(
                run_checks(stalled, timeout=STALL_TIMEOUT, concurrency=concurrency)
            )
            statuses = {str(r.status) for r in report.results}
            print(
                f"{len(stalled)} stalled endpoints, {STALL_TIMEOUT:g} s timeout, "
                f"concurrency {concurrency}: {report.elapsed:.2f} s total "
                f"(sum of timeouts {len(stalled) * STALL_TIMEOUT:g} s; "
                f"results {statuses})"
            )
    finally:
        if child.stdin is not None:
            child.stdin.close()
        try:
            child.wait(timeout=30)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait(timeout=10)
        if child.stdout is not None:
            child.stdout.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
