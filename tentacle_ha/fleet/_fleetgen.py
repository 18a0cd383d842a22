"""Private: generate realistic fleets of Tentacle.config files.

Used by ``tentacle-ha demo``, the fleet benchmark and the tests.

Each config looks like one Tentacle wrote it: keys sorted ordinally, compact
TrustedOctopusServers JSON (one polling entry per node, one SubscriptionId),
a certificate blob of a real size. Styles vary as in a real estate:

- ``windows``: UTF-8 BOM, CRLF, ``C:\\Octopus`` home, the polling proxy keys;
- ``linux``: no BOM, LF, ``/etc/octopus/Tentacle`` home;
- either with a hand-edited, indented JSON array (``pretty``), one in seven.

Everything is derived from a seed, so a fleet is the same on every run.
"""

from __future__ import annotations

import base64
import random
from pathlib import Path
from typing import Final

import attrs

__all__ = [
    "ADDRESSES",
    "DRIFTS",
    "THUMBPRINT",
    "Tentacle",
    "cluster_toml",
    "config_bytes",
    "make_tentacle",
    "write_fleet",
]

THUMBPRINT: Final = "8E2F430B7A91C5D26F11E83CA0579B44D12E6CF3"
"""The cluster certificate of ``examples/cluster-unique-address.toml``."""

ADDRESSES: Final = (
    "https://node1.octopus.example.com:10943",
    "https://node2.octopus.example.com:10943",
    "https://node3.octopus.example.com:10943",
)
"""That cluster's comms addresses, in node order."""

DRIFTS: Final = (
    "missing-node",
    "lower-case-thumbprint",
    "subscription-mismatch",
    "duplicate-entry",
    "http-address",
)
"""The kinds of drift `write_fleet` plants, in the order it uses them."""

_ALPHABET: Final = "bcdefghjkmnpqrstuvwxyz23456789"
_WINDOWS_SHARE: Final = 0.5  # half the estate runs Windows
_CERT_BYTES: Final = 2560  # a DPAPI-wrapped PFX: about 3.4 KB of base64


@attrs.frozen(kw_only=True)
class Tentacle:
    """What goes into one generated config."""

    style: str  # "windows" or "linux"
    pretty: bool
    home: str
    certificate: str
    certificate_thumbprint: str
    servers: tuple[dict[str, object], ...]
    polling_connection_count: int | None
    no_listen: bool = True


def cluster_toml(
    *names: str, layout: str = "unique-address", load_balancer: str | None = None
) -> str:
    """A cluster file for the generated fleet: one node per name.

    Each node's address is ``NAME.octopus.example.com``, the thumbprint
    `THUMBPRINT` (``node1``..``node3`` are the fleet's own `ADDRESSES`).
    """
    lines = [
        "[cluster]",
        'server = "https://octopus.example.com"',
        f'thumbprint = "{THUMBPRINT}"',
        f'layout = "{layout}"',
    ]
    if load_balancer is not None:
        lines.append(f'load_balancer = "{load_balancer}"')
    for name in names:
        lines += ["", "[[nodes]]", f'name = "{name}"']
        lines.append(f'address = "{name}.octopus.example.com"')
    return "\n".join(lines) + "\n"


def _hex(rng: random.Random, length: int = 40) -> str:
    return "".join(rng.choice("0123456789ABCDEF") for _ in range(length))


def _subscription(rng: random.Random) -> str:
    return "poll://" + "".join(rng.choice(_ALPHABET) for _ in range(20)) + "/"


def make_tentacle(
    index: int,
    rng: random.Random,
    *,
    addresses: tuple[str, ...] = ADDRESSES,
    thumbprint: str = THUMBPRINT,
) -> Tentacle:
    """A healthy polling Tentacle of the cluster, number *index*."""
    style = "windows" if rng.random() < _WINDOWS_SHARE else "linux"
    sub = _subscription(rng)
    servers: tuple[dict[str, object], ...] = tuple(
        {
            "Thumbprint": thumbprint,
            "CommunicationStyle": 2,
            "Address": address,
            "Squid": None,
            "SubscriptionId": sub,
        }
        for address in addresses
    )
    home = ("C:\\Octopus" if style == "windows" else "/etc/octopus/Tentacle") + (
        "" if index % 11 else f"-{index}"
    )
    return Tentacle(
        style=style,
        pretty=rng.random() < 1 / 7,
        home=home,
        certificate=base64.b64encode(rng.randbytes(_CERT_BYTES)).decode("ascii"),
        certificate_thumbprint=_hex(rng),
        servers=servers,
        polling_connection_count=rng.choice((None, 1, 1, 5)),
    )


def _json_value(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, int):
        return str(value)
    return '"' + str(value).replace("\\", "\\\\").replace('"', '\\"') + '"'


