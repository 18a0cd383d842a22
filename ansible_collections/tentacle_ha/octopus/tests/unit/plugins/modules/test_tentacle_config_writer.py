"""ansible-test units: the POSIX writer module, imported as Ansible imports it."""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING

import pytest

from ansible_collections.tentacle_ha.octopus.plugins.modules import tentacle_config

if TYPE_CHECKING:
    from pathlib import Path


def _sha1(data: bytes) -> str:
    return hashlib.sha1(data).hexdigest()  # noqa: S324 -- the writer's content check


def test_writes_when_unchanged_since_read(tmp_path: Path) -> None:
    path = tmp_path / "Tentacle.config"
    path.write_bytes(b"<octopus-settings/>")
    got = tentacle_config.write_config(
        str(path),
        b"<octopus-settings></octopus-settings>",
        based_on_sha1=_sha1(b"<octopus-settings/>"),
    )
    assert got["changed"] is True
    assert path.read_bytes() == b"<octopus-settings></octopus-settings>"


def test_conflict_leaves_the_file(tmp_path: Path) -> None:
    path = tmp_path / "Tentacle.config"
    path.write_bytes(b"theirs")
    with pytest.raises(tentacle_config.WriterError) as caught:
        tentacle_config.write_config(str(path), b"ours", based_on_sha1=_sha1(b"before"))
    assert caught.value.conflict
    assert path.read_bytes() == b"theirs"
