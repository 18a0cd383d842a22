"""The config wing: read and edit a Tentacle.config without losing a byte.

`TentacleConfig` (`load`, `loads`, `dumps`, `save`), Tentacle's keys and typed
values, and the secrets among them. Inside: ``_document`` (the model),
``_source`` (decoding, the hardened lxml parse and the span scanner),
``_fast`` (the fast read path for files as Tentacle writes them: regex spans
checked against lxml; anything unusual takes the general path),
``_splice`` (replacing, inserting and removing ``<set>`` elements in the
original text) and ``_values`` (the key names and value rules) and ``_keys`` (the keys
Tentacle knows, did-you-mean), ``_restart`` (which changes need a restart),
``_machinekey`` (Tentacle's Linux machine key: decrypting
``Tentacle.Certificate``, encrypting proxy passwords; ``cryptography`` loads
on first use), ``_effective`` (the environment and a ``.env`` file overlaid
on the file, as Tentacle reads them).

May import: `tentacle_ha.servers`, `tentacle_ha.errors` and the shared I/O
(`tentacle_ha._atomic`, `tentacle_ha._lock`, `tentacle_ha._secret`,
`tentacle_ha._lazy`).
"""

from tentacle_ha.config._document import KEYS
from tentacle_ha.config._document import MAX_FILE_SIZE
from tentacle_ha.config._document import SECRET_KEYS
from tentacle_ha.config._document import ProxySettings
from tentacle_ha.config._document import TentacleConfig
from tentacle_ha.config._document import dumps
from tentacle_ha.config._document import load
from tentacle_ha.config._document import loads
from tentacle_ha.config._effective import CONTRIBUTE_FLAG
from tentacle_ha.config._effective import ENV_KEYS
from tentacle_ha.config._effective import MAX_POLLING_CONNECTIONS
from tentacle_ha.config._effective import POLLING_COUNT_ENV
from tentacle_ha.config._effective import EffectiveConfig
from tentacle_ha.config._effective import EffectiveValue
from tentacle_ha.config._effective import EnvFile
from tentacle_ha.config._effective import SettingSource
from tentacle_ha.config._effective import effective_config
from tentacle_ha.config._effective import effective_polling_connections
from tentacle_ha.config._effective import env_contributes
from tentacle_ha.config._effective import locate_env_file
from tentacle_ha.config._effective import parse_env_file
from tentacle_ha.config._effective import read_env_file
from tentacle_ha.config._keys import KNOWN_KEYS
from tentacle_ha.config._keys import check_known_key
from tentacle_ha.config._keys import is_known_key
from tentacle_ha.config._keys import suggest_key
from tentacle_ha.config._machinekey import MACHINE_ID_IV
from tentacle_ha.config._machinekey import MACHINE_ID_PATH
from tentacle_ha.config._machinekey import MACHINE_KEY_PATH
from tentacle_ha.config._machinekey import CertificateSummary
from tentacle_ha.config._machinekey import MachineKey
from tentacle_ha.config._machinekey import read_certificate
from tentacle_ha.config._restart import RESTART_KEYS
from tentacle_ha.config._restart import needs_restart
from tentacle_ha.config._restart import restart_required

__all__ = [
    "CONTRIBUTE_FLAG",
    "ENV_KEYS",
    "KEYS",
    "KNOWN_KEYS",
    "MACHINE_ID_IV",
    "MACHINE_ID_PATH",
    "MACHINE_KEY_PATH",
    "MAX_FILE_SIZE",
    "MAX_POLLING_CONNECTIONS",
    "POLLING_COUNT_ENV",
    "RESTART_KEYS",
    "SECRET_KEYS",
    "CertificateSummary",
    "EffectiveConfig",
    "EffectiveValue",
    "EnvFile",
    "MachineKey",
    "ProxySettings",
    "SettingSource",
    "TentacleConfig",
    "check_known_key",
    "dumps",
    "effective_config",
    "effective_polling_connections",
    "env_contributes",
    "is_known_key",
    "load",
    "loads",
    "locate_env_file",
    "needs_restart",
    "parse_env_file",
    "read_certificate",
    "read_env_file",
    "restart_required",
    "suggest_key",
]
