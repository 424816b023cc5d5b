"""Fixtures of the dashboard tests: an in-process site (`web`) and a real one in Chromium."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from playwright.async_api import Browser, Page, async_playwright

from miningtx.app import create_app
from miningtx.dashboard import service
from miningtx.kit import clock
from miningtx.kit.db import Database
from tests.conftest import Env, make_settings
from tests.dashboard.browser import LiveSite, launch_chromium, require_chromium
from tests.dashboard.web import TotpClock
from tests.servers import seeding, serve

#: The length of a TOTP time step (RFC 6238's default, pyotp's and the dashboard's).
TOTP_STEP = timedelta(seconds=30)


@pytest.fixture(params=["frozen", "crossing"])
def totp_clock(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> TotpClock:
    """The clock of a TOTP test, set 29.9 s into a 30 s step (0.1 s before it ends).

    `frozen` holds it there. `crossing` moves it one whole step on each time the site
    matches a code (enabling two-factor, signing in, a guarded form), the worst place for
    a boundary: a test that assumes one step from a code to the next check fails there.
    """
    now = datetime.now(UTC)
    start = now - timedelta(seconds=now.timestamp() % TOTP_STEP.total_seconds())
    fake = TotpClock(start + TOTP_STEP - timedelta(seconds=0.1))
    monkeypatch.setattr(clock, "datetime", fake)
    if request.param == "crossing":
        matching_step = service.matching_step

        def matching_then_crossing(secret: str, code: str, now: datetime) -> int | None:
            step = matching_step(secret, code, now)
            if step is not None:
                fake.moment += TOTP_STEP
            return step

        monkeypatch.setattr(service, "matching_step", matching_then_crossing)
    return fake


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
