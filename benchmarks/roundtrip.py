"""Round-trip cost: tentacle_ha load + edit one server entry + dumps, against bare lxml.

The floor is lxml parsing and serialising the same bytes in the same run
(which is *not* lossless: it drops the BOM, CRLF and quote styles). tentacle_ha
decodes, parses with lxml, scans the spans of the settings, edits the JSON and
splices it in (the fast path; see ``tentacle_ha/config/_fast.py``).

Two documents: the 1.6 KB three-node config of the test corpus (remove one
node's entry), and a ~5 KB fleet config built here, deterministically: five
HA nodes, a ~2.7 KB certificate, proxy settings (remove one node's entry).
Each round times ours and the floor in turns of 20 calls each, in CPU time
(the machine is shared); the ratio is taken per round and printed as
min / median / max.
The targets are at most 2.5x the floor on the typical config and 3.0x on the
fleet config.

Run: python benchmarks/roundtrip.py [--rounds N] [--loops N]
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import time
from pathlib import Path
from typing import TYPE_CHECKING

import _paired
from lxml import etree

import tentacle_ha

if TYPE_CHECKING:
    from collections.abc import Callable

ROOT = Path(__file__).parent.parent
SAMPLE = ROOT / "tests" / "corpus" / "valid" / "windows-ha-3node.config"
TARGETS = {"typical": 2.5, "fleet": 3.0}
THUMB = "9E4A07A1F5B2C8D3E6F7A8B9C0D1E2F3A4B5C6D7"


def fleet_config() -> bytes:
    """A ~5 KB config as a fleet Tentacle has it: five nodes and a certificate."""
    # Deterministic bytes standing for the DPAPI-protected PFX Tentacle stores.
    blob = b"".join(hashlib.sha256(str(i).encode()).digest() for i in range(64))
    certificate = base64.b64encode(blob)[:2700]
    servers = [
        {
            "Thumbprint": THUMB,
            "CommunicationStyle": 2,
            "Address": f"https://octo-node{n}.example.com:10943",
            "Squid": None,
            "SubscriptionId": "poll://g3662re9njtelsyfhm7t/",
        }
        for n in range(1, 6)
    ]
    settings = {
        "Octopus.Home": r"C:\Octopus",
        "Octopus.Proxy.ProxyHost": "proxy.corp.example.com",
        "Octopus.Proxy.ProxyPassword": "",
        "Octopus.Proxy.ProxyPort": "3128",
        "Octopus.Proxy.ProxyUsername": "svc-tentacle",
        "Octopus.Proxy.UseDefaultProxy": "false",
        "Octopus.Server.Proxy.ProxyHost": "",
        "Octopus.Server.Proxy.ProxyPassword": "",
        "Octopus.Server.Proxy.ProxyPort": "80",
        "Octopus.Server.Proxy.ProxyUsername": "",
        "Octopus.Server.Proxy.UseDefaultProxy": "true",
        "Tentacle.Certificate": certificate.decode(),
        "Tentacle.CertificateThumbprint": "0123456789ABCDEF0123456789ABCDEF01234567",
        "Tentacle.Communication.PollingConnectionCount": "1",
        "Tentacle.Communication.TrustedOctopusServers": json.dumps(
            servers, separators=(",", ":")
        ),
        "Tentacle.Deployment.ApplicationDirectory": r"C:\Octopus\Applications",
        "Tentacle.Services.IsRegistered": "true",
        "Tentacle.Services.ListenIP": "",
        "Tentacle.Services.NoListen": "true",
        "Tentacle.Services.PortNumber": "10933",
    }
    lines = [
        '<?xml version="1.0" encoding="utf-8"?>',
        (
            '<octopus-settings xmlns:xsd="http://www.w3.org/2001/XMLSchema" '
            'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">'
        ),
    ]
    for key, value in settings.items():
        if value:
            lines.append(f'  <set key="{key}">{value}</set>')
        else:
            lines.append(f'  <set key="{key}" />')
    lines.append("</octopus-settings>")
    return b"\xef\xbb\xbf" + "\r\n".join(lines).encode()


def _edit(address: str) -> Callable[[bytes], bytes]:
    def ours(data: bytes) -> bytes:
        doc = tentacle_ha.loads(data)
        doc.trusted_servers = doc.trusted_servers.remove(address=address)
        return doc.dumps()

    return ours


def _floor(data: bytes) -> bytes:
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)
    root = etree.fromstring(data, parser)
    return etree.tostring(root, xml_declaration=True, encoding="utf-8")


BATCH = 20  # calls per turn: ours and the floor alternate this often


def _paired_round(
    ours: Callable[[bytes], bytes], data: bytes, loops: int
) -> Callable[[], tuple[float, ...]]:
    """One round: ours and the floor take turns, *BATCH* calls each, CPU time.

    Turns this short keep a noisy neighbour's effect alike on both sides of
    the ratio. Returns (ours, floor), seconds per call.
    """

    def run() -> tuple[float, ...]:
        mine = floor = 0.0
        clock = time.process_time
        for _ in range(max(1, loops // BATCH)):
            start = clock()
            for _ in range(BATCH):
                ours(data)
            middle = clock()
            for _ in range(BATCH):
                _floor(data)
            mine += middle - start
            floor += clock() - middle
        calls = max(1, loops // BATCH) * BATCH
        return mine / calls, floor / calls

    return run


def measure(
    name: str, data: bytes, ours: Callable[[bytes], bytes], rounds: int, loops: int
) -> bool:
    """Print ours, the floor and their ratio per round; True if the target holds."""
    if ours(data) == data:  # the edit must really happen
        raise SystemExit(f"{name}: benchmark edit changed nothing")
    _paired_round(ours, data, 100)()  # warm up
    (samples,) = _paired.rounds([_paired_round(ours, data, loops)], rounds)
    mine = [(m,) for m, _ in samples]
    floor = [(f,) for _, f in samples]
    ratios = [m / f for m, f in samples]
    target = TARGETS[name]
    _, median, _ = _paired.spread(ratios)
    verdict = "OK" if median <= target else "OVER"
    print(f"{name}: {len(data)} bytes, {rounds} rounds of {loops} calls, CPU time")
    print(
        "  tentacle_ha load+edit+dumps us/op: "
        + _paired.show([m[0] * 1e6 for m in mine], "{:.1f}")
    )
    print(
        "  bare lxml parse+serialize us/op:   "
        + _paired.show([f[0] * 1e6 for f in floor], "{:.1f}")
    )
    shown = _paired.show(ratios)
    print(f"  ratio min/median/max: {shown}x (target <= {target}x) {verdict}")
    return median <= target


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--loops", type=int, default=400)
    args = parser.parse_args()
    if args.rounds < 5:
        parser.error("--rounds must be at least 5")
    # A missed target is a figure, printed with its verdict, as the other
    # benchmarks do; only a broken run exits non-zero (`make benchmarks` then
    # still runs the rest).
    met = [
        measure(
            "typical",
            SAMPLE.read_bytes(),
            _edit("https://octo-node3.example.com:10943"),
            args.rounds,
            args.loops,
        ),
        measure(
            "fleet",
            fleet_config(),
            _edit("https://octo-node5.example.com:10943"),
            args.rounds,
            args.loops,
        ),
    ]
    print(f"targets met: {sum(met)} of {len(met)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
