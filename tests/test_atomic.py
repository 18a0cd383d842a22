"""Atomic writes: a failure at any step leaves the original file exactly as it was."""

from __future__ import annotations

import errno
import os
from pathlib import Path  # noqa: TC003 -- pytest resolves fixture annotations

import pytest

from tentacle_ha import _atomic
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
        ("pathlib.Path.replace", OSError(errno.EXDEV, "Invalid cross-device link")),
        ("tempfile.mkstemp", OSError(errno.EACCES, "Permission denied")),
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


def test_stale_temp_files_are_cleaned(tmp_path: Path) -> None:
    """Leftovers of a killed writer are removed, only for the file named."""
    (tmp_path / ".a.config.x1.tentacle-ha-tmp").write_bytes(b"partial")
    (tmp_path / ".b.config.x2.tentacle-ha-tmp").write_bytes(b"partial")
    (tmp_path / "a.config").write_bytes(ORIGINAL)
    removed = _atomic.remove_stale_temp_files(tmp_path, name="a.config")
    assert [p.name for p in removed] == [".a.config.x1.tentacle-ha-tmp"]
    removed = _atomic.remove_stale_temp_files(tmp_path)
    assert [p.name for p in removed] == [".b.config.x2.tentacle-ha-tmp"]
    assert _atomic.remove_stale_temp_files(tmp_path / "missing") == []
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.config"]


@pytest.mark.skipif(
    os.geteuid() != 0, reason="needs root to hand a file to another owner"
)
def test_owner_is_kept(target: Path) -> None:
    """As root, the owner and group of the file are kept."""
    os.chown(target, 65534, 65534)
    _atomic.write_atomic(target, NEW)
    assert (target.stat().st_uid, target.stat().st_gid) == (65534, 65534)
