"""Fleet edits, plan and apply: exact results, idempotence, conflicts, locks, CLI."""

from __future__ import annotations

import concurrent.futures
import hashlib
import json
import operator
import os
import pickle
import threading
import time
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from typing import Any

import attrs
import pytest
from helpers.fleetgen import THUMBPRINT
from helpers.fleetgen import run_fleet_cli
from helpers.fleetgen import write_fleet
from hypothesis import HealthCheck
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st

from tentacle_ha import _writer
from tentacle_ha import fleet
from tentacle_ha import load
from tentacle_ha import loads
from tentacle_ha._atomic import TEMP_SUFFIX
from tentacle_ha._lock import file_lock
from tentacle_ha._lock import lock_path
from tentacle_ha.cluster import Cluster
from tentacle_ha.cluster import loads_cluster
from tentacle_ha.errors import FleetError
from tentacle_ha.errors import InvalidValueError
from tentacle_ha.errors import OrphaningEditError
from tentacle_ha.errors import WriteError
from tentacle_ha.fleet import Status
from tentacle_ha.fleet import _pipeline
from tentacle_ha.fleet import _plan_apply
from tentacle_ha.fleet import discover
from tentacle_ha.fleet import edits
from tentacle_ha.fleet._pipeline import Done
from tentacle_ha.fleet._pipeline import pipeline
from tentacle_ha.fleet.audit import audit_config

CORPUS = Path(__file__).parent.parent / "corpus" / "valid"
LINUX = (CORPUS / "linux-ha-3node.config").read_bytes()
WINDOWS = (CORPUS / "windows-ha-3node.config").read_bytes()
LISTENING = (CORPUS / "listening.config").read_bytes()
PRETTY = (CORPUS / "docs-pretty-json.config").read_bytes()
T = "9E4A07A1F5B2C8D3E6F7A8B9C0D1E2F3A4B5C6D7"
NEW_T = "0123456789ABCDEF0123456789ABCDEF01234567"
SUB = "poll://g3662re9njtelsyfhm7t/"
NODE = "https://octo-node{}.example.com:10943"


def cluster(*nodes: int, layout: str = "unique-address", thumb: str = T) -> Cluster:
    lb = 'load_balancer = "octo-lb.example.com"\n' if layout != "unique-address" else ""
    text = (
        f'[cluster]\nserver = "https://octopus.example.com"\nthumbprint = "{thumb}"\n'
        f'layout = "{layout}"\n{lb}'
    )
    text += "".join(
        f'[[nodes]]\nname = "node{i}"\naddress = "octo-node{i}.example.com"\n'
        for i in nodes
    )
    return loads_cluster(text, path="cluster.toml")


def addresses(data: bytes) -> list[str | None]:
    return [s.address for s in loads(data).trusted_servers]


def edited(data: bytes, edit: edits.Edit) -> bytes:
    doc = loads(data)
    edit.apply(doc)
    return doc.dumps()


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


# -- the edits ---------------------------------------------------------------------


def test_sync_adds_and_removes_nodes_keeping_the_subscription() -> None:
    """Sync to a cluster where node3 became node4: one in, one out, same ID."""
    after = edited(LINUX, edits.SyncToCluster(cluster(1, 2, 4)))
    assert addresses(after) == [NODE.format(1), NODE.format(2), NODE.format(4)]
    assert {s.subscription_id for s in loads(after).trusted_servers} == {SUB}


def test_migrating_layout_is_a_sync() -> None:
    """Sync to a load-balancer cluster replaces the per-node entries by the LB one."""
    lb = cluster(1, 2, 3, layout="load-balancer")
    after = edited(LINUX, edits.SyncToCluster(lb))
    assert addresses(after) == ["https://octo-lb.example.com:10943"]
    assert loads(after).trusted_servers[0].subscription_id == SUB
    back = edited(after, edits.SyncToCluster(cluster(1, 2, 3)))
    assert addresses(back) == [NODE.format(i) for i in (1, 2, 3)]
    assert back == LINUX


def test_sync_retires_an_old_certificate() -> None:
    """After a staged rotation, sync with retire drops the old thumbprint's entries."""
    staged = edited(LINUX, edits.Rotate(T, NEW_T, staged=True))
    assert len(loads(staged).trusted_servers) == 6
    done = edited(
        staged, edits.SyncToCluster(cluster(1, 2, 3, thumb=NEW_T), retire=(T,))
    )
    servers = loads(done).trusted_servers
    assert [(s.thumbprint, s.address) for s in servers] == [
        (NEW_T, NODE.format(i)) for i in (1, 2, 3)
    ]


def test_sync_skips_listening_and_fails_on_other_servers() -> None:
    """A listening Tentacle is skipped; one polling another server has no ID to keep."""
    edit = edits.SyncToCluster(cluster(1, 2, 3))
    assert (
        edit.skip_reason(loads(LISTENING))
        == "not a polling Tentacle (no polling entries)"
    )
    other = LINUX.replace(T.encode(), NEW_T.encode()).replace(b"octo-node", b"other")
    with pytest.raises(FleetError, match="no SubscriptionId for this cluster"):
        edit.apply(loads(other))


def test_add_node_copies_the_subscription_like_poll_server() -> None:
    """A new node gets the existing SubscriptionId; an existing one changes nothing."""
    edit = edits.AddNode(T.lower(), NODE.format(4) + " ")
    assert edit.thumbprint == T
    assert edit.address == NODE.format(4)
    after = edited(LINUX, edit)
    assert addresses(after)[-1] == NODE.format(4)
    assert loads(after).trusted_servers[-1].subscription_id == SUB
    assert edited(after, edit) == after
    assert edited(LINUX, edits.AddNode(T, NODE.format(2))) == LINUX
    with pytest.raises(FleetError, match="to copy the SubscriptionId from"):
        edits.AddNode(NEW_T, NODE.format(4)).apply(loads(LINUX))
    assert edits.AddNode(T, NODE.format(4)).skip_reason(loads(LISTENING)) is not None


