"""The converge role for real: ansible-playbook on 23 local hosts and 2 over SSH.

Each local host is its own config in a temp folder (Windows and Linux shapes,
two drifted, one broken, two already converged); one more local host ("race")
runs its modules through an interpreter wrapper that, right before the writer
module runs, rewrites the config in place the way Tentacle does (another
writer between read and write). Two hosts go through a real ``sshd`` on
127.0.0.1 that the test starts (throwaway keys, stopped by PID); their config
is found through an instance index, and their modules run on the system
Python, which has no tentacle_ha. The restart command is a stub that records
which hosts it ran for.

Three runs: ``--check --diff``, the real run, and a second real run.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from helpers import sshd
from helpers.ansible_run import Run
from helpers.ansible_run import run_playbook

from tentacle_ha import SyncToCluster
from tentacle_ha import load
from tentacle_ha import load_cluster
from tentacle_ha import loads
from tentacle_ha.errors import TentacleHAError
from tentacle_ha.fleet._fleetgen import ADDRESSES
from tentacle_ha.fleet._fleetgen import write_fleet

if TYPE_CHECKING:
    from collections.abc import Iterator

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
CLUSTER = ROOT / "examples" / "cluster-unique-address.toml"
LOCAL = 22
BROKEN = 2  # write_fleet: drifted configs 0-1, then the broken one
CONVERGED = (LOCAL - 2, LOCAL - 1)  # already on the cluster before the first run
SSH_HOSTS = ("ssh1", "ssh2")
CONFIG = "tentacle_ha.octopus.tentacle_config"
RESTART = "ansible.builtin.command"
CHANGED_SINCE_READ = "file changed on disk since it was read; nothing written"

PLAYBOOK = f"""\
- name: Converge
  hosts: tentacles
  gather_facts: false
  roles:
    - role: tentacle_ha.octopus.converge
      converge_cluster: {CLUSTER}
      converge_path: "{{{{ tentacle_path | default('') }}}}"
      converge_machine_home: "{{{{ tentacle_home | default('') }}}}"
      converge_restart_command: "{{{{ stub }}}} {{{{ inventory_hostname }}}}"
      converge_poll_check: false
