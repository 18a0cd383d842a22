"""Running ansible-playbook for real from the tests, with per-task results.

Every run gets its own HOME, local and remote temp folders under the test's
temp folder, the repo root as ``ANSIBLE_COLLECTIONS_PATH``, and the test-only
``record`` callback (``tests/ansible/callback_plugins``), which writes one
JSON line per task result; `Run.results` reads them back.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
PLAYBOOK_BIN = Path(sys.executable).parent / "ansible-playbook"
CALLBACKS = ROOT / "tests" / "ansible" / "callback_plugins"
RECAP = re.compile(
    r"^(\S+)\s+: ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)",
    re.MULTILINE,
)

ANSIBLE_CFG = """\
[defaults]
forks = 10
host_key_checking = false
interpreter_python = auto_silent
[connection]
pipelining = false
"""


class Run:
    """One finished ansible-playbook run."""

    def __init__(self, done: subprocess.CompletedProcess[str], record: Path) -> None:
        self.returncode = done.returncode
        self.out = done.stdout + done.stderr
        self.stdout = done.stdout
        lines = record.read_text().splitlines() if record.exists() else []
        self.results: list[dict[str, Any]] = [json.loads(line) for line in lines]
        self.recap = {
            m[1]: {"changed": int(m[3]), "unreachable": int(m[4]), "failed": int(m[5])}
            for m in RECAP.finditer(done.stdout)
        }

    def of(self, action: str) -> dict[str, dict[str, Any]]:
        """The last result of *action* per host: {host: record}."""
        return {r["host"]: r for r in self.results if r["action"] == action}

    def failed_hosts(self) -> set[str]:
        return {h for h, r in self.recap.items() if r["failed"] or r["unreachable"]}


def run_playbook(folder: Path, *args: str, timeout: float = 180) -> Run:
    """``ansible-playbook ARGS`` in *folder* (which holds the inventory and plays)."""
    folder.mkdir(parents=True, exist_ok=True)
    cfg = folder / "ansible.cfg"
    if not cfg.exists():
        cfg.write_text(ANSIBLE_CFG)
    home = folder / "home"
    home.mkdir(exist_ok=True)
    record = folder / "record.jsonl"
    record.unlink(missing_ok=True)
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(home),
        "ANSIBLE_CONFIG": str(cfg),
        "ANSIBLE_LOCAL_TEMP": str(folder / "local-tmp"),
        "ANSIBLE_REMOTE_TEMP": str(folder / "remote-tmp"),
        "ANSIBLE_COLLECTIONS_PATH": str(ROOT),
        "ANSIBLE_CALLBACK_PLUGINS": str(CALLBACKS),
        "ANSIBLE_CALLBACKS_ENABLED": "record",
        "ANSIBLE_NOCOLOR": "1",
        "TENTACLE_HA_RECORD": str(record),
        "LC_ALL": "C.UTF-8",
    }
    done = subprocess.run(
        [str(PLAYBOOK_BIN), *args],
        cwd=folder, env=env, capture_output=True, text=True, timeout=timeout,
        check=False,
    )  # fmt: skip
    return Run(done, record)
