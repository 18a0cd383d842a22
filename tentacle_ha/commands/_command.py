"""Tentacle command lines: one option table, builders with Tentacle's rules, rendering.

A `TentacleCommand` is a Tentacle command name and its options, each checked
against `TENTACLE_OPTIONS`. The builders (`register_with`, `poll_server`, ...)
apply the rules Tentacle enforces before they build one. Turning a command into
text is a separate step: `argv` gives a list for a process, `render` gives one
line for POSIX sh, PowerShell or cmd.exe.

Options are always written as ``--name=value`` (Tentacle accepts ``=``), so a
value that starts with ``-`` or ``/`` is never taken for an option. Secrets
(`Secret` values of ``--apiKey`` and friends) render as a reference to an
environment variable unless revealed on purpose.

This module knows nothing of clusters: it takes plain parameters. Address
derivation (`derive_comms_address`) and the URL rules behind it live in the
private ``_address`` module.

.. versionadded:: 0.1.0
"""

from __future__ import annotations

import enum
import functools
import re
import shlex
from types import MappingProxyType
from typing import TYPE_CHECKING
from typing import Final
from typing import Literal
from typing import TypedDict
from typing import Unpack

import attrs

from tentacle_ha._secret import REDACTED
from tentacle_ha._secret import Secret
from tentacle_ha.commands import _winargs
from tentacle_ha.commands._address import DEFAULT_COMMS_PORT
from tentacle_ha.commands._address import DEFAULT_PORTS
from tentacle_ha.commands._address import KEEP_PORTS
from tentacle_ha.commands._address import check_port
from tentacle_ha.commands._address import derive_comms_address
from tentacle_ha.commands._address import parse_url
from tentacle_ha.commands._address import web_socket_address
from tentacle_ha.errors import CommandError

if TYPE_CHECKING:
    from collections.abc import Iterable
    from collections.abc import Mapping
    from collections.abc import Sequence

__all__ = [
    "DEFAULT_COMMS_PORT",
    "LINUX_EXECUTABLE",
    "SECRET_ENVIRONMENT",
    "SHELLS",
    "TENTACLE_OPTIONS",
    "WINDOWS_EXECUTABLE",
    "InstanceArgs",
    "Option",
    "OptionKind",
    "PollingArgs",
    "RegisterArgs",
    "Shell",
    "TentacleCommand",
    "argv",
    "clear_trusted_servers",
    "configure_trust",
    "derive_comms_address",
    "poll_server",
    "register_with",
    "register_worker",
    "render",
    "server_comms",
    "service_restart",
    "set_polling_connection_count",
    "update_trust",
]

LINUX_EXECUTABLE: Final = "/opt/octopus/tentacle/Tentacle"
"""Where the Linux packages install Tentacle."""

WINDOWS_EXECUTABLE: Final = "C:\\Program Files\\Octopus Deploy\\Tentacle\\Tentacle.exe"
"""Where the Windows installer puts Tentacle."""


Shell = Literal["posix", "powershell", "cmd"]
"""The shells `render` writes for."""

SHELLS: Final[tuple[Shell, ...]] = ("posix", "powershell", "cmd")
"""Every `Shell`, e.g. for a command-line ``choices=``."""


def __dir__() -> list[str]:
    return __all__


class OptionKind(enum.Enum):
    """How a Tentacle option takes its value.

    .. versionadded:: 0.1.0
    """

    FLAG = "flag"  # no value: --force
    VALUE = "value"  # one value; Tentacle keeps the last if repeated: we refuse that
    LIST = "list"  # repeatable; every occurrence adds one value


# The option table. Source: OctopusDeploy/OctopusTentacle at commit
# a321dc6c7569bdcdc34db3035250da8c90f22740, source/Octopus.Tentacle/Commands/*.cs
# (RegisterMachineCommandBase, RegisterMachineCommand, RegisterWorkerCommandBase,
# PollCommand, ServerCommsCommand, ClearTrustedServersCommand, UpdateTrustCommand,
# ConfigureCommand, SetPollingConnectionCountCommand, OptionSets/ApiEndpointOptions),
# Startup/AbstractStandardCommand.cs (--instance/--config on every instance command)
# and Startup/ServiceCommand.cs, as summarised in tentacle-facts.md section 4.
# Written like Tentacle's prototypes: `name=` takes a value, `name=*` is repeatable
# (a list), a bare name is a flag; aliases (single letters too) are listed apart.
# Left out on purpose: --ignoreSslErrors (compiled in only with
# HTTP_CLIENT_SUPPORTS_SSL_OPTIONS) and the hidden --help, --nologo and
# --noconsolelogging. `service` derives from AbstractCommand, not
# AbstractStandardCommand: it declares --instance itself and has no --config.
_INSTANCE = "instance= config="
_API = "server= apiKey= bearerToken= u= username= user= p= password="
_COMMS = "server-comms-address= server-comms-port= server-web-socket="
_REGISTER = f"""{_INSTANCE} {_API} {_COMMS} name= policy= h= publicHostName= f force
    comms-style= proxy= space= server-subscription-id= tentacle-comms-port="""
