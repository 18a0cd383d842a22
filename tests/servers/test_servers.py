"""TrustedServers: read what Tentacle reads, write what it writes, operations."""

from __future__ import annotations

import json
import re

import pytest

from tentacle_ha.errors import InvalidValueError
from tentacle_ha.errors import OrphaningEditError
from tentacle_ha.errors import TrustedServersError
from tentacle_ha.servers import CommunicationStyle
from tentacle_ha.servers import TrustedServer
from tentacle_ha.servers import TrustedServers
from tentacle_ha.servers import generate_subscription_id
from tentacle_ha.servers import is_valid_thumbprint
from tentacle_ha.servers import leaves_orphaned
from tentacle_ha.servers import normalize_thumbprint
from tentacle_ha.servers import same_address
from tentacle_ha.servers import thumbprint_key

T = "9E4A07A1F5B2C8D3E6F7A8B9C0D1E2F3A4B5C6D7"
T2 = "1111111111111111111111111111111111111111"
SUB = "poll://g3662re9njtelsyfhm7t/"
TENTACLE_WRITTEN = (
    f'[{{"Thumbprint":"{T}","CommunicationStyle":2,"Address":"https://10.0.255.160:10943",'
    f'"Squid":null,"SubscriptionId":"{SUB}"}}]'
)


def test_tentacle_written_array_reads_and_writes_identically() -> None:
    """The array Tentacle writes parses to the model and re-renders to the same text."""
    servers = TrustedServers.from_json(TENTACLE_WRITTEN)
    assert servers[0] == TrustedServer(
        thumbprint=T,
        communication_style=CommunicationStyle.TENTACLE_ACTIVE,
        address="https://10.0.255.160:10943",
        subscription_id=SUB,
    )
    assert servers.to_json() == TENTACLE_WRITTEN
    same = servers.replace_all(list(servers))
    assert same.to_json() == TENTACLE_WRITTEN
    rebuilt = TrustedServers(list(servers)).to_json()
    assert rebuilt == TENTACLE_WRITTEN


@pytest.mark.parametrize(
    ("raw", "style"),
    [
        ('"TentacleActive"', CommunicationStyle.TENTACLE_ACTIVE),
        ('"TentaclePassive"', CommunicationStyle.TENTACLE_PASSIVE),
        ("2", CommunicationStyle.TENTACLE_ACTIVE),
        ('"2"', CommunicationStyle.TENTACLE_ACTIVE),
        ("null", CommunicationStyle.NONE),
        ("11", CommunicationStyle.KUBERNETES_TENTACLE),
        ("12", CommunicationStyle.AWS_ECS_CLUSTER),
    ],
)
def test_style_forms_tentacle_accepts(raw: str, style: CommunicationStyle) -> None:
    """Numbers, member names, numeric strings and null read as Tentacle reads them."""
    servers = TrustedServers.from_json(
        f'[{{"Thumbprint":"{T}","CommunicationStyle":{raw}}}]'
    )
    assert servers[0].communication_style is style


@pytest.mark.parametrize("raw", ['"tentacleactive"', '"Polling"', "13", "true", "[]"])
def test_style_forms_tentacle_refuses(raw: str) -> None:
    """Member names are case-sensitive and unknown numbers are refused."""
    with pytest.raises(TrustedServersError, match="CommunicationStyle"):
        TrustedServers.from_json(f'[{{"Thumbprint":"{T}","CommunicationStyle":{raw}}}]')


def test_missing_fields_and_field_case() -> None:
    """Missing fields are null/None, field names match ignoring case (as Newtonsoft)."""
    servers = TrustedServers.from_json(
        f'[{{"thumbprint":"{T}","ADDRESS":"https://n:1"}}]'
    )
    assert servers[0].communication_style is CommunicationStyle.NONE
    assert servers[0].address == "https://n:1"
    assert servers[0].subscription_id is None


