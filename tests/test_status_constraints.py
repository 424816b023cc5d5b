"""Statuses as types the database checks: every status and kind column holds only its
enum's values, refused by the engine itself; migration 0007 adds and drops the CHECKs
on a database holding data without losing a row, an index or a key."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from datetime import date, timedelta
from enum import StrEnum

import pytest
from alembic import command
from sqlalchemy import String, func, literal, select, text, update
from sqlalchemy import inspect as sqlalchemy_inspect
from sqlalchemy.exc import IntegrityError

from miningtx.kit.clock import utcnow
from miningtx.kit.db import Database
from miningtx.kit.ids import new_id
from miningtx.kit.migrate import alembic_config, upgrade
from miningtx.models import (
    Activation,
    ActivationStatus,
    Adjustment,
    AdjustmentCategory,
    AdjustmentStatus,
    Base,
    ChainTransaction,
    ChainTransactionKind,
    ChainTransactionStatus,
    Event,
    IdempotencyRecord,
    IdempotencyState,
    Operator,
    OperatorRole,
    PrincipalKind,
    Stake,
    StakeStatus,
    TransferDirection,
    WebhookDelivery,
    WebhookDeliveryStatus,
    WebhookEndpoint,
    WebhookEndpointStatus,
    WebSession,
    Withdrawal,
    WithdrawalStatus,
)
from miningtx.models.base import EnumString
from tests.conftest import make_settings
from tests.factories import make_customer

#: Every (table, column) whose Python type is a StrEnum, with that enum.
ENUM_COLUMNS: list[tuple[str, str, type[StrEnum]]] = sorted(
    (
        (table.name, column.name, column.type.enum)
        for table in Base.metadata.tables.values()
        for column in table.columns
        if isinstance(column.type, EnumString)
    ),
    key=lambda found: (found[0], found[1]),
)
#: Tables created after 0007 (by 0008: manual adjustments).
LATER_TABLES = {"adjustments"}
#: The account migration 0008 adds.
ADJUSTMENTS = "platform:adjustments"
#: The CHECKs migration 0007 owns (0006 created the operators' and web sessions' own).
MIGRATED = {
    f"ck_{table}_{column}"
    for table, column, _ in ENUM_COLUMNS
    if (table, column) not in {("operators", "role"), ("web_sessions", "principal_kind")}
    and table not in LATER_TABLES
}


def test_every_status_and_kind_column_is_typed_by_an_enum() -> None:
    assert [(table, column) for table, column, _ in ENUM_COLUMNS] == [
        ("adjustments", "category"),
        ("adjustments", "direction"),
        ("adjustments", "status"),
        ("chain_transactions", "kind"),
        ("chain_transactions", "status"),
        ("contract_activations", "status"),
        ("customers", "kyc_status"),
        ("deposits", "purpose"),
        ("deposits", "status"),
        ("idempotency_keys", "state"),
        ("ledger_accounts", "kind"),
        ("ledger_transfers", "direction"),
        ("ledger_transfers", "kind"),
        ("operators", "role"),
        ("stakes", "status"),
        ("web_sessions", "principal_kind"),
        ("webhook_deliveries", "status"),
        ("webhook_endpoints", "status"),
        ("withdrawals", "status"),
    ]
    assert len(MIGRATED) == 14


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[Database]:
    """A migrated database with at least one row in every table that has a status column."""
    database = Database(make_settings(database_url))
    settings = make_settings(database_url)
    customer = await make_customer(database, settings, deposit="25.00")
    now = utcnow()
    async with database.write() as session:
        endpoint = WebhookEndpoint(
            id=new_id("we"),
            customer_seq=customer.seq,
            url="https://example.com/hook",
            secret="whsec_test",
            status=WebhookEndpointStatus.ENABLED,
            created_at=now,
        )
        event = Event(
            id=new_id("evt"),
            customer_seq=customer.seq,
            type="test.status",
            source_key=new_id("src"),
            data={},
            created_at=now,
        )
        operator = Operator(
            id=new_id("op"),
            email="ops@example.com",
            role=OperatorRole.ADMIN,
            password_hash="not-a-hash",
            created_at=now,
        )
        session.add_all([endpoint, event, operator])
        await session.flush()
        session.add_all(
            [
                WebhookDelivery(
                    endpoint_seq=endpoint.seq,
                    event_seq=event.seq,
                    status=WebhookDeliveryStatus.PENDING,
                    attempts=0,
                    next_attempt_at=now,
                    created_at=now,
                ),
                Activation(
                    id=new_id("ct"),
                    customer_seq=customer.seq,
                    contract_id="starter",
                    contract_name="Starter Miner",
                    price=1,
                    hash_mths=1,
                    daily_reward=1,
                    duration_days=1,
                    rewards_paid=0,
                    next_reward_on=date(2030, 1, 1),
                    status=ActivationStatus.ACTIVE,
                    activated_at=now,
                ),
                Stake(
                    id=new_id("stk"),
                    customer_seq=customer.seq,
                    amount=1,
                    days=30,
                    roi_e4=0,
                    payout=1,
                    status=StakeStatus.ACTIVE,
                    start_time=now,
                    end_time=now + timedelta(days=30),
                ),
                Withdrawal(
                    id=new_id("wd"),
                    customer_seq=customer.seq,
                    network="bsc",
                    address="0x" + "11" * 20,
                    amount=2,
                    fee=1,
                    status=WithdrawalStatus.PENDING,
                    requested_at=now,
                ),
                ChainTransaction(
                    network="bsc",
                    kind=ChainTransactionKind.SWEEP,
                    from_address="0x" + "22" * 20,
                    to_address="0x" + "33" * 20,
                    nonce=0,
                    tx_hash="0x" + "44" * 32,
                    raw_tx="0x00",
                    value="1",
                    status=ChainTransactionStatus.SIGNED,
                    created_at=now,
                ),
                IdempotencyRecord(
                    customer_seq=customer.seq,
                    key="status-test",
                    request_hash="0" * 64,
                    state=IdempotencyState.IN_FLIGHT,
                    locked_at=now,
                    created_at=now,
                ),
                Adjustment(
                    id=new_id("adj"),
                    customer_seq=customer.seq,
                    direction=TransferDirection.CREDIT,
                    amount=1,
                    category=AdjustmentCategory.GOODWILL,
                    reason="status test",
                    status=AdjustmentStatus.PROPOSED,
                    proposed_by_seq=operator.seq,
                    proposed_at=now,
                ),
                WebSession(
                    token_hash="5" * 64,
                    principal_kind=PrincipalKind.OPERATOR,
                    principal_seq=operator.seq,
                    csrf_token="6" * 64,
                    awaiting_totp=False,
                    created_at=now,
                    expires_at=now + timedelta(hours=1),
                    last_seen_at=now,
                ),
            ]
        )
    yield database
    await database.dispose()


async def set_first_row(db: Database, table: str, column: str, value: str) -> None:
    """Write `value` into `column` of the table's first row, as plain text past any enum."""
    target = Base.metadata.tables[table]
    first = select(func.min(target.c.seq)).scalar_subquery()
    async with db.write() as session:
        await session.execute(
            update(target).where(target.c.seq == first).values({column: literal(value, String())})
        )


