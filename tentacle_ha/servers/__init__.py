"""The servers wing: Tentacle's ``TrustedOctopusServers`` array, with its rules.

`TrustedServer` and `CommunicationStyle` (one entry, thumbprints, addresses:
``_entry``), `TrustedServers` (the array and its edits: ``_model``) and the
JSON text machinery that keeps an unchanged array byte for byte (``_json``).

May import: `tentacle_ha.errors` only.
"""

from tentacle_ha.servers._entry import SUBSCRIPTION_ALPHABET
from tentacle_ha.servers._entry import TRUSTED_SERVERS_KEY
from tentacle_ha.servers._entry import CommunicationStyle
from tentacle_ha.servers._entry import TrustedServer
from tentacle_ha.servers._entry import address_key
from tentacle_ha.servers._entry import canonical_address
from tentacle_ha.servers._entry import canonical_ipv6
from tentacle_ha.servers._entry import generate_subscription_id
from tentacle_ha.servers._entry import is_valid_thumbprint
from tentacle_ha.servers._entry import normalize_thumbprint
from tentacle_ha.servers._entry import same_address
from tentacle_ha.servers._entry import thumbprint_key
from tentacle_ha.servers._model import TrustedServers
from tentacle_ha.servers._model import leaves_orphaned
from tentacle_ha.servers._model import refuse_orphaning

__all__ = [
    "SUBSCRIPTION_ALPHABET",
    "TRUSTED_SERVERS_KEY",
    "CommunicationStyle",
    "TrustedServer",
    "TrustedServers",
    "address_key",
    "canonical_address",
    "canonical_ipv6",
    "generate_subscription_id",
    "is_valid_thumbprint",
    "leaves_orphaned",
    "normalize_thumbprint",
    "refuse_orphaning",
    "same_address",
    "thumbprint_key",
]
