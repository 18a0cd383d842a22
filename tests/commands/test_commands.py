"""Tentacle command builders, the option table, secrets and golden renderings."""

from __future__ import annotations

import difflib
import os
from pathlib import Path

import pytest

from tentacle_ha import commands
from tentacle_ha._secret import Secret
from tentacle_ha.commands import Option
from tentacle_ha.commands import OptionKind
from tentacle_ha.commands import Shell
from tentacle_ha.commands import TentacleCommand
from tentacle_ha.commands import _winargs
from tentacle_ha.errors import CommandError

GOLDEN = Path(__file__).parent.parent / "golden" / "commands"
SERVER = "https://octopus.example.com"
KEY = "API-GOLDENEXAMPLEKEY0000000000"
THUMB = "0123456789ABCDEF0123456789ABCDEF01234567"
NODES = ("node1.example.com", "node2.example.com", "node3.example.com")
POSIX: Shell = "posix"
POWERSHELL: Shell = "powershell"
CMD: Shell = "cmd"
SHELL_SUFFIX: dict[Shell, str] = {POSIX: "sh", POWERSHELL: "ps1", CMD: "cmd"}
TOKEN = Secret("t0k")


# --- the option table ----------------------------------------------------------


def _sample_commands() -> list[TentacleCommand]:
    """One of everything the builders can emit, every optional part filled in."""
    full: commands.RegisterArgs = {
        "api_key": KEY,
        "comms_address": "https://node1.example.com",
        "comms_port": 10943,
        "name": "web01",
        "space": "Default",
        "policy": "Default Machine Policy",
        "subscription_id": "poll://abcdefghjkmnpqrstuvw/",
        "force": True,
        "instance": "Tentacle",
    }
    return [
        commands.register_with(
            server=SERVER,
            environments=["Production"],
            roles=["web"],
            tenants=["Acme"],
            tenant_tags=["Tier/Gold"],
            tenanted_deployment_participation="tenantedoruntenanted",
            **full,
        ),
        commands.register_worker(server=SERVER, worker_pools=["Pool"], **full),
        commands.poll_server(server=SERVER, bearer_token=TOKEN, config="/etc/t.config"),
        commands.poll_server(reuse_server_thumbprint=True, web_socket="wss://x/Comms"),
        commands.server_comms(thumbprint=THUMB, host="node1", port=10944, instance="T"),
        commands.server_comms(web_socket="https://x/OctopusComms"),
        commands.clear_trusted_servers(keep=["https://node1:10943"], instance="T"),
        commands.update_trust(THUMB.lower(), THUMB.lower(), config="C:\\T.config"),
        commands.configure_trust(trust=[THUMB], remove_trust=[THUMB], instance="T"),
        commands.set_polling_connection_count(5, instance="T"),
        commands.service_restart("Tentacle"),
    ]


EMITTED = {
    "register-with": "instance server apiKey comms-style server-comms-address "
    "server-comms-port server-subscription-id space name policy environment role "
    "tenant tenanttag tenanted-deployment-participation force",
    "register-worker": "instance server apiKey comms-style server-comms-address "
    "server-comms-port server-subscription-id space name policy workerpool force",
    "poll-server": "config server bearerToken reuse-server-thumbprint "
    "server-web-socket",
    "server-comms": "instance thumbprint style host port web-socket",
    "clear-trusted-servers": "instance keep",
    "update-trust": "config oldThumbprint newThumbprint",
    "configure": "instance remove-trust trust",
    "set-polling-connection-count": "instance pollingConnectionCount",
    "service": "restart instance",
}


def test_every_emitted_option_belongs_to_its_command() -> None:
    """Each option every builder emits is in the table entry of its command."""
    emitted: dict[str, set[str]] = {}
    for command in _sample_commands():
        for arg in commands.argv(command, executable="T")[2:]:
            name = arg.removeprefix("--").split("=", 1)[0]
            assert name in commands.TENTACLE_OPTIONS[command.command], arg
            emitted.setdefault(command.command, set()).add(name)
    assert emitted == {k: set(v.split()) for k, v in EMITTED.items()}


