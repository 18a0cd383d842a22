"""Planning cost: command plans for 1,000 Tentacles x 5 nodes, against bare f-strings.

Ours: `tentacle_ha.commands.plan.plan_registration` per Tentacle, then its argv lists
(register once, poll-server per further node, restart), with every option
checked against Tentacle's option table. The floor: the same argv lists
built with bare string formatting in the same run, no checks. Prints
Tentacles/s for both and the ratio, min/median/max over interleaved rounds
(CPU time); the target is a median of at most 3x.

Run: python benchmarks/plan.py [--tentacles N] [--nodes N]
"""

from __future__ import annotations

import argparse
import time
from typing import TYPE_CHECKING

import _paired

from tentacle_ha.cluster import Cluster
from tentacle_ha.cluster import Layout
from tentacle_ha.cluster import Node
from tentacle_ha.cluster import TargetOS
from tentacle_ha.cluster import Tentacle
from tentacle_ha.cluster import TentacleKind
from tentacle_ha.commands import LINUX_EXECUTABLE
from tentacle_ha.commands import WINDOWS_EXECUTABLE
from tentacle_ha.commands.plan import plan_registration

if TYPE_CHECKING:
    from collections.abc import Callable

TARGET = 3.0
SERVER = "https://octopus.example.com"


def _cluster(tentacles: int, nodes: int) -> Cluster:
    return Cluster(
        server_url=SERVER,
        thumbprint="8E2F430B7A91C5D26F11E83CA0579B44D12E6CF3",
        layout=Layout.UNIQUE_ADDRESS,
        nodes=tuple(
            Node(name=f"node{i}", address=f"node{i}.octopus.example.com")
            for i in range(1, nodes + 1)
        ),
        tentacles=tuple(
            Tentacle(
                name=f"machine-{i:05d}",
                os=TargetOS.WINDOWS if i % 2 else TargetOS.LINUX,
                kind=TentacleKind.WORKER if i % 5 == 0 else TentacleKind.TARGET,
                space="Default",
                environments=() if i % 5 == 0 else ("Production",),
                roles=() if i % 5 == 0 else ("web-server", f"shard-{i % 7}"),
                worker_pools=("Linux Workers",) if i % 5 == 0 else (),
            )
            for i in range(tentacles)
        ),
    )


def ours(cluster: Cluster) -> list[list[list[str]]]:
    return [plan_registration(cluster, t).argvs() for t in cluster.tentacles]


def floor(cluster: Cluster) -> list[list[list[str]]]:
    """The same argv lists with f-strings and no checks at all."""
    out = []
    hosts = [(n.address, n.comms_port) for n in cluster.nodes]
    for t in cluster.tentacles:
        exe = WINDOWS_EXECUTABLE if t.os is TargetOS.WINDOWS else LINUX_EXECUTABLE
        host, port = hosts[0]
        kind = "register-worker" if t.kind is TentacleKind.WORKER else "register-with"
        first = [
            exe,
            kind,
            f"--instance={t.instance}",
            f"--server={SERVER}",
            "--apiKey=API-***",
            "--comms-style=TentacleActive",
            f"--server-comms-address=https://{host}",
            f"--server-comms-port={port}",
            f"--space={t.space}",
            f"--name={t.name}",
        ]
        first += [f"--workerpool={p}" for p in t.worker_pools]
        first += [f"--environment={e}" for e in t.environments]
        first += [f"--role={r}" for r in t.roles]
        commands = [first]
        commands += [
            [
                exe,
                "poll-server",
                f"--instance={t.instance}",
                f"--server={SERVER}",
                "--apiKey=API-***",
                f"--server-comms-address=https://{h}",
                f"--server-comms-port={p}",
            ]
            for h, p in hosts[1:]
        ]
        commands.append([exe, "service", "--restart", f"--instance={t.instance}"])
        out.append(commands)
    return out


def _timed(func: Callable[[Cluster], object], cluster: Cluster) -> float:
    # CPU time of this process: on a shared machine, time spent waiting
    # for a core is not ours to count (the work is single-threaded).
    start = time.process_time()
    func(cluster)
    return time.process_time() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--tentacles", type=int, default=1000)
    parser.add_argument("--nodes", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=9)
    args = parser.parse_args()
    if args.rounds < 5:
        parser.error("--rounds: at least 5")
    cluster = _cluster(args.tentacles, args.nodes)
    produced, expected = ours(cluster), floor(cluster)
    if produced != expected:
        raise SystemExit("ours and the floor build different commands")
    ours_s, floor_s = (
        [s[0] for s in samples]
        for samples in _paired.rounds(
            [
                lambda: (_timed(ours, cluster),),
                lambda: (_timed(floor, cluster),),
            ],
            args.rounds,
        )
    )
    count = args.tentacles
    ratios = [o / f for o, f in zip(ours_s, floor_s, strict=True)]
    rate = "{:,.0f}"
    print(
        f"plans: {count} Tentacles x {args.nodes} nodes, {args.rounds} "
        "interleaved rounds, min / median / max"
    )
    print(
        "tentacle_ha plan_registration + argv: "
        f"{_paired.show([count / s for s in ours_s], rate)} Tentacles/s"
    )
    print(
        "bare f-string argv lists:            "
        f"{_paired.show([count / s for s in floor_s], rate)} Tentacles/s"
    )
    median = _paired.spread(ratios)[1]
    verdict = "OK" if median <= TARGET else "OVER"
    print(f"ratio: {_paired.show(ratios)}x (target <= {TARGET}x) {verdict}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
