"""The collection under Ansible's own tools: doc, galaxy build, lint, test units.

All offline: the tarball is installed from its file, ansible-lint runs with
``--offline``, ansible-test runs the collection's unit tests with this venv's
Python. (``ansible-test sanity`` is not run here: see the README.)
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest
from helpers.collection import load_plugin

import tentacle_ha

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
COLLECTION = ROOT / "ansible_collections" / "tentacle_ha" / "octopus"
BIN = Path(sys.executable).parent
MODULES = ("tentacle_config", "tentacle_info", "poll_check")

inventory = load_plugin("inventory", "cluster")


def _run(args: list[str], tmp: Path, *, cwd: Path, collections: Path) -> str:
    home = tmp / "home"
    home.mkdir(exist_ok=True)
    env = {
        "PATH": f"{BIN}:{os.environ.get('PATH', '/usr/bin:/bin')}",
        "HOME": str(home),
        "ANSIBLE_COLLECTIONS_PATH": str(collections),
        "ANSIBLE_LOCAL_TEMP": str(tmp / "local-tmp"),
        "ANSIBLE_NOCOLOR": "1",
        "NO_COLOR": "1",
        "LC_ALL": "C.UTF-8",
    }
    done = subprocess.run(
        args, cwd=cwd, env=env, capture_output=True, text=True, timeout=240,
        check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def _docs(tmp: Path, collections: Path) -> dict[str, dict[str, object]]:
    names = [f"tentacle_ha.octopus.{m}" for m in MODULES]
    out = _run(
        [str(BIN / "ansible-doc"), "--json", *names], tmp,
        cwd=tmp, collections=collections,
    )  # fmt: skip
    docs: dict[str, dict[str, object]] = json.loads(out)
    return docs


def test_galaxy_build_installs_and_documents(tmp_path: Path) -> None:
    galaxy = (COLLECTION / "galaxy.yml").read_text()
    assert f"version: {tentacle_ha.__version__}\n" in galaxy
    _run(
        [str(BIN / "ansible-galaxy"), "collection", "build", "--output-path",
         str(tmp_path)], tmp_path, cwd=COLLECTION, collections=ROOT,
    )  # fmt: skip
    (tarball,) = tmp_path.glob("tentacle_ha-octopus-*.tar.gz")
    with tarfile.open(tarball) as archive:
        names = set(archive.getnames())
    ours = {
        str(p.relative_to(COLLECTION))
        for p in COLLECTION.rglob("*")
        if p.is_file() and "__pycache__" not in p.parts and "output" not in p.parts
    }
    assert "plugins/action/tentacle_config.py" in ours
    assert ours - {"galaxy.yml"} <= names  # galaxy.yml becomes MANIFEST.json
    assert not [n for n in names if "__pycache__" in n or n.startswith("tests/output")]
    installed = tmp_path / "installed"
    _run(
        [str(BIN / "ansible-galaxy"), "collection", "install", "--no-deps",
         str(tarball), "-p", str(installed)], tmp_path, cwd=tmp_path,
        collections=installed,
    )  # fmt: skip  # --no-deps: Galaxy (ansible.windows) is out of reach here
    manifest = json.loads(
        (
            installed / "ansible_collections/tentacle_ha/octopus/MANIFEST.json"
        ).read_text()
    )
    # Windows targets are written with ansible.windows: installing from Galaxy
    # brings it along.
    assert "ansible.windows" in manifest["collection_info"]["dependencies"]
    docs = _docs(tmp_path, installed)
    for module in MODULES:
        doc = docs[f"tentacle_ha.octopus.{module}"]["doc"]
        assert isinstance(doc, dict)
        assert str(doc["filename"]).startswith(str(installed))  # not the repo's copy
        attributes = doc["attributes"]
        assert {"check_mode", "diff_mode", "platform"} <= set(attributes)
    poll = docs["tentacle_ha.octopus.poll_check"]["doc"]
    assert isinstance(poll, dict)
    assert "Windows targets are not supported yet" in json.dumps(poll["description"])
    config = docs["tentacle_ha.octopus.tentacle_config"]["doc"]
    assert isinstance(config, dict)
    options = config["options"]
    assert {"path", "instance", "machine_home", "sync", "allow_empty"} <= set(options)


def test_ansible_lint_role_and_example(tmp_path: Path) -> None:
    out = _run(
        [str(BIN / "ansible-lint"), "--offline", "--nocolor",
         "ansible_collections/tentacle_ha/octopus/roles/converge",
         "examples/ansible/converge.yml"],
        tmp_path, cwd=ROOT, collections=ROOT,
    )  # fmt: skip
    del out  # exit 0 is the verdict (the production profile)


def test_ansible_test_units(tmp_path: Path) -> None:
    out = _run(
        [str(BIN / "ansible-test"), "units", "--python", "3.11"], tmp_path,
        cwd=COLLECTION, collections=ROOT,
    )  # fmt: skip
    assert " passed" in out
    assert " failed" not in out


def _plain(value: object) -> object:
    """ansible-inventory's JSON without its ``__ansible_unsafe`` wrappers."""
    if isinstance(value, dict):
        if set(value) == {"__ansible_unsafe"}:
            return value["__ansible_unsafe"]
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def _inventory(tmp: Path, source: Path) -> subprocess.CompletedProcess[str]:
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(tmp),
        "ANSIBLE_COLLECTIONS_PATH": str(ROOT),
        "ANSIBLE_INVENTORY_ENABLED": "tentacle_ha.octopus.cluster",
        "ANSIBLE_INVENTORY_UNPARSED_FAILED": "true",
        "LC_ALL": "C.UTF-8",
    }
    return subprocess.run(
        [str(BIN / "ansible-inventory"), "-i", str(source), "--list"],
        cwd=tmp, env=env, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip


def test_inventory_plugin_groups_the_cluster(tmp_path: Path) -> None:
    cluster_file = ROOT / "examples" / "cluster-unique-address.toml"
    cluster = tentacle_ha.load_cluster(cluster_file)
    done = _inventory(tmp_path, ROOT / "examples" / "ansible" / "cluster.inventory.yml")
    assert done.returncode == 0, done.stderr
    listing = _plain(json.loads(done.stdout))
    assert isinstance(listing, dict)
    named = [t for t in cluster.tentacles if t.name]
    assert named
    assert set(listing["tentacles"]["hosts"]) == {t.name for t in named}
    for tentacle in named:
        assert tentacle.name in listing[str(tentacle.os)]["hosts"]
        for role in tentacle.roles:
            assert tentacle.name in listing[inventory.group_name("role", role)]["hosts"]
        for environment in tentacle.environments:
            group = inventory.group_name("environment", environment)
            assert tentacle.name in listing[group]["hosts"]
        facts = listing["_meta"]["hostvars"][tentacle.name]
        assert Path(facts["converge_cluster"]).resolve() == cluster_file
        assert facts["converge_instance"] == tentacle.instance
        assert facts.get("converge_path") == tentacle.config_path
    # Negative control: a broken cluster file fails with the library's message.
    broken = tmp_path / "broken.toml"
    broken.write_text('[cluster]\nserver = "https://x"\nlayout = "no-such-layout"\n')
    with pytest.raises(tentacle_ha.errors.TentacleHAError) as caught:
        tentacle_ha.load_cluster(broken)
    source = tmp_path / "broken.yml"
    source.write_text(f"plugin: tentacle_ha.octopus.cluster\ncluster: {broken}\n")
    failed = _inventory(tmp_path, source)
    assert failed.returncode != 0
    assert caught.value.message in failed.stderr
    assert inventory.group_name("role", "web-server") == "role_web_server"