def test_table_holds_tentacle_facts() -> None:
    """The table says what tentacle-facts.md section 4 says about the options."""
    table = commands.TENTACLE_OPTIONS
    assert not {"space", "name", "proxy"} & set(table["poll-server"])
    assert table["poll-server"]["reuse-server-thumbprint"] is OptionKind.FLAG
    assert table["register-with"]["environment"] is OptionKind.LIST
    assert table["register-with"]["env"] is OptionKind.LIST
    assert table["register-worker"]["workerpool"] is OptionKind.LIST
    assert "workerpool" not in table["register-with"]
    assert "environment" not in table["register-worker"]
    assert table["service"]["restart"] is OptionKind.FLAG
    assert "config" not in table["service"]
    for name, options in table.items():
        assert "instance" in options, name
        if name != "service":
            assert "config" in options, name


def test_unknown_option_is_refused() -> None:
    """poll-server --space is refused, as Tentacle would refuse it."""
    with pytest.raises(CommandError, match="poll-server has no option --space"):
        TentacleCommand("poll-server", [Option("space", "Default")])


def test_unknown_command_is_refused() -> None:
    """A command the table does not know is refused."""
    with pytest.raises(CommandError, match="not a Tentacle command"):
        TentacleCommand("deregister-from")


@pytest.mark.parametrize(
    ("option", "match"),
    [
        (Option("force", "yes"), "is a flag and takes no value"),
        (Option("name"), "needs a value"),
        (Option("apiKey", "API-PLAIN"), "must be given as a Secret"),
        (Option("name", Secret("x")), "is not a secret option"),
    ],
)
def test_option_kinds_are_enforced(option: Option, match: str) -> None:
    """Flags take no value, value options need one, secrets only where expected."""
    with pytest.raises(CommandError, match=match):
        TentacleCommand("register-with", [option])


def test_single_value_option_cannot_repeat_but_a_list_can() -> None:
    """Repeating --name is refused; repeating --role is how lists are written."""
    with pytest.raises(CommandError, match="given twice"):
        TentacleCommand("register-with", [Option("name", "a"), Option("name", "b")])
    command = TentacleCommand(
        "register-with", [Option("role", "a"), Option("role", "b")]
    )
    assert len(command.options) == 2


@pytest.mark.parametrize("value", ["", "  ", "a\nb", "a\x00b"])
def test_blank_or_multiline_values_are_refused(value: str) -> None:
    """Blank values (read as absent) and line breaks (Tentacle's regex) are refused."""
    with pytest.raises(CommandError, match="--name"):
        Option("name", value)


def test_blank_secret_is_refused_without_echo() -> None:
    """A blank secret is refused and the message does not show it."""
    with pytest.raises(CommandError) as info:
        Option("apiKey", Secret("API-X\nY"))
    assert "API-X" not in str(info.value)


# --- builders ------------------------------------------------------------------


def test_register_with_argv() -> None:
    """register-with: polling style, comms options, targets, in a fixed order."""
    command = commands.register_with(
        server=SERVER,
        api_key=KEY,
        environments=["Production", "Prod EU"],
        roles=["web"],
        comms_address="https://node1.example.com",
        comms_port=10943,
        name="web01",
        instance="Tentacle",
    )
    assert commands.argv(command, executable="T", reveal_secrets=True) == [
        "T",
        "register-with",
        "--instance=Tentacle",
        f"--server={SERVER}",
        f"--apiKey={KEY}",
        "--comms-style=TentacleActive",
        "--server-comms-address=https://node1.example.com",
        "--server-comms-port=10943",
        "--name=web01",
        "--environment=Production",
        "--environment=Prod EU",
        "--role=web",
    ]


