"""Migrations both ways: every revision, in order, on SQLite and on PostgreSQL, upgrades
onto a database holding data, downgrades one step and upgrades again, and the rows that
the downgrade does not own come through unchanged; at head the models and the migrated
schema agree (Alembic's autogenerate comparison reports nothing).

The representative rows each revision gets live in `tests/migration_seeds.SEEDS`, one
function per revision: a new migration needs its rows there (and here, what its
downgrade deletes or its upgrade backfills), or `test_every_revision_has_representative_rows`
says so.
"""

from __future__ import annotations

import asyncio
import re
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import CheckConstraint, MetaData, event, inspect, select, text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

from miningtx.kit.migrate import alembic_config
from miningtx.models import Base
from tests.databases import PostgresTemplate, pg_admin, pg_url
from tests.migration_seeds import SEEDS, Row, Seeder

#: Every revision from the first to head, in the order they apply.
REVISIONS: list[str] = [
    script.revision
    for script in reversed(list(ScriptDirectory.from_config(alembic_config("")).walk_revisions()))
]

Rows = dict[str, list[Row]]

#: Rows a downgrade deletes on purpose (revision -> table -> which rows); an upgrade
#: writes the seeded ones (an account) again, under a new seq.
DELETED_BY_DOWNGRADE: dict[str, dict[str, Callable[[Row], bool]]] = {
    "0002": {"ledger_accounts": lambda row: row["code"] == "platform:stakes_locked"},
    "0005": {
        "ledger_accounts": lambda row: row["code"] == "platform:operator_funds",
        "deposits": lambda row: row["customer_seq"] is None,  # the operator's funding
    },
    "0008_audit": {"ledger_accounts": lambda row: row["code"] == "platform:adjustments"},
}


def deleted(revision: str, table: str, row: Row) -> bool:
    rule = DELETED_BY_DOWNGRADE.get(revision, {}).get(table)
    return rule is not None and rule(row)


def added_column_after_round_trip(revision: str, table: str, column: str, before: Row) -> Any:
    """What a column the revision adds holds, after its downgrade and upgrade again, in a
    row that was there before: its server default, the upgrade's backfill, or NULL."""
    if (table, column) == ("deposits", "purpose"):
        return "customer"
    if (table, column) == ("contract_activations", "next_reward_on"):
        return before[column]  # 0003 schedules it again from activated_at and rewards_paid
    return None


@dataclass
class State:
    """A database at one revision: its schema, its tables' columns and every row."""

    schema: set[tuple[str, ...]]
    columns: dict[str, set[str]]
    keys: dict[str, list[str]]
    rows: Rows


def read_state(connection: Connection) -> State:
    tables = MetaData()
    tables.reflect(connection)
    rows: Rows = {}
    for name, table in sorted(tables.tables.items()):
        if name == "alembic_version":
            continue
        order = list(table.primary_key.columns) or list(table.columns)
        rows[name] = [
            dict(row._mapping) for row in connection.execute(select(table).order_by(*order))
        ]
    columns = {name: set(tables.tables[name].columns.keys()) for name in rows}
    keys = {name: [c.name for c in tables.tables[name].primary_key.columns] for name in rows}
    return State(schema(connection), columns, keys, rows)


def schema(connection: Connection) -> set[tuple[str, ...]]:
    """Tables, columns, constraints, indexes, triggers and storage options, as text."""
    if connection.dialect.name == "sqlite":
        found = connection.execute(
            text(
                "SELECT name, sql FROM sqlite_master "
                "WHERE name NOT LIKE 'sqlite_%' AND tbl_name <> 'alembic_version'"
            )
        )
        # A table rebuilt by batch mode lists its clauses in another order and quotes its name.
        return {
            (name, line.strip().rstrip(",").replace('"', ""))
            for name, sql in found
            for line in (sql or "").splitlines()
            if line.strip() not in ("", ")")
        }
    queries = (
        "SELECT table_name, column_name, data_type, coalesce(character_maximum_length, 0)::text, "
        "is_nullable, coalesce(column_default, '') FROM information_schema.columns "
        "WHERE table_schema = 'public' AND table_name <> 'alembic_version'",
        "SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid) FROM pg_constraint "
        "WHERE connamespace = 'public'::regnamespace "
        "AND conrelid::regclass::text <> 'alembic_version'",
        "SELECT tablename, indexdef FROM pg_indexes "
        "WHERE schemaname = 'public' AND tablename <> 'alembic_version'",
        "SELECT tgrelid::regclass::text, pg_get_triggerdef(oid) FROM pg_trigger "
        "WHERE NOT tgisinternal",
        "SELECT 'function', proname FROM pg_proc WHERE pronamespace = 'public'::regnamespace",
        "SELECT relname, coalesce(array_to_string(reloptions, ','), '') FROM pg_class "
        "WHERE relnamespace = 'public'::regnamespace AND relkind = 'r' "
        "AND relname <> 'alembic_version'",
    )
    return {
        tuple(str(value) for value in row)
        for query in queries
        for row in connection.execute(text(query))
    }


