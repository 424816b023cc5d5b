"""In Debian's Chromium: a new customer signs up and lands on the overview."""

from __future__ import annotations

import pytest
from playwright.async_api import Page, expect

from tests.dashboard.browser import LiveSite, shot
from tests.factories import make_customer

pytestmark = pytest.mark.slow


async def test_sign_up_lands_on_the_overview_and_the_session_cookie_is_hidden_from_scripts(
    page: Page, live_site: LiveSite
) -> None:
    referrer = await make_customer(live_site.db, live_site.settings)
    await page.goto(f"/signup?ref={referrer.referral_code}")
    await expect(page).to_have_title("Create your account · MiningTX")
    await page.get_by_label("Email").fill("browser@example.com")
    await page.get_by_label("Username").fill("browser_user")
    await page.get_by_label("Password").fill("a long browser password")
    await expect(page.get_by_label("Referral code")).to_have_value(referrer.referral_code)
    await shot(page, "signup-filled")
    await page.get_by_role("button", name="Create account").click()

    await expect(page).to_have_url(f"{live_site.base_url}/dashboard")
    await expect(page.get_by_role("heading", name="Overview", level=1)).to_be_visible()
    await expect(page.get_by_role("status")).to_contain_text("Welcome to MiningTX")
    await expect(page.locator('[data-figure="available"]')).to_contain_text("0.00")
    await expect(page.get_by_role("navigation", name="Dashboard")).to_be_visible()
    await shot(page, "overview-after-signup")

    cookies = {c["name"]: c for c in await page.context.cookies()}
    assert cookies["mtx_session"]["httpOnly"] is True
    assert cookies["mtx_session"]["sameSite"] == "Lax"
    readable = await page.evaluate("document.cookie")
    assert "mtx_session" not in readable
    assert cookies["mtx_session"]["value"] not in readable
