"""Private: ``tentacle-ha demo``, the whole mission on loopback.

Starts a fake three-node Octopus cluster (`tentacle_ha.testing`), writes a
small fleet of Tentacle configs into a temporary folder (most healthy, some
drifted, one broken, one cloned), and runs the real commands an admin would:
the audit, the Tentacle commands for the per-node and load-balancer layouts,
the fleet plan as diffs, the apply and its report, a second apply that changes
nothing, a connectivity check with one node draining, a cluster file drawn
from the fake server's API (``cluster init``) and a node that joins on the
server, which ``check`` catches as server-side drift. The fake's API is HTTPS
from a test CA and wants an API key, held in an environment variable for the
demo's run only. Everything it starts it stops; everything it writes it
removes (unless ``--keep DIR``) but the HTML report of the audit, whose path
it prints.
"""

from __future__ import annotations

import io
import json
import os
import secrets
import shlex
import shutil
import tempfile
import textwrap
import time
from pathlib import Path
from typing import TYPE_CHECKING

from tentacle_ha.fleet._fleetgen import write_fleet
from tentacle_ha.testing import FakeOctopusCluster
from tentacle_ha.testing import NodeMode

if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import TextIO

__all__ = ["run_demo"]

FLEET_SIZE = 50
_RULE = "=" * 78
#: Where the demo's API key is while it runs (never printed).
_KEY_ENV = "TENTACLE_HA_DEMO_API_KEY"


def _fleet_tentacles(paths: list[Path]) -> str:
    """``[[tentacles]]`` for each fleet config, so the report can filter them."""
    lines = []
    for index, path in enumerate(paths):
        windows = path.name == "Tentacle.config"
        lines += [
            "",
            "[[tentacles]]",
            f'name = "host-{index:05d}"',
            f'os = "{"windows" if windows else "linux"}"',
            f'environments = ["{"Staging" if index % 3 == 0 else "Production"}"]',
            f'roles = ["{"database" if windows else "web-server"}"]',
            f"config_path = {json.dumps(str(path))}",
        ]
    return "\n".join(lines) + "\n"


def _cluster_toml(
    fake: FakeOctopusCluster, *, layout: str, web_urls: bool = True
) -> str:
    """A cluster file describing the fake cluster in one of the layouts."""
    first = fake.nodes[0]
    lines = [
        "[cluster]",
        f'server = "{first.web_url}"',
        f'thumbprint = "{fake.thumbprint}"',
        f'layout = "{layout}"',
    ]
    if layout == "unique-port":
        lines.append('load_balancer = "127.0.0.1"')
    if layout == "load-balancer":
        lines.append(f'load_balancer = "{fake.load_balancer_address[8:]}"')
    for node in fake.nodes:
        port = node.comms_address.rsplit(":", 1)[1]
        lines += ["", "[[nodes]]", f'name = "{node.name}"', 'address = "127.0.0.1"']
        lines.append(f"comms_port = {port}")
        if layout == "unique-port":  # the "load balancer" is loopback itself
            lines.append(f"public_port = {port}")
        if web_urls:
            lines.append(f'web_url = "{node.web_url}"')
    lines += [
        "",
        "[[tentacles]]",
        'name = "web01"',
        'os = "linux"',
        'environments = ["Production"]',
        'roles = ["web-server"]',
        "",
        "[[tentacles]]",
        'name = "sql01"',
        'os = "windows"',
        'environments = ["Production"]',
        'roles = ["database"]',
    ]
    return "\n".join(lines) + "\n"


class _Runner:
    """Runs ``tentacle-ha`` commands in-process and shows them like a terminal."""

    def __init__(
        self,
        main: Callable[..., int],
        out: TextIO,
        cwd: Path,
    ) -> None:
        self.main = main
        self.out = out
        self.cwd = cwd
        self.last_stdout = ""

    def section(self, title: str, text: str = "") -> None:
        self.out.write(f"\n{_RULE}\n{title}\n{_RULE}\n")
        if text:
            self.out.write(
                textwrap.fill(text, 78, break_on_hyphens=False, break_long_words=False)
                + "\n"
            )

    def run(self, *argv: str, limit: int | None = None) -> int:
        shown = " ".join(shlex.quote(a) for a in argv)
        self.out.write(f"\n$ tentacle-ha {shown}\n")
        stdout, stderr = io.StringIO(), io.StringIO()
        code = self.main(list(argv), stdout=stdout, stderr=stderr)
        self.last_stdout = stdout.getvalue()
        text = stdout.getvalue() + stderr.getvalue()
        lines = text.splitlines()
        if limit is not None and len(lines) > limit:
            more = len(lines) - limit
            lines = [*lines[:limit], f"... ({more} more lines)"]
        for line in lines:
            self.out.write(line + "\n")
        self.out.write(f"[exit {code}]\n")
        return code


