"""``show --effective``, ``check`` on the effective config, the worker audit,
and restart-pending for this machine's instances (a real stand-in agent).
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from helpers.cli import run_cli

from tentacle_ha.testing import FakeOctopusNode
from tentacle_ha.testing import generate_certificate

if TYPE_CHECKING:
    from collections.abc import Iterator

T = "9E4A07A1F5B2C8D3E6F7A8B9C0D1E2F3A4B5C6D7"
SECRET = "env-proxy-pa55word-never-shown"  # noqa: S105 -- a test password
FLAG = "OCTOPUS_CONTRIBUTE_ENV_SETTINGS"


def _servers(thumb: str, address: str) -> str:
    return json.dumps(
        [
            {
                "Thumbprint": thumb,
                "CommunicationStyle": 2,
                "Address": address,
                "Squid": None,
                "SubscriptionId": "poll://g3662re9njtelsyfhm7t/",
            }
        ],
        separators=(",", ":"),
    )


def _write_config(path: Path, *pairs: tuple[str, str]) -> Path:
    sets = "".join(f'\n  <set key="{k}">{v}</set>' for k, v in pairs)
    path.write_text(f"<octopus-settings>{sets}\n</octopus-settings>", encoding="utf-8")
    return path


@pytest.fixture
def cfg(tmp_path: Path) -> Path:
    return _write_config(
        tmp_path / "Tentacle.config",
        (
            "Tentacle.Communication.TrustedOctopusServers",
            _servers(T, "https://a:10943"),
        ),
        ("Tentacle.Services.PortNumber", "10933"),
    )


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in (FLAG, "TENTACLE_SERVICE_PORT", "TENTACLE_TRUSTED_SERVERS"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.delenv("TentaclePollingConnectionCount", raising=False)
    monkeypatch.delenv("TENTACLE_POLLING_CUSTOM_PROXY_PASSWORD", raising=False)


def test_show_effective_names_each_source(
    cfg: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Environment, env-file FILE:line and config PATH:line:col, secrets masked."""
    env_file = tmp_path / "tentacle.env"
    env_file.write_text(
        f"TENTACLE_POLLING_CUSTOM_PROXY_PASSWORD={SECRET}\n", encoding="utf-8"
    )
    monkeypatch.setenv(FLAG, "true")
    monkeypatch.setenv("TENTACLE_SERVICE_PORT", "10999")
    code, out, err = run_cli(
        "show", str(cfg), "--effective", "--env-file", str(env_file)
    )
    assert code == 0, err
    lines = {line.split()[0]: line for line in out.splitlines()[1:] if line.strip()}
    assert "10999" in lines["Tentacle.Services.PortNumber"]
    assert (
        "environment (TENTACLE_SERVICE_PORT)" in lines["Tentacle.Services.PortNumber"]
    )
    assert f"over config {cfg}:3:3" in lines["Tentacle.Services.PortNumber"]
    password = lines["Octopus.Server.Proxy.ProxyPassword"]
    assert "***" in password
    assert f"env-file {env_file}:1" in password
    assert SECRET not in out + err
    code, out, err = run_cli("show", str(cfg), "--env-file", str(env_file), "--json")
    assert code == 0, err
    data = json.loads(out)
    port = data["settings"]["Tentacle.Services.PortNumber"]
    assert (port["value"], port["source"], port["variable"]) == (
        "10999",
        "environment",
        "TENTACLE_SERVICE_PORT",
    )
    assert data["settings"]["Octopus.Server.Proxy.ProxyPassword"]["value"] == "***"
    assert data["polling_connections"]["count"] == 1
    assert SECRET not in out + err


