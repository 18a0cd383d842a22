"""The fast path of plan_registration agrees with the checked builders.

`plan_registration` checks the option table once per command shape and then
only each Tentacle's values. The oracle here builds every plan the checked
way (`_register_checked`, `poll_server`, `service_restart`: each option through
`Option` and `TentacleCommand`'s table check), for generated clusters and for
Tentacles with values the builders refuse; plans, argvs, scripts and refusals
must be the same.
"""

from __future__ import annotations

from typing import Any

import attrs
import pytest
from cluster_strategies import clusters
from cluster_strategies import tentacles
from hypothesis import given
from hypothesis import strategies as st

from tentacle_ha._secret import Secret
from tentacle_ha.cluster import Cluster
from tentacle_ha.cluster import Layout
from tentacle_ha.cluster import Node
from tentacle_ha.cluster import TargetOS
from tentacle_ha.cluster import Tentacle
from tentacle_ha.cluster import TentacleKind
from tentacle_ha.commands import _command as cmds
from tentacle_ha.commands import plan
from tentacle_ha.commands.plan import SHELLS_FOR
from tentacle_ha.commands.plan import PlannedCommand
from tentacle_ha.commands.plan import TentaclePlan
from tentacle_ha.commands.plan import plan_registration
from tentacle_ha.errors import CommandError

# Values Option or the register builders refuse, or that the fast checks
# leave to the checked path (not a tuple, not a str, a participation to fold).
_BAD_TEXT = st.sampled_from(["", " ", "\t", "a\nb", "a\x00b", "\n"])
_ODD: dict[str, st.SearchStrategy[object]] = {
    "instance": _BAD_TEXT | st.sampled_from([None, 5]),
    "name": _BAD_TEXT,
    "space": _BAD_TEXT | st.just(7),
    "machine_policy": _BAD_TEXT,
    "environments": st.sampled_from([(), ("ok", ""), ["Prod"], "Prod", ("a\nb",)]),
    "roles": st.sampled_from([(), ("web", " "), ["web"], "web", (["x"],), (None,)]),
    "tenants": st.sampled_from([("",), ["t"], "t"]),
    "tenant_tags": st.sampled_from([("a\x00",), ["set/tag"]]),
    "tenanted_deployment_participation": st.sampled_from(
        ["tenanted", "UNTENANTED", "nobody", ""]
    ),
    "worker_pools": st.sampled_from([(), ("",), ["Pool"], "Pool", (3,)]),
}


@st.composite
def _twins(draw: st.DrawFn) -> list[Tentacle]:
    """A valid Tentacle, then one like it with one odd value (same shape mostly,
    so the odd one meets a warm shape cache)."""
    tentacle = draw(tentacles())
    field = draw(st.sampled_from(sorted(_ODD)))
    odd: dict[str, Any] = {field: draw(_ODD[field])}
    return [tentacle, attrs.evolve(tentacle, **odd)]


def _checked_plan(cluster: Cluster, tentacle: Tentacle) -> TentaclePlan:
    """plan_registration as built before the fast path: every option checked."""
    addresses = cluster.comms_addresses()
    view = plan._View(cluster)
    register = plan._register_checked(cluster, tentacle, addresses[0], None)
    commands = [
        PlannedCommand(
            purpose=f"register with the server, polling {view.name(addresses[0])}",
            command=register,
        )
    ]
    for address in addresses[1:]:
        poll = cmds.poll_server(
            server=cluster.server_url,
            api_key=Secret("API-PLACEHOLDER"),
            instance=tentacle.instance,
            **plan._comms_options(address),
        )
        commands.append(
            PlannedCommand(purpose=f"also poll {view.name(address)}", command=poll)
        )
    restart = cmds.service_restart(tentacle.instance)
    commands.append(
        PlannedCommand(
            purpose="restart so Tentacle starts polling every address", command=restart
        )
    )
    return TentaclePlan(
        tentacle=tentacle,
        commands=tuple(commands),
        notes=plan._os_notes(cluster, tentacle),
    )


