"""The HTML report in a real browser: Debian's headless Chromium, via Playwright.

What a person sees is what is tested: the matrix has one row per config and
the cells per class the generated fleet implies; the filters, search and
sort change the visible rows; values from configs, cluster files and
servers never execute (with a negative control: the same page rendered
without autoescaping does execute them); the page fetches nothing; a
2,000 x 5 matrix has no listener on any cell; a screenshot is taken. One
browser serves the module; every wait is bounded.
"""

from __future__ import annotations

import json
import random
from typing import TYPE_CHECKING
from typing import Any

import attrs
import pytest
from helpers.browser import chromium
from helpers.browser import open_report
from helpers.fleetgen import ADDRESSES
from helpers.fleetgen import THUMBPRINT
from helpers.fleetgen import config_bytes
from helpers.fleetgen import make_tentacle
from helpers.fleetgen import write_fleet

from tentacle_ha import report as _report
from tentacle_ha.cluster import loads_cluster
from tentacle_ha.report._html import _render

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    from playwright.sync_api import Browser
    from playwright.sync_api import Page

    from tentacle_ha.cluster import Cluster

pytestmark = [pytest.mark.integration, pytest.mark.timeout(120)]

FLEET = 40
STAGING_EVERY = 4  # config i is in Staging when i % 4 == 0, else Production


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with chromium() as launched:
        yield launched


def _cluster_text(paths: list[Path], names: dict[int, str] | None = None) -> str:
    """The fleetgen cluster (three nodes) with a [[tentacles]] entry per config."""
    lines = [
        "[cluster]",
        'server = "https://octopus.example.com"',
        f'thumbprint = "{THUMBPRINT}"',
        'layout = "unique-address"',
    ]
    for number, address in enumerate(ADDRESSES, 1):
        host = address.removeprefix("https://").rsplit(":", 1)[0]
        lines += ["", "[[nodes]]", f'name = "node{number}"', f'address = "{host}"']
    for index, path in enumerate(paths):
        env = "Staging" if index % STAGING_EVERY == 0 else "Production"
        name = (names or {}).get(index, f"host-{index:05d}")
        lines += [
            "",
            "[[tentacles]]",
            f"name = {json.dumps(name)}",
            'os = "linux"',
            f"environments = [{json.dumps(env)}]",
            f"roles = [{json.dumps('web' if index % 2 else 'db')}]",
            f"config_path = {json.dumps(str(path))}",
        ]
    return "\n".join(lines) + "\n"


def _cluster(
    tmp: Path, paths: list[Path], names: dict[int, str] | None = None
) -> Cluster:
    path = tmp / "cluster.toml"
    path.write_text(_cluster_text(paths, names), encoding="utf-8")
    return loads_cluster(path.read_text(encoding="utf-8"), path=str(path))


def _visible_rows(page: Page) -> int:
    return int(page.locator("#rows > .row:visible").count())


def _cells_per_class(page: Page) -> dict[str, int]:
    found: dict[str, int] = page.evaluate(
        """() => {
            const counts = {};
            for (const td of document.querySelectorAll('#rows [data-c]')) {
                counts[td.dataset.c] = (counts[td.dataset.c] || 0) + 1;
            }
            return counts;
        }"""
    )
    return found


@pytest.fixture(scope="module")
def fleet_page(browser: Browser, tmp_path_factory: pytest.TempPathFactory) -> Page:
    tmp = tmp_path_factory.mktemp("report")
    paths = write_fleet(tmp / "fleet", FLEET, drifted=5, broken=1, cloned=1, seed=7)
    cluster = _cluster(tmp, paths)
    html = tmp / "report.html"
    _report.write_html(_report.audit_report([tmp / "fleet"], cluster=cluster), html)
    requests: list[str] = []
    page = open_report(browser, html, requests=requests)
    page.wait_for_selector("html[data-ready]")
    assert requests == [html.as_uri()]  # self-contained: nothing else is fetched
    return page


def test_matrix_has_a_row_per_config_and_the_cells_the_fleet_implies(
    fleet_page: Page, tmp_path: Path
) -> None:
    """40 rows x 3 nodes; drifts: one node not polled, one lower-case
    thumbprint; the broken file is not_a_config on every node; the rest ok."""
    page = fleet_page
    assert page.locator("#rows > .row").count() == FLEET
    assert page.locator("#matrix .head > span").all_inner_texts()[-3:] == [
        "node1",
        "node2",
        "node3",
    ]
    nodes = len(ADDRESSES)
    assert _cells_per_class(page) == {
        "not_trusted": 1,  # DRIFTS[0], missing-node: the last node
        "thumbprint_case": 1,  # DRIFTS[1], lower-case-thumbprint: the first
        "not_a_config": nodes,  # the broken file, cut in half
        "ok": FLEET * nodes - 2 - nodes,
    }
    # Worst first: the broken file, then the broken paths.
    first = page.locator("#rows > .row").first.locator("[data-c]").all_inner_texts()
    assert all("not_a_config" in text for text in first)
    assert page.inner_text("#n-tentacles") == str(FLEET)
    shot = tmp_path / "report.png"
    page.screenshot(path=str(shot))
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert shot.stat().st_size > 10_000


