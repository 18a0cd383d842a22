"""The command line, in-process through main() and once through python -m."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from helpers.cli import run_cli as run

from tentacle_ha import config

CORPUS = Path(__file__).parent.parent / "corpus" / "valid"
T = "9E4A07A1F5B2C8D3E6F7A8B9C0D1E2F3A4B5C6D7"
SECRET = "AQAAANCMnd8BFdERjHoAwE"  # noqa: S105 -- the corpus certificate blob


@pytest.fixture
def cfg(tmp_path: Path) -> Path:
    path = tmp_path / "Tentacle.config"
    path.write_bytes((CORPUS / "windows-ha-3node.config").read_bytes())
    return path


def test_show_human_hides_secrets(cfg: Path) -> None:
    """show prints settings and the servers table, with secrets masked."""
    code, out, err = run("show", str(cfg))
    assert code == 0, err
    assert "(utf-8 with BOM, CRLF)" in out
    assert "Trusted servers (3):" in out
    assert "https://octo-node2.example.com:10943" in out
    assert SECRET not in out + err
    assert "***" in out


def test_show_json_shape(cfg: Path) -> None:
    """show --json gives path, settings and the servers with numeric styles."""
    code, out, _ = run("show", "--json", str(cfg))
    assert code == 0
    data = json.loads(out)
    assert data["path"] == str(cfg)
    assert data["settings"]["Tentacle.Certificate"] == "***"
    assert data["settings"]["Tentacle.Services.ListenIP"] is None
    assert [s["CommunicationStyle"] for s in data["trusted_servers"]] == [2, 2, 2]
    assert list(data["trusted_servers"][0]) == [
        "Thumbprint",
        "CommunicationStyle",
        "Address",
        "Squid",
        "SubscriptionId",
    ]
    code, out, _ = run("show", "--json", "--reveal-secrets", str(cfg))
    assert SECRET in json.loads(out)["settings"]["Tentacle.Certificate"]


def test_show_broken_servers_reports_and_fails() -> None:
    """A broken array is reported with its position; exit 1; the rest still shows."""
    path = (
        Path(__file__).parent.parent
        / "corpus"
        / "broken-servers"
        / "truncated-json.config"
    )
    code, out, err = run("show", str(path))
    assert code == 1
    assert "Octopus.Home" in out
    assert err.strip().startswith(f"{path}:4:140: ")


def test_get_value_and_secret(cfg: Path) -> None:
    """get prints the value; a secret only with --reveal-secrets."""
    assert run("get", str(cfg), "octopus.home")[1] == "C:\\Octopus\n"
    code, out, err = run("get", str(cfg), "Tentacle.Certificate")
    assert (code, out) == (1, "")
    assert "is a secret; nothing printed" in err
    assert "--reveal-secrets" in err
    assert SECRET in run("get", str(cfg), "Tentacle.Certificate", "--reveal-secrets")[1]
    code, out, err = run("get", str(cfg), "No.Such.Key")
    assert code == 1
    assert err == f"{cfg}: no key 'No.Such.Key'\n"
    assert run("get", str(cfg), "Tentacle.Services.ListenIP")[1] == "\n"


def test_set_diff_check_and_write(cfg: Path) -> None:
    """--diff shows and writes nothing, --check exits 1 on drift, a plain set writes."""
    before = cfg.read_bytes()
    code, out, _ = run(
        "set", str(cfg), "Tentacle.Services.PortNumber", "10934", "--diff"
    )
    assert code == 0
    assert '-  <set key="Tentacle.Services.PortNumber">10933</set>' in out
    assert '+  <set key="Tentacle.Services.PortNumber">10934</set>' in out
    assert cfg.read_bytes() == before
    code, _, err = run(
        "set", str(cfg), "Tentacle.Services.PortNumber", "10934", "--check"
    )
    assert code == 1
    assert "would change Tentacle.Services.PortNumber" in err
    assert cfg.read_bytes() == before
    code, _, err = run("set", str(cfg), "Tentacle.Services.PortNumber", "10934")
    assert code == 0
    assert "updated" in err
    assert config.load(cfg).listen_port == 10934
    code, _, _ = run(
        "set", str(cfg), "Tentacle.Services.PortNumber", "10934", "--check"
    )
    assert code == 0


def test_unchanged_write_keeps_mtime(cfg: Path) -> None:
    """A command that changes nothing does not touch the file."""
    os.utime(cfg, ns=(10**9, 10**9))
    code, _, err = run("set", str(cfg), "Octopus.Home", "C:\\Octopus")
    assert code == 0
    assert "unchanged" in err
    assert cfg.stat().st_mtime_ns == 10**9


def test_set_invalid_value_is_one_line(cfg: Path) -> None:
    """A refused value is one line on stderr, exit 1, file untouched."""
    before = cfg.read_bytes()
    code, out, err = run("set", str(cfg), "Tentacle.Services.NoListen", "maybe")
    assert code == 1
    assert out == ""
    assert err.count("\n") == 1
    assert err.startswith(f"{cfg}: ")
    assert cfg.read_bytes() == before


def test_set_from_stdin(cfg: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """VALUE '-' reads the value from stdin (keeps secrets off the command line)."""
    monkeypatch.setattr(sys, "stdin", io.StringIO("c2VjcmV0\n"))
    assert (
        run("set", str(cfg), "Octopus.Proxy.ProxyPassword", "-", "--plaintext")[0] == 0
    )
    assert (
        config.load(cfg).get("Octopus.Proxy.ProxyPassword", reveal=True) == "c2VjcmV0"
    )


def test_unset_and_empty(cfg: Path) -> None:
    """unset removes the key; unset --empty keeps an empty element; missing is fine."""
    assert run("unset", str(cfg), "Octopus.Home", "--empty")[0] == 0
    assert b'<set key="Octopus.Home" />' in cfg.read_bytes()
    assert run("unset", str(cfg), "Octopus.Home")[0] == 0
    assert b"Octopus.Home" not in cfg.read_bytes()
    code, _, err = run("unset", str(cfg), "Octopus.Home")
    assert code == 0
    assert "no key 'Octopus.Home'" in err
    assert "nothing to remove" in err


def test_servers_list_and_json(cfg: Path) -> None:
    """servers list prints a table or JSON."""
    code, out, _ = run("servers", "list", str(cfg))
    assert code == 0
    assert out.splitlines()[0].split() == [
        "#",
        "STYLE",
        "THUMBPRINT",
        "ADDRESS",
        "SUBSCRIPTION",
    ]
    assert len(out.splitlines()) == 4
    data = json.loads(run("servers", "list", "--json", str(cfg))[1])
    assert len(data) == 3


def test_servers_add_remove_rotate_keep(cfg: Path) -> None:
    """The servers actions edit the list with Tentacle's semantics."""
    thumb_spaced = " ".join(T[i : i + 2] for i in range(0, 40, 2)).lower()
    code, _, err = run(
        "servers", "add", str(cfg), "--thumbprint", thumb_spaced,
        "--address", "https://octo-node4.example.com:10943",
    )  # fmt: skip
    assert code == 0, err
    servers = config.load(cfg).trusted_servers
    assert len(servers) == 4
    assert len({s.subscription_id for s in servers}) == 1
    assert servers[3].thumbprint == T
    assert (
        run("servers", "add", str(cfg), "--thumbprint", T, "--style", "listening")[0]
        == 0
    )
    assert len(config.load(cfg).trusted_servers) == 5
    code, _, err = run("servers", "add", str(cfg), "--thumbprint", T)
    assert code == 1
    assert "needs --address" in err
    code, _, err = run(
        "servers", "add", str(cfg), "--thumbprint", T, "--style", "listening",
        "--address", "https://x:1",
    )  # fmt: skip
    assert code == 1
    assert (
        run(
            "servers",
            "remove",
            str(cfg),
            "--address",
            "https://octo-node4.example.com:10943",
        )[0]
        == 0
    )
    assert len(config.load(cfg).trusted_servers) == 4
    assert run("servers", "remove", str(cfg))[0] == 1
    new = "2" * 40
    assert (
        run("servers", "rotate", str(cfg), "--old", T, "--new", new, "--staged")[0] == 0
    )
    assert len(config.load(cfg).trusted_servers) == 8
    assert run("servers", "rotate", str(cfg), "--old", T, "--new", new)[0] == 0
    servers = config.load(cfg).trusted_servers
    assert {s.thumbprint for s in servers} == {new}
    assert len(servers) == 4
    code, _, _ = run(
        "servers", "keep", str(cfg), "--address", "https://octo-node1.example.com:10943"
    )
    assert code == 0
    assert [s.address for s in config.load(cfg).trusted_servers] == [
        "https://octo-node1.example.com:10943",
        None,
    ]
    code, _, _ = run(
        "servers", "keep", str(cfg), "--address", "https://octo-node1.example.com:10943",
        "--drop-listening",
    )  # fmt: skip
    assert len(config.load(cfg).trusted_servers) == 1