def test_unknown_fields_survive_edits() -> None:
    """Unknown fields are kept, in order, after the known ones, on every write."""
    text = (
        f'[{{"Future":{{"a":[1, 2]}},"Thumbprint":"{T}","CommunicationStyle":2,'
        '"Address":"https://n1:10943","Extra":"x"}]'
    )
    servers = TrustedServers.from_json(text).add_polling(T, "https://n2:10943")
    out = json.loads(servers.to_json())
    assert list(out[0]) == [
        "Thumbprint",
        "CommunicationStyle",
        "Address",
        "Squid",
        "SubscriptionId",
        "Future",
        "Extra",
    ]
    assert out[0]["Future"] == {"a": [1, 2]}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{}", "must be a JSON array"),
        ("[1]", "not a JSON object"),
        ('[{"CommunicationStyle":2}]', "no Thumbprint"),
        ('[{"Thumbprint":"  "}]', "no Thumbprint"),
        ('[{"Thumbprint":5}]', "must be a string"),
        (f'[{{"Thumbprint":"{T}","Address":7}}]', "must be a string"),
        (f'[{{"Thumbprint":"{T}"}}] x', "extra data"),
        (f'[{{"Thumbprint":"{T}"}} {{}}]', "expected ',' or ']'"),
        ('[{"Thumbprint":', "invalid JSON"),
    ],
)
def test_broken_arrays(text: str, message: str) -> None:
    """Broken arrays raise TrustedServersError with a position inside the text."""
    with pytest.raises(TrustedServersError, match=re.escape(message)) as info:
        TrustedServers.from_json(text)
    assert info.value.line == 1
    assert info.value.col is not None


def test_blank_is_empty() -> None:
    """A missing or blank value is an empty list, as Tentacle reads it."""
    assert len(TrustedServers.from_json(None)) == 0
    assert len(TrustedServers.from_json("  ")) == 0
    assert TrustedServers.from_json("[]").to_json() == "[]"
    assert TrustedServers().add_listening(T).to_json() == (
        f'[{{"Thumbprint":"{T}","CommunicationStyle":1,"Address":null,'
        '"Squid":null,"SubscriptionId":null}]'
    )


def test_add_polling_reuses_subscription_id() -> None:
    """A new node's entry reuses the thumbprint's SubscriptionId, like poll-server."""
    servers = TrustedServers.from_json(TENTACLE_WRITTEN)
    more = servers.add_polling(T.lower(), "https://node2:10943")
    assert [s.subscription_id for s in more] == [SUB, SUB]
    assert more[1].thumbprint == T
    assert len(servers) == 1  # immutable


def test_add_polling_generates_when_none() -> None:
    """Without an existing polling entry a fresh ID is generated."""
    servers = TrustedServers().add_polling(T, "https://node1:10943")
    assert re.fullmatch(r"poll://[b-hj-np-z2-9]{20}/", servers[0].subscription_id or "")


def test_add_or_update_replaces_in_place() -> None:
    """An update of an entry (same thumbprint and URI) keeps its position."""
    servers = (
        TrustedServers()
        .add_polling(T, "https://node1:10943", subscription_id=SUB)
        .add_polling(T, "https://node2:10943")
        .add_listening(T)
    )
    updated = servers.add_polling(
        T, "HTTPS://NODE1:10943/", subscription_id="poll://x/"
    )
    assert [s.address for s in updated] == [
        "HTTPS://NODE1:10943/",
        "https://node2:10943",
        None,
    ]
    assert updated[0].subscription_id == "poll://x/"
    again = updated.add_listening(T.lower())
    assert len(again) == 3


def test_add_or_update_collapses_hand_made_duplicates() -> None:
    """Duplicates (same thumbprint and address) collapse into the first one."""
    entry = TrustedServer.polling(T, "https://n:10943", subscription_id=SUB)
    servers = TrustedServers([entry, entry, TrustedServer.listening(T2)])
    assert list(servers.add_or_update(entry)) == [entry, TrustedServer.listening(T2)]


def test_remove_by_thumbprint_address_or_both() -> None:
    """remove() matches thumbprints ignoring case, addresses as URIs."""
    servers = (
        TrustedServers()
        .add_polling(T, "https://node1:10943")
        .add_polling(T, "https://node2:10943")
        .add_listening(T2)
    )
    assert len(servers.remove(thumbprint=T.lower(), allow_empty=True)) == 1
    assert len(servers.remove(address="https://NODE1:10943/")) == 2
    assert len(servers.remove(thumbprint=T2, address="https://node1:10943")) == 3
    with pytest.raises(InvalidValueError):
        servers.remove()


