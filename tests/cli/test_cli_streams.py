"""Real processes: a closed stdout, streams that cannot encode, --debug anywhere."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).parent.parent.parent / "examples"
RUSSIAN = "D:\\Приложения"
TIMEOUT = 60


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LC_", "PYTHON"))}
    env.update(extra)
    return env


def _closed_stdout(*argv: str) -> tuple[int, str]:
    """Run with a stdout pipe whose reader is already gone: (status, stderr)."""
    read, write = os.pipe()
    os.close(read)
    try:
        done = subprocess.run(
            [sys.executable, "-m", "tentacle_ha", *argv],
            stdout=write,
            stderr=subprocess.PIPE,
            text=True,
            timeout=TIMEOUT,
            env=_env(),
            check=False,
        )
    finally:
        os.close(write)
    return done.returncode, done.stderr


def _run(
    *argv: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [sys.executable, "-m", "tentacle_ha", *argv],
        capture_output=True,
        timeout=TIMEOUT,
        env=env or _env(),
        check=False,
    )


def _strings(value: object) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        value = list(value.values())
    if isinstance(value, list):
        return [text for item in value for text in _strings(item)]
    return []


@pytest.fixture
def fleet(tmp_path: Path) -> Path:
    data = (EXAMPLES / "sample.Tentacle.config").read_bytes()
    for i in range(3):
        (tmp_path / f"t{i}").mkdir()
        (tmp_path / f"t{i}" / "Tentacle.config").write_bytes(data)
    return tmp_path


@pytest.fixture
def russian(tmp_path: Path) -> Path:
    path = tmp_path / "r" / "Tentacle.config"
    path.parent.mkdir()
    data = (EXAMPLES / "sample.Tentacle.config").read_bytes()
    path.write_bytes(data.replace(b"C:\\Octopus\\Applications", RUSSIAN.encode()))
    return path


@pytest.mark.parametrize(
    "argv",
    [
        ["show", "{sample}"],
        ["fleet", "plan", "{fleet}", "--polling-connection-count", "3"],
        ["fleet", "plan", "{fleet}", "--polling-connection-count", "3", "--json"],
        ["--help"],
        ["show", "{big}"],
    ],
    ids=["show", "fleet-plan", "fleet-plan-json", "help", "show-big"],
)
def test_a_closed_stdout_exits_quietly(fleet: Path, argv: list[str]) -> None:
    """No 'Broken pipe', no traceback, no 'Exception ignored': status 141.

    Small outputs fail at the final flush, the big one while the command
    still writes.
    """
    sample = fleet / "t0" / "Tentacle.config"
    big = fleet / "big.config"
    big.write_bytes(
        sample.read_bytes().replace(
            b"</octopus-settings>",
            b'  <set key="Z.Big">' + b"x" * 100_000 + b"</set>\r\n</octopus-settings>",
        )
    )
    argv = [a.format(sample=sample, fleet=fleet, big=big) for a in argv]
    code, err = _closed_stdout(*argv)
    assert err == ""
    assert code == 141
    # Negative control: with a reader, the same command succeeds and prints.
    done = _run(*argv)
    assert done.returncode == 0, done.stderr
    assert done.stdout


@pytest.mark.parametrize(
    "env",
    [{"PYTHONIOENCODING": "cp1252"}, {"LC_ALL": "C", "PYTHONUTF8": "0"}],
    ids=["cp1252", "C-locale"],
)
@pytest.mark.parametrize(
    "argv",
    [
        ["show", "{config}"],
        ["show", "--json", "{config}"],
        ["get", "{config}", "Tentacle.Deployment.ApplicationDirectory"],
        ["fleet", "plan", "{folder}", "--set", "Tentacle.Services.PortNumber", "1"],
        ["fleet", "plan", "{folder}", "--polling-connection-count", "2", "--json"],
    ],
    ids=["show", "show-json", "get", "fleet-plan", "fleet-plan-json"],
)
def test_unencodable_output_is_escaped(
    russian: Path, env: dict[str, str], argv: list[str]
) -> None:
    """Characters the stream cannot carry come out escaped, never a traceback."""
    argv = [a.format(config=russian, folder=russian.parent) for a in argv]
    done = _run(*argv, env=_env(**env))
    assert b"Traceback" not in done.stderr
    assert b"UnicodeEncodeError" not in done.stderr
    assert done.returncode == 0, done.stderr
    assert b"\\u041f" in done.stdout  # the escaped П
    if "--json" in argv:  # still valid JSON, holding the characters themselves
        assert any(RUSSIAN in text for text in _strings(json.loads(done.stdout)))


def test_unencodable_output_in_a_utf8_stream_is_untouched(russian: Path) -> None:
    """Negative control: a UTF-8 stream gets the characters themselves."""
    done = _run("show", str(russian), env=_env(PYTHONIOENCODING="utf-8"))
    assert done.returncode == 0
    assert RUSSIAN.encode() in done.stdout


def test_debug_works_after_the_subcommand(tmp_path: Path) -> None:
    """--debug before or after the subcommand shows the traceback; without, none."""
    missing = str(tmp_path / "missing.config")
    for argv in (
        ["--debug", "show", missing],
        ["show", missing, "--debug"],
        ["servers", "list", missing, "--debug"],
        ["fleet", "plan", str(tmp_path), "--unset", "X", "--debug", "--jobs", "x"],
    ):
        done = _run(*argv)
        if "fleet" in argv:
            assert done.returncode == 2  # parsed: a usage error, not "unknown"
            assert b"unrecognized arguments" not in done.stderr
            continue
        assert b"Traceback" in done.stderr, argv
    done = _run("show", missing)
    assert done.returncode == 1
    assert b"Traceback" not in done.stderr
    assert done.stderr.count(b"\n") == 1
