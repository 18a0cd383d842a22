"""Start-up cost: `tentacle-ha --version` and `tentacle-ha show CONFIG`, against a
bare ``python -c "import lxml.etree, attrs"``.

Each round starts every process once, in turn (interleaved), with the same
interpreter and with bytecode cached, as an installed package runs (the
warm-up run writes it); each is timed in CPU time (user + system of the
child, from ``wait4``) and in wall time. Prints min/median/max over the rounds of each
and of the per-round ratios; the target is a median of at most 3x in both.

Run: python benchmarks/startup.py [--rounds N]
"""

from __future__ import annotations

import argparse
import functools
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import _paired

TARGET = 3.0
SAMPLE = Path(__file__).resolve().parent.parent / "examples" / "sample.Tentacle.config"


def _command() -> list[str]:
    """The installed console script beside this interpreter, else ``-m``."""
    script = Path(sys.executable).with_name("tentacle-ha")
    if script.is_file():
        return [str(script)]
    found = shutil.which("tentacle-ha")
    return [found] if found else [sys.executable, "-m", "tentacle_ha"]


def _run(argv: list[str]) -> tuple[float, float]:
    """CPU seconds (user + system) and wall seconds of one process."""
    start = time.perf_counter()
    process = subprocess.Popen(
        argv,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env=_paired.INSTALLED_ENV,
    )
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - start
    process.returncode = os.waitstatus_to_exitcode(status)
    errors = process.stderr.read() if process.stderr else b""
    if process.returncode:
        raise SystemExit(f"{argv} exited {process.returncode}: {errors[-500:]!r}")
    return usage.ru_utime + usage.ru_stime, wall


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=10)
    args = parser.parse_args()
    if args.rounds < 5:
        parser.error("--rounds: at least 5")
    tentacle_ha = _command()
    contenders = {
        "bare python -c 'import lxml.etree, attrs'": [
            sys.executable,
            "-c",
            "import lxml.etree, attrs",
        ],
        "tentacle-ha --version": [*tentacle_ha, "--version"],
        "tentacle-ha show CONFIG": [*tentacle_ha, "show", str(SAMPLE)],
    }
    for argv in contenders.values():
        _run(argv)  # warm the file cache and the bytecode
    samples = _paired.rounds(
        [functools.partial(_run, argv) for argv in contenders.values()], args.rounds
    )
    floor = samples[0]
    print(f"start-up: {args.rounds} interleaved rounds, min / median / max")
    ms = "{:.0f}"
    for name, figures in zip(contenders, samples, strict=True):
        cpu = _paired.show([c * 1000 for c, _ in figures], ms)
        wall = _paired.show([w * 1000 for _, w in figures], ms)
        print(f"{name}: CPU {cpu} ms, wall {wall} ms")
    for name, figures in list(zip(contenders, samples, strict=True))[1:]:
        for i, kind in enumerate(("CPU", "wall")):
            ratios = [o[i] / f[i] for o, f in zip(figures, floor, strict=True)]
            median = _paired.spread(ratios)[1]
            print(
                f"ratio {name}, {kind}: {_paired.show(ratios)}x "
                f"(target <= {TARGET}x) {'OK' if median <= TARGET else 'OVER'}"
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