def test_remove_and_keep_only_refuse_to_orphan() -> None:
    """Removing the last polling entry, or the last entry, needs allow_empty."""
    servers = (
        TrustedServers()
        .add_polling(T, "https://node1:10943")
        .add_polling(T, "https://node2:10943")
        .add_listening(T2)
    )
    with pytest.raises(OrphaningEditError, match=r"no polling entry.*--allow-empty"):
        servers.remove(thumbprint=T)
    with pytest.raises(OrphaningEditError, match="no polling entry"):
        servers.keep_only(["https://elsewhere:10943"])
    with pytest.raises(OrphaningEditError, match="no polling entry"):
        servers.remove(address="https://node1:10943").remove(
            address="https://node2:10943"
        )
    listening = TrustedServers().add_listening(T2)
    with pytest.raises(OrphaningEditError, match="no trusted server"):
        listening.remove(thumbprint=T2)
    # Negative controls: what leaves something to poll or trust goes through.
    assert len(servers.remove(address="https://node1:10943")) == 2
    assert len(servers.remove(thumbprint=T2)) == 2
    assert len(listening.add_listening(T).remove(thumbprint=T2)) == 1
    assert len(servers.keep_only(["https://node2:10943"], keep_listening=False)) == 1
    assert list(servers.remove(thumbprint=T, allow_empty=True)) == [servers[2]]
    assert not servers.keep_only([], keep_listening=False, allow_empty=True)
    assert not leaves_orphaned(TrustedServers(), TrustedServers())


def test_rotate_direct_and_staged() -> None:
    """Direct swaps in place; staged adds new beside old; finishing drops the old."""
    servers = (
        TrustedServers()
        .add_polling(T, "https://node1:10943", subscription_id=SUB)
        .add_polling(T, "https://node2:10943")
        .add_listening(T2)
    )
    direct = servers.rotate(T, "22" * 20)
    assert [s.thumbprint for s in direct] == ["2" * 40, "2" * 40, T2]
    assert [s.subscription_id for s in direct][:2] == [SUB, SUB]
    staged = servers.rotate(
        ":".join([T[i : i + 2] for i in range(0, 40, 2)]), "2" * 40, staged=True
    )
    assert [(s.thumbprint[:2], s.address) for s in staged] == [
        ("9E", "https://node1:10943"),
        ("22", "https://node1:10943"),
        ("9E", "https://node2:10943"),
        ("22", "https://node2:10943"),
        ("11", None),
    ]
    assert staged.rotate(T, "2" * 40, staged=True) == staged  # idempotent
    finished = staged.rotate(T, "2" * 40)
    assert finished == direct
    with pytest.raises(InvalidValueError):
        servers.rotate(T, "nope")


def test_keep_only_like_clear_trusted_servers() -> None:
    """keep_only keeps matching addresses (http read as https) and listening entries."""
    servers = (
        TrustedServers()
        .add_polling(T, "https://node1:10943")
        .add_polling(T, "https://lb:10943")
        .add_listening(T2)
    )
    kept = servers.keep_only(["http://LB:10943/"])
    assert [s.address for s in kept] == ["https://lb:10943", None]
    assert [
        s.address for s in servers.keep_only(["https://lb:10943"], keep_listening=False)
    ] == ["https://lb:10943"]


def test_polling_queries() -> None:
    """polling(), for_thumbprint() and subscription_id_for() select as documented."""
    servers = TrustedServers.from_json(TENTACLE_WRITTEN).add_listening(T2)
    assert len(servers.polling()) == 1
    assert len(servers.for_thumbprint(T.lower())) == 1
    assert servers.subscription_id_for(T) == SUB
    assert servers.subscription_id_for(T2) is None
    k8s = TrustedServer(thumbprint=T, communication_style=11, address="https://x:1")
    assert k8s.is_polling
    assert not TrustedServer(thumbprint=T, communication_style=11).is_polling


