"""The report model and its HTML, without a browser: rows, cells, findings, fixes,
secrets, escaping as a property (lxml reads what a browser would build), the
file written, and the CLI's ``--html``."""

from __future__ import annotations

import json
import stat
from typing import TYPE_CHECKING

import lxml.html
import pytest
from helpers.fleetgen import ADDRESSES
from helpers.fleetgen import THUMBPRINT
from helpers.fleetgen import run_fleet_cli
from helpers.fleetgen import write_fleet
from hypothesis import given
from hypothesis import strategies as st

from tentacle_ha import loads
from tentacle_ha import report as _report
from tentacle_ha.check import CheckKind
from tentacle_ha.check import CheckReport
from tentacle_ha.check import CheckResult
from tentacle_ha.check import CheckStatus
from tentacle_ha.check.targets import CheckRun
from tentacle_ha.cli import main
from tentacle_ha.cluster import loads_cluster
from tentacle_ha.errors import WriteError

if TYPE_CHECKING:
    from pathlib import Path

    from tentacle_ha.cluster import Cluster

NODES_TOML = "".join(
    f'\n[[nodes]]\nname = "node{n}"\naddress = "{a[8:].rsplit(":", 1)[0]}"\n'
    f'web_url = "https://{a[8:].rsplit(":", 1)[0]}"\n'
    for n, a in enumerate(ADDRESSES, 1)
)


def cluster(layout: str = "unique-address", extra: str = "") -> Cluster:
    lb = '\nload_balancer = "lb.example.com"' if layout == "load-balancer" else ""
    text = (
        f'[cluster]\nserver = "https://octopus.example.com"\nthumbprint = '
        f'"{THUMBPRINT}"\nlayout = "{layout}"{lb}\n{NODES_TOML}{extra}'
    )
    return loads_cluster(text, path="cluster.toml")


def parse(html: str) -> lxml.html.HtmlElement:
    return lxml.html.document_fromstring(html)


# -- from an audit ---------------------------------------------------------------


def test_audit_report_rows_cells_findings_and_fixes(tmp_path: Path) -> None:
    paths = write_fleet(tmp_path / "f", 12, drifted=5, broken=1, cloned=1, seed=5)
    extra = '\n[[tentacles]]\nname = "web01"\nos = "linux"\nenvironments = ["Prod"]\n'
    extra += f'roles = ["web"]\nconfig_path = {json.dumps(str(paths[7]))}\n'
    made = _report.audit_report([tmp_path / "f"], cluster=cluster(extra=extra), jobs=1)
    assert made.columns == ("node1", "node2", "node3")
    assert made.files == made.tentacles == len(made.rows) == 12
    ranks = [row.rank for row in made.rows]
    assert ranks == sorted(ranks, reverse=True)
    assert made.rows[0].classes == ("not_a_config",)
    named = next(r for r in made.rows if r.label == "web01")
    assert (named.path, named.environments, named.roles) == (
        str(paths[7]),
        ("Prod",),
        ("web",),
    )
    codes = {f.code: f for f in made.findings}
    missing = codes["node-missing"]
    assert (
        missing.fix
        == f"tentacle-ha servers sync {missing.path} --cluster cluster.toml --diff"
    )
    assert made.rows[missing.row or 0].path == missing.path
    assert missing.position == f"{missing.line}:{missing.col}"
    assert "new-certificate" in codes["cloned-certificate"].fix
    assert codes["not-a-config"].fix.startswith("edit the file")
    severities = [f.severity for f in made.findings]
    assert severities == sorted(severities, key=["error", "warning", "info"].index)
    counts = made.severity_counts()
    assert sum(counts.values()) == len(made.findings)
    assert sum(made.class_counts().values()) == 12 * 3


def test_audit_report_without_a_cluster_has_rows_but_no_columns(tmp_path: Path) -> None:
    write_fleet(tmp_path / "f", 3, broken=1)
    made = _report.audit_report([tmp_path / "f"], jobs=1)
    assert made.columns == ()
    assert all(row.cells == () for row in made.rows)
    assert made.rows[0].severity == "error"
    assert made.cluster is None
    page = parse(_report.render_html(made))
    assert "--cluster FILE" in page.text_content()
    assert not page.xpath("//fieldset[@id='f-class']")
    assert made.findings[0].fix.startswith("edit the file")


def test_fix_of_a_finding_without_a_cluster_names_a_placeholder() -> None:
    collector = _report.AuditCollector(None)
    from tentacle_ha.fleet.audit import Finding  # noqa: PLC0415 -- local to the test
    from tentacle_ha.fleet.audit import Severity  # noqa: PLC0415 -- local to the test

    collector.finding(
        Finding(severity=Severity.ERROR, code="node-missing", path="a b", message="m")
    )
    collector.finding(
        Finding(severity=Severity.INFO, code="no-listen", path=None, message="m")
    )
    made = collector.report(command="c")
    assert made.findings[0].fix == (
        "tentacle-ha servers sync 'a b' --cluster CLUSTER.toml --diff"
    )
    assert made.findings[1].row is None
    assert (
        made.findings[1].fix
        == "tentacle-ha set CONFIG Tentacle.Services.NoListen true --diff"
    )
    assert made.findings[0].position == ""


