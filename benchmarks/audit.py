"""Per-file audit cost in server entries: 10,000 entries vs a fair floor.

The floor, measured in the same run, is what any audit of the file must do:
parse the XML with lxml and the JSON array with Python's json, and walk the
entries once building a dict keyed by (thumbprint, address). tentacle_ha loads
the document (lxml, span scan), parses the list with positions, and runs every
per-file check. Ours and the floor take turns, one call each a round, for
2,500 / 5,000 / 10,000 entries; each prints min/median/max of its time and of
the per-round ratio, and ours its time per entry: linear checks keep that
flat, and 10,000 entries take well under a second (a quadratic duplicate
check took 30-49 s for 5,000). The cache of `address_key` is emptied before
each of our calls: every address here is new, as in a file never seen before.

Run: python benchmarks/audit.py [--rounds N]
"""

from __future__ import annotations

import argparse
import json

from _paired import rounds
from _paired import show
from _paired import spread
from _paired import wall
from lxml import etree

from tentacle_ha import address_key
from tentacle_ha import audit_config
from tentacle_ha import loads

_THUMB = "8E2F430B7A91C5D26F11E83CA0579B44D12E6CF3"


def _config(n: int) -> bytes:
    entries = [
        {
            "Thumbprint": _THUMB,
            "CommunicationStyle": 2,
            "Address": f"https://node{i}.example.com:10943",
            "Squid": None,
            "SubscriptionId": "poll://g3662re9njtelsyfhm7t/",
        }
        for i in range(n)
    ]
    value = json.dumps(entries, separators=(",", ":"))
    return (
        "<octopus-settings>\n"
        f'  <set key="Tentacle.Communication.TrustedOctopusServers">{value}</set>\n'
        '  <set key="Tentacle.Services.NoListen">true</set>\n'
        "</octopus-settings>\n"
    ).encode()


def _ours(data: bytes) -> object:
    return audit_config(loads(data))


def _floor(data: bytes) -> object:
    root = etree.fromstring(data, etree.XMLParser(resolve_entities=False))
    entries = json.loads(root[0].text or "[]")
    return {(e["Thumbprint"].upper(), e["Address"].lower()): e for e in entries}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    if args.rounds < 5:
        parser.error("--rounds must be at least 5")
    for n in (2_500, 5_000, 10_000):
        data = _config(n)

        def ours(data: bytes = data) -> tuple[float, ...]:
            address_key.cache_clear()
            return wall(lambda: _ours(data))

        def floor(data: bytes = data) -> tuple[float, ...]:
            return wall(lambda: _floor(data))

        mine, bare = rounds([ours, floor], args.rounds)
        times = [m[0] for m in mine]
        ratios = [m[0] / f[0] for m, f in zip(mine, bare, strict=True)]
        print(
            f"{n:>6} entries: audit {show(times, '{:.3f}')} s "
            f"({spread(times)[1] / n * 1e6:.1f} us an entry, median); "
            f"floor {show([f[0] for f in bare], '{:.3f}')} s; "
            f"ratio per round {show(ratios, '{:.1f}')}x"
        )


if __name__ == "__main__":
    main()