_PROTOTYPES = {
    "register-with": f"""{_REGISTER} env=* environment=* r=* role=* tenant=*
        tenanttag=* tenanted-deployment-participation=""",
    "register-worker": f"{_REGISTER} workerpool=*",
    "poll-server": f"{_INSTANCE} {_API} {_COMMS} reuse-server-thumbprint",
    "server-comms": f"{_INSTANCE} thumbprint= style= host= port= web-socket=",
    "clear-trusted-servers": f"{_INSTANCE} keep=",
    "update-trust": f"{_INSTANCE} oldThumbprint= newThumbprint=",
    "configure": f"""{_INSTANCE} home= homedir= app= appdir= port= noListen=
        listenIpAddress= pollingConnectionCount= trust=* remove-trust=* reset-trust""",
    "set-polling-connection-count": f"{_INSTANCE} pollingConnectionCount=",
    "service": """start stop restart reconfigure install uninstall username= user=
        password= dependOn= instance=""",
}


def _kinds(prototypes: str) -> Mapping[str, OptionKind]:
    kinds = {}
    for token in prototypes.split():
        if token.endswith("=*"):
            kinds[token[:-2]] = OptionKind.LIST
        elif token.endswith("="):
            kinds[token[:-1]] = OptionKind.VALUE
        else:
            kinds[token] = OptionKind.FLAG
    return MappingProxyType(kinds)


TENTACLE_OPTIONS: Final[Mapping[str, Mapping[str, OptionKind]]] = MappingProxyType(
    {command: _kinds(prototypes) for command, prototypes in _PROTOTYPES.items()}
)

# Options whose value is a Secret, and the environment variable a shell rendering
# reads it from. OCTOPUS_API_KEY is the name the Octopus docs' scripts use.
SECRET_ENVIRONMENT: Final[Mapping[str, str]] = MappingProxyType(
    {
        "apiKey": "OCTOPUS_API_KEY",
        "bearerToken": "OCTOPUS_BEARER_TOKEN",
        "password": "OCTOPUS_PASSWORD",
        "p": "OCTOPUS_PASSWORD",
    }
)


def _check_value(option: str, value: str) -> None:
    if not value.strip():
        raise CommandError(
            f"--{option} has a blank value; Tentacle reads that as absent"
        )
    if "\n" in value or "\x00" in value:
        # Tentacle's option regex ends in `(?<value>.*)$`: `.` stops at a newline.
        raise CommandError(f"--{option}: a value cannot hold a line break or NUL")


@attrs.frozen
class Option:
    """One Tentacle option: its name as Tentacle spells it, and its value.

    Args:
        name: the option name without dashes, e.g. ``server-comms-address``.
        value: ``None`` for a flag; a `Secret` for ``--apiKey`` and the like.

    Raises:
        CommandError: a blank value, or one holding a line break or NUL.

    .. versionadded:: 0.1.0
    """

    name: str
    value: str | Secret | None = None

    def __attrs_post_init__(self) -> None:
        if isinstance(self.value, Secret):
            # Checked without echoing the value.
            try:
                _check_value(self.name, self.value.reveal())
            except CommandError:
                raise CommandError(
                    f"--{self.name}: the secret is blank or holds a line break"
                ) from None
        elif self.value is not None:
            _check_value(self.name, self.value)

    def display(self) -> str:
        """Return ``--name`` or ``--name=value`` for people, secrets as ``API-***``."""
        if self.value is None:
            return f"--{self.name}"
        value = self.value
        shown = _redacted(value) if isinstance(value, Secret) else value
        if any(c.isspace() for c in shown):
            shown = f'"{shown}"'
        return f"--{self.name}={shown}"


