"""Turn a cluster file into per-Tentacle scripts, one file per Tentacle.

Usage: python examples/plan_cluster.py [CLUSTER.toml] [OUT_DIR]

Writes ``<name>.sh`` for Linux Tentacles and ``<name>.ps1`` for Windows ones:
register once, poll-server for every further node, restart. The scripts read
the API key from OCTOPUS_API_KEY when they run; it is never written to disk.
"""

from __future__ import annotations

import sys
from pathlib import Path

import tentacle_ha

HERE = Path(__file__).parent


def main(argv: list[str]) -> int:
    cluster_file = Path(argv[0]) if argv else HERE / "cluster-unique-address.toml"
    out = Path(argv[1]) if len(argv) > 1 else Path("plans")
    cluster = tentacle_ha.load_cluster(cluster_file)
    out.mkdir(parents=True, exist_ok=True)
    for tentacle in cluster.tentacles:
        plan = tentacle_ha.plan_registration(cluster, tentacle)
        windows = tentacle.os is tentacle_ha.TargetOS.WINDOWS
        script = (
            out / f"{tentacle.name or tentacle.instance}.{'ps1' if windows else 'sh'}"
        )
        script.write_text(plan.render(), encoding="utf-8")
        print(f"{script}: {len(plan.commands)} commands for {cluster.layout} layout")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
