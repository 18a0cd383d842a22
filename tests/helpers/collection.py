"""Loading the tentacle_ha.octopus collection's plugins by path, as Ansible does."""

from __future__ import annotations

import importlib.util
import sys
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


ROOT = str(COLLECTION.parents[2])


def load_plugin(kind: str, name: str) -> ModuleType:
    """plugins/<kind>/<name>.py of tentacle_ha.octopus, as a fresh module.

    The repo root goes on ``sys.path`` so that the plugins' own imports
    (``ansible_collections.tentacle_ha.octopus.plugins.plugin_utils``) resolve
    as they do under ``ANSIBLE_COLLECTIONS_PATH``.
    """
    if ROOT not in sys.path:
        sys.path.append(ROOT)
    path = COLLECTION / "plugins" / kind / f"{name}.py"
    spec = importlib.util.spec_from_file_location(f"_tentacle_ha_{kind}_{name}", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
