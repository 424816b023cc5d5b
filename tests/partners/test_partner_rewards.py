"""Partner rewards: a referred customer's activation pays the referrer 16% of its price."""

from __future__ import annotations

import pytest
import structlog
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from miningtx.kit.errors import ApiError
from miningtx.ledger.accounts import Platform, customer_available
from miningtx.partners import service as partners
from tests.conftest import Env
from tests.factories import (
    balances,
    fund_pool,
    invariant_problems,
    make_customer,
    open_for_business,
)
from tests.partners.factories import activation_count, referred_pair, sold_mths, transfers

REWARDS_FUNDED = 10_000_000_000_000  # open_for_business: 10,000,000.00 USDT


async def test_the_referrer_earns_16_percent_of_each_price(env: Env) -> None:
    await open_for_business(env.db)
    await fund_pool(env.db, "partners", "5000.00")
    referrer, referee = await referred_pair(env.db, env.settings, deposit="9800.00")
    await make_customer(env.db, env.settings, referral_code=referrer.referral_code.lower())

    activated = []
    for contract_id in ("starter", "ultra", "quantum"):
        response = await env.client.post(
            "/v1/contracts/activate", json={"contract_id": contract_id}, headers=referee.auth
        )
        assert response.status_code == 200, response.text
        activated.append(response.json()["id"])

    history = (
        await env.client.get(
            "/v1/transactions", params={"type": "partner_reward"}, headers=referrer.auth
        )
    ).json()["data"]
    assert [(t["amount"], t["direction"], t["reference"]) for t in history] == [
        ("1120.00", "credit", activated[2]),
        ("416.00", "credit", activated[1]),
        ("32.00", "credit", activated[0]),
    ]
    summary = await env.client.get("/v1/partners", headers=referrer.auth)
    assert summary.status_code == 200
    assert summary.json() == {
        "referral_code": referrer.referral_code,
        "partner_rate": "0.16",
        "partners": 2,
        "partner_rewards": "1568.00",
    }
    assert (await env.client.get("/v1/partners", headers=referee.auth)).json() == {
        "referral_code": referee.referral_code,
        "partner_rate": "0.16",
        "partners": 0,
        "partner_rewards": "0.00",
    }
    referrer_balance = (await env.client.get("/v1/balance", headers=referrer.auth)).json()
    assert referrer_balance["available"] == "1568.00"
    referee_balance = (await env.client.get("/v1/balance", headers=referee.auth)).json()
    assert (referee_balance["available"], referee_balance["in_contracts"]) == ("0.00", "9800.00")
    assert await balances(
        env.db, Platform.PARTNERS, Platform.SALES, customer_available(referrer.id)
    ) == {
        Platform.PARTNERS: 3_432_000_000,
        Platform.SALES: 9_800_000_000,
        customer_available(referrer.id): 1_568_000_000,
    }
    assert [t.customer_seq for t in await transfers(env.db, "partner_reward")] == [referrer.seq] * 3
    assert await invariant_problems(env.db) == []


def test_the_rate_is_16_percent_rounded_down() -> None:
    assert partners.PARTNER_RATE == "0.16"
    assert partners.partner_reward(200_000_000) == 32_000_000
    assert partners.partner_reward(2_600_000_000) == 416_000_000
    assert partners.partner_reward(7_000_000_000) == 1_120_000_000
    assert partners.partner_reward(999_999) == 159_999


async def test_a_customer_without_referrer_pays_nobody_and_needs_no_budget(env: Env) -> None:
    await open_for_business(env.db)
    alice = await make_customer(env.db, env.settings, deposit="200.00")

    response = await env.client.post(
        "/v1/contracts/activate", json={"contract_id": "starter"}, headers=alice.auth
    )

    assert response.status_code == 200, response.text
    assert await transfers(env.db, "partner_reward") == []
    assert (await balances(env.db, Platform.PARTNERS))[Platform.PARTNERS] == 0
    assert (await env.client.get("/v1/partners", headers=alice.auth)).json()["partners"] == 0
    assert await invariant_problems(env.db) == []


