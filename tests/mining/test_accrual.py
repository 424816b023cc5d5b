"""The daily accrual: one reward per cut-off at least 24 h after activation, each exactly once."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from miningtx.kit.clock import ONE_DAY, first_reward_day, latest_cutoff_day, rfc3339
from miningtx.kit.ids import new_id
from miningtx.ledger import service as ledger
from miningtx.ledger.accounts import Platform, customer_available
from miningtx.mining.accrual import AccrualProgress, accrue
from miningtx.models import (
    Activation,
    Fleet,
    LedgerAccount,
    LedgerTransfer,
    TransferDirection,
    TransferKind,
    WebhookDelivery,
    WebhookEndpoint,
    WebhookSubscription,
)
from tests.conftest import Env
from tests.factories import balances, invariant_problems, make_customer, open_for_business
from tests.worker.helpers import (
    CUTOFF,
    activate,
    at,
    deployment_now,
    land_after,
    land_before,
    move_clock,
    reward_count,
    reward_days,
    run_accrual,
    solvency_problems,
    stored_activation,
)

ULTRA_REWARD = 130_000_000
STARTER_REWARD = 6_670_000
DAYS = 365
REWARD_KEYS = {"id", "date", "contract", "activation_id", "amount"}


def parse_time(text: str) -> datetime:
    assert text.endswith("Z"), text
    return datetime.fromisoformat(text)


async def get(env: Env, path: str, auth: dict[str, str]) -> Any:
    response = await env.client.get(path, headers=auth)
    assert response.status_code == 200, response.text
    return response.json()


async def subscribe_everything(env: Env, customer_seq: int) -> int:
    """A webhook endpoint of the customer that takes every event (no HTTP: nothing is sent)."""
    async with env.db.write() as session:
        endpoint = WebhookEndpoint(
            id=new_id("we"),
            customer_seq=customer_seq,
            url="https://hooks.example.com/mtx",
            secret="whsec_dGVzdA==",
            status="enabled",
            created_at=await env.db.clock.sync(session),
        )
        session.add(endpoint)
        await session.flush()
        session.add(WebhookSubscription(endpoint_seq=endpoint.seq, event_type="*"))
        return endpoint.seq


async def test_three_days_pay_three_rewards_per_contract_everywhere_alike(env: Env) -> None:
    assert env.db.clock.cutoff == CUTOFF
    await open_for_business(env.db)
    alice = await make_customer(env.db, env.settings, deposit="10000.00")
    endpoint_seq = await subscribe_everything(env, alice.seq)
    day0 = (await deployment_now(env.db)).date() + ONE_DAY
    await land_after(env.db, at(day0, 5, 0), seconds=0)  # an hour before the cut-off
    ultra = await activate(env, alice, "ultra")
    starter = await activate(env, alice, "starter")
    activated_at = (await stored_activation(env.db, ultra["id"])).activated_at
    assert at(day0, 5, 0) <= activated_at < at(day0, 5, 5)
    # 24 h later is day0+1 05:00, before that day's cut-off: the first reward is day0+1's.
    assert first_reward_day(activated_at, CUTOFF) == day0 + ONE_DAY
    expected_days = [(day0 + n * ONE_DAY).isoformat() for n in (1, 2, 3)]

    # Three days and two hours: the cut-offs of day0+1, day0+2 and day0+3 have passed.
    advanced = await env.client.post(
        "/v1/test_helpers/clock/advance", json={"seconds": 3 * 86_400 + 7_200}, headers=alice.auth
    )

    assert advanced.status_code == 200, advanced.text
    assert latest_cutoff_day(parse_time(advanced.json()["now"]), CUTOFF) == day0 + 3 * ONE_DAY
    rewards = (await get(env, "/v1/rewards?limit=100", alice.auth))["rewards"]
    assert len(rewards) == 6
    by_contract = {
        a["id"]: sorted(r["date"] for r in rewards if r["activation_id"] == a["id"])
        for a in (ultra, starter)
    }
    assert by_contract == {ultra["id"]: expected_days, starter["id"]: expected_days}
    assert {(r["contract"], r["amount"]) for r in rewards} == {
        ("Ultra Miner", "130.00"),
        ("Starter Miner", "6.67"),
    }
    assert all(r["id"].startswith("tx_") for r in rewards)
    transactions = (await get(env, "/v1/transactions?type=reward&limit=100", alice.auth))["data"]
    assert sorted((t["id"], t["amount"], t["date"]) for t in transactions) == sorted(
        (r["id"], r["amount"], r["date"]) for r in rewards
    )
    assert {(t["type"], t["direction"]) for t in transactions} == {("reward", "credit")}
    assert {t["reference"] for t in transactions} == {ultra["id"], starter["id"]}
    balance = await get(env, "/v1/balance", alice.auth)
    paid = 3 * (ULTRA_REWARD + STARTER_REWARD)
    assert (balance["available"], balance["total_rewards"], balance["in_contracts"]) == (
        "7610.01",
        "410.01",
        "2800.00",
    )
    assert await balances(env.db, customer_available(alice.id), Platform.REWARD_RESERVED) == {
        customer_available(alice.id): 7_200_000_000 + paid,
        Platform.REWARD_RESERVED: DAYS * (ULTRA_REWARD + STARTER_REWARD) - paid,
    }
    for activation in (ultra, starter):
        shown = await get(env, f"/v1/contracts/activations/{activation['id']}", alice.auth)
        assert (shown["rewards_paid"], shown["status"], shown["expired_at"]) == (3, "active", None)
        stored = await stored_activation(env.db, activation["id"])
        assert stored.next_reward_on == day0 + 4 * ONE_DAY

    events = (await get(env, "/v1/events?type=reward.credited&limit=100", alice.auth))["data"]
    assert len(events) == 6
    for event in events:
        assert event["id"].startswith("evt_")
        assert event["event"] == "reward.credited"
        assert set(event["data"]) == REWARD_KEYS
    assert sorted(
        (e["data"]["id"], e["data"]["date"], e["data"]["contract"], e["data"]["amount"])
        for e in events
    ) == sorted((r["id"], r["date"], r["contract"], r["amount"]) for r in rewards)
    assert {e["data"]["activation_id"] for e in events} == {ultra["id"], starter["id"]}
    async with env.db.read() as session:
        deliveries = await session.scalars(
            select(WebhookDelivery.status).where(WebhookDelivery.endpoint_seq == endpoint_seq)
        )
        # Two contract.activated events plus the six rewards, each queued once.
        assert list(deliveries) == ["pending"] * 8

    assert await run_accrual(env) == 0
    assert len((await get(env, "/v1/rewards?limit=100", alice.auth))["rewards"]) == 6
    assert await invariant_problems(env.db) == []
    assert await solvency_problems(env.db) == []


async def test_the_first_reward_is_the_first_cutoff_a_full_day_after_activation(env: Env) -> None:
    await open_for_business(env.db)
    early = await make_customer(env.db, env.settings, deposit="1000.00")
    late = await make_customer(env.db, env.settings, deposit="1000.00")
    day0 = (await deployment_now(env.db)).date() + ONE_DAY

    await land_before(env.db, at(day0, 6, 0), seconds=1)  # 05:59:58.x - 05:59:59
    before = await activate(env, early, "starter")
    await land_after(env.db, at(day0, 6, 0), seconds=1)  # 06:00:01 - 06:00:02
    after = await activate(env, late, "starter")

    before_at = (await stored_activation(env.db, before["id"])).activated_at
    after_at = (await stored_activation(env.db, after["id"])).activated_at
    assert at(day0, 5, 59, 58) <= before_at < at(day0, 6, 0)
    assert at(day0, 6, 0, 1) <= after_at < at(day0, 6, 0, 3)
    # 05:59:59 + 24 h is before day0+1's cut-off; 06:00:01 + 24 h is after it.
    assert first_reward_day(before_at, CUTOFF) == day0 + ONE_DAY
    assert first_reward_day(after_at, CUTOFF) == day0 + 2 * ONE_DAY

    # A second before day0+1's cut-off nothing is due; at it only the early one is.
    await land_before(env.db, at(day0 + ONE_DAY, 6, 0), seconds=1)
    assert await run_accrual(env) == 0
    await land_after(env.db, at(day0 + ONE_DAY, 6, 0), seconds=0)
    assert await run_accrual(env) == 1
    assert await reward_days(env.db, before["id"]) == [day0 + ONE_DAY]
    assert await reward_days(env.db, after["id"]) == []

    await land_after(env.db, at(day0 + 2 * ONE_DAY, 6, 0), seconds=0)
    assert await run_accrual(env) == 2
    assert await reward_days(env.db, before["id"]) == [day0 + ONE_DAY, day0 + 2 * ONE_DAY]
    assert await reward_days(env.db, after["id"]) == [day0 + 2 * ONE_DAY]
    assert await run_accrual(env) == 0
    assert await invariant_problems(env.db) == []
    assert await solvency_problems(env.db) == []


async def test_a_contract_pays_exactly_its_term_then_expires(env: Env) -> None:
    await open_for_business(env.db)
    alice = await make_customer(env.db, env.settings, deposit="3000.00")
    async with env.db.read() as session:
        sold_before = (await session.execute(select(Fleet.sold_mths))).scalar_one()
    ultra = await activate(env, alice, "ultra")
    stored = await stored_activation(env.db, ultra["id"])
    first = first_reward_day(stored.activated_at, CUTOFF)

    # Missed cut-offs are caught up: one step of 400 days pays all 365 rewards at once.
    advanced = await env.client.post(
        "/v1/test_helpers/clock/advance", json={"seconds": 400 * 86_400}, headers=alice.auth
    )

    assert advanced.status_code == 200, advanced.text
    moved_to = parse_time(advanced.json()["now"])
    assert await reward_days(env.db, ultra["id"]) == [first + n * ONE_DAY for n in range(DAYS)]
    shown = await get(env, f"/v1/contracts/activations/{ultra['id']}", alice.auth)
    assert (shown["status"], shown["rewards_paid"]) == ("expired", DAYS)
    expired_at = (await stored_activation(env.db, ultra["id"])).expired_at
    assert expired_at is not None
    assert moved_to <= expired_at < moved_to + timedelta(seconds=30)
    assert shown["expired_at"] == rfc3339(expired_at)
    async with env.db.read() as session:
        assert (await session.execute(select(Fleet.sold_mths))).scalar_one() == sold_before
    assert (await balances(env.db, Platform.REWARD_RESERVED))[Platform.REWARD_RESERVED] == 0
    balance = await get(env, "/v1/balance", alice.auth)
    assert (balance["available"], balance["total_rewards"], balance["in_contracts"]) == (
        "47850.00",
        "47450.00",
        "0.00",
    )
    expired = (await get(env, "/v1/events?type=contract.expired", alice.auth))["data"]
    assert [e["data"] for e in expired] == [
        {
            "id": ultra["id"],
            "contract": "Ultra Miner",
            "contract_id": "ultra",
            "status": "expired",
            "rewards_paid": DAYS,
            "duration_days": DAYS,
            "expired_at": rfc3339(expired_at),
        }
    ]
    credited = await get(env, "/v1/events?type=reward.credited&limit=100", alice.auth)
    assert credited["has_more"] is True  # 365 of them; the first page holds the newest
    assert credited["data"][0]["data"]["date"] == (first + (DAYS - 1) * ONE_DAY).isoformat()

    # An expired contract earns nothing more, however far the clock runs.
    await move_clock(env.db, 10 * 86_400)
    assert await run_accrual(env) == 0
    assert await reward_count(env.db) == DAYS
    assert await invariant_problems(env.db) == []
    assert await solvency_problems(env.db) == []


async def test_small_chunks_pay_each_contract_its_own_days(env: Env) -> None:
    """Contracts activated on different days share chunks; each gets exactly its days."""
    await open_for_business(env.db)
    customers = [await make_customer(env.db, env.settings, deposit="1000.00") for _ in range(3)]
    day0 = (await deployment_now(env.db)).date() + ONE_DAY
    activations: list[str] = []
    for offset, hour in ((0, 12), (1, 3), (2, 9)):  # day0 12:00, day0+1 03:00, day0+2 09:00
        await land_after(env.db, at(day0 + offset * ONE_DAY, hour), seconds=0)
        for who in customers:
            activations.append((await activate(env, who, "starter"))["id"])
    await land_after(env.db, at(day0 + 6 * ONE_DAY, 7), seconds=0)
    target = day0 + 6 * ONE_DAY
    seen: list[AccrualProgress] = []

    done = await accrue(env.db, batch_size=2, on_progress=seen.append)

    expected: dict[str, list[Any]] = {}
    for activation_id in activations:
        stored = await stored_activation(env.db, activation_id)
        first = first_reward_day(stored.activated_at, CUTOFF)
        expected[activation_id] = [first + n * ONE_DAY for n in range((target - first).days + 1)]
        assert await reward_days(env.db, activation_id) == expected[activation_id]
    # day0 12:00 -> day0+2 .. day0+6 (5); day0+1 03:00 -> day0+2 .. (5); day0+2 09:00 -> (3)
    assert sorted(len(days) for days in expected.values()) == [3] * 3 + [5] * 6
    assert done.rewards == 39 == await reward_count(env.db)
    assert (done.contracts, done.chunks, done.target) == (9, 5, target)
    assert seen[-1] is done
    assert [p.rewards for p in seen] == sorted(p.rewards for p in seen)
    assert await run_accrual(env) == 0
    assert await invariant_problems(env.db) == []
    assert await solvency_problems(env.db) == []


async def test_the_database_refuses_a_second_credit_for_the_same_day(env: Env) -> None:
    await open_for_business(env.db)
    alice = await make_customer(env.db, env.settings, deposit="1000.00")
    starter = await activate(env, alice, "starter")
    await move_clock(env.db, 3 * 86_400)
    assert await run_accrual(env) > 0
    activation = await stored_activation(env.db, starter["id"])
    day = (await reward_days(env.db, starter["id"]))[0]
    now = await deployment_now(env.db)

    with pytest.raises(IntegrityError):
        async with env.db.write() as session:
            await ledger.post(
                session,
                [
                    ledger.Leg(
                        debit=Platform.REWARD_RESERVED,
                        credit=customer_available(alice.id),
                        amount=activation.daily_reward,
                        kind=TransferKind.REWARD,
                        idempotency_key=f"{activation.id}:reward:{day.isoformat()}",
                        customer_seq=alice.seq,
                        direction=TransferDirection.CREDIT,
                        reference=activation.id,
                        value_date=day,
                    )
                ],
                now,
            )

    assert await run_accrual(env) == 0
    assert await invariant_problems(env.db) == []
    assert await solvency_problems(env.db) == []


async def test_a_pass_that_cannot_balance_writes_nothing(env: Env) -> None:
    """A reserve short of the pass (books tampered with) stops it whole, loudly."""
    await open_for_business(env.db)
    alice = await make_customer(env.db, env.settings, deposit="1000.00")
    await activate(env, alice, "starter")
    await move_clock(env.db, 3 * 86_400)
    async with env.db.write() as session:
        await session.execute(
            update(LedgerAccount)
            .where(LedgerAccount.code == Platform.REWARD_RESERVED)
            .values(balance=STARTER_REWARD - 1)
        )

    with pytest.raises(IntegrityError):
        await run_accrual(env)

    assert await reward_count(env.db) == 0
    async with env.db.read() as session:
        assert (await session.execute(select(Activation.rewards_paid))).scalar_one() == 0
        kinds = await session.scalars(select(LedgerTransfer.kind).distinct())
        assert "reward" not in set(kinds)
