"""The POSIX writer module (stdlib only) keeps the library's writer contract."""

from __future__ import annotations

import hashlib
import itertools
import os
import threading
import time
from pathlib import Path

import pytest
from helpers.collection import load_plugin

from tentacle_ha import _atomic
from tentacle_ha import _lock
from tentacle_ha import _writer
from tentacle_ha.errors import FleetError

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
    assert again == {
        "changed": False,
        "backup_file": None,
        "path": str(config),
        "warnings": [],
    }


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


# -- the module and the library's writer, against each other -----------------


def test_constants_agree_with_the_library() -> None:
    assert writer.TEMP_SUFFIX == _atomic.TEMP_SUFFIX
    assert writer.BACKUP_SUFFIX == _writer.DEFAULT_BACKUP_SUFFIX
    assert writer.MAX_FILE_SIZE == _atomic.MAX_FILE_SIZE
    assert writer.MAX_BACKUPS == _atomic.MAX_BACKUPS
    # The library's stale-temp cleaner reads the module's temp names.
    name = writer.temp_name("Tentacle.config")
    assert _atomic.temp_pid(name) == os.getpid()
    assert name.startswith(".Tentacle.config.")


def test_module_lock_blocks_the_library(config: Path) -> None:
    dir_fd = os.open(config.parent, os.O_RDONLY | os.O_DIRECTORY)
    try:
        fd = writer._lock(config.name, dir_fd, str(config), 1.0)
        try:
            with pytest.raises(FleetError, match="held the lock"):
                _writer.replace_config(config, NEW, based_on=OLD, timeout=0.2)
            assert config.read_bytes() == OLD
        finally:
            os.close(fd)
    finally:
        os.close(dir_fd)
    # Negative control: released, the library writes at once.
    _writer.replace_config(config, NEW, based_on=OLD, timeout=0.2)
    assert config.read_bytes() == NEW


@pytest.mark.parametrize("mode", [0o600, 0o640, 0o644, 0o400])
def test_same_result_as_the_library(tmp_path: Path, mode: int) -> None:
    """Bytes, modes, backups and leftovers: one outcome whichever writer runs."""
    outcomes = []
    for who in ("library", "module"):
        folder = tmp_path / who
        folder.mkdir()
        path = folder / "Tentacle.config"
        path.write_bytes(OLD)
        (folder / "Tentacle.config.bak").write_bytes(b"earlier")
        path.chmod(mode)
        if who == "library":
            got = _writer.replace_config(path, NEW, based_on=OLD, backup_suffix=".bak")
            backup = got.backup
        else:
            backup = writer.write_config(
                str(path), NEW, based_on_sha1=_sha1(OLD), backup=True
            )["backup_file"]
        assert backup is not None
        outcomes.append(
            {
                p.name: (p.read_bytes(), p.stat().st_mode & 0o7777)
                for p in sorted(folder.iterdir())
            }
            | {"backup": Path(str(backup)).name}
        )
    assert outcomes[0] == outcomes[1]
    assert outcomes[0]["backup"] == "Tentacle.config.bak.1"


def test_backups_interleave_without_overwriting(config: Path) -> None:
    """Library and module backups share one numbering; none overwrites another."""
    states = [OLD, b"<octopus-settings>2</octopus-settings>", NEW, b"<x>4</x>"]
    made = []
    for step, (before, after) in enumerate(itertools.pairwise(states)):
        if step % 2 == 0:
            result = _writer.replace_config(
                config, after, based_on=before, backup_suffix=".bak"
            )
            made.append(result.backup)
        else:
            made.append(
                writer.write_config(
                    str(config), after, based_on_sha1=_sha1(before), backup=True
                )["backup_file"]
            )
    names = [Path(str(m)).name for m in made]
    assert names == [
        "Tentacle.config.bak",
        "Tentacle.config.bak.1",
        "Tentacle.config.bak.2",
    ]
    assert [Path(str(m)).read_bytes() for m in made] == states[:3]


def test_hard_link_warning_is_the_librarys(config: Path) -> None:
    (config.parent / "other-link").hardlink_to(config)
    got = writer.write_config(str(config), NEW, based_on_sha1=_sha1(OLD))
    lib_cfg = config.with_name("lib.config")
    lib_cfg.write_bytes(OLD)
    (config.parent / "lib-link").hardlink_to(lib_cfg)
    expected = _writer.replace_config(lib_cfg, NEW, based_on=OLD).warnings
    assert got["warnings"] == list(expected)
    assert len(expected) == 1
