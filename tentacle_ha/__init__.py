"""tentacle_ha: Octopus Deploy polling Tentacles for High Availability clusters.

The names below load on first use (`tentacle_ha._lazy`): ``import tentacle_ha``
costs only what is used, and the command line starts without the wings a
command does not need.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

# First, before anything heavier: a Ctrl-C while the CLI starts exits quietly.
from tentacle_ha import _interrupt  # noqa: F401 -- imported for that effect only
from tentacle_ha import _lazy
from tentacle_ha._secret import Secret
from tentacle_ha.errors import CheckFailedError
from tentacle_ha.errors import ClusterError
from tentacle_ha.errors import CommandError
from tentacle_ha.errors import ConfigEncodingError
from tentacle_ha.errors import ConfigError
from tentacle_ha.errors import ConfigParseError
from tentacle_ha.errors import ConfigValueError
from tentacle_ha.errors import ConflictError
from tentacle_ha.errors import EnvFileError
from tentacle_ha.errors import FakeServerError
from tentacle_ha.errors import FileTooLargeError
from tentacle_ha.errors import FleetError
from tentacle_ha.errors import InternalError
from tentacle_ha.errors import InvalidValueError
from tentacle_ha.errors import KeyNotFoundError
from tentacle_ha.errors import MachineKeyError
from tentacle_ha.errors import NothingMatchedError
from tentacle_ha.errors import NotRegularFileError
from tentacle_ha.errors import OrphaningEditError
from tentacle_ha.errors import ServerApiError
from tentacle_ha.errors import TentacleHAError
from tentacle_ha.errors import TrustedServersError
from tentacle_ha.errors import UnknownKeyError
from tentacle_ha.errors import UnsafeXMLError
from tentacle_ha.errors import UnsupportedConstructError
from tentacle_ha.errors import WriteError

if TYPE_CHECKING:
    from tentacle_ha.check import ApiTarget
    from tentacle_ha.check import CheckKind
    from tentacle_ha.check import CheckReport
    from tentacle_ha.check import CheckResult
    from tentacle_ha.check import CheckStatus
    from tentacle_ha.check import NodeTarget
    from tentacle_ha.check import PollTarget
    from tentacle_ha.check import run_checks
    from tentacle_ha.check import run_checks_sync
    from tentacle_ha.cluster import Cluster
    from tentacle_ha.cluster import Layout
    from tentacle_ha.cluster import Node
    from tentacle_ha.cluster import TargetOS
    from tentacle_ha.cluster import TenantedDeployment
    from tentacle_ha.cluster import Tentacle
    from tentacle_ha.cluster import TentacleKind
    from tentacle_ha.cluster import dumps_cluster
    from tentacle_ha.cluster import load_cluster
    from tentacle_ha.cluster import loads_cluster
    from tentacle_ha.cluster.layout import Step
    from tentacle_ha.cluster.layout import StepKind
    from tentacle_ha.cluster.layout import desired_servers
    from tentacle_ha.cluster.layout import migration_steps
    from tentacle_ha.commands import Option
    from tentacle_ha.commands import OptionKind
    from tentacle_ha.commands import TentacleCommand
    from tentacle_ha.commands.lb import LBFormat
    from tentacle_ha.commands.lb import render_lb
    from tentacle_ha.commands.plan import PlannedCommand
    from tentacle_ha.commands.plan import TentaclePlan
    from tentacle_ha.commands.plan import plan_migration
    from tentacle_ha.commands.plan import plan_registration
    from tentacle_ha.config import KEYS
    from tentacle_ha.config import CertificateSummary
    from tentacle_ha.config import EffectiveConfig
    from tentacle_ha.config import EffectiveValue
    from tentacle_ha.config import EnvFile
    from tentacle_ha.config import MachineKey
    from tentacle_ha.config import ProxySettings
    from tentacle_ha.config import SettingSource
    from tentacle_ha.config import TentacleConfig
    from tentacle_ha.config import check_known_key
    from tentacle_ha.config import dumps
    from tentacle_ha.config import effective_config
    from tentacle_ha.config import effective_polling_connections
    from tentacle_ha.config import env_contributes
    from tentacle_ha.config import is_known_key
    from tentacle_ha.config import load
    from tentacle_ha.config import loads
    from tentacle_ha.config import locate_env_file
    from tentacle_ha.config import needs_restart
    from tentacle_ha.config import parse_env_file
    from tentacle_ha.config import read_certificate
    from tentacle_ha.config import read_env_file
    from tentacle_ha.config import restart_required
    from tentacle_ha.config import suggest_key
    from tentacle_ha.fleet import FileOutcome
    from tentacle_ha.fleet import FilePlan
    from tentacle_ha.fleet import Status as FileStatus
    from tentacle_ha.fleet import apply as apply_fleet
    from tentacle_ha.fleet import load_plan
    from tentacle_ha.fleet import plan as plan_fleet
    from tentacle_ha.fleet.audit import Finding
    from tentacle_ha.fleet.audit import Severity
    from tentacle_ha.fleet.audit import audit_config
    from tentacle_ha.fleet.audit import audit_file
    from tentacle_ha.fleet.audit import audit_fleet
    from tentacle_ha.fleet.discover import Instance
    from tentacle_ha.fleet.discover import discover_instances
    from tentacle_ha.fleet.discover import expand_paths
    from tentacle_ha.fleet.edits import AddNode
    from tentacle_ha.fleet.edits import Edit
    from tentacle_ha.fleet.edits import KeepOnly
    from tentacle_ha.fleet.edits import RemoveNode
    from tentacle_ha.fleet.edits import Rotate
    from tentacle_ha.fleet.edits import SetKey
    from tentacle_ha.fleet.edits import SetPollingConnectionCount
    from tentacle_ha.fleet.edits import SyncToCluster
    from tentacle_ha.fleet.edits import UnsetKey
    from tentacle_ha.servers import CommunicationStyle
    from tentacle_ha.servers import TrustedServer
    from tentacle_ha.servers import TrustedServers
    from tentacle_ha.servers import address_key
    from tentacle_ha.servers import canonical_address
    from tentacle_ha.servers import canonical_ipv6
    from tentacle_ha.servers import generate_subscription_id
    from tentacle_ha.servers import is_valid_thumbprint
    from tentacle_ha.servers import leaves_orphaned
    from tentacle_ha.servers import normalize_thumbprint
    from tentacle_ha.servers import refuse_orphaning
    from tentacle_ha.servers import same_address
    from tentacle_ha.servers import thumbprint_key

__version__ = "0.1.0"

__all__ = [
    "KEYS",
    "AddNode",
    "ApiTarget",
    "CertificateSummary",
    "CheckFailedError",
    "CheckKind",
    "CheckReport",
    "CheckResult",
    "CheckStatus",
    "Cluster",
    "ClusterError",
    "CommandError",
    "CommunicationStyle",
    "ConfigEncodingError",
    "ConfigError",
    "ConfigParseError",
    "ConfigValueError",
    "ConflictError",
    "Edit",
    "EffectiveConfig",
    "EffectiveValue",
    "EnvFile",
    "EnvFileError",
    "FakeServerError",
    "FileOutcome",
    "FilePlan",
    "FileStatus",
    "FileTooLargeError",
    "Finding",
    "FleetError",
    "Instance",
    "InternalError",
    "InvalidValueError",
    "KeepOnly",
    "KeyNotFoundError",
    "LBFormat",
    "Layout",
    "MachineKey",
    "MachineKeyError",
    "Node",
    "NodeTarget",
    "NotRegularFileError",
    "NothingMatchedError",
    "Option",
    "OptionKind",
    "OrphaningEditError",
    "PlannedCommand",
    "PollTarget",
    "ProxySettings",
    "RemoveNode",
    "Rotate",
    "Secret",
    "ServerApiError",
    "SetKey",
    "SetPollingConnectionCount",
    "SettingSource",
    "Severity",
    "Step",
    "StepKind",
    "SyncToCluster",
    "TargetOS",
    "TenantedDeployment",
    "Tentacle",
    "TentacleCommand",
    "TentacleConfig",
    "TentacleHAError",
    "TentacleKind",
    "TentaclePlan",
    "TrustedServer",
    "TrustedServers",
    "TrustedServersError",
    "UnknownKeyError",
    "UnsafeXMLError",
    "UnsetKey",
    "UnsupportedConstructError",
    "WriteError",
    "__version__",
    "address_key",
    "apply_fleet",
    "audit_config",
    "audit_file",
    "audit_fleet",
    "canonical_address",
    "canonical_ipv6",
    "check_known_key",
    "desired_servers",
    "discover_instances",
    "dumps",
    "dumps_cluster",
    "effective_config",
    "effective_polling_connections",
    "env_contributes",
    "expand_paths",
    "generate_subscription_id",
    "is_known_key",
    "is_valid_thumbprint",
    "leaves_orphaned",
    "load",
    "load_cluster",
    "load_plan",
    "loads",
    "loads_cluster",
    "locate_env_file",
    "migration_steps",
    "needs_restart",
    "normalize_thumbprint",
    "parse_env_file",
    "plan_fleet",
    "plan_migration",
    "plan_registration",
    "read_certificate",
    "read_env_file",
    "refuse_orphaning",
    "render_lb",
    "restart_required",
    "run_checks",
    "run_checks_sync",
    "same_address",
    "suggest_key",
    "thumbprint_key",
]

_LAZY = {
    "ApiTarget": "tentacle_ha.check:ApiTarget",
    "CheckKind": "tentacle_ha.check:CheckKind",
    "CheckReport": "tentacle_ha.check:CheckReport",
    "CheckResult": "tentacle_ha.check:CheckResult",
    "CheckStatus": "tentacle_ha.check:CheckStatus",
    "NodeTarget": "tentacle_ha.check:NodeTarget",
    "PollTarget": "tentacle_ha.check:PollTarget",
    "run_checks": "tentacle_ha.check:run_checks",
    "run_checks_sync": "tentacle_ha.check:run_checks_sync",
    "Cluster": "tentacle_ha.cluster:Cluster",
    "Layout": "tentacle_ha.cluster:Layout",
    "Node": "tentacle_ha.cluster:Node",
    "TargetOS": "tentacle_ha.cluster:TargetOS",
    "TenantedDeployment": "tentacle_ha.cluster:TenantedDeployment",
    "Tentacle": "tentacle_ha.cluster:Tentacle",
    "TentacleKind": "tentacle_ha.cluster:TentacleKind",
    "dumps_cluster": "tentacle_ha.cluster:dumps_cluster",
    "load_cluster": "tentacle_ha.cluster:load_cluster",
    "loads_cluster": "tentacle_ha.cluster:loads_cluster",
    "Step": "tentacle_ha.cluster.layout:Step",
    "StepKind": "tentacle_ha.cluster.layout:StepKind",
    "desired_servers": "tentacle_ha.cluster.layout:desired_servers",
    "migration_steps": "tentacle_ha.cluster.layout:migration_steps",
    "Option": "tentacle_ha.commands:Option",
    "OptionKind": "tentacle_ha.commands:OptionKind",
    "TentacleCommand": "tentacle_ha.commands:TentacleCommand",
    "LBFormat": "tentacle_ha.commands.lb:LBFormat",
    "render_lb": "tentacle_ha.commands.lb:render_lb",
    "PlannedCommand": "tentacle_ha.commands.plan:PlannedCommand",
    "TentaclePlan": "tentacle_ha.commands.plan:TentaclePlan",
    "plan_migration": "tentacle_ha.commands.plan:plan_migration",
    "plan_registration": "tentacle_ha.commands.plan:plan_registration",
    "KEYS": "tentacle_ha.config:KEYS",
    "CertificateSummary": "tentacle_ha.config:CertificateSummary",
    "MachineKey": "tentacle_ha.config:MachineKey",
    "EffectiveConfig": "tentacle_ha.config:EffectiveConfig",
    "EffectiveValue": "tentacle_ha.config:EffectiveValue",
    "EnvFile": "tentacle_ha.config:EnvFile",
    "ProxySettings": "tentacle_ha.config:ProxySettings",
    "SettingSource": "tentacle_ha.config:SettingSource",
    "TentacleConfig": "tentacle_ha.config:TentacleConfig",
    "check_known_key": "tentacle_ha.config:check_known_key",
    "dumps": "tentacle_ha.config:dumps",
    "effective_config": "tentacle_ha.config:effective_config",
    "effective_polling_connections": "tentacle_ha.config:effective_polling_connections",
    "env_contributes": "tentacle_ha.config:env_contributes",
    "is_known_key": "tentacle_ha.config:is_known_key",
    "load": "tentacle_ha.config:load",
    "loads": "tentacle_ha.config:loads",
    "read_certificate": "tentacle_ha.config:read_certificate",
    "locate_env_file": "tentacle_ha.config:locate_env_file",
    "needs_restart": "tentacle_ha.config:needs_restart",
    "parse_env_file": "tentacle_ha.config:parse_env_file",
    "read_env_file": "tentacle_ha.config:read_env_file",
    "restart_required": "tentacle_ha.config:restart_required",
    "suggest_key": "tentacle_ha.config:suggest_key",
    "FileOutcome": "tentacle_ha.fleet:FileOutcome",
    "FilePlan": "tentacle_ha.fleet:FilePlan",
    "FileStatus": "tentacle_ha.fleet:Status",
    "apply_fleet": "tentacle_ha.fleet:apply",
    "load_plan": "tentacle_ha.fleet:load_plan",
    "plan_fleet": "tentacle_ha.fleet:plan",
    "Finding": "tentacle_ha.fleet.audit:Finding",
    "Severity": "tentacle_ha.fleet.audit:Severity",
    "audit_config": "tentacle_ha.fleet.audit:audit_config",
    "audit_file": "tentacle_ha.fleet.audit:audit_file",
    "audit_fleet": "tentacle_ha.fleet.audit:audit_fleet",
    "Instance": "tentacle_ha.fleet.discover:Instance",
    "discover_instances": "tentacle_ha.fleet.discover:discover_instances",
    "expand_paths": "tentacle_ha.fleet.discover:expand_paths",
    "AddNode": "tentacle_ha.fleet.edits:AddNode",
    "Edit": "tentacle_ha.fleet.edits:Edit",
    "KeepOnly": "tentacle_ha.fleet.edits:KeepOnly",
    "RemoveNode": "tentacle_ha.fleet.edits:RemoveNode",
    "Rotate": "tentacle_ha.fleet.edits:Rotate",
    "SetKey": "tentacle_ha.fleet.edits:SetKey",
    "SetPollingConnectionCount": "tentacle_ha.fleet.edits:SetPollingConnectionCount",
    "SyncToCluster": "tentacle_ha.fleet.edits:SyncToCluster",
    "UnsetKey": "tentacle_ha.fleet.edits:UnsetKey",
    "CommunicationStyle": "tentacle_ha.servers:CommunicationStyle",
    "TrustedServer": "tentacle_ha.servers:TrustedServer",
    "TrustedServers": "tentacle_ha.servers:TrustedServers",
    "address_key": "tentacle_ha.servers:address_key",
    "canonical_address": "tentacle_ha.servers:canonical_address",
    "canonical_ipv6": "tentacle_ha.servers:canonical_ipv6",
    "generate_subscription_id": "tentacle_ha.servers:generate_subscription_id",
    "is_valid_thumbprint": "tentacle_ha.servers:is_valid_thumbprint",
    "leaves_orphaned": "tentacle_ha.servers:leaves_orphaned",
    "normalize_thumbprint": "tentacle_ha.servers:normalize_thumbprint",
    "refuse_orphaning": "tentacle_ha.servers:refuse_orphaning",
    "same_address": "tentacle_ha.servers:same_address",
    "thumbprint_key": "tentacle_ha.servers:thumbprint_key",
}
"""Where each name that loads on first use lives: ``module:attribute``."""

if not TYPE_CHECKING:  # type checkers see the imports above instead
    __getattr__, __dir__ = _lazy.exports(globals(), _LAZY)
