"""Customer pages that move money: contracts, staking, deposits, withdrawals, transactions.

Each goes through the service the API route uses; amounts are checked to the micro-USDT.
"""

from __future__ import annotations

import re
from datetime import timedelta

import httpx
from sqlalchemy import select

from miningtx.app import create_app
from miningtx.kit.clock import utcnow
from miningtx.kit.money import parse_amount
from miningtx.models import Activation, Stake
from tests.conftest import Env, make_settings
from tests.dashboard.customer_helpers import (
    balance,
    deposit,
    form_error,
    post_form,
    signed_in_customer,
    text_of,
    verify_kyc,
)
from tests.dashboard.test_totp import code, enable_totp
from tests.dashboard.web import TotpClock, csrf_of, field_error
from tests.factories import credit_reward, fund_pool, open_for_business

GOOD_ADDRESS = "0x52908400098527886E0F7030069857D2E4169EE7"


async def test_activating_a_contract_pays_its_exact_price_and_shows_progress(web: Env) -> None:
    await open_for_business(web.db)
    customer = await signed_in_customer(web)
    poor = await post_form(
        web.client, "/contracts", "/contracts/activate", {"contract_id": "starter"}
    )
    assert poor.status_code == 402
    assert form_error(poor) == "Your balance is too low to activate this contract."
    assert 'id="contract-starter-error"' in poor.text  # beside that contract's button

    await deposit(web.db, customer, "200.123456")
    page = await web.client.get("/contracts")
    assert "Starter Miner" in page.text
    response = await web.client.post(
        "/contracts/activate", data={"csrf_token": csrf_of(page), "contract_id": "starter"}
    )
    assert response.status_code == 303
    assert response.headers["location"] == "/dashboard"
    figures = await balance(web.db, customer.seq)
    assert figures.available == parse_amount("0.123456")
    assert figures.in_contracts == parse_amount("200.00")

    async with web.db.read() as session:
        activation = (await session.scalars(select(Activation))).one()
    await credit_reward(web.db, activation.id, utcnow().date() - timedelta(days=1))
    overview = await web.client.get("/dashboard")
    assert "Welcome" not in overview.text
    assert f'data-activation="{activation.id}"' in overview.text
    assert "1/365" in overview.text  # one reward of 365 paid
    assert '<title id="chart-title">' in overview.text
    assert "<desc" in overview.text
    table = overview.text.split('id="rewards-table"')[1]
    assert f'<td class="amount">{"6.67"}</td>' in table  # the data table fallback


async def test_unknown_contract_and_sold_out_are_refused_beside_the_contract(web: Env) -> None:
    customer = await signed_in_customer(web)
    await deposit(web.db, customer, "500.00")
    unknown = await post_form(
        web.client, "/contracts", "/contracts/activate", {"contract_id": "nope"}
    )
    assert unknown.status_code == 404
    assert form_error(unknown) == "No contract &#39;nope&#39; is for sale."
    # Nothing funded: the operator cannot reserve the rewards.
    sold_out = await post_form(
        web.client, "/contracts", "/contracts/activate", {"contract_id": "starter"}
    )
    assert sold_out.status_code == 409
    assert "sold out" in str(form_error(sold_out))
    assert (await balance(web.db, customer.seq)).available == parse_amount("500.00")


async def test_stake_preview_matches_the_created_stake(web: Env) -> None:
    await fund_pool(web.db, "staking", "1000000.00")
    customer = await signed_in_customer(web)
    await deposit(web.db, customer, "1234.567891")
    preview = await web.client.get(
        "/staking/preview", params={"amount": "1234.567891", "days": "97"}
    )
    assert preview.status_code == 200
    shown_payout = re.search(r'data-preview="payout">([\d.]+) USDT', preview.text)
    assert shown_payout is not None

    response = await post_form(
        web.client, "/staking", "/staking/stakes", {"amount": "1234.567891", "days": "97"}
    )
    assert response.status_code == 303
    async with web.db.read() as session:
        stake = (await session.scalars(select(Stake))).one()
    assert stake.amount == parse_amount("1234.567891")
    assert stake.payout == parse_amount(shown_payout.group(1))
    figures = await balance(web.db, customer.seq)
    assert figures.available == 0
    assert figures.in_stakes == stake.amount
    page = await web.client.get("/staking")
    assert f'data-stake="{stake.id}"' in page.text
    overview = await web.client.get("/dashboard")
    assert f'data-stake="{stake.id}"' in overview.text


