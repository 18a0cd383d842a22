"""plan.py: command plans per Tentacle, per layout and shell, golden and exact."""

from __future__ import annotations

import difflib
import os
import subprocess
from pathlib import Path

import attrs
import pytest

from tentacle_ha import commands
from tentacle_ha import config
from tentacle_ha._secret import Secret
from tentacle_ha.cluster import Layout
from tentacle_ha.cluster import TargetOS
from tentacle_ha.cluster import Tentacle
from tentacle_ha.cluster import load_cluster
from tentacle_ha.cluster.layout import desired_servers
from tentacle_ha.commands.plan import SHELLS_FOR
from tentacle_ha.commands.plan import plan_migration
from tentacle_ha.commands.plan import plan_registration
from tentacle_ha.errors import CommandError
from tentacle_ha.servers import TrustedServers

EXAMPLES = Path(__file__).parent.parent.parent / "examples"
GOLDEN = Path(__file__).parent.parent / "golden" / "plans"
LAYOUTS = {layout: EXAMPLES / f"cluster-{layout}.toml" for layout in Layout}


def _golden(name: str, text: str) -> None:
    path = GOLDEN / name
    if os.environ.get("UPDATE_GOLDEN"):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8", newline="")
    expected = path.read_text(encoding="utf-8")
    if text != expected:
        diff = difflib.unified_diff(
            expected.splitlines(), text.splitlines(), "golden", "actual", lineterm=""
        )
        pytest.fail("\n".join(diff))


@pytest.mark.parametrize("layout", list(Layout), ids=str)
@pytest.mark.parametrize("shell", list(commands.SHELLS))
def test_registration_golden(layout: Layout, shell: commands.Shell) -> None:
    """Each example Tentacle's registration plan in each shell of its OS, golden."""
    cluster = load_cluster(LAYOUTS[layout])
    suffix = {"posix": "sh", "powershell": "ps1", "cmd": "cmd"}[shell]
    name = f"register-{layout}.{suffix}"
    ours = [t for t in cluster.tentacles if shell in SHELLS_FOR[t.os]]
    if not ours:
        assert not (GOLDEN / name).exists(), f"stale golden file {name}"
        return
    text = "\n".join(plan_registration(cluster, t).render(shell=shell) for t in ours)
    _golden(name, text)


@pytest.mark.parametrize("layout", list(Layout), ids=str)
def test_registration_shape(layout: Layout) -> None:
    """Register once, poll-server for each further address, then restart."""
    cluster = load_cluster(LAYOUTS[layout])
    addresses = cluster.comms_addresses()
    for tentacle in cluster.tentacles:
        plan = plan_registration(cluster, tentacle)
        names = [p.command.command for p in plan.commands]
        first = "register-worker" if tentacle.kind == "worker" else "register-with"
        assert names == [first] + ["poll-server"] * (len(addresses) - 1) + ["service"]
        for planned in plan.commands:
            allowed = commands.TENTACLE_OPTIONS[planned.command.command]
            assert {o.name for o in planned.command.options} <= set(allowed)


def test_every_address_is_polled_as_tentacle_derives_it() -> None:
    """Each command's comms options derive (Tentacle's rules) to a cluster address."""
    for path in LAYOUTS.values():
        cluster = load_cluster(path)
        plan = plan_registration(cluster, cluster.tentacles[0])
        derived = []
        for planned in plan.commands[:-1]:
            opts = {o.name: o.value for o in planned.command.options}
            port = opts.get("server-comms-port")
            derived.append(
                commands.derive_comms_address(
                    server=cluster.server_url,
                    comms_address=opts.get("server-comms-address"),  # type: ignore[arg-type]
                    comms_port=int(str(port)) if port is not None else None,
                    web_socket=opts.get("server-web-socket"),  # type: ignore[arg-type]
                )
            )
        assert tuple(derived) == cluster.comms_addresses()


def test_api_key_never_printed_unless_revealed() -> None:
    """Plans refer to $OCTOPUS_API_KEY; the key shows only when revealed."""
    cluster = load_cluster(LAYOUTS[Layout.UNIQUE_ADDRESS])
    key = Secret("API-SECRETSECRETSECRET")
    plan = plan_registration(cluster, cluster.tentacles[0], api_key=key)
    hidden = plan.render() + repr(plan) + str(plan.to_dict())
    assert "SECRETSECRET" not in hidden
    assert '"$OCTOPUS_API_KEY"' in plan.render(shell="posix")
    windows = attrs.evolve(cluster.tentacles[0], os=TargetOS.WINDOWS)
    on_windows = plan_registration(cluster, windows, api_key=key)
    assert "$env:OCTOPUS_API_KEY" in on_windows.render(shell="powershell")
    assert "%OCTOPUS_API_KEY%" in on_windows.render(shell="cmd")
    assert "API-***" in str(plan.argvs())
    assert "API-SECRETSECRETSECRET" in plan.render(reveal_secrets=True)
    assert "API-SECRETSECRETSECRET" in str(plan.argvs(reveal_secrets=True))