def test_register_worker_with_web_socket() -> None:
    """register-worker writes one --workerpool per pool and the web socket."""
    command = commands.register_worker(
        server=SERVER,
        bearer_token=Secret("tok"),
        worker_pools=["A", "B"],
        web_socket="wss://octopus.example.com/OctopusComms",
    )
    assert commands.argv(command, executable="T")[2:] == [
        f"--server={SERVER}",
        "--bearerToken=***",
        "--comms-style=TentacleActive",
        "--server-web-socket=wss://octopus.example.com/OctopusComms",
        "--workerpool=A",
        "--workerpool=B",
    ]


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"environments": []}, "Please specify an environment name, slug or Id"),
        ({"roles": []}, "Please specify a role name, e.g., --role=web-server"),
        ({"api_key": None}, "exactly one of an API key or a bearer token"),
        ({"bearer_token": "t"}, "exactly one of an API key or a bearer token"),
        ({"subscription_id": "https://x/"}, "The ServerSubscriptionId must start with"),
        ({"web_socket": "ws://x/"}, "The websocket address must start with wss://"),
        ({"web_socket": "wss://x/", "comms_address": "https://y"}, "not both"),
        ({"web_socket": "wss://x/", "comms_port": 1}, "does nothing with a web socket"),
        ({"comms_port": 0}, "is not a port number"),
        (
            {"comms_address": "node1:10943"},
            "is not an absolute http:// or https:// URL",
        ),
        ({"tenanted_deployment_participation": "Maybe"}, "is not one of"),
        ({"roles": "web"}, "takes a list of values"),
        ({"instance": "A", "config": "B"}, "give --instance or --config, not both"),
        ({"server": "octopus"}, "--server"),
    ],
)
def test_register_with_refuses(kwargs: dict[str, object], match: str) -> None:
    """register-with refuses what Tentacle refuses, with Tentacle's wording."""
    arguments: dict[str, object] = {
        "server": SERVER,
        "api_key": KEY,
        "environments": ["Production"],
        "roles": ["web"],
    }
    arguments.update(kwargs)
    with pytest.raises(CommandError, match=match):
        commands.register_with(**arguments)  # type: ignore[arg-type]


def test_register_worker_needs_a_pool() -> None:
    """register-worker without a pool gives Tentacle's message."""
    with pytest.raises(CommandError, match="Please specify a worker pool name"):
        commands.register_worker(server=SERVER, api_key=KEY, worker_pools=[])


def test_unknown_keyword_is_a_type_error() -> None:
    """A misspelt keyword is not silently dropped."""
    with pytest.raises(TypeError, match="comms_adress"):
        commands.poll_server(server=SERVER, api_key=KEY, comms_adress="x")  # type: ignore[call-arg]


def test_poll_server_api_variant() -> None:
    """poll-server with the API: --server, the key, the node's comms address."""
    command = commands.poll_server(
        server=SERVER, api_key=KEY, comms_address="https://node2.example.com:10943"
    )
    assert commands.argv(command, executable="T")[1:] == [
        "poll-server",
        f"--server={SERVER}",
        "--apiKey=API-***",
        "--server-comms-address=https://node2.example.com:10943",
    ]


def test_poll_server_offline_variant() -> None:
    """poll-server --reuse-server-thumbprint needs an address and no API."""
    command = commands.poll_server(
        reuse_server_thumbprint=True, comms_address="https://node2:10943"
    )
    assert [o.name for o in command.options] == [
        "reuse-server-thumbprint",
        "server-comms-address",
    ]
    with pytest.raises(
        CommandError, match="You must specify either a WebSocketAddress"
    ):
        commands.poll_server(reuse_server_thumbprint=True)
    with pytest.raises(CommandError, match="makes no API call"):
        commands.poll_server(
            reuse_server_thumbprint=True, server=SERVER, comms_address="https://n"
        )


def test_poll_server_api_variant_needs_server() -> None:
    """Without --reuse-server-thumbprint the server is required (Tentacle's text)."""
    with pytest.raises(CommandError, match="Please specify an Octopus Server"):
        commands.poll_server(api_key=KEY, comms_address="https://n")