def test_negative_control_show_effective_without_the_flag(
    cfg: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No OCTOPUS_CONTRIBUTE_ENV_SETTINGS: the file's values, and a note why."""
    monkeypatch.setenv("TENTACLE_SERVICE_PORT", "10999")
    code, out, err = run_cli("show", str(cfg), "--effective", "--json")
    assert code == 0, err
    port = json.loads(out)["settings"]["Tentacle.Services.PortNumber"]
    assert (port["value"], port["source"]) == ("10933", "config")
    assert f"{FLAG} is not true" in err


def test_show_refuses_a_malformed_env_file(cfg: Path, tmp_path: Path) -> None:
    """One line, path:line:col: message, exit 1."""
    env_file = tmp_path / ".env"
    env_file.write_text("# fine\nTENTACLE_NO_LISTEN\n", encoding="utf-8")
    code, out, err = run_cli("show", str(cfg), "--env-file", str(env_file))
    assert code == 1
    assert out == ""
    assert err.startswith(f"{env_file}:2:1: ")
    assert len(err.strip().splitlines()) == 1


@pytest.fixture(scope="module")
def node() -> Iterator[FakeOctopusNode]:
    with FakeOctopusNode(certificate=generate_certificate()) as running:
        yield running


@pytest.mark.integration
@pytest.mark.timeout(60)
def test_check_polls_the_effective_trusted_servers(
    cfg: Path, node: FakeOctopusNode, monkeypatch: pytest.MonkeyPatch
) -> None:
    """TENTACLE_TRUSTED_SERVERS (with the flag) is what check polls."""
    monkeypatch.setenv(FLAG, "true")
    monkeypatch.setenv(
        "TENTACLE_TRUSTED_SERVERS", _servers(node.thumbprint, node.comms_address)
    )
    code, out, err = run_cli("check", str(cfg), "--json", "--timeout", "5")
    assert code == 0, out + err
    results = json.loads(out)["results"]
    assert [r["target"] for r in results] == [node.comms_address]
    assert "TENTACLE_TRUSTED_SERVERS" in err
    # Negative control: the file alone trusts an address nothing answers.
    code, out, _ = run_cli("check", str(cfg), "--json", "--timeout", "2", "--file-only")
    assert code == 1
    assert [r["target"] for r in json.loads(out)["results"]] == ["https://a:10943"]


# -- the worker audit --------------------------------------------------------------


def _cluster(tmp_path: Path, config: Path, kind: str) -> Path:
    pools = (
        'worker_pools = ["Pool"]'
        if kind == "worker"
        else ('environments = ["Prod"]\nroles = ["web"]')
    )
    path = tmp_path / "cluster.toml"
    path.write_text(
        f"""
[cluster]
server = "https://octopus.example.com"
thumbprint = "{T}"
layout = "load-balancer"
load_balancer = "a"

[[nodes]]
name = "n1"
address = "10.0.0.1"

[[tentacles]]
os = "linux"
kind = "{kind}"
{pools}
config_path = {json.dumps(str(config))}
""",
        encoding="utf-8",
    )
    return path


@pytest.mark.parametrize(
    ("kind", "count", "warned"),
    [
        ("worker", None, True),
        ("worker", "1", True),
        ("worker", "0", True),
        ("worker", "5", False),
        ("target", "1", False),
    ],
)
def test_audit_warns_on_a_worker_with_few_connections(
    tmp_path: Path, kind: str, count: str | None, *, warned: bool
) -> None:
    """A worker (the cluster file says so) polling with < 5 connections: warning."""
    pairs = [
        ("Tentacle.Communication.TrustedOctopusServers", _servers(T, "https://a:10943"))
    ]
    if count is not None:
        pairs.append(("Tentacle.Communication.PollingConnectionCount", count))
    config = _write_config(tmp_path / "w.config", *pairs)
    cluster = _cluster(tmp_path, config, kind)
    code, out, err = run_cli(
        "fleet",
        "audit",
        str(config),
        "--cluster",
        str(cluster),
        "--jobs",
        "1",
        "--json",
    )
    assert code in {0, 1}, err
    codes = [f["code"] for f in json.loads(out)["findings"]]
    assert ("few-polling-connections" in codes) == warned


# -- restart pending ------------------------------------------------------------------


@pytest.fixture
def machine(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[str, Path]:
    """This machine's instance index (its home moved by an environment variable)."""
    name = f"stand-in-{uuid.uuid4().hex[:10]}"
    home = tmp_path / "machine"
    (home / "Tentacle" / "Instances").mkdir(parents=True)
    config = _write_config(
        tmp_path / f"{name}.config",
        (
            "Tentacle.Communication.TrustedOctopusServers",
            _servers(T, "https://a:10943"),
        ),
    )
    index = {"Name": name, "ConfigurationFilePath": str(config)}
    (home / "Tentacle" / "Instances" / f"{name}.config").write_text(
        json.dumps(index), encoding="utf-8"
    )
    monkeypatch.setenv("TentacleMachineConfigurationHomeDirectory", str(home))
    return name, config


@pytest.fixture
def agent(tmp_path: Path, machine: tuple[str, Path]) -> Iterator[float]:
    """A real process running ``Tentacle agent --instance NAME``; yields its start."""
    name, _ = machine
    script = tmp_path / "bin" / "Tentacle"
    script.parent.mkdir()
    script.write_text(
        f"#!{sys.executable}\nimport time\ntime.sleep(120)\n", encoding="utf-8"
    )
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    before = time.time()
    process = subprocess.Popen([str(script), "agent", "--instance", name])
    try:
        deadline = time.monotonic() + 30
        while name not in Path(f"/proc/{process.pid}/cmdline").read_text(
            errors="replace"
        ):
            assert time.monotonic() < deadline
            time.sleep(0.05)
        yield before
    finally:
        process.kill()
        process.wait(timeout=30)


linux = pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="Linux /proc")


def _touch(path: Path, when: float) -> None:
    os.utime(path, (when, when))


def _audit_instances() -> list[dict[str, str]]:
    """``fleet audit --instances --json``: its findings (exit 0 expected)."""
    code, out, err = run_cli("fleet", "audit", "--instances", "--jobs", "1", "--json")
    assert code == 0, err
    findings: list[dict[str, str]] = json.loads(out)["findings"]
    return findings


@linux
def test_fleet_audit_instances_reports_restart_pending(
    machine: tuple[str, Path], agent: float
) -> None:
    """Config newer than the agent: restart-pending; older: nothing."""
    name, config = machine
    _touch(config, agent + 60)
    found = [f for f in _audit_instances() if f["code"] == "restart-pending"]
    assert [f["path"] for f in found] == [str(config)]
    assert name in found[0]["message"]
    _touch(config, agent - 60)
    codes = [f["code"] for f in _audit_instances()]
    assert "restart-pending" not in codes
    assert "agent-not-running" not in codes


@linux
def test_show_and_check_say_restart_pending(
    machine: tuple[str, Path], agent: float
) -> None:
    """show --effective and check print the finding on stderr."""
    _, config = machine
    _touch(config, agent + 60)
    code, _, err = run_cli("show", str(config), "--effective")
    assert code == 0
    assert "restart-pending" in err
    code, _, err = run_cli("check", str(config), "--timeout", "1")
    assert "restart-pending" in err


@linux
def test_no_agent_is_not_running_not_pending(machine: tuple[str, Path]) -> None:
    """No process for the instance: info agent-not-running, never restart-pending."""
    _, config = machine
    _touch(config, time.time() + 3600)
    found = {f["code"]: f["severity"] for f in _audit_instances()}
    assert found.get("agent-not-running") == "info"
    assert "restart-pending" not in found


def test_reveal_secrets_is_the_only_way_to_see_an_env_secret(
    cfg: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Masked by default in text and JSON; --reveal-secrets shows it (control)."""
    monkeypatch.setenv(FLAG, "true")
    monkeypatch.setenv("TENTACLE_POLLING_CUSTOM_PROXY_PASSWORD", SECRET)
    for extra in ((), ("--json",)):
        code, out, err = run_cli("show", str(cfg), "--effective", *extra)
        assert code == 0, err
        assert SECRET not in out + err
    code, out, _ = run_cli("show", str(cfg), "--effective", "--reveal-secrets")
    assert SECRET in out


def test_check_says_an_env_file_without_the_flag_is_ignored(
    cfg: Path, tmp_path: Path
) -> None:
    """Tentacle reads .env only with the flag; check says it ignored the file."""
    env_file = tmp_path / ".env"
    env_file.write_text("TENTACLE_SERVICE_PORT=1\n", encoding="utf-8")
    _, _, err = run_cli(
        "check", str(cfg), "--env-file", str(env_file), "--timeout", "1"
    )
    assert "--env-file ignored" in err
    _, _, err = run_cli("check", str(cfg), "--timeout", "1")
    assert "--env-file ignored" not in err


def test_show_effective_with_machine_key_is_a_usage_error(
    cfg: Path, tmp_path: Path
) -> None:
    """Two views, asked at once: refused rather than one silently dropped."""
    key = tmp_path / "machine-id"
    key.write_text("0123456789abcdef0123456789abcdef\n")
    code, out, err = run_cli("show", str(cfg), "--effective", "--machine-key", str(key))
    assert (code, out) == (2, "")
    assert "--machine-key and --effective" in err
    code, _, _ = run_cli("show", str(cfg), "--effective")
    assert code == 0
