"""Restart pending: a real stand-in agent process, its start time from /proc.

The stand-in is a script named ``Tentacle`` run as ``Tentacle agent
--instance=NAME``, so its command line reads like the real agent's
(``python .../Tentacle agent --instance=NAME``, as ``dotnet Tentacle.dll``
would). The config's modification time is set on either side of the
process start, so the outcome does not depend on timing.
"""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tentacle_ha.fleet import running
from tentacle_ha.fleet.findings import Severity
from tentacle_ha.fleet.running import SLACK
from tentacle_ha.fleet.running import RunningAgents
from tentacle_ha.fleet.running import agent_instance
from tentacle_ha.fleet.running import restart_pending
from tentacle_ha.fleet.running import unit_name

if TYPE_CHECKING:
    from collections.abc import Iterator

pytestmark = pytest.mark.skipif(
    not Path("/proc/self/stat").exists(), reason="needs Linux /proc"
)

_SLEEPER = "import time\ntime.sleep(120)\n"


def _script(folder: Path, name: str, body: str) -> Path:
    path = folder / name
    path.write_text(f"#!{sys.executable}\n{body}", encoding="utf-8")
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return path


def _wait_for_cmdline(pid: int, word: str) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if word in Path(f"/proc/{pid}/cmdline").read_bytes().decode():
                return
        except OSError:
            pass
        time.sleep(0.05)
    pytest.fail(f"process {pid} never showed {word!r}")


@pytest.fixture
def instance() -> str:
    return f"stand-in-{uuid.uuid4().hex[:12]}"


@pytest.fixture
def agent(tmp_path: Path, instance: str) -> Iterator[subprocess.Popen[bytes]]:
    """A real process whose command line is ``.../Tentacle agent --instance=X``."""
    script = _script(tmp_path, "Tentacle", _SLEEPER)
    process = subprocess.Popen([str(script), "agent", f"--instance={instance}"])
    try:
        _wait_for_cmdline(process.pid, instance)
        yield process
    finally:
        process.kill()
        process.wait(timeout=30)


def _config(tmp_path: Path, mtime: float) -> Path:
    path = tmp_path / "Tentacle.config"
    path.write_bytes(b"<octopus-settings />")
    os.utime(path, (mtime, mtime))
    return path


def _started(instance: str) -> tuple[RunningAgents, float]:
    agents = RunningAgents(systemctl=None)
    start = agents.start_of(instance)
    assert start is not None
    return agents, start.started


def test_the_running_agent_is_found_with_its_start_time(
    agent: subprocess.Popen[bytes], instance: str
) -> None:
    """/proc field 22 + btime gives the start, within the clocks' whole seconds."""
    start = RunningAgents(systemctl=None).start_of(instance)
    assert start is not None
    assert start.pid == agent.pid
    assert start.how == f"process {agent.pid}"
    assert abs(start.started - time.time()) < 60
    assert RunningAgents(systemctl=None).start_of(instance.upper()) is not None


def test_a_config_newer_than_the_agent_is_restart_pending(
    tmp_path: Path, agent: subprocess.Popen[bytes], instance: str
) -> None:
    """Written after the agent started: restart-pending (warning)."""
    agents, started = _started(instance)
    config = _config(tmp_path, started + 30)
    finding = restart_pending(config, instance, agents)
    assert finding is not None
    assert (finding.severity, finding.code) == (Severity.WARNING, "restart-pending")
    assert f"process {agent.pid}" in finding.message
    assert "--restart" in finding.message


def test_negative_control_a_config_older_than_the_agent_is_loaded(
    tmp_path: Path, agent: subprocess.Popen[bytes], instance: str
) -> None:
    """Written before the agent started (or within the slack): no finding."""
    agents, started = _started(instance)
    assert agent.poll() is None
    assert restart_pending(_config(tmp_path, started - 30), instance, agents) is None
    same_second = _config(tmp_path, started + SLACK / 2)
    assert restart_pending(same_second, instance, agents) is None


def test_no_agent_process_is_not_running_not_pending(
    tmp_path: Path, instance: str
) -> None:
    """No process runs the instance: info agent-not-running, never pending."""
    config = _config(tmp_path, time.time() + 3600)
    finding = restart_pending(config, instance, RunningAgents(systemctl=None))
    assert finding is not None
    assert (finding.severity, finding.code) == (Severity.INFO, "agent-not-running")


def test_another_instance_does_not_count(
    agent: subprocess.Popen[bytes], instance: str
) -> None:
    """The stand-in runs another instance: this one is not running."""
    assert agent.poll() is None
    assert RunningAgents(systemctl=None).start_of(instance + "-other") is None