def _redacted(secret: Secret) -> str:
    return "API-" + REDACTED if secret.reveal().startswith("API-") else REDACTED


def _to_options(options: Iterable[Option]) -> tuple[Option, ...]:
    return tuple(options)


@attrs.frozen
class TentacleCommand:
    """A Tentacle command and its options, checked against `TENTACLE_OPTIONS`.

    Args:
        command: the Tentacle command, e.g. ``poll-server``.
        options: its options, in the order they are written.

    Raises:
        CommandError: an unknown command, an option the command does not accept,
            a flag with a value or an option without one, a single-value option
            given twice, or a secret option without a `Secret` (or the reverse).

    .. versionadded:: 0.1.0
    """

    command: str
    options: tuple[Option, ...] = attrs.field(default=(), converter=_to_options)

    def __attrs_post_init__(self) -> None:
        accepted = TENTACLE_OPTIONS.get(self.command)
        if accepted is None:
            raise CommandError(f"{self.command!r} is not a Tentacle command we emit")
        seen: set[str] = set()
        for option in self.options:
            _check_option(self.command, accepted, option, seen)

    def summary(self) -> str:
        """Return one line for people, secrets shown as ``API-***``."""
        return " ".join([self.command, *(o.display() for o in self.options)])

    def __str__(self) -> str:
        return self.summary()


@functools.lru_cache(maxsize=4096, typed=True)
def _text_option(name: str, value: object) -> tuple[Option, str] | None:
    """The `Option` of a text value and its argv word, or None if `Option`
    would refuse the value (`_check_value`; not a str counts as refused).

    For the fast path of a plan: per-Tentacle values are checked here once
    per distinct value, and the objects equal what ``Option(name, value)``
    and `argv` build. Options are immutable: one serves every Tentacle with
    that value.
    """
    if not isinstance(value, str) or "\n" in value or "\x00" in value:
        return None
    if not value.strip():
        return None
    option = _new(Option)
    _set(option, "name", name)
    _set(option, "value", value)
    return option, f"--{name}={value}"


def _checked_command(command: str, options: tuple[Option, ...]) -> TentacleCommand:
    """A `TentacleCommand` whose option shape already passed the table check.

    For callers that checked this shape (the same option names, flags and
    secrets, in the same order, up to the number of repeats of a list option)
    with a `TentacleCommand` built the ordinary way; the object is equal to
    the one ``TentacleCommand(command, options)`` builds.
    """
    built = _new(TentacleCommand)
    _set(built, "command", command)
    _set(built, "options", options)
    return built


# attrs' frozen classes refuse setattr; these are what their __init__ uses.
_new: Final = object.__new__
_set: Final = object.__setattr__


def _check_option(
    command: str, accepted: Mapping[str, OptionKind], option: Option, seen: set[str]
) -> None:
    kind = accepted.get(option.name)
    where = f"Tentacle {command} --{option.name}"
    if kind is None:
        raise CommandError(f"Tentacle {command} has no option --{option.name}")
    if kind is OptionKind.FLAG and option.value is not None:
        raise CommandError(f"{where} is a flag and takes no value")
    if kind is not OptionKind.FLAG and option.value is None:
        raise CommandError(f"{where} needs a value")
    if kind is OptionKind.VALUE and option.name in seen:
        raise CommandError(f"{where} is given twice; Tentacle would keep only the last")
    seen.add(option.name)
    if (option.name in SECRET_ENVIRONMENT) != isinstance(option.value, Secret):
        if isinstance(option.value, Secret):
            raise CommandError(f"{where} is not a secret option")
        raise CommandError(f"{where} must be given as a Secret")


# --- builders ----------------------------------------------------------------


class InstanceArgs(TypedDict, total=False):
    """Which Tentacle instance a command acts on: ``--instance`` or ``--config``.

    .. versionadded:: 0.1.0
    """

    instance: str | None
    config: str | None


class PollingArgs(InstanceArgs, total=False):
    """Credentials and comms address, shared by ``register-*`` and ``poll-server``.

    An API key or bearer token given as ``str`` is wrapped in `Secret`. The
    address options follow `derive_comms_address`.

    .. versionadded:: 0.1.0
    """

    api_key: Secret | str | None
    bearer_token: Secret | str | None
    comms_address: str | None
    comms_port: int | None
    web_socket: str | None