def test_server_comms() -> None:
    """server-comms: style, host (IPv6 bracketed) and port, or a web socket."""
    command = commands.server_comms(thumbprint=THUMB.lower(), host="::1", port=10944)
    assert commands.argv(command, executable="T")[2:] == [
        f"--thumbprint={THUMB.lower()}",
        "--style=TentacleActive",
        "--host=[::1]",
        "--port=10944",
    ]
    with pytest.raises(CommandError, match="cannot be used together"):
        commands.server_comms(host="a", web_socket="wss://a/")
    with pytest.raises(CommandError, match="Please provide either the server hostname"):
        commands.server_comms()
    with pytest.raises(CommandError, match="--port does nothing"):
        commands.server_comms(web_socket="wss://a/", port=1)
    with pytest.raises(CommandError, match="is not a thumbprint"):
        commands.server_comms(thumbprint="ABC", host="a")
    with pytest.raises(CommandError, match="--port"):
        commands.server_comms(host="a", port=70000)


def test_clear_trusted_servers() -> None:
    """--keep joins the addresses with commas; commas inside and empty are refused."""
    command = commands.clear_trusted_servers(keep=["https://a:10943", "https://b:1"])
    assert commands.argv(command, executable="T")[2:] == [
        "--keep=https://a:10943,https://b:1"
    ]
    with pytest.raises(CommandError, match="needs a list"):
        commands.clear_trusted_servers(keep=[])
    with pytest.raises(CommandError, match="comma"):
        commands.clear_trusted_servers(keep=["https://a,b"])
    with pytest.raises(CommandError, match="--keep"):
        commands.clear_trusted_servers(keep=["a:10943"])


def test_trust_commands_upper_case_what_they_store() -> None:
    """New trust is written upper case; what is matched keeps its case."""
    update = commands.update_trust(THUMB.lower(), THUMB.lower())
    assert [o.value for o in update.options] == [THUMB.lower(), THUMB]
    configure = commands.configure_trust(
        trust=[THUMB.lower()], remove_trust=["ab" * 20]
    )
    assert commands.argv(configure, executable="T")[2:] == [
        f"--remove-trust={'ab' * 20}",
        f"--trust={THUMB}",
    ]
    with pytest.raises(CommandError, match="needs a thumbprint"):
        commands.configure_trust()


def test_polling_connection_count() -> None:
    """The count is a whole number of at least 1."""
    command = commands.set_polling_connection_count(3)
    assert commands.argv(command, executable="T")[1:] == [
        "set-polling-connection-count",
        "--pollingConnectionCount=3",
    ]
    for bad in (0, -1, True):
        with pytest.raises(CommandError, match="greater than 0"):
            commands.set_polling_connection_count(bad)


def test_service_restart() -> None:
    """service --restart, for the default instance or a named one."""
    assert commands.service_restart().summary() == "service --restart"
    assert commands.service_restart("*").summary() == "service --restart --instance=*"


# --- address derivation --------------------------------------------------------


