"""The action plugin's writer choice and its Windows path, against a fake host.

Not run on Windows: the fake stands for the target (slurp, win_stat) and for
ansible.windows.win_copy's action plugin; the assertions pin the contract
(exactly slurp, win_stat, win_copy; no win_copy on a checksum mismatch).
"""

from __future__ import annotations

import base64
import hashlib
import json
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
            if module_args["src"] not in self.files:
                return {"failed": True, "msg": f"file not found: {module_args['src']}"}
            data = self.files[module_args["src"]]
            if self.after_slurp is not None:  # another writer, after the read
                self.files[module_args["src"]] = self.after_slurp
            return {"content": base64.b64encode(data).decode(), "encoding": "base64"}
        if module_name in {"ansible.windows.win_find", "ansible.builtin.find"}:
            sep = "\\" if module_name == "ansible.windows.win_find" else "/"
            folder = module_args["paths"].rstrip(sep) + sep
            found = [
                {"path": p}
                for p in self.files
                if p.startswith(folder)
                and sep not in p[len(folder) :]
                and p.endswith(".config")
            ]
            return {"files": found, "matched": len(found)}
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


# -- choosing the config, the edits' refusals, tentacle_info -------------------

SYNC = str(CLUSTER)
INDEX = "C:\\ProgramData\\Octopus\\Tentacle\\Instances"
info_action = load_plugin("action", "tentacle_info")


def _index(name: str, config: str) -> bytes:
    return json.dumps({"Name": name, "ConfigurationFilePath": config}).encode()


@pytest.mark.parametrize("index_name", ["tentacle.config", "renamed.config"])
def test_instance_found_through_the_index(
    host: FakeHost, original: bytes, index_name: str
) -> None:
    host.files[f"{INDEX}\\{index_name}"] = _index("Tentacle", WIN_PATH)
    args = {"instance": "TENTACLE", "sync": str(CLUSTER)}  # matched ignoring case
    result = _plugin(host, args, check=True).run(task_vars={})
    assert result.get("failed") is None, result
    assert (result["path"], result["instance"]) == (WIN_PATH, "TENTACLE")
    assert result["changed"] is True
    listed = "ansible.windows.win_find" in [n for n, _ in host.calls]
    assert listed == (index_name != "tentacle.config")  # listed only when needed
    assert host.files[WIN_PATH] == original


def test_default_instance_and_missing_instance(host: FakeHost) -> None:
    host.files[f"{INDEX}\\other.config"] = _index("Other", WIN_PATH)
    result = _plugin(host, {"sync": str(CLUSTER)}).run(task_vars={})
    assert result["failed"] is True
    assert result["msg"] == (
        f"{INDEX}: no Tentacle instance 'Tentacle' in the instance index"
    )
    # Negative control: the instance named exists.
    ok = _plugin(host, {"instance": "Other", "sync": str(CLUSTER)}, check=True)
    assert ok.run(task_vars={})["path"] == WIN_PATH


@pytest.mark.parametrize(
    ("args", "family", "message"),
    [
        ({"path": WIN_PATH, "instance": "x", "sync": SYNC}, "powershell", "not both"),
        ({"path": "Tentacle.config", "sync": SYNC}, "powershell", "must be absolute"),
        ({"path": "etc/Tentacle.config", "sync": SYNC}, "sh", "must be absolute"),
        (
            {"path": WIN_PATH, "add_node": "https://n4:10943"},
            "powershell",
            "thumbprint",
        ),
        ({"path": WIN_PATH, "settings": {}}, "powershell", "settings is empty"),
        ({"path": "C:\\missing.config", "sync": SYNC}, "powershell", "file not found"),
    ],
)
def test_task_refusals(
    host: FakeHost, args: dict[str, Any], family: str, message: str
) -> None:
    result = _plugin(host, args, family=family).run(task_vars={})
    assert result["failed"] is True
    assert message in result["msg"]
    assert all(n == "ansible.builtin.slurp" for n, _ in host.calls)


def test_allow_empty_is_the_only_way_to_orphan(host: FakeHost) -> None:
    keep = {"path": WIN_PATH, "keep": ["https://elsewhere.example.com:10943"]}
    refused = _plugin(host, dict(keep)).run(task_vars={})
    assert refused["failed"] is True
    assert "\n" not in refused["msg"]
    result = _plugin(host, {**keep, "allow_empty": True}, check=True).run(task_vars={})
    assert result.get("failed") is None, result
    assert result["changed"] is True
    assert not [s for s in result["trusted_servers"] if s["CommunicationStyle"] == 2]


def test_settings_set_and_unset_and_count(host: FakeHost, original: bytes) -> None:
    doc = loads(original, path=WIN_PATH)
    present = "Tentacle.Services.NoListen"
    assert doc.get(present) is not None
    args = {
        "path": WIN_PATH,
        "settings": {present: None, "Tentacle.Communication.PollingConnectionCount": 4},
    }
    result = _plugin(host, args, check=True).run(task_vars={})
    assert result["changed"] is True, result
    diff = result["diff"]["prepared"]
    assert f'-  <set key="{present}">' in diff
    assert "PollingConnectionCount" in diff
    count = {"path": WIN_PATH, "polling_connection_count": 4}
    same = _plugin(host, count, check=True).run(task_vars={})
    assert same["diff"]["prepared"].count("PollingConnectionCount") == diff.count(
        "PollingConnectionCount"
    )


def _info(host: FakeHost, args: dict[str, Any]) -> dict[str, Any]:
    plugin = info_action.ActionModule(
        FakeTask(args), FakeConnection("powershell"), None, None, None
    )
    plugin._execute_module = host.execute_module
    result: dict[str, Any] = plugin.run(task_vars={})
    return result


def test_tentacle_info_every_instance(host: FakeHost, original: bytes) -> None:
    host.files[f"{INDEX}\\tentacle.config"] = _index("Tentacle", WIN_PATH)
    host.files[f"{INDEX}\\broken.config"] = b"not json"
    result = _info(host, {"cluster": str(CLUSTER)})
    assert result.get("failed") is None, result
    broken, good = result["tentacles"]
    assert "not JSON" in broken["problem"]
    doc = loads(original, path=WIN_PATH)
    assert good["instance"] == "Tentacle"
    assert good["thumbprint"] == doc.certificate_thumbprint
    assert good["trusted_servers"] == doc.trusted_servers.to_list()
    codes = {f["code"] for f in good["findings"]}
    assert codes  # node3 is missing against the cluster
    # Negative control: without the cluster, no cluster findings.
    plain = _info(host, {"path": WIN_PATH})["tentacles"][0]
    assert {f["code"] for f in plain["findings"]} < codes
    certificate = str(doc.get("Tentacle.Certificate", reveal=True))
    assert certificate[:40] not in json.dumps(result)
    assert result["changed"] is False
    assert host.files[WIN_PATH] == original
