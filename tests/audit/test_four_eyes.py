"""Four-eyes approval: above MTX_WITHDRAWAL_FOUR_EYES_ABOVE a withdrawal needs approvals by
two different operators before it is sent; a rejection by either ends it."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from miningtx.app import create_app
from miningtx.audit.refs import OperatorRef
from miningtx.kit.clock import utcnow
from miningtx.kit.db import Database
from miningtx.kit.errors import ApiError
from miningtx.kit.money import parse_amount
from miningtx.ledger.accounts import Platform, customer_available, treasury
from miningtx.models import Withdrawal, WithdrawalApproval
from miningtx.wallet import service as wallet
from tests.audit.factories import actions, log
from tests.conftest import Env, make_settings
from tests.factories import balances, invariant_problems, make_operator_ref, simulate_all
from tests.wallet.factories import verified_customer, withdraw

USDT = 1_000_000
#: Four eyes above 1,000 USDT.
THRESHOLD = "1000.00"


@pytest.fixture
async def env(database_url: str) -> AsyncIterator[Env]:
    settings = make_settings(database_url, withdrawal_four_eyes_above=THRESHOLD)
    app = create_app(settings)
    db: Database = app.state.db
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        yield Env(settings, db, client)
    await db.dispose()


async def approve(env: Env, withdrawal_id: str, operator: OperatorRef) -> Withdrawal:
    async with env.db.write() as session:
        return await wallet.approve_withdrawal(
            session,
            withdrawal_id,
            utcnow(),
            operator=operator,
            simulates=simulate_all,
            four_eyes_above=env.settings.withdrawal_four_eyes_above,
        )


async def reject(env: Env, withdrawal_id: str, operator: OperatorRef) -> Withdrawal:
    async with env.db.write() as session:
        return await wallet.reject_withdrawal(
            session, withdrawal_id, utcnow(), "not this one", operator=operator
        )


async def approvals(env: Env) -> int:
    async with env.db.read() as session:
        return (
            await session.execute(select(func.count()).select_from(WithdrawalApproval))
        ).scalar_one()


async def test_the_setting_is_micro_usdt_and_unset_means_off(database_url: str) -> None:
    on = make_settings(database_url, withdrawal_four_eyes_above="1000.50")
    assert on.withdrawal_four_eyes_above == 1_000_500_000
    assert make_settings(database_url).withdrawal_four_eyes_above is None
    assert (
        make_settings(database_url, withdrawal_four_eyes_above="").withdrawal_four_eyes_above
        is None
    )


async def test_one_approval_does_not_send_a_second_operator_does(env: Env) -> None:
    alice = await verified_customer(env.db, env.settings, deposit="5000.00")
    first, second = await make_operator_ref(env.db), await make_operator_ref(env.db)
    wd = await withdraw(env, alice, "1500.00")
    network = treasury("bsc")
    before = await balances(env.db, network, Platform.FEES)

    once = await approve(env, wd["id"], first)
    seen = (await env.client.get(f"/v1/withdrawals/{wd['id']}", headers=alice.auth)).json()

    assert once.status == "pending"
    assert seen["status"] == "pending"  # the customer sees it still under review
    assert await balances(env.db, network, Platform.FEES) == before  # nothing left
    assert (await balances(env.db, Platform.PENDING_WITHDRAWALS))[
        Platform.PENDING_WITHDRAWALS
    ] == 1500 * USDT

    sent = await approve(env, wd["id"], second)

    assert sent.status == "processed"
    after = await balances(env.db, network, Platform.FEES, customer_available(alice.id))
    assert after[network] - before[network] == 1499 * USDT  # amount - fee left on chain
    assert after[Platform.FEES] - before[Platform.FEES] == 1 * USDT
    assert after[customer_available(alice.id)] == 3500 * USDT
    entries = await log(env.db, target=wd["id"])
    assert [(e["operator"], e["action"]) for e in entries] == [
        (first.email, "withdrawal.approval_recorded"),
        (second.email, "withdrawal.approved"),
    ]
    assert entries[0]["after"] == {"status": "pending", "approvals": 1, "required": 2}
    assert entries[1]["after"]["approvals"] == 2
    assert await invariant_problems(env.db) == []


async def test_the_same_operator_twice_is_refused_and_nothing_moves(env: Env) -> None:
    alice = await verified_customer(env.db, env.settings, deposit="5000.00")
    first = await make_operator_ref(env.db)
    wd = await withdraw(env, alice, "1000.01")
    await approve(env, wd["id"], first)
    before = await balances(env.db, Platform.PENDING_WITHDRAWALS, treasury("bsc"))

    with pytest.raises(ApiError) as again:
        await approve(env, wd["id"], first)

    assert (again.value.status, again.value.code) == (409, "same_operator")
    assert "needs a second operator" in again.value.message
    assert await balances(env.db, Platform.PENDING_WITHDRAWALS, treasury("bsc")) == before
    assert await approvals(env) == 1
    assert await actions(env.db, wd["id"]) == [(first.email, "withdrawal.approval_recorded")]


async def test_at_or_below_the_threshold_one_approval_sends(env: Env) -> None:
    alice = await verified_customer(env.db, env.settings, deposit="5000.00")
    wd = await withdraw(env, alice, THRESHOLD)

    sent = await approve(env, wd["id"], await make_operator_ref(env.db))

    assert sent.status == "processed"


async def test_a_rejection_by_either_operator_ends_it_and_refunds(env: Env) -> None:
    alice = await verified_customer(env.db, env.settings, deposit="5000.00")
    first, second = await make_operator_ref(env.db), await make_operator_ref(env.db)
    by_second = await withdraw(env, alice, "2000.00")
    by_first = await withdraw(env, alice, "2000.00")
    await approve(env, by_second["id"], first)
    await approve(env, by_first["id"], first)

    rejected = [
        await reject(env, by_second["id"], second),
        await reject(env, by_first["id"], first),
    ]
    with pytest.raises(ApiError) as late:
        await approve(env, by_second["id"], second)

    assert [w.status for w in rejected] == ["rejected", "rejected"]
    assert (late.value.status, late.value.code) == (409, "conflict")
    assert (await balances(env.db, customer_available(alice.id)))[
        customer_available(alice.id)
    ] == 5000 * USDT
    assert await actions(env.db, by_second["id"]) == [
        (first.email, "withdrawal.approval_recorded"),
        (second.email, "withdrawal.rejected"),
    ]
    assert await invariant_problems(env.db) == []


async def test_two_operators_approving_at_once_send_it_once(env: Env) -> None:
    alice = await verified_customer(env.db, env.settings, deposit="5000.00")
    operators = [await make_operator_ref(env.db) for _ in range(2)]
    wd = await withdraw(env, alice, "3000.00")

    results = await asyncio.gather(
        *(approve(env, wd["id"], op) for op in operators), return_exceptions=True
    )

    statuses = sorted(r.status for r in results if isinstance(r, Withdrawal))
    assert statuses == ["pending", "processed"]
    assert await approvals(env) == 2
    fees = await balances(env.db, Platform.FEES)
    assert fees[Platform.FEES] == 1 * USDT
    assert await invariant_problems(env.db) == []


async def test_one_operator_racing_themself_counts_once(env: Env) -> None:
    alice = await verified_customer(env.db, env.settings, deposit="5000.00")
    first = await make_operator_ref(env.db)
    wd = await withdraw(env, alice, "3000.00")

    results = await asyncio.gather(
        *(approve(env, wd["id"], first) for _ in range(3)), return_exceptions=True
    )

    refused = [r for r in results if isinstance(r, ApiError)]
    assert [e.code for e in refused] == ["same_operator", "same_operator"]
    assert await approvals(env) == 1
    async with env.db.read() as session:
        status = await session.scalar(select(Withdrawal.status).where(Withdrawal.id == wd["id"]))
    assert status == "pending"


async def test_the_database_refuses_a_second_approval_by_the_same_operator(env: Env) -> None:
    """The unique key behind the check: even code skipping the service cannot count twice."""
    alice = await verified_customer(env.db, env.settings, deposit="5000.00")
    first = await make_operator_ref(env.db)
    wd = await withdraw(env, alice, "3000.00")
    await approve(env, wd["id"], first)
    async with env.db.read() as session:
        seq = await session.scalar(select(Withdrawal.seq).where(Withdrawal.id == wd["id"]))
    assert seq is not None

    with pytest.raises(IntegrityError):
        async with env.db.write() as session:
            session.add(
                WithdrawalApproval(withdrawal_seq=seq, operator_seq=first.seq, approved_at=utcnow())
            )
    assert await approvals(env) == 1
    assert parse_amount(THRESHOLD) == env.settings.withdrawal_four_eyes_above
