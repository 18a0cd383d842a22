"""The HTML report at 2,000 Tentacles x 5 nodes, in a real browser, vs a fair floor.

The floor, measured in the same run and the same browser, is the least any
page showing this matrix must do: the same 2,000 x 5 table, the same cell
text, no style and no script. For each, in headless Chromium (Debian's,
driven by Playwright): the time from navigation start to the first frame
painted after ``load`` (the page is there and usable), and the time of one
filter (every row shown or hidden, then layout) - the report's own
environment filter against a bare loop that hides the same rows. Also the
Python side: `render_html` against joining the floor's HTML. Ours and the
floor take turns, one run each a round (`_paired.rounds`); each prints
min/median/max of both and of the per-round ratio.

Run (needs the test extra and chromium): .venv/bin/python benchmarks/report.py
[--rounds N] [--rows N] [--nodes N]
"""

from __future__ import annotations

import argparse
import html
import shutil
import sys
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from _paired import rounds
from _paired import show
from _paired import wall
from playwright.sync_api import sync_playwright

from tentacle_ha import report as _report

if TYPE_CHECKING:
    from playwright.sync_api import Browser

_STATUSES = ("ok", "ok", "ok", "draining", "not_trusted", "timeout")

_TO_FRAME = """() => new Promise(done => {
    const go = () => requestAnimationFrame(() => requestAnimationFrame(
        () => done(performance.now())));
    if (document.readyState === "complete") { go(); }
    else { addEventListener("load", go); }
})"""

_OUR_FILTER = """() => {
    const select = document.querySelector("select[name=env]");
    const started = performance.now();
    select.value = select.value ? "" : "Staging";
    select.dispatchEvent(new Event("change", {bubbles: true}));
    void document.body.offsetHeight;
    return performance.now() - started;
}"""

_FLOOR_FILTER = """() => {
    const rows = document.querySelectorAll("tbody tr");
    const started = performance.now();
    const on = !rows[0].hidden;
    for (let i = 0; i < rows.length; i++) {
        rows[i].hidden = on ? i % 3 !== 0 : false;
    }
    void document.body.offsetHeight;
    return performance.now() - started;
}"""


def _large(rows: int, nodes: int) -> _report.Report:
    return _report.Report(
        kind="fleet audit",
        columns=tuple(f"node{n}" for n in range(1, nodes + 1)),
        rows=tuple(
            _report.Row(
                label=f"tentacle-{r:05d}",
                path=f"/srv/fleet/site-{r // 500:03d}/host-{r:05d}/Tentacle.config",
                environments=("Staging" if r % 3 == 0 else "Production",),
                roles=("web-server" if r % 2 else "database",),
                cells=tuple(
                    _report.Cell(status=_STATUSES[(r * nodes + n) % 6])
                    for n in range(nodes)
                ),
            )
            for r in range(rows)
        ),
        findings=(),
        files=rows,
    )


def _floor_html(report: _report.Report) -> str:
    head = "".join(f"<th>{html.escape(c)}</th>" for c in report.columns)
    body = "".join(
        "<tr><th>"
        + html.escape(row.label)
        + "</th>"
        + "".join(f"<td>{html.escape(c.status)}</td>" for c in row.cells)
        + "</tr>"
        for row in report.rows
    )
    return (
        '<!DOCTYPE html><html><head><meta charset="utf-8"><title>floor</title>'
        f"</head><body><table><thead><tr><th></th>{head}</tr></thead>"
        f"<tbody>{body}</tbody></table></body></html>"
    )


def _browser(browser: Browser, path: Path, filter_js: str) -> tuple[float, float]:
    page = browser.new_page(viewport={"width": 1280, "height": 800})
    page.set_default_timeout(30_000)
    page.goto(path.as_uri(), wait_until="commit")
    painted = float(page.evaluate(_TO_FRAME))
    filtered = float(page.evaluate(filter_js))
    page.close()
    return painted / 1000, filtered / 1000


def _line(name: str, ours: list[float], floor: list[float]) -> str:
    ratios = [o / f for o, f in zip(ours, floor, strict=True)]
    return (
        f"{name}: report min/median/max {show(ours, '{:.3f}')} s; "
        f"floor {show(floor, '{:.3f}')} s; "
        f"ratio per round {show(ratios, '{:.2f}')}x"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--rows", type=int, default=2000)
    parser.add_argument("--nodes", type=int, default=5)
    args = parser.parse_args()
    if args.rounds < 5:
        parser.error("--rounds must be at least 5")
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        sys.exit(
            "benchmarks/report.py: needs chromium (scripts/ensure-system-packages)"
        )
    made = _large(args.rows, args.nodes)
    print(f"{args.rows} rows x {args.nodes} nodes, {args.rounds} rounds")
    mine, bare = rounds(
        [
            lambda: wall(lambda: _report.render_html(made)),
            lambda: wall(lambda: _floor_html(made)),
        ],
        args.rounds,
    )
    print(_line("python render", [m[0] for m in mine], [b[0] for b in bare]))
    with tempfile.TemporaryDirectory() as folder:
        ours_path = Path(folder, "report.html")
        floor_path = Path(folder, "floor.html")
        _report.write_html(made, ours_path)
        floor_path.write_text(_floor_html(made), encoding="utf-8")
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=chromium,
                headless=True,
                args=["--no-sandbox", "--disable-gpu"],
                timeout=30_000,
            )
            try:
                ours, floor = rounds(
                    [
                        lambda: _browser(browser, ours_path, _OUR_FILTER),
                        lambda: _browser(browser, floor_path, _FLOOR_FILTER),
                    ],
                    args.rounds,
                )
            finally:
                browser.close()
    print(
        _line(
            "browser: to first frame after load",
            [o[0] for o in ours],
            [f[0] for f in floor],
        )
    )
    print(
        _line(
            "browser: one filter + layout", [o[1] for o in ours], [f[1] for f in floor]
        )
    )


if __name__ == "__main__":
    main()
