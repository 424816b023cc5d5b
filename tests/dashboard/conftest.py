"""Fixtures of the dashboard tests: an in-process site (`web`) and a real one in Chromium."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from playwright.async_api import Browser, Page, async_playwright

from miningtx.app import create_app
from miningtx.kit.db import Database
from tests.conftest import Env, make_settings
from tests.dashboard.browser import LiveSite, launch_chromium, require_chromium
from tests.servers import seeding, serve


@pytest.fixture
async def web(database_url: str) -> AsyncIterator[Env]:
    """The app in-process; its client keeps cookies and does not follow redirects."""
    settings = make_settings(database_url)
    app = create_app(settings)
    db: Database = app.state.db
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        yield Env(settings, db, client)
    await db.dispose()


@pytest.fixture(scope="session")
async def browser() -> AsyncIterator[Browser]:
    """Debian's Chromium, driven by Playwright; one per test session."""
    require_chromium()
    async with async_playwright() as playwright:
        launched = await launch_chromium(playwright)
        yield launched
        await launched.close()


@pytest.fixture
async def live_site(database_url: str, tmp_path: Path) -> AsyncIterator[LiveSite]:
    """A real `mtx serve` on the test's database, and that database opened for factories."""
    async with seeding(database_url) as seed, serve(database_url, tmp_path / "server") as server:
        yield LiveSite(server, seed.db, seed.settings)


@pytest.fixture
async def page(browser: Browser, live_site: LiveSite) -> AsyncIterator[Page]:
    """A fresh browser context (no cookies) on the live site; relative URLs work in goto."""
    context = await browser.new_context(base_url=live_site.base_url)
    context.set_default_timeout(10_000)
    opened = await context.new_page()
    yield opened
    await context.close()
