"""KYC: the customer submits, the operator decides, approval pays the 10.00 bonus once."""

from __future__ import annotations

import asyncio
from datetime import date
from typing import Any

import pytest
from sqlalchemy import select

from miningtx.customers import kyc
from miningtx.kit.clock import utcnow
from miningtx.kit.errors import ApiError
from miningtx.ledger.accounts import Platform, customer_available
from miningtx.models import Customer
from tests.conftest import Env
from tests.factories import CustomerWithKey, balances, fund_pool, invariant_problems, make_customer
from tests.partners.factories import transfers

KYC: dict[str, Any] = {
    "full_name": "Satoshi Nakamoto",
    "date_of_birth": "1975-04-05",
    "country": "JP",
    "document_type": "passport",
    "document_number": "TK1234567",
}


def years_before(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February in a year without one
        return day.replace(year=day.year - years, day=28)


async def submit(env: Env, who: CustomerWithKey, body: dict[str, Any] = KYC) -> Any:
    return await env.client.post("/v1/account/kyc", json=body, headers=who.auth)


async def approve(env: Env, customer_id: str) -> kyc.KycDecision:
    async with env.db.write() as session:
        return await kyc.approve_kyc(session, customer_id, utcnow(), operator=None)


async def reject(env: Env, customer_id: str, reason: str | None = None) -> Customer:
    async with env.db.write() as session:
        return await kyc.reject_kyc(session, customer_id, utcnow(), reason, operator=None)


async def stored(env: Env, customer_id: str) -> Customer:
    async with env.db.read() as session:
        return (
            await session.execute(select(Customer).where(Customer.id == customer_id))
        ).scalar_one()


async def test_submission_puts_the_kyc_under_review(env: Env) -> None:
    alice = await make_customer(env.db, env.settings)

    response = await submit(env, alice, {**KYC, "full_name": "  Satoshi Nakamoto  "})

    assert response.status_code == 200
    body = response.json()
    assert body["id"] == alice.id
    assert body["kyc_status"] == "pending"
    assert body["kyc_bonus_credited"] is False
    assert body["referral_code"] == alice.referral_code
    account = await env.client.get("/v1/account", headers=alice.auth)
    assert account.json() == body
    customer = await stored(env, alice.id)
    assert customer.kyc_details == KYC
    assert customer.kyc_submitted_at is not None
    assert abs((utcnow() - customer.kyc_submitted_at).total_seconds()) < 30
    assert customer.kyc_reviewed_at is None


async def test_submission_is_idempotent_under_a_key(env: Env) -> None:
    alice = await make_customer(env.db, env.settings)
    headers = {**alice.auth, "Idempotency-Key": "kyc-1"}

    first = await env.client.post("/v1/account/kyc", json=KYC, headers=headers)
    again = await env.client.post("/v1/account/kyc", json=KYC, headers=headers)
    fresh = await submit(env, alice)

    assert first.status_code == 200
    assert again.status_code == 200
    assert again.headers["idempotent-replayed"] == "true"
    assert again.content == first.content
    assert fresh.status_code == 409


INVALID: list[tuple[dict[str, Any], str]] = [
    ({"date_of_birth": "05/04/1975"}, "date_of_birth"),
    ({"date_of_birth": "1975-02-30"}, "date_of_birth"),
    ({"date_of_birth": "1975-04-05T00:00:00"}, "date_of_birth"),
    ({"date_of_birth": 165888000}, "date_of_birth"),
    ({"date_of_birth": "1899-12-31"}, "date_of_birth"),
    ({"country": "usa"}, "country"),
    ({"country": "us"}, "country"),
    ({"country": "XX"}, "country"),
    ({"country": ""}, "country"),
    ({"document_type": "visa"}, "document_type"),
    ({"document_number": "tk1234567"}, "document_number"),
    ({"document_number": "TK1"}, "document_number"),
    ({"document_number": "TK 1234567"}, "document_number"),
    ({"document_number": "T" * 33}, "document_number"),
    ({"full_name": "  S  "}, "full_name"),
    ({"full_name": "Satoshi\nNakamoto"}, "full_name"),
    ({"full_name": "S" * 101}, "full_name"),
    ({"full_name": 42}, "full_name"),
    ({"nationality": "JP"}, "nationality"),
]


async def test_invalid_bodies_are_400_with_the_field_as_param(env: Env) -> None:
    alice = await make_customer(env.db, env.settings)
    today = utcnow().date()
    turns_18_tomorrow = years_before(today, 18) + date.resolution
    cases = [*INVALID, ({"date_of_birth": turns_18_tomorrow.isoformat()}, "date_of_birth")]
    missing = {k: v for k, v in KYC.items() if k != "document_number"}

    for change, param in cases:
        response = await submit(env, alice, {**KYC, **change})
        assert response.status_code == 400, (change, response.text)
        error = response.json()["error"]
        assert error["code"] == "invalid_request"
        assert error["param"] == param, change
    response = await submit(env, alice, missing)
    assert response.status_code == 400
    assert response.json()["error"]["param"] == "document_number"
    assert response.json()["error"]["message"] == "Missing required parameter: document_number."
    assert (await env.client.get("/v1/account", headers=alice.auth)).json()[
        "kyc_status"
    ] == "unverified"

    adult_today = years_before(today, 18).isoformat()
    accepted = await submit(env, alice, {**KYC, "date_of_birth": adult_today, "country": "US"})
    assert accepted.status_code == 200, accepted.text
    assert accepted.json()["kyc_status"] == "pending"


async def test_resubmitting_while_pending_is_409_conflict(env: Env) -> None:
    alice = await make_customer(env.db, env.settings)
    await submit(env, alice)

    again = await submit(env, alice, {**KYC, "document_number": "TK7654321"})

    assert again.status_code == 409
    assert again.json()["error"]["code"] == "conflict"
    assert again.json()["error"]["message"] == "Your KYC is already under review."
    assert (await stored(env, alice.id)).kyc_details == KYC


async def test_approval_pays_the_welcome_bonus_once(env: Env) -> None:
    await fund_pool(env.db, "bonus", "25.00")
    alice = await make_customer(env.db, env.settings, deposit="100.00")
    await submit(env, alice)

    decision = await approve(env, alice.id)
    again = await approve(env, alice.id)

    assert (decision.bonus_paid, decision.already_verified) == (True, False)
    assert decision.customer.kyc_status == "verified"
    assert decision.customer.kyc_bonus_credited is True
    assert (again.bonus_paid, again.already_verified) == (False, True)
    account = (await env.client.get("/v1/account", headers=alice.auth)).json()
    assert (account["kyc_status"], account["kyc_bonus_credited"]) == ("verified", True)
    balance = (await env.client.get("/v1/balance", headers=alice.auth)).json()
    assert balance["available"] == "110.00"
    history = (
        await env.client.get("/v1/transactions", params={"type": "bonus"}, headers=alice.auth)
    ).json()["data"]
    assert [(t["type"], t["amount"], t["direction"], t["reference"]) for t in history] == [
        ("bonus", "10.00", "credit", alice.id)
    ]
    assert len(await transfers(env.db, "bonus")) == 1
    after = await balances(env.db, Platform.BONUS, customer_available(alice.id))
    assert after == {Platform.BONUS: 15_000_000, customer_available(alice.id): 110_000_000}
    verified_again = await submit(env, alice)
    assert verified_again.status_code == 409
    assert verified_again.json()["error"]["code"] == "conflict"
    with pytest.raises(ApiError) as refused:
        await reject(env, alice.id)
    assert (refused.value.status, refused.value.code) == (409, "conflict")
    assert (await stored(env, alice.id)).kyc_status == "verified"
    assert await invariant_problems(env.db) == []


async def test_rejection_lets_the_customer_submit_again(env: Env) -> None:
    await fund_pool(env.db, "bonus", "10.00")
    alice = await make_customer(env.db, env.settings)
    await submit(env, alice)

    rejected = await reject(env, alice.id, "  Document unreadable.  ")
    after_reject = (await env.client.get("/v1/account", headers=alice.auth)).json()
    resubmitted = await submit(env, alice, {**KYC, "document_number": "TK7654321"})
    customer = await stored(env, alice.id)

    assert rejected.kyc_status == "rejected"
    assert rejected.kyc_rejection_reason == "Document unreadable."
    assert rejected.kyc_reviewed_at is not None
    assert after_reject["kyc_status"] == "rejected"
    assert resubmitted.status_code == 200
    assert resubmitted.json()["kyc_status"] == "pending"
    assert customer.kyc_rejection_reason is None
    assert customer.kyc_reviewed_at is None
    assert customer.kyc_details == {**KYC, "document_number": "TK7654321"}
    assert (await approve(env, alice.id)).bonus_paid is True
    assert (await env.client.get("/v1/balance", headers=alice.auth)).json()["available"] == "10.00"
    assert await invariant_problems(env.db) == []


async def test_only_a_pending_kyc_can_be_decided(env: Env) -> None:
    await fund_pool(env.db, "bonus", "10.00")
    bob = await make_customer(env.db, env.settings)

    for decide in (approve, reject):
        with pytest.raises(ApiError) as unverified:
            await decide(env, bob.id)
        assert (unverified.value.status, unverified.value.code) == (409, "conflict")
        with pytest.raises(ApiError) as missing:
            await decide(env, "usr_missing")
        assert (missing.value.status, missing.value.code) == (404, "resource_missing")
    await submit(env, bob)
    await reject(env, bob.id)
    with pytest.raises(ApiError) as rejected:
        await approve(env, bob.id)
    assert (rejected.value.status, rejected.value.code) == (409, "conflict")
    assert (await stored(env, bob.id)).kyc_status == "rejected"
    assert await transfers(env.db, "bonus") == []
    assert (await balances(env.db, Platform.BONUS))[Platform.BONUS] == 10_000_000


async def test_a_short_bonus_budget_refuses_approval_and_nothing_moves(env: Env) -> None:
    alice = await make_customer(env.db, env.settings, deposit="50.00")
    await submit(env, alice)
    codes = [Platform.BONUS, customer_available(alice.id)]

    with pytest.raises(ApiError) as empty:
        await approve(env, alice.id)
    await fund_pool(env.db, "bonus", "9.999999")
    # Even a caller that swallows the refusal and commits keeps the KYC pending.
    async with env.db.write() as session:
        with pytest.raises(ApiError) as short:
            await kyc.approve_kyc(session, alice.id, utcnow(), operator=None)
    customer = await stored(env, alice.id)
    before_funding = await balances(env.db, *codes)

    assert (empty.value.status, empty.value.code) == (409, "budget_exhausted")
    assert empty.value.message == (
        "The bonus budget holds 0.00 USDT, less than the 10.00 USDT welcome bonus; "
        "fund it (mtx pools fund bonus) and approve again."
    )
    assert short.value.code == "budget_exhausted"
    assert "holds 9.999999 USDT" in short.value.message
    assert (customer.kyc_status, customer.kyc_bonus_credited) == ("pending", False)
    assert customer.kyc_reviewed_at is None
    assert await transfers(env.db, "bonus") == []
    assert before_funding == {Platform.BONUS: 9_999_999, customer_available(alice.id): 50_000_000}

    await fund_pool(env.db, "bonus", "0.000001")
    decision = await approve(env, alice.id)

    assert decision.bonus_paid is True
    assert await balances(env.db, *codes) == {
        Platform.BONUS: 0,
        customer_available(alice.id): 60_000_000,
    }
    assert await invariant_problems(env.db) == []


async def test_concurrent_approvals_pay_the_bonus_once(env: Env) -> None:
    await fund_pool(env.db, "bonus", "1000.00")
    alice = await make_customer(env.db, env.settings)
    await submit(env, alice)

    async def approve_on_own_transaction() -> kyc.KycDecision | ApiError:
        try:
            return await approve(env, alice.id)
        except ApiError as error:
            return error

    outcomes = await asyncio.gather(*(approve_on_own_transaction() for _ in range(10)))

    decisions = [o for o in outcomes if isinstance(o, kyc.KycDecision)]
    assert len(decisions) == 10, [o for o in outcomes if isinstance(o, ApiError)]
    assert sum(d.bonus_paid for d in decisions) == 1
    assert sum(d.already_verified for d in decisions) == 9
    assert len(await transfers(env.db, "bonus")) == 1
    assert await balances(env.db, Platform.BONUS, customer_available(alice.id)) == {
        Platform.BONUS: 990_000_000,
        customer_available(alice.id): 10_000_000,
    }
    assert await invariant_problems(env.db) == []
