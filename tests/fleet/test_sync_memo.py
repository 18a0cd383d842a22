"""SyncToCluster remembers its result per list shape: always the steps' result."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING
from typing import Any
from typing import cast

import pytest
from helpers.fleetgen import ADDRESSES
from helpers.fleetgen import THUMBPRINT
from helpers.fleetgen import cluster_toml
from helpers.fleetgen import write_fleet
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st

from tentacle_ha import loads
from tentacle_ha.cluster import loads_cluster
from tentacle_ha.errors import TentacleHAError
from tentacle_ha.fleet import _plan_apply
from tentacle_ha.fleet import _sync_memo
from tentacle_ha.fleet import edits
from tentacle_ha.fleet.discover import _Found
from tentacle_ha.servers import TRUSTED_SERVERS_KEY
from tentacle_ha.servers import TrustedServers

if TYPE_CHECKING:
    from pathlib import Path

    from tentacle_ha.config import TentacleConfig


def _cluster(*names: str, layout: str = "unique-address") -> str:
    lb = "lb.octopus.example.com:10943" if layout == "load-balancer" else None
    return cluster_toml(*names, layout=layout, load_balancer=lb)


_OTHER = "0123456789ABCDEF0123456789ABCDEF01234567"
_SYNCS = {
    "add a node": lambda: edits.SyncToCluster(
        loads_cluster(_cluster("node1", "node2", "node3", "node4"), path="c.toml")
    ),
    "drop a node": lambda: edits.SyncToCluster(
        loads_cluster(_cluster("node1", "node2"), path="c.toml")
    ),
    "load balancer": lambda: edits.SyncToCluster(
        loads_cluster(_cluster("node1", "node2", layout="load-balancer"), path="c.toml")
    ),
    "retire another thumbprint": lambda: edits.SyncToCluster(
        loads_cluster(_cluster("node1", "node3"), path="c.toml"), retire=(_OTHER,)
    ),
    "allow empty": lambda: edits.SyncToCluster(
        loads_cluster(_cluster("node2"), path="c.toml"), allow_empty=True
    ),
}


def _direct(edit: edits.SyncToCluster, doc: TentacleConfig) -> None:
    """What `SyncToCluster.apply` did before it remembered shapes."""
    doc.trusted_servers = edit._converged(doc)


def _outcome(
    edit: edits.SyncToCluster, data: bytes, path: str, *, remembered: bool
) -> tuple[object, ...]:
    """Everything a plan or apply takes from the edit: bytes, keys, or the error."""
    try:
        doc = loads(data, path=path)
        skip = edit.skip_reason(doc) if remembered else edits._not_polling(doc)
        if skip is not None:
            return ("skipped", skip)
        if remembered:
            edit.apply(doc)
        else:
            _direct(edit, doc)
    except TentacleHAError as exc:
        return ("failed", type(exc).__name__, str(exc))
    return ("done", doc.dumps(), doc.changed_keys, doc.redacted_text())


@pytest.mark.parametrize("sync", sorted(_SYNCS))
def test_a_fleet_synced_with_remembered_shapes_is_byte_for_byte_the_same(
    tmp_path: Path, sync: str
) -> None:
    """Every drift, pretty arrays, Windows and Linux files, broken and cloned
    ones: the remembered route gives what the steps give, and is taken."""
    edit = _SYNCS[sync]()
    paths = write_fleet(tmp_path, 90, seed=7, drifted=20, broken=3, cloned=4)
    served = 0
    for path in paths:
        data = path.read_bytes()
        before = len(_sync_memo._current[1]) if _sync_memo._current[0] is edit else 0
        ours = _outcome(edit, data, str(path), remembered=True)
        theirs = _outcome(edit, data, str(path), remembered=False)
        assert ours == theirs, path
        served += ours[0] == "done" and len(_sync_memo._current[1]) == before
    assert _sync_memo._current[0] is edit
    assert 1 <= len(_sync_memo._current[1]) < 20
    assert served >= 50  # most files were served from a remembered shape


def test_plans_are_the_same_with_and_without_remembered_shapes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The plan results (hashes, diffs, reasons) of a whole fleet are equal."""
    paths = write_fleet(tmp_path, 60, seed=8, drifted=10, broken=2)
    found = [_Found(str(p), explicit=False) for p in paths]
    ours = [_plan_apply._plan_one(f, _SYNCS["add a node"]()) for f in found]
    monkeypatch.setattr(_sync_memo, "_MAX_SHAPES", 0)
    edit = _SYNCS["add a node"]()
    theirs = [_plan_apply._plan_one(f, edit) for f in found]
    assert not _sync_memo._current[1]  # nothing remembered: the steps every time
    assert ours == theirs


