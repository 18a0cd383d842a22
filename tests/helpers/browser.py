"""A real headless Chromium (Debian's) driven by Playwright, offline.

Playwright's own browser builds are never downloaded: the system Chromium
that ``scripts/ensure-system-packages`` installs is launched through
``executable_path``. Without it the browser tests skip locally and fail
under CI. Every wait is bounded; the browser is closed when the block ends.
"""

from __future__ import annotations

import contextlib
import os
import shutil
from typing import TYPE_CHECKING
from typing import Final

import pytest
from playwright.sync_api import sync_playwright

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    from playwright.sync_api import Browser
    from playwright.sync_api import Page

__all__ = ["LAUNCH_TIMEOUT_MS", "PAGE_TIMEOUT_MS", "chromium", "open_report"]

LAUNCH_TIMEOUT_MS: Final = 30_000
PAGE_TIMEOUT_MS: Final = 15_000


def _chromium_path() -> str:
    for name in ("chromium", "chromium-browser"):
        found = shutil.which(name)
        if found is not None:
            return found
    why = "chromium is not installed (apt-get install chromium)"
    if os.environ.get("CI"):
        pytest.fail(f"{why}: CI must run the browser tests")
    pytest.skip(why)


@contextlib.contextmanager
def chromium() -> Iterator[Browser]:
    """Debian's Chromium, headless, closed at the end of the block."""
    path = _chromium_path()
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=path,
            headless=True,
            # root in CI has no user namespaces for the sandbox; pages are ours
            args=["--no-sandbox", "--disable-gpu", "--no-first-run"],
            timeout=LAUNCH_TIMEOUT_MS,
        )
        try:
            yield browser
        finally:
            browser.close()


def open_report(
    browser: Browser, path: Path, *, requests: list[str] | None = None
) -> Page:
    """Open *path* in a new page and wait until its script has run.

    With *requests*, every URL the page asks for is appended to it.
    """
    page = browser.new_page(viewport={"width": 1280, "height": 800})
    page.set_default_timeout(PAGE_TIMEOUT_MS)
    if requests is not None:
        page.on("request", lambda request: requests.append(request.url))
    page.goto(path.as_uri(), wait_until="load")
    return page