def _servers_json(servers: tuple[dict[str, object], ...], *, pretty: bool) -> str:
    if not pretty:
        return (
            "["
            + ",".join(
                "{" + ",".join(f'"{k}":{_json_value(v)}' for k, v in s.items()) + "}"
                for s in servers
            )
            + "]"
        )
    entries = [
        "    {\n"
        + ",\n".join(f'      "{k}": {_json_value(v)}' for k, v in s.items())
        + "\n    }"
        for s in servers
    ]
    return "[\n" + ",\n".join(entries) + "\n  ]"


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def config_bytes(tentacle: Tentacle) -> bytes:
    """The Tentacle.config Tentacle would write for *tentacle* (in its style)."""
    windows = tentacle.style == "windows"
    settings: list[tuple[str, str]] = [("Octopus.Home", tentacle.home)]
    if windows:
        settings += [
            ("Octopus.Server.Proxy.ProxyHost", ""),
            ("Octopus.Server.Proxy.ProxyPassword", ""),
            ("Octopus.Server.Proxy.ProxyPort", "80"),
            ("Octopus.Server.Proxy.ProxyUsername", ""),
            ("Octopus.Server.Proxy.UseDefaultProxy", "true"),
        ]
    settings += [
        ("Tentacle.Certificate", tentacle.certificate),
        ("Tentacle.CertificateThumbprint", tentacle.certificate_thumbprint),
    ]
    if tentacle.polling_connection_count is not None:
        settings.append(
            (
                "Tentacle.Communication.PollingConnectionCount",
                str(tentacle.polling_connection_count),
            )
        )
    newline = "\r\n" if windows else "\n"
    servers = _servers_json(tentacle.servers, pretty=tentacle.pretty)
    settings += [
        (
            "Tentacle.Communication.TrustedOctopusServers",
            servers.replace("\n", newline),
        ),
        (
            "Tentacle.Deployment.ApplicationDirectory",
            "C:\\Octopus\\Applications" if windows else "/home/Octopus/Applications",
        ),
        ("Tentacle.Services.ListenIP", ""),
        ("Tentacle.Services.NoListen", "true" if tentacle.no_listen else "false"),
        ("Tentacle.Services.PortNumber", "10933"),
    ]
    lines = ['<?xml version="1.0" encoding="utf-8"?>']
    lines.append(
        '<octopus-settings xmlns:xsd="http://www.w3.org/2001/XMLSchema" '
        'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">'
    )
    for key, value in settings:
        if value:
            lines.append(f'  <set key="{key}">{_escape(value)}</set>')
        else:
            lines.append(f'  <set key="{key}" />')
    lines.append("</octopus-settings>")
    text = newline.join(lines)
    return (b"\xef\xbb\xbf" if windows else b"") + text.encode("utf-8")


def _drift(tentacle: Tentacle, kind: str, rng: random.Random) -> Tentacle:
    servers = [dict(s) for s in tentacle.servers]
    if kind == "missing-node":
        servers.pop()
    elif kind == "lower-case-thumbprint":
        servers[0]["Thumbprint"] = str(servers[0]["Thumbprint"]).lower()
    elif kind == "subscription-mismatch":
        servers[-1]["SubscriptionId"] = _subscription(rng)
    elif kind == "duplicate-entry":
        servers.append(dict(servers[0]))
    else:
        servers[1]["Address"] = str(servers[1]["Address"]).replace("https:", "http:")
    return attrs.evolve(tentacle, servers=tuple(servers))


def _relative(index: int, style: str) -> Path:
    name = "Tentacle.config" if style == "windows" else "tentacle-Tentacle.config"
    return Path(f"site-{index // 500:03d}", f"host-{index:05d}", name)


def write_fleet(
    root: Path,
    count: int,
    *,
    seed: int = 0,
    addresses: tuple[str, ...] = ADDRESSES,
    thumbprint: str = THUMBPRINT,
    drifted: int = 0,
    broken: int = 0,
    cloned: int = 0,
) -> list[Path]:
    """Write *count* configs under *root*; return their paths in crawl order.

    The first *drifted* configs each carry one drift from `DRIFTS` (in turn),
    the next *broken* ones are cut off mid-file (not a config any more), and
    the next *cloned* ones share the certificate thumbprint and
    SubscriptionId of config 0 (cloned machines). The rest are healthy.
    """
    rng = random.Random(seed)  # noqa: S311 -- repeatable test data, not secrets
    first = make_tentacle(0, rng, addresses=addresses, thumbprint=thumbprint)
    paths: list[Path] = []
    for index in range(count):
        tentacle = (
            first
            if index == 0
            else make_tentacle(index, rng, addresses=addresses, thumbprint=thumbprint)
        )
        if index < drifted:
            tentacle = _drift(tentacle, DRIFTS[index % len(DRIFTS)], rng)
        elif drifted + broken <= index < drifted + broken + cloned:
            tentacle = attrs.evolve(
                tentacle,
                certificate_thumbprint=first.certificate_thumbprint,
                servers=first.servers,
            )
        data = config_bytes(tentacle)
        if drifted <= index < drifted + broken:
            data = data[: len(data) // 2]
        path = root / _relative(index, tentacle.style)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        paths.append(path)
    return paths