# -- generated arrays: IDs of any length, shared, in other places ------------------

_ID_CHARS = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
_entry = st.fixed_dictionaries(
    {
        "thumbprint": st.sampled_from([THUMBPRINT, THUMBPRINT.lower(), _OTHER]),
        "style": st.sampled_from([1, 2, 2, 2]),
        "address": st.sampled_from(
            [*ADDRESSES, "https://node4.octopus.example.com:10943", "http://x:1"]
        ),
        "id": st.sampled_from([0, 0, 1, 2, None]),  # which ID, or null
        "extra": st.sampled_from([None, "note", "id"]),  # an unknown field
    }
)


def _array(entries: list[dict[str, object]], ids: list[str], *, pretty: bool) -> str:
    servers = []
    for entry in entries:
        server: dict[str, object] = {
            "Thumbprint": entry["thumbprint"],
            "CommunicationStyle": entry["style"],
            "Address": entry["address"],
            "Squid": None,
            "SubscriptionId": None
            if entry["id"] is None
            else ids[cast("int", entry["id"])],
        }
        if entry["extra"] == "note":
            server["Note"] = "kept"
        elif entry["extra"] == "id":
            server["Note"] = ids[0]  # the ID outside SubscriptionId
        servers.append(server)
    if pretty:
        return json.dumps(servers, indent=2)
    return json.dumps(servers, separators=(",", ":"))


def _config(array: str) -> bytes:
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n<octopus-settings>\n'
        f'  <set key="{TRUSTED_SERVERS_KEY}">{array}</set>\n'
        "</octopus-settings>\n"
    ).encode()


@settings(max_examples=150)
@given(
    entries=st.lists(_entry, min_size=1, max_size=5),
    assignments=st.lists(
        st.lists(
            st.text(_ID_CHARS, min_size=1, max_size=24).map(lambda t: f"poll://{t}/"),
            min_size=3,
            max_size=3,
            unique=True,
        ),
        min_size=2,
        max_size=4,
    ),
    pretty=st.booleans(),
    sync=st.sampled_from(sorted(_SYNCS)),
)
def test_renamed_ids_give_the_steps_result(
    entries: list[dict[str, object]],
    assignments: list[list[str]],
    *,
    pretty: bool,
    sync: str,
) -> None:
    """Files of one shape with other IDs (any length, shared, or also found
    outside SubscriptionId): the remembered route is the steps' route."""
    edit = _SYNCS[sync]()
    for ids in assignments:
        data = _config(_array(entries, ids, pretty=pretty))
        ours = _outcome(edit, data, "x.config", remembered=True)
        assert ours == _outcome(edit, data, "x.config", remembered=False)


# -- the guards ----------------------------------------------------------------------


def test_an_id_found_outside_subscription_id_gives_no_shape() -> None:
    text = '[{"SubscriptionId":"poll://ab/","Address":"https://poll://ab/:1"}]'
    assert _sync_memo._shape(text) is None
    assert _sync_memo._shape(text.replace("https://poll://ab/:1", "h")) == (
        '[{"SubscriptionId":"\x000\x00","Address":"h"}]',
        ["poll://ab/"],
    )
    assert _sync_memo._shape('"\x00"') is None


