"""Is this machine's Tentacle agent running on an older config? (Linux)

The agent reads Tentacle.config when it starts, so a config written after
that start is not in effect until the service restarts. `RunningAgents`
finds when the agent of an instance started:

1. systemd: Tentacle installs an instance's service as the unit
   ``<instance>.service`` (``Tentacle service --install``: the instance name
   with ``/`` removed and each run of white space made ``-``), whose
   ``ExecStart`` is ``Tentacle run --instance=<instance> --noninteractive``.
   When ``systemctl`` exists and answers, the unit's ``ActiveEnterTimestamp``
   is the start (``systemctl show -p ActiveState -p ActiveEnterTimestamp
   --timestamp=unix``, systemd 248 and later; a unit that is not active,
   or an older systemctl that refuses the option, does not count);
2. otherwise, or when the unit is not active, the processes under ``/proc``:
   one whose command line runs the agent for that instance (an argument
   named ``Tentacle``, ``Tentacle.dll`` or ``Tentacle.exe``, then the command
   ``agent`` or its alias ``run``, then ``--instance NAME`` in any of
   Tentacle's option spellings: ``--``, ``-`` or ``/``, ``=``, ``:`` or the
   next argument, any case; or ``--config PATH`` naming the same file). Its
   start is ``/proc/<pid>/stat`` field 22 (clock ticks since boot) plus the
   boot time (``btime`` in ``/proc/stat``).

`restart_pending` turns that into a finding: ``restart-pending`` (warning)
when the config's modification time is later than the start, by more than
`SLACK` seconds (both clocks count whole seconds: ``btime`` and the unix
timestamp); ``agent-not-running`` (info) when no running agent is found.
Both start times are read, never guessed: without ``/proc`` (not Linux) or
without permission, the agent is "not found", never "pending".

The root of ``/proc`` and the ``systemctl`` to run are parameters, so tests
point them at a real stand-in process and a stand-in ``systemctl``.

.. versionadded:: 0.1.0
"""

from __future__ import annotations

import contextlib
import os
import re
import shlex
import shutil
import subprocess
import time
from pathlib import Path
from typing import TYPE_CHECKING
from typing import Final

import attrs

from tentacle_ha.fleet.findings import Finding
from tentacle_ha.fleet.findings import Severity

if TYPE_CHECKING:
    from collections.abc import Iterator
    from collections.abc import Sequence

__all__ = [
    "SLACK",
    "AgentStart",
    "RunningAgents",
    "agent_instance",
    "restart_pending",
    "unit_name",
]


def __dir__() -> list[str]:
    return __all__


SLACK: Final = 1.0
"""Seconds a config may be newer than the start and still count as loaded."""

_EXECUTABLES: Final = frozenset({"tentacle", "tentacle.dll", "tentacle.exe"})
_RUN_COMMANDS: Final = frozenset({"agent", "run"})
_OPTION: Final = re.compile(r"^(?:--|-|/)([A-Za-z][\w-]*)(?:[=:](.*))?$", re.DOTALL)
_SYSTEMCTL_TIMEOUT: Final = 10.0


@attrs.frozen(kw_only=True)
class AgentStart:
    """When a running Tentacle agent started, and how that was found.

    Attributes:
        started: seconds since the epoch.
        how: e.g. ``systemd unit Tentacle.service`` or ``process 1234``.
        pid: the process, when it was found under /proc.

    .. versionadded:: 0.1.0
    """

    started: float
    how: str
    pid: int | None = None


def _active_since(output: str) -> float | None:
    """The unix ``ActiveEnterTimestamp`` of an active unit in ``systemctl show``."""
    fields = dict(line.partition("=")[::2] for line in output.splitlines())
    stamp = fields.get("ActiveEnterTimestamp", "").strip()
    if fields.get("ActiveState") != "active" or not stamp.startswith("@"):
        return None
    try:
        return float(stamp[1:])
    except ValueError:
        return None


def unit_name(instance: str) -> str:
    """The systemd unit Tentacle installs for *instance*.

    .. versionadded:: 0.1.0
    """
    return re.sub(r"\s+", "-", instance.replace("/", "")) + ".service"


def _options(args: Sequence[str]) -> Iterator[tuple[str, str | None]]:
    """``(name lower-cased, value)`` per option, as Tentacle's parser reads them."""
    i = 0
    while i < len(args):
        match = _OPTION.match(args[i])
        i += 1
        if match is None:
            continue
        name, value = match.group(1).lower(), match.group(2)
        if value is None and i < len(args) and not _OPTION.match(args[i]):
            value = args[i]
            i += 1
        yield name, value


def agent_instance(argv: Sequence[str]) -> tuple[str | None, str | None] | None:
    """``(instance, config)`` of a command line that runs the Tentacle agent.

    None when *argv* does not run ``Tentacle agent`` (or ``run``); either
    part may be None when the command line does not give it.

    .. versionadded:: 0.1.0
    """
    for index, arg in enumerate(argv):
        if os.path.basename(arg).lower() not in _EXECUTABLES:  # noqa: PTH119 -- a str from a command line, not a Path
            continue
        rest = argv[index + 1 :]
        if not rest or rest[0].lower() not in _RUN_COMMANDS:
            return None
        instance = config = None
        for name, value in _options(rest[1:]):
            if name == "instance":
                instance = value
            elif name == "config":
                config = value
        return instance, config
    return None


