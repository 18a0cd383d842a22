"""Benchmark the poll-path check against bare TCP+TLS handshakes, in the same run.

A child process (this script with ``--serve``) runs 500 fake comms endpoints
(one `FakeOctopusCluster`, one shared certificate) and 50 stalled ones on
loopback, so that server and client each have their own interpreter. The parent
then times, at the same concurrency:

* **bare**: an asyncio loop that only connects and completes the TLS handshake;
* **check**: `tentacle_ha.check.run_checks` doing the whole poll path (TCP, TLS,
  thumbprint, ``POST /handshake``).

Each is run several times, alternating; the best time of each is reported with
the ratio (target: at most 1.5x). Then 50 stalled endpoints are checked with a
2 s timeout: the total should be about 2 s (one wave), not 100 s.

Run: ``.venv/bin/python benchmarks/check.py``
"""

from __future__ import annotations

import argparse
import asyncio
import json
import ssl
import subprocess
import sys
import time
from typing import TYPE_CHECKING

from tentacle_ha.check import DEFAULT_CONCURRENCY
from tentacle_ha.check import PollTarget
from tentacle_ha.check import run_checks
from tentacle_ha.testing import CommsMode
from tentacle_ha.testing import FakeOctopusCluster

if TYPE_CHECKING:
    from collections.abc import Sequence

ENDPOINTS = 500
STALLED = 50
STALL_TIMEOUT = 2.0
ROUNDS = 3
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
        bare_times, check_times = [], []
        for _ in range(ROUNDS):
            bare_times.append(asyncio.run(bare(ports, args.concurrency)))
            check_times.append(asyncio.run(full(targets, args.concurrency)))
        best_bare, best_check = min(bare_times), min(check_times)
        print(f"bare TCP+TLS handshakes: {best_bare:.3f} s (best of {ROUNDS})")
        print(f"full poll-path check:    {best_check:.3f} s (best of {ROUNDS})")
        ratio = best_check / best_bare
        verdict = "within" if ratio <= TARGET_RATIO else "OVER"
        print(f"ratio check/bare: {ratio:.2f}x ({verdict} the {TARGET_RATIO}x target)")
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