# -- from a check ----------------------------------------------------------------


def result(
    status: CheckStatus,
    target: str,
    *,
    kind: CheckKind = CheckKind.POLL,
    name: str | None = None,
    presented: str | None = None,
) -> CheckResult:
    return CheckResult(
        target=target,
        kind=kind,
        status=status,
        reason=f"because {status}",
        elapsed=0.01,
        name=name,
        expected_thumbprint=THUMBPRINT,
        presented_thumbprint=presented,
    )


CONFIG = (
    b'<?xml version="1.0" encoding="utf-8"?>\n<octopus-settings>\n'
    b'  <set key="Tentacle.Communication.TrustedOctopusServers">[]</set>\n'
    b"</octopus-settings>\n"
)


def test_check_report_matrix_pings_and_findings() -> None:
    other = "1111111111111111111111111111111111111111"
    results = (
        result(CheckStatus.OK, ADDRESSES[0], name="node1"),
        result(CheckStatus.THUMBPRINT_MISMATCH, ADDRESSES[1], presented=other),
        result(CheckStatus.NOT_TRUSTED, ADDRESSES[2], name="node3"),
        result(CheckStatus.TIMEOUT, "https://old-node:10943"),
        result(
            CheckStatus.OK,
            "https://octopus.example.com/api",
            kind=CheckKind.REGISTRATION,
        ),
        result(
            CheckStatus.DRAINING,
            "https://n1/ping",
            kind=CheckKind.NODE_HEALTH,
            name="node1",
        ),
        result(
            CheckStatus.OK, "https://n2/ping", kind=CheckKind.NODE_HEALTH, name="node2"
        ),
    )
    run = CheckRun(
        loads(CONFIG, path="my config"), cluster(), CheckReport(results=results)
    )
    made = _report.check_report(run, command="tentacle-ha check x")
    assert made.columns == ("node1", "node2", "node3", "https://old-node:10943")
    tentacle, pings = made.rows
    assert [c.status for c in tentacle.cells] == [
        "ok",
        "thumbprint_mismatch",
        "not_trusted",
        "timeout",
    ]
    assert [c.status for c in pings.cells] == [
        "draining",
        "ok",
        "not_checked",
        "not_checked",
    ]
    assert made.tentacles == 1
    assert tentacle.severity == "error"
    assert tentacle.findings == 3
    by_code = {f.code: f for f in made.findings}
    assert by_code["draining"].severity == "warning"
    assert by_code["draining"].path == "cluster.toml"
    assert by_code["draining"].row is None
    assert by_code["not_trusted"].fix == (
        "tentacle-ha servers sync 'my config' --cluster cluster.toml --diff"
    )
    assert f"--new {other}" in by_code["thumbprint_mismatch"].fix
    assert by_code["timeout"].fix.startswith("start the node")
    assert (by_code["timeout"].line, by_code["timeout"].col) == (3, 3)
    assert made.findings[-1].code == "draining"  # warnings after errors


def test_check_report_without_a_cluster_and_strict() -> None:
    results = (
        result(CheckStatus.OK, ADDRESSES[0]),
        result(CheckStatus.DRAINING, ADDRESSES[1], name="n2"),
    )
    run = CheckRun(loads(CONFIG), None, CheckReport(results=results, strict=True))
    made = _report.check_report(run)
    assert made.columns == (ADDRESSES[0], "n2")
    assert len(made.rows) == 1
    assert made.findings[0].severity == "error"  # strict: draining fails
    assert made.findings[0].fix.startswith("wait for the drain")
    assert made.layout is None


def test_check_report_load_balancer_has_no_ping_row() -> None:
    lb = cluster("load-balancer")
    results = (
        result(CheckStatus.OK, lb.comms_addresses()[0], name="load balancer"),
        result(
            CheckStatus.OK, "https://n1/ping", kind=CheckKind.NODE_HEALTH, name="node1"
        ),
    )
    made = _report.check_report(
        CheckRun(loads(CONFIG), lb, CheckReport(results=results))
    )
    assert made.columns == ("load balancer",)
    assert len(made.rows) == 1
    assert made.findings == ()
    assert made.rows[0].severity is None


# -- the HTML --------------------------------------------------------------------


