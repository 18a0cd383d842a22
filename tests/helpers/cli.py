"""Run ``tentacle-ha`` in-process, as a user would, capturing its two streams."""

from __future__ import annotations

import io

from tentacle_ha.cli import main

__all__ = ["run_cli"]


def run_cli(*argv: str) -> tuple[int, str, str]:
    """``tentacle-ha ARGV...``: (exit code, stdout, stderr)."""
    out, err = io.StringIO(), io.StringIO()
    code = main(list(argv), stdout=out, stderr=err)
    return code, out.getvalue(), err.getvalue()