class RunningAgents:
    """Finds when this machine's Tentacle agents started (module docstring).

    Args:
        proc: the ``/proc`` to read (a stand-in in tests).
        systemctl: the ``systemctl`` to run; default: the one on PATH, if
            any; None: do not ask systemd.

    .. versionadded:: 0.1.0
    """

    def __init__(
        self,
        *,
        proc: str | os.PathLike[str] = "/proc",
        systemctl: str | None = "",
    ) -> None:
        self.proc = Path(proc)
        self.systemctl = shutil.which("systemctl") if systemctl == "" else systemctl
        self._processes: list[tuple[int, list[str]]] | None = None

    def start_of(
        self, instance: str | None, config: str | None = None
    ) -> AgentStart | None:
        """When the agent of *instance* (or of *config*) started; None: none runs."""
        if instance is not None:
            unit = self._systemd(instance)
            if unit is not None:
                return unit
        return self._process(instance, config)

    # -- systemd ---------------------------------------------------------------

    def _systemd(self, instance: str) -> AgentStart | None:
        if not self.systemctl:
            return None
        unit = unit_name(instance)
        command = [
            self.systemctl,
            "show",
            "-p",
            "ActiveState",
            "-p",
            "ActiveEnterTimestamp",
            "--timestamp=unix",
            unit,
        ]
        try:
            done = subprocess.run(  # noqa: S603 -- a fixed argv, no shell
                command,
                capture_output=True,
                text=True,
                timeout=_SYSTEMCTL_TIMEOUT,
                check=False,
            )
        except subprocess.TimeoutExpired:
            # A systemd that does not answer in 10 s will not for the next
            # instance either: ask /proc from here on, not 10 s per instance.
            self.systemctl = None
            return None
        except OSError:
            return None
        started = _active_since(done.stdout) if done.returncode == 0 else None
        if started is None:
            return None
        return AgentStart(started=started, how=f"systemd unit {unit}")

    # -- /proc -----------------------------------------------------------------

    def _boot_time(self) -> float | None:
        with contextlib.suppress(OSError, ValueError):
            for line in (self.proc / "stat").read_text(encoding="ascii").splitlines():
                if line.startswith("btime "):
                    return float(line.split()[1])
        return None

    def _all_processes(self) -> list[tuple[int, list[str]]]:
        if self._processes is None:
            found: list[tuple[int, list[str]]] = []
            with contextlib.suppress(OSError):
                for entry in os.scandir(self.proc):
                    if not entry.name.isdigit():
                        continue
                    try:
                        raw = (Path(entry.path) / "cmdline").read_bytes()
                    except OSError:
                        continue
                    argv = os.fsdecode(raw).split("\0")
                    if argv and argv[-1] == "":
                        argv.pop()
                    found.append((int(entry.name), argv))
            self._processes = sorted(found)
        return self._processes

    def _started(self, pid: int) -> float | None:
        boot = self._boot_time()
        try:
            stat = (self.proc / str(pid) / "stat").read_text(
                encoding="utf-8", errors="replace"
            )
            ticks = int(stat[stat.rindex(")") + 2 :].split()[19])
        except (OSError, ValueError, IndexError):
            return None
        if boot is None:
            return None
        return boot + ticks / os.sysconf("SC_CLK_TCK")

    def _process(self, instance: str | None, config: str | None) -> AgentStart | None:
        real = os.path.realpath(config) if config else None
        starts = []
        for pid, argv in self._all_processes():
            ran = agent_instance(argv)
            if ran is None:
                continue
            name, path = ran
            same_instance = (
                instance is not None
                and name is not None
                and name.lower() == instance.lower()
            )
            same_config = (
                real is not None and path is not None and os.path.realpath(path) == real
            )
            if not (same_instance or same_config):
                continue
            started = self._started(pid)
            if started is not None:
                starts.append(
                    AgentStart(started=started, how=f"process {pid}", pid=pid)
                )
        # Several matches (a restart under way): the newest is the one that counts.
        return max(starts, key=lambda s: s.started, default=None)


def _stamp(seconds: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(seconds))


def restart_pending(
    config: str | os.PathLike[str],
    instance: str | None,
    agents: RunningAgents,
) -> Finding | None:
    """``restart-pending`` or ``agent-not-running`` for one instance's config, or None.

    None when the agent started after the file's last change.

    .. versionadded:: 0.1.0
    """
    path = os.fspath(config)
    try:
        modified = Path(path).stat().st_mtime
    except OSError:
        return None
    name = repr(instance) if instance else path
    restart = (
        f"Tentacle service --instance {shlex.quote(instance)} --restart"
        if instance
        else "restart the Tentacle agent that runs with this --config"
    )
    start = agents.start_of(instance, path)
    if start is None:
        return Finding(
            severity=Severity.INFO,
            code="agent-not-running",
            path=path,
            message=f"instance {name}: no running Tentacle agent found "
            f"(systemd unit {unit_name(instance or 'Tentacle')} not active, no "
            "process runs `Tentacle agent` for it): a restart-pending check "
            "needs a running agent",
        )
    if modified <= start.started + SLACK:
        return None
    return Finding(
        severity=Severity.WARNING,
        code="restart-pending",
        path=path,
        message=f"instance {name}: the config changed at {_stamp(modified)}, after "
        f"the agent started at {_stamp(start.started)} ({start.how}): the running "
        f"Tentacle does not see the change until the service restarts ({restart})",
    )