def test_secrets_never_reach_the_page(tmp_path: Path) -> None:
    """No certificate blob of any config, and no proxy password, is in the page."""
    paths = write_fleet(tmp_path / "f", 6, seed=9)
    secret = "hunter2-proxy-password"  # noqa: S105 -- the value that must not show
    target = next(p for p in paths if b"ProxyPassword" not in p.read_bytes())
    target.write_bytes(
        target.read_bytes().replace(
            b'<set key="Octopus.Home">',
            f'<set key="Octopus.Server.Proxy.ProxyPassword">{secret}</set>\n'
            '  <set key="Octopus.Home">'.encode(),
        )
    )
    assert str(loads(target.read_bytes()).get("Octopus.Server.Proxy.ProxyPassword"))
    made = _report.audit_report([tmp_path / "f"], cluster=cluster())
    row = next(r for r in made.rows if r.path == str(target))
    assert row.classes == ("ok",)  # the file was read, its value was there
    page = _report.render_html(made)
    assert secret not in page
    for path in paths:
        blob = loads(path.read_bytes()).get("Tentacle.Certificate")
        assert blob
        assert str(blob)[:40] not in page
    # The control: the same test would see a value that did reach the page.
    assert str(target) in page


def test_page_is_self_contained() -> None:
    """One inline script and style, a CSP that allows no fetch, no URL to load."""
    page = parse(
        _report.render_html(
            _report.Report(kind="check", columns=(), rows=(), findings=(), files=0)
        )
    )
    assert len(page.xpath("//script")) == 1
    assert not page.xpath("//script[@src] | //link | //img | //iframe")
    csp = page.xpath("//meta[@http-equiv='Content-Security-Policy']/@content")
    assert csp
    assert csp[0].startswith("default-src 'none'")


text_values = st.text(
    alphabet=st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")),
    max_size=40,
) | st.sampled_from(
    ["<script>alert(1)</script>", '"><img src=x onerror=alert(1)>', "'", "&amp;"]
)


@given(label=text_values, column=text_values, detail=text_values, message=text_values)
def test_any_value_is_text_on_the_page(
    label: str, column: str, detail: str, message: str
) -> None:
    """Whatever a value holds, the page has only its own script, no handler
    attributes, and shows the value back as text (lxml parses HTML as a
    browser's tree builder would)."""
    made = _report.Report(
        kind="check",
        columns=(column,),
        rows=(
            _report.Row(
                label=label,
                path=label,
                cells=(_report.Cell(status=detail, detail=detail),),
            ),
        ),
        findings=(
            _report.ReportFinding(
                code="c",
                severity="error",
                path=label,
                line=None,
                col=None,
                message=message,
                row=0,
            ),
        ),
        files=1,
    )
    page = parse(_report.render_html(made))
    assert len(page.xpath("//script")) == 1
    assert not [a for a in page.xpath("//@*") if a.attrname.lower().startswith("on")]
    row = page.get_element_by_id("r0")
    assert (row.xpath("./span[@role='rowheader']")[0].text or "") == label
    assert (row.xpath("./span[@data-c]")[0].get("title") or "") == detail
    head = page.xpath("//div[@id='matrix']/div[contains(@class, 'head')]/span")
    assert head[-1].text_content() == column
    assert page.xpath("//tr[@class='finding']/td")[4].text_content() == message


def test_the_wing_lists_what_it_offers() -> None:
    assert dir(_report) == sorted(_report.__all__)


def test_write_html_is_atomic_and_private(tmp_path: Path) -> None:
    made = _report.Report(kind="check", columns=(), rows=(), findings=(), files=0)
    target = tmp_path / "r.html"
    assert _report.write_html(made, target) == str(target)
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    target.chmod(0o644)
    _report.write_html(made, target)
    assert stat.S_IMODE(target.stat().st_mode) == 0o644
    assert [p.name for p in tmp_path.iterdir()] == ["r.html"]  # no temp left
    with pytest.raises(WriteError):
        _report.write_html(made, tmp_path / "missing" / "r.html")


# -- the CLI ---------------------------------------------------------------------


def test_fleet_audit_html(tmp_path: Path) -> None:
    write_fleet(tmp_path / "f", 5, drifted=1)
    toml = tmp_path / "c.toml"
    toml.write_text(
        f'[cluster]\nserver = "https://octopus.example.com"\nthumbprint = '
        f'"{THUMBPRINT}"\nlayout = "unique-address"\n{NODES_TOML}',
        encoding="utf-8",
    )
    html = tmp_path / "out.html"
    code, out, err = run_fleet_cli(
        "fleet",
        "audit",
        str(tmp_path / "f"),
        "--cluster",
        str(toml),
        "--html",
        str(html),
        "--json",
    )
    assert code == 1
    assert json.loads(out)["summary"]["files"] == 5  # stdout stays JSON
    assert err.strip() == f"HTML report: {html}"
    page = parse(html.read_text(encoding="utf-8"))
    assert len(page.xpath("//div[@id='rows']/div[@role='row']")) == 5
    assert page.get_element_by_id("n-files").text_content() == "5"
    assert "--html" not in page.xpath("//footer")[0].text_content()
    assert "fleet audit" in page.xpath("//footer")[0].text_content()


def test_html_to_an_unwritable_place_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_fleet(tmp_path / "f", 1)
    code = main(
        [
            "fleet",
            "audit",
            str(tmp_path / "f"),
            "--html",
            str(tmp_path / "no" / "r.html"),
        ]
    )
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 1
    assert len(err) == 1
    assert "cannot write" in err[0]
    assert not (tmp_path / "no").exists()
