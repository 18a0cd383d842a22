"""The POSIX writer module (stdlib only) keeps the library's writer contract."""

from __future__ import annotations

import hashlib
import os
import threading
import time
from typing import TYPE_CHECKING

import pytest
from helpers.collection import load_plugin

from tentacle_ha import _lock
from tentacle_ha import _writer

if TYPE_CHECKING:
    from pathlib import Path

writer = load_plugin("modules", "tentacle_config")

OLD = b"<octopus-settings>old</octopus-settings>"
NEW = b"<octopus-settings>new</octopus-settings>"


def _sha1(data: bytes) -> str:
    return hashlib.sha1(data).hexdigest()  # noqa: S324 -- the writer's content check


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "Tentacle.config"
    path.write_bytes(OLD)
    path.chmod(0o640)
    return path


def test_library_lock_blocks_the_module(config: Path) -> None:
    with (
        _lock.file_lock(config),
        pytest.raises(writer.WriterError, match="held the lock"),
    ):
        writer.write_config(str(config), NEW, based_on_sha1=_sha1(OLD), timeout=0.2)
    assert config.read_bytes() == OLD
    # Negative control: the same call without the library's lock held writes.
    writer.write_config(str(config), NEW, based_on_sha1=_sha1(OLD), timeout=0.2)
    assert config.read_bytes() == NEW


def test_module_waits_for_the_library_writer(config: Path) -> None:
    held = threading.Event()

    def library_writer() -> None:
        with _writer.locked_config(config) as locked:
            held.set()
            time.sleep(0.3)
            locked.replace(b"<octopus-settings>lib</octopus-settings>")

    thread = threading.Thread(target=library_writer)
    thread.start()
    held.wait(5)
    start = time.monotonic()
    with pytest.raises(writer.WriterError, match="changed on disk since it was read"):
        writer.write_config(str(config), NEW, based_on_sha1=_sha1(OLD), timeout=5)
    waited = time.monotonic() - start
    thread.join()
    assert waited >= 0.2  # it waited for the lock, then saw the library's write
    assert config.read_bytes() == b"<octopus-settings>lib</octopus-settings>"


def test_conflict_writes_nothing(config: Path) -> None:
    with pytest.raises(writer.WriterError) as caught:
        writer.write_config(str(config), NEW, based_on_sha1=_sha1(b"other"))
    assert caught.value.conflict
    assert str(caught.value) == (
        f"{config}: file changed on disk since it was read; nothing written"
    )
    assert config.read_bytes() == OLD
    assert sorted(p.name for p in config.parent.iterdir()) == ["Tentacle.config"]


def test_replace_keeps_mode_and_backups_never_overwrite(config: Path) -> None:
    (config.parent / "Tentacle.config.bak").write_bytes(b"earlier backup")
    result = writer.write_config(
        str(config), NEW, based_on_sha1=_sha1(OLD), backup=True
    )
    assert result["changed"] is True
    assert result["backup_file"] == str(config.parent / "Tentacle.config.bak.1")
    assert (config.parent / "Tentacle.config.bak").read_bytes() == b"earlier backup"
    backup = config.parent / "Tentacle.config.bak.1"
    assert backup.read_bytes() == OLD
    assert backup.stat().st_mode & 0o777 == 0o640
    assert config.read_bytes() == NEW
    assert config.stat().st_mode & 0o777 == 0o640
    assert not list(config.parent.glob("*tentacle-ha-tmp"))
    again = writer.write_config(str(config), NEW, based_on_sha1=_sha1(NEW), backup=True)
    assert again == {"changed": False, "backup_file": None, "path": str(config)}


def test_symlink_resolved_once_link_kept(config: Path, tmp_path: Path) -> None:
    link = tmp_path / "link.config"
    link.symlink_to(config)
    writer.write_config(str(link), NEW, based_on_sha1=_sha1(OLD))
    assert link.is_symlink()
    assert config.read_bytes() == NEW


def test_fifo_refused_unread(tmp_path: Path) -> None:
    fifo = tmp_path / "Tentacle.config"
    os.mkfifo(fifo)
    with pytest.raises(writer.WriterError, match="not a regular file"):
        writer.write_config(str(fifo), NEW, based_on_sha1=_sha1(OLD), timeout=1)
