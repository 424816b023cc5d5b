"""Helpers of the customer page tests: a signed-in customer, funds, KYC, balances, pages."""

from __future__ import annotations

import re
from collections.abc import Mapping

import httpx
from sqlalchemy import update

from miningtx.customers import repository
from miningtx.customers.repository import BalanceRow
from miningtx.kit.clock import utcnow
from miningtx.kit.db import Database
from miningtx.kit.money import parse_amount
from miningtx.models import Customer
from miningtx.wallet import service as wallet
from tests.conftest import Env
from tests.dashboard.factories import WebCustomer, make_web_customer
from tests.dashboard.web import csrf_of, sign_in


async def signed_in_customer(web: Env, *, referral_code: str | None = None) -> WebCustomer:
    """A new customer, signed in on `web.client`."""
    customer = await make_web_customer(web.db, referral_code=referral_code)
    response = await sign_in(web.client, customer.username, customer.password)
    assert response.status_code == 303, response.text
    return customer


async def deposit(db: Database, customer: WebCustomer, amount: str) -> None:
    """Credit the customer a confirmed deposit, as the sandbox helper does."""
    async with db.write() as session:
        await wallet.credit_deposit(
            session,
            customer_seq=customer.seq,
            customer_id=customer.id,
            network="bsc",
            amount=parse_amount(amount),
            now=utcnow(),
        )


async def verify_kyc(db: Database, customer_seq: int) -> None:
    """Mark the customer's KYC verified directly (no bonus): withdrawals need it."""
    async with db.write() as session:
        await session.execute(
            update(Customer).where(Customer.seq == customer_seq).values(kyc_status="verified")
        )


async def balance(db: Database, customer_seq: int) -> BalanceRow:
    async with db.read_engine.connect() as connection:
        return await repository.balance(connection, customer_seq)


async def post_form(
    client: httpx.AsyncClient, page_path: str, action: str, data: Mapping[str, str | list[str]]
) -> httpx.Response:
    """Open `page_path`, then post `data` (values may repeat) with the page's CSRF token."""
    page = await client.get(page_path)
    assert page.status_code == 200, page.text
    return await client.post(action, data={"csrf_token": csrf_of(page), **data})


def text_of(page: httpx.Response, element_id: str) -> str:
    """The text inside the element with `element_id` (no nested tags)."""
    match = re.search(rf'id="{element_id}"[^>]*>([^<]*)<', page.text)
    assert match is not None, f"no #{element_id} on the page"
    return match.group(1).strip()


def form_error(page: httpx.Response) -> str | None:
    """The message shown for the form as a whole (or beside a row's button)."""
    match = re.search(r'class="(?:form|field)-error" role="alert"[^>]*>([^<]*)<', page.text)
    return match.group(1).strip() if match else None
