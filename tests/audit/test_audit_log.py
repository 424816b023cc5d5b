"""The audit log: every operator action appended with who, when, what and before/after, and
rows the database itself refuses to change or delete, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio

import pytest
from alembic import command
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError

from miningtx.audit import service as audit
from miningtx.customers import kyc
from miningtx.dashboard import service as dashboard
from miningtx.kit.clock import utcnow
from miningtx.kit.db import Database
from miningtx.kit.errors import ApiError
from miningtx.kit.migrate import alembic_config, upgrade
from miningtx.mining import service as mining
from miningtx.models import AuditEntry
from miningtx.pools import service as pools
from miningtx.staking import service as staking
from tests.audit.factories import log
from tests.conftest import Env, make_settings
from tests.dashboard.console_factories import submit_kyc
from tests.factories import fund_pool, make_customer, make_operator_ref

USDT = 1_000_000


async def entry_count(db: Database) -> int:
    async with db.read() as session:
        return (await session.execute(select(func.count()).select_from(AuditEntry))).scalar_one()


async def test_each_operator_action_is_recorded_with_before_and_after(env: Env) -> None:
    ops = await make_operator_ref(env.db)
    await fund_pool(env.db, "bonus", "100.00")
    ada = await make_customer(env.db, env.settings)
    bob = await make_customer(env.db, env.settings)
    await submit_kyc(env.db, ada.seq)
    await submit_kyc(env.db, bob.seq)
    now = utcnow()
    async with env.db.write() as session:
        await kyc.approve_kyc(session, ada.id, now, operator=ops)
        await kyc.reject_kyc(session, bob.id, now, "blurred photo", operator=ops)
        await pools.fund(
            session, "rewards", 500 * USDT, network="bsc", sandbox=True, operator=ops, now=now
        )
        await mining.set_capacity(session, 42_000, operator=ops, now=now)
        await mining.update_contract(session, "ultra", price=2700 * USDT, operator=ops, now=now)
        await staking.set_terms(session, max_amount=60_000 * USDT, operator=ops, now=now)
        await staking.set_plan(session, 90, 30_000, operator=ops, now=now)
        await staking.remove_plan(session, 90, operator=ops, now=now)
        made = await dashboard.create_operator(
            session,
            email="New.Ops@example.com",
            role="reviewer",
            password="long enough password",
            now=now,
            created_by=ops,
        )

    entries = {e["action"]: e for e in await log(env.db, operator=ops.email)}

    assert list(entries) == [
        "kyc.approved",
        "kyc.rejected",
        "pool.funded",
        "capacity.set",
        "catalog.changed",
        "staking.limits_changed",
        "staking.plan_set",
        "staking.plan_removed",
        "operator.created",
    ]
    assert all(e["operator"] == ops.email for e in entries.values())
    assert entries["kyc.approved"]["target"] == ada.id
    assert entries["kyc.approved"]["after"] == {"kyc_status": "verified", "bonus": "10.00"}
    assert entries["kyc.rejected"]["after"] == {"kyc_status": "rejected", "reason": "blurred photo"}
    funded = entries["pool.funded"]
    assert (funded["target"], funded["before"]["balance"]) == ("platform:reward_pool", "0.00")
    assert (funded["after"]["balance"], funded["after"]["funded"]) == ("500.00", "500.00")
    assert entries["capacity.set"]["after"] == {"capacity_ths": "42"}
    changed = entries["catalog.changed"]
    assert (changed["target"], changed["after"]["price"]) == ("ultra", "2700.00")
    assert changed["before"]["price"] != "2700.00"
    assert entries["staking.limits_changed"]["after"]["max_amount"] == "60000.00"
    assert entries["staking.plan_set"]["before"] is None  # a new point
    assert entries["staking.plan_removed"]["before"] == {"days": 90, "roi_percent": "3"}
    assert entries["operator.created"]["target"] == made.id
    assert entries["operator.created"]["after"] == {
        "email": "new.ops@example.com",
        "role": "reviewer",
    }


async def test_a_refused_action_leaves_no_entry(env: Env) -> None:
    ops = await make_operator_ref(env.db)
    ada = await make_customer(env.db, env.settings)
    await submit_kyc(env.db, ada.seq)

    with pytest.raises(ApiError):  # the bonus budget is empty
        async with env.db.write() as session:
            await kyc.approve_kyc(session, ada.id, utcnow(), operator=ops)
    with pytest.raises(ApiError):
        async with env.db.write() as session:
            await mining.set_capacity(session, -1, operator=ops, now=utcnow())

    assert await entry_count(env.db) == 0


async def test_the_platforms_own_actions_are_shown_as_system(env: Env) -> None:
    async with env.db.write() as session:
        await mining.set_capacity(session, 1000, operator=None, now=utcnow())

    [entry] = await log(env.db, operator="system")
    assert (entry["operator"], entry["action"]) == ("system", "capacity.set")


async def test_the_database_refuses_to_update_or_delete_an_entry(env: Env) -> None:
    ops = await make_operator_ref(env.db)
    async with env.db.write() as session:
        await mining.set_capacity(session, 1000, operator=ops, now=utcnow())
    before = await log(env.db)

    for statement in (
        "UPDATE audit_log SET operator_email = 'someone@else.example'",
        "UPDATE audit_log SET after = NULL",
        "DELETE FROM audit_log",
    ):
        with pytest.raises(DBAPIError, match="append-only"):
            async with env.db.write() as session:
                await session.execute(text(statement))
    if not env.db.is_sqlite:
        with pytest.raises(DBAPIError, match="append-only"):
            async with env.db.write() as session:
                await session.execute(text("TRUNCATE audit_log"))

    assert await log(env.db) == before


async def test_listing_filters_by_operator_action_and_target(env: Env) -> None:
    first, second = await make_operator_ref(env.db), await make_operator_ref(env.db)
    now = utcnow()
    async with env.db.write() as session:
        await mining.set_capacity(session, 1000, operator=first, now=now)
        await mining.update_contract(session, "ultra", on_sale=False, operator=second, now=now)
        await mining.update_contract(session, "starter", on_sale=False, operator=first, now=now)

    by_first = await log(env.db, operator=first.email.upper())
    catalog = await log(env.db, action="catalog.")
    exact = await log(env.db, action="catalog")
    ultra = await log(env.db, target="ultra")
    newest = await log(env.db, limit=1)

    assert [e["action"] for e in by_first] == ["capacity.set", "catalog.changed"]
    assert [e["target"] for e in catalog] == ["ultra", "starter"]
    assert exact == []
    assert [(e["operator"], e["target"]) for e in ultra] == [(second.email, "ultra")]
    assert [e["target"] for e in newest] == ["starter"]
    for limit in (0, audit.MAX_LIMIT + 1):
        with pytest.raises(ApiError) as bad:
            await log(env.db, limit=limit)
        assert (bad.value.status, bad.value.param) == (400, "limit")


async def test_operator_lookup_by_email(env: Env) -> None:
    ops = await make_operator_ref(env.db, "Case@Example.com".lower())
    async with env.db.read() as session:
        found = await audit.operator_by_email(session, "  CASE@example.com ")
        with pytest.raises(ApiError) as unknown:
            await audit.operator_by_email(session, "nobody@example.com")
    assert found == ops
    assert (unknown.value.status, unknown.value.code, unknown.value.param) == (
        400,
        "unknown_operator",
        "operator",
    )


async def test_0008_downgrades_and_upgrades_again_on_a_database_holding_data(
    database_url: str,
) -> None:
    db = Database(make_settings(database_url))
    ops = await make_operator_ref(db)
    async with db.write() as session:
        await mining.set_capacity(session, 1000, operator=ops, now=utcnow())
    await db.dispose()
    config = alembic_config(database_url)

    await asyncio.to_thread(command.downgrade, config, "0007")
    async with db.read() as session:
        tables = (
            await session.execute(
                text("SELECT name FROM sqlite_master WHERE type = 'table'")
                if db.is_sqlite
                else text("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
            )
        ).scalars()
        assert not {"audit_log", "adjustments", "withdrawal_approvals"} & set(tables)
    await db.dispose()
    await asyncio.to_thread(upgrade, database_url)

    assert await log(db) == []
    async with db.write() as session:
        await mining.set_capacity(session, 2000, operator=ops, now=utcnow())
    with pytest.raises(DBAPIError, match="append-only"):
        async with db.write() as session:
            await session.execute(text("DELETE FROM audit_log"))
    await fund_pool(db, "adjustments", "1.00")
    assert [e["action"] for e in await log(db)] == ["capacity.set"]
    await db.dispose()
