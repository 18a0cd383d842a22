"""Round-trip cost: tentacle_ha load + edit one server entry + dumps, against bare lxml.

The floor is lxml parsing and serialising the same bytes in the same run
(which is *not* lossless: it drops the BOM, CRLF and quote styles). tentacle_ha
parses with lxml, scans spans, edits the JSON, splices, and re-parses its
output with lxml to verify it. Prints each figure and the ratio; the target
is at most 2.0x the floor.

Run: python benchmarks/roundtrip.py [--rounds N]
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path
from typing import TYPE_CHECKING

from lxml import etree

import tentacle_ha

if TYPE_CHECKING:
    from collections.abc import Callable

ROOT = Path(__file__).parent.parent
SAMPLE = ROOT / "tests" / "corpus" / "valid" / "windows-ha-3node.config"
TARGET = 2.0


def _ours(data: bytes) -> bytes:
    doc = tentacle_ha.loads(data)
    servers = doc.trusted_servers
    doc.trusted_servers = servers.remove(address="https://octo-node3.example.com:10943")
    return doc.dumps()


def _floor(data: bytes) -> bytes:
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)
    root = etree.fromstring(data, parser)
    return etree.tostring(root, xml_declaration=True, encoding="utf-8")


def _best(
    func: Callable[[bytes], bytes], data: bytes, loops: int, rounds: int
) -> float:
    """Median over *rounds* of the time per call, each round *loops* calls."""
    samples = []
    for _ in range(rounds):
        start = time.perf_counter()
        for _ in range(loops):
            func(data)
        samples.append((time.perf_counter() - start) / loops)
    return statistics.median(samples)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--loops", type=int, default=300)
    args = parser.parse_args()
    data = SAMPLE.read_bytes()
    if _ours(data) == data:  # the edit must really happen
        raise SystemExit("benchmark edit changed nothing")
    _best(_ours, data, 50, 2)  # warm up
    _best(_floor, data, 50, 2)
    ours = _best(_ours, data, args.loops, args.rounds)
    floor = _best(_floor, data, args.loops, args.rounds)
    ratio = ours / floor
    print(f"config: {SAMPLE.name} ({len(data)} bytes)")
    print(f"tentacle_ha load+edit+dumps: {ours * 1e6:.1f} us/op")
    print(f"bare lxml parse+serialize:   {floor * 1e6:.1f} us/op")
    verdict = "OK" if ratio <= TARGET else "OVER"
    print(f"ratio: {ratio:.2f}x (target <= {TARGET}x) {verdict}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
