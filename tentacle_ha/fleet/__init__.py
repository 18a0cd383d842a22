"""The fleet wing: audit, plan and apply one edit across many Tentacle.configs.

`plan` and `apply` with the locked, re-read, atomic write (``_plan_apply``),
the parallel worker pipeline (``_pipeline``), and public modules for finding
files (`tentacle_ha.fleet.discover`), the edits (`tentacle_ha.fleet.edits`),
the audit (`tentacle_ha.fleet.audit`) and what it reports
(`tentacle_ha.fleet.findings`), with ``_certificates`` for the Tentacles' own
certificates (``--machine-key``). ``_fleetgen`` makes sample fleets for the
demo, the tests and the benchmarks. Speed, with the same results: ``_diff``
(a plan's diff without difflib's matcher for one replaced run of lines) and
``_sync_memo`` (`SyncToCluster`'s new list, once per list shape and worker).

May import: `tentacle_ha.config`, `tentacle_ha.cluster`, `tentacle_ha.servers`,
`tentacle_ha.errors` and the shared I/O.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from tentacle_ha import _lazy

if TYPE_CHECKING:
    from tentacle_ha.fleet._plan_apply import PLAN_FORMAT
    from tentacle_ha.fleet._plan_apply import FileOutcome
    from tentacle_ha.fleet._plan_apply import FilePlan
    from tentacle_ha.fleet._plan_apply import ReviewedPlan
    from tentacle_ha.fleet._plan_apply import Status
    from tentacle_ha.fleet._plan_apply import apply
    from tentacle_ha.fleet._plan_apply import load_plan
    from tentacle_ha.fleet._plan_apply import plan
    from tentacle_ha.fleet._plan_apply import plan_header

__all__ = [
    "PLAN_FORMAT",
    "FileOutcome",
    "FilePlan",
    "ReviewedPlan",
    "Status",
    "apply",
    "load_plan",
    "plan",
    "plan_header",
]

_LAZY = {
    "PLAN_FORMAT": "tentacle_ha.fleet._plan_apply:PLAN_FORMAT",
    "FileOutcome": "tentacle_ha.fleet._plan_apply:FileOutcome",
    "FilePlan": "tentacle_ha.fleet._plan_apply:FilePlan",
    "ReviewedPlan": "tentacle_ha.fleet._plan_apply:ReviewedPlan",
    "Status": "tentacle_ha.fleet._plan_apply:Status",
    "apply": "tentacle_ha.fleet._plan_apply:apply",
    "load_plan": "tentacle_ha.fleet._plan_apply:load_plan",
    "plan": "tentacle_ha.fleet._plan_apply:plan",
    "plan_header": "tentacle_ha.fleet._plan_apply:plan_header",
}

if not TYPE_CHECKING:  # type checkers see the imports above instead
    __getattr__ = _lazy.exports(globals(), _LAZY)[0]


def __dir__() -> list[str]:
    return sorted(__all__)
