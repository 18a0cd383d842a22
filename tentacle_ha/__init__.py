"""tentacle_ha: Octopus Deploy polling Tentacles for High Availability clusters."""

from tentacle_ha._secret import Secret
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

__version__ = "0.1.0"

__all__ = [
    "CheckFailedError",
    "ClusterError",
    "CommandError",
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
    "Secret",
    "TentacleHAError",
    "TrustedServersError",
    "UnsafeXMLError",
    "UnsupportedConstructError",
    "WriteError",
    "__version__",
]