class RegisterArgs(PollingArgs, total=False):
    """What ``register-with`` and ``register-worker`` add to `PollingArgs`.

    .. versionadded:: 0.1.0
    """

    name: str | None
    space: str | None
    policy: str | None
    subscription_id: str | None
    force: bool


def _known(given: Mapping[str, object], kind: type[InstanceArgs]) -> None:
    unknown = sorted(set(given) - set(kind.__annotations__))
    if unknown:
        msg = f"unexpected keyword argument(s): {', '.join(unknown)}"
        raise TypeError(msg)


def _text(name: str, value: str | None) -> list[Option]:
    return [] if value is None else [Option(name, value)]


def _texts(name: str, values: Sequence[str]) -> list[Option]:
    if isinstance(values, str):
        raise CommandError(f"--{name} takes a list of values, not one string")
    return [Option(name, v) for v in values]


def _instance(args: InstanceArgs) -> list[Option]:
    instance, config = args.get("instance"), args.get("config")
    if instance is not None and config is not None:
        raise CommandError("give --instance or --config, not both")
    return _text("instance", instance) + _text("config", config)


def _api(server: str | None, args: PollingArgs) -> list[Option]:
    if server is None:
        raise CommandError(
            "Please specify an Octopus Server, e.g., --server=http://your-octopus-server"
        )
    parse_url(server, "--server", DEFAULT_PORTS)
    secrets = {"apiKey": args.get("api_key"), "bearerToken": args.get("bearer_token")}
    given = {k: v for k, v in secrets.items() if v is not None}
    if len(given) != 1:
        raise CommandError("give exactly one of an API key or a bearer token")
    ((name, secret),) = given.items()
    value = secret if isinstance(secret, Secret) else Secret(secret)
    return [Option("server", server), Option(name, value)]


def _polling(server: str | None, args: PollingArgs) -> list[Option]:
    address, port = args.get("comms_address"), args.get("comms_port")
    web_socket = args.get("web_socket")
    if web_socket is not None and port is not None:
        raise CommandError("--server-comms-port does nothing with a web socket")
    derive_comms_address(
        server=server, comms_address=address, comms_port=port, web_socket=web_socket
    )
    return [
        *_text("server-comms-address", address),
        *_text("server-comms-port", None if port is None else str(port)),
        *_text("server-web-socket", web_socket),
    ]


def _register(
    command: str, server: str, targets: list[Option], args: RegisterArgs
) -> TentacleCommand:
    _known(args, RegisterArgs)
    subscription = args.get("subscription_id")
    if subscription is not None and not _SUBSCRIPTION.fullmatch(subscription):
        raise CommandError("The ServerSubscriptionId must start with poll://")
    options = [
        *_instance(args),
        *_api(server, args),
        Option("comms-style", "TentacleActive"),
        *_polling(server, args),
        *_text("server-subscription-id", subscription),
        *_text("space", args.get("space")),
        *_text("name", args.get("name")),
        *_text("policy", args.get("policy")),
        *targets,
        *([Option("force")] if args.get("force") else []),
    ]
    return TentacleCommand(command, options)


_SUBSCRIPTION: Final = re.compile(r"(?i)poll://[^/\s]+/?")
_PARTICIPATION: Final = ("Untenanted", "TenantedOrUntenanted", "Tenanted")


def register_with(
    *,
    server: str,
    environments: Sequence[str],
    roles: Sequence[str],
    tenants: Sequence[str] = (),
    tenant_tags: Sequence[str] = (),
    tenanted_deployment_participation: str | None = None,
    **more: Unpack[RegisterArgs],
) -> TentacleCommand:
    """Build ``register-with`` for a polling deployment target.

    Always ``--comms-style=TentacleActive``. *more* takes `RegisterArgs`.

    Raises:
        CommandError: no environment or role (Tentacle's messages), not
            exactly one credential, a bad address, a subscription ID not
            starting with ``poll://``, or an unknown participation mode.
        TypeError: an unknown keyword argument.

    .. versionadded:: 0.1.0
    """
    if not environments:
        raise CommandError(
            "Please specify an environment name, slug or Id, e.g., "
            "--environment=Development"
        )
    if not roles:
        raise CommandError("Please specify a role name, e.g., --role=web-server")
    mode = tenanted_deployment_participation
    if mode is not None:
        matches = [m for m in _PARTICIPATION if m.lower() == mode.lower()]
        if not matches:
            allowed = ", ".join(_PARTICIPATION)
            raise CommandError(f"participation {mode!r} is not one of {allowed}")
        mode = matches[0]
    targets = [
        *_texts("environment", environments),
        *_texts("role", roles),
        *_texts("tenant", tenants),
        *_texts("tenanttag", tenant_tags),
        *_text("tenanted-deployment-participation", mode),
    ]
    return _register("register-with", server, targets, more)


