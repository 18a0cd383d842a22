"""The cluster wing: the HA cluster description and the server lists it implies.

`Cluster`, `Node`, `Tentacle` and `Layout` (``_model``), the TOML reader with
positioned errors (``_reader``) and its value checks (``_values``); what the
server API says and how it differs from a cluster file (``_server``), and a
first cluster file drawn from it (``_draft``);
`tentacle_ha.cluster.layout` turns a cluster into each Tentacle's desired
trusted servers and the steps that migrate a config there.

May import: `tentacle_ha.servers` and `tentacle_ha.errors`.
"""

from tentacle_ha.cluster._draft import draft_cluster
from tentacle_ha.cluster._draft import draft_data
from tentacle_ha.cluster._model import DEFAULT_COMMS_PORT
from tentacle_ha.cluster._model import DEFAULT_INSTANCE
from tentacle_ha.cluster._model import Cluster
from tentacle_ha.cluster._model import Layout
from tentacle_ha.cluster._model import Node
from tentacle_ha.cluster._model import TargetOS
from tentacle_ha.cluster._model import TenantedDeployment
from tentacle_ha.cluster._model import Tentacle
from tentacle_ha.cluster._model import TentacleKind
from tentacle_ha.cluster._model import dumps_cluster
from tentacle_ha.cluster._model import format_host
from tentacle_ha.cluster._reader import load_cluster
from tentacle_ha.cluster._reader import loads_cluster
from tentacle_ha.cluster._server import LOAD_BALANCER_MIN_VERSION
from tentacle_ha.cluster._server import Drift
from tentacle_ha.cluster._server import DriftCode
from tentacle_ha.cluster._server import ServerNode
from tentacle_ha.cluster._server import ServerState
from tentacle_ha.cluster._server import server_drift

__all__ = [
    "DEFAULT_COMMS_PORT",
    "DEFAULT_INSTANCE",
    "LOAD_BALANCER_MIN_VERSION",
    "Cluster",
    "Drift",
    "DriftCode",
    "Layout",
    "Node",
    "ServerNode",
    "ServerState",
    "TargetOS",
    "TenantedDeployment",
    "Tentacle",
    "TentacleKind",
    "draft_cluster",
    "draft_data",
    "dumps_cluster",
    "format_host",
    "load_cluster",
    "loads_cluster",
    "server_drift",
]


def __dir__() -> list[str]:
    return sorted(__all__)
