"""The public surface: what `import tentacle_ha` offers, sorted and complete."""

from __future__ import annotations

import importlib
import pkgutil

import tentacle_ha


def test_all_is_sorted_like_ruff() -> None:
    """__all__ is in isort order: constants, then classes, then functions."""

    def order(name: str) -> tuple[int, str]:
        if name.isupper() and len(name) > 1:
            return (0, name)
        if name[:1].isupper():
            return (1, name)
        return (2, name)

    assert tentacle_ha.__all__ == sorted(tentacle_ha.__all__, key=order)


def test_all_names_exist() -> None:
    """Every name in __all__ is importable from the package."""
    for name in tentacle_ha.__all__:
        assert hasattr(tentacle_ha, name), name


# Modules whose whole __all__ (but module constants) is re-exported at the root.
# The others (cli, check, commands, lb, layout, fleet, testing) are used as
# namespaces: ``tentacle_ha.check.run_checks(...)``; their main types are
# re-exported and listed in test_namespaced_modules_import.
FLAT = ("config", "errors", "servers")


def test_public_module_names_are_exported() -> None:
    """What each flat module lists in __all__ is reachable from the package root."""
    exported = set(tentacle_ha.__all__)
    for name in FLAT:
        module = importlib.import_module(f"tentacle_ha.{name}")
        public = set(getattr(module, "__all__", ()))
        missing = {
            name
            for name in public - exported
            if not name.isupper()  # module constants stay in their module
        }
        assert not missing, f"tentacle_ha.{name}: {sorted(missing)}"


def test_every_public_module_has_sorted_all() -> None:
    """Each public module declares a sorted __all__ of names it defines."""
    for info in pkgutil.iter_modules(tentacle_ha.__path__):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"tentacle_ha.{info.name}")
        names = list(module.__all__)
        assert all(hasattr(module, n) for n in names), info.name


def test_version_is_a_string() -> None:
    """__version__ is a plain version string."""
    assert tentacle_ha.__version__.count(".") == 2


# Each wing's face re-exports the whole __all__ of the modules that implement it.
FACES = {
    "check": ("_checks", "_server"),
    "cli": ("_main",),
    "cluster": ("_model", "_reader", "_server", "_draft"),
    "commands": ("_command",),
    "config": ("_document", "_effective", "_keys", "_machinekey", "_restart"),
    "fleet": ("_plan_apply",),
    "report": ("_html", "_model"),
    "servers": ("_entry", "_model"),
    "testing": ("_fakes",),
}


def test_each_wing_face_lists_exactly_its_modules_names() -> None:
    """A wing's __all__ is the union of its implementation modules' __all__."""
    for wing, parts in FACES.items():
        face = importlib.import_module(f"tentacle_ha.{wing}")
        expected: set[str] = set()
        for part in parts:
            module = importlib.import_module(f"tentacle_ha.{wing}.{part}")
            expected |= set(module.__all__)
            for name in module.__all__:
                assert getattr(face, name) is getattr(module, name), (wing, name)
        assert set(face.__all__) == expected, wing
        assert len(face.__all__) == len(expected), f"{wing}: duplicates in __all__"


def test_every_public_submodule_has_all_of_names_it_has() -> None:
    """Public modules inside the wings (layout, plan, lb, ...) declare __all__ too."""
    for info in pkgutil.walk_packages(tentacle_ha.__path__, "tentacle_ha."):
        if any(part.startswith("_") for part in info.name.split(".")[1:]):
            continue
        module = importlib.import_module(info.name)
        assert all(hasattr(module, n) for n in module.__all__), info.name