async def check_values(db: Database, table: str, column: str) -> list[str]:
    """The values the database's own catalog lists in the column's CHECK, in order."""
    name = f"ck_{table}_{column}"
    async with db.read() as session:
        if db.is_sqlite:
            ddl = (
                await session.execute(
                    text("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = :t"),
                    {"t": table},
                )
            ).scalar_one()
            found = re.search(rf"CONSTRAINT {name} CHECK \({column} IN \(([^)]*)\)\)", ddl)
            definition = found.group(1) if found else ""
        else:
            definition = (
                await session.execute(
                    text(
                        "SELECT pg_get_constraintdef(oid) FROM pg_constraint "
                        "WHERE conname = :name AND contype = 'c'"
                    ),
                    {"name": name},
                )
            ).scalar_one_or_none() or ""
    return re.findall(r"'([^']*)'", definition)


async def test_each_check_lists_exactly_its_enum(db: Database) -> None:
    for table, column, enum in ENUM_COLUMNS:
        assert await check_values(db, table, column) == [m.value for m in enum], (table, column)


async def test_the_database_accepts_every_member_and_refuses_anything_else(
    db: Database,
) -> None:
    for table, column, enum in ENUM_COLUMNS:
        for member in enum:
            await set_first_row(db, table, column, member)
        with pytest.raises(IntegrityError):
            await set_first_row(db, table, column, "bogus")


async def test_an_unknown_status_written_through_the_orm_is_refused(db: Database) -> None:
    async with db.read() as session:
        customer_seq = (await session.execute(text("SELECT min(seq) FROM customers"))).scalar()
    with pytest.raises(IntegrityError):
        async with db.write() as session:
            session.add(
                Withdrawal(
                    id=new_id("wd"),
                    customer_seq=customer_seq,
                    network="bsc",
                    address="0x" + "11" * 20,
                    amount=2,
                    fee=1,
                    status="bogus",
                    requested_at=utcnow(),
                )
            )


async def test_a_status_reads_back_as_its_enum_member(db: Database) -> None:
    async with db.read() as session:
        status = (await session.execute(select(Withdrawal.status))).scalar_one()
    assert status is WithdrawalStatus.PENDING