def test_offline_registration_uses_reuse_thumbprint() -> None:
    """--offline plans poll-server --reuse-server-thumbprint without API options."""
    cluster = load_cluster(LAYOUTS[Layout.UNIQUE_PORT])
    plan = plan_registration(cluster, cluster.tentacles[0], offline=True)
    for planned in plan.commands[1:-1]:
        names = [o.name for o in planned.command.options]
        assert "reuse-server-thumbprint" in names
        assert "server" not in names
        assert "apiKey" not in names


def test_executable_by_os_and_override() -> None:
    """Linux and Windows defaults, and the per-Tentacle override."""
    cluster = load_cluster(LAYOUTS[Layout.UNIQUE_ADDRESS])
    linux = Tentacle(os=TargetOS.LINUX, environments=("P",), roles=("r",))
    windows = attrs.evolve(linux, os=TargetOS.WINDOWS)
    custom = attrs.evolve(linux, executable="/usr/local/bin/Tentacle")
    assert plan_registration(cluster, linux).executable == commands.LINUX_EXECUTABLE
    assert plan_registration(cluster, windows).executable == commands.WINDOWS_EXECUTABLE
    assert plan_registration(cluster, custom).argvs()[0][0] == "/usr/local/bin/Tentacle"
    assert plan_registration(cluster, windows).render().startswith("# ")
    assert "& 'C:\\Program Files" in plan_registration(cluster, windows).render()


def _linux_doc() -> config.TentacleConfig:
    return config.load(
        Path(__file__).parent.parent / "corpus" / "valid" / "linux-ha-3node.config"
    )


def test_migration_converged_is_empty() -> None:
    """A converged Tentacle needs no commands."""
    cluster = load_cluster(LAYOUTS[Layout.UNIQUE_ADDRESS])
    current = desired_servers(cluster, TrustedServers())
    plan = plan_migration(cluster, cluster.tentacles[0], current)
    assert plan.commands == ()


def test_migration_to_load_balancer() -> None:
    """Per-node to LB: poll the LB first, then clear-trusted-servers --keep, restart."""
    per_node = load_cluster(LAYOUTS[Layout.UNIQUE_ADDRESS])
    lb = attrs.evolve(
        load_cluster(LAYOUTS[Layout.LOAD_BALANCER]), thumbprint=per_node.thumbprint
    )
    current = desired_servers(per_node, TrustedServers())
    plan = plan_migration(lb, lb.tentacles[0], current)
    names = [p.command.command for p in plan.commands]
    assert names == ["poll-server", "clear-trusted-servers", "service"]
    keep = [o.value for o in plan.commands[1].command.options if o.name == "keep"]
    assert keep == list(lb.comms_addresses())
    _golden("migrate-to-load-balancer.sh", plan.render())


def test_migration_rotation_uses_update_trust_and_says_so() -> None:
    """A new cluster certificate maps to update-trust, with a note about staging."""
    cluster = load_cluster(LAYOUTS[Layout.UNIQUE_ADDRESS])
    current = desired_servers(cluster, TrustedServers())
    rotated = attrs.evolve(cluster, thumbprint="1" * 40)
    plan = plan_migration(rotated, cluster.tentacles[0], current)
    assert [p.command.command for p in plan.commands] == ["update-trust", "service"]
    assert any("--retire-thumbprint" in note for note in plan.notes)


def test_migration_fresh_tentacle_registers() -> None:
    """A Tentacle with nothing for this cluster registers first, then polls the rest."""
    cluster = load_cluster(LAYOUTS[Layout.UNIQUE_PORT])
    plan = plan_migration(cluster, cluster.tentacles[0], TrustedServers())
    names = [p.command.command for p in plan.commands]
    assert names[0] in {"register-with", "register-worker"}
    assert names[1:] == ["poll-server"] * (len(cluster.nodes) - 1) + ["service"]


