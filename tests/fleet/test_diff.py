"""The plan's diff writes one replaced run directly: always difflib's lines."""

from __future__ import annotations

import difflib
from typing import TYPE_CHECKING

import pytest
from helpers.fleetgen import cluster_toml
from helpers.fleetgen import write_fleet
from hypothesis import given
from hypothesis import strategies as st

from tentacle_ha import loads
from tentacle_ha.cluster import loads_cluster
from tentacle_ha.fleet import Status
from tentacle_ha.fleet import _diff
from tentacle_ha.fleet import _plan_apply
from tentacle_ha.fleet import edits

if TYPE_CHECKING:
    from pathlib import Path


def _difflib(a: list[str], b: list[str], n: int = 3) -> list[str]:
    return list(difflib.unified_diff(a, b, "a/x", "b/x", lineterm="", n=n))


_LINES = st.lists(st.sampled_from("abcdefg"), max_size=14) | st.lists(
    st.text("xyz ", max_size=3), max_size=14
)


@st.composite
def _versions(draw: st.DrawFn) -> tuple[list[str], list[str]]:
    """A list of lines and an edited copy: replaced, inserted, deleted lines."""
    a = draw(_LINES)
    b = list(a)
    for _ in range(draw(st.integers(0, 4))):
        kind = draw(st.sampled_from(("replace", "insert", "delete")))
        line = draw(st.sampled_from(["a", "b", "Z", "W", ""]))
        if kind == "insert" or not b:
            b.insert(draw(st.integers(0, len(b))), line)
        elif kind == "replace":
            b[draw(st.integers(0, len(b) - 1))] = line
        else:
            del b[draw(st.integers(0, len(b) - 1))]
    return a, b


@given(versions=_versions(), n=st.integers(0, 4))
def test_the_diff_is_difflibs(versions: tuple[list[str], list[str]], n: int) -> None:
    a, b = versions
    assert _diff.unified_diff(a, b, "a/x", "b/x", n=n) == _difflib(a, b, n)


@given(
    head=st.lists(st.sampled_from("pqrs"), unique=True, max_size=4),
    old=st.lists(st.sampled_from("abc"), min_size=1, max_size=3),
    new=st.lists(st.sampled_from("XYZ"), min_size=1, max_size=3),
    tail=st.lists(st.sampled_from("tuvw"), unique=True, max_size=4),
    n=st.integers(0, 4),
)
def test_one_replaced_run_is_written_directly_as_difflib_would(
    head: list[str], old: list[str], new: list[str], tail: list[str], n: int
) -> None:
    """The shape the direct hunk is for: it is taken, and it is difflib's."""
    a, b = head + old + tail, head + new + tail
    assert _diff._one_replaced_run(a, b, n) is not None
    assert _diff.unified_diff(a, b, "a/x", "b/x", n=n) == _difflib(a, b, n)


@pytest.mark.parametrize(
    ("a", "b", "n"),
    [
        (["a", "a"], ["b", "a"], 0),  # a line of the suffix in the old run
        (["a", "b"], ["b", "b"], 1),  # a line of the suffix in the new run
        (["a"], ["b", "a", "b"], 1),  # the old and new runs share a line
        (list("aaaaaaa"), list("aaaZaaaa"), 2),  # only lines added
        (list("aaaZaaaa"), list("aaaaaaa"), 2),  # only lines removed
    ],
)
def test_each_check_is_needed(a: list[str], b: list[str], n: int) -> None:
    """Negative controls: the direct hunk would differ; the check prevents it."""
    assert _diff._one_replaced_run(a, b, n) is None
    assert _diff.unified_diff(a, b, "a/x", "b/x", n=n) == _difflib(a, b, n)
    limit = min(len(a), len(b))
    prefix = next((i for i in range(limit) if a[i] != b[i]), limit)
    suffix = next(
        (i for i in range(limit - prefix) if a[-1 - i] != b[-1 - i]), limit - prefix
    )
    forced = _diff._hunk(a, b, "a/x", "b/x", n, (prefix, suffix))
    assert forced != _difflib(a, b, n)


def test_long_inputs_go_to_difflib() -> None:
    """From 200 lines difflib drops popular lines: no direct hunk there."""
    a = [f"line {i}" for i in range(200)]
    b = [*a[:100], "new", *a[101:]]
    assert _diff._one_replaced_run(a, b, 3) is None
    assert _diff._one_replaced_run(a[:199], b[:199], 3) is not None
    assert _diff.unified_diff(a, b, "a/x", "b/x") == _difflib(a, b)


_CLUSTER = cluster_toml("node1", "node4")


def test_a_synced_fleet_takes_the_direct_hunk_with_the_documents_own_diff(
    tmp_path: Path,
) -> None:
    """Real configs: the sync's diff is one replaced run, and the plan's diff
    is byte for byte `TentacleConfig.diff()`."""
    edit = edits.SyncToCluster(loads_cluster(_CLUSTER, path="c.toml"))
    direct = 0
    for path in write_fleet(tmp_path, 40, seed=5):
        data = path.read_bytes()
        edited = _plan_apply._edit_bytes(str(path), data, edit, diff=True)
        if edited.status is not Status.CHANGED:
            continue
        assert edited.doc is not None
        before = edited.before_text.splitlines()
        after = edited.doc.redacted_text().splitlines()
        direct += _diff._one_replaced_run(before, after, 3) is not None
        doc = loads(data, path=str(path))
        edit.apply(doc)
        assert _plan_apply._diff(edited) == doc.diff()
    assert direct >= 30
