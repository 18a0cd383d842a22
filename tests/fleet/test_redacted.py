"""A plan's redacted text after a servers-only edit: the document's own."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from helpers.fleetgen import ADDRESSES
from helpers.fleetgen import THUMBPRINT
from helpers.fleetgen import cluster_toml
from helpers.fleetgen import write_fleet

from tentacle_ha import loads
from tentacle_ha.cluster import loads_cluster
from tentacle_ha.config import TentacleConfig
from tentacle_ha.errors import TentacleHAError
from tentacle_ha.fleet import Status
from tentacle_ha.fleet import _plan_apply
from tentacle_ha.fleet import _redacted
from tentacle_ha.fleet import edits
from tentacle_ha.servers import TRUSTED_SERVERS_KEY

if TYPE_CHECKING:
    from collections.abc import Callable

CORPUS = Path(__file__).parent.parent / "corpus" / "valid"
_NODE4 = "https://node4.octopus.example.com:10943"
_OTHER = "0123456789ABCDEF0123456789ABCDEF01234567"
_CLUSTER = cluster_toml("node1", "node4")
_EDITS: dict[str, Callable[[], edits.Edit]] = {
    "sync": lambda: edits.SyncToCluster(loads_cluster(_CLUSTER, path="c.toml")),
    "add": lambda: edits.AddNode(THUMBPRINT, _NODE4),
    "remove": lambda: edits.RemoveNode(ADDRESSES[1]),
    "keep only": lambda: edits.KeepOnly((ADDRESSES[0],)),
    "rotate": lambda: edits.Rotate(THUMBPRINT, _OTHER, staged=True),
    "count": lambda: edits.SetPollingConnectionCount(7),
    "no listen": lambda: edits.SetKey("Tentacle.Services.NoListen", "false"),
}


class _Counted:
    """Counts the calls of `TentacleConfig.redacted_text` (the slow way)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.calls = 0
        real = TentacleConfig.redacted_text

        def counted(doc: TentacleConfig) -> str:
            self.calls += 1
            return real(doc)

        monkeypatch.setattr(TentacleConfig, "redacted_text", counted)


def _after(path: str, data: bytes, edit: edits.Edit) -> tuple[str, str] | None:
    """(the quick text, the document's own) for a changed file, else None."""
    edited = _plan_apply._edit_bytes(path, data, edit, diff=True)
    if edited.status is not Status.CHANGED or edited.doc is None:
        return None
    assert edited.after is not None
    doc = edited.doc
    quick = _redacted.after_text(
        doc, edited.before, edited.after, edited.before_text, edited.servers_before
    )
    return quick, doc.redacted_text()


@pytest.mark.parametrize("name", sorted(_EDITS))
def test_the_quick_text_is_the_documents_own_over_a_fleet(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str
) -> None:
    edit = _EDITS[name]()
    counted = _Counted(monkeypatch)
    changed = 0
    for path in write_fleet(tmp_path, 40, seed=11, drifted=10, broken=2):
        calls = counted.calls
        pair = _after(str(path), path.read_bytes(), edit)
        if pair is None:
            continue
        changed += 1
        assert pair[0] == pair[1]
        # The quick way renders nothing more than the "before" text (1 call),
        # then the check's own call (1); the slow way renders once more.
        quick = counted.calls - calls == 2
        if name in {"count", "no listen"}:
            assert not quick  # another key: the document renders it
        else:
            assert quick, path
    assert changed >= 20


@pytest.mark.parametrize("name", sorted(p.name for p in CORPUS.glob("*.config")))
def test_the_quick_text_is_the_documents_own_over_the_corpus(name: str) -> None:
    data = (CORPUS / name).read_bytes()
    for make in _EDITS.values():
        try:
            pair = _after(f"/fleet/{name}", data, make())
        except TentacleHAError:  # pragma: no cover - _edit_bytes reports, not raises
            continue
        if pair is not None:
            assert pair[0] == pair[1]


# -- each check, with what skipping it would give ------------------------------------


