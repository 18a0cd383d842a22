"""Single-file commands: they cannot silently break a Tentacle (issue 9), and
the safe writer refuses FIFOs, devices and bad backup suffixes (issue 10)."""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
from helpers.cli import run_cli
from helpers.cli import run_cli as run

from tentacle_ha import Secret
from tentacle_ha import config
from tentacle_ha.errors import InvalidValueError

EXAMPLES = Path(__file__).parent.parent.parent / "examples"
SERVER = "9E4A07A1F5B2C8D3E6F7A8B9C0D1E2F3A4B5C6D7"
NEW = "1F2E3D4C5B6A79881F2E3D4C5B6A79881F2E3D4C"
ADDRESS = "https://octopus.example.com:10943"


@pytest.fixture
def sample(tmp_path: Path) -> Path:
    path = tmp_path / "Tentacle.config"
    path.write_bytes((EXAMPLES / "sample.Tentacle.config").read_bytes())
    return path


# -- 9.1: no write path orphans a Tentacle ---------------------------------------


@pytest.mark.parametrize(
    "argv",
    [
        ["servers", "keep", "{}", "--address", "https://octopus-lb:10943"],
        ["servers", "remove", "{}", "--thumbprint", SERVER],
        ["servers", "remove", "{}", "--address", ADDRESS],
    ],
    ids=["keep-other", "remove-thumbprint", "remove-address"],
)
def test_a_change_leaving_no_polling_entry_is_refused(
    sample: Path, argv: list[str]
) -> None:
    """Exit 1, one line saying why and how to override, file untouched."""
    before = sample.read_bytes()
    argv = [a.format(sample) for a in argv]
    code, out, err = run(*argv)
    assert code == 1
    assert out == ""
    assert err.count("\n") == 1
    assert "would leave no polling entry" in err
    assert "--allow-empty" in err
    assert err.startswith(f"{sample}: ")
    assert sample.read_bytes() == before
    assert not list(sample.parent.glob("*.bak"))
    # The escape hatch writes it.
    code, _, err = run(*argv, "--allow-empty")
    assert code == 0, err
    assert config.load(sample).trusted_servers.polling() == ()


def test_removing_one_node_of_several_still_works(tmp_path: Path) -> None:
    """Negative control: a change that leaves a polling entry goes through."""
    path = tmp_path / "Tentacle.config"
    path.write_bytes((EXAMPLES / "sample.Tentacle.config").read_bytes())
    code, _, err = run(
        "servers", "add", str(path), "--thumbprint", SERVER,
        "--address", "https://node2:10943",
    )  # fmt: skip
    assert code == 0, err
    code, _, err = run("servers", "remove", str(path), "--address", ADDRESS)
    assert code == 0, err
    assert [s.address for s in config.load(path).trusted_servers] == [
        "https://node2:10943"
    ]


def test_remove_matching_nothing_fails(sample: Path) -> None:
    """A mistyped thumbprint or address is "nothing matched", exit 1."""
    before = sample.read_bytes()
    code, _, err = run("servers", "remove", str(sample), "--address", "https://nope:1")
    assert code == 1
    assert "nothing matched" in err
    assert sample.read_bytes() == before


def test_rotate_nothing_matched_and_already_done(sample: Path) -> None:
    """Old in no entry: exit 1; old gone and new present: up to date, exit 0."""
    code, _, err = run(
        "servers", "rotate", str(sample), "--old", NEW, "--new", "AB" * 20
    )
    assert code == 1
    assert "nothing matched" in err
    code, _, err = run("servers", "rotate", str(sample), "--old", SERVER, "--new", NEW)
    assert code == 0, err
    assert "updated" in err
    code, _, err = run("servers", "rotate", str(sample), "--old", SERVER, "--new", NEW)
    assert code == 0
    assert "nothing matched" not in err
    assert "up to date" in err