def _show(  # noqa: PLR0917 -- one module's helper, called once
    runner: _Runner,
    fake: FakeOctopusCluster,
    files: dict[str, Path],
    fleet: Path,
    failures: list[str],
    html: Path,
) -> None:
    """The demo's steps; a step that does not behave as shown adds a failure."""
    cluster = str(files["unique-address"])
    runner.section(
        "tentacle_ha demo",
        f"A fake Octopus HA cluster of {len(fake.nodes)} nodes is running on "
        f"loopback (comms {', '.join(fake.comms_addresses)}; certificate "
        f"{fake.thumbprint}). {FLEET_SIZE} Tentacle.config files were "
        f"written to {fleet}: most healthy, five drifted, one broken, one "
        "cloned.",
    )

    runner.section(
        "1. Audit the fleet against the cluster",
        "Every finding has a severity, a file and, where it applies, a line "
        "and column. Exit 1 means errors were found. --html also writes the "
        "picture: Tentacles x nodes, worst first, with the findings and fixes.",
    )
    code = runner.run(
        "fleet", "audit", str(fleet), "--cluster", cluster, "--html", str(html),
        limit=20,
    )  # fmt: skip
    if code != 1:
        failures.append("the audit did not find the planted problems")
    if not html.is_file():
        failures.append("the audit wrote no HTML report")

    runner.section(
        "2. Commands for each layout",
        "What an admin runs on a new Tentacle: register once, poll-server "
        "for every further node, restart. The API key is never printed.",
    )
    for layout, shell in (
        ("unique-address", "posix"),
        ("unique-port", "powershell"),
        ("load-balancer", "posix"),
    ):
        code = runner.run(
            "plan",
            "--cluster",
            str(files[layout]),
            "--tentacle",
            "web01" if shell == "posix" else "sql01",
            "--shell",
            shell,
        )
        if code != 0:
            failures.append(f"plan for {layout} failed")

    sample = next(p for p in sorted(fleet.rglob("*.config")) if "00049" in str(p))
    runner.out.write(
        "\nMoving an existing Tentacle to the load-balancer layout: add the "
        "load balancer first, then drop the per-node entries.\n"
    )
    runner.run(
        "plan",
        "--cluster",
        str(files["load-balancer"]),
        "--config",
        str(sample),
    )
    runner.out.write("\nThe matching HAProxy rules (TCP passthrough):\n")
    code = runner.run(
        "lb", "--cluster", str(files["load-balancer"]), "--format", "haproxy",
        limit=24,
    )  # fmt: skip
    if code != 0:
        failures.append("lb for load-balancer failed")

    runner.section(
        "3. Plan the fleet edit: converge every config on the cluster",
        "Nothing is written. Secrets show as ***; the summary counts "
        "changed, unchanged and failed files.",
    )
    runner.run("fleet", "plan", str(fleet), "--sync", cluster, limit=60)

    runner.section(
        "4. Apply it",
        "Each file is locked, re-read, edited and replaced atomically; the "
        "broken file is reported and left alone.",
    )
    if runner.run("fleet", "apply", str(fleet), "--sync", cluster) != 1:
        failures.append("apply should report the broken file")

    runner.section("5. Apply again: nothing changes")
    runner.run("fleet", "apply", str(fleet), "--sync", cluster, limit=12)

    runner.section(
        "6. Check one Tentacle's paths, with node 2 draining",
        "REST API, each node's ping, and each polling path (TLS, pinned "
        "thumbprint, Halibut handshake). Draining is a warning.",
    )
    fake.nodes[1].mode = NodeMode.DRAINING
    sample = next(p for p in sorted(fleet.rglob("*.config")) if "00049" in str(p))
    checked = html.with_name("check-" + html.name)
    api = ("--ca-bundle", str(files["ca"]), "--api-key-env", _KEY_ENV)
    if runner.run(
        "check", str(sample), "--cluster", cluster, *api, "--html", str(checked)
    ):
        failures.append("the check of a healthy Tentacle failed")
    _show_server(runner, fake, files, sample, failures)


