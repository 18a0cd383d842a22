"""The one safe writer: backups, symlinks, FIFOs, hard links, the lock, races."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest

from tentacle_ha import _atomic
from tentacle_ha import _writer
from tentacle_ha import config
from tentacle_ha._lock import file_lock
from tentacle_ha.errors import ConflictError
from tentacle_ha.errors import InvalidValueError
from tentacle_ha.errors import NotRegularFileError

CORPUS = Path(__file__).parent / "corpus" / "valid"
SAMPLE = (CORPUS / "linux-ha-3node.config").read_bytes()
LOOT = b"loot: someone else's file\n"


@pytest.fixture
def cfg(tmp_path: Path) -> Path:
    path = tmp_path / "Tentacle.config"
    path.write_bytes(SAMPLE)
    path.chmod(0o600)
    return path


@pytest.fixture
def loot(tmp_path: Path) -> Path:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    path = elsewhere / "loot"
    path.write_bytes(LOOT)
    path.chmod(0o644)
    return path


def _edit_save(
    path: Path, value: str, backup_suffix: str | None = None
) -> config.TentacleConfig:
    doc = config.load(path)
    doc.set("Octopus.Home", value)
    assert doc.save(backup_suffix=backup_suffix) is True
    return doc


def test_backup_never_writes_through_a_planted_symlink(cfg: Path, loot: Path) -> None:
    """Tentacle.config.bak -> loot: loot keeps its bytes; the backup is a new file."""
    (cfg.parent / "Tentacle.config.bak").symlink_to(loot)
    doc = _edit_save(cfg, "/new", backup_suffix=".bak")
    assert loot.read_bytes() == LOOT
    assert (loot.stat().st_mode & 0o777) == 0o644
    backup = cfg.parent / "Tentacle.config.bak.1"
    assert doc.save_backup == str(backup)
    assert not backup.is_symlink()
    assert backup.read_bytes() == SAMPLE


def test_backups_never_overwrite_each_other(cfg: Path) -> None:
    """Two saves with a backup: both backups exist, the original bytes are kept."""
    _edit_save(cfg, "/one", backup_suffix=".bak")
    first = cfg.read_bytes()
    _edit_save(cfg, "/two", backup_suffix=".bak")
    assert (cfg.parent / "Tentacle.config.bak").read_bytes() == SAMPLE
    assert (cfg.parent / "Tentacle.config.bak.1").read_bytes() == first


def test_backup_mode_is_the_configs_never_wider(cfg: Path) -> None:
    """A pre-existing 0644 backup is left alone; the new one gets the config's 0600."""
    old = cfg.parent / "Tentacle.config.bak"
    old.write_bytes(b"an older backup")
    old.chmod(0o644)
    doc = _edit_save(cfg, "/new", backup_suffix=".bak")
    assert old.read_bytes() == b"an older backup"
    new = Path(doc.save_backup or "")
    assert new.name == "Tentacle.config.bak.1"
    assert (new.stat().st_mode & 0o777) == 0o600
    assert (new.stat().st_uid, new.stat().st_gid) == (
        cfg.stat().st_uid,
        cfg.stat().st_gid,
    )


@pytest.mark.parametrize(
    "bad",
    [
        "",
        "/x",
        "a/b",
        ".config",
        ".CONFIG",
        ".tentacle-ha-tmp",
        ".tentacle-ha-lock",
        "x\x00",
    ],
)
def test_backup_suffix_rule(cfg: Path, bad: str) -> None:
    """One rule refuses suffixes that are paths, empty, or look like configs."""
    doc = config.load(cfg)
    doc.set("Octopus.Home", "/new")
    with pytest.raises(InvalidValueError):
        doc.save(backup_suffix=bad)
    assert cfg.read_bytes() == SAMPLE
    assert sorted(p.name for p in cfg.parent.iterdir()) == ["Tentacle.config"]
    _writer.check_backup_suffix(".orig")  # negative control: a plain one passes


def test_hard_link_is_broken_with_a_warning(cfg: Path) -> None:
    """A config with two names: the write replaces one; a warning says so."""
    other = cfg.parent / "other-name.config"
    os.link(cfg, other)
    doc = _edit_save(cfg, "/new")
    assert len(doc.save_warnings) == 1
    assert "2 hard links" in doc.save_warnings[0]
    assert other.read_bytes() == SAMPLE
    doc.set("Octopus.Home", "/newer")  # negative control: now a single link
    assert doc.save() is True
    assert len(doc.save_warnings) == 0


def test_save_through_a_user_named_symlink_replaces_the_target(
    tmp_path: Path, cfg: Path
) -> None:
    """A symlink named by the user is resolved once; the target is replaced."""
    link = tmp_path / "link.config"
    link.symlink_to(cfg)
    _edit_save(link, "/via-link", backup_suffix=".bak")
    assert link.is_symlink()
    assert config.load(cfg)["Octopus.Home"] == "/via-link"
    assert (cfg.parent / "Tentacle.config.bak").read_bytes() == SAMPLE