def test_numbered_placeholders_keep_two_ids_apart() -> None:
    text = '[{"SubscriptionId": "poll://a/"},{"SubscriptionId":"poll://b/"}]'
    shape, ids = _sync_memo._shape(text) or ("", [])
    assert ids == ["poll://a/", "poll://b/"]
    assert shape == '[{"SubscriptionId": "\x000\x00"},{"SubscriptionId":"\x001\x00"}]'


def test_a_written_id_the_shape_does_not_name_is_not_remembered() -> None:
    """An ID written in another form (escaped) would keep the first file's ID."""
    table: dict[str, str] = {}
    escaped = TrustedServers.from_json(
        f'[{{"Thumbprint":"{THUMBPRINT}","CommunicationStyle":2,'
        '"Address":"https://n:1","Squid":null,"SubscriptionId":"poll:\\/\\/ab\\/"}]'
    )
    _sync_memo._remember(table, ("shape", ["poll://ab/"]), escaped)
    assert not table
    plain = TrustedServers.from_json(escaped.to_json().replace("\\/", "/"))
    _sync_memo._remember(table, ("shape", ["poll://ab/"]), plain)
    assert list(table) == ["shape"]
    assert "poll:" not in table["shape"]


def _blind(text: str) -> tuple[str, list[str]] | None:
    """A wrong shape: one placeholder for every ID, restored as the first."""
    found = _sync_memo._ID.findall(text)
    shape = text
    for value in found:
        shape = shape.replace(value, _sync_memo._placeholder(0))
    return (shape, found[:1]) if found else None


def _unchecked(
    table: dict[str, str], found: tuple[str, list[str]], new: TrustedServers
) -> None:
    """`_remember` without its checks."""
    shaped = new.to_json()
    for number, value in enumerate(found[1]):
        shaped = shaped.replace(value, _sync_memo._placeholder(number))
    table[found[0]] = shaped


def _two_ids(count: int) -> list[bytes]:
    """Configs polling the cluster with one ID and another server with another."""
    entries: list[dict[str, object]] = [
        {"thumbprint": THUMBPRINT, "style": 2, "address": ADDRESSES[0], "id": 0},
        {"thumbprint": _OTHER, "style": 2, "address": "https://x:1", "id": 1},
    ]
    for entry in entries:
        entry["extra"] = None
    return [
        _config(_array(entries, [f"poll://a{i}/", f"poll://b{i}/"], pretty=False))
        for i in range(count)
    ]


@pytest.mark.parametrize("checked", [True, False])
def test_a_wrong_shape_is_caught_by_the_check_of_what_is_remembered(
    monkeypatch: pytest.MonkeyPatch, *, checked: bool
) -> None:
    """Negative control: with a shape blind to which ID is which, remembering
    without the checks gives other files the wrong IDs (and the comparison
    sees it); with them, nothing wrong is remembered."""
    monkeypatch.setattr(_sync_memo, "_shape", _blind)
    if not checked:
        monkeypatch.setattr(_sync_memo, "_remember", _unchecked)
    edit = _SYNCS["add a node"]()
    outcomes = [
        (
            _outcome(edit, data, "x.config", remembered=True),
            _outcome(edit, data, "x.config", remembered=False),
        )
        for data in _two_ids(3)
    ]
    assert all(ours == theirs for ours, theirs in outcomes) is checked


def test_a_new_edit_starts_a_new_table() -> None:
    first, second = _SYNCS["add a node"](), _SYNCS["add a node"]()
    table = _sync_memo._table(first)
    table["x"] = "y"
    assert _sync_memo._table(first) is table
    assert _sync_memo._table(second) == {}
    assert _sync_memo._table(first) == {}


# -- what a remembered shape saves, and the guard that makes skipping safe ----------


