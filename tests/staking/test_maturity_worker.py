"""The maturity job: at end_time (by the deployment's clock) the payout is credited, once."""

from __future__ import annotations

from typing import Any

import pytest

from miningtx.kit.jobs import WorkerContext
from miningtx.ledger.accounts import Platform, customer_available
from miningtx.staking import tasks
from miningtx.staking.tasks import complete_due_stakes
from tests.conftest import Env
from tests.factories import balances, invariant_problems, make_customer
from tests.staking.factories import STAKES, open_staking, stake, stored_stake
from tests.worker.helpers import deployment_now, land_after, land_before, solvency_problems


async def run_maturities(env: Env) -> int:
    return await complete_due_stakes(WorkerContext(env.db, env.settings))


async def get(env: Env, path: str, auth: dict[str, str]) -> Any:
    response = await env.client.get(path, headers=auth)
    assert response.status_code == 200, response.text
    return response.json()


async def test_a_180_day_stake_pays_5200_at_end_time_and_not_a_second_earlier(env: Env) -> None:
    await open_staking(env.db)
    alice = await make_customer(env.db, env.settings, deposit="1000.00")
    created = await stake(env, alice, "1000.00", 180)
    assert (created["payout"], created["roi_percent"]) == ("5200.00", "420")
    end = (await stored_stake(env.db, created["id"])).end_time

    reached = await land_before(env.db, end, seconds=1)
    assert end.timestamp() - 2 < reached.timestamp() <= end.timestamp() - 1
    assert await run_maturities(env) == 0
    balance = await get(env, "/v1/balance", alice.auth)
    assert (balance["available"], balance["in_stakes"]) == ("0.00", "1000.00")
    assert (await get(env, f"{STAKES}/{created['id']}", alice.auth))["status"] == "active"

    await land_after(env.db, end, seconds=0)
    assert await run_maturities(env) == 1

    balance = await get(env, "/v1/balance", alice.auth)
    assert (balance["available"], balance["in_stakes"]) == ("5200.00", "0.00")
    shown = await get(env, f"{STAKES}/{created['id']}", alice.auth)
    completed_at = (await stored_stake(env.db, created["id"])).completed_at
    assert completed_at is not None
    assert end <= completed_at <= await deployment_now(env.db)
    assert shown == {**created, "status": "completed", "completed_at": shown["completed_at"]}
    events = (await get(env, "/v1/events?type=stake.completed", alice.auth))["data"]
    assert [e["data"] for e in events] == [shown]
    payouts = (await get(env, "/v1/transactions?type=stake_payout", alice.auth))["data"]
    assert [(t["amount"], t["direction"], t["reference"]) for t in payouts] == [
        ("5200.00", "credit", created["id"])
    ]
    assert await balances(
        env.db, customer_available(alice.id), Platform.STAKES_LOCKED, Platform.STAKING_RESERVED
    ) == {
        customer_available(alice.id): 5_200_000_000,
        Platform.STAKES_LOCKED: 0,
        Platform.STAKING_RESERVED: 0,
    }

    assert await run_maturities(env) == 0
    assert len((await get(env, "/v1/events?type=stake.completed", alice.auth))["data"]) == 1
    assert await invariant_problems(env.db) == []
    assert await solvency_problems(env.db) == []


async def test_the_clock_helper_pays_every_due_stake_batch_after_batch(
    env: Env, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(tasks, "BATCH", 2)
    await open_staking(env.db)
    alice = await make_customer(env.db, env.settings, deposit="500.00")
    short = [await stake(env, alice, "100.00", 30) for _ in range(4)]
    long = await stake(env, alice, "100.00", 60)

    # 45 days: the four 30-day stakes are due, the 60-day one is not.
    advanced = await env.client.post(
        "/v1/test_helpers/clock/advance", json={"seconds": 45 * 86_400}, headers=alice.auth
    )

    assert advanced.status_code == 200, advanced.text
    listed = (await get(env, f"{STAKES}?limit=100", alice.auth))["stakes"]
    assert {s["id"]: s["status"] for s in listed} == {
        **{s["id"]: "completed" for s in short},
        long["id"]: "active",
    }
    balance = await get(env, "/v1/balance", alice.auth)
    assert (balance["available"], balance["in_stakes"]) == ("640.00", "100.00")
    events = (await get(env, "/v1/events?type=stake.completed", alice.auth))["data"]
    assert sorted(e["data"]["id"] for e in events) == sorted(s["id"] for s in short)
    assert await run_maturities(env) == 0
    assert await invariant_problems(env.db) == []
    assert await solvency_problems(env.db) == []
