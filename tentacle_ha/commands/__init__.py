"""The commands wing: what to run and what to put in front of the nodes.

`TentacleCommand` and its builders with Tentacle's own options (``_command``),
Windows argument quoting (``_winargs``) and comms address derivation
(``_address``); `tentacle_ha.commands.plan` builds per-Tentacle plans from a
cluster and `tentacle_ha.commands.lb` renders HAProxy and nginx rules.

May import: `tentacle_ha.cluster`, `tentacle_ha.servers`, `tentacle_ha.errors`
and `tentacle_ha._secret`.
"""

from tentacle_ha.commands._command import DEFAULT_COMMS_PORT
from tentacle_ha.commands._command import LINUX_EXECUTABLE
from tentacle_ha.commands._command import SECRET_ENVIRONMENT
from tentacle_ha.commands._command import SHELLS
from tentacle_ha.commands._command import TENTACLE_OPTIONS
from tentacle_ha.commands._command import WINDOWS_EXECUTABLE
from tentacle_ha.commands._command import InstanceArgs
from tentacle_ha.commands._command import Option
from tentacle_ha.commands._command import OptionKind
from tentacle_ha.commands._command import PollingArgs
from tentacle_ha.commands._command import RegisterArgs
from tentacle_ha.commands._command import Shell
from tentacle_ha.commands._command import TentacleCommand
from tentacle_ha.commands._command import argv
from tentacle_ha.commands._command import clear_trusted_servers
from tentacle_ha.commands._command import configure_trust
from tentacle_ha.commands._command import derive_comms_address
from tentacle_ha.commands._command import poll_server
from tentacle_ha.commands._command import register_with
from tentacle_ha.commands._command import register_worker
from tentacle_ha.commands._command import render
from tentacle_ha.commands._command import server_comms
from tentacle_ha.commands._command import service_restart
from tentacle_ha.commands._command import set_polling_connection_count
from tentacle_ha.commands._command import update_trust

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


def __dir__() -> list[str]:
    return sorted(__all__)