@pytest.mark.parametrize(
    ("make", "error"),
    [
        (lambda: edits.AddNode("12", NODE.format(4)), "not a certificate thumbprint"),
        (lambda: edits.AddNode(T, "http://node4:10943"), "not a comms address"),
        (lambda: edits.AddNode(T, "https://node4"), "has no port"),
        (lambda: edits.RemoveNode("  "), "an address cannot be empty"),
        (lambda: edits.KeepOnly(()), "keep at least one address"),
        (lambda: edits.Rotate(T, "zz"), "not a certificate thumbprint"),
        (lambda: edits.SetKey("Tentacle.Services.NoListen", "yes"), "true or false"),
        (lambda: edits.SetPollingConnectionCount(0), "a whole number from 1"),
        (lambda: edits.SyncToCluster(cluster(1), retire=("x",)), "not a certificate"),
    ],
)
def test_bad_edits_are_refused_up_front(make: Any, error: str) -> None:
    """A value no file could take is refused when the edit is made, not per file."""
    with pytest.raises(InvalidValueError, match=error):
        make()


def test_remove_and_keep_refuse_to_leave_nothing_to_poll() -> None:
    """Removing nodes works until the last one, which is refused."""
    one = edited(LINUX, edits.KeepOnly((NODE.format(1).upper(),)))
    assert addresses(one) == [NODE.format(1)]
    assert addresses(edited(LINUX, edits.RemoveNode(NODE.format(2)))) == [
        NODE.format(1),
        NODE.format(3),
    ]
    with pytest.raises(OrphaningEditError, match="would leave no polling entry"):
        edits.RemoveNode(NODE.format(1)).apply(loads(one))
    with pytest.raises(OrphaningEditError, match="would leave no polling entry"):
        edits.KeepOnly(("https://elsewhere:10943",)).apply(loads(LINUX))
    assert edited(LISTENING, edits.KeepOnly(("https://x:1",))) == LISTENING
    # The explicit escape hatch, and it says so in the plan's edit line.
    allowed = edits.RemoveNode(NODE.format(1), allow_empty=True)
    assert addresses(edited(one, allowed)) == []
    assert "allowing an empty list" in allowed.describe()
    assert (
        addresses(
            edited(
                LINUX, edits.KeepOnly(("https://elsewhere:10943",), allow_empty=True)
            )
        )
        == []
    )


def test_rotate_direct_and_staged() -> None:
    """Direct rotation swaps the thumbprint in place; staged keeps both."""
    direct = loads(edited(LINUX, edits.Rotate(T, NEW_T))).trusted_servers
    assert {s.thumbprint for s in direct} == {NEW_T}
    staged = loads(edited(LINUX, edits.Rotate(T, NEW_T, staged=True))).trusted_servers
    assert [s.thumbprint for s in staged] == [T, NEW_T] * 3


def test_set_unset_and_polling_count() -> None:
    """Setting, unsetting and the polling connection count go through the document."""
    doc = loads(edited(LINUX, edits.SetPollingConnectionCount(7)))
    assert doc.polling_connection_count == 7
    assert "Octopus.Home" not in loads(edited(LINUX, edits.UnsetKey("octopus.home")))
    assert edited(LINUX, edits.UnsetKey("No.Such.Key")) == LINUX
    assert (
        loads(
            edited(LINUX, edits.SetKey("Tentacle.Services.NoListen", "False"))
        ).no_listen
        is False
    )


def test_descriptions_hide_secrets() -> None:
    """describe() and repr() never show a secret value."""
    edit = edits.SetKey("Tentacle.Certificate", "TOP-SECRET")
    assert edit.describe() == "set Tentacle.Certificate = ***"
    assert "TOP-SECRET" not in repr(edit)
    assert edits.SetKey("Octopus.Home", "/x").describe() == "set Octopus.Home = '/x'"
    assert edits.SyncToCluster(cluster(1, 2), retire=(NEW_T,)).describe() == (
        f"sync to cluster cluster.toml: unique-address layout, thumbprint {T}, "
        f"addresses {NODE.format(1)}, {NODE.format(2)}; retire {NEW_T}"
    )
    assert edits.Rotate(T, NEW_T, staged=True).describe() == (
        f"staged rotation {T} -> {NEW_T}"
    )


@pytest.mark.parametrize(
    "edit",
    [
        edits.SyncToCluster(cluster(1, 2), retire=(NEW_T,)),
        edits.AddNode(T, NODE.format(4)),
        edits.RemoveNode(NODE.format(1)),
        edits.Rotate(T, NEW_T, staged=True),
        edits.KeepOnly((NODE.format(1),)),
        edits.SetKey("Octopus.Home", "/x"),
        edits.UnsetKey("Octopus.Home"),
        edits.SetPollingConnectionCount(3),
    ],
    ids=lambda e: type(e).__name__,
)
def test_edits_are_picklable_values(edit: edits.Edit) -> None:
    """Edits travel to worker processes intact."""
    assert pickle.loads(pickle.dumps(edit)) == edit  # noqa: S301 -- our own bytes


def _every_field_set(cls: type[Any]) -> Any:
    """An instance of *cls* whose every field differs from its default."""
    values: dict[str, Any] = {}
    for number, field in enumerate(attrs.fields(cls)):
        if field.type in {"bool", bool}:
            values[field.name] = field.default is not True
        elif field.name == "status":
            values[field.name] = Status.CONFLICT
        else:
            values[field.name] = f"{field.name}-{number}"
    return cls(**values)


@pytest.mark.parametrize("cls", [fleet.FilePlan, fleet.FileOutcome])
def test_records_pickle_every_field(cls: type[Any]) -> None:
    """Each worker's records come back whole: every field, in its own place."""
    record = _every_field_set(cls)
    again = pickle.loads(pickle.dumps(record))  # noqa: S301 -- our own bytes
    assert type(again) is cls
    assert attrs.asdict(again) == attrs.asdict(record)
    assert {type(v) for v in attrs.asdict(record).values()} == {str, Status, bool}


