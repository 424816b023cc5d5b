"""The operator console's pages in-process: each action through the same services as `mtx`,
the ledger after it, errors beside their fields, and who may do what."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy import select

from miningtx.app import create_app
from miningtx.customers.kyc import KYC_BONUS
from miningtx.dashboard.operator import customers as customer_pages
from miningtx.kit.money import parse_amount
from miningtx.ledger.accounts import Platform, customer_available
from miningtx.models import Customer, MiningContract, StakingPlan, StakingTerms
from tests.conftest import Env, make_settings
from tests.dashboard.console_factories import (
    deposit,
    pending_withdrawal,
    signed_in_operator,
    submit_kyc,
)
from tests.dashboard.factories import make_web_customer
from tests.dashboard.web import csrf_of, field_error, sign_in, submit
from tests.factories import balances, fund_pool, invariant_problems, make_customer
from tests.wallet.factories import stored_withdrawal


async def customer_row(web: Env, customer_id: str) -> Customer:
    async with web.db.read() as session:
        return (
            await session.execute(select(Customer).where(Customer.id == customer_id))
        ).scalar_one()


async def test_a_reviewer_approves_a_pending_kyc_and_the_bonus_is_paid_once(web: Env) -> None:
    await fund_pool(web.db, "bonus", "100.00")
    customer = await make_customer(web.db, web.settings)
    await submit_kyc(web.db, customer.seq)
    await signed_in_operator(web.db, web.client, role="reviewer")

    queue = await web.client.get("/console/kyc")
    assert queue.status_code == 200
    assert customer.id in queue.text
    assert "Ada Lovelace" in queue.text
    review = await web.client.get(f"/console/kyc/{customer.id}")
    assert "P1234567" in review.text
    response = await web.client.post(
        f"/console/kyc/{customer.id}/approve", data={"csrf_token": csrf_of(review)}
    )
    assert response.status_code == 303
    assert response.headers["location"] == "/console/kyc"
    assert "welcome bonus 10.00 USDT credited" in (await web.client.get("/console/kyc")).text

    account = customer_available(customer.id)
    assert (await balances(web.db, account))[account] == KYC_BONUS
    assert (await customer_row(web, customer.id)).kyc_status == "verified"
    again = await web.client.post(
        f"/console/kyc/{customer.id}/approve", data={"csrf_token": csrf_of(review)}
    )
    assert again.status_code == 303
    assert (await balances(web.db, account))[account] == KYC_BONUS
    assert await invariant_problems(web.db) == []


async def test_an_unfunded_bonus_budget_refuses_the_approval_and_keeps_it_pending(
    web: Env,
) -> None:
    customer = await make_customer(web.db, web.settings)
    await submit_kyc(web.db, customer.seq)
    await signed_in_operator(web.db, web.client)
    response = await submit(
        web.client, f"/console/kyc/{customer.id}", f"/console/kyc/{customer.id}/approve", {}
    )
    assert response.status_code == 409
    assert "The bonus budget holds 0.00 USDT" in response.text
    assert 'class="form-error"' in response.text
    assert (await customer_row(web, customer.id)).kyc_status == "pending"


async def test_a_kyc_rejection_carries_its_reason_and_a_bad_reason_sits_beside_its_field(
    web: Env,
) -> None:
    customer = await make_customer(web.db, web.settings)
    await submit_kyc(web.db, customer.seq)
    await signed_in_operator(web.db, web.client, role="reviewer")
    page, action = f"/console/kyc/{customer.id}", f"/console/kyc/{customer.id}/reject"
    refused = await submit(web.client, page, action, {"reason": "x" * 201})
    assert refused.status_code == 400
    assert field_error(refused, "reason") == "Reasons are at most 200 printable characters."
    assert (await customer_row(web, customer.id)).kyc_status == "pending"
    response = await submit(web.client, page, action, {"reason": "Document unreadable"})
    assert response.status_code == 303
    row = await customer_row(web, customer.id)
    assert (row.kyc_status, row.kyc_rejection_reason) == ("rejected", "Document unreadable")
    # Decided already: the review page offers no forms, a second decision is refused.
    again = await submit(web.client, page, action, {"reason": "again"})
    assert again.status_code == 409
    assert "has no KYC awaiting review" in again.text
    assert (await web.client.get("/console/kyc/usr_missing")).status_code == 404


async def test_a_withdrawal_approved_on_the_simulated_network_is_processed(web: Env) -> None:
    customer = await make_customer(web.db, web.settings, deposit="100.00")
    withdrawal_id = await pending_withdrawal(
        web.db, web.settings, customer.seq, customer.id, "40.00"
    )
    await signed_in_operator(web.db, web.client, role="reviewer")
    queue = await web.client.get("/console/withdrawals")
    assert withdrawal_id in queue.text
    page = f"/console/withdrawals/{withdrawal_id}"
    response = await submit(web.client, page, f"{page}/approve", {})
    assert response.status_code == 303
    assert response.headers["location"] == page
    shown = await web.client.get(page)
    assert f"{withdrawal_id} is now processed." in shown.text
    assert (await stored_withdrawal(web.db, withdrawal_id)).status == "processed"
    account = customer_available(customer.id)
    held = await balances(web.db, account, Platform.PENDING_WITHDRAWALS)
    assert held == {account: parse_amount("60.00"), Platform.PENDING_WITHDRAWALS: 0}
    assert withdrawal_id in (await web.client.get("/console/withdrawals?status=processed")).text
    assert (await web.client.get("/console/withdrawals?status=lost")).status_code == 400
    again = await web.client.post(f"{page}/approve", data={"csrf_token": csrf_of(shown)})
    assert again.status_code == 409
    assert await invariant_problems(web.db) == []


async def test_a_rejected_withdrawal_returns_the_funds(web: Env) -> None:
    customer = await make_customer(web.db, web.settings, deposit="100.00")
    withdrawal_id = await pending_withdrawal(
        web.db, web.settings, customer.seq, customer.id, "40.00"
    )
    await signed_in_operator(web.db, web.client)
    page = f"/console/withdrawals/{withdrawal_id}"
    response = await submit(web.client, page, f"{page}/reject", {"reason": "Address on a list"})
    assert response.status_code == 303
    withdrawal = await stored_withdrawal(web.db, withdrawal_id)
    assert (withdrawal.status, withdrawal.failure_reason) == ("rejected", "Address on a list")
    account = customer_available(customer.id)
    assert (await balances(web.db, account))[account] == parse_amount("100.00")
    assert (await web.client.get("/console/withdrawals/wd_missing")).status_code == 404


async def test_an_admin_changes_a_contract_and_errors_sit_beside_their_fields(web: Env) -> None:
    await signed_in_operator(web.db, web.client)
    catalog = await web.client.get("/console/catalog")
    assert catalog.status_code == 200
    contract_id = "starter"
    assert f"/console/catalog/contracts/{contract_id}" in catalog.text
    page = f"/console/catalog/contracts/{contract_id}"
    edit = await web.client.get(page)
    assert edit.status_code == 200
    for field, value, message in (
        ("price", "-5", "Amounts must be positive decimal strings"),
        ("hash_ths", "1.2345", "Enter a number with at most 3 decimals"),
        ("hash_ths", "0", "hash_mths must be positive."),
        ("duration_days", "4000", "Durations are 1 to 3650 days."),
    ):
        refused = await submit(web.client, page, page, {field: value})
        assert refused.status_code == 400, (field, value)
        assert (field_error(refused, field) or "").startswith(message), refused.text
    response = await submit(
        web.client,
        page,
        page,
        {
            "price": "99.50",
            "hash_ths": "2.5",
            "daily_reward": "0.40",
            "duration_days": "200",
            "on_sale": "no",
        },
    )
    assert response.status_code == 303
    async with web.db.read() as session:
        contract = await session.get(MiningContract, contract_id)
    assert contract is not None
    assert (contract.price, contract.hash_mths, contract.daily_reward) == (
        99_500_000,
        2500,
        400_000,
    )
    assert (contract.duration_days, contract.on_sale) == (200, False)
    assert (await web.client.get("/console/catalog/contracts/nope")).status_code == 404


async def test_an_admin_sets_staking_plans_and_limits(web: Env) -> None:
    await signed_in_operator(web.db, web.client)
    page = "/console/catalog"
    response = await submit(
        web.client, page, f"{page}/staking/plans", {"days": "100", "roi_percent": "55.5"}
    )
    assert response.status_code == 303
    refused = await submit(
        web.client, page, f"{page}/staking/plans", {"days": "20", "roi_percent": "1"}
    )
    assert refused.status_code == 400
    assert field_error(refused, "days") == "days must be an integer from 30 to 365."
    refused = await submit(
        web.client, page, f"{page}/staking/plans", {"days": "40", "roi_percent": "x"}
    )
    assert field_error(refused, "roi_percent") is not None
    refused = await submit(
        web.client, page, f"{page}/staking/limits", {"min_amount": "500.00", "max_amount": "100.00"}
    )
    assert refused.status_code == 400
    assert (field_error(refused, "min_amount") or "").startswith("min_amount (500.00)")
    response = await submit(
        web.client, page, f"{page}/staking/limits", {"min_amount": "5.00", "max_amount": "900.00"}
    )
    assert response.status_code == 303
    async with web.db.read() as session:
        assert (await session.get(StakingPlan, 100)) is not None
        terms = await session.get(StakingTerms, 1)
    assert terms is not None
    assert (terms.min_amount, terms.max_amount) == (5_000_000, 900_000_000)
    end_point = await submit(web.client, page, f"{page}/staking/plans/30/remove", {})
    assert end_point.status_code == 409
    assert "end points and stay" in end_point.text
    response = await submit(web.client, page, f"{page}/staking/plans/100/remove", {})
    assert response.status_code == 303
    async with web.db.read() as session:
        assert (await session.get(StakingPlan, 100)) is None


async def test_capacity_and_pool_funding(web: Env) -> None:
    await signed_in_operator(web.db, web.client)
    page = "/console/capacity"
    response = await submit(web.client, page, page, {"ths": "1500.5"})
    assert response.status_code == 303
    assert "Capacity 1500.5 TH/s" in (await web.client.get(page)).text
    refused = await submit(web.client, page, page, {"ths": "lots"})
    assert refused.status_code == 400
    assert field_error(refused, "ths") is not None

    fund = f"{page}/fund"
    response = await submit(
        web.client, page, fund, {"pool": "bonus", "amount": "250.00", "network": "polygon"}
    )
    assert response.status_code == 303
    assert (await balances(web.db, Platform.BONUS))[Platform.BONUS] == 250_000_000
    treasury = Platform.TREASURY_POLYGON
    assert (await balances(web.db, treasury))[treasury] == -250_000_000
    for data, field in (
        ({"pool": "bonus", "amount": "0", "network": "bsc"}, "amount"),
        ({"pool": "casino", "amount": "1.00", "network": "bsc"}, "pool"),
        ({"pool": "bonus", "amount": "1.00", "network": "tron"}, "network"),
    ):
        refused = await submit(web.client, page, fund, data)
        assert refused.status_code == 400
        assert field_error(refused, field) is not None, data
    assert (await balances(web.db, Platform.BONUS))[Platform.BONUS] == 250_000_000
    assert await invariant_problems(web.db) == []


async def test_capacity_cannot_drop_below_what_is_sold(web: Env) -> None:
    await fund_pool(web.db, "rewards", "1000000.00")
    await signed_in_operator(web.db, web.client)
    await submit(web.client, "/console/capacity", "/console/capacity", {"ths": "100"})
    buyer = await make_customer(web.db, web.settings, deposit="1000.00")
    activated = await web.client.post(
        "/v1/contracts/activate", json={"contract_id": "starter"}, headers=buyer.auth
    )
    assert activated.status_code == 200, activated.text
    refused = await submit(web.client, "/console/capacity", "/console/capacity", {"ths": "0"})
    assert refused.status_code == 409
    assert "capacity cannot go below that" in refused.text


async def test_a_reviewer_sees_everything_but_changes_no_catalog_capacity_or_pool(
    web: Env,
) -> None:
    await signed_in_operator(web.db, web.client, role="reviewer")
    for path in (
        "/console/catalog",
        "/console/capacity",
        "/console/solvency",
        "/console/customers",
    ):
        page = await web.client.get(path)
        assert page.status_code == 200, path
    catalog = await web.client.get("/console/catalog")
    assert "/console/catalog/contracts/" not in catalog.text
    assert 'action="/console/capacity/fund"' not in (await web.client.get("/console/capacity")).text
    token = csrf_of(catalog)
    for path, data in (
        ("/console/catalog/contracts/starter", {"price": "1.00"}),
        ("/console/catalog/staking/plans", {"days": "60", "roi_percent": "1"}),
        ("/console/catalog/staking/limits", {"min_amount": "1.00"}),
        ("/console/catalog/staking/plans/180/remove", {}),
        ("/console/capacity", {"ths": "1"}),
        ("/console/capacity/fund", {"pool": "bonus", "amount": "1.00", "network": "bsc"}),
    ):
        response = await web.client.post(path, data={"csrf_token": token, **data})
        assert response.status_code == 403, path
        assert "Your role does not allow this page." in response.text
    assert (await web.client.get("/console/catalog/contracts/starter")).status_code == 403
    assert (await balances(web.db, Platform.BONUS))[Platform.BONUS] == 0


async def test_a_customer_session_reaches_no_console_page(web: Env) -> None:
    customer = await make_web_customer(web.db)
    await sign_in(web.client, customer.username, customer.password)
    for path in (
        "/console/kyc",
        "/console/withdrawals",
        "/console/catalog",
        "/console/capacity",
        "/console/solvency",
        "/console/customers",
        f"/console/customers/{customer.id}",
        "/console/security",
    ):
        response = await web.client.get(path)
        assert response.status_code == 303, path
        assert response.headers["location"].startswith("/console/login?next="), path
    dashboard = await web.client.get("/dashboard")
    response = await web.client.post(
        "/console/capacity/fund",
        data={
            "csrf_token": csrf_of(dashboard),
            "pool": "bonus",
            "amount": "1.00",
            "network": "bsc",
        },
    )
    assert response.status_code in (303, 403)
    assert (await balances(web.db, Platform.BONUS))[Platform.BONUS] == 0


async def test_a_console_form_without_its_csrf_token_is_refused(web: Env) -> None:
    await signed_in_operator(web.db, web.client)
    response = await web.client.post(
        "/console/capacity/fund", data={"pool": "bonus", "amount": "1.00", "network": "bsc"}
    )
    assert response.status_code == 403
    assert (await balances(web.db, Platform.BONUS))[Platform.BONUS] == 0


async def test_solvency_shows_the_report(web: Env) -> None:
    await fund_pool(web.db, "bonus", "100.00")
    await make_customer(web.db, web.settings, deposit="50.00")
    await signed_in_operator(web.db, web.client, role="reviewer")
    page = await web.client.get("/console/solvency")
    assert page.status_code == 200
    assert 'data-figure="coverage">3.0000<' in page.text
    assert 'data-line="liabilities.total">' in page.text
    assert "Ledger invariants hold" in page.text
    assert "nothing to reconcile" in page.text


async def test_solvency_with_an_unreachable_node_says_so(database_url: str) -> None:
    settings = make_settings(
        database_url,
        chain_bsc_rpc_url="http://127.0.0.1:9",
        chain_bsc_usdt_address="0x55d398326f99059fF775485246999027B3197955",
    )
    app = create_app(settings)
    try:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            await signed_in_operator(app.state.db, client, role="reviewer")
            page = await client.get("/console/solvency")
        assert page.status_code == 200
        assert 'data-chain="unreachable"' in page.text
        assert "Chain unreachable" in page.text
        assert 'data-figure="coverage">' in page.text
    finally:
        await app.state.db.dispose()


async def test_customer_lookup_and_paged_ledger_history(
    web: Env, monkeypatch: pytest.MonkeyPatch
) -> None:
    customer = await make_web_customer(web.db)
    for amount in ("10.00", "20.00", "30.00"):
        await deposit(web.db, customer.seq, customer.id, amount)
    await signed_in_operator(web.db, web.client, role="reviewer")
    for query in (customer.id, customer.email.upper()[:6], customer.username):
        found = await web.client.get("/console/customers", params={"q": query})
        assert found.status_code == 200
        assert f'href="/console/customers/{customer.id}"' in found.text, query
    none = await web.client.get("/console/customers", params={"q": "%_nobody"})
    assert "No customer matches." in none.text

    monkeypatch.setattr(customer_pages, "HISTORY_PAGE", 2)
    page = await web.client.get(f"/console/customers/{customer.id}")
    assert page.status_code == 200
    assert 'data-figure="available">60.00 USDT' in page.text
    assert page.text.count("<td>deposit</td>") == 2
    assert "+30.00" in page.text
    assert "+10.00" not in page.text
    older = page.text.split('rel="next"')[0].rsplit('href="', 1)[1].split('"')[0]
    second = await web.client.get(older.replace("&amp;", "&"))
    assert second.status_code == 200
    assert "+10.00" in second.text
    assert "+30.00" not in second.text
    assert 'rel="next"' not in second.text
    filtered = await web.client.get(f"/console/customers/{customer.id}?type=bonus")
    assert "No ledger entries of type bonus." in filtered.text
    assert (
        await web.client.get(f"/console/customers/{customer.id}?cursor=junk")
    ).status_code == 400
    assert (await web.client.get(f"/console/customers/{customer.id}?type=junk")).status_code == 400
    assert (await web.client.get("/console/customers/usr_nobody")).status_code == 404