def test_fleet_remove_node_matching_no_file_fails(tmp_path: Path) -> None:
    """fleet --remove-node of an address no file polls: exit 1 "nothing matched"."""
    (tmp_path / "a").mkdir()
    path = tmp_path / "a" / "Tentacle.config"
    path.write_bytes((EXAMPLES / "sample.Tentacle.config").read_bytes())
    code, _, err = run(
        "fleet", "plan", str(tmp_path), "--remove-node", "https://nope:10943"
    )
    assert code == 1
    assert "nothing matched" in err
    code, _, err = run("fleet", "plan", str(tmp_path), "--remove-node", ADDRESS)
    assert code == 1  # the only node: refused per file
    assert "would leave no polling entry" in err + _
    code, out, err = run(
        "fleet", "plan", str(tmp_path), "--remove-node", ADDRESS, "--allow-empty"
    )
    assert code == 0, out + err
    assert "1 changed" in out


def test_fleet_allow_empty_goes_with_its_edits(tmp_path: Path) -> None:
    """--allow-empty with an edit that cannot empty the list is a usage error."""
    code, _, err = run(
        "fleet", "plan", str(tmp_path), "--rotate", "A" * 40, "B" * 40, "--allow-empty"
    )
    assert code == 2
    assert "--allow-empty goes with" in err


def test_sync_reports_which_subscription_it_kept(tmp_path: Path) -> None:
    """Two SubscriptionIds in the entries: stderr names the kept and dropped one."""
    path = tmp_path / "Tentacle.config"
    path.write_bytes((EXAMPLES / "sample.Tentacle.config").read_bytes())
    other = "poll://bcdefghjkmnpqrstuvwx/"
    run(
        "servers", "add", str(path), "--thumbprint", SERVER,
        "--address", "https://node2.example.com:10943", "--subscription-id", other,
    )  # fmt: skip
    cluster = tmp_path / "cluster.toml"
    cluster.write_text(
        "[cluster]\n"
        'server = "https://octopus.example.com"\n'
        f'thumbprint = "{SERVER}"\n'
        'layout = "unique-address"\n'
        "[[nodes]]\n"
        'name = "n1"\n'
        'address = "octopus.example.com"\n'
        "[[nodes]]\n"
        'name = "n2"\n'
        'address = "node2.example.com"\n'
    )
    code, _, err = run(
        "servers", "sync", str(path), "--cluster", str(cluster), "--diff"
    )
    assert code == 0, err
    assert "2 SubscriptionIds" in err
    assert "kept poll://g3662re9njtelsyfhm7t/" in err
    assert other in err
    assert "knows only one" in err


# -- 9.4 / 10.8: typos, secrets and the redaction marker --------------------------


def test_set_unknown_key_is_refused_with_did_you_mean(sample: Path) -> None:
    """A typo of a known key: exit 1, a suggestion, file untouched; --new-key adds."""
    before = sample.read_bytes()
    typo = "Tentacle.Comunication.PollingConnectionCount"
    code, out, err = run("set", str(sample), typo, "4")
    assert (code, out) == (1, "")
    assert "did you mean 'Tentacle.Communication.PollingConnectionCount'?" in err
    assert "--new-key" in err
    assert err.count("\n") == 1
    assert sample.read_bytes() == before
    code, _, err = run("set", str(sample), typo, "4", "--new-key")
    assert code == 0, err
    assert config.load(sample)[typo] == "4"
    # Negative controls: known keys in any case, and keys already in the file.
    assert run("set", str(sample), "tentacle.services.portnumber", "10934")[0] == 0
    assert run("set", str(sample), typo, "5")[0] == 0


def test_fleet_set_unknown_key_is_refused(tmp_path: Path) -> None:
    """fleet plan --set of a typo: refused before any file, unless --new-key."""
    path = tmp_path / "Tentacle.config"
    path.write_bytes((EXAMPLES / "sample.Tentacle.config").read_bytes())
    typo = "Tentacle.Comunication.PollingConnectionCount"
    code, out, err = run("fleet", "plan", str(tmp_path), "--set", typo, "4")
    assert code == 1
    assert "did you mean 'Tentacle.Communication.PollingConnectionCount'?" in err
    assert out == ""
    code, out, err = run(
        "fleet", "plan", str(tmp_path), "--set", typo, "4", "--new-key"
    )
    assert code == 0, err
    assert "1 changed" in out
    code, _, err = run("fleet", "plan", str(tmp_path), "--unset", "X", "--new-key")
    assert code == 2
    assert "--new-key goes with --set" in err


