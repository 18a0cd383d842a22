"""The table of the keys Tentacle knows, and did-you-mean."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tentacle_ha.config import KNOWN_KEYS
from tentacle_ha.config import check_known_key
from tentacle_ha.config import is_known_key
from tentacle_ha.config import suggest_key
from tentacle_ha.errors import UnknownKeyError

FACTS = Path("/work/shared/reference/tentacle-facts.md")


def _keys_in_the_facts_table() -> set[str]:
    """The keys of section 2's table, brace groups expanded."""
    text = FACTS.read_text(encoding="utf-8")
    section = text.split("## 2. Config keys", 1)[1].split("\n## ", 1)[0]
    keys: set[str] = set()
    for cell in re.findall(r"^\| `([^`]+)` \|", section, flags=re.MULTILINE):
        group = re.fullmatch(r"(.*)\{(.*)\}", cell)
        if group:
            keys.update(group[1] + f for f in group[2].split(","))
        else:
            keys.add(cell)
    return keys


@pytest.mark.skipif(not FACTS.exists(), reason="the shared facts file is not here")
def test_every_key_the_facts_table_names_is_known() -> None:
    """Section 2 of the facts file, and the legacy master key, are all in the table."""
    expected = _keys_in_the_facts_table()
    assert len(expected) >= 20  # the parse found the table
    assert expected | {"Octopus.Storage.MasterKey"} == set(KNOWN_KEYS)


def test_known_keys_compare_ignoring_case() -> None:
    """As Tentacle's OrdinalIgnoreCase dictionary does."""
    assert is_known_key("tentacle.communication.pollingconnectioncount")
    assert is_known_key("OCTOPUS.SERVER.PROXY.PROXYPASSWORD")
    assert not is_known_key("Tentacle.Comunication.PollingConnectionCount")
    assert not is_known_key("Tentacle.Roles")  # show-configuration only


def test_did_you_mean() -> None:
    """The nearest known key (or a key in the file), in its own spelling."""
    assert (
        suggest_key("Tentacle.Comunication.PollingConnectionCount")
        == "Tentacle.Communication.PollingConnectionCount"
    )
    assert suggest_key("tentacle.services.portnumbr") == "Tentacle.Services.PortNumber"
    assert suggest_key("My.Custom.Settin", ["My.Custom.Setting"]) == "My.Custom.Setting"
    assert suggest_key("Something.Else.Entirely") is None


def test_check_known_key() -> None:
    """Unknown keys are refused with the suggestion; known or present ones pass."""
    with pytest.raises(UnknownKeyError, match=r"did you mean 'Octopus\.Home'\?"):
        check_known_key("Octopus.Hom")
    with pytest.raises(UnknownKeyError, match="--new-key"):
        check_known_key("Nothing.Like.It")
    check_known_key("octopus.home")
    check_known_key("My.Key", present=["my.key"])