def _show_server(
    runner: _Runner,
    fake: FakeOctopusCluster,
    files: dict[str, Path],
    sample: Path,
    failures: list[str],
) -> None:
    """Steps 7 and 8: what the server API says, and drift against it."""
    api = ("--ca-bundle", str(files["ca"]), "--api-key-env", _KEY_ENV)
    runner.section(
        "7. Draw a cluster file from the server",
        "cluster init reads the root document, the node list and the comms "
        "certificate (certificate-global) with the API key from the "
        "environment. What the API cannot tell is left as <placeholders>, "
        "which every command refuses until they are filled in.",
    )
    if runner.run("cluster", "init", "--server", fake.server_url, *api):
        failures.append("cluster init failed")
    drawn = runner.cwd / "cluster-drawn.toml"
    drawn.write_text(runner.last_stdout, encoding="utf-8")
    if runner.run("lb", "--cluster", str(drawn), "--format", "haproxy") != 1:
        failures.append("the drawn cluster file was not refused before filling in")

    runner.section(
        "8. A node joins on the server: server-side drift",
        "Node4 is added to the cluster on the server, but not to the cluster "
        "file: no Tentacle polls it, so tasks queued there wait. check "
        "compares the server's node list with the file and says so.",
    )
    fake.add_node("Node4")
    code = runner.run(
        "check", str(sample), "--cluster", str(files["unique-address"]), *api
    )
    if code != 1 or "server_node_missing" not in runner.last_stdout:
        failures.append("check did not catch the node that joined on the server")


def _required_ca(fake: FakeOctopusCluster) -> bytes:
    """The PEM of the test CA behind the fake's HTTPS API."""
    ca = fake.api_ca
    if ca is None:  # pragma: no cover - the demo always asks for api_tls
        msg = "the demo's fake cluster has no HTTPS API"
        raise RuntimeError(msg)
    return ca.cert_pem


def run_demo(
    out: TextIO,
    *,
    main: Callable[..., int],
    keep: Path | None = None,
    html: Path | None = None,
) -> int:
    """Run the demo, writing to *out*; return the exit code (0 when it all worked).

    Args:
        out: where the demo writes what it shows.
        main: the command line's entry point, which the demo drives (passed in
            by the ``demo`` command, so this module never imports the CLI).
        keep: write the fleet and cluster files here and leave them (default:
            a temporary folder, removed at the end).
        html: where to write the audit's HTML report, which stays (default:
            ``report.html`` in *keep*, else in a new temporary folder).
    """
    started = time.monotonic()
    folder = keep or Path(tempfile.mkdtemp(prefix="tentacle-ha-demo-"))
    folder.mkdir(parents=True, exist_ok=True)
    if html is None:
        place = keep or Path(tempfile.mkdtemp(prefix="tentacle-ha-report-"))
        html = place / "report.html"
    html.parent.mkdir(parents=True, exist_ok=True)
    failures: list[str] = []
    key = f"API-DEMO{secrets.token_hex(12).upper()}"
    before = os.environ.get(_KEY_ENV)
    os.environ[_KEY_ENV] = key
    try:
        with FakeOctopusCluster(
            3, load_balancer=True, api_key=key, api_tls=True
        ) as fake:
            runner = _Runner(main, out, folder)
            files = {
                layout: folder / f"cluster-{layout}.toml"
                for layout in ("unique-address", "unique-port", "load-balancer")
            }
            for layout, path in files.items():
                path.write_text(_cluster_toml(fake, layout=layout), encoding="utf-8")
            files["ca"] = folder / "octopus-ca.pem"
            files["ca"].write_bytes(_required_ca(fake))
            fleet = folder / "fleet"
            configs = write_fleet(
                fleet,
                FLEET_SIZE,
                addresses=fake.comms_addresses,
                thumbprint=fake.thumbprint,
                drifted=5,
                broken=1,
                cloned=1,
                seed=2026,
            )
            with files["unique-address"].open("a", encoding="utf-8") as toml:
                toml.write(_fleet_tentacles(configs))
            _show(runner, fake, files, fleet, failures, html)
    finally:
        if before is None:
            os.environ.pop(_KEY_ENV, None)
        else:
            os.environ[_KEY_ENV] = before
        if keep is None:
            shutil.rmtree(folder, ignore_errors=True)
    elapsed = time.monotonic() - started
    out.write(f"\n{_RULE}\n")
    if failures:
        out.write("demo FAILED: " + "; ".join(failures) + "\n")
        return 1
    where = f"; files kept in {folder}" if keep else ""
    out.write(f"demo finished in {elapsed:.1f} s{where}\n")
    out.write(f"HTML report of the fleet: {html}\n")
    out.write(f"HTML report of the check: {html.with_name('check-' + html.name)}\n")
    return 0