def test_load_refuses_a_fifo_and_a_device_at_once(tmp_path: Path) -> None:
    """A FIFO nobody writes to and /dev/zero: refused, not read, not blocking."""
    fifo = tmp_path / "Tentacle.config"
    os.mkfifo(fifo)
    errors: list[BaseException] = []

    def attempt() -> None:
        for path in (fifo, Path("/dev/zero")):
            try:
                config.load(path)
            except NotRegularFileError as exc:
                errors.append(exc)

    worker = threading.Thread(target=attempt, daemon=True)
    worker.start()
    worker.join(10)
    assert not worker.is_alive(), "load() blocked"
    assert [str(e) for e in errors] == [
        f"{fifo}: is a FIFO (named pipe), not a regular file; not read",
        "/dev/zero: is a device, not a regular file; not read",
    ]


def test_lock_refuses_a_fifo_at_once(tmp_path: Path) -> None:
    """The lock opens without blocking: a FIFO is refused, not waited on."""
    fifo = tmp_path / "Tentacle.config"
    os.mkfifo(fifo)
    errors: list[BaseException] = []

    def attempt() -> None:
        try:
            with file_lock(fifo, timeout=1):
                pass
        except NotRegularFileError as exc:
            errors.append(exc)

    worker = threading.Thread(target=attempt, daemon=True)
    worker.start()
    worker.join(10)
    assert not worker.is_alive(), "the lock blocked on a FIFO"
    assert len(errors) == 1


def test_save_conflicts_when_the_file_changed_since_loading(cfg: Path) -> None:
    """The re-read under the lock sees another writer's change: nothing written."""
    doc = config.load(cfg)
    doc.set("Octopus.Home", "/mine")
    theirs = SAMPLE.replace(
        b"</octopus-settings>", b"<!-- theirs --></octopus-settings>"
    )
    cfg.write_bytes(theirs)
    with pytest.raises(ConflictError, match="changed on disk since it was loaded"):
        doc.save()
    assert cfg.read_bytes() == theirs


def test_save_waits_for_the_lock_fleet_apply_holds(cfg: Path) -> None:
    """save() takes the same lock: while it is held elsewhere, save() waits."""
    doc = config.load(cfg)
    doc.set("Octopus.Home", "/mine")
    held, release, done = threading.Event(), threading.Event(), threading.Event()

    def holder() -> None:
        with file_lock(cfg):
            held.set()
            release.wait(5)

    thread = threading.Thread(target=holder)
    thread.start()
    try:
        assert held.wait(5)

        def save() -> None:
            doc.save()
            done.set()

        saver = threading.Thread(target=save)
        saver.start()
        assert not done.wait(0.3)  # blocked on the lock
        assert cfg.read_bytes() == SAMPLE
        release.set()
        saver.join(5)
        assert done.is_set()
    finally:
        release.set()
        thread.join()
    assert config.load(cfg)["Octopus.Home"] == "/mine"


def _move_folder_mid_edit(tmp_path: Path, *, follow: bool) -> _writer.Locked:
    """Lock sub/Tentacle.config, move sub away, put a decoy at its path, write."""
    folder = tmp_path / "sub"
    folder.mkdir()
    cfg = folder / "Tentacle.config"
    cfg.write_bytes(SAMPLE)
    with _writer.locked_config(cfg, follow_symlinks=follow, fsync=False) as held:
        assert held.current == SAMPLE
        folder.rename(tmp_path / "moved")
        folder.mkdir()
        (folder / "Tentacle.config").write_bytes(LOOT)
        held.replace(b"new bytes")
    return held


@pytest.mark.skipif(not hasattr(os, "O_NOFOLLOW"), reason="POSIX: dir_fd")
@pytest.mark.parametrize("follow", [False, True])
def test_the_write_lands_in_the_folder_held_not_the_path(
    tmp_path: Path, *, follow: bool
) -> None:
    """A folder moved away mid-edit and a decoy put at its path: the decoy is
    untouched, the write goes to the folder held open (``dir_fd``)."""
    held = _move_folder_mid_edit(tmp_path, follow=follow)
    assert (tmp_path / "sub" / "Tentacle.config").read_bytes() == LOOT
    assert (tmp_path / "moved" / "Tentacle.config").read_bytes() == b"new bytes"
    assert held.folder == str(tmp_path / "sub")  # as resolved when opened


def test_negative_control_without_dir_fd_the_write_goes_by_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The test above can fail: with paths instead of ``dir_fd`` (as before the
    fix, when ``os.replace`` was looked up in ``os.supports_dir_fd``), the
    write goes by path, so only the inode check stops it (a conflict) and the
    folder held open never gets the new bytes."""
    monkeypatch.setattr(_atomic, "DIR_FD", False)
    with pytest.raises(ConflictError):
        _move_folder_mid_edit(tmp_path, follow=False)
    assert (tmp_path / "moved" / "Tentacle.config").read_bytes() == SAMPLE
    assert (tmp_path / "sub" / "Tentacle.config").read_bytes() == LOOT


def test_dir_fd_is_used_where_the_os_has_it() -> None:
    """Linux and macOS rename relative to a folder descriptor."""
    assert (os.rename in os.supports_dir_fd) == _atomic.DIR_FD
