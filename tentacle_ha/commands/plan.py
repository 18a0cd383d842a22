"""Per-Tentacle command plans: what an admin runs, in order, for a cluster.

Two kinds of plan:

- `plan_registration`: a new polling Tentacle. Register once against the
  first address (``register-with`` for a deployment target,
  ``register-worker`` for a worker, ``--comms-style=TentacleActive``), then
  ``poll-server`` once per further node, then restart the service.
- `plan_migration`: an existing Tentacle, from its current
  ``TrustedOctopusServers`` to the cluster's (`tentacle_ha.cluster.layout`): new
  nodes or the load balancer first, then ``clear-trusted-servers --keep``
  for nodes that went, ``update-trust`` for a certificate rotation, then the
  restart. Steps the Tentacle CLI cannot express are listed as notes, with
  the ``tentacle-ha`` command that can.

``poll-server`` comes in two variants: with the API (``--server`` and
``--apiKey``; Tentacle reads the thumbprint from the server) and offline
(``--reuse-server-thumbprint``; Tentacle copies thumbprint and
SubscriptionId from its first trusted entry, so it is only offered when that
entry is the cluster's polling entry).

The API key is never part of a plan: commands refer to it through the
``OCTOPUS_API_KEY`` environment variable unless secrets are revealed.

.. versionadded:: 0.1.0
"""

from __future__ import annotations

import functools
import re
from typing import TYPE_CHECKING
from typing import Any
from urllib.parse import urlsplit

import attrs

from tentacle_ha._secret import Secret
from tentacle_ha.cluster import Layout
from tentacle_ha.cluster import TargetOS
from tentacle_ha.cluster import Tentacle
from tentacle_ha.cluster import TentacleKind
from tentacle_ha.cluster.layout import StepKind
from tentacle_ha.cluster.layout import desired_servers
from tentacle_ha.cluster.layout import migration_steps
from tentacle_ha.commands import _command as cmds
from tentacle_ha.config._values import is_windows_path
from tentacle_ha.errors import CommandError
from tentacle_ha.servers import TrustedServers
from tentacle_ha.servers import same_address
from tentacle_ha.servers import thumbprint_key

if TYPE_CHECKING:
    from collections.abc import Iterable

    from tentacle_ha.cluster import Cluster
    from tentacle_ha.config import TentacleConfig

__all__ = [
    "DEFAULT_SHELL",
    "SHELLS_FOR",
    "PlannedCommand",
    "TentaclePlan",
    "config_os",
    "guess_instance",
    "home_os",
    "plan_migration",
    "plan_registration",
    "restart_command",
]

DEFAULT_SHELL: dict[TargetOS, cmds.Shell] = {
    TargetOS.LINUX: "posix",
    TargetOS.WINDOWS: "powershell",
}
"""The shell a plan is rendered for when none is asked: by the Tentacle's OS."""

_INSTANCE_FILE = re.compile(r"(?i)^tentacle-(.+)\.config$")


def home_os(config: TentacleConfig | None) -> TargetOS | None:
    """The OS a config's ``Octopus.Home`` implies, or None when it says nothing.

    A drive or UNC path (``C:\\...``, ``\\\\server\\...``) is Windows, an
    absolute POSIX path is Linux.

    .. versionadded:: 0.1.0
    """
    home = None if config is None else config.home
    if not home:
        return None
    if is_windows_path(home):
        return TargetOS.WINDOWS
    return TargetOS.LINUX if home.startswith("/") else None


def config_os(config: TentacleConfig) -> TargetOS:
    """The OS a Tentacle.config is for.

    `home_os` first; else Windows for a Windows path of the file itself or
    CRLF line endings (Tentacle writes ``Environment.NewLine``); else Linux.

    .. versionadded:: 0.1.0
    """
    implied = home_os(config)
    if implied is not None:
        return implied
    path = config.path or ""
    if is_windows_path(path) or config.newline == "\r\n":
        return TargetOS.WINDOWS
    return TargetOS.LINUX