def _counting(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Record every text `TrustedServers.from_json` parses from here on."""
    parsed: list[str] = []
    real = TrustedServers.from_json

    def counted(text: str | None, **kw: Any) -> TrustedServers:
        parsed.append(text or "")
        return real(text, **kw)

    monkeypatch.setattr(TrustedServers, "from_json", staticmethod(counted))
    return parsed


def test_a_remembered_shape_parses_neither_list(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The second file of a shape is neither skipped nor parsed; the first is
    parsed (the negative control: the counter sees parses where there are)."""
    edit = _SYNCS["add a node"]()
    first, second = _two_ids(2)
    parsed = _counting(monkeypatch)
    assert _outcome(edit, first, "a.config", remembered=True)[0] == "done"
    assert parsed  # the steps read the first file's list
    parsed.clear()
    doc = loads(second, path="b.config")
    assert edit.skip_reason(doc) is None
    edit.apply(doc)
    assert not parsed
    monkeypatch.undo()
    assert _outcome(edit, second, "b.config", remembered=False) == (
        "done",
        doc.dumps(),
        doc.changed_keys,
        doc.redacted_text(),
    )


_LISTENING = _config(
    f'[{{"Thumbprint":"{THUMBPRINT}","CommunicationStyle":1,"Address":null,'
    '"Squid":null,"SubscriptionId":null}]'
)


@pytest.mark.parametrize("guarded", [True, False])
def test_a_shape_is_remembered_only_from_a_file_that_polls(
    monkeypatch: pytest.MonkeyPatch, *, guarded: bool
) -> None:
    """Steps that accept a listening-only file (they do not, but `synced` does
    not rely on it) leave nothing remembered, so the next such file is still
    skipped; with every list read as polling, i.e. without the guard, the next
    one would be edited instead (negative control)."""
    edit = _SYNCS["add a node"]()
    new = loads(_LISTENING).trusted_servers  # steps that keep the list
    if not guarded:
        monkeypatch.setattr(TrustedServers, "polls", property(lambda _: True))
    _sync_memo.synced(edit, loads(_LISTENING, path="a.config"), lambda: new)
    monkeypatch.undo()
    skip = edit.skip_reason(loads(_LISTENING, path="b.config"))
    assert (skip == "not a polling Tentacle (no polling entries)") is guarded


def _hand_laid(subscription_id: str) -> bytes:
    """Three nodes polled, pretty-printed by hand: a blank line before the third."""
    entries = [
        json.dumps(
            {
                "Thumbprint": THUMBPRINT,
                "CommunicationStyle": 2,
                "Address": address,
                "Squid": None,
                "SubscriptionId": subscription_id,
            },
            indent=2,
        )
        for address in ADDRESSES
    ]
    return _config(f"[\n{entries[0]},\n{entries[1]},\n\n{entries[2]}\n]")


@pytest.mark.parametrize("guarded", [True, False])
def test_a_list_edited_in_memory_is_synced_by_the_steps(
    monkeypatch: pytest.MonkeyPatch, *, guarded: bool
) -> None:
    """A library user drops a node in memory and syncs, which adds it back:
    the steps give back the bytes as loaded, hand layout and all. A file
    whose list as loaded is that edited one taught the memo its shape, and
    without the guard the memo would write its rendering (negative control)."""
    edit = edits.SyncToCluster(
        loads_cluster(_cluster("node1", "node2", "node3"), path="c.toml")
    )
    if not guarded:
        monkeypatch.setattr(_sync_memo, "_SERVERS_FOLDED", "")

    def dropped(subscription_id: str) -> TentacleConfig:
        doc = loads(_hand_laid(subscription_id), path="b.config")
        doc.trusted_servers = doc.trusted_servers.remove(address=ADDRESSES[2])
        return doc

    teacher = loads(dropped("poll://aaaa/").dumps(), path="a.config")
    assert edit.skip_reason(teacher) is None
    edit.apply(teacher)
    assert _sync_memo._current[1]  # the shape of the two-node list is known

    ours = dropped("poll://bbbb/")
    assert edit.skip_reason(ours) is None
    edit.apply(ours)
    theirs = dropped("poll://bbbb/")
    _direct(edit, theirs)
    assert theirs.dumps() == _hand_laid("poll://bbbb/")  # the steps restore it
    assert (ours.dumps() == theirs.dumps()) is guarded
