"""`poll_paths`: what a config says about each of the cluster's poll paths."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING
from typing import Any

import pytest

from tentacle_ha import loads
from tentacle_ha.cluster import loads_cluster
from tentacle_ha.fleet.audit import PathClass
from tentacle_ha.fleet.audit import audit_fleet
from tentacle_ha.fleet.audit import poll_paths

if TYPE_CHECKING:
    from pathlib import Path

T = "9E4A07A1F5B2C8D3E6F7A8B9C0D1E2F3A4B5C6D7"
OTHER = "0123456789ABCDEF0123456789ABCDEF01234567"
NODES = tuple(f"https://octo-node{i}.example.com:10943" for i in (1, 2, 3))
CLUSTER = loads_cluster(
    f'[cluster]\nserver = "https://octopus.example.com"\nthumbprint = "{T}"\n'
    'layout = "unique-address"\n'
    + "".join(
        f'\n[[nodes]]\nname = "node{i}"\naddress = "octo-node{i}.example.com"\n'
        for i in (1, 2, 3)
    )
)
OK, NOT_TRUSTED = PathClass.OK, PathClass.NOT_TRUSTED


def entry(address: str, *, thumb: str = T, style: int = 2) -> dict[str, Any]:
    return {
        "Thumbprint": thumb,
        "CommunicationStyle": style,
        "Address": address,
        "Squid": None,
        "SubscriptionId": "poll://g3662re9njtelsyfhm7t/",
    }


def config(servers: list[dict[str, Any]] | str) -> bytes:
    text = servers if isinstance(servers, str) else json.dumps(servers)
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n<octopus-settings>\n'
        f'  <set key="Tentacle.Communication.TrustedOctopusServers">{text}</set>\n'
        "</octopus-settings>\n"
    ).encode()


@pytest.mark.parametrize(
    ("servers", "expected"),
    [
        ([entry(a) for a in NODES], (OK, OK, OK)),
        ([entry(a) for a in NODES[:2]], (OK, OK, NOT_TRUSTED)),
        (
            [entry(NODES[0], thumb=OTHER), entry(NODES[1]), entry(NODES[2])],
            (PathClass.THUMBPRINT_MISMATCH, OK, OK),
        ),
        (
            [entry(NODES[0], thumb=T.lower()), entry(NODES[1]), entry(NODES[2])],
            (PathClass.THUMBPRINT_CASE, OK, OK),
        ),
        # a lower-case entry beside a correct one: Tentacle has one that works
        (
            [entry(NODES[0], thumb=T.lower()), entry(NODES[0])],
            (OK, NOT_TRUSTED, NOT_TRUSTED),
        ),
        # http:// is read as https://, as Tentacle's tools rewrite it; case and
        # the default form of the address do not matter
        (
            [
                entry(NODES[0].replace("https", "http")),
                entry(NODES[1].upper().replace("HTTPS", "https")),
                entry(NODES[2]),
            ],
            (OK, OK, OK),
        ),
        ([entry(NODES[0], style=1)], (PathClass.LISTENING,) * 3),
        ([], (NOT_TRUSTED,) * 3),
        ("[{not json", (PathClass.SERVERS_BROKEN,) * 3),
    ],
)
def test_each_address_gets_its_class(
    servers: list[dict[str, Any]] | str, expected: tuple[PathClass, ...]
) -> None:
    assert poll_paths(loads(config(servers)), CLUSTER) == expected


def test_audit_fleet_reports_paths_per_file(tmp_path: Path) -> None:
    """on_paths gets every readable and unreadable file; nothing without a cluster."""
    (tmp_path / "good.config").write_bytes(config([entry(a) for a in NODES]))
    (tmp_path / "bad.config").write_bytes(b"<octopus-settings><set")
    seen: dict[str, tuple[PathClass, ...]] = {}
    list(audit_fleet([tmp_path], cluster=CLUSTER, jobs=1, on_paths=seen.__setitem__))
    assert seen == {
        str(tmp_path / "good.config"): (OK, OK, OK),
        str(tmp_path / "bad.config"): (PathClass.NOT_A_CONFIG,) * 3,
    }
    seen.clear()
    list(audit_fleet([tmp_path], jobs=1, on_paths=seen.__setitem__))
    assert set(seen.values()) == {()}