async def test_a_short_partner_budget_is_sold_out_and_nothing_moves(env: Env) -> None:
    await open_for_business(env.db)
    await fund_pool(env.db, "partners", "31.999999")  # one micro-USDT short of 16% of 200.00
    referrer, referee = await referred_pair(env.db, env.settings, deposit="200.00")
    codes = [
        customer_available(referee.id),
        customer_available(referrer.id),
        Platform.REWARD_POOL,
        Platform.REWARD_RESERVED,
        Platform.PARTNERS,
        Platform.SALES,
    ]
    before = await balances(env.db, *codes)
    transfers_before = len(await transfers(env.db))

    with structlog.testing.capture_logs() as logs:
        response = await env.client.post(
            "/v1/contracts/activate", json={"contract_id": "starter"}, headers=referee.auth
        )

    assert response.status_code == 409
    assert response.json()["error"]["code"] == "sold_out"
    assert await balances(env.db, *codes) == before
    assert before[customer_available(referee.id)] == 200_000_000
    assert before[Platform.REWARD_POOL] == REWARDS_FUNDED
    assert before[Platform.PARTNERS] == 31_999_999
    assert await sold_mths(env.db) == 0
    assert await activation_count(env.db) == 0
    assert len(await transfers(env.db)) == transfers_before
    [alert] = [entry for entry in logs if entry["event"] == "partner_budget_exhausted"]
    assert alert["log_level"] == "error"
    assert (alert["needed"], alert["budget"]) == ("32.00", "31.999999")
    assert alert["referrer_seq"] == referrer.seq
    # A referee who cannot pay hears about their balance, not the operator's budget.
    _, poor = await referred_pair(env.db, env.settings, deposit="199.99")
    refused = await env.client.post(
        "/v1/contracts/activate", json={"contract_id": "starter"}, headers=poor.auth
    )
    assert refused.status_code == 402
    assert refused.json()["error"]["code"] == "insufficient_balance"

    await fund_pool(env.db, "partners", "0.000001")
    retried = await env.client.post(
        "/v1/contracts/activate", json={"contract_id": "starter"}, headers=referee.auth
    )
    assert retried.status_code == 200
    assert (await balances(env.db, Platform.PARTNERS))[Platform.PARTNERS] == 0
    assert await invariant_problems(env.db) == []


async def test_an_idempotent_replay_pays_one_partner_reward(env: Env) -> None:
    await open_for_business(env.db)
    await fund_pool(env.db, "partners", "1000.00")
    referrer, referee = await referred_pair(env.db, env.settings, deposit="1000.00")
    headers = {**referee.auth, "Idempotency-Key": "starter-once"}

    first = await env.client.post(
        "/v1/contracts/activate", json={"contract_id": "starter"}, headers=headers
    )
    again = await env.client.post(
        "/v1/contracts/activate", json={"contract_id": "starter"}, headers=headers
    )

    assert first.status_code == 200
    assert again.headers["idempotent-replayed"] == "true"
    assert again.content == first.content
    [reward] = await transfers(env.db, "partner_reward")
    assert (reward.amount, reward.reference) == (32_000_000, first.json()["id"])
    assert reward.idempotency_key == f"{first.json()['id']}:partner"
    assert (await env.client.get("/v1/partners", headers=referrer.auth)).json()[
        "partner_rewards"
    ] == "32.00"
    assert await balances(env.db, Platform.PARTNERS, customer_available(referee.id)) == {
        Platform.PARTNERS: 968_000_000,
        customer_available(referee.id): 800_000_000,
    }
    assert await invariant_problems(env.db) == []


async def test_a_customer_cannot_refer_themselves(env: Env) -> None:
    alice = await make_customer(env.db, env.settings)

    with pytest.raises(IntegrityError):
        async with env.db.write() as session:
            await session.execute(
                text("UPDATE customers SET referred_by_seq = seq WHERE seq = :seq"),
                {"seq": alice.seq},
            )

    assert (await env.client.get("/v1/partners", headers=alice.auth)).json()["partners"] == 0


async def test_an_unknown_referral_code_refuses_the_sign_up(env: Env) -> None:
    with pytest.raises(ApiError) as refused:
        await make_customer(env.db, env.settings, referral_code="NOBODY99")

    assert refused.value.status == 400
    assert refused.value.code == "invalid_referral_code"
    assert refused.value.param == "referral_code"
