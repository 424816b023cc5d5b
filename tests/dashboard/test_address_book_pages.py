"""The customer's address book page and the limits on the withdrawals page: saving needs a
TOTP code once two-factor is on, deleting, the mode switch, withdrawals refused by it."""

from __future__ import annotations

import re

import httpx
from sqlalchemy import select

from miningtx.app import create_app
from miningtx.kit.clock import utcnow
from miningtx.kit.money import parse_amount
from miningtx.models import WithdrawalAddress
from miningtx.wallet import controls
from tests.conftest import Env, make_settings
from tests.dashboard.console_factories import deposit as console_deposit
from tests.dashboard.console_factories import pending_withdrawal, signed_in_operator
from tests.dashboard.customer_helpers import (
    balance,
    deposit,
    form_error,
    post_form,
    signed_in_customer,
    verify_kyc,
)
from tests.dashboard.factories import make_web_customer
from tests.dashboard.test_totp import code, enable_totp, wrong_code
from tests.dashboard.web import TotpClock, csrf_of, field_error

BOOK = "/withdrawals/addresses"
GOOD_ADDRESS = "0x52908400098527886E0F7030069857D2E4169EE7"
OTHER_ADDRESS = "0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359"


async def saved_rows(web: Env) -> list[WithdrawalAddress]:
    async with web.db.read() as session:
        return list(await session.scalars(select(WithdrawalAddress)))


async def test_saving_an_address_needs_the_totp_code_once_two_factor_is_on(
    web: Env, totp_clock: TotpClock
) -> None:
    await signed_in_customer(web)
    secret = await enable_totp(web)
    page = await web.client.get(BOOK)
    assert 'id="f-totp_code"' in page.text
    data = {"network": "bsc", "address": GOOD_ADDRESS, "label": "Mine"}

    missing = await web.client.post(BOOK, data={"csrf_token": csrf_of(page), **data})
    wrong = await web.client.post(
        BOOK, data={"csrf_token": csrf_of(page), **data, "totp_code": wrong_code(secret)}
    )

    assert missing.status_code == 400
    assert field_error(missing, "totp_code") is not None
    assert wrong.status_code == 400
    assert field_error(wrong, "totp_code") is not None
    assert await saved_rows(web) == []
    done = await web.client.post(
        BOOK, data={"csrf_token": csrf_of(page), **data, "totp_code": code(secret, 1)}
    )
    assert done.status_code == 303, done.text
    [row] = await saved_rows(web)
    assert (row.network, row.address, row.label) == ("bsc", GOOD_ADDRESS, "Mine")
    listed = await web.client.get(BOOK)
    assert f'data-address="{row.id}"' in listed.text
    assert "cooling down until" in listed.text


async def test_saving_without_two_factor_and_bad_input_beside_its_field(web: Env) -> None:
    await signed_in_customer(web)
    page = await web.client.get(BOOK)
    assert 'id="f-totp_code"' not in page.text

    bad = await post_form(web.client, BOOK, BOOK, {"network": "bsc", "address": "0x1234"})
    saved = await post_form(web.client, BOOK, BOOK, {"network": "bsc", "address": GOOD_ADDRESS})
    twice = await post_form(web.client, BOOK, BOOK, {"network": "bsc", "address": GOOD_ADDRESS})

    assert bad.status_code == 400
    assert field_error(bad, "address") is not None
    assert saved.status_code == 303
    assert twice.status_code == 409
    assert field_error(twice, "address") == "This address is already saved for this network."
    assert len(await saved_rows(web)) == 1


