"""Shared by the accrual, maturity and worker tests: move the sandbox clock to chosen
instants, run the time jobs, read back what they did."""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import and_, func, insert, select, update

from miningtx.config import Settings
from miningtx.kit.clock import ONE_DAY, first_reward_day, latest_cutoff_day
from miningtx.kit.db import Database
from miningtx.kit.ids import new_id
from miningtx.kit.jobs import WorkerContext
from miningtx.ledger import service as ledger
from miningtx.ledger.accounts import Platform, customer_available
from miningtx.mining.tasks import accrue_rewards
from miningtx.models import (
    Activation,
    Customer,
    Event,
    Fleet,
    LedgerTransfer,
    MiningContract,
    TransferDirection,
    TransferKind,
)
from miningtx.solvency.service import solvency_report
from tests.conftest import Env
from tests.factories import CustomerWithKey, make_customer, open_for_business
from tests.servers import Seed

#: The cut-off every expectation below is written against (MTX_DAILY_CUTOFF's default).
CUTOFF = time(6, 0)
#: The process tests' platform: 3,000 contracts owed about five days of rewards each.
CUSTOMERS = 60
PER_CUSTOMER = 50
DAYS_AHEAD = 5
#: Seconds any one wait of a process test may take.
DEADLINE = 45.0


def at(day: date, hour: int, minute: int = 0, second: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute, second), tzinfo=UTC)


async def deployment_now(db: Database) -> datetime:
    async with db.read() as session:
        return await db.clock.sync(session)


async def move_clock(db: Database, seconds: int) -> datetime:
    """Move the deployment's clock without running any job; returns the new now."""
    async with db.write() as session:
        return await db.clock.advance(session, seconds)


async def land_before(db: Database, moment: datetime, seconds: int = 1) -> datetime:
    """Move the clock so that now lies within the second before `moment - seconds`."""
    now = await deployment_now(db)
    return await move_clock(db, math.floor((moment - now).total_seconds()) - seconds)


async def land_after(db: Database, moment: datetime, seconds: int = 1) -> datetime:
    """Move the clock so that now lies within the second after `moment + seconds`."""
    now = await deployment_now(db)
    return await move_clock(db, math.ceil((moment - now).total_seconds()) + seconds)


async def run_accrual(env: Env) -> int:
    return await accrue_rewards(WorkerContext(env.db, env.settings))