async def schema(db: Database) -> set[tuple[str, str]]:
    """The database's tables, indexes and constraints, as (object, definition line) pairs."""
    async with db.read() as session:
        if db.is_sqlite:
            rows = await session.execute(
                text("SELECT name, sql FROM sqlite_master WHERE name NOT LIKE 'sqlite_%'")
            )
            # A rebuilt table lists its clauses in another order and quotes its name.
            return {
                (name, line.strip().rstrip(",").replace('"', ""))
                for name, sql in rows
                for line in (sql or "").splitlines()
                if line.strip() not in ("", ")")
            }
        constraints = await session.execute(
            text(
                "SELECT conrelid::regclass::text, conname || ' ' || pg_get_constraintdef(oid) "
                "FROM pg_constraint WHERE connamespace = 'public'::regnamespace"
            )
        )
        indexes = await session.execute(
            text("SELECT tablename, indexdef FROM pg_indexes WHERE schemaname = 'public'")
        )
        return {(table, definition) for table, definition in [*constraints, *indexes]}


async def rows(
    db: Database, *, skip: set[str] | frozenset[str] = frozenset()
) -> dict[str, list[tuple[object, ...]]]:
    async with db.read() as session:
        return {
            table: [
                tuple(row)
                for row in await session.execute(
                    select(text("*")).select_from(target).order_by(target.c.seq)
                )
            ]
            for table in sorted({table for table, _, _ in ENUM_COLUMNS} - skip)
            for target in [Base.metadata.tables[table]]
        }


def without_migrated_checks(found: set[tuple[str, str]]) -> set[tuple[str, str]]:
    return {
        (name, line)
        for name, line in found
        if not any(re.match(rf"(CONSTRAINT )?{check}\b", line) for check in MIGRATED)
    }


def older_rows(
    data: dict[str, list[tuple[object, ...]]],
) -> dict[str, list[tuple[object, ...]]]:
    """`data` without the rows of revisions after 0007 (0008's adjustments and the
    `platform:adjustments` account), which a downgrade to 0007 removes."""
    return {
        table: [row for row in found if table != "ledger_accounts" or row[1] != ADJUSTMENTS]
        for table, found in data.items()
        if table not in LATER_TABLES
    }


async def test_0007_downgrades_and_upgrades_again_on_a_database_holding_data(
    db: Database, database_url: str
) -> None:
    at_head, data_at_head = await schema(db), await rows(db)
    await db.dispose()
    config = alembic_config(database_url)
    # Alembic runs its own event loop, so it gets a thread of its own. Later revisions
    # (0010_wallet_tiers) go first, so what follows is 0007 on its own.
    await asyncio.to_thread(command.downgrade, config, "0007")
    at_0007, data = await schema(db), await rows(db, skip=LATER_TABLES)
    assert without_migrated_checks(at_0007) != at_0007
    await db.dispose()
    await asyncio.to_thread(command.downgrade, config, "0006")

    assert await schema(db) == without_migrated_checks(at_0007)
    assert await rows(db, skip=LATER_TABLES) == data
    await set_first_row(db, "withdrawals", "status", "bogus")
    await set_first_row(db, "withdrawals", "status", WithdrawalStatus.PENDING)
    await db.dispose()

    await asyncio.to_thread(upgrade, database_url, "0007")
    assert await schema(db) == at_0007
    assert await rows(db, skip=LATER_TABLES) == data
    await db.dispose()
    await asyncio.to_thread(upgrade, database_url, "head")
    assert await schema(db) == at_head
    # What 0008 and later own (the adjustments and their account) went with their downgrade.
    assert older_rows(await rows(db)) == older_rows(data_at_head)
    with pytest.raises(IntegrityError):
        await set_first_row(db, "withdrawals", "status", "bogus")


async def test_0010_wallet_tiers_downgrades_keeping_cold_sweeps_as_sweeps(
    db: Database, database_url: str
) -> None:
    await set_first_row(db, "chain_transactions", "kind", ChainTransactionKind.COLD_SWEEP)
    assert "cold_sweep" in await check_values(db, "chain_transactions", "kind")
    await db.dispose()
    config = alembic_config(database_url)
    await asyncio.to_thread(command.downgrade, config, "0007")

    assert await check_values(db, "chain_transactions", "kind") == ["payout", "gas", "sweep"]
    async with db.read() as session:
        kinds = list(await session.scalars(text("SELECT kind FROM chain_transactions")))
        tables = await session.run_sync(
            lambda sync: sqlalchemy_inspect(sync.connection()).get_table_names()
        )
    assert kinds == ["sweep"]  # the record (its nonce) is kept
    assert "hot_wallet_observations" not in tables
    await db.dispose()

    await asyncio.to_thread(upgrade, database_url, "head")
    assert "cold_sweep" in await check_values(db, "chain_transactions", "kind")
    await set_first_row(db, "chain_transactions", "kind", ChainTransactionKind.COLD_SWEEP)
    with pytest.raises(IntegrityError):
        await set_first_row(db, "chain_transactions", "kind", "warm_sweep")