def guess_instance(path: str | None) -> str | None:
    """The instance a config file belongs to, by Tentacle's naming, or None.

    ``Tentacle.config`` is the default instance ``Tentacle``;
    ``tentacle-NAME.config`` (Linux) and ``Tentacle-NAME.config`` (Windows
    Tentacle Manager) belong to NAME. Any other name: unknown.

    .. versionadded:: 0.1.0
    """
    if not path:
        return None
    name = re.split(r"[\\/]", path)[-1]
    if name.lower() == "tentacle.config":
        return "Tentacle"
    match = _INSTANCE_FILE.match(name)
    return match[1] if match else None


def restart_command(
    config: TentacleConfig,
    *,
    instance: str | None = None,
    target_os: TargetOS | None = None,
    executable: str | None = None,
) -> str:
    """``Tentacle service --instance NAME --restart`` for *config*, rendered.

    The OS is *target_os*, else `config_os`; the instance is *instance*, else
    `guess_instance` of the config's path, else none (Tentacle's default
    instance). Rendered for POSIX sh on Linux and PowerShell on Windows with
    the default executable path (`cmds.LINUX_EXECUTABLE`,
    `cmds.WINDOWS_EXECUTABLE`) unless *executable*.

    .. versionadded:: 0.1.0
    """
    os_name = target_os or config_os(config)
    name = instance or guess_instance(config.path)
    program = executable or (
        cmds.WINDOWS_EXECUTABLE
        if os_name is TargetOS.WINDOWS
        else cmds.LINUX_EXECUTABLE
    )
    return cmds.render(
        cmds.service_restart(name), shell=DEFAULT_SHELL[os_name], executable=program
    )


SHELLS_FOR: dict[TargetOS, tuple[cmds.Shell, ...]] = {
    TargetOS.LINUX: ("posix",),
    TargetOS.WINDOWS: ("powershell", "cmd"),
}
"""The shells a Tentacle's plan can be rendered for, by its OS; the first is
the default."""

# What makes each script stop at the first failing command: a line at the
# top, and what follows each native command (on its line, or the next).
_PROLOGUE: dict[cmds.Shell, tuple[str, ...]] = {
    "posix": ("set -eu",),
    "powershell": ("$ErrorActionPreference = 'Stop'",),
    "cmd": (),
}
_PS_CHECK = "if ($LASTEXITCODE -ne 0) { exit $LASTEXITCODE }"

# Stands in for the key in commands: rendering refers to $OCTOPUS_API_KEY.
_PLACEHOLDER_KEY = Secret("API-PLACEHOLDER")


@attrs.frozen(kw_only=True)
class PlannedCommand:
    """One command of a plan, with why it is there.

    .. versionadded:: 0.1.0
    """

    purpose: str
    command: cmds.TentacleCommand
    notes: tuple[str, ...] = ()
    """Warnings about this step, shown before it."""
    # Redacted argv per executable, filled on first use: shared commands
    # (poll-server, restart) are built once per cluster and reused.
    _argvs: dict[str, tuple[str, ...]] = attrs.field(
        factory=dict, eq=False, repr=False, alias="_argvs"
    )

    def argv(self, executable: str) -> list[str]:
        """The argv list with the API key redacted (``API-***``)."""
        cached = self._argvs.get(executable)
        if cached is None:
            cached = tuple(cmds.argv(self.command, executable=executable))
            self._argvs[executable] = cached
        return list(cached)


def _executable(tentacle: Tentacle) -> str:
    if tentacle.executable:
        return tentacle.executable
    if tentacle.os is TargetOS.WINDOWS:
        return cmds.WINDOWS_EXECUTABLE
    return cmds.LINUX_EXECUTABLE


