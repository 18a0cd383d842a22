"""Private: the checks' default limits, apart so the CLI can show them cheaply."""

from __future__ import annotations

from typing import Final

__all__ = ["DEFAULT_CONCURRENCY", "DEFAULT_TIMEOUT"]

#: Seconds one check may take before it is reported as ``timeout``.
DEFAULT_TIMEOUT: Final = 5.0
#: How many checks run at the same time.
DEFAULT_CONCURRENCY: Final = 32