@pytest.mark.parametrize(
    ("server", "address", "port", "web_socket", "expected"),
    [
        ("https://Octopus.Example.com/app", None, None, None, "https://octopus.example.com:10943"),
        ("http://octopus", None, 10950, None, "https://octopus:10950"),
        (None, "https://node1:10944/x", None, None, "https://node1:10944"),
        (None, "https://node1", None, None, "https://node1:443"),
        (None, "http://node1/", None, None, "https://node1:80"),
        (None, "http://node1:8080", 10943, None, "https://node1:10943"),
        ("https://o", "https://[0:0::1]:1", None, None, "https://[::1]:1"),
        (None, "https://[::ffff:10.0.0.1]", None, None, "https://[::ffff:10.0.0.1]:443"),
        (None, "https://10.0.0.1:5", None, None, "https://10.0.0.1:5"),
        (None, None, 5, "https://Example.com/OctopusComms", "wss://example.com/OctopusComms"),
        (None, None, None, "https://e.com:8443/C?q=1", "wss://e.com:8443/C?q=1"),
        (None, None, None, "https://e.com:443", "wss://e.com/"),
        (None, None, None, "WSS://Example.com/X", "WSS://Example.com/X"),
    ],
)  # fmt: skip
def test_derive_comms_address(
    server: str | None,
    address: str | None,
    port: int | None,
    web_socket: str | None,
    expected: str,
) -> None:
    """Tentacle's GetActiveTentacleAddress rules, case by case."""
    derived = commands.derive_comms_address(
        server=server, comms_address=address, comms_port=port, web_socket=web_socket
    )
    assert derived == expected


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({}, "needs a server, a comms address or a web socket"),
        ({"web_socket": "http://x/"}, "^The websocket address must start with wss://$"),
        ({"web_socket": "wss://u:p@x/"}, "user info"),
        ({"web_socket": "wss://ex ample/"}, "whitespace"),
        ({"comms_address": "https://127.1"}, "dotted-quad"),
        ({"comms_address": "https://[fe80::1%25eth0]"}, "zone"),
        ({"comms_address": "https://[::g]"}, "not an IPv6 address"),
        ({"comms_address": "https://ex ample"}, "whitespace"),
        ({"comms_address": "https://a\\b"}, "backslash"),
        ({"comms_address": "https://h:99999"}, "invalid port"),
        ({"comms_address": "https://h:0"}, "port 0"),
        ({"comms_address": "https://ex%41mple"}, "not a host name"),
        ({"comms_address": "ftp://h"}, "not an absolute"),
        ({"server": "https://h", "comms_port": True}, "not a port number"),
    ],
)
def test_derive_comms_address_refuses(kwargs: dict[str, object], match: str) -> None:
    """Inputs .NET would read differently, or Tentacle refuses, are refused."""
    arguments: dict[str, object] = {
        "server": None,
        "comms_address": None,
        "comms_port": None,
        "web_socket": None,
    }
    arguments.update(kwargs)
    with pytest.raises(CommandError, match=match):
        commands.derive_comms_address(**arguments)  # type: ignore[arg-type]


def test_both_web_socket_and_address_gives_tentacles_message() -> None:
    """Both a web socket and a comms address: Tentacle's exact message."""
    with pytest.raises(CommandError) as info:
        commands.derive_comms_address(
            server=None,
            comms_address="https://a",
            comms_port=None,
            web_socket="wss://b",
        )
    assert str(info.value) == (
        "Please specify a --server-web-socket, or a --server-comms-address - not both."
    )


# --- secrets and rendering -----------------------------------------------------


def _target() -> TentacleCommand:
    return commands.register_with(
        server=SERVER, api_key=KEY, environments=["Production"], roles=["web"]
    )


@pytest.mark.parametrize(
    ("shell", "reference"),
    [
        (POSIX, '--apiKey="$OCTOPUS_API_KEY"'),
        (POWERSHELL, '"--apiKey=$env:OCTOPUS_API_KEY"'),
        (CMD, '"--apiKey=%OCTOPUS_API_KEY%"'),
    ],
)
def test_secret_renders_as_environment_reference(shell: Shell, reference: str) -> None:
    """By default the key is an env-var reference; revealed, it is the value."""
    hidden = commands.render(_target(), shell=shell)
    assert reference in hidden.split(" ")
    assert KEY not in hidden
    shown = commands.render(_target(), shell=shell, reveal_secrets=True)
    assert KEY in shown
    assert "OCTOPUS_API_KEY" not in shown


def test_summary_and_reprs_hide_the_secret() -> None:
    """summary(), str(), repr() and argv() never show the key."""
    command = _target()
    assert "--apiKey=API-***" in command.summary()
    assert str(command) == command.summary()
    for text in (
        command.summary(),
        repr(command),
        str(commands.argv(command, executable="T")),
    ):
        assert KEY not in text
    assert Option("bearerToken", Secret("abc")).display() == "--bearerToken=***"
    assert Option("name", "a b").display() == '--name="a b"'


