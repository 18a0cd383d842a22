"""The environment for a child process that must start as a user's would.

`make test` measures every Python process the tests start (coverage's
``patch = subprocess``, so that pytest-xdist's workers are measured). A test
of what a fresh process imports, or prints when interrupted, runs its child
without that: coverage would add its own imports and its own exit handler.
"""

from __future__ import annotations

import os

__all__ = ["unmeasured_env"]

_COVERAGE_VARIABLES = ("COVERAGE_PROCESS_CONFIG", "COVERAGE_PROCESS_START")


def unmeasured_env() -> dict[str, str]:
    """This process's environment without the variables that start coverage."""
    return {k: v for k, v in os.environ.items() if k not in _COVERAGE_VARIABLES}
