"""Hypothesis strategies for cluster descriptions, shared by the cluster and
load-balancer tests."""

from __future__ import annotations

from hypothesis import strategies as st

from tentacle_ha.cluster import Cluster
from tentacle_ha.cluster import Layout
from tentacle_ha.cluster import Node
from tentacle_ha.cluster import TargetOS
from tentacle_ha.cluster import TenantedDeployment
from tentacle_ha.cluster import Tentacle
from tentacle_ha.cluster import TentacleKind
from tentacle_ha.cluster import format_host
from tentacle_ha.cluster._values import host_key

_label = st.from_regex(r"[A-Za-z]([A-Za-z0-9-]{0,8}[A-Za-z0-9])?", fullmatch=True)
host_names = st.lists(_label, min_size=1, max_size=3).map(".".join)
hosts = st.one_of(
    host_names,
    st.ip_addresses(v=4).map(str),
    st.ip_addresses(v=6).map(str),
)
ports = st.integers(1, 65535)
texts = st.text(
    st.characters(blacklist_categories=("Cc", "Cs")), min_size=1, max_size=12
).filter(lambda s: s == s.strip())
text_lists = st.lists(texts, min_size=1, max_size=3, unique_by=str.lower).map(tuple)
thumbprints = st.binary(min_size=20, max_size=20).map(lambda b: b.hex().upper())
node_names = st.from_regex(r"[A-Za-z0-9][A-Za-z0-9._-]{0,12}", fullmatch=True)


@st.composite
def urls(draw: st.DrawFn, schemes: tuple[str, ...] = ("http", "https")) -> str:
    """An absolute URL of one of *schemes*, maybe with a port and a path."""
    scheme = draw(st.sampled_from(schemes))
    port = draw(st.none() | ports)
    path = draw(st.sampled_from(["", "/", "/octopus", "/OctopusComms"]))
    netloc = format_host(draw(hosts)) + ("" if port is None else f":{port}")
    return f"{scheme}://{netloc}{path}"


@st.composite
def tentacles(draw: st.DrawFn) -> Tentacle:
    """A valid Tentacle: a target with environments and roles, or a worker."""
    kind = draw(st.sampled_from(TentacleKind))
    optional = st.none() | texts
    common = {
        "name": draw(optional),
        "instance": draw(texts),
        "os": draw(st.sampled_from(TargetOS)),
        "executable": draw(optional),
        "space": draw(optional),
        "machine_policy": draw(optional),
        "config_path": draw(optional),
    }
    if kind is TentacleKind.WORKER:
        return Tentacle(kind=kind, worker_pools=draw(text_lists), **common)
    return Tentacle(
        kind=kind,
        environments=draw(text_lists),
        roles=draw(text_lists),
        tenants=draw(st.just(()) | text_lists),
        tenant_tags=draw(st.just(()) | text_lists),
        tenanted_deployment_participation=draw(
            st.none() | st.sampled_from(TenantedDeployment)
        ),
        **common,
    )


@st.composite
def clusters(draw: st.DrawFn, layouts: tuple[Layout, ...] = tuple(Layout)) -> Cluster:
    """A valid cluster: distinct node names, endpoints and public ports."""
    layout = draw(st.sampled_from(layouts))
    raw = draw(
        st.lists(
            st.tuples(node_names, hosts, ports, st.none() | urls()),
            min_size=1,
            max_size=5,
            unique_by=(lambda n: n[0].lower(), lambda n: (host_key(n[1]), n[2])),
        )
    )
    public: list[int | None] = [None] * len(raw)
    if layout is Layout.UNIQUE_PORT:
        n = len(raw)
        public = list(draw(st.lists(ports, min_size=n, max_size=n, unique=True)))
    nodes = tuple(
        Node(name=n, address=h, comms_port=p, public_port=pp, web_url=w)
        for (n, h, p, w), pp in zip(raw, public, strict=True)
    )
    members = draw(
        st.lists(
            tentacles(),
            max_size=2,
            unique_by=(
                lambda t: t.name or object(),
                lambda t: t.config_path or object(),
            ),
        ).filter(_unique_ignoring_case)
    )
    has_lb = layout in {Layout.UNIQUE_PORT, Layout.LOAD_BALANCER}
    return Cluster(
        server_url=draw(urls()),
        thumbprint=draw(thumbprints),
        layout=layout,
        nodes=nodes,
        load_balancer_host=draw(hosts) if has_lb else None,
        load_balancer_port=draw(ports) if layout is Layout.LOAD_BALANCER else None,
        websocket_url=draw(urls(("wss",))) if layout is Layout.WEBSOCKET else None,
        tentacles=tuple(members),
    )


def _unique_ignoring_case(members: list[Tentacle]) -> bool:
    for field in ("name", "config_path"):
        values = [getattr(t, field).lower() for t in members if getattr(t, field)]
        if len(values) != len(set(values)):
            return False
    return True
