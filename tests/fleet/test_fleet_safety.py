"""fleet apply and the safe writer: swapped symlinks, temp-named folders, backups."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tentacle_ha import _atomic
from tentacle_ha import _writer
from tentacle_ha import fleet
from tentacle_ha.fleet import _plan_apply
from tentacle_ha.fleet import discover
from tentacle_ha.fleet import edits
from tentacle_ha.fleet._plan_apply import Status

if TYPE_CHECKING:
    from collections.abc import Callable

CORPUS = Path(__file__).parent.parent / "corpus" / "valid"
LINUX = (CORPUS / "linux-ha-3node.config").read_bytes()
EDIT = edits.SetKey("Octopus.Home", "/edited")


@pytest.fixture
def tree(tmp_path: Path) -> tuple[Path, Path]:
    """(the fleet folder with sub/Tentacle.config, an outside copy "loot")."""
    root = tmp_path / "fleet"
    (root / "sub").mkdir(parents=True)
    (root / "sub" / "Tentacle.config").write_bytes(LINUX)
    outside = tmp_path / "outside"
    outside.mkdir()
    loot = outside / "Tentacle.config"
    loot.write_bytes(LINUX)
    return root, loot


def _swap_on_read(
    monkeypatch: pytest.MonkeyPatch, victim: Path, swap: Callable[[], None]
) -> None:
    """Between discovery and the write: *swap()* runs just before apply reads."""
    real = discover._read_config
    done: list[bool] = []

    def read(path: str) -> tuple[bytes, os.stat_result]:
        if path == str(victim) and not done:
            done.append(True)
            swap()
        return real(path)

    monkeypatch.setattr(discover, "_read_config", read)


def test_a_file_swapped_for_a_symlink_is_not_followed(
    tree: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A config replaced by a symlink to an outside file: conflict, loot untouched."""
    root, loot = tree
    victim = root / "sub" / "Tentacle.config"

    def swap() -> None:
        victim.unlink()
        victim.symlink_to(loot)

    _swap_on_read(monkeypatch, victim, swap)
    (outcome,) = fleet.apply([root], EDIT, jobs=1, backup_suffix=".bak")
    assert outcome.status is Status.CONFLICT
    assert "became a symlink" in outcome.reason
    assert loot.read_bytes() == LINUX
    assert sorted(p.name for p in loot.parent.iterdir()) == ["Tentacle.config"]