def test_render_defaults_and_argv_input() -> None:
    """Default executables per shell; a plain argv renders as given."""
    service = commands.service_restart("Tentacle")
    assert commands.render(service, shell=POSIX) == (
        "/opt/octopus/tentacle/Tentacle service --restart --instance=Tentacle"
    )
    assert commands.render(service, shell=CMD) == (
        '"C:\\Program Files\\Octopus Deploy\\Tentacle\\Tentacle.exe" '
        "service --restart --instance=Tentacle"
    )
    assert commands.render(service, shell=POWERSHELL, executable="Tentacle") == (
        "& Tentacle service '--restart' '--instance=Tentacle'"
    )
    assert commands.render(["echo", "a b", ""], shell=POSIX) == "echo 'a b' ''"


@pytest.mark.parametrize(
    ("argv", "kwargs", "match"),
    [
        (["x"], {"shell": "fish"}, "unknown shell"),
        ([], {"shell": "posix"}, "non-empty argv"),
        ("echo", {"shell": "posix"}, "non-empty argv"),
        (["x"], {"shell": "posix", "executable": "y"}, "names its own program"),
        ([""], {"shell": "posix"}, "program path is empty"),
        (["x", "a\x00"], {"shell": "posix"}, "NUL"),
        (["x", "a\nb"], {"shell": "cmd"}, "cmd.exe cannot carry"),
        (["x", "a" * 9000], {"shell": "cmd"}, "8191"),
        (["x", 'a"b'], {"shell": "powershell"}, "embedded double quotes"),
        (["x", ""], {"shell": "powershell"}, "drops an empty argument"),
        (["x", "a b\\"], {"shell": "powershell"}, "trailing backslash"),
        (['x"y'], {"shell": "cmd"}, "Windows program path"),
    ],
)
def test_render_refuses(argv: list[str], kwargs: dict[str, object], match: str) -> None:
    """Text a shell cannot carry faithfully is refused, never rendered wrongly."""
    with pytest.raises(CommandError, match=match):
        commands.render(argv, **kwargs)  # type: ignore[arg-type]


def test_env_arg_refuses_unsafe_names_and_prefixes() -> None:
    """An environment reference needs a plain variable name and a plain prefix."""
    with pytest.raises(CommandError, match="not an environment variable name"):
        _winargs.EnvArg("--apiKey=", "A-B")
    with pytest.raises(CommandError, match="cannot prefix"):
        _winargs.EnvArg('--a"=', "A")


# --- Windows splitting: documented examples ------------------------------------

# Microsoft Learn, "Parsing C command-line arguments" (the results table), with
# the last row as the UCRT reads it and as CommandLineToArgvW reads it
# (MicrosoftDocs/cpp-docs issue #3291, checked against CommandLineToArgvW).
MS_TABLE = [
    ('"a b c" d e', ["a b c", "d", "e"], ["a b c", "d", "e"]),
    ('"ab\\"c" "\\\\" d', ['ab"c', "\\", "d"], ['ab"c', "\\", "d"]),
    ('a\\\\\\b d"e f"g h', ["a\\\\\\b", "de fg", "h"], ["a\\\\\\b", "de fg", "h"]),
    ('a\\\\\\"b c d', ['a\\"b', "c", "d"], ['a\\"b', "c", "d"]),
    ('a\\\\\\\\"b c" d e', ["a\\\\b c", "d", "e"], ["a\\\\b c", "d", "e"]),
    ('a"b"" c d', ['ab" c d'], ['ab"', "c", "d"]),
]


@pytest.mark.parametrize(("line", "ucrt", "shell32"), MS_TABLE)
def test_split_matches_microsoft_table(
    line: str, ucrt: list[str], shell32: list[str]
) -> None:
    """The splitter gives the documented argv for each documented line."""
    assert _winargs.split_command_line(f"prog {line}")[1:] == ucrt
    assert _winargs.split_command_line(f"prog {line}", parser="shell32")[1:] == shell32


def test_split_program_name_has_no_escapes() -> None:
    """argv[0]: quotes group, backslashes are literal, trailing blanks skipped."""
    line = '"C:\\Program Files\\T\\" x  \t'
    assert _winargs.split_command_line(line) == ["C:\\Program Files\\T\\", "x"]
    assert _winargs.split_command_line("a\\b") == ["a\\b"]
    assert _winargs.split_command_line('x "unterminated  ') == ["x", "unterminated  "]