def _outcome(build: object, cluster: Cluster, tentacle: Tentacle) -> object:
    """The plan, its argvs and scripts; or the refusal's type and message."""
    if not callable(build):
        raise TypeError(build)
    try:
        built = build(cluster, tentacle)
    except Exception as error:  # noqa: BLE001 -- any refusal must be the same one
        return type(error), str(error)
    executable = built.executable
    return (
        built,
        built.argvs(),
        [cmds.argv(p.command, executable=executable) for p in built.commands],
        [hash(p.command) for p in built.commands],
        [_refused_or(built.render, shell) for shell in SHELLS_FOR[built.tentacle.os]],
        built.to_dict(),
    )


def _refused_or(render: Any, shell: str) -> object:
    try:
        return render(shell=shell)
    except CommandError as error:  # a value this shell cannot carry
        return type(error), str(error)


@given(
    cluster=clusters(),
    groups=st.lists(_twins(), min_size=1, max_size=3),
)
def test_fast_path_agrees_with_the_checked_builders(
    cluster: Cluster, groups: list[list[Tentacle]]
) -> None:
    """Same plans, argvs, scripts, hashes and refusals, shape cache warm or cold."""
    # Each Tentacle twice: the first of a shape fills the cache, the second
    # takes the fast path; a refusal must not leave a shape behind either.
    members = [t for group in groups for t in group]
    for tentacle in [*members, *members]:
        fast = _outcome(plan_registration, cluster, tentacle)
        checked = _outcome(_checked_plan, cluster, tentacle)
        assert fast == checked


def test_the_fast_path_is_taken_and_shares_the_cluster_options() -> None:
    """Negative control: the second Tentacle of a shape skips the table check."""
    cluster = _cluster("n1", "n2")
    first, second = (
        Tentacle(name=n, os=TargetOS.LINUX, environments=("E",), roles=("r",))
        for n in ("a", "b")
    )
    calls: list[str] = []
    original = cmds.TentacleCommand.__attrs_post_init__

    def counting(self: cmds.TentacleCommand) -> None:
        calls.append(self.command)
        original(self)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(cmds.TentacleCommand, "__attrs_post_init__", counting)
        a = plan_registration(cluster, first).commands[0].command
        checked_calls = len(calls)
        b = plan_registration(cluster, second).commands[0].command
    assert checked_calls >= 1
    assert calls[checked_calls:] == []  # no table check for the second
    shared = [o for o in a.options if o.name in {"server", "apiKey", "comms-style"}]
    assert all(any(o is s for s in b.options) for o in shared)
    assert b == plan._register_checked(
        cluster, second, cluster.comms_addresses()[0], None
    )


def _cluster(*names: str) -> Cluster:
    return Cluster(
        server_url="https://octopus.example.com",
        thumbprint="8E2F430B7A91C5D26F11E83CA0579B44D12E6CF3",
        layout=Layout.UNIQUE_ADDRESS,
        nodes=tuple(Node(name=n, address=f"{n}.example.com") for n in names),
    )


def test_refusals_do_not_take_the_fast_path() -> None:
    """A bad value after a good Tentacle of the same shape is still refused."""
    cluster = _cluster("n1")
    good = Tentacle(name="a", os=TargetOS.LINUX, environments=("E",), roles=("r",))
    plan_registration(cluster, good)
    plan_registration(cluster, attrs.evolve(good, name="b"))
    for bad, message in [
        (attrs.evolve(good, name=" "), "--name has a blank value"),
        (attrs.evolve(good, roles=("a\nb",)), "--role: a value cannot hold"),
        (attrs.evolve(good, roles=()), "Please specify a role name"),
        (
            attrs.evolve(good, kind=TentacleKind.WORKER),
            "Please specify a worker pool",
        ),
    ]:
        with pytest.raises(CommandError, match=message):
            plan_registration(cluster, bad)
