"""Migration 0009 (withdrawal controls) goes down and up again on both engines, keeping
every other table's rows; the database itself refuses a negative limit."""

from __future__ import annotations

import asyncio

import pytest
from alembic import command
from sqlalchemy import inspect, text
from sqlalchemy.exc import IntegrityError

from miningtx.customers.refs import CustomerRef
from miningtx.kit.clock import utcnow
from miningtx.kit.db import Database
from miningtx.kit.migrate import alembic_config, upgrade
from miningtx.wallet import controls
from tests.conftest import make_settings
from tests.factories import make_customer
from tests.wallet.controls_helpers import OTHER_ADDRESS

TABLES = {"withdrawal_controls", "withdrawal_addresses"}


async def tables(db: Database) -> set[str]:
    async with db.write_engine.connect() as connection:
        names = await connection.run_sync(lambda sync: set(inspect(sync).get_table_names()))
    return names


async def test_0009_downgrades_and_upgrades_again(database_url: str) -> None:
    settings = make_settings(database_url)
    db = Database(settings)
    try:
        alice = await make_customer(db, settings, deposit="25.00")
        async with db.write() as session:
            await controls.save_address(
                session,
                CustomerRef(alice.seq, alice.id),
                network="bsc",
                address=OTHER_ADDRESS,
                label=None,
                terms=controls.ControlTerms(),
                now=utcnow(),
            )
        assert await tables(db) >= TABLES
        await db.dispose()

        await asyncio.to_thread(command.downgrade, alembic_config(database_url), "0007")
        assert not TABLES & await tables(db)
        async with db.read() as session:
            assert (await session.execute(text("SELECT count(*) FROM customers"))).scalar() == 1
        await db.dispose()

        await asyncio.to_thread(upgrade, database_url)
        assert await tables(db) >= TABLES
        with pytest.raises(IntegrityError):
            async with db.write() as session:
                await session.execute(
                    text(
                        "INSERT INTO withdrawal_controls (customer_seq, limit_24h, "
                        "saved_addresses_only, updated_at) VALUES (:seq, -1, false, :now)"
                    ),
                    {"seq": alice.seq, "now": utcnow().replace(tzinfo=None)},
                )
    finally:
        await db.dispose()
