"""Private: a `Report` as one self-contained HTML file (Jinja2, autoescaped).

The template (``templates/report.html.j2``, a package resource) carries its
CSS and JavaScript inline and fetches nothing: the file opens from a share or
a CI artifact with no network. Every value from a config, a cluster file or
a server reaches the page through Jinja2's autoescaping (text and attribute
values alike; nothing is marked safe), and the script reads rows from
``data-`` attributes and writes only ``textContent``, so a value can never
become markup or code. The page has one listener per control and one on the
matrix (event delegation), none per cell.
"""

from __future__ import annotations

import functools
import importlib.resources
import os
from typing import TYPE_CHECKING
from typing import Final

from tentacle_ha import __version__
from tentacle_ha._atomic import write_atomic
from tentacle_ha.report._model import CLASS_ABOUT
from tentacle_ha.report._model import class_rank

if TYPE_CHECKING:
    import jinja2

    from tentacle_ha.report._model import Report

__all__ = ["CLASS_SYMBOLS", "render_html", "write_html"]

#: The symbol each class shows beside its name, so the matrix reads without
#: colour; a class not listed shows a bullet.
CLASS_SYMBOLS: Final = {
    "ok": "\u2713",  # check mark
    "listening": "\u25cb",  # white circle
    "not_checked": "\u00b7",  # middle dot
    "draining": "\u25d0",  # circle, left half black
    "not_trusted": "\u2298",  # circled slash
    "thumbprint_mismatch": "\u2260",  # not equal
    "thumbprint_case": "\u2248",  # almost equal
    "timeout": "\u231b",  # hourglass
    "refused": "\u2717",  # ballot x
    "unreachable": "\u21e5",  # arrow to bar
    "closed_by_peer": "\u21af",  # zigzag arrow
    "dns_error": "?",
    "tls_error": "\u26a0",  # warning sign
    "not_halibut": "\u2047",  # double question mark
    "http_error": "!",
    "down": "\u25bc",  # down triangle
    "proxy_error": "\u21c4",  # arrows left and right
    "unsupported_server": "\u2300",  # diameter
    "servers_broken": "\u25c6",  # black diamond
    "not_a_config": "\u25a0",  # black square
}

_TEMPLATE: Final = "report.html.j2"


@functools.cache
def _environment(*, autoescape: bool = True) -> jinja2.Environment:
    """The template's environment; ``autoescape=False`` is for the escaping
    test's negative control only (it proves that test can fail)."""
    import jinja2  # noqa: PLC0415 -- only a report needs it; keeps CLI start-up lean

    source = (
        importlib.resources.files("tentacle_ha.report")
        .joinpath("templates", _TEMPLATE)
        .read_text(encoding="utf-8")
    )
    env = jinja2.Environment(
        loader=jinja2.DictLoader({_TEMPLATE: source}),
        autoescape=autoescape,  # noqa: S701 -- True for every page; see above
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["symbol"] = lambda status: CLASS_SYMBOLS.get(status, "\u2022")
    env.filters["rank"] = class_rank
    return env


def _render(report: Report, *, autoescape: bool) -> str:
    template = _environment(autoescape=autoescape).get_template(_TEMPLATE)
    environments = sorted({e for r in report.rows for e in r.environments})
    roles = sorted({e for r in report.rows for e in r.roles})
    anchors: dict[int, int] = {}  # finding index -> its row, for each row's first
    seen: set[int] = set()
    for number, finding in enumerate(report.findings):
        if finding.row is not None and finding.row not in seen:
            seen.add(finding.row)
            anchors[number] = finding.row
    return template.render(
        report=report,
        version=__version__,
        classes=report.class_counts(),
        severities=report.severity_counts(),
        environments=environments,
        roles=roles,
        anchors=anchors,
        symbols=CLASS_SYMBOLS,
        about=CLASS_ABOUT,
    )


def render_html(report: Report) -> str:
    """The report as one self-contained HTML page (a `str`).

    .. versionadded:: 0.1.0
    """
    return _render(report, autoescape=True)


def write_html(report: Report, path: str | os.PathLike[str]) -> str:
    """Write `render_html` to *path* atomically; return the path written.

    A new file gets mode 0o600 (the report names hosts and files); an
    existing one keeps its mode. The write is the shared atomic writer's
    (temporary file, fsync, rename, folder fsync).

    Raises:
        WriteError: the file cannot be written; nothing is left behind.

    .. versionadded:: 0.1.0
    """
    write_atomic(path, render_html(report).encode("utf-8"))
    return os.fspath(path)
