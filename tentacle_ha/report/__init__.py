"""The report wing: a fleet audit or a check as one self-contained HTML file.

A `Report` (``_model``) is plain data built from an audit (`audit_report`,
or `AuditCollector` while ``fleet audit`` streams its findings) or from a
check (`check_report`): a matrix of Tentacles x nodes, each cell the class of
that poll path, and the findings with their fixes. `render_html` and
`write_html` (``_html``) turn it into a page rendered by Jinja2 with
autoescaping on, its CSS and JavaScript inline.

May import: `tentacle_ha.fleet`, `tentacle_ha.check`, `tentacle_ha.cluster`,
`tentacle_ha.config`, `tentacle_ha.servers`, `tentacle_ha.errors` and the
shared I/O (``tentacle_ha._atomic``). Only `tentacle_ha.cli` imports it.
"""

from tentacle_ha.report._html import CLASS_SYMBOLS
from tentacle_ha.report._html import render_html
from tentacle_ha.report._html import write_html
from tentacle_ha.report._model import CLASS_ABOUT
from tentacle_ha.report._model import CLASS_RANKS
from tentacle_ha.report._model import AuditCollector
from tentacle_ha.report._model import Cell
from tentacle_ha.report._model import Report
from tentacle_ha.report._model import ReportFinding
from tentacle_ha.report._model import Row
from tentacle_ha.report._model import audit_report
from tentacle_ha.report._model import check_report

__all__ = [
    "CLASS_ABOUT",
    "CLASS_RANKS",
    "CLASS_SYMBOLS",
    "AuditCollector",
    "Cell",
    "Report",
    "ReportFinding",
    "Row",
    "audit_report",
    "check_report",
    "render_html",
    "write_html",
]


def __dir__() -> list[str]:
    return sorted(__all__)