@attrs.frozen(kw_only=True)
class TentaclePlan:
    """The commands (and notes) for one Tentacle, in the order to run them.

    No public constructor: made by `plan_registration` and `plan_migration`.

    .. versionadded:: 0.1.0
    """

    tentacle: Tentacle
    commands: tuple[PlannedCommand, ...]
    notes: tuple[str, ...] = ()
    api_key: Secret | None = attrs.field(default=None, repr=False)

    @property
    def executable(self) -> str:
        """The Tentacle executable: the override, else the OS default."""
        return _executable(self.tentacle)

    def _with_key(self, command: cmds.TentacleCommand) -> cmds.TentacleCommand:
        if self.api_key is None:
            return command
        options = [
            cmds.Option(o.name, self.api_key) if o.name == "apiKey" else o
            for o in command.options
        ]
        return cmds.TentacleCommand(command.command, options)

    def render(
        self, *, shell: cmds.Shell | None = None, reveal_secrets: bool = False
    ) -> str:
        """The plan as a script for *shell* (by default the Tentacle's OS shell).

        Lines starting with ``#`` (``REM`` for cmd) say what each command is
        for; a note about a step comes right before it, general notes before
        the first command. The script stops at the first failing command:
        ``set -eu`` (POSIX), ``$ErrorActionPreference = 'Stop'`` and a
        ``$LASTEXITCODE`` check after each command (PowerShell), ``|| exit /b
        1`` (cmd).

        Raises:
            CommandError: *shell* is not one of the Tentacle's OS
                (`SHELLS_FOR`), or a value cannot be carried by it.
        """
        chosen = shell or DEFAULT_SHELL[self.tentacle.os]
        who = self.tentacle.name or "this machine"
        allowed = SHELLS_FOR[self.tentacle.os]
        if chosen not in allowed:
            msg = (
                f"{who} runs on {self.tentacle.os}: its commands render for "
                f"{' or '.join(allowed)}, not {chosen}"
            )
            raise CommandError(msg)
        comment = "REM" if chosen == "cmd" else "#"
        header = (
            f"{comment} {who}: {self.tentacle.kind} on {self.tentacle.os}, "
            f"instance {self.tentacle.instance}"
        )
        lines = [header, *_PROLOGUE[chosen]]
        attached = {n for p in self.commands for n in p.notes}
        lines.extend(
            f"{comment} NOTE: {note}" for note in self.notes if note not in attached
        )
        for planned in self.commands:
            command = (
                self._with_key(planned.command) if reveal_secrets else planned.command
            )
            lines.extend(f"{comment} NOTE: {note}" for note in planned.notes)
            lines.append(f"{comment} {planned.purpose}")
            line = cmds.render(
                command,
                shell=chosen,
                executable=self.executable,
                reveal_secrets=reveal_secrets,
            )
            if chosen == "cmd":
                line += " || exit /b 1"
            lines.append(line)
            if chosen == "powershell":
                lines.append(_PS_CHECK)
        return "\n".join(lines) + "\n"

    def argvs(self, *, reveal_secrets: bool = False) -> list[list[str]]:
        """Each command as an argv list (the API key as ``API-***`` unless revealed)."""
        executable = self.executable
        if not reveal_secrets:
            # PlannedCommand.argv, inlined: most are cached already.
            return [
                list(p._argvs.get(executable) or p.argv(executable))  # noqa: SLF001 -- same module
                for p in self.commands
            ]
        return [
            cmds.argv(
                self._with_key(p.command), executable=executable, reveal_secrets=True
            )
            for p in self.commands
        ]

    def to_dict(self, *, reveal_secrets: bool = False) -> dict[str, Any]:
        """A JSON-ready description (for ``--json``)."""
        return {
            "tentacle": self.tentacle.name,
            "instance": self.tentacle.instance,
            "os": str(self.tentacle.os),
            "kind": str(self.tentacle.kind),
            "commands": [
                {"purpose": p.purpose, "argv": argv, "notes": list(p.notes)}
                for p, argv in zip(
                    self.commands,
                    self.argvs(reveal_secrets=reveal_secrets),
                    strict=True,
                )
            ],
            "notes": list(self.notes),
        }


def _comms_options(address: str) -> dict[str, Any]:
    """``--server-comms-address``/``--server-comms-port`` or ``--server-web-socket``."""
    parts = urlsplit(address)
    if parts.scheme in {"wss", "ws"}:
        return {"web_socket": address}
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    return {"comms_address": f"https://{host}", "comms_port": parts.port}