def project(row: Row, columns: set[str]) -> Row:
    return {column: value for column, value in row.items() if column in columns}


def without_seq(rows: list[Row]) -> list[Row]:
    return [{column: value for column, value in row.items() if column != "seq"} for row in rows]


def rebuilt_mining_rewards(rows: Rows) -> list[Row]:
    """What 0004's downgrade writes: one row per reward transfer, from the ledger."""
    activations = {row["id"]: row["seq"] for row in rows["contract_activations"]}
    rewards = [row for row in rows["ledger_transfers"] if row["kind"] == "reward"]
    return [
        {
            "seq": seq,
            "activation_seq": activations[transfer["reference"]],
            "customer_seq": transfer["customer_seq"],
            "day": transfer["value_date"],
            "amount": transfer["amount"],
            "transfer_seq": transfer["seq"],
            "created_at": transfer["created_at"],
        }
        for seq, transfer in enumerate(sorted(rewards, key=lambda row: row["seq"]), start=1)
    ]


def expected_after_downgrade(revision: str, at: State, below: State) -> Rows:
    """The rows at `revision` as they must stand one revision down (`below`'s tables)."""
    expected = {
        table: [
            project(row, columns)
            for row in at.rows.get(table, [])
            if not deleted(revision, table, row)
        ]
        for table, columns in below.columns.items()
    }
    if revision == "0004":
        expected["mining_rewards"] = rebuilt_mining_rewards(at.rows)
    if revision == "0010_wallet_tiers":  # 0007's CHECK knows no cold sweep
        for row in expected["chain_transactions"]:
            row["kind"] = "sweep" if row["kind"] == "cold_sweep" else row["kind"]
    return expected


@dataclass
class Migrated:
    """One engine's empty database and the way to reach it."""

    url: str

    async def run(self, step: Callable[[Connection], Any]) -> Any:
        engine = create_async_engine(self.url, poolclass=NullPool)
        if engine.dialect.name == "sqlite":

            @event.listens_for(engine.sync_engine, "connect")
            def _foreign_keys(dbapi_connection: Any, _record: Any) -> None:
                cursor = dbapi_connection.cursor()
                cursor.execute("PRAGMA foreign_keys=ON")
                cursor.close()

        try:
            async with engine.begin() as connection:
                return await connection.run_sync(step)
        finally:
            await engine.dispose()

    async def state(self) -> State:
        found: State = await self.run(read_state)
        return found

    async def seed(self, revision: str) -> None:
        await self.run(lambda connection: SEEDS[revision](Seeder(connection)))

    async def upgrade(self, revision: str) -> None:
        # Alembic runs its own event loop, so it gets a thread of its own.
        await asyncio.to_thread(command.upgrade, alembic_config(self.url), revision)

    async def downgrade(self, revision: str) -> None:
        await asyncio.to_thread(command.downgrade, alembic_config(self.url), revision)


@pytest.fixture(params=["sqlite", "postgresql"])
async def empty_database(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Migrated]:
    """An empty database of its own (no template: the walk starts before 0001), dropped after."""
    if request.param == "sqlite":
        yield Migrated(f"sqlite+aiosqlite:///{tmp_path / 'walk.db'}")
        return
    name = f"mtx_mig_{uuid.uuid4().hex[:12]}"
    await pg_admin(f'CREATE DATABASE "{name}"')
    try:
        yield Migrated(pg_url(name))
    finally:
        await PostgresTemplate.drop(name)


def test_every_revision_has_representative_rows() -> None:
    assert list(SEEDS) == REVISIONS, "a new migration needs its rows in SEEDS (and its rules here)"


def assert_seeded(revision: str, fresh: State, at: State, below: State) -> None:
    """The seed wrote (or changed) rows in every table the revision creates and a value in every
    column it adds: the round trip is tried on data, not on empty tables."""
    for table, columns in at.columns.items():
        if table not in below.columns:
            assert at.rows[table] != fresh.rows[table], (revision, table)
            continue
        for column in columns - below.columns[table]:
            assert any(row[column] is not None for row in at.rows[table]), (revision, table, column)