# -- plan --------------------------------------------------------------------------


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    top = tmp_path / "fleet"
    for name, data in {
        "a/Tentacle.config": WINDOWS,
        "b/tentacle-Tentacle.config": LINUX,
        "c/Tentacle.config": LISTENING,
        "d/Tentacle.config": PRETTY,
        "e/Tentacle.config": b"<octopus-settings><set key='a'>x</octopus-settings>",
    }.items():
        path = top / name
        path.parent.mkdir(parents=True)
        path.write_bytes(data)
    return top


def _state(top: Path) -> dict[str, tuple[bytes, int]]:
    return {
        str(p.relative_to(top)): (p.read_bytes(), p.stat().st_mtime_ns)
        for p in sorted(top.rglob("*"))
        if p.is_file()
    }


def test_plan_writes_nothing_and_predicts_apply(tree: Path) -> None:
    """Plan reports each file and the exact bytes apply then writes."""
    before = _state(tree)
    edit = edits.RemoveNode(NODE.format(3))
    plans = list(fleet.plan([tree], edit, jobs=1))
    assert _state(tree) == before
    assert [(Path(p.path).relative_to(tree).as_posix(), p.status) for p in plans] == [
        ("a/Tentacle.config", Status.CHANGED),
        ("b/tentacle-Tentacle.config", Status.CHANGED),
        ("c/Tentacle.config", Status.UNCHANGED),
        ("d/Tentacle.config", Status.UNCHANGED),
        ("e/Tentacle.config", Status.FAILED),
    ]
    assert plans[4].reason.startswith("1:")
    outcomes = list(fleet.apply([tree], edit, jobs=1))
    for plan, outcome in zip(plans, outcomes, strict=True):
        assert (outcome.path, outcome.status) == (plan.path, plan.status)
        assert outcome.after_sha256 == plan.after_sha256
        assert outcome.before_sha256 == plan.before_sha256
    assert sha((tree / "a" / "Tentacle.config").read_bytes()) == plans[0].after_sha256


def test_plan_diff_is_redacted_and_exact(tree: Path) -> None:
    """The diff is the document's own unified diff, secrets as ***."""
    edit = edits.SetKey("Tentacle.Certificate", "NEW")
    (plan,) = fleet.plan([tree / "b"], edit, jobs=1)
    path = str(tree / "b" / "tentacle-Tentacle.config")
    assert plan.diff == (
        f"--- a{path}\n+++ b{path}\n"
        "@@ -1,7 +1,7 @@\n"
        ' <?xml version="1.0" encoding="utf-8"?>\n'
        ' <octopus-settings xmlns:xsd="http://www.w3.org/2001/XMLSchema" '
        'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">\n'
        '   <set key="Octopus.Home">/etc/octopus/Tentacle</set>\n'
        '-  <set key="Tentacle.Certificate">***</set>\n'
        '+  <set key="Tentacle.Certificate">*** (changed)</set>\n'
        '   <set key="Tentacle.CertificateThumbprint">'
        "0123456789ABCDEF0123456789ABCDEF01234567</set>\n"
        '   <set key="Tentacle.Communication.PollingConnectionCount">5</set>\n'
        '   <set key="Tentacle.Communication.TrustedOctopusServers">'
        + loads(LINUX).raw("Tentacle.Communication.TrustedOctopusServers")
        + "</set>\n"
    )
    assert "AQAAANCMnd8" not in plan.diff
    assert plan.reason == "updates Tentacle.Certificate"


def test_parallel_plan_equals_serial(tmp_path: Path) -> None:
    """Worker processes give the same plans, in order, as one process."""
    write_fleet(tmp_path, 80, drifted=5, broken=1)
    edit = edits.SyncToCluster(cluster(1, 2, 4, thumb=THUMBPRINT))
    serial = list(fleet.plan([tmp_path], edit, jobs=1))
    assert list(fleet.plan([tmp_path], edit, jobs=2)) == serial
    assert len(serial) == 80
    assert {p.status for p in serial} == {Status.CHANGED, Status.FAILED}


# -- apply -------------------------------------------------------------------------


def test_apply_is_idempotent_and_keeps_mode(tree: Path) -> None:
    """The second apply writes nothing: same bytes, same mtimes, no new files."""
    (tree / "a" / "Tentacle.config").chmod(0o640)
    edit = edits.AddNode(T, NODE.format(4))
    first = [o.status for o in fleet.apply([tree], edit, jobs=1)]
    assert first == [
        Status.CHANGED,
        Status.CHANGED,
        Status.SKIPPED,
        Status.CHANGED,
        Status.FAILED,
    ]
    assert (tree / "a" / "Tentacle.config").stat().st_mode & 0o777 == 0o640
    state = _state(tree)
    second = [o.status for o in fleet.apply([tree], edit, jobs=1)]
    assert second == [
        Status.UNCHANGED,
        Status.UNCHANGED,
        Status.SKIPPED,
        Status.UNCHANGED,
        Status.FAILED,
    ]
    assert _state(tree) == state


def test_apply_backup_and_suffix_rules(tree: Path) -> None:
    """--backup keeps the previous bytes; a suffix that looks like a config is not."""
    target = tree / "b" / "tentacle-Tentacle.config"
    (outcome,) = fleet.apply(
        [target], edits.RemoveNode(NODE.format(1)), backup_suffix=".orig"
    )
    assert outcome.backup == str(target) + ".orig"
    assert Path(outcome.backup).read_bytes() == LINUX
    for bad in (".config", ".x.CONFIG", "", "a/b", TEMP_SUFFIX, ".tentacle-ha-lock"):
        with pytest.raises(InvalidValueError):
            list(
                fleet.apply(
                    [target], edits.RemoveNode(NODE.format(2)), backup_suffix=bad
                )
            )
    assert [p.name for p in sorted(target.parent.iterdir())] == [
        "tentacle-Tentacle.config",
        "tentacle-Tentacle.config.orig",
    ]