def test_filters_search_and_sort_change_the_visible_rows(fleet_page: Page) -> None:
    """Class boxes, environment, search and sort each change what is shown."""
    page = fleet_page
    assert _visible_rows(page) == FLEET
    page.uncheck("input[name=class][value=ok]")
    assert _visible_rows(page) == 3  # the rows with a cell that is not ok
    assert page.inner_text("#shown") == f"3 of {FLEET} shown"
    page.check("input[name=class][value=ok]")
    assert _visible_rows(page) == FLEET
    page.select_option("select[name=env]", "Staging")
    assert _visible_rows(page) == len(range(0, FLEET, STAGING_EVERY))
    page.select_option("select[name=role]", "db")
    assert _visible_rows(page) == len(range(0, FLEET, 4))  # 0 mod 4 is even: db
    page.select_option("select[name=env]", "")
    page.select_option("select[name=role]", "")
    page.fill("input[name=q]", "HOST-00017")  # search ignores case
    assert _visible_rows(page) == 1
    assert "host-00017" in page.locator("#rows > .row:visible").inner_text()
    page.fill("input[name=q]", "")
    page.select_option("select[name=sort]", "name")
    labels = page.locator("#rows > .row").evaluate_all(
        "rows => rows.map(r => r.children[0].firstChild.nodeValue)"
    )
    assert labels == sorted(labels)
    page.select_option("select[name=sort]", "worst")
    ranks = page.locator("#rows > .row").evaluate_all(
        "rows => rows.map(r => +r.dataset.rank)"
    )
    assert ranks == sorted(ranks, reverse=True)
    assert ranks != sorted(ranks)  # the fleet has both good and bad rows


def test_a_finding_links_to_its_matrix_row(fleet_page: Page) -> None:
    """Following a finding's file link reveals and marks its row, even if hidden."""
    page = fleet_page
    page.fill("input[name=q]", "no such tentacle")
    assert _visible_rows(page) == 0
    link = page.locator("#findings a[href^='#r']").first
    target = str(link.get_attribute("href"))[1:]
    link.click()
    row = page.locator(f"#{target}")
    assert row.is_visible()
    assert "here" in str(row.get_attribute("class"))
    page.locator(f"#{target} [data-c]").first.click()
    assert "\u2192 node1" in page.inner_text("#detail")


# -- escaping ----------------------------------------------------------------------

# Each payload records its origin in window.__pwned if it ever runs.
_IMG = '"><img src=x onerror="window.__pwned=(window.__pwned||[]).concat([{}])">'
_SCRIPT = "<script>window.__pwned=(window.__pwned||[]).concat([{}])</script>"


def _payload(origin: str) -> str:
    tag = json.dumps(origin).replace('"', "&quot;")  # inside onerror="..."
    return _IMG.format(tag) + "<script>" + '"'


def _hostile_fleet(tmp: Path, where: str) -> tuple[list[Path], dict[int, str]]:
    """Three configs, hostile in one *where*: folder name, Address, Tentacle name."""
    rng = random.Random(3)  # noqa: S311 -- test data
    folder = tmp / where / ("site" + (_payload("path") if where == "path" else ""))
    folder.mkdir(parents=True)
    paths = []
    for index in range(3):
        tentacle = make_tentacle(index, rng)
        if index == 1 and where == "value":
            servers = [dict(s) for s in tentacle.servers]
            hostile = _SCRIPT.format('"value"') + _payload("value")
            servers[0]["Address"] = "https://x" + hostile
            tentacle = attrs.evolve(tentacle, servers=tuple(servers))
        path = folder / f"host-{index}.config"
        path.write_bytes(config_bytes(tentacle))
        paths.append(path)
    name = _payload("tentacle-name") + _SCRIPT.format('"name"')
    return paths, {0: name} if where == "tentacle-name" else {}


def _hostile_check_report() -> _report.Report:
    """What a node name and a server's answer may hold, through the public model."""
    node = _payload("node") + _SCRIPT.format('"node"')
    return _report.Report(
        kind="check",
        columns=(node,),
        rows=(
            _report.Row(
                label="cfg",
                path="cfg",
                cells=(_report.Cell(status=node, detail=node),),
            ),
        ),
        findings=(
            _report.ReportFinding(
                code=node,
                severity="error",
                path=node,
                line=1,
                col=2,
                message=node,
                fix=node,
                row=0,
            ),
        ),
        files=1,
        made_on=node,
        command=node,
    )