def test_unset_absent_key_says_so(sample: Path) -> None:
    """unset of a key not in the file: exit 0, stderr says so, with a hint."""
    code, out, err = run("unset", str(sample), "Tentacle.Services.PortNumbr")
    assert (code, out) == (0, "")
    assert "no key 'Tentacle.Services.PortNumbr'" in err
    assert "did you mean 'Tentacle.Services.PortNumber'?" in err


def test_set_secret_needs_plaintext(sample: Path) -> None:
    """A secret is stored machine-key encrypted: a plain value needs --plaintext."""
    before = sample.read_bytes()
    key = "Octopus.Server.Proxy.ProxyPassword"
    code, _, err = run("set", str(sample), key, "hunter2")
    assert code == 1
    assert "machine-key encrypted" in err
    assert "Tentacle polling-proxy --proxyPassword=..." in err
    assert "--plaintext" in err
    assert "hunter2" not in err
    _, _, err = run("set", str(sample), "Tentacle.Certificate", "MIIK")
    assert "import-certificate or new-certificate" in err
    assert sample.read_bytes() == before
    code, _, err = run("set", str(sample), key, "hunter2", "--plaintext")
    assert code == 0, err
    assert config.load(sample).get(key, reveal=True) == "hunter2"
    # Clearing a secret is not writing plain text.
    assert run("set", str(sample), key, "")[0] == 0


def test_get_secret_without_reveal_fails_and_prints_nothing(sample: Path) -> None:
    """get of a secret prints nothing and exits 1 unless --reveal-secrets."""
    code, out, err = run("get", str(sample), "Tentacle.Certificate")
    assert (code, out) == (1, "")
    assert "--reveal-secrets" in err
    code, out, _ = run("get", str(sample), "Tentacle.Certificate", "--reveal-secrets")
    assert code == 0
    assert out.startswith("AQAAANCM")


@pytest.mark.parametrize("marker", ["***", " *** ", "***\n"])
def test_the_redaction_marker_never_overwrites_a_secret(
    sample: Path, marker: str
) -> None:
    """set KEY '***' is refused even with --plaintext; the certificate survives."""
    before = sample.read_bytes()
    code, _, err = run(
        "set", str(sample), "Tentacle.Certificate", marker, "--plaintext"
    )
    assert code == 1
    assert "redaction marker" in err
    assert sample.read_bytes() == before
    doc = config.load(sample)
    with pytest.raises(InvalidValueError, match="redaction marker"):
        doc.set("Octopus.Proxy.ProxyPassword", marker)
    with pytest.raises(InvalidValueError, match="redaction marker"):
        doc.set("tentacle.certificate", Secret(marker))
    # Negative control: *** is a fine value for a key that is not a secret.
    assert doc.set("Octopus.Proxy.ProxyUsername", "***")


@pytest.mark.parametrize("url", ["http://node4:10943", "ftp://node4:21"])
def test_fleet_add_node_with_a_bad_url_is_a_usage_error(
    tmp_path: Path, url: str
) -> None:
    """--add-node http://... exits 2 (a usage error, as the README says)."""
    code, out, err = run(
        "fleet", "plan", str(tmp_path), "--add-node", url, "--thumbprint", SERVER
    )
    assert (code, out) == (2, "")
    assert err.startswith("tentacle-ha fleet plan: --add-node: not a comms address")
    # Negative control: an https:// address is accepted (and finds no files).
    code, _, err = run(
        "fleet", "plan", str(tmp_path), "--add-node", "https://node4:10943",
        "--thumbprint", SERVER,
    )  # fmt: skip
    assert code != 2, err


# -- 9.3: a write the running Tentacle will not see says so -------------------


