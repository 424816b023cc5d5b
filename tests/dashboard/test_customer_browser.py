"""In Debian's Chromium, a new customer's first day: sign up with a referral code, deposit in
the sandbox, activate a contract, stake (the preview is what the stake pays), create an API
key and use it, add a webhook endpoint, request and cancel a withdrawal."""

from __future__ import annotations

import re

import httpx
import pytest
from playwright.async_api import Page, expect
from sqlalchemy import select

from miningtx.kit.money import format_amount
from miningtx.models import Customer, Stake
from tests.dashboard.browser import LiveSite, shot
from tests.dashboard.customer_helpers import verify_kyc
from tests.factories import fund_pool, make_customer, open_for_business

pytestmark = pytest.mark.slow

ADDRESS = "0x52908400098527886E0F7030069857D2E4169EE7"


async def flash(page: Page, text: str) -> None:
    await expect(page.get_by_role("status").first).to_contain_text(text)


async def test_a_new_customer_walks_through_every_page(page: Page, live_site: LiveSite) -> None:
    db = live_site.db
    referrer = await make_customer(db, live_site.settings)
    await open_for_business(db)
    await fund_pool(db, "staking", "100000.00")
    await fund_pool(db, "partners", "10000.00")

    await page.goto(f"/signup?ref={referrer.referral_code}")
    await page.get_by_label("Email").fill("walker@example.com")
    await page.get_by_label("Username").fill("walker")
    await page.get_by_label("Password").fill("a long walking password")
    await page.get_by_role("button", name="Create account").click()
    await expect(page).to_have_url(f"{live_site.base_url}/dashboard")
    async with db.read() as session:
        customer = (
            await session.execute(select(Customer).where(Customer.username == "walker"))
        ).scalar_one()
    assert customer.referred_by_seq == referrer.seq

    # A sandbox deposit.
    await page.get_by_role("link", name="Deposits").click()
    await expect(page.locator("#deposit-address")).to_have_text(re.compile(r"^0x[0-9a-fA-F]{40}$"))
    await expect(page.get_by_role("img", name="QR code of your deposit address")).to_be_visible()
    await page.get_by_label("Amount (USDT)").fill("350.25")
    await page.get_by_role("button", name="Make sandbox deposit").click()
    await flash(page, "Sandbox deposit of 350.25 USDT credited.")
    await expect(page.locator("#deposits")).to_contain_text("350.25")
    await shot(page, "customer-deposits")

    # A contract.
    await page.get_by_role("link", name="Contracts").click()
    await shot(page, "customer-contracts")
    starter = page.locator("#contract-starter")
    await starter.get_by_role("button", name="Activate for 200.00 USDT").click()
    await expect(page).to_have_url(f"{live_site.base_url}/dashboard")
    await flash(page, "Starter Miner activated")
    await expect(page.locator('[data-figure="available"]')).to_contain_text("150.25")
    await expect(page.locator('[data-figure="in_contracts"]')).to_contain_text("200.00")
    await expect(page.locator("#active-contracts")).to_contain_text("Starter Miner")
    await shot(page, "customer-overview-with-contract")

    # A stake: the live preview is what the stake pays.
    await page.get_by_role("link", name="Staking").click()
    await page.get_by_label("Amount (USDT)").fill("123.456789")
    await page.get_by_label("Days").fill("45")
    preview = page.locator('[data-preview="payout"]')
    await expect(preview).to_be_visible()
    previewed = (await preview.inner_text()).removesuffix(" USDT")
    await shot(page, "customer-staking-preview")
    await page.get_by_role("button", name="Create stake").click()
    await flash(page, f"pays {previewed} USDT")
    async with db.read() as session:
        stake = (await session.scalars(select(Stake))).one()
    assert format_amount(stake.payout) == previewed
    await expect(page.locator(f'[data-stake="{stake.id}"] [data-field="payout"]')).to_have_text(
        previewed
    )
    await shot(page, "customer-staking")

    # An API key, used against the API.
    await page.get_by_role("link", name="Settings: API keys").click()
    await page.get_by_label("Name").fill("walk script")
    await page.get_by_role("button", name="Create key").click()
    key = (await page.locator("#new-api-key").inner_text()).strip()
    await shot(page, "customer-api-key-created")
    async with httpx.AsyncClient(base_url=live_site.base_url) as api:
        balance = await api.get("/v1/balance", headers={"Authorization": f"Bearer {key}"})
    assert balance.status_code == 200
    assert balance.json()["available"] == "26.793211"  # 150.25 - 123.456789
    assert balance.json()["in_stakes"] == "123.456789"

    # A webhook endpoint.
    await page.get_by_role("link", name="Settings: Webhooks").click()
    await page.get_by_label("Endpoint URL").fill("https://1.1.1.1/miningtx")
    await page.get_by_label("All events").check()
    await page.get_by_role("button", name="Add endpoint").click()
    await expect(page.locator("#new-webhook-secret")).to_have_text(re.compile(r"^whsec_"))
    await shot(page, "customer-webhooks")

    # A withdrawal, once KYC is verified, cancelled while pending.
    await verify_kyc(db, customer.seq)
    await page.get_by_role("link", name="KYC").click()
    await expect(page.locator("#kyc-status")).to_have_text("verified")
    await shot(page, "customer-kyc")
    await page.get_by_role("link", name="Withdrawals").click()
    await page.get_by_label("Amount (USDT)").fill("25.5")
    await page.get_by_label("Network").select_option("polygon")
    await page.get_by_label("Destination address").fill(ADDRESS)
    await page.get_by_role("button", name="Request withdrawal").click()
    await flash(page, "of 25.50 USDT requested")
    await expect(page.locator('[data-figure="available"]')).to_contain_text("1.293211")
    await shot(page, "customer-withdrawal-pending")
    await page.get_by_role("button", name=re.compile("^Cancel withdrawal")).click()
    await flash(page, "is back in your available balance")
    await expect(page.locator('#withdrawals [data-field="status"]')).to_have_text("cancelled")
    await expect(page.locator('[data-figure="available"]')).to_contain_text("26.793211")
    await shot(page, "customer-withdrawal-cancelled")

    await page.get_by_role("link", name="Transactions").click()
    await expect(page.locator("#transactions")).to_contain_text("350.25")
    await shot(page, "customer-transactions")
    await page.get_by_role("link", name="Partners").click()
    await expect(page.locator("#referral-link")).to_contain_text("/signup?ref=")
    await shot(page, "customer-partners")
    await page.get_by_role("link", name="Overview").click()
    await shot(page, "customer-overview")