def test_quote_arg_examples() -> None:
    """Quoting doubles backslashes only before a quote or the closing quote."""
    assert _winargs.quote_arg("plain") == "plain"
    assert _winargs.quote_arg("") == '""'
    assert _winargs.quote_arg("a b\\") == '"a b\\\\"'
    assert _winargs.quote_arg('a\\"b') == '"a\\\\\\"b"'
    assert _winargs.quote_arg("a\\b c") == '"a\\b c"'


def test_cmd_escapes_operators_outside_quotes_only() -> None:
    """Outside quotes cmd operators get a caret; inside they stay; % is doubled."""
    line = _winargs.cmd_line("T", ["a&b", "c d&e", "50%", "^x"])
    assert line == 'T a^&b "c d&e" 50%% ^^x'


# --- golden renderings ---------------------------------------------------------


def _scenarios() -> dict[str, list[TentacleCommand]]:
    """A three-node unique-address cluster, from the point of view of one Tentacle."""
    addresses = [f"https://{host}:10943" for host in NODES]
    instance: commands.InstanceArgs = {"instance": "Tentacle"}
    target = [
        commands.register_with(
            server=SERVER,
            api_key=KEY,
            environments=["Production"],
            roles=["web-server"],
            comms_address=addresses[0],
            name="Web 01",
            space="Default",
            policy="Default Machine Policy",
            **instance,
        ),
        *(
            commands.poll_server(
                server=SERVER, api_key=KEY, comms_address=address, **instance
            )
            for address in addresses[1:]
        ),
        commands.service_restart("Tentacle"),
    ]
    worker = [
        commands.register_worker(
            server=SERVER,
            api_key=KEY,
            worker_pools=["Linux Workers"],
            comms_address=addresses[0],
            name="worker-01",
            **instance,
        ),
        *(
            commands.poll_server(
                reuse_server_thumbprint=True, comms_address=address, **instance
            )
            for address in addresses[1:]
        ),
        commands.service_restart("Tentacle"),
    ]
    offline = [
        *(
            commands.server_comms(thumbprint=THUMB, host=host, **instance)
            for host in NODES
        ),
        commands.service_restart("Tentacle"),
    ]
    maintenance = [
        commands.configure_trust(trust=["89ABCDEF" * 5], **instance),
        commands.update_trust(THUMB, "89ABCDEF" * 5, **instance),
        commands.clear_trusted_servers(keep=addresses[:2], **instance),
        commands.set_polling_connection_count(2, **instance),
        commands.service_restart("Tentacle"),
    ]
    return {
        "target": target,
        "worker": worker,
        "offline": offline,
        "maintenance": maintenance,
    }


CASES = [
    (s, sh)
    for s in ("target", "worker", "offline", "maintenance")
    for sh in SHELL_SUFFIX
]


@pytest.mark.parametrize(("scenario", "shell"), CASES)
def test_golden_rendering(scenario: str, shell: Shell) -> None:
    """Each scenario renders byte for byte as its golden file (UPDATE_GOLDEN=1)."""
    lines = [commands.render(c, shell=shell) for c in _scenarios()[scenario]]
    text = "\n".join(lines) + "\n"
    path = GOLDEN / f"{scenario}.{SHELL_SUFFIX[shell]}"
    if os.environ.get("UPDATE_GOLDEN") == "1":
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(text.encode())
    expected = path.read_bytes().decode()
    if text != expected:
        diff = difflib.unified_diff(
            expected.splitlines(), text.splitlines(), lineterm=""
        )
        pytest.fail("\n".join(diff))
    assert KEY not in text


def test_golden_revealed_rendering() -> None:
    """With reveal_secrets the key is written literally, quoted for the shell."""
    lines = [
        commands.render(c, shell=POSIX, reveal_secrets=True)
        for c in _scenarios()["target"]
    ]
    assert f"--apiKey={KEY}" in lines[0].split(" ")
    assert "$OCTOPUS_API_KEY" not in "\n".join(lines)