def test_migration_offline_only_when_first_entry_is_the_clusters() -> None:
    """--reuse-server-thumbprint is used only when it would copy the right entry."""
    cluster = load_cluster(LAYOUTS[Layout.UNIQUE_ADDRESS])
    one = TrustedServers().add_polling(cluster.thumbprint, cluster.comms_addresses()[0])
    plan = plan_migration(cluster, cluster.tentacles[0], one, offline=True)
    assert all(
        "reuse-server-thumbprint" in [o.name for o in p.command.options]
        for p in plan.commands
        if p.command.command == "poll-server"
    )
    listening_first = (
        TrustedServers()
        .add_listening("2" * 40)
        .add_polling(cluster.thumbprint, cluster.comms_addresses()[0])
    )
    plan = plan_migration(cluster, cluster.tentacles[0], listening_first, offline=True)
    assert any("API variant" in n for n in plan.notes)
    assert all(
        "reuse-server-thumbprint" not in [o.name for o in p.command.options]
        for p in plan.commands
    )


def test_migration_notes_for_what_tentacle_cannot_do() -> None:
    """Normalising and clear-trusted-servers with listening entries come with notes."""
    cluster = load_cluster(LAYOUTS[Layout.UNIQUE_ADDRESS])
    doc = _linux_doc()
    lowered = TrustedServers(
        attrs.evolve(s, thumbprint=cluster.thumbprint.lower(), address=a)
        for s, a in zip(doc.trusted_servers, cluster.comms_addresses(), strict=True)
    ).add_listening("2" * 40)
    plan = plan_migration(cluster, cluster.tentacles[0], lowered)
    assert plan.commands[0].command.command == "update-trust"
    shrunk = attrs.evolve(cluster, nodes=cluster.nodes[:2])
    plan = plan_migration(
        shrunk, cluster.tentacles[0], desired_servers(cluster, lowered)
    )
    assert any("listening" in n for n in plan.notes)


def _options(planned: object) -> dict[str, object]:
    command = planned.command  # type: ignore[attr-defined]  # a PlannedCommand
    return {o.name: o.value for o in command.options}


@pytest.mark.parametrize("offline", [False, True])
def test_migration_lower_case_thumbprint_is_fixed_first(*, offline: bool) -> None:
    """Lower-case trust: update-trust to upper case first, then poll-server (#9)."""
    cluster = load_cluster(LAYOUTS[Layout.UNIQUE_ADDRESS])
    full = desired_servers(cluster, TrustedServers())
    lower = cluster.thumbprint.lower()
    two = TrustedServers(attrs.evolve(s, thumbprint=lower) for s in list(full)[:2])
    plan = plan_migration(cluster, cluster.tentacles[0], two, offline=offline)
    names = [p.command.command for p in plan.commands]
    assert names == ["update-trust", "poll-server", "service"]
    assert _options(plan.commands[0]) == {
        "instance": "Tentacle",
        "oldThumbprint": lower,
        "newThumbprint": cluster.thumbprint,
    }
    reuse = "reuse-server-thumbprint" in _options(plan.commands[1])
    assert reuse is offline
    assert not any("Tentacle command" in n for n in plan.notes), plan.notes
    # A converged list except for the case still gets the fix and a restart.
    cased = TrustedServers(attrs.evolve(s, thumbprint=lower) for s in full)
    plan = plan_migration(cluster, cluster.tentacles[0], cased)
    assert [p.command.command for p in plan.commands] == ["update-trust", "service"]
    assert plan.notes == ()


def test_migration_upper_case_thumbprint_needs_no_fix() -> None:
    """Negative control: upper-case trust plans no update-trust at all."""
    cluster = load_cluster(LAYOUTS[Layout.UNIQUE_ADDRESS])
    two = TrustedServers(list(desired_servers(cluster, TrustedServers()))[:2])
    plan = plan_migration(cluster, cluster.tentacles[0], two)
    assert [p.command.command for p in plan.commands] == ["poll-server", "service"]


# --- shells by OS, stop at the first failure, notes before their step (#9) ---

FAKE_TENTACLE = """#!/bin/sh
# A stand-in Tentacle: logs its command; fails when it is call number $FAIL_AT.
echo "$1" >> "$LOG"
calls=$(wc -l < "$LOG")
[ "$calls" -ne "$FAIL_AT" ]
"""