@functools.lru_cache(maxsize=1024)
def _poll_server(
    server: str, address: str, instance: str, purpose: str, *, offline: bool
) -> PlannedCommand:
    # Identical for every Tentacle with this instance name: built once.
    if offline:
        command = cmds.poll_server(
            reuse_server_thumbprint=True, instance=instance, **_comms_options(address)
        )
    else:
        command = cmds.poll_server(
            server=server,
            api_key=_PLACEHOLDER_KEY,
            instance=instance,
            **_comms_options(address),
        )
    return PlannedCommand(purpose=purpose, command=command)


@functools.lru_cache(maxsize=1024)
def _restart(instance: str, purpose: str) -> PlannedCommand:
    return PlannedCommand(purpose=purpose, command=cmds.service_restart(instance))


_RESTART_NEW = "restart so Tentacle starts polling every address"
_RESTART_CHANGED = "restart so Tentacle picks up the new list"


class _View:
    """What a plan needs of a cluster, worked out once per cluster object.

    Also the fast path of `plan_registration`: the register command's option
    table is checked once per shape (address, kind, which optional values are
    given), by building the first command of that shape the ordinary, checked
    way; after that only each Tentacle's own values are checked (`_values`).
    The cluster-wide options (server, key placeholder, comms address) are
    shared, and so are the poll-server and restart steps per instance.
    """

    __slots__ = ("addresses", "cluster", "names", "shapes", "tails")

    def __init__(self, cluster: Cluster) -> None:
        self.cluster = cluster
        self.addresses = cluster.comms_addresses()
        if cluster.layout is Layout.LOAD_BALANCER:
            self.names = dict.fromkeys(self.addresses, "the load balancer")
        elif cluster.layout is Layout.WEBSOCKET:
            self.names = dict.fromkeys(self.addresses, "the WebSocket endpoint")
        else:
            self.names = dict(
                zip(self.addresses, (n.name for n in cluster.nodes), strict=True)
            )
        self.shapes: dict[
            tuple[object, ...], tuple[str, tuple[cmds.Option, ...], tuple[str, ...]]
        ] = {}
        self.tails: dict[tuple[str, bool], tuple[PlannedCommand, ...]] = {}

    def name(self, address: str) -> str:
        found = self.names.get(address)
        if found is not None:
            return found
        return next(
            (n for a, n in self.names.items() if same_address(a, address)), address
        )

    def tail(self, instance: str, *, offline: bool) -> tuple[PlannedCommand, ...]:
        """poll-server for each further address, then the restart."""
        found = self.tails.get((instance, offline))
        if found is None:
            found = (
                *(
                    _poll_server(
                        self.cluster.server_url,
                        address,
                        instance,
                        f"also poll {self.name(address)}",
                        offline=offline,
                    )
                    for address in self.addresses[1:]
                ),
                _restart(instance, _RESTART_NEW),
            )
            self.tails[instance, offline] = found
        return found

    def register(
        self, tentacle: Tentacle, address: str, purpose: str
    ) -> PlannedCommand:
        """The register step without a key: the table checked once per shape."""
        own = _own_options(tentacle)
        if own is None:
            # Something the fast checks do not pass: the checked path
            # builds it or refuses it, exactly as it always did.
            command = _register_checked(self.cluster, tentacle, address, None)
            return PlannedCommand(purpose=purpose, command=command)
        shape, options, words = own
        shape = (address, *shape)
        found = self.shapes.get(shape)
        if found is None:
            command = _register_checked(self.cluster, tentacle, address, None)
            shared = tuple(o for o in command.options if o.name in _SHARED)
            shared_command = cmds._checked_command(command.command, shared)  # noqa: SLF001 -- the wing's own fast path
            shared_words = tuple(cmds.argv(shared_command, executable="")[2:])
            self.shapes[shape] = (command.command, shared, shared_words)
            return PlannedCommand(purpose=purpose, command=command)
        name, shared, shared_words = found
        command = cmds._checked_command(  # noqa: SLF001 -- as above
            name, (options[0], *shared, *options[1:])
        )
        executable = _executable(tentacle)
        argv = (executable, name, words[0], *shared_words, *words[1:])
        return PlannedCommand(
            purpose=purpose, command=command, _argvs={executable: argv}
        )