def test_the_proc_root_is_injectable(
    tmp_path: Path, agent: subprocess.Popen[bytes], instance: str
) -> None:
    """A stand-in /proc holding only the agent's files: found there, not elsewhere."""
    fake = tmp_path / "proc"
    (fake / str(agent.pid)).mkdir(parents=True)
    for name in ("cmdline", "stat"):
        data = Path(f"/proc/{agent.pid}/{name}").read_bytes()
        (fake / str(agent.pid) / name).write_bytes(data)
    (fake / "stat").write_bytes(Path("/proc/stat").read_bytes())
    found = RunningAgents(proc=fake, systemctl=None).start_of(instance)
    real = RunningAgents(systemctl=None).start_of(instance)
    assert found is not None
    assert real is not None
    assert found.started == real.started
    empty = tmp_path / "empty"
    empty.mkdir()
    assert RunningAgents(proc=empty, systemctl=None).start_of(instance) is None


def test_systemd_active_enter_timestamp_is_used_first(
    tmp_path: Path, instance: str
) -> None:
    """A stand-in systemctl that reports the unit active: its timestamp counts."""
    systemctl = _script(
        tmp_path,
        "systemctl",
        "import sys\n"
        "assert sys.argv[1] == 'show' and '--timestamp=unix' in sys.argv\n"
        f"assert sys.argv[-1] == {unit_name(instance)!r}\n"
        "print('ActiveState=active')\n"
        "print('ActiveEnterTimestamp=@1700000000')\n",
    )
    agents = RunningAgents(systemctl=str(systemctl))
    start = agents.start_of(instance)
    assert start is not None
    assert (start.started, start.how) == (
        1700000000.0,
        f"systemd unit {instance}.service",
    )
    finding = restart_pending(_config(tmp_path, 1700000100.0), instance, agents)
    assert finding is not None
    assert finding.code == "restart-pending"
    assert restart_pending(_config(tmp_path, 1699999000.0), instance, agents) is None


@pytest.mark.parametrize(
    "output",
    ["ActiveState=inactive\nActiveEnterTimestamp=@1700000000\n", "garbage\n"],
)
def test_systemd_not_active_falls_back_to_processes(
    tmp_path: Path, instance: str, output: str
) -> None:
    """An inactive unit (or odd output) says nothing; then /proc decides."""
    systemctl = _script(tmp_path, "systemctl", f"print({output!r}, end='')\n")
    assert RunningAgents(systemctl=str(systemctl)).start_of(instance) is None


def test_a_hanging_systemctl_is_asked_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A systemctl that does not answer costs one timeout, not one per instance
    (control: one that answers is asked for each instance)."""
    monkeypatch.setattr(running, "_SYSTEMCTL_TIMEOUT", 0.5)
    calls = tmp_path / "calls"
    body = (
        "import sys, time\n"
        f"open({str(calls)!r}, 'a').write(sys.argv[-1] + '\\n')\n"
        "time.sleep(30 if 'hang' in sys.argv[0].rsplit('/', 1)[-1] else 0)\n"
    )
    hanging = RunningAgents(systemctl=str(_script(tmp_path, "hang-systemctl", body)))
    for instance in ("A", "B", "C"):
        assert hanging.start_of(instance) is None
    assert calls.read_text().split() == ["A.service"]
    calls.unlink()
    answering = RunningAgents(systemctl=str(_script(tmp_path, "systemctl", body)))
    for instance in ("A", "B"):
        assert answering.start_of(instance) is None
    assert calls.read_text().split() == ["A.service", "B.service"]


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (
            [
                "/opt/octopus/tentacle/Tentacle",
                "run",
                "--instance=A",
                "--noninteractive",
            ],
            ("A", None),
        ),
        (["Tentacle", "agent", "--instance", "My Tentacle"], ("My Tentacle", None)),
        (["dotnet", "/x/Tentacle.dll", "AGENT", "/INSTANCE:B"], ("B", None)),
        (["Tentacle", "run", "-config=/etc/t.config"], (None, "/etc/t.config")),
        (["Tentacle", "configure", "--instance=A"], None),
        (["/usr/bin/python3", "-c", "Tentacle agent"], None),
        (["bash"], None),
    ],
)
def test_agent_command_lines(
    argv: list[str], expected: tuple[str | None, str | None] | None
) -> None:
    """Tentacle's option spellings; only `agent`/`run` is the agent."""
    assert agent_instance(argv) == expected


def test_unit_names_as_tentacle_installs_them() -> None:
    """'/' removed, white space runs made '-'."""
    assert unit_name("Tentacle") == "Tentacle.service"
    assert unit_name("My  Worker/2") == "My-Worker2.service"