def assert_upgrade_kept_rows(revision: str, below: State, after: State) -> None:
    """Every row of a table that was there below is still there after the upgrade, the
    same in every column it had; the only new rows in those tables are the revision's own
    (the accounts it seeds)."""
    for table in after.columns.keys() & below.columns.keys():
        key = after.keys[table]
        old = {tuple(row[column] for column in key) for row in below.rows[table]}
        kept: list[Row] = []
        new: list[Row] = []
        for row in after.rows[table]:
            (kept if tuple(row[column] for column in key) in old else new).append(row)
        assert [project(row, below.columns[table]) for row in kept] == below.rows[table], (
            revision,
            table,
        )
        assert all(deleted(revision, table, row) for row in new), (revision, table, new)


def assert_round_trip(revision: str, fresh: State, at: State, down: State, up: State) -> None:
    """After downgrade and upgrade: the tables the revision creates hold only what it
    seeds; every older row is back as it was below, the accounts it seeds are written
    again, and the columns it adds hold their default or backfill."""
    assert set(up.rows) == set(at.rows), revision
    assert_upgrade_kept_rows(revision, down, up)
    for table, columns in up.columns.items():
        if table not in down.columns:
            assert up.rows[table] == fresh.rows[table], (revision, table)
            continue
        rewritten = [row for row in up.rows[table] if deleted(revision, table, row)]
        seeded = [row for row in fresh.rows[table] if deleted(revision, table, row)]
        assert without_seq(rewritten) == without_seq(seeded), (revision, table)
        key = up.keys[table]
        before = {tuple(row[c] for c in key): row for row in at.rows[table]}
        for row in up.rows[table]:
            if deleted(revision, table, row):
                continue
            for column in columns - down.columns[table]:
                original = before[tuple(row[c] for c in key)]
                expected = added_column_after_round_trip(revision, table, column, original)
                assert row[column] == expected, (revision, table, column)


@pytest.mark.timeout(900)  # 30 migration runs per engine; slow on a busy machine, seconds otherwise
async def test_every_migration_downgrades_and_upgrades_again_on_a_database_holding_data(
    empty_database: Migrated,
) -> None:
    db = empty_database
    below_name = "base"
    below = await db.state()
    for revision in REVISIONS:
        await db.upgrade(revision)
        fresh = await db.state()
        assert_upgrade_kept_rows(revision, below, fresh)
        await db.seed(revision)
        at = await db.state()
        assert_seeded(revision, fresh, at, below)

        await db.downgrade(below_name)
        down = await db.state()
        assert down.schema == below.schema, revision
        assert down.rows == expected_after_downgrade(revision, at, below), revision
        if revision == "0004":  # the rewards rebuilt from the ledger are the ones it dropped
            assert (
                down.rows["mining_rewards"][: len(below.rows["mining_rewards"])]
                == below.rows["mining_rewards"]
            )

        await db.upgrade(revision)
        up = await db.state()
        assert up.schema == at.schema, revision
        assert_round_trip(revision, fresh, at, down, up)

        # What the round trip took (the revision's own tables) is written again, so the
        # revisions after this one migrate a database that holds every kind of row.
        await db.seed(revision)
        below_name, below = revision, await db.state()


def autogenerate_diff(connection: Connection) -> list[Any]:
    context = MigrationContext.configure(
        connection, opts={"compare_type": True, "compare_server_default": True}
    )
    return list(compare_metadata(context, Base.metadata))


async def test_the_models_match_the_migrated_schema(database_url: str) -> None:
    """Alembic's autogenerate finds nothing to write: no table, column, type, nullability,
    server default, index, unique or foreign key differs between models and migrations."""
    assert await Migrated(database_url).run(autogenerate_diff) == []


def check_constraints(connection: Connection) -> set[tuple[str, str, str]]:
    found = inspect(connection)
    return {
        (table, str(check["name"]), check["sqltext"])
        for table in found.get_table_names()
        for check in found.get_check_constraints(table)
    }


def declared_checks() -> Iterator[tuple[str, str, str]]:
    for table in Base.metadata.tables.values():
        for constraint in table.constraints:
            if isinstance(constraint, CheckConstraint):
                yield table.name, str(constraint.name), str(constraint.sqltext)


async def test_the_models_declare_exactly_the_migrated_check_constraints(database_url: str) -> None:
    """Autogenerate leaves CHECKs out: the names agree on both engines, and on SQLite,
    which keeps each definition as written, the definitions too."""
    migrated = await Migrated(database_url).run(check_constraints)
    declared = set(declared_checks())
    assert {(table, name) for table, name, _ in migrated} == {
        (table, name) for table, name, _ in declared
    }
    if database_url.startswith("sqlite"):
        assert {(table, name, re.sub(r"\s+", " ", sql)) for table, name, sql in migrated} == {
            (table, name, re.sub(r"\s+", " ", sql)) for table, name, sql in declared
        }
