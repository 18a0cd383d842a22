"""Private: a package face whose names load on first use (PEP 562).

`exports` turns ``{name: "module:attribute"}`` into the module-level
``__getattr__`` and ``__dir__`` of a face: ``tentacle_ha.Cluster`` imports
``tentacle_ha.cluster`` the first time it is asked for, and keeps the value
in the face's namespace so the next use costs nothing. A command that never
touches a wing never pays for importing it (the checks' asyncio, httpx and
TLS, the fleet's worker pool). Faces list the same names under
``if TYPE_CHECKING:`` for type checkers; a test holds the two lists equal.
"""

from __future__ import annotations

import importlib
import types
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Callable
    from collections.abc import Mapping

__all__ = ["exports", "module"]


def exports(
    namespace: dict[str, object], table: Mapping[str, str]
) -> tuple[Callable[[str], object], Callable[[], list[str]]]:
    """``__getattr__`` and ``__dir__`` for the face whose globals are *namespace*."""
    face = namespace["__name__"]

    def __getattr__(name: str) -> object:  # noqa: N807 -- PEP 562's name
        where = table.get(name)
        if where is None:
            msg = f"module {face!r} has no attribute {name!r}"
            raise AttributeError(msg, name=name, obj=face)
        module, _, attribute = where.partition(":")
        value = getattr(importlib.import_module(module), attribute)
        namespace[name] = value
        return value

    def __dir__() -> list[str]:  # noqa: N807 -- PEP 562's name
        return sorted({*namespace, *table})

    return __getattr__, __dir__


class _Module(types.ModuleType):
    """Stands in for a module until an attribute of it is first read."""

    def __getattr__(self, attribute: str) -> object:
        real = importlib.import_module(self.__name__)
        value = getattr(real, attribute)
        setattr(self, attribute, value)
        return value


def module(name: str) -> types.ModuleType:
    """The module *name*, imported when one of its attributes is first read.

    For a module a command may not need: bind it as
    ``if TYPE_CHECKING: from x import y`` / ``else: y = module("x.y")``.
    """
    return _Module(name)
