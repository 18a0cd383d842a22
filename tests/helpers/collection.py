"""Loading the tentacle_ha.octopus collection's plugins by path, as Ansible does."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from types import ModuleType

COLLECTION = (
    Path(__file__).resolve().parents[2]
    / "ansible_collections"
    / "tentacle_ha"
    / "octopus"
)


def load_plugin(kind: str, name: str) -> ModuleType:
    """plugins/<kind>/<name>.py of tentacle_ha.octopus, as a fresh module."""
    path = COLLECTION / "plugins" / kind / f"{name}.py"
    spec = importlib.util.spec_from_file_location(f"_tentacle_ha_{kind}_{name}", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