def test_a_write_needing_a_restart_says_so(tmp_path: Path) -> None:
    """One stderr line with the exact command; --json has restart_required."""
    path = tmp_path / "tentacle-Web01.config"
    path.write_bytes((EXAMPLES / "sample.Tentacle.config").read_bytes())
    code, out, err = run(
        "servers", "add", str(path), "--thumbprint", SERVER,
        "--address", "https://node2:10943",
    )  # fmt: skip
    assert (code, out) == (0, "")
    lines = err.splitlines()
    assert len(lines) == 2
    assert lines[1] == (
        f"{path}: restart the Tentacle service to load the change: "
        "& 'C:\\Program Files\\Octopus Deploy\\Tentacle\\Tentacle.exe' service "
        "'--restart' '--instance=Web01'"
    )
    code, out, err = run(
        "set", str(path), "Tentacle.Communication.PollingConnectionCount", "4",
        "--json",
    )  # fmt: skip
    assert (code, err) == (0, "")
    data = json.loads(out)
    assert data["restart_required"] is True
    assert data["written"] is True
    assert "--restart" in data["restart_command"]
    assert data["backup_file"] is None
    code, out, _ = run(
        "set", str(path), "Tentacle.Communication.PollingConnectionCount", "5",
        "--json", "--backup",
    )  # fmt: skip
    assert json.loads(out)["backup_file"] == f"{path}.bak"
    # A diff writes nothing, so no restart line, but the JSON says it would.
    code, out, err = run("set", str(path), "Octopus.Home", "D:\\Octopus", "--diff")
    assert code == 0
    assert "restart" not in err
    code, out, _ = run(
        "set", str(path), "Octopus.Home", "D:\\Octopus", "--diff", "--json"
    )
    assert json.loads(out)["restart_required"] is True
    assert json.loads(out)["written"] is False


def test_a_write_tentacle_never_reads_needs_no_restart(sample: Path) -> None:
    """Negative control: an unknown key, or nothing changed: no restart line."""
    code, _, err = run("set", str(sample), "My.Own.Setting", "1", "--new-key")
    assert code == 0, err
    assert "restart" not in err
    code, out, _ = run("set", str(sample), "My.Own.Setting", "1", "--json")
    assert json.loads(out) == {
        "path": str(sample),
        "changed": False,
        "changed_keys": [],
        "written": False,
        "restart_required": False,
        "restart_command": None,
        "backup_file": None,
        "warnings": [],
    }
    code, out, _ = run("unset", str(sample), "Not.There", "--json")
    assert (code, json.loads(out)["changed"]) == (0, False)


def _readme_single_file_examples() -> list[str]:
    readme = (EXAMPLES.parent / "README.md").read_text(encoding="utf-8")
    return [
        line.split("  #", 1)[0].strip()
        for line in readme.splitlines()
        if line.startswith(
            ("tentacle-ha set ", "tentacle-ha unset ", "tentacle-ha servers ")
        )
    ]


@pytest.mark.parametrize("line", _readme_single_file_examples())
def test_readme_examples_are_safe_to_paste(sample: Path, line: str) -> None:
    """Pasting a README single-file example never changes the file."""
    before = sample.read_bytes()
    argv = shlex.split(line)[1:]
    argv = [str(sample) if a == "Tentacle.config" else a for a in argv]
    if "--cluster" in argv:
        argv[argv.index("--cluster") + 1] = str(
            EXAMPLES / "cluster-unique-address.toml"
        )
    code, _, err = run(*argv)
    assert code in {0, 1}, err
    assert "Traceback" not in err
    assert sample.read_bytes() == before


def test_readme_examples_were_found() -> None:
    """The parametrisation above is not empty (the README kept its cheat sheet)."""
    assert len(_readme_single_file_examples()) >= 8


@pytest.mark.parametrize(
    "argv",
    [
        ["set", "{}", "Tentacle.Communication.TrustedOctopusServers", "[]"],
        ["set", "{}", "tentacle.communication.trustedoctopusservers", ""],
        ["unset", "{}", "Tentacle.Communication.TrustedOctopusServers"],
        ["unset", "{}", "Tentacle.Communication.TrustedOctopusServers", "--empty"],
    ],
    ids=["set-empty-array", "set-blank", "unset", "unset-empty"],
)
def test_set_and_unset_of_the_servers_key_cannot_orphan(
    sample: Path, argv: list[str]
) -> None:
    """The raw key is a write path too: refused, unless --allow-empty."""
    before = sample.read_bytes()
    argv = [a.format(sample) for a in argv]
    code, _, err = run(*argv)
    assert code == 1
    assert "would leave no polling entry" in err
    assert sample.read_bytes() == before
    code, _, err = run(*argv, "--allow-empty")
    assert code == 0, err
    assert config.load(sample).trusted_servers.polling() == ()


