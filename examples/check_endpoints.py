"""Check polling paths from a script, against fake nodes on loopback.

Usage: python examples/check_endpoints.py

Starts a fake three-node cluster (`tentacle_ha.testing`), puts one node in
drain mode and gives another a certificate the Tentacle does not trust, then
checks every path and prints the table. Network failures are results, not
exceptions; `CheckReport.raise_for_failures()` is there when you want one.
"""

from __future__ import annotations

import tentacle_ha
from tentacle_ha.check.targets import render_table
from tentacle_ha.testing import CommsMode
from tentacle_ha.testing import FakeOctopusCluster
from tentacle_ha.testing import NodeMode


def main() -> int:
    with FakeOctopusCluster(3) as cluster:
        cluster.nodes[1].mode = NodeMode.DRAINING
        cluster.nodes[2].comms_mode = CommsMode.OTHER_CERTIFICATE
        targets: list[tentacle_ha.check.CheckTarget] = [
            tentacle_ha.PollTarget(
                address=node.comms_address,
                thumbprint=cluster.thumbprint,
                name=node.name,
            )
            for node in cluster.nodes
        ]
        targets += [
            tentacle_ha.NodeTarget(web_url=node.web_url, name=node.name)
            for node in cluster.nodes
        ]
        report = tentacle_ha.run_checks_sync(targets, timeout=3.0)
    print(render_table(report), end="")
    statuses = sorted({str(r.status) for r in report.results})
    print("statuses seen:", ", ".join(statuses))
    try:
        report.raise_for_failures()
    except tentacle_ha.CheckFailedError as exc:
        print("raise_for_failures():", exc)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
