"""The double-entry core: atomic posts, no overdraft, idempotency ids, provable invariants."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import text, update
from sqlalchemy.exc import IntegrityError

from miningtx.config import Settings
from miningtx.kit.clock import utcnow
from miningtx.kit.db import Database
from miningtx.ledger import service as ledger
from miningtx.ledger.accounts import Platform, customer_available
from miningtx.models import LedgerAccount, TransferKind
from tests.conftest import make_settings
from tests.factories import CustomerWithKey, invariant_problems, make_customer


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[Database]:
    database = Database(make_settings(database_url))
    yield database
    await database.dispose()


@pytest.fixture
def settings(database_url: str) -> Settings:
    return make_settings(database_url)


def leg(debit: str, credit: str, amount: int, key: str) -> ledger.Leg:
    # Any kind the ledger_transfers CHECK accepts: these tests are about the core, not a flow.
    return ledger.Leg(
        debit=debit, credit=credit, amount=amount, kind=TransferKind.CONTRACT, idempotency_key=key
    )


async def balance_of(db: Database, code: str) -> int:
    async with db.read() as session:
        return (await ledger.balances(session, [code]))[code]


async def test_a_failing_leg_rolls_back_the_whole_post(db: Database, settings: Settings) -> None:
    alice = await make_customer(db, settings, deposit="100.00")
    account = customer_available(alice.id)

    with pytest.raises(ledger.InsufficientFunds) as short:
        async with db.write() as session:
            await ledger.post(
                session,
                [
                    leg(account, Platform.SALES, 60_000_000, "t1"),
                    leg(account, Platform.FEES, 40_000_001, "t2"),
                ],
                utcnow(),
            )

    assert short.value.account_code == account
    assert await balance_of(db, account) == 100_000_000
    assert await balance_of(db, Platform.SALES) == 0
    assert await invariant_problems(db) == []


async def test_treasury_runs_negative_and_books_sum_to_zero(
    db: Database, settings: Settings
) -> None:
    await make_customer(db, settings, deposit="250.50")
    await make_customer(db, settings, deposit="0.000001")

    assert await balance_of(db, Platform.TREASURY_BSC) == -250_500_001
    assert await invariant_problems(db) == []


async def test_a_transfer_idempotency_id_is_used_once(db: Database, settings: Settings) -> None:
    alice = await make_customer(db, settings, deposit="10.00")
    async with db.write() as session:
        await ledger.post(
            session, [leg(customer_available(alice.id), Platform.SALES, 1, "once")], utcnow()
        )

    with pytest.raises(IntegrityError):
        async with db.write() as session:
            await ledger.post(
                session, [leg(customer_available(alice.id), Platform.SALES, 1, "once")], utcnow()
            )

    assert await balance_of(db, customer_available(alice.id)) == 9_999_999


async def test_the_database_itself_refuses_a_customer_overdraft(
    db: Database, settings: Settings
) -> None:
    alice = await make_customer(db, settings, deposit="10.00")

    with pytest.raises(IntegrityError):
        async with db.write() as session:
            await session.execute(
                update(LedgerAccount)
                .where(LedgerAccount.code == customer_available(alice.id))
                .values(balance=-1)
            )


async def test_the_invariant_check_finds_tampering(db: Database, settings: Settings) -> None:
    alice = await make_customer(db, settings, deposit="10.00")
    async with db.write() as session:
        await session.execute(
            text("UPDATE ledger_accounts SET balance = balance + 5 WHERE code = :code"),
            {"code": customer_available(alice.id)},
        )

    problems = await invariant_problems(db)

    assert "balances sum to 5, not 0" in problems
    assert any(p.startswith(customer_available(alice.id)) for p in problems)


async def test_opposite_transfers_on_many_connections_neither_deadlock_nor_drift(
    db: Database, settings: Settings
) -> None:
    people: list[CustomerWithKey] = [
        await make_customer(db, settings, deposit="1000.00") for _ in range(4)
    ]
    codes = [customer_available(p.id) for p in people]

    async def shuffle(i: int) -> None:
        debit, credit = codes[i % 4], codes[(i * 3 + 1) % 4]
        if debit == credit:
            credit = codes[(i + 2) % 4]
        async with db.write() as session:
            await ledger.post(
                session,
                [leg(debit, credit, 1_000_000 + i, f"s{i}"), leg(credit, debit, 500_000, f"r{i}")],
                utcnow(),
            )

    await asyncio.wait_for(asyncio.gather(*(shuffle(i) for i in range(60))), timeout=60)

    total = 0
    for code in codes:
        total += await balance_of(db, code)
    assert total == 4_000_000_000
    assert await invariant_problems(db) == []
