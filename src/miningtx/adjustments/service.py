"""Manual adjustments with maker-checker: an operator proposes a credit or debit of a
customer's available balance (category and reason required); a different operator approves
it, and only then is it posted, once, against `platform:adjustments`.

Every promise stays funded: a credit is paid out of `platform:adjustments`, which holds
only what the operator put in (`mtx pools fund adjustments`) or what earlier debits took
back, and like every pool can never go negative; a short budget refuses the approval
(409 adjustment_budget_exhausted) and nothing moves. A debit never overdraws the customer
(402 insufficient_balance, nothing moves). Either refusal leaves the proposal open.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select, update

from miningtx.audit import service as audit
from miningtx.audit.refs import OperatorRef
from miningtx.customers.service import get_customer
from miningtx.kit.clock import rfc3339
from miningtx.kit.db import ReadSession, WriteSession
from miningtx.kit.errors import ApiError, checked_reason, invalid, not_found
from miningtx.kit.ids import new_id
from miningtx.kit.money import format_amount
from miningtx.ledger import service as ledger
from miningtx.ledger.accounts import Platform, customer_available
from miningtx.models import (
    Adjustment,
    AdjustmentCategory,
    AdjustmentStatus,
    Customer,
    Operator,
    TransferDirection,
    TransferKind,
)

CATEGORIES = tuple(category.value for category in AdjustmentCategory)
DIRECTIONS = tuple(direction.value for direction in TransferDirection)


def not_proposed(adjustment: Adjustment) -> ApiError:
    return ApiError(
        409, "conflict", f"Adjustment {adjustment.id} is {adjustment.status}, not proposed."
    )


def overdraws(customer_id: str) -> ApiError:
    return ApiError(
        402,
        "insufficient_balance",
        f"Customer {customer_id}'s available balance is below this debit; an adjustment "
        "never overdraws a customer.",
        param="amount",
    )


def budget_exhausted(held: int) -> ApiError:
    return ApiError(
        409,
        "adjustment_budget_exhausted",
        f"The adjustments budget holds {format_amount(held)} USDT, less than this credit; "
        "fund it (mtx pools fund adjustments) and approve again.",
        param="amount",
    )


async def propose(
    session: WriteSession,
    *,
    customer_id: str,
    direction: str,
    amount: int,
    category: str,
    reason: str | None,
    operator: OperatorRef,
    now: datetime,
) -> Adjustment:
    """Record a proposed adjustment; nothing moves until another operator approves it."""
    if direction not in DIRECTIONS:
        raise invalid("direction", "The direction is credit or debit.")
    if category not in CATEGORIES:
        raise invalid("category", f"Choose one of: {', '.join(CATEGORIES)}.")
    if amount <= 0:
        raise invalid("amount", "The amount must be positive.")
    checked = checked_reason(reason)
    if checked is None:
        raise invalid("reason", "Say why this adjustment is made.")
    try:
        customer = await get_customer(session, customer_id.strip())
    except ApiError as error:
        raise ApiError(error.status, error.code, error.message, param="customer") from None
    adjustment = Adjustment(
        id=new_id("adj"),
        customer_seq=customer.seq,
        direction=TransferDirection(direction),
        amount=amount,
        category=AdjustmentCategory(category),
        reason=checked,
        status=AdjustmentStatus.PROPOSED,
        proposed_by_seq=operator.seq,
        proposed_at=now,
    )
    session.add(adjustment)
    await session.flush()
    await audit.record(
        session,
        actor=operator,
        action="adjustment.proposed",
        target=adjustment.id,
        before=None,
        after=_terms(adjustment, customer.id) | {"status": AdjustmentStatus.PROPOSED.value},
        now=now,
    )
    return adjustment


def _terms(adjustment: Adjustment, customer_id: str) -> dict[str, Any]:
    return {
        "customer": customer_id,
        "direction": adjustment.direction.value,
        "amount": format_amount(adjustment.amount),
        "category": adjustment.category.value,
        "reason": adjustment.reason,
    }


async def _locked(session: WriteSession, adjustment_id: str) -> Adjustment:
    found = await session.scalar(
        select(Adjustment)
        .where(Adjustment.id == adjustment_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    if found is None:
        raise not_found("adjustment", "adjustment_id")
    return found


async def approve(
    session: WriteSession, adjustment_id: str, *, operator: OperatorRef, now: datetime
) -> Adjustment:
    """The second operator approves: the adjustment is posted, exactly once.

    The proposer cannot approve (409 same_operator; a CHECK refuses it too). The row is
    locked and the status change guarded, and the transfer's idempotency key is derived
    from the adjustment, so racing approvals post once. A refusal by the ledger (the
    customer or the budget short) leaves the adjustment proposed and nothing posted.
    """
    adjustment = await _locked(session, adjustment_id)
    if adjustment.status != AdjustmentStatus.PROPOSED:
        raise not_proposed(adjustment)
    if adjustment.proposed_by_seq == operator.seq:
        raise audit.same_operator(f"Adjustment {adjustment.id} was proposed by you; it")
    customer_id = await session.scalar(
        select(Customer.id).where(Customer.seq == adjustment.customer_seq)
    )
    assert customer_id is not None
    account = customer_available(customer_id)
    credit = adjustment.direction == TransferDirection.CREDIT
    # A savepoint: a caller that swallowed the refusal and committed could not keep an
    # approved adjustment that was never posted.
    async with session.begin_nested():
        moved = await session.execute(
            update(Adjustment)
            .where(
                Adjustment.seq == adjustment.seq,
                Adjustment.status == AdjustmentStatus.PROPOSED,
                Adjustment.proposed_by_seq != operator.seq,
            )
            .values(status=AdjustmentStatus.APPROVED, decided_by_seq=operator.seq, decided_at=now)
            .returning(Adjustment.seq)
            .execution_options(synchronize_session=False)
        )
        if moved.first() is None:
            raise not_proposed(adjustment)
        try:
            [posted] = await ledger.post(
                session,
                [
                    ledger.Leg(
                        debit=Platform.ADJUSTMENTS if credit else account,
                        credit=account if credit else Platform.ADJUSTMENTS,
                        amount=adjustment.amount,
                        kind=TransferKind.ADJUSTMENT,
                        idempotency_key=f"{adjustment.id}:post",
                        customer_seq=adjustment.customer_seq,
                        direction=adjustment.direction,
                        reference=adjustment.id,
                    )
                ],
                now,
            )
        except ledger.InsufficientFunds as short:
            if short.account_code == Platform.ADJUSTMENTS:
                held = await ledger.balances(session, [Platform.ADJUSTMENTS])
                raise budget_exhausted(held[Platform.ADJUSTMENTS]) from None
            raise overdraws(customer_id) from None
        await session.execute(
            update(Adjustment)
            .where(Adjustment.seq == adjustment.seq)
            .values(transfer_seq=posted.seq)
            .execution_options(synchronize_session=False)
        )
    adjustment = await _reload(session, adjustment.seq)
    await audit.record(
        session,
        actor=operator,
        action="adjustment.approved",
        target=adjustment.id,
        before={"status": AdjustmentStatus.PROPOSED.value},
        after=_terms(adjustment, customer_id)
        | {"status": AdjustmentStatus.APPROVED.value, "transfer": posted.id},
        now=now,
    )
    return adjustment


async def reject(
    session: WriteSession,
    adjustment_id: str,
    reason: str | None,
    *,
    operator: OperatorRef,
    now: datetime,
) -> Adjustment:
    """End a proposed adjustment without posting it (any operator, the proposer too)."""
    checked = checked_reason(reason)
    adjustment = await _locked(session, adjustment_id)
    moved = await session.execute(
        update(Adjustment)
        .where(Adjustment.seq == adjustment.seq, Adjustment.status == AdjustmentStatus.PROPOSED)
        .values(
            status=AdjustmentStatus.REJECTED,
            decided_by_seq=operator.seq,
            decided_at=now,
            rejection_reason=checked,
        )
        .returning(Adjustment.seq)
        .execution_options(synchronize_session=False)
    )
    if moved.first() is None:
        raise not_proposed(adjustment)
    adjustment = await _reload(session, adjustment.seq)
    await audit.record(
        session,
        actor=operator,
        action="adjustment.rejected",
        target=adjustment.id,
        before={"status": AdjustmentStatus.PROPOSED.value},
        after={"status": AdjustmentStatus.REJECTED.value, "reason": checked},
        now=now,
    )
    return adjustment


async def _reload(session: WriteSession, seq: int) -> Adjustment:
    return (
        await session.execute(
            select(Adjustment)
            .where(Adjustment.seq == seq)
            .execution_options(populate_existing=True)
        )
    ).scalar_one()


async def listing(
    session: ReadSession | WriteSession,
    *,
    status: str | None = None,
    proposed_by: str | None = None,
    limit: int = 100,
) -> Sequence[dict[str, Any]]:
    """Adjustments newest first, rendered (`render`) with their customer and operators."""
    if status is not None and status not in {s.value for s in AdjustmentStatus}:
        raise invalid("status", f"Choose one of: {', '.join(s.value for s in AdjustmentStatus)}.")
    query = select(Adjustment).order_by(Adjustment.seq.desc()).limit(limit)
    if status is not None:
        query = query.where(Adjustment.status == status)
    if proposed_by is not None:
        query = query.join(Operator, Operator.seq == Adjustment.proposed_by_seq).where(
            Operator.email == proposed_by.strip().lower()
        )
    rows = (await session.execute(query)).scalars().all()
    return await render_all(session, rows)


async def find(session: ReadSession | WriteSession, adjustment_id: str) -> dict[str, Any]:
    found = await session.scalar(select(Adjustment).where(Adjustment.id == adjustment_id))
    if found is None:
        raise not_found("adjustment", "adjustment_id")
    [rendered] = await render_all(session, [found])
    return rendered


async def render_all(
    session: ReadSession | WriteSession, rows: Sequence[Adjustment]
) -> list[dict[str, Any]]:
    """The one rendering of adjustments, for the CLI (--json) and the console."""
    customer_seqs = {a.customer_seq for a in rows}
    operator_seqs = {a.proposed_by_seq for a in rows} | {
        a.decided_by_seq for a in rows if a.decided_by_seq is not None
    }
    customers = {
        row.seq: row.id
        for row in await session.execute(
            select(Customer.seq, Customer.id).where(Customer.seq.in_(customer_seqs))
        )
    }
    emails = {
        row.seq: row.email
        for row in await session.execute(
            select(Operator.seq, Operator.email).where(Operator.seq.in_(operator_seqs))
        )
    }
    return [
        {
            "id": a.id,
            "customer": customers[a.customer_seq],
            "direction": a.direction.value,
            "amount": format_amount(a.amount),
            "category": a.category.value,
            "reason": a.reason,
            "status": a.status.value,
            "proposed_by": emails[a.proposed_by_seq],
            "proposed_at": rfc3339(a.proposed_at),
            "decided_by": emails.get(a.decided_by_seq) if a.decided_by_seq else None,
            "decided_at": rfc3339(a.decided_at) if a.decided_at else None,
            "rejection_reason": a.rejection_reason,
        }
        for a in rows
    ]
