"""Write the HTML report of a fleet audit from Python.

Usage: python examples/fleet_report.py CLUSTER.toml OUT.html PATHS...

The same report as ``tentacle-ha fleet audit PATHS --cluster CLUSTER.toml
--html OUT.html``: one row per config, one column per node, worst first,
then the findings with their fixes.
"""

from __future__ import annotations

import sys

from tentacle_ha import report
from tentacle_ha.cluster import load_cluster


def main(argv: list[str]) -> int:
    if len(argv) < 3:  # noqa: PLR2004 -- CLUSTER, OUT and at least one path
        print(__doc__.splitlines()[2], file=sys.stderr)
        return 2
    cluster_file, out, *paths = argv
    made = report.audit_report(paths, cluster=load_cluster(cluster_file))
    worst = made.rows[0] if made.rows else None
    print(f"{made.tentacles} configs x {len(made.columns)} nodes; cells per class:")
    for status, count in made.class_counts().items():
        print(f"  {report.CLASS_SYMBOLS.get(status, '-')} {status}: {count}")
    if worst is not None:
        print(f"worst: {worst.label} ({', '.join(worst.classes) or worst.severity})")
    print(f"written: {report.write_html(made, out)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