def test_polling_entry_validation() -> None:
    """Polling entries need https with a port or wss, and a poll:// subscription."""
    for bad in [
        "http://n:10943",
        "https://n",
        "node1:10943",
        "https://:10943",
        "https://n:99999",
    ]:
        with pytest.raises(InvalidValueError):
            TrustedServer.polling(T, bad)
    with pytest.raises(InvalidValueError):
        TrustedServer.polling(T, "https://n:10943", subscription_id="abc")
    assert (
        TrustedServer.polling(T, "wss://octopus/OctopusComms").address
        == "wss://octopus/OctopusComms"
    )


@pytest.mark.parametrize(
    "raw",
    [
        T,
        T.lower(),
        " ".join(T[i : i + 2] for i in range(0, 40, 2)),
        ":".join(T[i : i + 2] for i in range(0, 40, 2)).lower(),
        "SHA1 Fingerprint=" + ":".join(T[i : i + 2] for i in range(0, 40, 2)),
    ],
)
def test_normalize_thumbprint_accepts_common_forms(raw: str) -> None:
    """Spaces, colons, lower case and openssl's prefix normalise to Tentacle's form."""
    assert normalize_thumbprint(raw) == T
    assert is_valid_thumbprint(normalize_thumbprint(raw))


@pytest.mark.parametrize("raw", ["", "XYZ", T[:-1], T + "0", "G" * 40])
def test_normalize_thumbprint_refuses(raw: str) -> None:
    """Anything that is not 40 hex digits is refused."""
    with pytest.raises(InvalidValueError):
        normalize_thumbprint(raw)
    assert not is_valid_thumbprint(raw)


def test_subscription_ids_match_tentacle_pattern() -> None:
    """Generated IDs have Tentacle's effective pattern and are not repeated."""
    ids = {generate_subscription_id() for _ in range(200)}
    assert len(ids) == 200
    assert all(re.fullmatch(r"poll://[b-hj-np-z2-9]{20}/", i) for i in ids)


@pytest.mark.parametrize(
    ("a", "b", "same"),
    [
        ("https://h:443", "https://H", True),
        ("https://h:10943", "https://h:10943/", True),
        ("https://h:10943", "https://h:10944", False),
        ("wss://h/OctopusComms", "WSS://H:443/octopuscomms", True),
        (None, None, True),
        (None, "https://h:1", False),
        ("not a uri", "NOT A URI", True),
    ],
)
def test_same_address(a: str | None, b: str | None, *, same: bool) -> None:
    """Addresses compare as URIs: case, default ports and empty paths do not count."""
    assert same_address(a, b) is same


def test_style_names_and_parse() -> None:
    """Every style has its .NET name; CLI aliases only when asked."""
    assert CommunicationStyle.TENTACLE_ACTIVE.octopus_name == "TentacleActive"
    assert len({s.octopus_name for s in CommunicationStyle}) == 13
    assert (
        CommunicationStyle.parse("Polling", aliases=True)
        is CommunicationStyle.TENTACLE_ACTIVE
    )
    assert (
        CommunicationStyle.parse("listening", aliases=True)
        is CommunicationStyle.TENTACLE_PASSIVE
    )
    with pytest.raises(ValueError, match="not a CommunicationStyle"):
        CommunicationStyle.parse(1.5)


def test_sequence_protocol_and_type_checks() -> None:
    """TrustedServers behaves as an immutable sequence and holds only TrustedServer."""
    servers = TrustedServers.from_json(TENTACLE_WRITTEN)
    assert servers[0:1] == (servers[0],)
    assert servers == [servers[0]]
    assert servers != "x"
    assert hash(servers) == hash(TrustedServers(list(servers)))
    assert "TrustedServers([TrustedServer(" in repr(servers)
    assert servers.to_list()[0]["CommunicationStyle"] == 2
    with pytest.raises(TypeError):
        TrustedServers(["nope"])  # type: ignore[list-item]


def test_thumbprint_key_compares_like_normalize_without_refusing() -> None:
    """thumbprint_key strips what normalize_thumbprint strips, and never refuses."""
    colons = ":".join(T[i : i + 2] for i in range(0, 40, 2)).lower()
    assert thumbprint_key(colons) == normalize_thumbprint(colons) == T
    assert thumbprint_key(" odd-value ") == "ODDVALUE"
