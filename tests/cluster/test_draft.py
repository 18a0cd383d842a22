"""The cluster file `cluster init` draws, without a network (#13)."""

from __future__ import annotations

import tomllib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tentacle_ha.cluster import Layout
from tentacle_ha.cluster import ServerNode
from tentacle_ha.cluster import ServerState
from tentacle_ha.cluster import draft_cluster
from tentacle_ha.cluster import loads_cluster
from tentacle_ha.errors import ClusterError

NAMES = st.from_regex(r"[A-Za-z0-9][A-Za-z0-9._-]{0,20}", fullmatch=True)
VERSIONS = st.tuples(st.integers(2018, 2030), st.integers(0, 12), st.integers(0, 9999))


@given(
    names=st.lists(NAMES, min_size=1, max_size=6, unique_by=str.lower),
    version=VERSIONS,
    flags=st.lists(st.tuples(st.booleans(), st.booleans()), min_size=6, max_size=6),
)
def test_draft_round_trip(
    names: list[str], version: tuple[int, int, int], flags: list[tuple[bool, bool]]
) -> None:
    """Any node list and version: TOML that is refused until filled, then loads
    with the server's names and thumbprint, load-balancer only from 2026.4."""
    text_version = ".".join(map(str, version))
    state = ServerState(
        server_url="https://octopus.example.com",
        version=text_version,
        thumbprint="AB" * 20,
        nodes=tuple(
            ServerNode(name=n, offline=o, draining=d)
            for n, (o, d) in zip(names, flags, strict=False)
        ),
    )
    text = draft_cluster(state)
    assert [n["name"] for n in tomllib.loads(text)["nodes"]] == names
    with pytest.raises(ClusterError, match="is still the placeholder"):
        loads_cluster(text)
    for number, name in enumerate(names, 1):
        text = text.replace(f"<comms address of {name}>", f"10.0.0.{number}")
    text = text.replace("<load balancer host[:port]>", "lb.example.com")
    cluster = loads_cluster(text)
    assert [n.name for n in cluster.nodes] == names
    assert cluster.thumbprint == "AB" * 20
    lb = version[:2] >= (2026, 4)
    assert cluster.layout is (Layout.LOAD_BALANCER if lb else Layout.UNIQUE_ADDRESS)


def test_placeholders_only_where_init_writes_them() -> None:
    """Angle brackets in a role are text (control for the refusal above)."""
    text = (
        '[cluster]\nserver = "https://o.example.com"\nthumbprint = "'
        + "AB" * 20
        + '"\n'
        'layout = "unique-address"\n\n[[nodes]]\nname = "n1"\naddress = "10.0.0.1"\n\n'
        '[[tentacles]]\nos = "linux"\nenvironments = ["<env>"]\nroles = ["<web>"]\n'
    )
    assert loads_cluster(text).tentacles[0].roles == ("<web>",)
    with pytest.raises(ClusterError, match=r"^<string>:8:1: nodes\[0\]\.address is"):
        loads_cluster(text.replace('"10.0.0.1"', '"<comms address of n1>"'))
