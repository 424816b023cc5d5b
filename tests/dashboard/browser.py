"""The browser harness: Debian's Chromium under Playwright, screenshots, the live site.

Use the `page` fixture (tests/dashboard/conftest.py) for a fresh browser context on a
real `mtx serve`; `live_site` gives its base URL and its database for the factories.
`shot(page, "name")` saves tests/screenshots/name.png. Playwright's own browser download
does not work here, so /usr/bin/chromium is launched; without it a test is skipped
locally and fails in CI (CI=true).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.async_api import Browser, Page, Playwright

from miningtx.config import Settings
from miningtx.kit.db import Database
from tests.servers import Server

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SCREENSHOTS = Path(__file__).resolve().parent.parent / "screenshots"


@dataclass(frozen=True)
class LiveSite:
    """A running `mtx serve` and its database, opened in the test process."""

    server: Server
    db: Database
    settings: Settings

    @property
    def base_url(self) -> str:
        return self.server.base_url


def require_chromium() -> None:
    """Skip without Chromium, except in CI, where a missing browser is a failure."""
    if CHROMIUM.exists():
        return
    message = f"{CHROMIUM} is missing: apt-get install chromium"
    if os.environ.get("CI") == "true":
        pytest.fail(message)
    pytest.skip(message)


async def launch_chromium(playwright: Playwright) -> Browser:
    return await playwright.chromium.launch(
        executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
    )


async def shot(page: Page, name: str) -> Path:
    """Save a full-page screenshot as tests/screenshots/<name>.png (git-ignored)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{re.sub(r'[^A-Za-z0-9_.-]+', '-', name)}.png"
    await page.screenshot(path=str(path), full_page=True)
    return path
