"""layout.py: converging a Tentacle's list on a cluster, and the migration steps."""

from __future__ import annotations

from pathlib import Path

import attrs
import pytest
from hypothesis import example
from hypothesis import given
from hypothesis import strategies as st

from tentacle_ha.cluster import Cluster
from tentacle_ha.cluster import Layout
from tentacle_ha.cluster import Node
from tentacle_ha.cluster import load_cluster
from tentacle_ha.cluster.layout import StepKind
from tentacle_ha.cluster.layout import desired_servers
from tentacle_ha.cluster.layout import migration_steps
from tentacle_ha.servers import CommunicationStyle
from tentacle_ha.servers import TrustedServer
from tentacle_ha.servers import TrustedServers
from tentacle_ha.servers import same_address

EXAMPLES = Path(__file__).parent.parent.parent / "examples"
T = "9E4A07A1F5B2C8D3E6F7A8B9C0D1E2F3A4B5C6D7"
OTHER = "1111111111111111111111111111111111111111"
SUB = "poll://bcdefghjkmnpqrstuvwx/"


def _cluster(layout: Layout, count: int, thumb: str = T) -> Cluster:
    nodes = tuple(
        Node(
            name=f"node{i}",
            address=f"node{i}.example.com",
            public_port=10943 + i if layout is Layout.UNIQUE_PORT else None,
        )
        for i in range(count)
    )
    return Cluster(
        server_url="https://octopus.example.com",
        thumbprint=thumb,
        layout=layout,
        nodes=nodes,
        load_balancer_host=(
            "lb.example.com"
            if layout in {Layout.UNIQUE_PORT, Layout.LOAD_BALANCER}
            else None
        ),
        load_balancer_port=10943 if layout is Layout.LOAD_BALANCER else None,
        websocket_url=(
            "wss://octopus.example.com/OctopusComms"
            if layout is Layout.WEBSOCKET
            else None
        ),
    )


ADDRESSES = st.sampled_from(
    [
        "https://node0.example.com:10943",
        "https://NODE1.example.com:10943/",
        "https://node7.example.com:10943",
        "https://lb.example.com:10943",
        "https://lb.example.com:10944",
        "wss://octopus.example.com/OctopusComms",
    ]
)
ENTRIES = st.one_of(
    st.builds(
        lambda thumb, address, sub: TrustedServer(
            thumbprint=thumb,
            communication_style=CommunicationStyle.TENTACLE_ACTIVE,
            address=address,
            subscription_id=sub,
        ),
        st.sampled_from([T, T.lower(), OTHER]),
        ADDRESSES,
        st.sampled_from([SUB, "poll://zzzzzzzzzzzzzzzzzzzz/", None]),
    ),
    st.builds(
        lambda thumb: TrustedServer(
            thumbprint=thumb, communication_style=CommunicationStyle.TENTACLE_PASSIVE
        ),
        st.sampled_from([T, OTHER]),
    ),
)
LISTS = st.lists(ENTRIES, max_size=8).map(TrustedServers)
CLUSTERS = st.builds(
    _cluster, st.sampled_from(list(Layout)), st.integers(min_value=1, max_value=4)
)


@given(cluster=CLUSTERS, current=LISTS)
def test_desired_has_each_address_once_with_one_subscription(
    cluster: Cluster, current: TrustedServers
) -> None:
    """Exactly one polling entry per cluster address, all with one SubscriptionId."""
    out = desired_servers(cluster, current)
    mine = [s for s in out if s.is_polling and s.thumbprint == cluster.thumbprint]
    addresses = cluster.comms_addresses()
    assert len(mine) == len(addresses)
    for address in addresses:
        assert sum(same_address(s.address, address) for s in mine) == 1
    assert len({s.subscription_id for s in mine}) == 1
    assert all(s.thumbprint.isupper() or s.thumbprint.isdigit() for s in mine)


@given(cluster=CLUSTERS, current=LISTS)
def test_desired_is_idempotent(cluster: Cluster, current: TrustedServers) -> None:
    """Converging twice is converging once."""
    once = desired_servers(cluster, current)
    assert desired_servers(cluster, once) == once


@given(cluster=CLUSTERS, current=LISTS, data=st.data())
def test_desired_does_not_depend_on_input_order(
    cluster: Cluster, current: TrustedServers, data: st.DataObject
) -> None:
    """Shuffling the input gives the same entries (positions aside)."""
    shuffled = TrustedServers(data.draw(st.permutations(list(current))))
    a = desired_servers(cluster, current, subscription_id=SUB)
    b = desired_servers(cluster, shuffled, subscription_id=SUB)
    mine_a = {
        (s.address, s.communication_style)
        for s in a
        if s.thumbprint == cluster.thumbprint and s.is_polling
    }
    mine_b = {
        (s.address, s.communication_style)
        for s in b
        if s.thumbprint == cluster.thumbprint and s.is_polling
    }
    assert mine_a == mine_b
    others_a = sorted(repr(s) for s in a if s.thumbprint.upper() != cluster.thumbprint)
    others_b = sorted(repr(s) for s in b if s.thumbprint.upper() != cluster.thumbprint)
    assert others_a == others_b


@given(cluster=CLUSTERS, current=LISTS)
def test_other_entries_untouched_in_place(
    cluster: Cluster, current: TrustedServers
) -> None:
    """Other thumbprints' entries and listening entries stay, in their order."""
    out = desired_servers(cluster, current)

    def others(servers: TrustedServers) -> list[TrustedServer]:
        return [
            s
            for s in servers
            if s.thumbprint.upper() != cluster.thumbprint or not s.is_polling
        ]

    assert others(out) == others(current)