async def activate(env: Env, who: CustomerWithKey, contract_id: str) -> dict[str, Any]:
    response = await env.client.post(
        "/v1/contracts/activate", json={"contract_id": contract_id}, headers=who.auth
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def stored_activation(db: Database, activation_id: str) -> Activation:
    async with db.read() as session:
        return (
            await session.execute(select(Activation).where(Activation.id == activation_id))
        ).scalar_one()


async def reward_days(db: Database, activation_id: str) -> list[date]:
    """The days credited to one activation, in the order they were credited."""
    async with db.read() as session:
        rows = await session.scalars(
            select(LedgerTransfer.value_date)
            .where(LedgerTransfer.kind == "reward", LedgerTransfer.reference == activation_id)
            .order_by(LedgerTransfer.seq)
        )
        return list(rows)


async def reward_count(db: Database) -> int:
    async with db.read() as session:
        return int(
            (
                await session.execute(
                    select(func.count(LedgerTransfer.seq)).where(LedgerTransfer.kind == "reward")
                )
            ).scalar_one()
        )


async def solvency_problems(db: Database) -> list[str]:
    async with db.snapshot() as session:
        return (await solvency_report(session)).problems


@dataclass(frozen=True)
class Seeded:
    """Activations made for the worker tests, and when the clock says rewards are owed."""

    activation_ids: list[str]
    customers: list[CustomerWithKey]


async def seed_activations(
    db: Database, settings: Settings, *, customers: int, per_customer: int, spread_days: int = 3
) -> Seeded:
    """`customers` customers with `per_customer` starter contracts each, bought at random
    moments of the last `spread_days` days, so chunks hold contracts on different schedules.

    Writes in bulk exactly what `mining.service.activate` writes for each (activation row,
    reservation, price, fleet capacity), so every reconciliation of the books holds;
    activating thousands one by one would take the test's whole time budget.
    """
    await open_for_business(db)
    people = [
        await make_customer(db, settings, deposit=f"{per_customer * 200}.00")
        for _ in range(customers)
    ]
    pick = random.Random(customers * 1_000 + per_customer)
    async with db.write() as session:
        now = await db.clock.sync(session)
        contract = await session.get_one(MiningContract, "starter")
        rows: list[dict[str, Any]] = []
        for who in people:
            for _ in range(per_customer):
                bought = now - timedelta(seconds=pick.randrange(spread_days * 86_400))
                rows.append(
                    {
                        "id": new_id("ct"),
                        "customer_seq": who.seq,
                        "contract_id": contract.id,
                        "contract_name": contract.name,
                        "price": contract.price,
                        "hash_mths": contract.hash_mths,
                        "daily_reward": contract.daily_reward,
                        "duration_days": contract.duration_days,
                        "rewards_paid": 0,
                        "next_reward_on": first_reward_day(bought, db.clock.cutoff),
                        "status": "active",
                        "activated_at": bought,
                        "expired_at": None,
                    }
                )
        await session.execute(insert(Activation).execution_options(render_nulls=True), rows)
        seed = new_id("seed")
        await ledger.post(
            session,
            [
                ledger.Leg(
                    debit=Platform.REWARD_POOL,
                    credit=Platform.REWARD_RESERVED,
                    amount=len(rows) * contract.daily_reward * contract.duration_days,
                    kind=TransferKind.REWARD_RESERVATION,
                    idempotency_key=f"{seed}:reserve",
                ),
                *(
                    ledger.Leg(
                        debit=customer_available(who.id),
                        credit=Platform.SALES,
                        amount=per_customer * contract.price,
                        kind=TransferKind.CONTRACT,
                        idempotency_key=f"{seed}:{who.id}:price",
                        customer_seq=who.seq,
                        direction=TransferDirection.DEBIT,
                    )
                    for who in people
                ),
            ],
            now,
        )
        await session.execute(
            update(Fleet).values(sold_mths=Fleet.sold_mths + len(rows) * contract.hash_mths)
        )
    return Seeded([row["id"] for row in rows], people)


async def expected_rewards(db: Database) -> dict[str, int]:
    """Rewards each activation is owed by now: one per cut-off from its first, up to its term."""
    now = await deployment_now(db)
    target = latest_cutoff_day(now, db.clock.cutoff)
    async with db.read() as session:
        rows = await session.execute(
            select(Activation.id, Activation.activated_at, Activation.duration_days)
        )
        owed: dict[str, int] = {}
        for row in rows:
            first = first_reward_day(row.activated_at, db.clock.cutoff)
            owed[row.id] = max(0, min(row.duration_days, (target - first).days + 1))
    return owed


async def books_problems(db: Database) -> list[str]:
    """Everything that must hold after any accrual, however it was interrupted."""
    problems = await solvency_problems(db)
    async with db.read() as session:
        per_activation = await session.execute(
            select(
                Activation.id,
                Activation.rewards_paid,
                Activation.next_reward_on,
                func.count(LedgerTransfer.seq).label("rows"),
                func.count(func.distinct(LedgerTransfer.value_date)).label("days"),
                func.min(LedgerTransfer.value_date).label("first"),
                func.max(LedgerTransfer.value_date).label("last"),
            )
            .outerjoin(
                LedgerTransfer,
                and_(LedgerTransfer.reference == Activation.id, LedgerTransfer.kind == "reward"),
            )
            .group_by(Activation.id, Activation.rewards_paid, Activation.next_reward_on)
        )
        for row in per_activation:
            if not row.rows == row.days == row.rewards_paid:
                problems.append(
                    f"{row.id}: {row.rows} rewards on {row.days} days, "
                    f"rewards_paid {row.rewards_paid}"
                )
            elif row.rows and (
                (row.last - row.first).days + 1 != row.rows
                or row.last + ONE_DAY != row.next_reward_on
            ):
                problems.append(
                    f"{row.id}: rewards {row.first}..{row.last} with gaps or next reward "
                    f"{row.next_reward_on}"
                )
        customers = await session.execute(
            select(Customer.id, Customer.total_rewards).where(
                Customer.total_rewards
                != select(func.coalesce(func.sum(LedgerTransfer.amount), 0))
                .where(LedgerTransfer.customer_seq == Customer.seq, LedgerTransfer.kind == "reward")
                .scalar_subquery()
            )
        )
        problems.extend(f"{row.id}: total_rewards {row.total_rewards} off" for row in customers)
        rewards = await reward_count(db)
        events = (
            await session.execute(
                select(func.count(Event.seq)).where(Event.type == "reward.credited")
            )
        ).scalar_one()
        if events != rewards:
            problems.append(f"{events} reward.credited events for {rewards} rewards")
        transfers = (
            await session.execute(
                select(func.count(LedgerTransfer.seq)).where(LedgerTransfer.kind == "reward")
            )
        ).scalar_one()
        if transfers != rewards:
            problems.append(f"{transfers} reward transfers for {rewards} rewards")
    return problems


async def owed_in_days(seed: Seed) -> dict[str, int]:
    """Seed the contracts, then move the clock to midday some days on (far from a cut-off,
    so the target day cannot change while the test runs); returns what each is owed."""
    await seed_activations(seed.db, seed.settings, customers=CUSTOMERS, per_customer=PER_CUSTOMER)
    today = (await deployment_now(seed.db)).date()
    await land_after(seed.db, at(today + DAYS_AHEAD * ONE_DAY, 12), seconds=0)
    owed = await expected_rewards(seed.db)
    assert len(owed) == CUSTOMERS * PER_CUSTOMER
    assert min(owed.values()) >= DAYS_AHEAD - 1
    return owed


async def paid_per_activation(seed: Seed) -> dict[str, int]:
    async with seed.db.read() as session:
        rows = await session.execute(select(Activation.id, Activation.rewards_paid))
        return {row.id: row.rewards_paid for row in rows}