async def test_staking_errors_are_shown_beside_their_fields(web: Env) -> None:
    await signed_in_customer(web)
    small = await web.client.get("/staking/preview", params={"amount": "5", "days": "90"})
    assert "The minimum stake is 100.00 USDT." in small.text
    for data, field, message in (
        ({"amount": "5.00", "days": "90"}, "amount", "The minimum stake is 100.00 USDT."),
        ({"amount": "1.0000001", "days": "90"}, "amount", None),
        ({"amount": "200", "days": "29"}, "days", None),
        ({"amount": "200", "days": "ninety"}, "days", "Enter a whole number of days."),
    ):
        response = await post_form(web.client, "/staking", "/staking/stakes", data)
        assert response.status_code == 400
        shown = field_error(response, field)
        assert shown is not None
        if message is not None:
            assert shown == message
    short = await post_form(
        web.client, "/staking", "/staking/stakes", {"amount": "200", "days": "90"}
    )
    assert short.status_code in (402, 409)
    assert form_error(short) is not None


async def test_deposit_address_matches_the_api_and_sandbox_deposit_credits_exactly(
    web: Env,
) -> None:
    customer = await signed_in_customer(web)
    page = await web.client.get("/deposits?network=polygon")
    address = text_of(page, "deposit-address")
    assert re.fullmatch(r"0x[0-9a-fA-F]{40}", address)
    assert "<svg" in page.text  # the QR code, inline
    async with web.db.write() as session:
        from miningtx.customers import service as customers  # noqa: PLC0415

        owner = await customers.get_customer(session, customer.id)
        _, key = await customers.create_api_key(
            session, owner, prefix=web.settings.key_prefix, now=utcnow()
        )
    api = await web.client.get(
        "/v1/deposits/address?network=polygon", headers={"Authorization": f"Bearer {key}"}
    )
    assert api.json()["address"] == address

    too_small = await post_form(
        web.client, "/deposits", "/deposits/sandbox", {"network": "bsc", "amount": "9.999999"}
    )
    assert too_small.status_code == 400
    assert field_error(too_small, "amount") == "Deposits below 10.00 USDT are not credited."
    bad = await post_form(
        web.client, "/deposits", "/deposits/sandbox", {"network": "bsc", "amount": "-5"}
    )
    assert field_error(bad, "amount") is not None
    done = await post_form(
        web.client, "/deposits", "/deposits/sandbox", {"network": "bsc", "amount": "12.345678"}
    )
    assert done.status_code == 303
    assert (await balance(web.db, customer.seq)).available == parse_amount("12.345678")
    history = await web.client.get(done.headers["location"])
    assert "12.345678" in history.text
    assert "confirmed" in history.text


async def test_live_deployment_has_no_sandbox_deposit(database_url: str) -> None:
    settings = make_settings(database_url, mode="live")
    app = create_app(settings)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        web = Env(settings, app.state.db, client)
        await signed_in_customer(web)
        page = await client.get("/deposits")
        assert page.status_code == 200
        assert "Sandbox deposit" not in page.text
        response = await client.post(
            "/deposits/sandbox",
            data={"csrf_token": csrf_of(page), "network": "bsc", "amount": "50"},
        )
        assert response.status_code == 404
    await app.state.db.dispose()


