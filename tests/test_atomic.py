"""Atomic writes: a failure at any step leaves the original file exactly as it was."""

from __future__ import annotations

import errno
import os
from pathlib import Path  # noqa: TC003 -- pytest resolves fixture annotations

import pytest

from tentacle_ha import _atomic
from tentacle_ha import _writer
from tentacle_ha import config
from tentacle_ha.errors import WriteError

ORIGINAL = b"<octopus-settings><set key='a'>1</set></octopus-settings>"
NEW = b"<octopus-settings><set key='a'>2</set></octopus-settings>"


@pytest.fixture
def target(tmp_path: Path) -> Path:
    path = tmp_path / "Tentacle.config"
    path.write_bytes(ORIGINAL)
    path.chmod(0o604)
    return path


def _fail(exc: OSError) -> object:
    def boom(*_args: object, **_kwargs: object) -> object:
        raise exc

    return boom


@pytest.mark.parametrize(
    ("where", "err"),
    [
        ("os.write", OSError(errno.ENOSPC, "No space left on device")),
        ("os.fsync", OSError(errno.EIO, "Input/output error")),
        ("os.fchmod", OSError(errno.EPERM, "Operation not permitted")),
        ("os.replace", OSError(errno.EXDEV, "Invalid cross-device link")),
        (
            "tentacle_ha._atomic._create_excl",
            OSError(errno.EACCES, "Permission denied"),
        ),
    ],
)
def test_failure_at_each_step_keeps_original(
    target: Path, monkeypatch: pytest.MonkeyPatch, where: str, err: OSError
) -> None:
    """Whichever step fails, the bytes and mode stay and no temp file is left."""
    monkeypatch.setattr(where, _fail(err))
    with pytest.raises(WriteError) as info:
        _atomic.write_atomic(target, NEW)
    assert isinstance(info.value, OSError)
    assert str(info.value).startswith(f"{target}: cannot write: ")
    assert errno.errorcode[err.errno or 0] in str(info.value)
    monkeypatch.undo()
    assert target.read_bytes() == ORIGINAL
    assert (target.stat().st_mode & 0o777) == 0o604
    assert [p.name for p in target.parent.iterdir()] == ["Tentacle.config"]


def test_doc_save_failure_keeps_original(
    target: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """TentacleConfig.save() surfaces WriteError and the document stays editable."""
    doc = config.load(target)
    doc.set("a", "3")
    monkeypatch.setattr("os.fsync", _fail(OSError(errno.ENOSPC, "full")))
    with pytest.raises(WriteError):
        doc.save()
    monkeypatch.undo()
    assert target.read_bytes() == ORIGINAL
    assert doc.changed
    assert doc.save() is True
    assert config.load(target)["a"] == "3"


def test_success_keeps_mode_and_replaces(target: Path) -> None:
    """A successful write replaces the content and keeps the mode bits."""
    inode = target.stat().st_ino
    _atomic.write_atomic(target, NEW)
    assert target.read_bytes() == NEW
    assert (target.stat().st_mode & 0o777) == 0o604
    assert target.stat().st_ino != inode  # a new file was renamed into place


def test_new_file_is_private(tmp_path: Path) -> None:
    """A file that did not exist is created with mode 0o600 (it holds secrets)."""
    path = tmp_path / "new.config"
    _atomic.write_atomic(path, NEW)
    assert path.read_bytes() == NEW
    assert (path.stat().st_mode & 0o777) == 0o600


def test_symlink_is_followed_and_kept(target: Path) -> None:
    """Writing through a symlink replaces its target and leaves the link."""
    link = target.parent / "link.config"
    link.symlink_to(target)
    _atomic.write_atomic(link, NEW)
    assert link.is_symlink()
    assert target.read_bytes() == NEW


def test_folder_in_place_of_file(tmp_path: Path) -> None:
    """A folder where the file should be is refused, not replaced."""
    folder = tmp_path / "Tentacle.config"
    folder.mkdir()
    with pytest.raises(WriteError, match="not a regular file"):
        _atomic.write_atomic(folder, NEW)
    assert folder.is_dir()


def test_missing_folder(tmp_path: Path) -> None:
    """A target in a folder that does not exist is a WriteError."""
    with pytest.raises(WriteError):
        _atomic.write_atomic(tmp_path / "no" / "such" / "file", NEW)


def test_backup_is_written_first(target: Path) -> None:
    """backup_suffix keeps the previous bytes beside the file."""
    _atomic.write_atomic(target, NEW, backup_suffix=".bak")
    assert (target.parent / "Tentacle.config.bak").read_bytes() == ORIGINAL
    assert target.read_bytes() == NEW


def test_stale_temp_files_are_cleaned_only_when_provably_dead(tmp_path: Path) -> None:
    """Under the lock: old regular temp files and dead PIDs go; folders, links,
    fresh temps of live PIDs stay (and a symlink's target is never touched)."""
    config_path = tmp_path / "a.config"
    config_path.write_bytes(ORIGINAL)
    loot = tmp_path / "loot"
    loot.write_bytes(b"loot")
    old = tmp_path / f".a.config.x1{_atomic.TEMP_SUFFIX}"
    old.write_bytes(b"partial")
    os.utime(old, (1, 1))
    dead = tmp_path / f".a.config.999999999-ab{_atomic.TEMP_SUFFIX}"
    dead.write_bytes(b"partial")
    live = tmp_path / f".a.config.{os.getpid()}-cd{_atomic.TEMP_SUFFIX}"
    live.write_bytes(b"partial")
    folder = tmp_path / f".a.config.x2{_atomic.TEMP_SUFFIX}"
    folder.mkdir()
    os.utime(folder, (1, 1))
    link = tmp_path / f".a.config.x3{_atomic.TEMP_SUFFIX}"
    link.symlink_to(loot)
    os.utime(link, (1, 1), follow_symlinks=False)
    names = [p.name for p in (old, dead, live, folder, link)]
    with _writer.locked_config(config_path) as held:
        removed = held.remove_stale_temps(names, older_than=1000.0)
    assert removed == [old.name, dead.name]
    assert live.exists()
    assert folder.is_dir()
    assert link.is_symlink()
    assert loot.read_bytes() == b"loot"


@pytest.mark.skipif(
    os.geteuid() != 0, reason="needs root to hand a file to another owner"
)
def test_owner_is_kept(target: Path) -> None:
    """As root, the owner and group of the file are kept."""
    os.chown(target, 65534, 65534)
    _atomic.write_atomic(target, NEW)
    assert (target.stat().st_uid, target.stat().st_gid) == (65534, 65534)