# The register options every Tentacle of one shape shares.
_SHARED = frozenset(
    {
        "server",
        "apiKey",
        "comms-style",
        "server-comms-address",
        "server-comms-port",
        "server-web-socket",
    }
)
_OwnOptions = tuple[tuple[object, ...], tuple[cmds.Option, ...], tuple[str, ...]]


def _own_options(tentacle: Tentacle) -> _OwnOptions | None:
    """A Tentacle's shape, and the options and argv words of its own values
    (``--instance``, then those after the shared options), if every value
    passes the checks the checked path makes; else None.

    The shape is the kind and which optional options are given: list options
    repeat, so their count does not change the table check. None sends the
    Tentacle down the checked path, which refuses a bad value with its usual
    error (or builds what the fast checks leave to it).
    """
    space, name, policy = tentacle.space, tentacle.name, tentacle.machine_policy
    names = ["instance"]
    values = [tentacle.instance]
    if space is not None:
        names.append("space")
        values.append(space)
    if name is not None:
        names.append("name")
        values.append(name)
    if policy is not None:
        names.append("policy")
        values.append(policy)
    worker = tentacle.kind is TentacleKind.WORKER
    if worker:
        pools = tentacle.worker_pools
        if type(pools) is not tuple or not pools:
            return None
        names += ["workerpool"] * len(pools)
        values += pools
        given: tuple[bool, ...] = ()
    else:
        bits = _target_options(tentacle, names, values)
        if bits is None:
            return None
        given = bits
    try:
        # One check per distinct value (cached), in C: map, zip.
        pairs = list(map(cmds._text_option, names, values))  # noqa: SLF001 -- the wing's own fast path
    except TypeError:  # an unhashable value: not a str
        return None
    if None in pairs:
        return None
    options, words = zip(*pairs, strict=True)
    return (worker, space is None, name is None, policy is None, *given), options, words


def _target_options(
    tentacle: Tentacle, names: list[str], values: list[str]
) -> tuple[bool, ...] | None:
    """Add a target's list options and participation; which optional ones are
    given, or None if a list is not a tuple or a required one is empty."""
    environments, roles = tentacle.environments, tentacle.roles
    tenants, tags = tentacle.tenants, tentacle.tenant_tags
    if not (
        type(environments) is tuple
        and type(roles) is tuple
        and type(tenants) is tuple
        and type(tags) is tuple
        and environments
        and roles
    ):
        return None
    names += ["environment"] * len(environments)
    values += environments
    names += ["role"] * len(roles)
    values += roles
    names += ["tenant"] * len(tenants)
    values += tenants
    names += ["tenanttag"] * len(tags)
    values += tags
    participation = tentacle.tenanted_deployment_participation
    if participation is None:
        return bool(tenants), bool(tags), False
    mode = str(participation)
    if mode not in cmds._PARTICIPATION:  # noqa: SLF001 -- the wing's own table
        return None
    names.append("tenanted-deployment-participation")
    values.append(mode)
    return bool(tenants), bool(tags), True


# One slot, keyed by identity: planning 1,000 Tentacles of one cluster works
# the cluster out once. Holding the cluster keeps its id from being reused.
_last_view: list[_View] = []


def _view(cluster: Cluster) -> _View:
    if _last_view and _last_view[0].cluster is cluster:
        return _last_view[0]
    view = _View(cluster)
    _last_view[:] = [view]
    return view


def _node_name(cluster: Cluster, address: str) -> str:
    return _view(cluster).name(address)


def _register_checked(
    cluster: Cluster, tentacle: Tentacle, address: str, key: Secret | None
) -> cmds.TentacleCommand:
    """The register command built through the checked builders, every option checked."""
    common: dict[str, Any] = {
        "server": cluster.server_url,
        "api_key": key or _PLACEHOLDER_KEY,
        "instance": tentacle.instance,
        "name": tentacle.name,
        "space": tentacle.space,
        "policy": tentacle.machine_policy,
        **_comms_options(address),
    }
    common = {k: v for k, v in common.items() if v is not None}
    if tentacle.kind is TentacleKind.WORKER:
        return cmds.register_worker(worker_pools=tentacle.worker_pools, **common)
    participation = tentacle.tenanted_deployment_participation
    return cmds.register_with(
        environments=tentacle.environments,
        roles=tentacle.roles,
        tenants=tentacle.tenants,
        tenant_tags=tentacle.tenant_tags,
        tenanted_deployment_participation=str(participation) if participation else None,
        **common,
    )