def test_a_folder_swapped_for_a_symlink_is_outside_the_roots(
    tree: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A parent folder swapped for a link outside the roots: conflict, untouched."""
    root, loot = tree
    victim = root / "sub" / "Tentacle.config"

    def swap() -> None:
        victim.unlink()
        (root / "sub").rmdir()
        (root / "sub").symlink_to(loot.parent)

    _swap_on_read(monkeypatch, victim, swap)
    (outcome,) = fleet.apply([root], EDIT, jobs=1)
    assert outcome.status is Status.CONFLICT
    assert "outside the given folders" in outcome.reason
    assert loot.read_bytes() == LINUX


def test_negative_control_no_swap_is_written(tree: tuple[Path, Path]) -> None:
    """Without a swap the same run writes the file (the refusals above are real)."""
    root, loot = tree
    (outcome,) = fleet.apply([root], EDIT, jobs=1)
    assert outcome.status is Status.CHANGED
    assert (root / "sub" / "Tentacle.config").read_bytes() != LINUX
    assert loot.read_bytes() == LINUX


def test_a_config_made_a_fifo_before_the_lock_fails_at_once(
    tree: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A FIFO in place of the config when the lock is taken: refused, no hang."""
    root, _ = tree
    victim = root / "sub" / "Tentacle.config"
    real_edit = _plan_apply._edit_bytes

    def edit_then_swap(path: str, data: bytes, edit: edits.Edit) -> object:
        result = real_edit(path, data, edit)
        victim.unlink()
        os.mkfifo(victim)
        return result

    monkeypatch.setattr(_plan_apply, "_edit_bytes", edit_then_swap)
    (outcome,) = fleet.apply([root], EDIT, jobs=1, lock_timeout=60)
    assert outcome.status is Status.FAILED
    assert "not a regular file" in outcome.reason


def test_a_folder_named_like_a_temp_file_does_not_break_apply(
    tree: tuple[Path, Path],
) -> None:
    """.Tentacle.config.x.tentacle-ha-tmp/ is not a leftover: kept, apply works."""
    root, _ = tree
    folder = root / "sub" / ".Tentacle.config.x.tentacle-ha-tmp"
    folder.mkdir()
    os.utime(folder, (1, 1))
    _plan_apply._LISTINGS.clear()
    (first,) = fleet.apply([root], EDIT, jobs=1)
    (second,) = fleet.apply([root], edits.SetKey("Octopus.Home", "/again"), jobs=1)
    assert (first.status, second.status) == (Status.CHANGED, Status.CHANGED)
    assert folder.is_dir()


def test_apply_twice_with_backup_keeps_both_and_skips_a_planted_link(
    tree: tuple[Path, Path],
) -> None:
    """Backups are new files: a planted .bak link is not followed; none overwritten."""
    root, loot = tree
    target = root / "sub" / "Tentacle.config"
    (root / "sub" / "Tentacle.config.bak").symlink_to(loot)
    (first,) = fleet.apply([target], EDIT, jobs=1, backup_suffix=".bak")
    middle = target.read_bytes()
    (second,) = fleet.apply(
        [target], edits.SetKey("Octopus.Home", "/again"), jobs=1, backup_suffix=".bak"
    )
    assert first.backup == str(target) + ".bak.1"
    assert second.backup == str(target) + ".bak.2"
    assert Path(first.backup).read_bytes() == LINUX
    assert Path(second.backup).read_bytes() == middle
    assert loot.read_bytes() == LINUX


def test_a_hard_linked_config_is_written_with_a_warning(
    tree: tuple[Path, Path],
) -> None:
    """st_nlink > 1: the outcome says the other name keeps the old bytes."""
    root, _ = tree
    target = root / "sub" / "Tentacle.config"
    os.link(target, root / "sub" / "hardlink.txt")
    (outcome,) = fleet.apply([target], EDIT, jobs=1)
    assert outcome.status is Status.CHANGED
    assert "2 hard links" in outcome.reason
    assert (root / "sub" / "hardlink.txt").read_bytes() == LINUX


@pytest.fixture
def deep(tmp_path: Path) -> tuple[Path, Path, Path]:
    """(fleet root, fleet/a/b/Tentacle.config, outside/b/Tentacle.config)."""
    root = tmp_path / "fleet"
    (root / "a" / "b").mkdir(parents=True)
    victim = root / "a" / "b" / "Tentacle.config"
    victim.write_bytes(LINUX)
    (tmp_path / "outside" / "b").mkdir(parents=True)
    loot = tmp_path / "outside" / "b" / "Tentacle.config"
    loot.write_bytes(LINUX)
    return root, victim, loot


def _swap_in_the_open(
    monkeypatch: pytest.MonkeyPatch, root: Path, outside: Path, *, fast: bool
) -> None:
    """The attack the kernel check closes: after the folders were resolved and
    checked by path, right before the folder is opened, a folder *higher up*
    (``a``) becomes a symlink out of the roots (``open_folder`` refuses a
    symlink only as the last part). *fast*: False forces the path-resolving
    route, as a failed ``/proc`` open, a crawled symlink or a folder name
    ending ``(deleted)`` does."""
    real_open = _atomic.open_folder
    done: list[bool] = []

    def open_folder(folder: str, **kwargs: bool) -> int | None:
        if folder.startswith(str(root / "a")) and not done:
            done.append(True)
            (root / "a").rename(root / "a-moved")
            (root / "a").symlink_to(outside)
        return real_open(folder, **kwargs)

    monkeypatch.setattr(_atomic, "open_folder", open_folder)
    if not fast:
        monkeypatch.setattr(_writer, "_open_resolved", lambda _shown: None)


@pytest.mark.parametrize("fast", [True, False], ids=["proc-fast", "path-fallback"])
def test_a_folder_higher_up_swapped_while_it_is_opened(
    deep: tuple[Path, Path, Path],
    monkeypatch: pytest.MonkeyPatch,
    fast: bool,  # noqa: FBT001 -- a pytest parameter
) -> None:
    """Swapped between the check and the open: conflict, the outside file untouched."""
    root, _, loot = deep
    _swap_in_the_open(monkeypatch, root, loot.parent.parent, fast=fast)
    (outcome,) = fleet.apply([root], EDIT, jobs=1)
    assert outcome.status is Status.CONFLICT, outcome.reason
    assert loot.read_bytes() == LINUX


def test_a_crawled_symlink_config_with_a_folder_swapped_while_opened(
    deep: tuple[Path, Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A config reached through a symlink inside the roots (resolved by path,
    never the /proc route): the same swap is a conflict too."""
    root, victim, outside = deep
    target = victim.with_name("tentacle.xml")
    victim.rename(target)
    loot = outside.with_name("tentacle.xml")
    outside.rename(loot)
    (root / "link").mkdir()
    (root / "link" / "Tentacle.config").symlink_to(target)
    _swap_in_the_open(monkeypatch, root, loot.parent.parent, fast=True)
    outcomes = list(fleet.apply([root], EDIT, jobs=1))
    assert [o.status for o in outcomes] == [Status.CONFLICT], outcomes
    assert loot.read_bytes() == LINUX


def test_negative_control_without_the_kernel_check_the_swap_lands_outside(
    deep: tuple[Path, Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """With the kernel's view switched off, the path route writes the outside
    file: the conflicts above are the check's doing."""
    root, _, loot = deep
    _swap_in_the_open(monkeypatch, root, loot.parent.parent, fast=False)
    monkeypatch.setattr(_writer, "kernel_path", lambda _dir_fd: None)
    (outcome,) = fleet.apply([root], EDIT, jobs=1)
    assert outcome.status is Status.CHANGED
    assert loot.read_bytes() != LINUX