def test_backup_option(cfg: Path) -> None:
    """--backup keeps the previous bytes beside the file."""
    before = cfg.read_bytes()
    assert run("set", str(cfg), "Octopus.Home", "D:\\O", "--backup")[0] == 0
    assert (cfg.parent / "Tentacle.config.bak").read_bytes() == before


def test_errors_are_one_line_without_traceback(tmp_path: Path) -> None:
    """Missing files and invalid XML are one line, exit 1; --debug raises."""
    code, out, err = run("show", str(tmp_path / "missing.config"))
    assert (code, out) == (1, "")
    assert err == f"{tmp_path / 'missing.config'}: No such file or directory\n"
    bad = Path(__file__).parent.parent / "corpus" / "invalid" / "billion-laughs.config"
    code, _, err = run("show", str(bad))
    assert code == 1
    assert err.startswith(f"{bad}:2:1: DOCTYPE")
    with pytest.raises(FileNotFoundError):
        run("--debug", "show", str(tmp_path / "missing.config"))


def test_usage_errors_exit_2() -> None:
    """Unknown commands and missing arguments are usage errors (exit 2)."""
    assert run("bogus")[0] == 2
    assert run("servers", "add")[0] == 2
    assert run("--version")[0] == 0


def test_python_dash_m_runs_end_to_end(cfg: Path) -> None:
    """python -m tentacle_ha works as a real process, with exit codes."""
    result = subprocess.run(
        [sys.executable, "-m", "tentacle_ha", "servers", "list", "--json", str(cfg)],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert len(json.loads(result.stdout)) == 3
    result = subprocess.run(
        [sys.executable, "-m", "tentacle_ha", "show", str(cfg.parent / "nope")],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