async def test_withdrawal_request_and_cancel_return_the_funds(web: Env) -> None:
    customer = await signed_in_customer(web)
    await deposit(web.db, customer, "100.50")
    data = {"amount": "40.250001", "network": "bsc", "address": GOOD_ADDRESS}
    unverified = await post_form(web.client, "/withdrawals", "/withdrawals", data)
    assert unverified.status_code == 403
    assert form_error(unverified) == "Withdrawals need a verified identity: complete KYC first."

    await verify_kyc(web.db, customer.seq)
    wrong = await post_form(
        web.client, "/withdrawals", "/withdrawals", {**data, "address": "0x1234"}
    )
    assert wrong.status_code == 400
    assert field_error(wrong, "address") is not None
    assert field_error(
        await post_form(web.client, "/withdrawals", "/withdrawals", {**data, "amount": "5"}),
        "amount",
    ) == ("Withdrawals start at 20.00 USDT.")

    response = await post_form(web.client, "/withdrawals", "/withdrawals", data)
    assert response.status_code == 303
    figures = await balance(web.db, customer.seq)
    assert figures.available == parse_amount("60.249999")
    assert figures.pending_withdrawals == parse_amount("40.250001")
    page = await web.client.get("/withdrawals")
    withdrawal_id = re.search(r'data-withdrawal="(wd_[^"]+)"', page.text)
    assert withdrawal_id is not None
    cancel = await web.client.post(
        f"/withdrawals/{withdrawal_id.group(1)}/cancel", data={"csrf_token": csrf_of(page)}
    )
    assert cancel.status_code == 303
    figures = await balance(web.db, customer.seq)
    assert figures.available == parse_amount("100.50")
    assert figures.pending_withdrawals == 0
    again = await web.client.post(
        f"/withdrawals/{withdrawal_id.group(1)}/cancel", data={"csrf_token": csrf_of(page)}
    )
    assert again.status_code == 409
    assert "is cancelled, not pending" in str(form_error(again))


async def test_withdrawal_needs_the_totp_code_once_two_factor_is_on(
    web: Env, totp_clock: TotpClock
) -> None:
    customer = await signed_in_customer(web)
    await deposit(web.db, customer, "100.00")
    await verify_kyc(web.db, customer.seq)
    secret = await enable_totp(web)
    data = {"amount": "30", "network": "polygon", "address": GOOD_ADDRESS}
    page = await web.client.get("/withdrawals")
    assert 'id="f-totp_code"' in page.text
    missing = await web.client.post("/withdrawals", data={"csrf_token": csrf_of(page), **data})
    assert missing.status_code == 400
    assert field_error(missing, "totp_code") is not None
    assert (await balance(web.db, customer.seq)).available == parse_amount("100.00")
    done = await web.client.post(
        "/withdrawals",
        data={"csrf_token": csrf_of(page), **data, "totp_code": code(secret, 1)},
    )
    assert done.status_code == 303
    assert (await balance(web.db, customer.seq)).available == parse_amount("70.00")


async def test_transactions_filter_by_type_and_page_with_the_api_cursor(web: Env) -> None:
    customer = await signed_in_customer(web)
    for _ in range(31):
        await deposit(web.db, customer, "10.000001")
    await verify_kyc(web.db, customer.seq)
    await post_form(
        web.client,
        "/withdrawals",
        "/withdrawals",
        {"amount": "25", "network": "bsc", "address": GOOD_ADDRESS},
    )
    first = await web.client.get("/transactions")
    assert first.text.count("data-transaction=") == 30
    assert 'data-type="withdrawal"' in first.text
    assert "\u221225.00" in first.text  # a debit, to the unit
    deposits = await web.client.get("/transactions", params={"type": "deposit"})
    assert deposits.text.count('data-type="deposit"') == 30
    assert 'data-type="withdrawal"' not in deposits.text
    older = re.search(r'href="(/transactions\?type=deposit&amp;cursor=cur_[^"]+)"', deposits.text)
    assert older is not None
    second = await web.client.get(older.group(1).replace("&amp;", "&"))
    assert second.text.count('data-type="deposit"') == 1
    assert "+10.000001" in second.text
    bad = await web.client.get("/transactions", params={"cursor": "nonsense"})
    assert bad.status_code == 400
