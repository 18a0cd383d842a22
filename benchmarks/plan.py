"""Planning cost: command plans for 1,000 Tentacles x 5 nodes, against bare f-strings.

Ours: `tentacle_ha.commands.plan.plan_registration` per Tentacle, then its argv lists
(register once, poll-server per further node, restart), with every option
checked against Tentacle's option table. The floor: the same argv lists
built with bare string formatting in the same run, no checks. Prints
Tentacles/s for both and the ratio; the target is at most 3x.

Run: python benchmarks/plan.py [--tentacles N] [--nodes N]
"""

from __future__ import annotations

import argparse
import statistics
import time

from tentacle_ha.cluster import Cluster
from tentacle_ha.cluster import Layout
from tentacle_ha.cluster import Node
from tentacle_ha.cluster import TargetOS
from tentacle_ha.cluster import Tentacle
from tentacle_ha.cluster import TentacleKind
from tentacle_ha.commands import LINUX_EXECUTABLE
from tentacle_ha.commands import WINDOWS_EXECUTABLE
from tentacle_ha.commands.plan import plan_registration

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


def _median(func: object, cluster: Cluster, rounds: int) -> float:
    if not callable(func):
        raise TypeError(func)
    samples = []
    for _ in range(rounds):
        start = time.perf_counter()
        func(cluster)
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--tentacles", type=int, default=1000)
    parser.add_argument("--nodes", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()
    cluster = _cluster(args.tentacles, args.nodes)
    produced, expected = ours(cluster), floor(cluster)
    if sorted(map(sorted, produced[1])) != sorted(map(sorted, expected[1])):
        raise SystemExit("ours and the floor build different commands")
    ours_s = _median(ours, cluster, args.rounds)
    floor_s = _median(floor, cluster, args.rounds)
    count = args.tentacles
    ratio = ours_s / floor_s
    print(f"plans: {count} Tentacles x {args.nodes} nodes")
    print(f"tentacle_ha plan_registration + argv: {count / ours_s:,.0f} Tentacles/s")
    print(f"bare f-string argv lists:            {count / floor_s:,.0f} Tentacles/s")
    verdict = "OK" if ratio <= TARGET else "OVER"
    print(f"ratio: {ratio:.2f}x (target <= {TARGET}x) {verdict}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
