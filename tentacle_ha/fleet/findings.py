"""`Finding` and `Severity`: what an audit or a file search reports.

Shared by discovery (files that cannot be used) and the audit (problems in a
file or across files); the codes are listed in `tentacle_ha.fleet.audit`.

.. versionadded:: 0.1.0
"""

from __future__ import annotations

import enum
from typing import Any
from typing import Final

import attrs

__all__ = ["Finding", "Severity"]


class Severity(enum.StrEnum):
    """How bad a finding is.

    .. versionadded:: 0.1.0
    """

    ERROR = "error"
    """Something is broken or will break."""
    WARNING = "warning"
    """Probably wrong, or fragile."""
    INFO = "info"
    """Worth knowing; works as it is."""

    @property
    def rank(self) -> int:
        """2 for errors, 1 for warnings, 0 for info: compare with ``>=``."""
        return _RANKS[self]


_RANKS: Final = {Severity.ERROR: 2, Severity.WARNING: 1, Severity.INFO: 0}


@attrs.frozen(kw_only=True)
class Finding:
    """One problem found in one file (no public constructor).

    Attributes:
        severity: error, warning or info.
        code: a stable kebab-case identifier (listed in this module's docstring).
        path: the file, or None for a finding about no particular file.
        message: one line for people.
        line: 1-based line in the file, where it applies.
        col: 1-based column in characters, where it applies.
        node: the cluster node the finding is about (``node-missing``,
            ``thumbprint-not-cluster``), or None.
        address: the polling address the finding is about, or None; with
            *node*, this answers "which Tentacles miss node3" without
            parsing *message*.

    ``str()`` gives ``path:line:col: severity: message [code]``.

    .. versionadded:: 0.1.0
    """

    severity: Severity
    code: str
    path: str | None
    message: str
    line: int | None = None
    col: int | None = None
    node: str | None = None
    address: str | None = None

    def __str__(self) -> str:
        where = [self.path or "-"]
        if self.line is not None:
            where.append(str(self.line))
            if self.col is not None:
                where.append(str(self.col))
        return f"{':'.join(where)}: {self.severity}: {self.message} [{self.code}]"

    def to_dict(self) -> dict[str, Any]:
        """The finding as plain JSON-ready values."""
        return {
            "severity": str(self.severity),
            "code": self.code,
            "path": self.path,
            "line": self.line,
            "col": self.col,
            "node": self.node,
            "address": self.address,
            "message": self.message,
        }
