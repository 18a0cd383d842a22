"""The action plugin's writer choice and its Windows path, against a fake host.

Not run on Windows: the fake stands for the target (slurp, win_stat) and for
ansible.windows.win_copy's action plugin; the assertions pin the contract
(exactly slurp, win_stat, win_copy; no win_copy on a checksum mismatch).
"""

from __future__ import annotations

import base64
import hashlib
from pathlib import Path
from typing import Any

import pytest
from ansible.plugins import loader as plugin_loaders
from helpers.collection import load_plugin

from tentacle_ha import SyncToCluster
from tentacle_ha import load_cluster
from tentacle_ha import loads
from tentacle_ha.fleet._fleetgen import ADDRESSES
from tentacle_ha.fleet._fleetgen import write_fleet

action = load_plugin("action", "tentacle_config")

ROOT = Path(__file__).resolve().parents[2]
CLUSTER = ROOT / "examples" / "cluster-unique-address.toml"
WIN_PATH = "C:\\Octopus\\Tentacle.config"


class FakeShell:
    def __init__(self, family: str) -> None:
        self.SHELL_FAMILY = family
        self.tmpdir = "C:\\Windows\\Temp\\ansible"


class FakeConnection:
    def __init__(self, family: str) -> None:
        self._shell = FakeShell(family)


class FakeTask:
    def __init__(self, args: dict[str, Any], *, check_mode: bool = False) -> None:
        self.args = args
        self.check_mode = check_mode
        self.diff = True
        self.async_val = 0
        self.action = "tentacle_ha.octopus.tentacle_config"
        self.no_log = False

    def copy(self) -> FakeTask:
        return FakeTask(dict(self.args), check_mode=self.check_mode)


class FakeHost:
    """The target's files, and every call the plugin made, in order."""

    def __init__(self, path: str, data: bytes) -> None:
        self.files = {path: data}
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.after_slurp: bytes | None = None

    def execute_module(
        self, module_name: str, module_args: dict[str, Any], **_: Any
    ) -> dict[str, Any]:
        self.calls.append((module_name, dict(module_args)))
        if module_name == "ansible.builtin.slurp":
            data = self.files[module_args["src"]]
            if self.after_slurp is not None:  # another writer, after the read
                self.files[module_args["src"]] = self.after_slurp
            return {"content": base64.b64encode(data).decode(), "encoding": "base64"}
        if module_name == "ansible.windows.win_stat":
            data = self.files[module_args["path"]]
            digest = hashlib.sha1(data).hexdigest()  # noqa: S324 -- as win_stat
            return {"stat": {"exists": True, "checksum": digest}}
        return {"changed": True, "backup_file": None}

    def action_get(self, name: str, *, task: FakeTask, **_: Any) -> Any:
        host = self

        class WinCopy:
            def run(self, task_vars: dict[str, Any]) -> dict[str, Any]:
                del task_vars
                args = dict(task.args)
                args["src_bytes"] = Path(args["src"]).read_bytes()
                host.calls.append((name, args))
                host.files[args["dest"]] = args["src_bytes"]
                return {"changed": True, "backup_file": WIN_PATH + ".bak"}

        return WinCopy()


def _plugin(
    host: FakeHost,
    args: dict[str, Any],
    *,
    family: str = "powershell",
    check: bool = False,
) -> Any:
    plugin = action.ActionModule(
        FakeTask(args, check_mode=check), FakeConnection(family), None, None, None
    )
    plugin._execute_module = host.execute_module
    return plugin


@pytest.fixture
def original(tmp_path: Path) -> bytes:
    (path,) = write_fleet(tmp_path, 1, addresses=ADDRESSES[:2])
    return path.read_bytes()


@pytest.fixture
def host(original: bytes, monkeypatch: pytest.MonkeyPatch) -> FakeHost:
    fake = FakeHost(WIN_PATH, original)
    monkeypatch.setattr(plugin_loaders.action_loader, "get", fake.action_get)
    return fake


