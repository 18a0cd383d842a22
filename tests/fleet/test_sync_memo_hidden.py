"""A remembered sync never renames an ID it could not see.

An ID spelled another way elsewhere in the array (a JSON escape, an XML
character reference, a comment inside the value), or held in text the
cluster gives (a WebSocket address), must not be renamed for the next file
of the same shape: the remembered route gives the steps' bytes.
"""

from __future__ import annotations

import pytest

from tentacle_ha import loads
from tentacle_ha.cluster import loads_cluster
from tentacle_ha.fleet import edits

T = "8E2F430B7A91C5D26F11E83CA0579B44D12E6CF3"
OLD = "0123456789ABCDEF0123456789ABCDEF01234567"


def _cluster(
    extra: str = "", layout: str = "unique-address", nodes: str = "node1 node2"
) -> str:
    text = (
        '[cluster]\nserver = "https://octopus.example.com"\n'
        f'thumbprint = "{T}"\nlayout = "{layout}"\n{extra}'
    )
    for name in nodes.split():
        text += f'[[nodes]]\nname = "{name}"\naddress = "{name}.octopus.example.com"\n'
    return text


def _entry(thumbprint: str, address: str, sub: str) -> str:
    return (
        f'{{"Thumbprint":"{thumbprint}","CommunicationStyle":2,"Address":"{address}",'
        f'"Squid":null,"SubscriptionId":"{sub}"}}'
    )


def _config(sub: str, other: str, nodes: str = "node1") -> bytes:
    entries = [
        _entry(T, f"https://{n}.octopus.example.com:10943", sub) for n in nodes.split()
    ]
    if other:
        entries.append(_entry(OLD, "https://old.example.com:10943", other))
    array = "[" + ",".join(entries) + "]"
    return (
        "<octopus-settings>\n"
        f'  <set key="Tentacle.Communication.TrustedOctopusServers">{array}</set>\n'
        "</octopus-settings>\n"
    ).encode()


def _both(edit: edits.SyncToCluster, data: bytes) -> tuple[bytes, bytes]:
    ours = loads(data)
    edit.apply(ours)
    theirs = loads(data)
    theirs.trusted_servers = edit._converged(theirs)
    return ours.dumps(), theirs.dumps()


@pytest.mark.parametrize(
    ("hidden", "nodes"),
    [
        (r"poll:\/\/abc\/", "node1"),  # JSON escape; the list changes
        (r"\u0070oll://abc/", "node1"),  # JSON \u escape; the list changes
        ("&#112;oll://abc/", "node1"),  # XML character reference
        ("&#112;oll://abc/", "node1 node2"),  # ... the file already in sync
        ("p<!---->oll://abc/", "node1 node2"),  # XML comment inside the value
    ],
)
def test_an_id_hidden_by_an_escape_elsewhere(hidden: str, nodes: str) -> None:
    edit = edits.SyncToCluster(loads_cluster(_cluster(), path="c.toml"))
    _both(edit, _config("poll://abc/", hidden, nodes))  # remembers the shape
    ours, theirs = _both(edit, _config("poll://xyz/", hidden, nodes))
    assert ours == theirs


def test_a_cluster_address_holding_the_first_files_id() -> None:
    cluster = _cluster(
        'websocket = "wss://octopus.example.com/poll://abc/"\n', "websocket", "node1"
    )
    edit = edits.SyncToCluster(loads_cluster(cluster, path="c.toml"))
    _both(edit, _config("poll://abc/", ""))
    ours, theirs = _both(edit, _config("poll://xyz/", ""))
    assert ours == theirs