def test_fleet_set_and_unset_of_the_servers_key_cannot_orphan(
    tmp_path: Path,
) -> None:
    """fleet --unset/--set of TrustedOctopusServers fails each polling file."""
    path = tmp_path / "Tentacle.config"
    path.write_bytes((EXAMPLES / "sample.Tentacle.config").read_bytes())
    key = "Tentacle.Communication.TrustedOctopusServers"
    for edit in (["--unset", key], ["--set", key, "[]"]):
        code, out, err = run("fleet", "plan", str(tmp_path), *edit)
        assert code == 1
        assert "would leave no polling entry" in out + err
        code, out, err = run("fleet", "plan", str(tmp_path), *edit, "--allow-empty")
        assert code == 0, out + err
        assert "1 changed" in out


# -- 10.5 / 10.13 / 10.16: FIFOs, devices, backup suffixes, hard links ---------

SAMPLE = (
    Path(__file__).parent.parent / "corpus" / "valid" / "linux-ha-3node.config"
).read_bytes()
CLUSTER = Path(__file__).parent.parent.parent / "examples" / "cluster-unique-port.toml"


def _tentacle_ha(*argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tentacle_ha", *argv],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )


@pytest.mark.parametrize(
    "argv",
    [
        ("show", "{f}"),
        ("get", "{f}", "Octopus.Home"),
        ("set", "{f}", "Octopus.Home", "/x"),
        ("servers", "list", "{f}"),
        ("check", "{f}", "--timeout", "1"),
        ("plan", "--cluster", str(CLUSTER), "--config", "{f}"),
    ],
    ids=lambda a: a[0] if a[0] != "servers" else "servers",
)
def test_a_fifo_is_refused_at_once(tmp_path: Path, argv: tuple[str, ...]) -> None:
    """Each command that reads a config exits 1 with one line, never hangs."""
    fifo = tmp_path / "Tentacle.config"
    os.mkfifo(fifo)
    done = _tentacle_ha(*(a.format(f=fifo) for a in argv))
    assert done.returncode == 1, done.stderr
    assert done.stderr.strip().splitlines() == [
        f"{fifo}: is a FIFO (named pipe), not a regular file; not read"
    ]


def test_dev_zero_is_refused_unread() -> None:
    """show /dev/zero: one line, exit 1, no MemoryError."""
    done = _tentacle_ha("show", "/dev/zero")
    assert done.returncode == 1
    assert done.stderr == "/dev/zero: is a device, not a regular file; not read\n"


@pytest.mark.parametrize("bad", ["/x", "", ".config", ".tentacle-ha-tmp"])
def test_bad_backup_suffix_is_a_usage_error(tmp_path: Path, bad: str) -> None:
    """--backup=SUFFIX is validated as fleet apply's is: exit 2, nothing written."""
    cfg = tmp_path / "Tentacle.config"
    cfg.write_bytes(SAMPLE)
    code, _, err = run_cli("set", str(cfg), "Octopus.Home", "/x", f"--backup={bad}")
    assert code == 2
    assert "Traceback" not in err
    assert cfg.read_bytes() == SAMPLE
    assert [p.name for p in tmp_path.iterdir()] == ["Tentacle.config"]


def test_backup_twice_keeps_both_and_a_hard_link_warns(tmp_path: Path) -> None:
    """set --backup twice: .bak and .bak.1; a second name gets a stderr warning."""
    cfg = tmp_path / "Tentacle.config"
    cfg.write_bytes(SAMPLE)
    assert run_cli("set", str(cfg), "Octopus.Home", "/a", "--backup")[0] == 0
    middle = cfg.read_bytes()
    os.link(cfg, tmp_path / "second-name")
    code, _, err = run_cli("set", str(cfg), "Octopus.Home", "/b", "--backup")
    assert code == 0
    assert (tmp_path / "Tentacle.config.bak").read_bytes() == SAMPLE
    assert (tmp_path / "Tentacle.config.bak.1").read_bytes() == middle
    assert "warning: had 2 hard links" in err
    assert (tmp_path / "second-name").read_bytes() == middle
