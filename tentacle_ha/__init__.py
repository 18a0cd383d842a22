"""tentacle_ha: Octopus Deploy polling Tentacles for High Availability clusters."""

from tentacle_ha._secret import Secret
from tentacle_ha.config import KEYS
from tentacle_ha.config import ProxySettings
from tentacle_ha.config import TentacleConfig
from tentacle_ha.config import dumps
from tentacle_ha.config import load
from tentacle_ha.config import loads
from tentacle_ha.errors import CheckFailedError
from tentacle_ha.errors import ClusterError
from tentacle_ha.errors import CommandError
from tentacle_ha.errors import ConfigEncodingError
from tentacle_ha.errors import ConfigError
from tentacle_ha.errors import ConfigParseError
from tentacle_ha.errors import ConfigValueError
from tentacle_ha.errors import ConflictError
from tentacle_ha.errors import FileTooLargeError
from tentacle_ha.errors import FleetError
from tentacle_ha.errors import InternalError
from tentacle_ha.errors import InvalidValueError
from tentacle_ha.errors import KeyNotFoundError
from tentacle_ha.errors import TentacleHAError
from tentacle_ha.errors import TrustedServersError
from tentacle_ha.errors import UnsafeXMLError
from tentacle_ha.errors import UnsupportedConstructError
from tentacle_ha.errors import WriteError
from tentacle_ha.servers import CommunicationStyle
from tentacle_ha.servers import TrustedServer
from tentacle_ha.servers import TrustedServers
from tentacle_ha.servers import generate_subscription_id
from tentacle_ha.servers import is_valid_thumbprint
from tentacle_ha.servers import normalize_thumbprint
from tentacle_ha.servers import same_address

__version__ = "0.1.0"

__all__ = [
    "KEYS",
    "CheckFailedError",
    "ClusterError",
    "CommandError",
    "CommunicationStyle",
    "ConfigEncodingError",
    "ConfigError",
    "ConfigParseError",
    "ConfigValueError",
    "ConflictError",
    "FileTooLargeError",
    "FleetError",
    "InternalError",
    "InvalidValueError",
    "KeyNotFoundError",
    "ProxySettings",
    "Secret",
    "TentacleConfig",
    "TentacleHAError",
    "TrustedServer",
    "TrustedServers",
    "TrustedServersError",
    "UnsafeXMLError",
    "UnsupportedConstructError",
    "WriteError",
    "__version__",
    "dumps",
    "generate_subscription_id",
    "is_valid_thumbprint",
    "load",
    "loads",
    "normalize_thumbprint",
    "same_address",
]