def register_worker(
    *, server: str, worker_pools: Sequence[str], **more: Unpack[RegisterArgs]
) -> TentacleCommand:
    """Build ``register-worker`` for a polling worker (``--workerpool`` per pool).

    Raises:
        CommandError: no worker pool (Tentacle's message), and as `register_with`.
        TypeError: an unknown keyword argument.

    .. versionadded:: 0.1.0
    """
    if not worker_pools:
        raise CommandError(
            "Please specify a worker pool name, slug or Id, e.g., --workerpool=Default"
        )
    targets = _texts("workerpool", worker_pools)
    return _register("register-worker", server, targets, more)


def poll_server(
    *,
    server: str | None = None,
    reuse_server_thumbprint: bool = False,
    **more: Unpack[PollingArgs],
) -> TentacleCommand:
    """Build ``poll-server``: poll one more address with the existing subscription.

    Two variants. With the API (default), *server* and one credential are
    required and Tentacle reads the server thumbprint from it. With
    *reuse_server_thumbprint*, nothing is asked of the API: Tentacle copies the
    thumbprint, style and subscription from its first trusted server, and the
    address must come from ``comms_address`` or ``web_socket``. ``poll-server``
    has no ``--space``, ``--name`` or ``--proxy``. *more* takes `PollingArgs`.

    Raises:
        CommandError: missing server or credentials for the API variant;
            server, credentials or no address for the offline variant; a web
            socket with a comms address or port.
        TypeError: an unknown keyword argument.

    .. versionadded:: 0.1.0
    """
    _known(more, PollingArgs)
    if not reuse_server_thumbprint:
        api = _api(server, more)
    elif server or more.get("api_key") or more.get("bearer_token"):
        raise CommandError(
            "poll-server --reuse-server-thumbprint makes no API call: "
            "leave out the server and credentials"
        )
    elif more.get("comms_address") is None and more.get("web_socket") is None:
        raise CommandError(
            "You must specify either a WebSocketAddress or a ServerCommsAddress"
        )
    else:
        api = [Option("reuse-server-thumbprint")]
    options = [*_instance(more), *api, *_polling(server, more)]
    return TentacleCommand("poll-server", options)


_THUMBPRINT: Final = re.compile(r"[0-9A-Fa-f]{40}")


def _thumbprint(option: Option, *, upper: bool) -> Option:
    value = str(option.value)
    if not _THUMBPRINT.fullmatch(value):
        raise CommandError(
            f"--{option.name}: {value!r} is not a thumbprint (40 hex digits)"
        )
    return Option(option.name, value.upper() if upper else value)


def server_comms(
    *,
    thumbprint: str | None = None,
    host: str | None = None,
    port: int | None = None,
    web_socket: str | None = None,
    **more: Unpack[InstanceArgs],
) -> TentacleCommand:
    """Build the offline ``server-comms --style=TentacleActive`` (no API call).

    Tentacle stores ``https://{host}:{port}`` (port default 10943) or the web
    socket. *thumbprint* may be left out when exactly one server is trusted;
    it is passed in its own case, as Tentacle matches it case-sensitively.

    Raises:
        CommandError: both or neither of host and web socket (Tentacle's
            messages), a port with a web socket, a bad host or thumbprint.
        TypeError: an unknown keyword argument.

    .. versionadded:: 0.1.0
    """
    _known(more, InstanceArgs)
    if host is not None and web_socket is not None:
        raise CommandError("The hostname and websocket options cannot be used together")
    options = _instance(more)
    if thumbprint is not None:
        options.append(_thumbprint(Option("thumbprint", thumbprint), upper=False))
    options.append(Option("style", "TentacleActive"))
    if web_socket is not None:
        if port is not None:
            raise CommandError("--port does nothing with --web-socket")
        web_socket_address(web_socket)
        options.append(Option("web-socket", web_socket))
    elif host is not None:
        if port is not None:
            check_port(port, "--port")
        bracketed = f"[{host}]" if ":" in host and "[" not in host else host
        url = parse_url(f"https://{bracketed}", "--host", DEFAULT_PORTS)
        options.append(Option("host", url.host))
        options += _text("port", None if port is None else str(port))
    else:
        raise CommandError(
            "Please provide either the server hostname or websocket address, "
            "e.g. --host=OCTOPUS"
        )
    return TentacleCommand("server-comms", options)


