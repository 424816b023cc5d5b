"""In Debian's Chromium, as an operator: approve a customer's KYC (the bonus then shows on
the customer's own overview) and approve a sandbox withdrawal, which is processed at once."""

from __future__ import annotations

import re

import pytest
from playwright.async_api import Browser, Page, expect

from tests.dashboard.browser import LiveSite, shot
from tests.dashboard.console_factories import deposit, pending_withdrawal, submit_kyc
from tests.dashboard.factories import make_operator, make_web_customer
from tests.factories import fund_pool

pytestmark = pytest.mark.slow


async def test_an_operator_approves_kyc_and_a_withdrawal(
    page: Page, browser: Browser, live_site: LiveSite
) -> None:
    await fund_pool(live_site.db, "bonus", "100.00")
    customer = await make_web_customer(live_site.db)
    await submit_kyc(live_site.db, customer.seq)
    operator = await make_operator(live_site.db, role="reviewer")

    await page.goto("/console/login")
    await page.get_by_label("Email").fill(operator.email)
    await page.get_by_label("Password").fill(operator.password)
    await page.get_by_role("button", name="Sign in").click()
    await expect(page).to_have_url(f"{live_site.base_url}/console")
    await shot(page, "console-home")

    await (
        page.get_by_role("navigation", name="Console").get_by_role("link", name="KYC queue").click()
    )
    await expect(page.get_by_role("heading", name="KYC queue", level=1)).to_be_visible()
    await shot(page, "console-kyc-queue")
    await page.get_by_role("link", name=f"Review {customer.username}").click()
    await expect(page.get_by_text("Ada Lovelace")).to_be_visible()
    await shot(page, "console-kyc-review")
    await page.get_by_role("button", name="Approve KYC").click()
    await expect(page.get_by_role("status")).to_contain_text(
        f"{customer.id} verified; welcome bonus 10.00 USDT credited."
    )
    await shot(page, "console-kyc-approved")

    # The customer, in a browser of their own, sees the bonus on the overview.
    context = await browser.new_context(base_url=live_site.base_url)
    try:
        own = await context.new_page()
        await own.goto("/login")
        await own.get_by_label("Email or username").fill(customer.username)
        await own.get_by_label("Password").fill(customer.password)
        await own.get_by_role("button", name="Sign in").click()
        await expect(own).to_have_url(f"{live_site.base_url}/dashboard")
        await expect(own.locator('[data-figure="available"]')).to_contain_text("10.00")
        await shot(own, "customer-overview-after-kyc-bonus")
    finally:
        await context.close()

    await deposit(live_site.db, customer.seq, customer.id, "100.00")
    withdrawal_id = await pending_withdrawal(
        live_site.db, live_site.settings, customer.seq, customer.id, "40.00"
    )
    await (
        page.get_by_role("navigation", name="Console")
        .get_by_role("link", name="Withdrawals")
        .click()
    )
    await expect(page.get_by_role("heading", name="Withdrawals", level=1)).to_be_visible()
    await shot(page, "console-withdrawals")
    await page.get_by_role("link", name=f"Review {withdrawal_id}").click()
    await expect(page.locator('[data-field="status"]')).to_have_text("pending")
    await shot(page, "console-withdrawal-review")
    await page.get_by_role("button", name="Approve withdrawal").click()
    await expect(page.get_by_role("status")).to_contain_text(f"{withdrawal_id} is now processed.")
    await expect(page.locator('[data-field="status"]')).to_have_text("processed")
    await expect(page.get_by_text(re.compile(r"^0x[0-9a-f]{64}$"))).to_be_visible()
    await shot(page, "console-withdrawal-processed")