def plan_registration(
    cluster: Cluster,
    tentacle: Tentacle,
    *,
    api_key: Secret | None = None,
    offline: bool = False,
) -> TentaclePlan:
    """Commands that take a new polling Tentacle onto every node of *cluster*.

    Args:
        cluster: the cluster description.
        tentacle: the Tentacle (one of ``cluster.tentacles``, or built by hand).
        api_key: the key to put in commands when secrets are revealed.
        offline: use ``poll-server --reuse-server-thumbprint`` for the further
            nodes (no API call; the thumbprint and SubscriptionId are copied
            from the entry ``register-*`` just wrote).

    .. versionadded:: 0.1.0
    """
    view = _view(cluster)
    first = view.addresses[0]
    purpose = f"register with the server, polling {view.name(first)}"
    if api_key is None:
        register = view.register(tentacle, first, purpose)
    else:
        command = _register_checked(cluster, tentacle, first, api_key)
        register = PlannedCommand(purpose=purpose, command=command)
    planned = (register, *view.tail(tentacle.instance, offline=offline))
    return TentaclePlan(
        tentacle=tentacle,
        commands=planned,
        notes=_os_notes(cluster, tentacle),
        api_key=api_key,
    )


def _os_notes(cluster: Cluster, tentacle: Tentacle) -> tuple[str, ...]:
    if cluster.layout is Layout.WEBSOCKET and tentacle.os is not TargetOS.WINDOWS:
        note = (
            "Tentacle polls over WebSockets only on Windows (Server 2012 and "
            f"later); this Tentacle runs on {tentacle.os}"
        )
        return (note,)
    return ()


def _offline_ok(current: TrustedServers, thumbprint: str) -> bool:
    """Whether ``--reuse-server-thumbprint`` would copy the cluster's entry."""
    return bool(
        len(current)
        and current[0].is_polling
        and current[0].thumbprint.upper() == thumbprint
        and current[0].subscription_id
    )


def _fix_case(
    current: TrustedServers, thumbprint: str, instance: str
) -> tuple[list[PlannedCommand], TrustedServers]:
    """The update-trust that upper-cases the trusted thumbprint, and the result.

    poll-server finds the existing entry by exact (case-sensitive) thumbprint,
    so the case is fixed first: update-trust matches ignoring case. The rest
    of the plan starts from the fixed list.
    """
    lower = _case_fix(current, thumbprint)
    if lower is None:
        return [], current
    fix = PlannedCommand(
        purpose=f"upper-case the trusted thumbprint {lower}",
        command=cmds.update_trust(lower, thumbprint, instance=instance),
    )
    fixed = TrustedServers(
        attrs.evolve(s, thumbprint=thumbprint)
        if thumbprint_key(s.thumbprint) == thumbprint
        else s
        for s in current
    )
    return [fix], fixed


def _case_fix(current: TrustedServers, thumbprint: str) -> str | None:
    """A trusted spelling of *thumbprint* that is not upper case, if any."""
    return next(
        (
            s.thumbprint
            for s in current
            if s.thumbprint != thumbprint and thumbprint_key(s.thumbprint) == thumbprint
        ),
        None,
    )