def _pwned(page: Page) -> Any:
    return page.evaluate("() => window.__pwned || null")


def _hostile_pages(tmp: Path) -> list[_report.Report]:
    """One page per place a hostile value comes from (a payload left open in
    one place must not hide the others in the negative control)."""
    pages = []
    for where in ("path", "value", "tentacle-name"):
        paths, names = _hostile_fleet(tmp, where)
        cluster = _cluster(tmp / where, paths, names)
        pages.append(_report.audit_report(paths, cluster=cluster))
    assert any('<script>"' in f.message for f in pages[1].findings)  # got through
    return [*pages, _hostile_check_report()]


def test_values_from_configs_clusters_and_servers_never_execute(
    browser: Browser, tmp_path: Path
) -> None:
    """<script>, quotes and event handlers in a path, a setting value, a Tentacle
    name and a node name show as text; nothing runs, the title is untouched."""
    for number, report in enumerate(_hostile_pages(tmp_path)):
        html = tmp_path / f"escaped-{number}.html"
        _report.write_html(report, html)
        page = open_report(browser, html)
        page.wait_for_selector("html[data-ready]")
        page.locator("#rows [data-c]").first.click()  # the detail line too
        assert _pwned(page) is None
        assert page.title().startswith(f"tentacle-ha {report.kind}:")
        assert "<script>" in page.inner_text("body")  # shown, as text
        page.close()


def test_negative_control_without_autoescape_the_payloads_execute(
    browser: Browser, tmp_path: Path
) -> None:
    """The same reports rendered with autoescape off do run the payloads: the
    escaping test above can fail."""
    origins: set[str] = set()
    for number, report in enumerate(_hostile_pages(tmp_path)):
        html = tmp_path / f"raw-{number}.html"
        html.write_text(_render(report, autoescape=False), encoding="utf-8")
        page = open_report(browser, html)
        page.wait_for_function("() => window.__pwned && window.__pwned.length")
        origins |= set(_pwned(page))
        page.close()
    assert {"path", "value", "tentacle-name", "node"} <= origins


# -- a large fleet -----------------------------------------------------------------


def _large_report(rows: int, nodes: int) -> _report.Report:
    statuses = ("ok", "ok", "ok", "draining", "not_trusted", "timeout")
    return _report.Report(
        kind="fleet audit",
        columns=tuple(f"node{n}" for n in range(1, nodes + 1)),
        rows=tuple(
            _report.Row(
                label=f"tentacle-{r:05d}",
                path=f"/srv/fleet/{r:05d}/Tentacle.config",
                environments=("Production" if r % 3 else "Staging",),
                roles=("web",),
                cells=tuple(
                    _report.Cell(status=statuses[(r * nodes + n) % 6], detail="d")
                    for n in range(nodes)
                ),
            )
            for r in range(rows)
        ),
        findings=(),
        files=rows,
    )


def _listeners(page: Page, selector: str) -> list[dict[str, Any]]:
    session = page.context.new_cdp_session(page)
    found = session.send(
        "Runtime.evaluate",
        {"expression": f"document.querySelector({json.dumps(selector)})"},
    )
    object_id = found["result"]["objectId"]
    answer = session.send("DOMDebugger.getEventListeners", {"objectId": object_id})
    session.detach()
    listeners: list[dict[str, Any]] = answer["listeners"]
    return listeners


def test_two_thousand_by_five_renders_whole_with_no_listener_per_cell(
    browser: Browser, tmp_path: Path
) -> None:
    """All 10,000 cells are there; cells have no listeners, the body has one
    click listener (delegation); a filter still works. Negative control: a
    listener added to one cell is seen by the same probe."""
    html = tmp_path / "large.html"
    _report.write_html(_large_report(2000, 5), html)
    page = open_report(browser, html)
    page.wait_for_selector("html[data-ready]")
    assert page.locator("#rows > .row").count() == 2000
    assert page.locator("#rows [data-c]").count() == 10_000
    for selector in (
        "#rows .row:first-child [data-c]",
        "#rows .row:nth-child(1000) [data-c]:last-child",
        "#rows .row:last-child [data-c]",
    ):
        assert _listeners(page, selector) == []
    assert [x["type"] for x in _listeners(page, "#rows")] == ["click"]
    page.select_option("select[name=env]", "Staging")
    assert _visible_rows(page) == len(range(0, 2000, 3))
    page.evaluate(
        "() => document.querySelector('#rows .row:last-child [data-c]')"
        ".addEventListener('click', () => {})"
    )
    assert len(_listeners(page, "#rows .row:last-child [data-c]")) == 1