def _expected(original: bytes) -> bytes:
    doc = loads(original, path=WIN_PATH)
    SyncToCluster(load_cluster(CLUSTER)).apply(doc)
    return doc.dumps()


ARGS = {"path": WIN_PATH, "sync": str(CLUSTER), "backup": True}


def test_windows_win_stat_then_win_copy(host: FakeHost, original: bytes) -> None:
    result = _plugin(host, dict(ARGS)).run(task_vars={})
    assert result.get("failed") is None, result
    sha1 = hashlib.sha1(original).hexdigest()  # noqa: S324 -- as win_stat
    names = [name for name, _ in host.calls]
    assert names == [
        "ansible.builtin.slurp",
        "ansible.windows.win_stat",
        "ansible.windows.win_copy",
    ]
    assert host.calls[1][1] == {
        "path": WIN_PATH,
        "get_checksum": True,
        "checksum_algorithm": "sha1",
    }
    copy = host.calls[2][1]
    assert copy["dest"] == WIN_PATH
    assert copy["backup"] is True
    assert copy["force"] is True
    assert copy["src_bytes"] == _expected(original)  # bytes, BOM and CRLF kept
    assert not Path(copy["src"]).exists()  # the controller's temp file is gone
    assert sha1 != hashlib.sha1(copy["src_bytes"]).hexdigest()  # noqa: S324 -- test
    assert result["changed"] is True
    assert result["backup_file"] == WIN_PATH + ".bak"
    assert "***" in result["diff"]["prepared"]


def test_windows_checksum_mismatch_never_copies(host: FakeHost) -> None:
    other = b"<octopus-settings>written by Tentacle</octopus-settings>"
    host.after_slurp = other
    result = _plugin(host, dict(ARGS)).run(task_vars={})
    assert result["failed"] is True
    assert result["msg"] == (
        f"{WIN_PATH}: file changed on disk since it was read; nothing written"
    )
    assert [n for n, _ in host.calls] == [
        "ansible.builtin.slurp",
        "ansible.windows.win_stat",
    ]
    assert host.files[WIN_PATH] == other


def test_check_mode_reads_only(host: FakeHost, original: bytes) -> None:
    result = _plugin(host, dict(ARGS), check=True).run(task_vars={})
    assert result["changed"] is True
    assert [n for n, _ in host.calls] == ["ansible.builtin.slurp"]
    assert host.files[WIN_PATH] == original


def test_posix_shell_uses_the_stdlib_writer(original: bytes) -> None:
    # Negative control: the same task on a POSIX shell never calls ansible.windows.
    path = "/etc/octopus/Tentacle/tentacle-Tentacle.config"
    host = FakeHost(path, original)
    result = _plugin(host, {**ARGS, "path": path}, family="sh").run(task_vars={})
    assert result["changed"] is True
    assert [n for n, _ in host.calls] == [
        "ansible.builtin.slurp",
        "tentacle_ha.octopus.tentacle_config",
    ]
    args = host.calls[1][1]
    assert args["path"] == path
    assert base64.b64decode(args["new_content"]) == _expected(original)
    assert args["based_on_sha1"] == hashlib.sha1(original).hexdigest()  # noqa: S324 -- test


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ({"path": WIN_PATH}, "give exactly one edit of"),
        ({"path": WIN_PATH, "settings": {"Tentacle.Comms.Typo": "1"}}, "Typo"),
        ({"path": WIN_PATH, "keep": ["https://elsewhere:10943"]}, "poll"),
    ],
)
def test_refusals_fail_the_task_without_writing(
    host: FakeHost, original: bytes, args: dict[str, Any], message: str
) -> None:
    result = _plugin(host, args).run(task_vars={})
    assert result["failed"] is True
    assert message in result["msg"]
    assert "\n" not in result["msg"]
    assert host.files[WIN_PATH] == original
    assert all(not n.startswith("ansible.windows") for n, _ in host.calls)