def test_parallel_apply_equals_serial(tmp_path: Path) -> None:
    """Worker processes give the same outcomes and bytes as one process."""
    one, two = tmp_path / "one", tmp_path / "two"
    write_fleet(one, 70, drifted=5, broken=1)
    write_fleet(two, 70, drifted=5, broken=1)
    edit = edits.SyncToCluster(cluster(1, 2, 4, thumb=THUMBPRINT))
    serial = [
        (Path(o.path).relative_to(one), o.status, o.after_sha256)
        for o in fleet.apply([one], edit, jobs=1)
    ]
    parallel = [
        (Path(o.path).relative_to(two), o.status, o.after_sha256)
        for o in fleet.apply([two], edit, jobs=2)
    ]
    assert parallel == serial
    assert {s for _, s, _ in serial} == {Status.CHANGED, Status.FAILED}


def test_leftover_temp_files_are_cleaned_under_the_lock(tree: Path) -> None:
    """A killed run's temp files go for the files this run processes, only those."""
    folder = tree / "b"
    mine = folder / f".tentacle-Tentacle.config.abc123{TEMP_SUFFIX}"
    other = folder / f".someone-else.config.abc123{TEMP_SUFFIX}"
    mine.write_bytes(b"half a file")
    other.write_bytes(b"half a file")
    _plan_apply._LISTINGS.clear()
    list(fleet.apply([folder], edits.AddNode(T, NODE.format(2)), jobs=1))  # unchanged
    assert not mine.exists()
    assert other.exists()
    assert list(discover.expand_paths([folder])) == [
        folder / "tentacle-Tentacle.config"
    ]


# -- conflicts ---------------------------------------------------------------------


def _write_on_second_read(
    monkeypatch: pytest.MonkeyPatch, target: Path, data: bytes
) -> None:
    """Another run writes *data* into *target* just before apply's re-read under
    the lock (a writer ignoring the lock, in place: the same inode)."""
    real_reread = _writer.Locked.reread
    reads = {"n": 0}

    def reread(self: _writer.Locked) -> bytes:
        reads["n"] += 1
        if reads["n"] == 1:
            target.write_bytes(data)
        return real_reread(self)

    monkeypatch.setattr(_writer.Locked, "reread", reread)


def test_reviewed_plan_conflicts_skips_and_gone_files(tree: Path) -> None:
    """Changed since the plan: conflict; not in it: skipped; gone: conflict, last."""
    edit = edits.RemoveNode(NODE.format(3))
    expected = {
        p.path: p.before_sha256
        for p in fleet.plan([tree], edit, jobs=1)
        if p.before_sha256
    }
    changed = tree / "a" / "Tentacle.config"
    changed.write_bytes(WINDOWS.replace(b"C:\\Octopus", b"D:\\Octopus"))
    (tree / "d" / "Tentacle.config").unlink()
    (tree / "e" / "Tentacle.config").unlink()
    (tree / "e" / "Tentacle.config").mkdir()
    (tree / "f").mkdir()
    (tree / "f" / "Tentacle.config").write_bytes(LINUX)
    outcomes = list(fleet.apply([tree], edit, jobs=1, expected=expected))
    assert [
        (Path(o.path).relative_to(tree).as_posix(), o.status, o.reason)
        for o in outcomes
    ] == [
        (
            "a/Tentacle.config",
            Status.CONFLICT,
            "changed since the plan was made; left alone",
        ),
        (
            "b/tentacle-Tentacle.config",
            Status.CHANGED,
            "updates Tentacle.Communication.TrustedOctopusServers",
        ),
        ("c/Tentacle.config", Status.UNCHANGED, ""),
        ("f/Tentacle.config", Status.SKIPPED, "not in the reviewed plan"),
        ("d/Tentacle.config", Status.CONFLICT, "deleted since the plan was made"),
        (
            "e/Tentacle.config",
            Status.CONFLICT,
            "replaced by a folder since the plan was made; left alone",
        ),
    ]
    assert changed.read_bytes() == WINDOWS.replace(b"C:\\Octopus", b"D:\\Octopus")
    assert (tree / "f" / "Tentacle.config").read_bytes() == LINUX


