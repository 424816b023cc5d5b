"""Staking plans and terms: as documented, changed by the operator, fixed per stake."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import pytest
from sqlalchemy import delete

from miningtx.kit.clock import utcnow
from miningtx.kit.db import Database, WriteSession
from miningtx.kit.errors import ApiError
from miningtx.models import StakingPlan
from miningtx.staking import repository
from miningtx.staking import service as staking
from tests.conftest import Env
from tests.factories import invariant_problems, make_customer
from tests.staking.factories import STAKES, complete, open_staking, post_stake, stake, stored_stake

PLANS = "/v1/staking/plans"
Change = Callable[[WriteSession], Awaitable[object]]


async def operator(db: Database, change: Change) -> None:
    """Apply one operator change in its own unit of work, as the CLI will."""
    async with db.write() as session:
        await change(session)


async def test_plans_match_the_documentation(env: Env) -> None:
    alice = await make_customer(env.db, env.settings)

    response = await env.client.get(PLANS, headers=alice.auth)

    assert response.status_code == 200
    assert response.json() == {
        "min_amount": "100.00",
        "max_amount": "50000.00",
        "plans": [
            {"days": 30, "roi_percent": "60"},
            {"days": 180, "roi_percent": "420"},
            {"days": 365, "roi_percent": "1000"},
        ],
    }
    assert (await env.client.get(PLANS)).status_code == 401


async def test_operator_adds_and_removes_a_plan_point(env: Env) -> None:
    await open_staking(env.db)
    alice = await make_customer(env.db, env.settings, deposit="2000.00")

    async with env.db.write() as session:
        added = await staking.set_plan(session, 90, 2_501_234, operator=None, now=utcnow())
    with_point = (await env.client.get(PLANS, headers=alice.auth)).json()["plans"]
    # 60 days sits halfway between 30 (60%) and 90 (250.1234%): 155.0617 truncated.
    between = await stake(env, alice, "1000.00", 60)

    assert (added.days, added.roi_e4) == (90, 2_501_234)
    assert with_point == [
        {"days": 30, "roi_percent": "60"},
        {"days": 90, "roi_percent": "250.1234"},
        {"days": 180, "roi_percent": "420"},
        {"days": 365, "roi_percent": "1000"},
    ]
    assert (between["roi_percent"], between["payout"]) == ("155.0617", "2550.617")

    async with env.db.write() as session:
        await staking.remove_plan(session, 90, operator=None, now=utcnow())
    # Back on the 30->180 line: 60 + 360 x 30 / 150 = 132.
    after = await stake(env, alice, "1000.00", 60)

    assert (after["roi_percent"], after["payout"]) == ("132", "2320.00")
    async with env.db.read() as session:
        _, points = await repository.plans(session)
    assert [(p.days, p.roi_e4) for p in points] == [
        (30, 600_000),
        (180, 4_200_000),
        (365, 10_000_000),
    ]
    assert await invariant_problems(env.db) == []


async def test_stakes_keep_the_terms_they_were_created_with(env: Env) -> None:
    await open_staking(env.db)
    alice = await make_customer(env.db, env.settings, deposit="3000.00")
    created = await stake(env, alice, "1000.00", 180)

    async with env.db.write() as session:
        await staking.set_plan(session, 180, 5_000_000, operator=None, now=utcnow())
        terms = await staking.set_terms(
            session, min_amount=1_500_000_000, operator=None, now=utcnow()
        )
    assert (terms.min_amount, terms.max_amount) == (1_500_000_000, 50_000_000_000)

    shown = (await env.client.get(f"{STAKES}/{created['id']}", headers=alice.auth)).json()
    below = await post_stake(env, alice, "1000.00", 180)
    newer = await stake(env, alice, "1500.00", 180)

    assert (shown["roi_percent"], shown["payout"]) == ("420", "5200.00")
    assert below.status_code == 400
    assert below.json()["error"]["code"] == "amount_below_minimum"
    assert below.json()["error"]["message"] == "The minimum stake is 1500.00 USDT."
    assert (newer["roi_percent"], newer["payout"]) == ("500", "9000.00")
    plans = (await env.client.get(PLANS, headers=alice.auth)).json()
    assert plans["min_amount"] == "1500.00"
    assert plans["plans"][1] == {"days": 180, "roi_percent": "500"}

    end = (await stored_stake(env.db, created["id"])).end_time
    paid = await complete(env.db, created["id"], end)

    assert paid is not None
    assert paid.payout == 5_200_000_000
    assert (await env.client.get("/v1/balance", headers=alice.auth)).json()[
        "available"
    ] == "5700.00"
    assert await invariant_problems(env.db) == []


async def test_operator_changes_are_checked(env: Env) -> None:
    changes: list[Change] = [
        lambda s: staking.set_terms(s, min_amount=60_000_000_000, operator=None, now=utcnow()),
        lambda s: staking.set_terms(s, max_amount=50_000_000, operator=None, now=utcnow()),
        lambda s: staking.set_terms(s, min_amount=0, operator=None, now=utcnow()),
        lambda s: staking.set_terms(s, max_amount=-1, operator=None, now=utcnow()),
        lambda s: staking.set_plan(s, 29, 500_000, operator=None, now=utcnow()),
        lambda s: staking.set_plan(s, 366, 500_000, operator=None, now=utcnow()),
        lambda s: staking.set_plan(s, 90, -1, operator=None, now=utcnow()),
        lambda s: staking.remove_plan(s, 30, operator=None, now=utcnow()),
        lambda s: staking.remove_plan(s, 365, operator=None, now=utcnow()),
        lambda s: staking.remove_plan(s, 90, operator=None, now=utcnow()),
    ]
    refusals: list[tuple[int, str, str | None]] = []

    for change in changes:
        with pytest.raises(ApiError) as caught:
            await operator(env.db, change)
        refusals.append((caught.value.status, caught.value.code, caught.value.param))

    assert refusals == [
        (400, "invalid_request", "min_amount"),
        (400, "invalid_request", "max_amount"),
        (400, "invalid_request", "min_amount"),
        (400, "invalid_request", "max_amount"),
        (400, "invalid_request", "days"),
        (400, "invalid_request", "days"),
        (400, "invalid_request", "roi_e4"),
        (409, "conflict", "days"),
        (409, "conflict", "days"),
        (404, "resource_missing", "days"),
    ]
    async with env.db.write() as session:
        terms = await staking.set_terms(
            session, min_amount=200_000_000, max_amount=200_000_000, operator=None, now=utcnow()
        )
        zero = await staking.set_plan(session, 45, 0, operator=None, now=utcnow())
    assert (terms.min_amount, terms.max_amount) == (200_000_000, 200_000_000)
    assert (zero.days, zero.roi_e4) == (45, 0)
    alice = await make_customer(env.db, env.settings)
    assert (await env.client.get(PLANS, headers=alice.auth)).json() == {
        "min_amount": "200.00",
        "max_amount": "200.00",
        "plans": [
            {"days": 30, "roi_percent": "60"},
            {"days": 45, "roi_percent": "0"},
            {"days": 180, "roi_percent": "420"},
            {"days": 365, "roi_percent": "1000"},
        ],
    }


async def test_a_zero_roi_stake_reserves_nothing(env: Env) -> None:
    alice = await make_customer(env.db, env.settings, deposit="100.00")
    async with env.db.write() as session:
        await staking.set_plan(session, 30, 0, operator=None, now=utcnow())

    created = await stake(env, alice, "100.00", 30)  # nothing funded in the staking pool

    assert (created["roi_percent"], created["payout"]) == ("0", "100.00")
    paid = await complete(
        env.db, created["id"], (await stored_stake(env.db, created["id"])).end_time
    )
    assert paid is not None
    assert (await env.client.get("/v1/balance", headers=alice.auth)).json()["available"] == "100.00"
    assert await invariant_problems(env.db) == []


async def test_days_outside_the_curve_are_refused(env: Env) -> None:
    await open_staking(env.db)
    alice = await make_customer(env.db, env.settings, deposit="1000.00")
    # An operator bypassing remove_plan's guard: the curve now starts at 180 days.
    async with env.db.write() as session:
        await session.execute(delete(StakingPlan).where(StakingPlan.days == 30))

    short = await post_stake(env, alice, "100.00", 100)
    inside = await post_stake(env, alice, "100.00", 180)

    assert short.status_code == 400
    assert short.json()["error"]["code"] == "invalid_request"
    assert short.json()["error"]["param"] == "days"
    assert short.json()["error"]["message"] == "days must be from 180 to 365."
    assert inside.status_code == 200
    assert inside.json()["payout"] == "520.00"
    assert await invariant_problems(env.db) == []
