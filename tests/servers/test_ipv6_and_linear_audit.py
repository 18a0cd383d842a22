"""IPv6 hosts compare and emit in canonical form (#9); the audit is linear (#10).

``https://[2001:0db8:0:0:0:0:0:1]:10943`` and ``https://[2001:db8::1]:10943``
are one address to Tentacle (.NET's ``Uri`` canonicalises IPv6 hosts), so
``servers add`` updates instead of duplicating, and a cluster file in long
form matches the entries the audit and the layout see. The per-file audit
checks find duplicates through a dict: the key function is called a fixed
number of times per entry, whatever the list's length.
"""

from __future__ import annotations

from typing import Final

import pytest

from tentacle_ha.cluster import loads_cluster
from tentacle_ha.cluster.layout import desired_servers
from tentacle_ha.config import loads
from tentacle_ha.fleet import audit
from tentacle_ha.servers import TrustedServer
from tentacle_ha.servers import TrustedServers
from tentacle_ha.servers import address_key
from tentacle_ha.servers import canonical_address
from tentacle_ha.servers import canonical_ipv6
from tentacle_ha.servers import same_address

T: Final = "8E2F430B7A91C5D26F11E83CA0579B44D12E6CF3"
SUB: Final = "poll://g3662re9njtelsyfhm7t/"
LONG: Final = "https://[2001:0db8:0:0:0:0:0:1]:10943"
SHORT: Final = "https://[2001:db8::1]:10943"


@pytest.mark.parametrize(
    ("host", "canonical"),
    [
        ("2001:0db8:0:0:0:0:0:1", "2001:db8::1"),
        ("2001:DB8::1", "2001:db8::1"),
        ("0:0:0:0:0:0:0:1", "::1"),
        ("::FFFF:10.0.0.1", "::ffff:10.0.0.1"),  # .NET keeps IPv4-mapped dotted
        ("fe80:0000::0001", "fe80::1"),
        ("node1.example.com", None),
        ("10.0.0.1", None),
        ("fe80::1%eth0", None),
    ],
)
def test_canonical_ipv6(host: str, canonical: str | None) -> None:
    """One rule: compressed, lower case; anything not IPv6 is None."""
    assert canonical_ipv6(host) == canonical


def test_long_and_short_forms_are_one_address() -> None:
    """same_address and address_key agree; other hosts are still different."""
    assert same_address(LONG, SHORT)
    assert same_address("https://[2001:DB8:0::1]:10943/", SHORT)
    assert address_key(LONG) == address_key(SHORT)
    assert not same_address(LONG, "https://[2001:db8::2]:10943")
    assert canonical_address(LONG) == SHORT
    assert canonical_address("https://Node1:10943") == "https://Node1:10943"


def test_servers_add_of_the_long_form_updates() -> None:
    """Adding the long form of an existing address replaces, in canonical form."""
    servers = TrustedServers().add_polling(T, SHORT, subscription_id=SUB)
    again = servers.add_polling(T, LONG)
    assert len(again) == 1
    assert again[0].address == SHORT
    fresh = TrustedServers().add_polling(T, LONG, subscription_id=SUB)
    assert fresh[0].address == SHORT  # emitted canonical


_CLUSTER: Final = f"""
[cluster]
server = "https://octopus.example.com"
thumbprint = "{T}"
layout = "unique-address"

[[nodes]]
name = "node1"
address = "2001:0db8:0:0:0:0:0:1"
web_url = "https://node1.example.com"

[[nodes]]
name = "node2"
address = "2001:DB8:0:0:0:0:0:2"
web_url = "https://node2.example.com"
"""


def _config(servers: TrustedServers) -> bytes:
    value = servers.to_json().replace("&", "&amp;").replace("<", "&lt;")
    return (
        "<octopus-settings>\n"
        '  <set key="Tentacle.CertificateThumbprint">'
        "1111111111111111111111111111111111111111</set>\n"
        '  <set key="Tentacle.Communication.TrustedOctopusServers">'
        f"{value}</set>\n"
        '  <set key="Tentacle.Services.NoListen">true</set>\n'
        "</octopus-settings>\n"
    ).encode()


def test_cluster_in_long_form_matches_short_entries() -> None:
    """comms_addresses are canonical; the audit finds no missing node; sync settles."""
    cluster = loads_cluster(_CLUSTER)
    assert cluster.comms_addresses() == (SHORT, "https://[2001:db8::2]:10943")
    servers = (
        TrustedServers()
        .add_polling(T, SHORT, subscription_id=SUB)
        .add_polling(T, "https://[2001:db8::2]:10943")
    )
    doc = loads(_config(servers))
    codes = {f.code for f in audit.audit_config(doc, cluster=cluster)}
    assert not codes & {"node-missing", "node-unknown", "cluster-not-polled"}
    assert list(desired_servers(cluster, servers)) == list(servers)  # settled
    # Negative control: a node really missing is still reported.
    one = TrustedServers().add_polling(T, SHORT, subscription_id=SUB)
    codes = {f.code for f in audit.audit_config(loads(_config(one)), cluster=cluster)}
    assert "node-missing" in codes


def test_duplicate_in_long_form_is_found() -> None:
    """Two entries that differ only in IPv6 spelling are one duplicate."""
    entry = TrustedServer.polling(T, SHORT, subscription_id=SUB)
    twin = TrustedServer(
        thumbprint=T.lower(),
        communication_style=2,
        address=LONG,
        subscription_id=SUB,
    )
    doc = loads(_config(TrustedServers([entry, twin])))
    found = [f for f in audit.audit_config(doc) if f.code == "duplicate-entry"]
    assert len(found) == 1


def _many(n: int, *, duplicates: bool) -> bytes:
    entries = [
        TrustedServer.polling(T, f"https://n{i}.example.com:10943", subscription_id=SUB)
        for i in range(n)
    ]
    if duplicates:
        entries.append(entries[0])
    return _config(TrustedServers(entries))


@pytest.mark.parametrize("n", [1000, 5000])
def test_entry_checks_are_linear(n: int, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each entry's identity key is computed once: no pairwise comparison.

    5,000 distinct addresses are more than `address_key` caches (4,096), so a
    second look per entry would work each address out again.
    """
    calls = {"identity": 0, "address": 0}
    identity, key = audit._identity, address_key  # what the audit calls

    def counting(server: TrustedServer) -> tuple[str, tuple[object, ...] | None]:
        calls["identity"] += 1
        return identity(server)

    def counted_key(address: str) -> tuple[object, ...]:
        calls["address"] += 1
        return key(address)

    def forbidden(*_: TrustedServer) -> bool:
        raise AssertionError("pairwise match in the audit")

    monkeypatch.setattr(audit, "_identity", counting)
    monkeypatch.setattr(audit, "address_key", counted_key)
    monkeypatch.setattr(TrustedServer, "matches", forbidden)
    findings = audit.audit_config(loads(_many(n, duplicates=True)))
    assert calls == {"identity": n + 1, "address": n + 1}
    assert [f.code for f in findings].count("duplicate-entry") == 1