def test_a_writer_ignoring_the_lock_is_a_conflict(
    tree: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Bytes changing under the lock (Tentacle writing) are left as that writer left."""
    target = tree / "b" / "tentacle-Tentacle.config"
    foreign = LINUX.replace(b"/etc/octopus/Tentacle", b"/etc/octopus/Other")
    reads = {"n": 1}
    real_reread = _writer.Locked.reread

    def racing_read(self: _writer.Locked) -> bytes:
        reads["n"] += 1  # after our first read, someone rewrites the file each time
        target.write_bytes(foreign.replace(b"Other", f"Other{reads['n']}".encode()))
        return real_reread(self)

    monkeypatch.setattr(_writer.Locked, "reread", racing_read)
    (outcome,) = fleet.apply([target], edits.RemoveNode(NODE.format(3)), jobs=1)
    assert outcome.status is Status.CONFLICT
    assert "does not take the lock" in outcome.reason
    assert target.read_bytes() == foreign.replace(b"Other", b"Other3")


def test_a_change_before_the_lock_is_reapplied(
    tree: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A file another run changed before we held the lock is edited again, not lost."""
    target = tree / "b" / "tentacle-Tentacle.config"
    other_run = edited(LINUX, edits.AddNode(T, NODE.format(5)))
    _write_on_second_read(monkeypatch, target, other_run)
    (outcome,) = fleet.apply([target], edits.AddNode(T, NODE.format(4)), jobs=1)
    assert outcome.status is Status.CHANGED
    assert addresses(target.read_bytes())[-2:] == [NODE.format(5), NODE.format(4)]


# -- locks -------------------------------------------------------------------------


def test_lock_is_on_the_real_file_and_creates_nothing(tmp_path: Path) -> None:
    """POSIX: the lock is the symlink target's own; no lock file appears."""
    real = tmp_path / "real" / "Tentacle.config"
    real.parent.mkdir()
    real.write_bytes(LINUX)
    link = tmp_path / "link.config"
    link.symlink_to(real)
    assert lock_path(link) == real
    with file_lock(link) as locked:
        assert locked == real
    assert sorted(p.name for p in real.parent.iterdir()) == ["Tentacle.config"]


def test_lock_follows_a_file_replaced_while_waiting(tmp_path: Path) -> None:
    """A waiter whose file was replaced meanwhile locks the new file, not the old."""
    path = tmp_path / "Tentacle.config"
    path.write_bytes(LINUX)
    holding = threading.Event()
    release = threading.Event()

    def hold_and_replace() -> None:
        with file_lock(path):
            holding.set()
            release.wait(5)
            replacement = tmp_path / "new"
            replacement.write_bytes(LINUX + b"\n")
            replacement.replace(path)  # as write_atomic does, lock still held

    holder = threading.Thread(target=hold_and_replace)
    holder.start()
    try:
        assert holding.wait(5)
        threading.Timer(0.1, release.set).start()
        with file_lock(path, timeout=5):
            locked_inode = path.stat().st_ino
            # While we hold it, nobody else gets the (new) file's lock.
            with (
                pytest.raises(FleetError, match="held the lock"),
                file_lock(path, timeout=0.1),
            ):
                pass
        assert path.read_bytes() == LINUX + b"\n"
        assert locked_inode == path.stat().st_ino
    finally:
        release.set()
        holder.join()


def test_lock_waits_then_times_out(tmp_path: Path) -> None:
    """A held lock makes the next taker wait; past the timeout it fails, unwritten."""
    path = tmp_path / "Tentacle.config"
    path.write_bytes(LINUX)
    released = threading.Event()

    def hold() -> None:
        with file_lock(path):
            released.wait(5)

    holder = threading.Thread(target=hold)
    holder.start()
    try:
        time.sleep(0.05)
        start = time.monotonic()
        with (
            pytest.raises(FleetError, match="held the lock"),
            file_lock(path, timeout=0.2),
        ):
            pass
        assert 0.2 <= time.monotonic() - start < 2
        (outcome,) = fleet.apply(
            [path], edits.RemoveNode(NODE.format(1)), jobs=1, lock_timeout=0.1
        )
        assert outcome.status is Status.FAILED
        assert "held the lock" in outcome.reason
    finally:
        released.set()
        holder.join()
    assert path.read_bytes() == LINUX
    with file_lock(path, timeout=0.2):
        pass


def test_lock_of_a_missing_file_fails_with_the_reason(tmp_path: Path) -> None:
    """POSIX locks the config itself, so a vanished file is a clear WriteError."""
    with (
        pytest.raises(WriteError, match=r"No such file or directory \(ENOENT\)"),
        file_lock(tmp_path / "gone.config"),
    ):
        pass


# -- properties ----------------------------------------------------------------------

_EDITS = st.sampled_from(
    [
        edits.SyncToCluster(cluster(1, 2, 4)),
        edits.SyncToCluster(cluster(1, 2, 3, layout="load-balancer")),
        edits.AddNode(T, NODE.format(4)),
        edits.RemoveNode(NODE.format(2)),
        edits.KeepOnly((NODE.format(1), NODE.format(3))),
        edits.Rotate(T, NEW_T, staged=True),
        edits.SetPollingConnectionCount(2),
        edits.SetKey("Tentacle.Services.NoListen", "true"),
        edits.UnsetKey("Tentacle.Communication.PollingConnectionCount"),
    ]
)
_FILES = st.lists(
    st.sampled_from([LINUX, WINDOWS, LISTENING, PRETTY, b"not xml"]),
    min_size=1,
    max_size=4,
)


@settings(max_examples=40, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(files=_FILES, edit=_EDITS)
def test_plan_then_apply_then_apply_again(
    tmp_path: Path, files: list[bytes], edit: edits.Edit
) -> None:
    """Apply writes exactly the planned bytes, touches nothing else, and converges."""
    top = tmp_path / f"run{time.monotonic_ns()}"
    for i, data in enumerate(files):
        (top / str(i)).mkdir(parents=True)
        (top / str(i) / "Tentacle.config").write_bytes(data)
    plans = {p.path: p for p in fleet.plan([top], edit, jobs=1)}
    outcomes = list(fleet.apply([top], edit, jobs=1))
    for outcome in outcomes:
        plan = plans[outcome.path]
        data = Path(outcome.path).read_bytes()
        assert outcome.status == plan.status
        if plan.status is Status.CHANGED:
            assert sha(data) == plan.after_sha256
        else:
            assert sha(data) == plan.before_sha256 or plan.before_sha256 is None
    again = [o.status for o in fleet.apply([top], edit, jobs=1)]
    assert Status.CHANGED not in again


@settings(max_examples=30)
@given(
    nodes=st.lists(
        st.sampled_from([1, 2, 3, 4, 5]), min_size=1, max_size=4, unique=True
    ),
    layout=st.sampled_from(["unique-address", "load-balancer"]),
)
def test_synced_configs_pass_the_cluster_audit(nodes: list[int], layout: str) -> None:
    """After a sync, the audit against that cluster finds nothing about the cluster."""
    target = cluster(*nodes, layout=layout)
    for data in (LINUX, WINDOWS, PRETTY):
        doc = loads(edited(data, edits.SyncToCluster(target)))
        codes = {f.code for f in audit_config(doc, cluster=target)}
        assert not codes & {
            "node-missing",
            "node-unknown",
            "layout-mismatch",
            "cluster-not-polled",
            "thumbprint-not-cluster",
        }


# -- the command line ----------------------------------------------------------------


@pytest.fixture
def cli_tree(tree: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tree.parent)
    (Path("fleet") / "e" / "Tentacle.config").unlink()
    return Path("fleet")


@pytest.mark.usefixtures("cli_tree")
def test_cli_plan_prints_diffs_rows_and_summary() -> None:
    """plan: a diff per changed file, rows for the rest that matter, a summary."""
    code, out, err = run_fleet_cli(
        "fleet", "plan", "fleet", "--add-node", NODE.format(4), "--thumbprint", T
    )
    assert (code, err) == (0, "")
    assert out.count("--- a/fleet/") == 3
    assert (
        "skipped    fleet/c/Tentacle.config  "
        "(not a polling Tentacle (no polling entries))" in out
    )
    assert out.endswith(
        "4 files: 3 changed, 0 unchanged, 0 failed, 1 skipped; "
        "3 would need a Tentacle restart\n"
    )
    code, _, _ = run_fleet_cli(
        "fleet",
        "plan",
        "fleet",
        "--add-node",
        NODE.format(4),
        "--thumbprint",
        T,
        "--check",
    )
    assert code == 1
    code, _, _ = run_fleet_cli(
        "fleet", "plan", "fleet", "--unset", "No.Such", "--check"
    )
    assert code == 0


@pytest.mark.usefixtures("cli_tree")
def test_cli_reviewed_plan_round_trip(tmp_path: Path) -> None:
    """plan --json saved, then apply --plan: conflicts for files changed since."""
    code, out, _ = run_fleet_cli(
        "fleet", "plan", "fleet", "--remove-node", NODE.format(3), "--json"
    )
    assert code == 0
    saved = tmp_path / "plan.json"
    saved.write_text(out)
    document = json.loads(out)
    assert document["format"] == fleet.PLAN_FORMAT
    assert document["summary"] == {
        "changed": 2,
        "unchanged": 2,
        "failed": 0,
        "skipped": 0,
        "restart_required": 2,
    }
    Path("fleet/a/Tentacle.config").write_bytes(WINDOWS + b"\r\n")
    code, out, err = run_fleet_cli(
        "fleet", "apply", "fleet", "--remove-node", NODE.format(2), "--plan", str(saved)
    )
    assert code == 1
    assert "the plan was made for another edit" in err
    code, out, err = run_fleet_cli(
        "fleet",
        "apply",
        "fleet",
        "--remove-node",
        NODE.format(3),
        "--plan",
        str(saved),
        "--backup",
    )
    assert code == 1
    assert out.splitlines() == [
        (
            "conflict   fleet/a/Tentacle.config  (changed since the plan was made; "
            "left alone)"
        ),
        (
            "changed    fleet/b/tentacle-Tentacle.config  (updates "
            "Tentacle.Communication.TrustedOctopusServers)"
        ),
        (
            "4 files: 1 changed, 2 unchanged, 0 failed, 1 conflict, 0 skipped; "
            "1 needs a Tentacle restart"
        ),
    ]
    assert Path("fleet/b/tentacle-Tentacle.config.bak").read_bytes() == LINUX
    code, out, _ = run_fleet_cli(
        "fleet", "apply", "fleet", "--remove-node", NODE.format(3), "--json"
    )
    assert code == 0
    data = json.loads(out)
    assert data["summary"]["changed"] == 1
    assert [f["status"] for f in data["files"]] == [
        "changed",
        "unchanged",
        "unchanged",
        "unchanged",
    ]


@pytest.mark.parametrize(
    "argv",
    [
        ["fleet", "plan", "fleet"],
        ["fleet", "plan", "--unset", "X"],
        ["fleet", "plan", "fleet", "--unset", "X", "--set", "A", "B"],
        ["fleet", "plan", "fleet", "--add-node", NODE.format(4)],
        ["fleet", "plan", "fleet", "--unset", "X", "--thumbprint", T],
        ["fleet", "plan", "fleet", "--unset", "X", "--staged"],
        ["fleet", "apply", "fleet", "--unset", "X", "--retire-thumbprint", T],
        ["fleet", "apply", "fleet", "--polling-connection-count", "0"],
    ],
)
@pytest.mark.usefixtures("cli_tree")
def test_cli_usage_errors(argv: list[str]) -> None:
    """Missing or mismatched options are usage errors (exit 2) and write nothing."""
    before = _state(Path("fleet"))
    assert run_fleet_cli(*argv)[0] == 2
    assert _state(Path("fleet")) == before


@pytest.mark.usefixtures("cli_tree")
def test_cli_errors_and_progress(tmp_path: Path) -> None:
    """Bad cluster or plan files exit 1; progress on a terminal only, never in JSON."""
    code, _, err = run_fleet_cli(
        "fleet", "plan", "fleet", "--sync", str(tmp_path / "nope.toml")
    )
    assert code == 1
    assert "cannot read the cluster file" in err
    bad = tmp_path / "plan.json"
    bad.write_text('{"format": "other"}')
    code, _, err = run_fleet_cli(
        "fleet", "apply", "fleet", "--unset", "X", "--plan", str(bad)
    )
    assert (code, err.strip()) == (
        1,
        f"{bad}: not a fleet plan (expected format 'tentacle-ha-fleet-plan/1')",
    )
    _, _, err = run_fleet_cli("fleet", "apply", "fleet", "--unset", "X", tty=True)
    assert "file/s]" in err  # the live bar
    _, _, err = run_fleet_cli(
        "fleet", "apply", "fleet", "--unset", "X", "--json", tty=True
    )
    assert err == ""


def test_load_plan_errors(tmp_path: Path) -> None:
    """A plan file that is not one is refused with its path."""
    path = tmp_path / "p.json"
    for content, message in [
        ("{", "cannot read the plan"),
        ("[]", "not a fleet plan"),
        (
            json.dumps({"format": fleet.PLAN_FORMAT}),
            "plan is missing edit, cwd or files",
        ),
        (
            json.dumps(
                {"format": fleet.PLAN_FORMAT, "edit": "e", "cwd": "/", "files": [1]}
            ),
            "plan entry 1 has no path",
        ),
    ]:
        path.write_text(content)
        with pytest.raises(InvalidValueError, match=message):
            fleet.load_plan(path)
    with pytest.raises(InvalidValueError, match="No such file"):
        fleet.load_plan(tmp_path / "missing.json")
    path.write_text(
        json.dumps(
            {
                "format": fleet.PLAN_FORMAT,
                "edit": "e",
                "cwd": "/w",
                "files": [
                    {"path": "a/../b.config", "before_sha256": "x"},
                    {"path": "/abs", "before_sha256": None},
                ],
            }
        )
    )
    assert fleet.load_plan(path).expected == {"/w/b.config": "x"}


def test_results_serialise(tree: Path) -> None:
    """FilePlan and FileOutcome give JSON-ready dicts."""
    (plan,) = fleet.plan([tree / "b"], edits.RemoveNode(NODE.format(1)), jobs=1)
    assert json.loads(json.dumps(plan.to_dict()))["status"] == "changed"
    (outcome,) = fleet.apply([tree / "b"], edits.RemoveNode(NODE.format(1)), jobs=1)
    assert set(outcome.to_dict()) == {
        "path",
        "status",
        "reason",
        "before_sha256",
        "after_sha256",
        "backup",
        "restart_required",
    }
    assert load(outcome.path).trusted_servers[0].address == NODE.format(2)
    assert plan.restart_required
    assert outcome.restart_required


def test_restart_required_only_for_what_tentacle_reads_at_start(tree: Path) -> None:
    """Trusted servers need a restart; a key Tentacle never reads at start does not."""
    unread = edits.SetKey("Tentacle.Services.IsRegistered", "True")
    (plan,) = fleet.plan([tree / "b"], unread, jobs=1)
    (outcome,) = fleet.apply([tree / "b"], unread, jobs=1)
    assert (plan.status, outcome.status) == (fleet.Status.CHANGED,) * 2
    assert not plan.restart_required
    assert not outcome.restart_required
    (outcome,) = fleet.apply([tree / "b"], edits.RemoveNode(NODE.format(1)), jobs=1)
    assert outcome.restart_required
    (again,) = fleet.apply([tree / "b"], edits.RemoveNode(NODE.format(1)), jobs=1)
    assert (again.status, again.restart_required) == (fleet.Status.UNCHANGED, False)


def test_default_jobs_is_the_cpu_count() -> None:
    """Worker processes default to one per CPU."""
    assert _pipeline.default_jobs() == (os.cpu_count() or 1)


# -- the pipeline and the corners of apply -------------------------------------------


def test_pipeline_keeps_order_and_interleaves_known_results() -> None:
    """Hundreds of items through workers come back in order, known results in place."""
    items: list[int | Done[int]] = [Done(-i) if i % 37 == 0 else i for i in range(600)]
    result = list(pipeline(items, operator.add, 1000, jobs=2))
    assert result == [-i if i % 37 == 0 else i + 1000 for i in range(600)]
    assert list(pipeline(items[:5], operator.add, 1, jobs=4)) == [0, 2, 3, 4, 5]


def test_worker_side_runs_chunks_with_and_without_threads() -> None:
    """A worker runs a chunk in order, on its own or with its I/O threads."""
    saved = dict(_pipeline._WORKER)
    try:
        _pipeline._init_worker(10, 1)
        assert _pipeline._run_chunk(operator.add, [1, 2, 3]) == [11, 12, 13]
        _pipeline._init_worker(20, 3)
        assert _pipeline._run_chunk(operator.add, list(range(50))) == list(
            range(20, 70)
        )
        _pipeline._WORKER["threads"].shutdown()
    finally:
        _pipeline._WORKER.clear()
        _pipeline._WORKER.update(saved)


def test_start_method_avoids_fork_with_threads_and_dead_workers_fail_loudly() -> None:
    """With threads running, workers are not forked; a dead worker is a FleetError."""
    assert _pipeline._mp_context().get_start_method() == "fork"
    stop = threading.Event()
    thread = threading.Thread(target=stop.wait)
    thread.start()
    try:
        assert _pipeline._mp_context().get_start_method() == "forkserver"
    finally:
        stop.set()
        thread.join()
    future: concurrent.futures.Future[list[int]] = concurrent.futures.Future()
    future.set_exception(BrokenProcessPool("gone"))
    with pytest.raises(FleetError, match="a worker process died"):
        _pipeline._result(future)


def test_apply_reports_found_problems_and_ignores_other_configs(tree: Path) -> None:
    """Broken links fail, binary files are skipped, other apps' .config are ignored."""
    (tree / "web.config").write_text("<configuration/>")
    (tree / "Tentacle-bin.config").write_bytes(b"\x00\x01")
    (tree / "gone.config").symlink_to(tree / "nowhere")
    edit = edits.RemoveNode(NODE.format(1))
    outcomes = [
        (Path(o.path).name, o.status) for o in fleet.apply([tree], edit, jobs=1)
    ]
    plans = [(Path(p.path).name, p.status) for p in fleet.plan([tree], edit, jobs=1)]
    assert (
        outcomes[:2]
        == plans[:2]
        == [
            ("Tentacle-bin.config", Status.SKIPPED),
            ("gone.config", Status.SKIPPED),
        ]
    )
    assert "web.config" not in [name for name, _ in outcomes + plans]
    expected = {str(tree / "a" / "Tentacle.config"): "0" * 64}
    reviewed = list(fleet.apply([tree], edit, jobs=1, expected=expected))
    assert [(Path(o.path).name, o.status) for o in reviewed][:2] == outcomes[:2]


def test_an_edit_raising_anything_fails_only_its_file(tree: Path) -> None:
    """A bug in an edit is one failed file with the exception named."""

    class Boom(edits.UnsetKey):
        __slots__ = ()

        def apply(self, doc: Any) -> None:
            if "Octopus.Home" in doc and doc["Octopus.Home"] == "C:\\Octopus":
                msg = "boom"
                raise ValueError(msg)
            super().apply(doc)

    outcomes = list(fleet.apply([tree], Boom("Octopus.Home"), jobs=1))
    assert [(o.status, o.reason) for o in outcomes][:2] == [
        (Status.FAILED, "unexpected error: ValueError: boom"),
        (Status.CHANGED, "updates Octopus.Home"),
    ]


def test_another_run_doing_the_same_edit_first_is_unchanged(
    tree: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """If another run applied the same edit before we got the lock, we write nothing."""
    target = tree / "b" / "tentacle-Tentacle.config"
    edit = edits.AddNode(T, NODE.format(4))
    done_by_other = edited(LINUX, edit)
    _write_on_second_read(monkeypatch, target, done_by_other)
    (outcome,) = fleet.apply([target], edit, jobs=1)
    assert (outcome.status, outcome.after_sha256) == (
        Status.UNCHANGED,
        sha(done_by_other),
    )


def test_a_planned_file_made_a_fifo_is_a_conflict(tree: Path) -> None:
    """A planned file replaced by something that is not a file is left alone."""
    edit = edits.RemoveNode(NODE.format(3))
    target = tree / "b" / "tentacle-Tentacle.config"
    expected = {str(target): sha(LINUX), str(tree / "elsewhere.config"): "0" * 64}
    (tree / "elsewhere.config").write_bytes(LINUX)
    target.unlink()
    os.mkfifo(target)
    outcomes = list(fleet.apply([tree / "b"], edit, jobs=1, expected=expected))
    assert [(o.status, o.reason) for o in outcomes] == [
        (
            Status.CONFLICT,
            "no longer a regular file since the plan was made; left alone",
        )
    ]


def test_module_listing() -> None:
    """dir() shows the public names only."""
    assert dir(fleet) == sorted(fleet.__all__)


def test_more_descriptions() -> None:
    """Every edit says what it does."""
    assert edits.KeepOnly(("https://a:1", "https://b:2")).describe() == (
        "keep only https://a:1, https://b:2"
    )
    assert edits.SetPollingConnectionCount(4).describe() == (
        "set the polling connection count to 4"
    )
    assert edits.UnsetKey("X").describe() == "unset X"
    assert edits.RemoveNode("https://a:1").describe() == "remove node https://a:1"
    assert (
        edits.AddNode(T, "https://a:1").describe()
        == f"add node https://a:1 (thumbprint {T})"
    )
    assert edits.Rotate(T, NEW_T).describe() == f"rotate {T} -> {NEW_T}"


def test_a_file_named_like_a_lock_file_is_left_alone(tmp_path: Path) -> None:
    """A planted ``.NAME.tentacle-ha-lock`` symlink is never opened or followed."""
    path = tmp_path / "Tentacle.config"
    path.write_bytes(LINUX)
    victim = tmp_path / "victim"
    victim.write_bytes(b"do not touch")
    (tmp_path / ".Tentacle.config.tentacle-ha-lock").symlink_to(victim)
    (outcome,) = fleet.apply([path], edits.RemoveNode(NODE.format(1)), jobs=1)
    assert outcome.status is Status.CHANGED
    assert victim.read_bytes() == b"do not touch"


@pytest.mark.usefixtures("cli_tree")
def test_cli_instances_and_bad_jobs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Broken instance index files are failed rows; --jobs takes positive numbers."""
    monkeypatch.delenv(discover.MACHINE_HOME_ENV, raising=False)
    monkeypatch.setattr("sys.platform", "linux")
    image = tmp_path / "image"
    instances = image / "etc" / "octopus" / "Tentacle" / "Instances"
    instances.mkdir(parents=True)
    (instances / "broken.config").write_text("{")
    code, out, _ = run_fleet_cli(
        "fleet", "plan", "--instances", "--root", str(image), "--unset", "X"
    )
    assert code == 1
    assert out.splitlines() == [
        (
            f"failed     {instances / 'broken.config'}  (instance index file is not "
            "JSON: Expecting property name enclosed in double quotes: line 1 column 2 "
            "(char 1))"
        ),
        "1 file: 0 changed, 0 unchanged, 1 failed, 0 skipped",
    ]
    code, out, _ = run_fleet_cli(
        "fleet", "apply", "--instances", "--root", str(image), "--unset", "X", "--json"
    )
    assert json.loads(out)["files"][0]["status"] == "failed"
    assert (
        run_fleet_cli("fleet", "plan", "fleet", "--unset", "X", "--jobs", "x")[0] == 2
    )
    code, _, _ = run_fleet_cli(
        "fleet", "apply", "fleet", "--polling-connection-count", "3", "--jobs", "1"
    )
    assert code == 0
    assert load("fleet/b/tentacle-Tentacle.config").polling_connection_count == 3


@settings(max_examples=60)
@given(
    name=st.sampled_from(sorted(p.name for p in CORPUS.glob("*.config"))),
    edit=_EDITS | st.just(edits.SetKey("Octopus.Proxy.ProxyPassword", "pw")),
    relative=st.booleans(),
)
def test_plan_diff_is_the_documents_own_diff(
    name: str, edit: edits.Edit, *, relative: bool
) -> None:
    """The plan's quicker diff is byte for byte what TentacleConfig.diff() gives."""
    path = f"fleet/{name}" if relative else f"/fleet/{name}"
    data = (CORPUS / name).read_bytes()
    edited_ = _plan_apply._edit_bytes(path, data, edit, diff=True)
    doc = loads(data, path=path)
    try:
        if edit.skip_reason(doc) is None:
            edit.apply(doc)
    except (FleetError, OrphaningEditError):
        assert edited_.status is Status.FAILED
        return
    assert _plan_apply._diff(edited_) == doc.diff()


def test_a_symlinked_config_is_edited_through_the_link(tmp_path: Path) -> None:
    """The target is replaced, the link stays, the backup sits beside the target."""
    real = tmp_path / "store" / "Tentacle.config"
    real.parent.mkdir()
    real.write_bytes(LINUX)
    link = tmp_path / "Tentacle.config"
    link.symlink_to(real)
    (outcome,) = fleet.apply(
        [link], edits.RemoveNode(NODE.format(3)), jobs=1, backup_suffix=".bak"
    )
    assert outcome.status is Status.CHANGED
    assert link.is_symlink()
    assert outcome.backup == str(real) + ".bak"
    assert Path(outcome.backup).read_bytes() == LINUX
    assert addresses(real.read_bytes()) == [NODE.format(1), NODE.format(2)]
    assert lock_path(link).parent == real.parent
