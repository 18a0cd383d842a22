"""tentacle_ha.octopus.tentacle_config for real: ansible-playbook on 23 local hosts.

Each host is its own config in a temp folder (Windows and Linux shapes, two
drifted, one broken); one more host ("race") runs its modules through an
interpreter wrapper that, right before the writer module runs, rewrites the
config in place the way Tentacle does (another writer between read and write).
Three runs: ``--check --diff``, the real run, and a second real run.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tentacle_ha import SyncToCluster
from tentacle_ha import load
from tentacle_ha import load_cluster
from tentacle_ha import loads
from tentacle_ha.errors import TentacleHAError
from tentacle_ha.fleet._fleetgen import ADDRESSES
from tentacle_ha.fleet._fleetgen import write_fleet

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
CLUSTER = ROOT / "examples" / "cluster-unique-address.toml"
PLAYBOOK_BIN = Path(sys.executable).parent / "ansible-playbook"
HOSTS = 22
BROKEN = 2  # write_fleet: drifted configs 0-1, then the broken one
RECAP = re.compile(
    r"^(\S+)\s+: ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)",
    re.MULTILINE,
)

PLAYBOOK = f"""\
- hosts: tentacles
  gather_facts: false
  tasks:
    - name: Converge on the cluster
      tentacle_ha.octopus.tentacle_config:
        path: "{{{{ tentacle_path }}}}"
        sync: {CLUSTER}
        backup: true
"""


class Fleet:
    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.paths = write_fleet(
            tmp / "hosts", HOSTS, addresses=ADDRESSES[:2], drifted=BROKEN, broken=1
        )
        self.broken = self.paths[BROKEN]
        self.race = self.paths[-1].with_name("race.config")
        self.race.write_bytes(self.paths[-1].read_bytes())
        # The other writer's bytes: already converged, with its own change.
        other = loads(self.race.read_bytes(), path=str(self.race))
        SyncToCluster(load_cluster(CLUSTER)).apply(other)
        other.polling_connection_count = 7
        self.other_bytes = other.dumps()
        (tmp / "other.bytes").write_bytes(self.other_bytes)
        wrapper = tmp / "racing-python"
        wrapper.write_text(
            "#!/bin/sh\n"
            'case "$1" in *AnsiballZ_tentacle_config.py)\n'
            f"  [ -e {tmp}/raced ] || {{ cat {tmp}/other.bytes > {self.race};"
            f" touch {tmp}/raced; }} ;;\n"
            "esac\n"
            f'exec {sys.executable} "$@"\n'
        )
        wrapper.chmod(0o755)
        lines = ["[tentacles]"]
        lines += [f"h{i:02d} tentacle_path={p}" for i, p in enumerate(self.paths)]
        lines.append(
            f"race tentacle_path={self.race} ansible_python_interpreter={wrapper}"
        )
        lines += [
            "[tentacles:vars]",
            "ansible_connection=local",
            f"ansible_python_interpreter={sys.executable}",
        ]
        (tmp / "inventory.ini").write_text("\n".join(lines) + "\n")
        (tmp / "converge.yml").write_text(PLAYBOOK)
        (tmp / "ansible.cfg").write_text(
            "[defaults]\nforks = 10\nhost_key_checking = false\n"
            "interpreter_python = auto_silent\n"
            "[connection]\npipelining = false\n"
        )

    def files(self) -> dict[Path, bytes]:
        return {p: p.read_bytes() for p in [*self.paths, self.race]}

    def run(self, *extra: str) -> tuple[str, dict[str, tuple[int, int]]]:
        home = self.tmp / "home"
        home.mkdir(exist_ok=True)
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": str(home),
            "ANSIBLE_CONFIG": str(self.tmp / "ansible.cfg"),
            "ANSIBLE_LOCAL_TEMP": str(self.tmp / "local-tmp"),
            "ANSIBLE_REMOTE_TEMP": str(self.tmp / "remote-tmp"),
            "ANSIBLE_COLLECTIONS_PATH": str(ROOT),
            "ANSIBLE_NOCOLOR": "1",
            "LC_ALL": "C.UTF-8",
        }
        done = subprocess.run(
            [str(PLAYBOOK_BIN), "-i", "inventory.ini", "converge.yml", "-v", *extra],
            cwd=self.tmp, env=env, capture_output=True, text=True, timeout=120,
            check=False,
        )  # fmt: skip
        out = done.stdout + done.stderr
        recap = {m[1]: (int(m[3]), int(m[5])) for m in RECAP.finditer(done.stdout)}
        assert len(recap) == HOSTS + 1, out
        return out, recap


@pytest.fixture(scope="module")
def fleet(tmp_path_factory: pytest.TempPathFactory) -> Fleet:
    return Fleet(tmp_path_factory.mktemp("ansible"))


def _certificates(fleet: Fleet) -> list[str]:
    certs = []
    for path in fleet.paths:
        if path != fleet.broken:
            cert = load(path).get("Tentacle.Certificate", reveal=True)
            assert cert
            certs.append(str(cert))
    return certs


def _broken_message(fleet: Fleet) -> str:
    with pytest.raises(TentacleHAError) as caught:
        load(fleet.broken)
    return str(caught.value)


def test_check_diff_then_converge_then_idempotent(fleet: Fleet) -> None:
    before = fleet.files()
    certs = _certificates(fleet)
    out, recap = fleet.run("--check", "--diff")
    assert fleet.files() == before  # check mode wrote nothing
    assert not list(fleet.tmp.glob("hosts/**/*.bak*"))
    added = [line for line in out.splitlines() if line.startswith("+  <set")]
    assert added
    assert all("node3.octopus.example.com:10943" in line for line in added)
    assert "node3" not in "".join(b.decode("utf-8", "replace") for b in before.values())
    assert '<set key="Tentacle.Certificate">***</set>' in out
    assert not [c for c in certs if c[:40] in out]  # no certificate shown
    assert recap["h00"] == (1, 0)
    assert recap["h02"] == (0, 1)
    assert _broken_message(fleet) in out
    assert sum(c for c, _ in recap.values()) == HOSTS  # every good host + race

    out, recap = fleet.run()
    assert not [c for c in certs if c[:40] in out]
    cluster = load_cluster(CLUSTER)
    after = fleet.files()
    for path in fleet.paths:
        if path == fleet.broken:
            assert after[path] == before[path]
            continue
        doc = load(path)
        SyncToCluster(cluster).apply(doc)
        assert not doc.changed, path  # converged
        assert path.with_name(path.name + ".bak").read_bytes() == before[path]
    assert recap[f"h{BROKEN:02d}"] == (0, 1)
    assert _broken_message(fleet) in out
    # The race: the other writer's bytes survive; the task failed, wrote nothing.
    assert recap["race"] == (0, 1)
    assert after[fleet.race] == fleet.other_bytes
    assert "file changed on disk since it was read; nothing written" in out
    assert not fleet.race.with_name("race.config.bak").exists()
    good = {h: r for h, r in recap.items() if h not in {"race", f"h{BROKEN:02d}"}}
    assert set(good.values()) == {(1, 0)}

    out, recap = fleet.run()
    assert fleet.files() == after
    assert sum(c for c, _ in recap.values()) == 0
    assert {h for h, (_, f) in recap.items() if f} == {f"h{BROKEN:02d}"}
    assert recap["race"] == (0, 0)  # the other writer had converged it
