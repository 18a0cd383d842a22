"""examples/ansible/converge.yml for real, against a loopback fake Octopus node.

Four local hosts (``a0`` is the canary, first in the inventory) converge on a
cluster file whose one node is a `FakeOctopusNode`; the role then checks the
poll path from each host with ``poll_check``. Proves: a failing canary stops
the roll-out before any other host is touched (``serial`` +
``max_fail_percentage: 0``); the real run converges everyone, restarts each
once and finds the poll path ok; when the node presents another certificate,
poll_check fails with ``thumbprint_mismatch`` on the canary, and again the
roll-out stops there.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from helpers.ansible_run import Run
from helpers.ansible_run import run_playbook

from tentacle_ha import load
from tentacle_ha.fleet._fleetgen import write_fleet
from tentacle_ha.testing import CommsMode
from tentacle_ha.testing import FakeOctopusNode

if TYPE_CHECKING:
    from collections.abc import Iterator

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "ansible" / "converge.yml"
HOSTS = ("a0", "a1", "a2", "a3")
POLL = "tentacle_ha.octopus.poll_check"
CONFIG = "tentacle_ha.octopus.tentacle_config"


@pytest.fixture(scope="module")
def node() -> Iterator[FakeOctopusNode]:
    with FakeOctopusNode("Node1") as running:
        yield running


class Site:
    def __init__(self, tmp: Path, node: FakeOctopusNode) -> None:
        self.tmp = tmp
        self.paths = dict(
            zip(
                HOSTS,
                write_fleet(tmp / "hosts", len(HOSTS), thumbprint=node.thumbprint),
                strict=True,
            )
        )
        self.good_canary = self.paths["a0"].read_bytes()
        self.paths["a0"].write_bytes(b"<octopus-settings><set key=")  # broken
        port = node.comms_address.rsplit(":", 1)[1]
        self.cluster = tmp / "cluster.toml"
        self.cluster.write_text(
            f'[cluster]\nserver = "{node.web_url}"\nthumbprint = "{node.thumbprint}"\n'
            'layout = "unique-address"\n\n[[nodes]]\nname = "Node1"\n'
            f'address = "127.0.0.1"\ncomms_port = {port}\nweb_url = "{node.web_url}"\n'
        )
        self.calls = tmp / "restarts"
        stub = tmp / "restart-stub"
        stub.write_text(f'#!/bin/sh\necho "$1" >> {self.calls}\n')
        stub.chmod(0o755)
        lines = ["[tentacles]"]
        lines += [f"{h} converge_path={p}" for h, p in self.paths.items()]
        lines += [
            "[tentacles:vars]",
            "ansible_connection=local",
            "ansible_pipelining=true",
            f"ansible_python_interpreter={sys.executable}",
            f"converge_restart_command='{stub} {{{{ inventory_hostname }}}}'",
            "converge_poll_timeout=3",
        ]
        (tmp / "inventory.ini").write_text("\n".join(lines) + "\n")

    def run(self) -> Run:
        return run_playbook(
            self.tmp, "-i", "inventory.ini", str(EXAMPLE),
            "-e", f"cluster_file={self.cluster}",
        )  # fmt: skip

    def files(self) -> dict[str, bytes]:
        return {h: p.read_bytes() for h, p in self.paths.items()}

    def restarted(self) -> list[str]:
        return self.calls.read_text().split() if self.calls.exists() else []


def test_example_rolls_out_canary_first(tmp_path: Path, node: FakeOctopusNode) -> None:
    site = Site(tmp_path, node)
    before = site.files()

    # A broken canary: the roll-out stops after it; nobody else is touched.
    run = site.run()
    assert run.returncode != 0
    assert set(run.of(CONFIG)) == {"a0"}
    assert site.files() == before
    assert site.restarted() == []

    # Fixed: every host converges onto the node, restarts once, polls ok.
    site.paths["a0"].write_bytes(site.good_canary)
    run = site.run()
    assert run.returncode == 0, run.out
    for path in site.paths.values():
        servers = load(path).trusted_servers.polling()
        assert [s.address for s in servers] == [node.comms_address]
    assert sorted(site.restarted()) == list(HOSTS)
    polls = run.of(POLL)
    assert {h: r["result"]["ok"] for h, r in polls.items()} == dict.fromkeys(
        HOSTS, True
    )
    assert {r["result"]["results"][0]["status"] for r in polls.values()} == {"ok"}

    # The node now presents another certificate: nothing to change, no restart,
    # and the canary's poll check fails with the right class, stopping the rest.
    node.comms_mode = CommsMode.OTHER_CERTIFICATE
    try:
        after = site.files()
        run = site.run()
    finally:
        node.comms_mode = CommsMode.HALIBUT
    assert run.returncode != 0
    assert site.files() == after
    assert sorted(site.restarted()) == list(HOSTS)
    polls = run.of(POLL)
    assert set(polls) == {"a0"}
    assert polls["a0"]["status"] == "failed"
    assert polls["a0"]["result"]["results"][0]["status"] == "thumbprint_mismatch"
