"""Add a second HA node to a polling Tentacle and show the change before writing it.

Usage: python examples/add_ha_node.py [CONFIG] [--write]

Without --write this only prints the diff. The new entry reuses the thumbprint
and SubscriptionId of the existing polling entry, exactly as
``Tentacle poll-server`` would.
"""

from __future__ import annotations

import sys
from pathlib import Path

import tentacle_ha

HERE = Path(__file__).parent


def main(argv: list[str]) -> int:
    write = "--write" in argv
    paths = [a for a in argv if a != "--write"]
    path = Path(paths[0]) if paths else HERE / "sample.Tentacle.config"
    doc = tentacle_ha.load(path)
    servers = doc.trusted_servers
    polling = servers.polling()
    if not polling:
        print(f"{path}: no polling entry to copy from", file=sys.stderr)
        return 1
    first = polling[0]
    doc.trusted_servers = servers.add_polling(
        first.thumbprint, "https://octo-node2.example.com:10943"
    )
    print(doc.diff(), end="")
    if write:
        doc.save()
        print(f"{path}: saved", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