async def test_the_mode_refuses_other_addresses_and_deleting_removes_one(web: Env) -> None:
    customer = await signed_in_customer(web)
    await deposit(web.db, customer, "500.00")
    await verify_kyc(web.db, customer.seq)
    await post_form(web.client, BOOK, BOOK, {"network": "bsc", "address": GOOD_ADDRESS})
    on = await post_form(web.client, BOOK, f"{BOOK}/mode", {"saved_addresses_only": "on"})
    assert on.status_code == 303
    page = await web.client.get(BOOK)
    assert "On: withdrawals go only to saved addresses" in page.text

    refused = await post_form(
        web.client,
        "/withdrawals",
        "/withdrawals",
        {"amount": "100", "network": "bsc", "address": OTHER_ADDRESS},
    )
    assert refused.status_code == 403
    assert field_error(refused, "address") is not None
    assert (await balance(web.db, customer.seq)).available == parse_amount("500.00")

    off = await post_form(web.client, BOOK, f"{BOOK}/mode", {"saved_addresses_only": "off"})
    assert off.status_code == 303
    assert "Switching off" in (await web.client.get(BOOK)).text
    bogus = await post_form(web.client, BOOK, f"{BOOK}/mode", {"saved_addresses_only": "maybe"})
    assert bogus.status_code == 400

    [row] = await saved_rows(web)
    deleted = await post_form(web.client, BOOK, f"{BOOK}/{row.id}/delete", {})
    assert deleted.status_code == 303
    assert await saved_rows(web) == []
    missing = await post_form(web.client, BOOK, f"{BOOK}/{row.id}/delete", {})
    assert missing.status_code == 404
    assert form_error(missing) == "No such withdrawal address."


async def test_the_withdrawals_page_shows_the_limits_and_what_is_left(web: Env) -> None:
    customer = await signed_in_customer(web)
    await deposit(web.db, customer, "500.00")
    await verify_kyc(web.db, customer.seq)
    await post_form(
        web.client,
        "/withdrawals",
        "/withdrawals",
        {"amount": "120.50", "network": "bsc", "address": GOOD_ADDRESS},
    )

    page = await web.client.get("/withdrawals")

    day = re.search(r'data-window="24h">(.*?)</tr>', page.text, re.S)
    assert day is not None
    assert '<td class="amount" data-field="limit">10000.00</td>' in day.group(1)
    assert '<td class="amount" data-field="used">120.50</td>' in day.group(1)
    assert '<td class="amount" data-field="remaining">9879.50</td>' in day.group(1)
    assert 'data-figure="limit-remaining">9879.50 USDT' in page.text
    assert 'href="/withdrawals/addresses"' in page.text


async def test_the_console_customer_page_shows_limits_overrides_and_the_mode(web: Env) -> None:
    customer = await make_web_customer(web.db)
    await console_deposit(web.db, customer.seq, customer.id, "1000.00")
    await pending_withdrawal(web.db, web.settings, customer.seq, customer.id, "250.00")
    async with web.db.write() as session:
        await controls.set_limits(
            session,
            customer.seq,
            limit_24h=2000 * 1_000_000,
            limit_30d=None,
            operator=None,
            now=utcnow(),
        )
        await controls.set_saved_addresses_only(
            session, customer.seq, True, controls.ControlTerms(), utcnow()
        )
    await signed_in_operator(web.db, web.client, role="reviewer")

    page = await web.client.get(f"/console/customers/{customer.id}")

    assert page.status_code == 200
    day = re.search(r'data-window="24h">(.*?)</tr>', page.text, re.S)
    month = re.search(r'data-window="30d">(.*?)</tr>', page.text, re.S)
    assert day is not None
    assert month is not None
    assert '<td class="amount" data-field="limit">2000.00</td>' in day.group(1)
    assert '<td class="amount" data-field="remaining">1750.00</td>' in day.group(1)
    assert '<td class="amount" data-field="limit">100000.00</td>' in month.group(1)
    assert "Limits of this customer's own" in page.text
    assert "Withdraw only to saved addresses: on." in page.text


async def test_an_auto_approved_withdrawal_says_so(database_url: str) -> None:
    settings = make_settings(database_url, withdrawal_auto_approve_max="50.00")
    app = create_app(settings)
    transport = httpx.ASGITransport(app=app)
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            web = Env(settings, app.state.db, client)
            customer = await signed_in_customer(web)
            await deposit(web.db, customer, "500.00")
            await verify_kyc(web.db, customer.seq)
            page = await client.get("/withdrawals")
            assert "above 50.00 USDT (smaller ones are approved at once)" in page.text

            small = await post_form(
                client,
                "/withdrawals",
                "/withdrawals",
                {"amount": "50", "network": "bsc", "address": GOOD_ADDRESS},
            )
            shown = await client.get("/withdrawals")
    finally:
        await app.state.db.dispose()

    assert small.status_code == 303
    assert "was approved automatically and is processed." in shown.text
    assert shown.text.count('data-field="status">processed') == 1