def _config(*settings: tuple[str, str], encoding: str = "utf-8") -> bytes:
    body = "".join(f'  <set key="{k}">{v}</set>\n' for k, v in settings)
    return (
        f'<?xml version="1.0" encoding="{encoding}"?>\n<octopus-settings>\n'
        f"{body}</octopus-settings>\n"
    ).encode(encoding)


_SERVERS = (
    f'[{{"Thumbprint":"{THUMBPRINT}","CommunicationStyle":2,'
    f'"Address":"{ADDRESSES[0]}","Squid":null,"SubscriptionId":"poll://abc/"}}]'
)


def _forced(path: str, data: bytes, edit: edits.Edit) -> tuple[str, str]:
    """(the replacement without the checks, the document's own text)."""
    edited = _plan_apply._edit_bytes(path, data, edit, diff=True)
    assert edited.status is Status.CHANGED
    assert edited.doc is not None
    assert edited.servers_before is not None
    new = edited.doc.raw(TRUSTED_SERVERS_KEY)
    return (
        edited.before_text.replace(edited.servers_before, new, 1),
        edited.doc.redacted_text(),
    )


def _assert_the_check_decides(data: bytes) -> None:
    """Without the checks the quick text would be wrong; with them it is right."""
    edit = _EDITS["add"]()
    forced, own = _forced("x", data, edit)
    assert forced != own
    pair = _after("x", data, edit)
    assert pair is not None
    assert pair[0] == pair[1]


def test_old_content_found_twice_in_the_bytes_is_not_replaced() -> None:
    """Another key holding the same text: replacing the first would hit it."""
    data = _config(("Custom.Copy", _SERVERS), (TRUSTED_SERVERS_KEY, _SERVERS))
    _assert_the_check_decides(data)


def test_an_edit_that_wrote_more_than_the_value_is_not_replaced() -> None:
    """Keys equal ignoring case collapse into one element when edited."""
    data = _config(
        ("Tentacle.Communication.trustedoctopusservers", _SERVERS),
        (TRUSTED_SERVERS_KEY, _SERVERS),
    )
    _assert_the_check_decides(data)


def test_collapsed_keys_with_different_values_are_not_replaced() -> None:
    """The bytes check alone catches it: an element the edit removed stays out.

    The two spellings hold different arrays, so the old content occurs once
    and the count checks pass; only comparing the bytes written with the
    bytes read tells that the edit wrote more than the one value.
    """
    data = _config(
        (
            "Tentacle.Communication.trustedoctopusservers",
            _SERVERS.replace("abc", "first"),
        ),
        (TRUSTED_SERVERS_KEY, _SERVERS),
    )
    _assert_the_check_decides(data)


def test_other_encodings_render_again(monkeypatch: pytest.MonkeyPatch) -> None:
    data = b"\xff\xfe" + _config((TRUSTED_SERVERS_KEY, _SERVERS), encoding="utf-16-le")
    assert loads(data).encoding == "utf-16-le"
    counted = _Counted(monkeypatch)
    pair = _after("x", data, _EDITS["add"]())
    assert pair is not None
    assert pair[0] == pair[1]
    assert counted.calls == 3  # before, the quick way's fallback, the check's own


def test_old_content_found_twice_in_the_redacted_text_is_not_replaced() -> None:
    """The redacted text is checked too (an occurrence made by ``***``)."""
    data = _config((TRUSTED_SERVERS_KEY, _SERVERS))
    edited = _plan_apply._edit_bytes("x", data, _EDITS["add"](), diff=True)
    assert edited.doc is not None
    assert edited.after is not None
    assert edited.servers_before is not None
    doubled = edited.before_text + edited.servers_before
    text = _redacted.after_text(
        edited.doc, edited.before, edited.after, doubled, edited.servers_before
    )
    assert text == edited.doc.redacted_text()
    assert text != doubled.replace(
        edited.servers_before, edited.doc.raw(TRUSTED_SERVERS_KEY), 1
    )
