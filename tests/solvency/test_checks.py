"""Each check of the solvency report fires on the corruption it exists for, and only it:
every reserve against the rows it backs, the fleet against the contracts it hosts, and
the ledger invariants (`mtx ledger check`) beneath them."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import CursorResult, select, update

from miningtx.kit.db import Database
from miningtx.kit.money import format_amount
from miningtx.ledger.accounts import Platform
from miningtx.models import Activation, Fleet, LedgerAccount, Stake, Withdrawal
from miningtx.solvency.service import RESERVES, solvency_report
from tests.conftest import Env
from tests.factories import open_for_business
from tests.staking.factories import open_staking, stake
from tests.wallet.factories import verified_customer, withdraw

#: What the busy platform below holds: one ultra contract (130.00 a day for 365 days),
#: a 1000.00 stake for 180 days (420 %) and a 100.00 withdrawal.
HELD = {
    Platform.STAKES_LOCKED: 1_000_000_000,
    Platform.STAKING_RESERVED: 4_200_000_000,
    Platform.PENDING_WITHDRAWALS: 100_000_000,
    Platform.REWARD_RESERVED: 47_450_000_000,
}
DAILY_REWARD = 130_000_000


async def problems_of(db: Database) -> list[str]:
    async with db.snapshot() as session:
        return (await solvency_report(session)).problems


async def busy_platform(env: Env) -> int:
    """Every reserve and the fleet hold something, made through the API; returns the
    hash rate sold (mTH/s)."""
    await open_for_business(env.db)
    await open_staking(env.db)
    alice = await verified_customer(env.db, env.settings, deposit="5000.00")
    activated = await env.client.post(
        "/v1/contracts/activate", json={"contract_id": "ultra"}, headers=alice.auth
    )
    assert activated.status_code == 200, activated.text
    await stake(env, alice, "1000.00", 180)
    await withdraw(env, alice, "100.00")
    async with env.db.snapshot() as session:
        report = await solvency_report(session)
        sold = (await session.execute(select(Fleet.sold_mths).where(Fleet.id == 1))).scalar_one()
    assert {code: report.liabilities[name] for name, code in RESERVES.items()} == HELD
    assert sold > 0
    return int(sold)


def holds_but_backs(code: Platform, backs: int) -> str:
    return f"{code}: holds {format_amount(HELD[code])} but backs {format_amount(backs)}"


#: name -> (the one UPDATE that corrupts what a check guards, the problems it must report)
CORRUPTIONS: dict[str, tuple[Any, Callable[[int], list[str]]]] = {
    # amount and payout together: the locked amount drifts, the yield (payout - amount) not
    "stakes_locked": (
        update(Stake).values(amount=Stake.amount + 1, payout=Stake.payout + 1),
        lambda _sold: [holds_but_backs(Platform.STAKES_LOCKED, HELD[Platform.STAKES_LOCKED] + 1)],
    ),
    "staking_reserved": (
        update(Stake).values(payout=Stake.payout + 1),
        lambda _sold: [
            holds_but_backs(Platform.STAKING_RESERVED, HELD[Platform.STAKING_RESERVED] + 1)
        ],
    ),
    "pending_withdrawals": (
        update(Withdrawal).values(amount=Withdrawal.amount - 1),
        lambda _sold: [
            holds_but_backs(Platform.PENDING_WITHDRAWALS, HELD[Platform.PENDING_WITHDRAWALS] - 1)
        ],
    ),
    "reward_reserved": (
        update(Activation).values(rewards_paid=Activation.rewards_paid + 1),
        lambda _sold: [
            holds_but_backs(Platform.REWARD_RESERVED, HELD[Platform.REWARD_RESERVED] - DAILY_REWARD)
        ],
    ),
    "fleet_sold": (
        update(Fleet).where(Fleet.id == 1).values(sold_mths=Fleet.sold_mths + 1),
        lambda sold: [f"fleet: {sold + 1} mTH/s sold but active contracts use {sold}"],
    ),
    "fleet_hosted": (
        update(Activation).values(hash_mths=Activation.hash_mths - 1),
        lambda sold: [f"fleet: {sold} mTH/s sold but active contracts use {sold - 1}"],
    ),
}


@pytest.mark.parametrize("corruption", list(CORRUPTIONS))
async def test_each_reserve_and_fleet_check_fires_on_its_own_corruption_only(
    env: Env, corruption: str
) -> None:
    sold = await busy_platform(env)
    statement, expected = CORRUPTIONS[corruption]
    before = await problems_of(env.db)

    async with env.db.write() as session:
        changed = await session.execute(statement)
        assert isinstance(changed, CursorResult)
        assert changed.rowcount == 1  # exactly one row corrupted
    after = await problems_of(env.db)

    assert before == []
    assert after == expected(sold)


async def test_a_balance_that_drifts_from_its_transfers_fires_that_invariant_only(
    env: Env,
) -> None:
    await busy_platform(env)
    before = await problems_of(env.db)
    # One unit moved between two accounts no reserve check reads: the books still sum to 0.
    async with env.db.write() as session:
        for code, change in ((Platform.SALES, -1), (Platform.FEES, +1)):
            await session.execute(
                update(LedgerAccount)
                .where(LedgerAccount.code == code)
                .values(balance=LedgerAccount.balance + change)
            )
    after = await problems_of(env.db)

    assert before == []
    assert sorted(after) == sorted(
        [
            f"{Platform.SALES}: balance 2599999999 but transfers sum to 2600000000",
            f"{Platform.FEES}: balance 1 but transfers sum to 0",
        ]
    )