def plan_migration(  # noqa: C901, PLR0912 -- one branch per step kind
    cluster: Cluster,
    tentacle: Tentacle,
    current: TrustedServers,
    *,
    retire: Iterable[str] = (),
    api_key: Secret | None = None,
    offline: bool = False,
) -> TentaclePlan:
    """Commands that take an existing Tentacle from *current* to the cluster's list.

    Empty (no commands) when the Tentacle is already converged. See
    `tentacle_ha.cluster.layout.migration_steps` for the order.

    .. versionadded:: 0.1.0
    """
    retire = tuple(retire)
    thumb = cluster.thumbprint
    planned, current = _fix_case(current, thumb, tentacle.instance)
    steps = migration_steps(cluster, current, retire=retire)
    if not steps and not planned:
        return TentaclePlan(tentacle=tentacle, commands=(), api_key=api_key)
    goal = desired_servers(cluster, current, retire=retire)
    notes: list[str] = []
    has_cluster_entry = bool(current.subscription_id_for(thumb))
    old_thumbs = sorted(
        {
            s.thumbprint.upper()
            for s in current.polling()
            if s.thumbprint.upper() != thumb
            and any(same_address(s.address, a) for a in cluster.comms_addresses())
        }
    )
    use_offline = offline and _offline_ok(current, thumb)
    offline_note = None
    if offline and not use_offline:
        offline_note = (
            "poll-server --reuse-server-thumbprint copies the FIRST trusted entry, "
            "which is not this cluster's polling entry here: using the API variant"
        )
        notes.append(offline_note)
    rotation = not has_cluster_entry and old_thumbs
    registers = not has_cluster_entry and not rotation
    for old in old_thumbs if rotation else ():
        note = (
            "update-trust switches certificates at once; to trust both during the "
            "rotation, use: tentacle-ha servers sync CONFIG --cluster FILE "
            f"(then --retire-thumbprint {old})"
        )
        planned.append(
            PlannedCommand(
                purpose=f"move polling from certificate {old} to {thumb}",
                command=cmds.update_trust(old, thumb, instance=tentacle.instance),
                notes=(note,),
            )
        )
        notes.append(note)
    removes = [s for s in steps if s.kind is StepKind.REMOVE]
    for step in steps:
        if step.kind is StepKind.ADD and step.address is not None:
            if rotation and any(
                same_address(s.address, step.address) for s in current.polling()
            ):
                continue  # update-trust moved this address already
            if registers and not has_cluster_entry:
                planned.append(
                    PlannedCommand(
                        purpose=(
                            "register with the server, polling "
                            f"{_node_name(cluster, step.address)}"
                        ),
                        command=_register_checked(
                            cluster, tentacle, step.address, api_key
                        ),
                    )
                )
                has_cluster_entry = True
                continue
            poll = _poll_server(
                cluster.server_url,
                step.address,
                tentacle.instance,
                f"also poll {_node_name(cluster, step.address)}",
                offline=use_offline,
            )
            if offline_note is not None:
                poll = attrs.evolve(poll, notes=(offline_note,))
                offline_note = None  # said once, before the first poll-server
            planned.append(poll)
        elif step.kind is StepKind.RETIRE and not rotation:
            notes.append(
                f"no Tentacle command drops only certificate {step.thumbprint}'s "
                "polling entries; use: tentacle-ha servers sync CONFIG --cluster "
                f"FILE --retire-thumbprint {step.thumbprint}"
            )
        elif step.kind is StepKind.NORMALISE:
            notes.append(
                "this cluster's entries carry more than one SubscriptionId, which "
                "no Tentacle command unifies; use: tentacle-ha servers sync "
                "CONFIG --cluster FILE"
            )
    if removes:
        keep = [s.address for s in goal.polling() if s.address]
        clear_notes: tuple[str, ...] = ()
        if any(s.address is None for s in current):
            listening = (
                "clear-trusted-servers fails on a listening (address-less) trust "
                "entry in current Tentacle versions; use: tentacle-ha servers sync "
                "CONFIG --cluster FILE"
            )
            clear_notes = (listening,)
            notes.extend(clear_notes)
        planned.append(
            PlannedCommand(
                purpose="stop polling " + ", ".join(str(s.address) for s in removes),
                command=cmds.clear_trusted_servers(
                    keep=keep, instance=tentacle.instance
                ),
                notes=clear_notes,
            )
        )
    if planned:
        planned.append(_restart(tentacle.instance, _RESTART_CHANGED))
    return TentaclePlan(
        tentacle=tentacle,
        commands=tuple(planned),
        notes=(*notes, *_os_notes(cluster, tentacle)),
        api_key=api_key,
    )