@given(cluster=CLUSTERS, current=LISTS)
@example(  # the NORMALISE step once re-chose the ID from another certificate
    cluster=_cluster(Layout.WEBSOCKET, 1),
    current=TrustedServers(
        [
            TrustedServer(
                thumbprint=T,
                communication_style=2,
                address="https://node0.example.com:10943",
                subscription_id=SUB,
            ),
            TrustedServer(
                thumbprint=T,
                communication_style=2,
                address="wss://octopus.example.com/OctopusComms",
            ),
            TrustedServer(
                thumbprint=OTHER,
                communication_style=2,
                address="wss://octopus.example.com/OctopusComms",
                subscription_id="poll://zzzzzzzzzzzzzzzzzzzz/",
            ),
        ]
    ),
)
def test_steps_reach_the_desired_list(
    cluster: Cluster, current: TrustedServers
) -> None:
    """Applying every migration step in order gives exactly the desired list."""
    steps = migration_steps(cluster, current, subscription_id=SUB)
    state = current
    for step in steps:
        state = step.apply(state, cluster)
    assert state == desired_servers(cluster, current, subscription_id=SUB)
    kinds = [s.kind for s in steps]
    if StepKind.ADD in kinds and StepKind.REMOVE in kinds:
        assert max(i for i, k in enumerate(kinds) if k is StepKind.ADD) < min(
            i for i, k in enumerate(kinds) if k is StepKind.REMOVE
        )
    assert migration_steps(cluster, state, subscription_id=SUB) == ()


@given(cluster=CLUSTERS, current=LISTS)
def test_never_polls_nothing_midway(cluster: Cluster, current: TrustedServers) -> None:
    """After every step the Tentacle polls at least one cluster address (if it did)."""
    steps = migration_steps(cluster, current, subscription_id=SUB)
    state = current
    for step in steps:
        state = step.apply(state, cluster)
        if step.kind is StepKind.ADD:
            continue
        assert any(s.thumbprint.upper() == cluster.thumbprint for s in state.polling())


def test_subscription_kept_and_new_only_when_none() -> None:
    """The existing SubscriptionId is reused; a new one only for a fresh Tentacle."""
    cluster = _cluster(Layout.UNIQUE_ADDRESS, 3)
    current = TrustedServers().add_polling(
        T, "https://node0.example.com:10943", subscription_id=SUB
    )
    out = desired_servers(cluster, current)
    assert {s.subscription_id for s in out} == {SUB}
    fresh = desired_servers(cluster, TrustedServers())
    assert len({s.subscription_id for s in fresh}) == 1
    assert fresh[0].subscription_id != SUB


def test_rotation_stages_then_retires() -> None:
    """A new thumbprint is trusted beside the old, which goes only when retired."""
    old = desired_servers(_cluster(Layout.UNIQUE_ADDRESS, 2), TrustedServers())
    rotated = _cluster(Layout.UNIQUE_ADDRESS, 2, thumb=OTHER)
    staged = desired_servers(rotated, old)
    assert [s.thumbprint for s in staged] == [T, T, OTHER, OTHER]
    assert len({s.subscription_id for s in staged}) == 1  # same registration
    done = desired_servers(rotated, staged, retire=[T.lower()])
    assert [s.thumbprint for s in done] == [OTHER, OTHER]
    steps = migration_steps(rotated, staged, retire=[T])
    assert [s.kind for s in steps] == [StepKind.RETIRE]


def test_per_node_to_load_balancer_and_back() -> None:
    """Moving to one LB address adds it first, then removes the per-node entries."""
    per_node = desired_servers(_cluster(Layout.UNIQUE_ADDRESS, 3), TrustedServers())
    lb = _cluster(Layout.LOAD_BALANCER, 3)
    steps = migration_steps(lb, per_node)
    assert [s.kind for s in steps] == [StepKind.ADD] + [StepKind.REMOVE] * 3
    after = desired_servers(lb, per_node)
    assert [s.address for s in after] == ["https://lb.example.com:10943"]
    back = desired_servers(_cluster(Layout.UNIQUE_ADDRESS, 3), after)
    assert {s.subscription_id for s in back} == {per_node[0].subscription_id}
    assert len(back) == 3


def test_examples_converge() -> None:
    """Every example cluster converges a real config, idempotently."""
    from tentacle_ha import config  # noqa: PLC0415 -- keep the import next to its use

    doc = config.load(
        Path(__file__).parent.parent / "corpus" / "valid" / "linux-ha-3node.config"
    )
    for path in sorted(EXAMPLES.glob("cluster-*.toml")):
        cluster = load_cluster(path)
        out = desired_servers(cluster, doc.trusted_servers)
        doc2 = config.loads(doc.dumps())
        doc2.trusted_servers = out
        assert desired_servers(cluster, doc2.trusted_servers) == out


@pytest.mark.parametrize("layout", list(Layout))
def test_lowercase_and_duplicates_are_normalised(layout: Layout) -> None:
    """Lower-case thumbprints and duplicate entries are fixed by converging."""
    cluster = _cluster(layout, 2)
    first = cluster.comms_addresses()[0]
    bad = TrustedServer(
        thumbprint=T.lower(),
        communication_style=2,
        address=first,
        subscription_id=SUB,
    )
    out = desired_servers(cluster, TrustedServers([bad, bad]))
    assert out[0] == attrs.evolve(bad, thumbprint=T)
    assert sum(same_address(s.address, first) for s in out) == 1
    steps = migration_steps(cluster, TrustedServers([bad, bad]))
    assert steps[-1].kind is StepKind.NORMALISE
