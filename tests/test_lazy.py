"""Lazy faces: the names load on first use, and commands start without what they
do not use.

The faces (`tentacle_ha`, `tentacle_ha.check`, `tentacle_ha.fleet`) list each
name twice: under ``if TYPE_CHECKING:`` for type checkers and in ``_LAZY`` for
`tentacle_ha._lazy`; the two lists must agree. The start-up tests run the
command line in a fresh interpreter and look at what it imported.
"""

from __future__ import annotations

import ast
import importlib
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from helpers.unmeasured import unmeasured_env

import tentacle_ha

FACES = ("tentacle_ha", "tentacle_ha.check", "tentacle_ha.fleet")
SAMPLE = Path(__file__).parent.parent / "examples" / "sample.Tentacle.config"
CLUSTER = SAMPLE.parent / "cluster-unique-address.toml"

# What a command that neither checks nor walks a fleet must not import.
HEAVY = (
    "asyncio",
    "concurrent.futures",
    "cryptography",
    "httpx",
    "jinja2",
    "multiprocessing",
    "ssl",
    "tqdm",
    "tentacle_ha.check._checks",
    "tentacle_ha.cli._show",
    "tentacle_ha.fleet._plan_apply",
    "tentacle_ha.fleet._pipeline",
    "tentacle_ha.fleet.running",
    "tentacle_ha.report",
    "tentacle_ha.testing",
)

# What only some commands need: the plan builders, the load-balancer rules,
# the audit, and `secrets` for a new SubscriptionId.
ON_USE = (
    "secrets",
    "tentacle_ha.commands.lb",
    "tentacle_ha.commands.plan",
    "tentacle_ha.fleet.audit",
)

_IMPORTED = """
import json, sys
from tentacle_ha.cli import main
try:
    main(sys.argv[2:])
except SystemExit:
    pass
with open(sys.argv[1], "w") as out:
    json.dump(sorted(sys.modules), out)
"""


def _type_checking_imports(module_name: str) -> dict[str, str]:
    module = importlib.import_module(module_name)
    tree = ast.parse(Path(str(module.__file__)).read_text(encoding="utf-8"))
    found: dict[str, str] = {}
    for node in tree.body:
        if isinstance(node, ast.If) and ast.unparse(node.test) == "TYPE_CHECKING":
            for statement in node.body:
                assert isinstance(statement, ast.ImportFrom), ast.unparse(statement)
                for alias in statement.names:
                    where = f"{statement.module}:{alias.name}"
                    found[alias.asname or alias.name] = where
    return found


@pytest.mark.parametrize("face", FACES)
def test_type_checking_imports_are_the_lazy_table(face: str) -> None:
    """What mypy sees is what the face loads on first use, name for name."""
    module = importlib.import_module(face)
    assert _type_checking_imports(face) == module._LAZY
    for name, where in module._LAZY.items():
        path, _, attribute = where.partition(":")
        assert getattr(module, name) is getattr(
            importlib.import_module(path), attribute
        )


def test_unknown_names_still_raise_attribute_error() -> None:
    """A lazy face refuses a name it does not have, as a module would."""
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        _ = tentacle_ha.nope  # type: ignore[attr-defined]  # the missing name under test
    assert not hasattr(tentacle_ha, "nope")
    assert set(tentacle_ha.__all__) <= set(dir(tentacle_ha))


def _imported_by(tmp_path: Path, *argv: str) -> set[str]:
    script = tmp_path / "imported.py"
    script.write_text(_IMPORTED, encoding="utf-8")
    out = tmp_path / "modules.json"
    subprocess.run(
        [sys.executable, str(script), str(out), *argv],
        check=True,
        capture_output=True,
        timeout=120,
        env=unmeasured_env(),
    )
    modules: list[str] = json.loads(out.read_text(encoding="utf-8"))
    return set(modules)


@pytest.mark.parametrize(
    "argv", [("--version",), ("show", str(SAMPLE))], ids=["version", "show"]
)
def test_commands_start_without_the_heavy_wings(
    tmp_path: Path, argv: tuple[str, ...]
) -> None:
    """--version and show load no asyncio, httpx, TLS, worker pool or fakes."""
    loaded = _imported_by(tmp_path, *argv)
    assert "tentacle_ha.cli._main" in loaded
    assert not {m for m in loaded if m.startswith(HEAVY)}


def test_show_loads_cryptography_only_with_machine_key(tmp_path: Path) -> None:
    """``show --machine-key`` decrypts, so it, and only it, loads cryptography."""
    key = tmp_path / "machine-id"
    key.write_text("0" * 32, encoding="ascii")
    config = tmp_path / "Tentacle.config"
    blocks = "A" * 43 + "="  # 32 zero bytes: two AES blocks to try
    config.write_text(
        f'<octopus-settings>\n  <set key="Tentacle.Certificate">{blocks}</set>\n'
        "</octopus-settings>\n",
        encoding="utf-8",
    )
    loaded = _imported_by(tmp_path, "show", str(config), "--machine-key", str(key))
    assert "cryptography" in loaded


def test_negative_control_a_check_command_loads_them(tmp_path: Path) -> None:
    """The probe sees the heavy wings when a command uses them."""
    loaded = _imported_by(tmp_path, "check", str(tmp_path / "missing.config"))
    assert {"asyncio", "httpx", "ssl", "tentacle_ha.check._checks"} <= loaded


@pytest.mark.parametrize(
    "argv",
    [
        ("--version",),
        ("show", str(SAMPLE)),
        ("fleet", "plan", "--json", "--sync", str(CLUSTER), "FOLDER"),
    ],
    ids=["version", "show", "fleet-plan"],
)
def test_commands_leave_out_what_only_other_commands_use(
    tmp_path: Path, argv: tuple[str, ...]
) -> None:
    """No plan builders, LB rules, audit or `secrets` where a command uses none."""
    folder = tmp_path / "fleet"
    shutil.copytree(SAMPLE.parent, folder, ignore=_only_the_sample)
    argv = tuple(str(folder) if part == "FOLDER" else part for part in argv)
    loaded = _imported_by(tmp_path, *argv)
    assert "tentacle_ha.cli._main" in loaded
    assert not {m for m in loaded if m.startswith(ON_USE)}


@pytest.mark.parametrize(
    ("argv", "wanted"),
    [
        (("plan", "--cluster", str(CLUSTER), "--offline"), "tentacle_ha.commands.plan"),
        (
            ("lb", "--cluster", str(CLUSTER), "--format", "nginx"),
            "tentacle_ha.commands.lb",
        ),
        (("fleet", "audit", str(SAMPLE)), "tentacle_ha.fleet.audit"),
    ],
    ids=["plan", "lb", "fleet-audit"],
)
def test_negative_control_the_commands_that_use_them_load_them(
    tmp_path: Path, argv: tuple[str, ...], wanted: str
) -> None:
    """The probe sees each of those modules when its command runs."""
    assert wanted in _imported_by(tmp_path, *argv)


def _only_the_sample(folder: str, names: list[str]) -> list[str]:
    del folder
    return [name for name in names if name != SAMPLE.name]
