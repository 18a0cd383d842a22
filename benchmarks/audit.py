"""Per-file audit cost in server entries: 10,000 entries vs a fair floor.

The floor, measured in the same run, is what any audit of the file must do:
parse the XML with lxml and the JSON array with Python's json, and walk the
entries once building a dict keyed by (thumbprint, address). tentacle_ha loads
the document (lxml, span scan), parses the list with positions, and runs every
per-file check. Prints min/median/max of each and the ratio of the medians
for 2,500 / 5,000 / 10,000 entries: linear checks keep the ratio flat, and
10,000 entries take well under a second (a quadratic duplicate check took
30-49 s for 5,000).

Run: python benchmarks/audit.py [--rounds N]
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from typing import TYPE_CHECKING

from lxml import etree

from tentacle_ha import audit_config
from tentacle_ha import loads

if TYPE_CHECKING:
    from collections.abc import Callable

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


def _times(func: Callable[[bytes], object], data: bytes, rounds: int) -> list[float]:
    out = []
    for _ in range(rounds):
        started = time.perf_counter()
        func(data)
        out.append(time.perf_counter() - started)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    for n in (2_500, 5_000, 10_000):
        data = _config(n)
        ours = _times(_ours, data, args.rounds)
        floor = _times(_floor, data, args.rounds)
        ratio = statistics.median(ours) / statistics.median(floor)
        print(
            f"{n:>6} entries: audit min/median/max "
            f"{min(ours):.3f}/{statistics.median(ours):.3f}/{max(ours):.3f} s; "
            f"floor {min(floor):.3f}/{statistics.median(floor):.3f}/"
            f"{max(floor):.3f} s; ratio {ratio:.1f}x"
        )


if __name__ == "__main__":
    main()