def clear_trusted_servers(
    *, keep: Sequence[str], **more: Unpack[InstanceArgs]
) -> TentacleCommand:
    """Build ``clear-trusted-servers --keep=a,b``: drop every other trusted server.

    Tentacle matches each kept address with ``http://`` read as ``https://``,
    compared as normalised URIs; pass the addresses `derive_comms_address` gives.

    Raises:
        CommandError: an empty *keep* (Tentacle would clear everything; use
            ``configure --reset-trust`` for that), or an address that holds a
            comma or is not an absolute http/https/wss URL.
        TypeError: an unknown keyword argument.

    .. versionadded:: 0.1.0
    """
    _known(more, InstanceArgs)
    if isinstance(keep, str) or not keep:
        raise CommandError("clear-trusted-servers needs a list of addresses to keep")
    for address in keep:
        if "," in address:
            raise CommandError(f"--keep: {address!r} holds a comma, the list separator")
        parse_url(address, "--keep", KEEP_PORTS)
    options = [*_instance(more), Option("keep", ",".join(keep))]
    return TentacleCommand("clear-trusted-servers", options)


def update_trust(
    old_thumbprint: str, new_thumbprint: str, **more: Unpack[InstanceArgs]
) -> TentacleCommand:
    """Build ``update-trust``: every entry trusting the old thumbprint trusts the new.

    The new thumbprint is written in upper case, as Halibut compares it
    case-sensitively with the certificate's.

    Raises:
        CommandError: a value that is not 40 hex digits.
        TypeError: an unknown keyword argument.

    .. versionadded:: 0.1.0
    """
    _known(more, InstanceArgs)
    options = [
        *_instance(more),
        _thumbprint(Option("oldThumbprint", old_thumbprint), upper=False),
        _thumbprint(Option("newThumbprint", new_thumbprint), upper=True),
    ]
    return TentacleCommand("update-trust", options)


def configure_trust(
    *,
    trust: Sequence[str] = (),
    remove_trust: Sequence[str] = (),
    **more: Unpack[InstanceArgs],
) -> TentacleCommand:
    """Build ``configure --remove-trust=... --trust=...``.

    Tentacle removes first (exact case), then adds each trusted thumbprint
    as a listening-style entry; added thumbprints are written in upper case.

    Raises:
        CommandError: nothing to do, or a value that is not 40 hex digits.
        TypeError: an unknown keyword argument.

    .. versionadded:: 0.1.0
    """
    _known(more, InstanceArgs)
    removed = [
        _thumbprint(o, upper=False) for o in _texts("remove-trust", remove_trust)
    ]
    added = [_thumbprint(o, upper=True) for o in _texts("trust", trust)]
    if not removed and not added:
        raise CommandError("configure_trust needs a thumbprint to trust or to remove")
    return TentacleCommand("configure", [*_instance(more), *removed, *added])


def set_polling_connection_count(
    count: int, **more: Unpack[InstanceArgs]
) -> TentacleCommand:
    """Build ``set-polling-connection-count --pollingConnectionCount=N`` (N >= 1).

    Raises:
        CommandError: a count below 1.
        TypeError: an unknown keyword argument.

    .. versionadded:: 0.1.0
    """
    _known(more, InstanceArgs)
    if isinstance(count, bool) or count < 1:
        raise CommandError(
            f"--pollingConnectionCount: {count!r} must be greater than 0"
        )
    options = [*_instance(more), Option("pollingConnectionCount", str(count))]
    return TentacleCommand("set-polling-connection-count", options)


def service_restart(instance: str | None = None) -> TentacleCommand:
    """Build ``service --restart``: *instance*, the default one if None, all if ``*``.

    .. versionadded:: 0.1.0
    """
    return TentacleCommand("service", [Option("restart"), *_text("instance", instance)])


# --- rendering ---------------------------------------------------------------

_DEFAULT_EXECUTABLE: Final = MappingProxyType(
    {
        "posix": LINUX_EXECUTABLE,
        "powershell": WINDOWS_EXECUTABLE,
        "cmd": WINDOWS_EXECUTABLE,
    }
)