"""


class Fleet:
    def __init__(self, tmp: Path, server: sshd.Sshd) -> None:
        self.tmp = tmp
        self.paths = write_fleet(
            tmp / "hosts", LOCAL, addresses=ADDRESSES[:2], drifted=BROKEN, broken=1
        )
        self.broken = self.paths[BROKEN]
        cluster = load_cluster(CLUSTER)
        for number in CONVERGED:
            doc = load(self.paths[number])
            SyncToCluster(cluster).apply(doc)
            self.paths[number].write_bytes(doc.dumps())
        self.race = self.paths[-1].with_name("race.config")
        self.race.write_bytes(self.paths[0].read_bytes())
        # The other writer's bytes: already converged, with its own change.
        other = loads(self.race.read_bytes(), path=str(self.race))
        SyncToCluster(cluster).apply(other)
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
        self.calls = tmp / "restarts"
        stub = tmp / "restart-stub"
        stub.write_text(f'#!/bin/sh\necho "$1" >> {self.calls}\n')
        stub.chmod(0o755)
        self.ssh = self._instances(tmp)
        lines = ["[local]"]
        lines += [f"h{i:02d} tentacle_path={p}" for i, p in enumerate(self.paths)]
        # The race host's wrapper sees the module's file: no pipelining there.
        lines.append(
            f"race tentacle_path={self.race} ansible_python_interpreter={wrapper}"
            " ansible_pipelining=false"
        )
        lines += [
            "[local:vars]",
            "ansible_connection=local",
            "ansible_pipelining=true",
            f"ansible_python_interpreter={sys.executable}",
            "[ssh]",
        ]
        lines += [f"{h} tentacle_home={self.ssh[h]}" for h in SSH_HOSTS]
        lines += [
            "[ssh:vars]",
            *server.inventory_vars(),
            "ansible_python_interpreter=/usr/bin/python3",
            "ansible_pipelining=true",
            "[tentacles:children]",
            "local",
            "ssh",
            "[tentacles:vars]",
            f"stub={stub}",
        ]
        (tmp / "inventory.ini").write_text("\n".join(lines) + "\n")
        (tmp / "converge.yml").write_text(PLAYBOOK)

    def _instances(self, tmp: Path) -> dict[str, Path]:
        """Per SSH host: a machine home whose instance index names its config.

        ssh1's index file has Tentacle's name for the instance (read at
        once); ssh2's does not, so it is found by listing the index.
        """
        homes = {}
        for host, index_name in zip(
            SSH_HOSTS, ("tentacle.config", "old.config"), strict=True
        ):
            home = tmp / host / "etc-octopus"
            index = home / "Tentacle" / "Instances"
            index.mkdir(parents=True)
            config = tmp / host / "Tentacle.config"
            config.write_bytes(self.paths[0].read_bytes())
            (index / index_name).write_text(
                json.dumps({"Name": "Tentacle", "ConfigurationFilePath": str(config)})
            )
            homes[host] = home
        return homes

    @property
    def ssh_configs(self) -> list[Path]:
        return [self.tmp / h / "Tentacle.config" for h in SSH_HOSTS]

    def files(self) -> dict[Path, bytes]:
        return {p: p.read_bytes() for p in [*self.paths, self.race, *self.ssh_configs]}

    def run(self, *extra: str) -> Run:
        done = run_playbook(self.tmp, "-i", "inventory.ini", "converge.yml", *extra)
        assert len(done.recap) == LOCAL + 1 + len(SSH_HOSTS), done.out
        return done

    def restarted(self) -> list[str]:
        return self.calls.read_text().split() if self.calls.exists() else []


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[sshd.Sshd]:
    assert sshd.available(), "needs openssh-server (scripts/ensure-system-packages)"
    yield from sshd.running(tmp_path_factory.mktemp("sshd"))


@pytest.fixture(scope="module")
def fleet(tmp_path_factory: pytest.TempPathFactory, server: sshd.Sshd) -> Fleet:
    return Fleet(tmp_path_factory.mktemp("ansible"), server)


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


def _host(number: int) -> str:
    return f"h{number:02d}"


class Expect:
    """What each run must show, worked out from the fleet before any run."""

    def __init__(self, fleet: Fleet) -> None:
        self.before = fleet.files()
        self.certs = _certificates(fleet)
        self.broken = _host(BROKEN)
        self.converged = {_host(n) for n in CONVERGED}
        to_change = {_host(n) for n in range(LOCAL)} - self.converged - {self.broken}
        self.to_change = to_change | {"race", *SSH_HOSTS}
        self.broken_message = _broken_message(fleet)


def _check_run(fleet: Fleet, expect: Expect) -> None:
    """--check --diff: nothing written, the new node shown, secrets masked."""
    run = fleet.run("--check", "--diff", "-v")
    assert fleet.files() == expect.before
    assert not list(fleet.tmp.glob("**/*.bak*"))
    added = [line for line in run.out.splitlines() if line.startswith("+  <set")]
    assert added
    assert all("node3.octopus.example.com:10943" in line for line in added)
    drifted = fleet.paths[0].read_text()
    assert "node3" not in drifted
    assert '<set key="Tentacle.Certificate">***</set>' in run.out
    # No certificate shown, nor in any task result.
    results = json.dumps(run.results)
    assert not [c for c in expect.certs if c[:40] in run.out or c[:40] in results]
    edits = run.of(CONFIG)
    assert {h for h, r in edits.items() if r["result"].get("changed")} == (
        expect.to_change
    )
    assert run.failed_hosts() == {expect.broken}
    assert expect.broken_message in edits[expect.broken]["result"]["msg"]
    assert fleet.restarted() == []  # the handler's command does not run in check mode
    for host, config in zip(SSH_HOSTS, fleet.ssh_configs, strict=True):
        assert edits[host]["result"]["instance"] == "Tentacle"
        assert edits[host]["result"]["path"] == str(config)


def _real_run(fleet: Fleet, expect: Expect) -> None:
    """Every host but the broken one converges, the race keeps the other
    writer's bytes, and exactly the changed hosts restart."""
    run = fleet.run()
    results = json.dumps(run.results)
    assert not [c for c in expect.certs if c[:40] in run.out or c[:40] in results]
    assert expect.certs[0][:40] in fleet.paths[0].read_text()  # the control
    cluster = load_cluster(CLUSTER)
    after = fleet.files()
    for path in [*fleet.paths, *fleet.ssh_configs]:
        if path == fleet.broken:
            assert after[path] == expect.before[path]
            continue
        doc = load(path)
        SyncToCluster(cluster).apply(doc)
        assert not doc.changed, path  # converged
        backup = path.with_name(path.name + ".bak")
        if path in (fleet.paths[n] for n in CONVERGED):
            assert not backup.exists()
        else:
            assert backup.read_bytes() == expect.before[path]
    edits = run.of(CONFIG)
    assert expect.broken_message in edits[expect.broken]["result"]["msg"]
    assert after[fleet.race] == fleet.other_bytes
    assert CHANGED_SINCE_READ in edits["race"]["result"]["msg"]
    assert not fleet.race.with_name("race.config.bak").exists()
    assert run.failed_hosts() == {expect.broken, "race"}
    changed = {h for h, r in edits.items() if r["result"].get("changed")}
    assert changed == expect.to_change - {"race"}
    assert sorted(fleet.restarted()) == sorted(changed)  # once each, only these
    restarts = {h: r["status"] for h, r in run.of(RESTART).items()}
    assert restarts == dict.fromkeys(changed, "ok")
    assert edits["h00"]["result"]["restart_required"] is True
    assert edits["h00"]["result"]["backup_file"] == str(fleet.paths[0]) + ".bak"


def _second_run(fleet: Fleet, expect: Expect) -> None:
    """Nothing changes, nothing restarts; the broken host still fails alone."""
    after = fleet.files()
    restarts = fleet.restarted()
    run = fleet.run()
    assert fleet.files() == after
    assert sum(r["changed"] for r in run.recap.values()) == 0
    assert run.failed_hosts() == {expect.broken}
    assert fleet.restarted() == restarts
    assert not run.of(RESTART)


def test_check_diff_then_converge_then_idempotent(fleet: Fleet) -> None:
    expect = Expect(fleet)
    _check_run(fleet, expect)
    _real_run(fleet, expect)
    _second_run(fleet, expect)
