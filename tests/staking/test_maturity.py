"""Maturity: a due stake's whole payout is credited exactly once, from what was reserved."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from sqlalchemy import select

from miningtx.ledger.accounts import Platform, customer_available
from miningtx.models import LedgerTransfer
from miningtx.staking import repository
from tests.conftest import Env
from tests.factories import balances, invariant_problems, make_customer
from tests.staking.factories import STAKES, complete, open_staking, stake, stored_stake

POOL = 1_000_000_000_000  # open_staking: 1,000,000.00 USDT
TICK = timedelta(microseconds=1)


async def test_a_due_stake_pays_its_whole_payout_exactly_once(env: Env) -> None:
    await open_staking(env.db)
    alice = await make_customer(env.db, env.settings, deposit="2000.00")
    short = await stake(env, alice, "1000.00", 30)
    long = await stake(env, alice, "1000.00", 365)
    short_end = (await stored_stake(env.db, short["id"])).end_time
    long_end = (await stored_stake(env.db, long["id"])).end_time

    assert await complete(env.db, short["id"], short_end - TICK) is None
    assert await complete(env.db, long["id"], short_end) is None
    assert await complete(env.db, "stk_doesnotexist", long_end) is None
    assert (await env.client.get("/v1/balance", headers=alice.auth)).json()["available"] == "0.00"

    paid = await complete(env.db, short["id"], short_end)
    again = await complete(env.db, short["id"], short_end + timedelta(days=1))

    assert paid is not None
    assert (paid.id, paid.status, paid.completed_at) == (short["id"], "completed", short_end)
    assert again is None
    balance = (await env.client.get("/v1/balance", headers=alice.auth)).json()
    assert (balance["available"], balance["in_stakes"]) == ("1600.00", "1000.00")
    payouts = (
        await env.client.get("/v1/transactions?type=stake_payout", headers=alice.auth)
    ).json()["data"]
    assert [(t["type"], t["amount"], t["direction"], t["reference"]) for t in payouts] == [
        ("stake_payout", "1600.00", "credit", short["id"])
    ]
    everything = (await env.client.get("/v1/transactions", headers=alice.auth)).json()["data"]
    assert [t["type"] for t in everything] == ["stake_payout", "stake", "stake", "deposit"]
    async with env.db.read() as session:
        transfer = await session.scalar(
            select(LedgerTransfer).where(LedgerTransfer.seq == paid.payout_transfer_seq)
        )
    assert transfer is not None
    assert (transfer.id, transfer.kind, transfer.amount) == (
        payouts[0]["id"],
        "stake_payout",
        1_600_000_000,
    )
    # Only the 365-day stake is still locked and reserved (its 10000.00 yield).
    assert await balances(
        env.db, Platform.STAKES_LOCKED, Platform.STAKING_RESERVED, Platform.STAKING_POOL
    ) == {
        Platform.STAKES_LOCKED: 1_000_000_000,
        Platform.STAKING_RESERVED: 10_000_000_000,
        Platform.STAKING_POOL: POOL - 600_000_000 - 10_000_000_000,
    }
    shown = (await env.client.get(f"{STAKES}/{short['id']}", headers=alice.auth)).json()
    assert shown == {
        **short,
        "status": "completed",
        "completed_at": short["end_time"],
    }

    last = await complete(env.db, long["id"], long_end)

    assert last is not None
    balance = (await env.client.get("/v1/balance", headers=alice.auth)).json()
    assert (balance["available"], balance["in_stakes"]) == ("12600.00", "0.00")
    assert await balances(
        env.db,
        customer_available(alice.id),
        Platform.STAKES_LOCKED,
        Platform.STAKING_RESERVED,
        Platform.STAKING_POOL,
    ) == {
        customer_available(alice.id): 12_600_000_000,
        Platform.STAKES_LOCKED: 0,
        Platform.STAKING_RESERVED: 0,
        Platform.STAKING_POOL: POOL - 600_000_000 - 10_000_000_000,
    }
    assert await invariant_problems(env.db) == []


async def test_racing_completions_pay_once(env: Env) -> None:
    await open_staking(env.db)
    alice = await make_customer(env.db, env.settings, deposit="100.00")
    created = await stake(env, alice, "100.00", 30)
    end = (await stored_stake(env.db, created["id"])).end_time

    results = await asyncio.gather(*(complete(env.db, created["id"], end) for _ in range(5)))

    assert sum(result is not None for result in results) == 1
    assert (await env.client.get("/v1/balance", headers=alice.auth)).json()["available"] == "160.00"
    payouts = (
        await env.client.get("/v1/transactions?type=stake_payout", headers=alice.auth)
    ).json()["data"]
    assert [t["amount"] for t in payouts] == ["160.00"]
    assert await invariant_problems(env.db) == []


async def test_due_stakes_come_longest_overdue_first(env: Env) -> None:
    await open_staking(env.db)
    alice = await make_customer(env.db, env.settings, deposit="300.00")
    ninety = await stake(env, alice, "100.00", 90)
    thirty = await stake(env, alice, "100.00", 30)
    sixty = await stake(env, alice, "100.00", 60)
    sixty_end = (await stored_stake(env.db, sixty["id"])).end_time
    thirty_end = (await stored_stake(env.db, thirty["id"])).end_time

    async with env.db.read() as session:
        none_yet = await repository.due_stake_ids(session, thirty_end - TICK, 10)
        later = await repository.due_stake_ids(session, sixty_end + timedelta(days=60), 10)
        at_sixty = await repository.due_stake_ids(session, sixty_end, 10)
        first_only = await repository.due_stake_ids(session, sixty_end, 1)

    assert none_yet == []
    assert later == [thirty["id"], sixty["id"], ninety["id"]]
    assert at_sixty == [thirty["id"], sixty["id"]]
    assert first_only == [thirty["id"]]

    assert await complete(env.db, thirty["id"], sixty_end) is not None
    async with env.db.read() as session:
        assert await repository.due_stake_ids(session, sixty_end, 10) == [sixty["id"]]
    assert await invariant_problems(env.db) == []