_ENV_ARGS: Final = MappingProxyType(
    {
        name: _winargs.EnvArg(f"--{name}=", env)
        for name, env in SECRET_ENVIRONMENT.items()
    }
)


def _args(
    command: TentacleCommand, secrets: Literal["reveal", "reference", "redact"]
) -> list[str | _winargs.EnvArg]:
    out: list[str | _winargs.EnvArg] = [command.command]
    for option in command.options:
        prefix = f"--{option.name}"
        if option.value is None:
            out.append(prefix)
        elif not isinstance(option.value, Secret):
            out.append(f"{prefix}={option.value}")
        elif secrets == "reveal":
            out.append(f"{prefix}={option.value.reveal()}")
        elif secrets == "redact":
            out.append(f"{prefix}={_redacted(option.value)}")
        else:
            out.append(_ENV_ARGS[option.name])
    return out


def argv(
    command: TentacleCommand, *, executable: str, reveal_secrets: bool = False
) -> list[str]:
    """Return the argv list for running *command* with *executable*.

    Secrets are redacted (``--apiKey=API-***``) unless *reveal_secrets*: pass
    it to run the command, leave it off to show or log the list.

    .. versionadded:: 0.1.0
    """
    args = _args(command, "reveal" if reveal_secrets else "redact")
    return [executable, *(a for a in args if isinstance(a, str))]


def _posix(program: str, args: Sequence[str | _winargs.EnvArg]) -> str:
    words = [shlex.quote(program)]
    for arg in args:
        if isinstance(arg, _winargs.EnvArg):
            words.append(f'{shlex.quote(arg.prefix)}"${arg.env_var}"')
        else:
            words.append(shlex.quote(arg))
    return " ".join(words)


_RENDERERS: Final = MappingProxyType(
    {"posix": _posix, "powershell": _winargs.powershell_line, "cmd": _winargs.cmd_line}
)


def render(
    command_or_argv: TentacleCommand | Sequence[str],
    *,
    shell: Shell,
    executable: str | None = None,
    reveal_secrets: bool = False,
) -> str:
    """Render a command (or a plain argv) as one line for *shell*.

    * ``posix``: words single-quoted where needed (``shlex.quote``).
    * ``powershell``: ``& 'C:\\...\\Tentacle.exe' 'arg' ...``, correct for
      PowerShell 7.3+ and Windows PowerShell 5.1 alike (arguments that the two
      would pass differently are refused).
    * ``cmd``: batch-file text (``%`` doubled), quoted per the MSVCRT rules,
      with cmd.exe operators outside quotes escaped with ``^``.

    Secrets render as environment references the shell expands:
    ``"$OCTOPUS_API_KEY"``, ``$env:OCTOPUS_API_KEY`` or ``%OCTOPUS_API_KEY%``
    (inside quotes), or literally with *reveal_secrets*.

    Args:
        command_or_argv: a `TentacleCommand`, or an argv whose first item is
            the program.
        shell: ``"posix"``, ``"powershell"`` or ``"cmd"``.
        executable: the Tentacle program for a `TentacleCommand`; defaults to
            `LINUX_EXECUTABLE` for posix and `WINDOWS_EXECUTABLE` otherwise.
        reveal_secrets: write secret values literally.

    Raises:
        CommandError: an unknown shell, a NUL, an empty argv, *executable*
            with an argv, or text the chosen shell cannot carry.

    .. versionadded:: 0.1.0
    """
    renderer = _RENDERERS.get(shell)
    if renderer is None:
        raise CommandError(f"unknown shell {shell!r}; use posix, powershell or cmd")
    if isinstance(command_or_argv, TentacleCommand):
        program = _DEFAULT_EXECUTABLE[shell] if executable is None else executable
        args = _args(command_or_argv, "reveal" if reveal_secrets else "reference")
    else:
        if isinstance(command_or_argv, str) or not command_or_argv:
            raise CommandError(
                "render() takes a TentacleCommand or a non-empty argv list"
            )
        if executable is not None:
            raise CommandError(
                "an argv names its own program; executable= is for a TentacleCommand"
            )
        program, *rest = command_or_argv
        args = list(rest)
    if not program:
        raise CommandError("the program path is empty")
    if any("\x00" in a for a in [program, *args] if isinstance(a, str)):
        raise CommandError("no shell can pass a NUL character to a program")
    return renderer(program, args)
