"""Where TrustedServers must agree with Tentacle exactly: Squid, subscription IDs.

Facts from reference/tentacle-facts.md (§3 and §4 ``register-with``):
add-or-update upper-cases a non-blank ``Squid``; the subscription-ID
generator draws from the 32-character alphabet
``ABCDEFGHJKLMNPQRSTUVWXYZ23456789`` with index ``byte % 31 + 1``, so the
effective alphabet is its last 31 characters (``l`` included), lower-cased.
"""

from __future__ import annotations

import re
import string
from typing import Final

import pytest

from tentacle_ha.servers import SUBSCRIPTION_ALPHABET
from tentacle_ha.servers import CommunicationStyle
from tentacle_ha.servers import TrustedServer
from tentacle_ha.servers import TrustedServers
from tentacle_ha.servers import generate_subscription_id

T: Final = "9E4A07A1F5B2C8D3E6F7A8B9C0D1E2F3A4B5C6D7"
SUB: Final = "poll://g3662re9njtelsyfhm7t/"
# Verbatim from the facts file: RandomStringGenerator's alphabet and the
# effective pattern of a generated ID.
_TENTACLE_ALPHABET: Final = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
_EFFECTIVE: Final = re.compile(r"^poll://[b-hj-np-z2-9]{20}/$")


class TestSubscriptionAlphabet:
    """The alphabet is Tentacle's effective one, character for character."""

    def test_alphabet_is_tentacles_last_31_lower_cased(self) -> None:
        """``byte % 31 + 1`` skips the first letter: 31 characters, ``l`` in."""
        assert len(_TENTACLE_ALPHABET) == 32
        assert _TENTACLE_ALPHABET[1:].lower() == SUBSCRIPTION_ALPHABET
        assert len(SUBSCRIPTION_ALPHABET) == 31
        assert "l" in SUBSCRIPTION_ALPHABET
        assert "a" not in SUBSCRIPTION_ALPHABET

    def test_alphabet_is_exactly_the_effective_pattern(self) -> None:
        """Every character the facts' pattern allows is in it, and no other."""
        allowed = {
            c
            for c in string.printable
            if _EFFECTIVE.fullmatch(f"poll://{c * 20}/") is not None
        }
        assert allowed == set(SUBSCRIPTION_ALPHABET)

    def test_generated_ids_use_every_character(self) -> None:
        """2,000 IDs (40,000 draws) hit all 31 characters, ``l`` too."""
        # P(some character never drawn) < 31 * (30/31)**40000, about 1e-568.
        ids = [generate_subscription_id() for _ in range(2000)]
        assert all(_EFFECTIVE.fullmatch(i) for i in ids)
        drawn = {c for i in ids for c in i[len("poll://") : -1]}
        assert drawn == set(SUBSCRIPTION_ALPHABET)


def _polling(squid: str | None) -> TrustedServer:
    return TrustedServer(
        thumbprint=T,
        communication_style=CommunicationStyle.TENTACLE_ACTIVE,
        address="https://node1:10943",
        squid=squid,
        subscription_id=SUB,
    )


class TestSquid:
    """add-or-update upper-cases a non-blank Squid, as Tentacle does."""

    @pytest.mark.parametrize(
        ("given", "stored"),
        [
            ("sq-abc123", "SQ-ABC123"),
            ("Mixed", "MIXED"),
            ("ALREADY", "ALREADY"),
            ("stra\u00dfe", "STRA\u00dfE"),  # one char to one, as ToUpperInvariant
            (None, None),
            ("", ""),
            ("   ", "   "),
        ],
    )
    def test_add_or_update_upper_cases_squid(
        self, given: str | None, stored: str | None
    ) -> None:
        """Appended or replacing, the stored Squid is upper-cased when non-blank."""
        appended = TrustedServers().add_or_update(_polling(given))
        assert appended[0].squid == stored
        replaced = appended.add_or_update(_polling(given))
        assert len(replaced) == 1
        assert replaced[0].squid == stored

    def test_squid_is_written_upper_case(self) -> None:
        """The JSON written carries the upper-cased Squid."""
        servers = TrustedServers().add_or_update(_polling("sq-abc"))
        assert '"Squid":"SQ-ABC"' in servers.to_json()

    def test_reading_keeps_squid_as_written(self) -> None:
        """Reading (no add-or-update) does not touch the stored text."""
        text = (
            f'[{{"Thumbprint":"{T}","CommunicationStyle":2,"Address":'
            f'"https://n:10943","Squid":"lower","SubscriptionId":"{SUB}"}}]'
        )
        servers = TrustedServers.from_json(text)
        assert servers[0].squid == "lower"
        assert servers.to_json() == text