def _run_posix(
    script: str, tmp_path: Path, *, fail_at: int, key: str | None = "API-X"
) -> tuple[int, list[str]]:
    """Run a rendered POSIX plan with a fake ``Tentacle`` first on PATH."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    fake = bin_dir / "Tentacle"
    fake.write_text(FAKE_TENTACLE, encoding="utf-8")
    fake.chmod(0o755)
    log = tmp_path / "calls.log"
    log.write_text("", encoding="utf-8")
    env = {
        "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '/usr/bin:/bin')}",
        "LOG": str(log),
        "FAIL_AT": str(fail_at),
    }
    if key is not None:
        env["OCTOPUS_API_KEY"] = key
    done = subprocess.run(
        ["/bin/sh", "-c", script],
        env=env,
        capture_output=True,
        timeout=30,
        check=False,
    )
    return done.returncode, log.read_text(encoding="utf-8").split()


def test_posix_plan_stops_at_the_first_failing_command(tmp_path: Path) -> None:
    """A real sh: the 2nd command fails, nothing after it runs (set -eu)."""
    cluster = load_cluster(LAYOUTS[Layout.UNIQUE_ADDRESS])
    tentacle = attrs.evolve(cluster.tentacles[0], executable="Tentacle")
    assert tentacle.os is TargetOS.LINUX
    script = plan_registration(cluster, tentacle).render()
    assert script.splitlines()[1] == "set -eu"
    code, calls = _run_posix(script, tmp_path, fail_at=2)
    assert code != 0
    assert calls == ["register-with", "poll-server"]
    # Negative controls: nothing fails, everything runs; without set -eu the
    # same failure does not stop the script; an unset key stops it at once.
    everything = ["register-with", "poll-server", "poll-server", "service"]
    assert _run_posix(script, tmp_path, fail_at=0) == (0, everything)
    unguarded = script.replace("set -eu\n", "")
    assert _run_posix(unguarded, tmp_path, fail_at=2)[1] == everything
    code, calls = _run_posix(script, tmp_path, fail_at=0, key=None)
    assert (code != 0, calls) == (True, [])


def test_windows_scripts_check_every_command() -> None:
    """PowerShell: Stop, then $LASTEXITCODE after each command; cmd: || exit /b 1."""
    cluster = load_cluster(LAYOUTS[Layout.UNIQUE_ADDRESS])
    windows = next(t for t in cluster.tentacles if t.os is TargetOS.WINDOWS)
    plan = plan_registration(cluster, windows)
    lines = plan.render().splitlines()  # PowerShell by default on Windows
    assert lines[1] == "$ErrorActionPreference = 'Stop'"
    commands = [i for i, line in enumerate(lines) if line.startswith("& ")]
    assert len(commands) == len(plan.commands)
    for i in commands:
        assert lines[i + 1] == "if ($LASTEXITCODE -ne 0) { exit $LASTEXITCODE }"
    batch = plan.render(shell="cmd").splitlines()
    runs = [line for line in batch if not line.startswith("REM ")]
    assert len(runs) == len(plan.commands)
    assert all(line.endswith(" || exit /b 1") for line in runs)


@pytest.mark.parametrize(
    ("os_name", "shell"),
    [
        (TargetOS.LINUX, "cmd"),
        (TargetOS.LINUX, "powershell"),
        (TargetOS.WINDOWS, "posix"),
    ],
)
def test_shell_of_the_other_os_is_refused(os_name: TargetOS, shell: str) -> None:
    """A Tentacle renders only in its own OS's shells."""
    cluster = load_cluster(LAYOUTS[Layout.UNIQUE_ADDRESS])
    tentacle = attrs.evolve(cluster.tentacles[0], os=os_name, executable=None)
    plan = plan_registration(cluster, tentacle)
    with pytest.raises(CommandError, match=f"runs on {os_name}"):
        plan.render(shell=shell)  # type: ignore[arg-type]  # a Shell literal
    for fine in SHELLS_FOR[os_name]:
        assert plan.render(shell=fine)


def test_notes_come_before_the_step_they_warn_about() -> None:
    """The listening-entry note precedes clear-trusted-servers, not the restart."""
    cluster = load_cluster(LAYOUTS[Layout.UNIQUE_ADDRESS])
    current = desired_servers(cluster, TrustedServers()).add_listening("2" * 40)
    shrunk = attrs.evolve(cluster, nodes=cluster.nodes[:2])
    text = plan_migration(shrunk, cluster.tentacles[0], current).render()
    lines = text.splitlines()
    note = next(i for i, line in enumerate(lines) if "listening" in line)
    clear = next(i for i, line in enumerate(lines) if "Tentacle clear-trusted" in line)
    restart = next(i for i, line in enumerate(lines) if "service --restart" in line)
    assert note < clear < restart
    assert lines[note + 1].startswith("# stop polling")
    # A general note (WebSocket on Linux) comes before the first command.
    ws = load_cluster(LAYOUTS[Layout.WEBSOCKET])
    linux = attrs.evolve(ws.tentacles[0], os=TargetOS.LINUX, executable=None)
    lines = plan_registration(ws, linux).render().splitlines()
    assert lines[2].startswith("# NOTE: Tentacle polls over WebSockets only on")
    assert all(not line.startswith("# NOTE") for line in lines[3:])
