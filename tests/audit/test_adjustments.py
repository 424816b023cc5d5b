"""Manual adjustments, maker-checker: proposed by one operator, approved by a different one,
posted exactly once from/to platform:adjustments, never overdrawing the customer."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import func, select, text, update
from sqlalchemy.exc import IntegrityError

from miningtx.adjustments import service as adjustments
from miningtx.audit.refs import OperatorRef
from miningtx.kit.clock import utcnow
from miningtx.kit.errors import ApiError
from miningtx.ledger.accounts import Platform, customer_available
from miningtx.models import Adjustment, AdjustmentStatus, LedgerTransfer
from tests.audit.factories import actions
from tests.conftest import Env
from tests.factories import (
    CustomerWithKey,
    balances,
    fund_pool,
    invariant_problems,
    make_customer,
    make_operator_ref,
)

USDT = 1_000_000


async def propose(
    env: Env,
    who: CustomerWithKey,
    operator: OperatorRef,
    amount: int,
    *,
    direction: str = "credit",
    category: str = "goodwill",
    reason: str | None = "late payout, our fault",
) -> Adjustment:
    async with env.db.write() as session:
        return await adjustments.propose(
            session,
            customer_id=who.id,
            direction=direction,
            amount=amount,
            category=category,
            reason=reason,
            operator=operator,
            now=utcnow(),
        )


async def approve(env: Env, adjustment_id: str, operator: OperatorRef) -> Adjustment:
    async with env.db.write() as session:
        return await adjustments.approve(session, adjustment_id, operator=operator, now=utcnow())


async def posted(env: Env) -> int:
    async with env.db.read() as session:
        return (
            await session.execute(
                select(func.count())
                .select_from(LedgerTransfer)
                .where(LedgerTransfer.kind == "adjustment")
            )
        ).scalar_one()


async def status(env: Env, adjustment_id: str) -> str:
    async with env.db.read() as session:
        found = await session.scalar(
            select(Adjustment.status).where(Adjustment.id == adjustment_id)
        )
    assert found is not None
    return found


async def test_a_credit_approved_by_a_second_operator_posts_once_and_shows_as_adjustment(
    env: Env,
) -> None:
    alice = await make_customer(env.db, env.settings, deposit="100.00")
    maker, checker = await make_operator_ref(env.db), await make_operator_ref(env.db)
    await fund_pool(env.db, "adjustments", "50.00")
    proposed = await propose(env, alice, maker, 25 * USDT)
    account = customer_available(alice.id)

    assert (await balances(env.db, account))[account] == 100 * USDT  # nothing moved yet
    approved = await approve(env, proposed.id, checker)
    with pytest.raises(ApiError) as again:
        await approve(env, proposed.id, checker)
    listed = await env.client.get(
        "/v1/transactions", params={"type": "adjustment"}, headers=alice.auth
    )

    assert approved.status == "approved"
    assert (again.value.status, again.value.code) == (409, "conflict")
    assert await posted(env) == 1
    assert await balances(env.db, account, Platform.ADJUSTMENTS) == {
        account: 125 * USDT,
        Platform.ADJUSTMENTS: 25 * USDT,
    }
    [row] = listed.json()["data"]
    assert (row["type"], row["amount"], row["direction"], row["reference"]) == (
        "adjustment",
        "25.00",
        "credit",
        proposed.id,
    )
    assert await actions(env.db, proposed.id) == [
        (maker.email, "adjustment.proposed"),
        (checker.email, "adjustment.approved"),
    ]
    assert await invariant_problems(env.db) == []


async def test_the_proposer_cannot_approve_their_own_adjustment(env: Env) -> None:
    alice = await make_customer(env.db, env.settings)
    maker = await make_operator_ref(env.db)
    await fund_pool(env.db, "adjustments", "50.00")
    proposed = await propose(env, alice, maker, 10 * USDT)

    with pytest.raises(ApiError) as refused:
        await approve(env, proposed.id, maker)

    assert (refused.value.status, refused.value.code) == (409, "same_operator")
    assert await status(env, proposed.id) == "proposed"
    assert await posted(env) == 0


async def test_the_database_refuses_an_approval_by_the_proposer(env: Env) -> None:
    """The CHECK behind the rule: code that skips the service cannot approve its own."""
    alice = await make_customer(env.db, env.settings)
    maker = await make_operator_ref(env.db)
    proposed = await propose(env, alice, maker, 10 * USDT)

    with pytest.raises(IntegrityError):
        async with env.db.write() as session:
            await session.execute(
                update(Adjustment)
                .where(Adjustment.id == proposed.id)
                .values(status=AdjustmentStatus.APPROVED, decided_by_seq=maker.seq)
            )


async def test_two_approvers_at_once_post_it_exactly_once(env: Env) -> None:
    alice = await make_customer(env.db, env.settings)
    maker = await make_operator_ref(env.db)
    checkers = [await make_operator_ref(env.db) for _ in range(3)]
    await fund_pool(env.db, "adjustments", "100.00")
    proposed = await propose(env, alice, maker, 40 * USDT)

    results = await asyncio.gather(
        *(approve(env, proposed.id, c) for c in checkers), return_exceptions=True
    )

    assert sum(isinstance(r, Adjustment) for r in results) == 1
    assert sorted(r.code for r in results if isinstance(r, ApiError)) == ["conflict"] * 2
    assert await posted(env) == 1
    account = customer_available(alice.id)
    assert (await balances(env.db, account))[account] == 40 * USDT
    assert await invariant_problems(env.db) == []


async def test_a_second_post_is_refused_even_past_the_status_guard(env: Env) -> None:
    """The idempotency key derived from the adjustment: corrupt the status back to
    proposed and approve again; the ledger still refuses a second transfer."""
    alice = await make_customer(env.db, env.settings)
    maker, checker = await make_operator_ref(env.db), await make_operator_ref(env.db)
    await fund_pool(env.db, "adjustments", "100.00")
    proposed = await propose(env, alice, maker, 40 * USDT)
    await approve(env, proposed.id, checker)
    async with env.db.write() as session:
        await session.execute(
            text(
                "UPDATE adjustments SET status = 'proposed', decided_by_seq = NULL WHERE id = :id"
            ),
            {"id": proposed.id},
        )

    with pytest.raises(IntegrityError):
        await approve(env, proposed.id, checker)

    assert await posted(env) == 1
    assert await invariant_problems(env.db) == []


async def test_an_unfunded_budget_refuses_a_credit_and_keeps_it_proposed(env: Env) -> None:
    alice = await make_customer(env.db, env.settings)
    maker, checker = await make_operator_ref(env.db), await make_operator_ref(env.db)
    await fund_pool(env.db, "adjustments", "9.999999")
    proposed = await propose(env, alice, maker, 10 * USDT)

    with pytest.raises(ApiError) as short:
        await approve(env, proposed.id, checker)

    assert (short.value.status, short.value.code) == (409, "adjustment_budget_exhausted")
    assert "holds 9.999999 USDT" in short.value.message
    assert await status(env, proposed.id) == "proposed"
    assert await posted(env) == 0
    await fund_pool(env.db, "adjustments", "0.000001")
    assert (await approve(env, proposed.id, checker)).status == "approved"
    assert (await balances(env.db, Platform.ADJUSTMENTS))[Platform.ADJUSTMENTS] == 0
    assert await invariant_problems(env.db) == []


async def test_a_debit_never_overdraws_the_customer(env: Env) -> None:
    alice = await make_customer(env.db, env.settings, deposit="30.00")
    maker, checker = await make_operator_ref(env.db), await make_operator_ref(env.db)
    account = customer_available(alice.id)
    too_much = await propose(
        env, alice, maker, 30 * USDT + 1, direction="debit", category="chargeback"
    )
    fits = await propose(env, alice, maker, 30 * USDT, direction="debit", category="chargeback")

    with pytest.raises(ApiError) as overdraft:
        await approve(env, too_much.id, checker)
    assert (overdraft.value.status, overdraft.value.code, overdraft.value.param) == (
        402,
        "insufficient_balance",
        "amount",
    )
    assert await status(env, too_much.id) == "proposed"
    assert await posted(env) == 0

    await approve(env, fits.id, checker)
    assert await balances(env.db, account, Platform.ADJUSTMENTS) == {
        account: 0,
        Platform.ADJUSTMENTS: 30 * USDT,  # a debit funds later credits
    }
    listed = await env.client.get("/v1/transactions", headers=alice.auth)
    assert [(t["type"], t["direction"], t["amount"]) for t in listed.json()["data"]] == [
        ("adjustment", "debit", "30.00"),
        ("deposit", "credit", "30.00"),
    ]
    assert await invariant_problems(env.db) == []


async def test_a_rejection_ends_it_without_posting(env: Env) -> None:
    alice = await make_customer(env.db, env.settings)
    maker, checker = await make_operator_ref(env.db), await make_operator_ref(env.db)
    await fund_pool(env.db, "adjustments", "100.00")
    proposed = await propose(env, alice, maker, 10 * USDT)

    async with env.db.write() as session:
        rejected = await adjustments.reject(
            session, proposed.id, "duplicate of another", operator=maker, now=utcnow()
        )
    with pytest.raises(ApiError) as late:
        await approve(env, proposed.id, checker)

    assert (rejected.status, rejected.rejection_reason) == ("rejected", "duplicate of another")
    assert (late.value.status, late.value.code) == (409, "conflict")
    assert await posted(env) == 0
    assert await actions(env.db, proposed.id) == [
        (maker.email, "adjustment.proposed"),
        (maker.email, "adjustment.rejected"),
    ]


@pytest.mark.parametrize(
    ("changes", "param"),
    [
        ({"category": "bribe"}, "category"),
        ({"direction": "sideways"}, "direction"),
        ({"reason": "  "}, "reason"),
        ({"reason": None}, "reason"),
        ({"amount": 0}, "amount"),
    ],
)
async def test_bad_proposals_are_refused_naming_the_field(
    env: Env, changes: dict[str, object], param: str
) -> None:
    alice = await make_customer(env.db, env.settings)
    maker = await make_operator_ref(env.db)
    values: dict[str, object] = {
        "amount": USDT,
        "direction": "credit",
        "category": "goodwill",
        "reason": "why",
    } | changes

    with pytest.raises(ApiError) as refused:
        await propose(
            env,
            alice,
            maker,
            int(str(values["amount"])),
            direction=str(values["direction"]),
            category=str(values["category"]),
            reason=None if values["reason"] is None else str(values["reason"]),
        )

    assert (refused.value.status, refused.value.code, refused.value.param) == (
        400,
        "invalid_request",
        param,
    )
    async with env.db.read() as session:
        assert await session.scalar(select(func.count()).select_from(Adjustment)) == 0


async def test_an_unknown_customer_is_404_naming_the_customer(env: Env) -> None:
    maker = await make_operator_ref(env.db)
    with pytest.raises(ApiError) as missing:
        async with env.db.write() as session:
            await adjustments.propose(
                session,
                customer_id="usr_missing",
                direction="credit",
                amount=USDT,
                category="goodwill",
                reason="why",
                operator=maker,
                now=utcnow(),
            )
    assert (missing.value.status, missing.value.param) == (404, "customer")
