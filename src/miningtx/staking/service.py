"""Staking rules: a stake locks its amount and reserves its whole yield up front.

Creating a stake moves the amount from the customer's `available` to the platform's
stakes_locked account and reserves `payout - amount` from the staking pool, in one
ledger post. At maturity the locked amount and the reservation are paid out together
as one `stake_payout` credit, exactly once.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update

from miningtx.audit import service as audit
from miningtx.audit.refs import OperatorRef
from miningtx.customers.refs import CustomerRef
from miningtx.kit.db import ReadSession, WriteSession
from miningtx.kit.errors import ApiError, invalid
from miningtx.kit.ids import new_id
from miningtx.kit.money import format_amount, format_decimal
from miningtx.ledger import service as ledger
from miningtx.ledger.accounts import Platform, customer_available
from miningtx.models import (
    Customer,
    Stake,
    StakeStatus,
    StakingPlan,
    StakingTerms,
    TransferDirection,
    TransferKind,
)
from miningtx.staking import repository
from miningtx.staking.limits import HUNDRED_PERCENT_E4, MAX_DAYS, MIN_DAYS
from miningtx.staking.presenters import stake_event_data
from miningtx.webhooks import outbox


def sold_out() -> ApiError:
    return ApiError(409, "sold_out", "The operator cannot fund this stake's return right now.")


def insufficient_balance() -> ApiError:
    return ApiError(402, "insufficient_balance", "Your balance is too low to stake this amount.")


def days_out_of_range() -> ApiError:
    return invalid("days", f"days must be an integer from {MIN_DAYS} to {MAX_DAYS}.")


def interpolate_roi(plans: Sequence[StakingPlan], days: int) -> int | None:
    """ROI in 0.0001 percent for `days`: linear between neighbouring plan points, truncated.

    `plans` must be ordered by days. None when `days` lies outside the curve's span.
    """
    below = [p for p in plans if p.days <= days]
    above = [p for p in plans if p.days >= days]
    if not below or not above:
        return None
    p0, p1 = below[-1], above[0]
    if p0.days == p1.days:
        return p0.roi_e4
    return p0.roi_e4 + (p1.roi_e4 - p0.roi_e4) * (days - p0.days) // (p1.days - p0.days)


def payout_of(amount: int, roi_e4: int) -> int:
    """amount x (100 + roi) / 100, truncated to micro-USDT."""
    return amount * (HUNDRED_PERCENT_E4 + roi_e4) // HUNDRED_PERCENT_E4


@dataclass(frozen=True, slots=True)
class StakeQuote:
    """What a stake of `amount` for `days` would pay at the current terms."""

    amount: int
    days: int
    roi_e4: int
    payout: int


async def quote_stake(session: ReadSession | WriteSession, amount: int, days: int) -> StakeQuote:
    """The ROI and payout of a stake of `amount` for `days` at the current terms, or the
    400 creating it would meet (amount limits, ROI curve). `create_stake` prices with it,
    so a preview and the stake it becomes always agree."""
    terms, plans = await repository.plans(session)
    if amount < terms.min_amount:
        raise ApiError(
            400,
            "amount_below_minimum",
            f"The minimum stake is {format_amount(terms.min_amount)} USDT.",
            param="amount",
        )
    if amount > terms.max_amount:
        raise ApiError(
            400,
            "amount_above_maximum",
            f"The maximum stake is {format_amount(terms.max_amount)} USDT.",
            param="amount",
        )
    roi_e4 = interpolate_roi(plans, days)
    if roi_e4 is None:
        raise invalid(
            "days",
            f"days must be from {plans[0].days} to {plans[-1].days}."
            if plans
            else "Staking is not offered right now.",
        )
    return StakeQuote(amount, days, roi_e4, payout_of(amount, roi_e4))


async def create_stake(
    session: WriteSession, customer: CustomerRef, amount: int, days: int, now: datetime
) -> Stake:
    """Lock `amount` for `days` at the current terms and reserve its yield from the pool.

    400 outside the amount limits or the ROI curve; 409 sold_out when the staking pool
    cannot fund the yield, 402 when the customer's balance is short. Nothing moves on
    refusal.
    """
    quote = await quote_stake(session, amount, days)
    roi_e4, payout = quote.roi_e4, quote.payout
    stake_id = new_id("stk")
    legs: list[ledger.Leg] = []
    if payout > amount:
        # Reservation first: a short pool is sold_out even when the customer is short too.
        legs.append(
            ledger.Leg(
                debit=Platform.STAKING_POOL,
                credit=Platform.STAKING_RESERVED,
                amount=payout - amount,
                kind=TransferKind.STAKE_RESERVATION,
                idempotency_key=f"{stake_id}:reserve",
                reference=stake_id,
            )
        )
    legs.append(
        ledger.Leg(
            debit=customer_available(customer.id),
            credit=Platform.STAKES_LOCKED,
            amount=amount,
            kind=TransferKind.STAKE,
            idempotency_key=f"{stake_id}:lock",
            customer_seq=customer.seq,
            direction=TransferDirection.DEBIT,
            reference=stake_id,
        )
    )
    try:
        await ledger.post(session, legs, now)
    except ledger.InsufficientFunds as short:
        raise (
            sold_out() if short.account_code == Platform.STAKING_POOL else insufficient_balance()
        ) from None
    stake = Stake(
        id=stake_id,
        customer_seq=customer.seq,
        amount=amount,
        days=days,
        roi_e4=roi_e4,
        payout=payout,
        status=StakeStatus.ACTIVE,
        start_time=now,
        end_time=now + timedelta(days=days),
    )
    session.add(stake)
    await session.flush()
    return stake


async def complete_stake(session: WriteSession, stake_id: str, now: datetime) -> Stake | None:
    """Credit a due stake's whole payout and mark it completed, exactly once.

    The guarded UPDATE claims the stake, so concurrent workers cannot both pay it.
    Returns None when the stake is unknown, already completed or not yet due. Emits
    `stake.completed` in the same transaction.
    """
    stake = await session.scalar(
        update(Stake)
        .where(Stake.id == stake_id, Stake.status == StakeStatus.ACTIVE, Stake.end_time <= now)
        .values(status=StakeStatus.COMPLETED, completed_at=now)
        .returning(Stake)
        .execution_options(synchronize_session=False, populate_existing=True)
    )
    if stake is None:
        return None
    customer_id = (
        await session.execute(select(Customer.id).where(Customer.seq == stake.customer_seq))
    ).scalar_one()
    # The locked amount joins the reserved yield so the customer sees one credit of the payout.
    posted = await ledger.post(
        session,
        [
            ledger.Leg(
                debit=Platform.STAKES_LOCKED,
                credit=Platform.STAKING_RESERVED,
                amount=stake.amount,
                kind=TransferKind.STAKE_RELEASE,
                idempotency_key=f"{stake.id}:release",
                reference=stake.id,
            ),
            ledger.Leg(
                debit=Platform.STAKING_RESERVED,
                credit=customer_available(customer_id),
                amount=stake.payout,
                kind=TransferKind.STAKE_PAYOUT,
                idempotency_key=f"{stake.id}:payout",
                customer_seq=stake.customer_seq,
                direction=TransferDirection.CREDIT,
                reference=stake.id,
            ),
        ],
        now,
    )
    stake.payout_transfer_seq = posted[-1].seq
    await session.flush()
    await outbox.emit(
        session,
        customer_seq=stake.customer_seq,
        event_type="stake.completed",
        data=stake_event_data(stake),
        now=now,
        source_key=f"{stake.id}:completed",
    )
    return stake


async def set_terms(
    session: WriteSession,
    *,
    min_amount: int | None = None,
    max_amount: int | None = None,
    operator: OperatorRef | None,
    now: datetime,
) -> StakingTerms:
    """Change the amount limits of new stakes; running stakes keep theirs (audited)."""
    terms = (
        await session.execute(select(StakingTerms).where(StakingTerms.id == 1).with_for_update())
    ).scalar_one()
    new_min = terms.min_amount if min_amount is None else min_amount
    new_max = terms.max_amount if max_amount is None else max_amount
    if new_min <= 0:
        raise invalid("min_amount", "min_amount must be positive.")
    if new_max <= 0:
        raise invalid("max_amount", "max_amount must be positive.")
    if new_min > new_max:
        raise invalid(
            "min_amount" if min_amount is not None else "max_amount",
            f"min_amount ({format_amount(new_min)}) must not exceed "
            f"max_amount ({format_amount(new_max)}).",
        )
    before = {
        "min_amount": format_amount(terms.min_amount),
        "max_amount": format_amount(terms.max_amount),
    }
    terms.min_amount, terms.max_amount = new_min, new_max
    await session.flush()
    await audit.record(
        session,
        actor=operator,
        action="staking.limits_changed",
        target="staking",
        before=before,
        after={"min_amount": format_amount(new_min), "max_amount": format_amount(new_max)},
        now=now,
    )
    return terms


def _roi(roi_e4: int) -> str:
    return format_decimal(roi_e4, 4)


async def set_plan(
    session: WriteSession,
    days: int,
    roi_e4: int,
    *,
    operator: OperatorRef | None,
    now: datetime,
) -> StakingPlan:
    """Add or change a point of the ROI curve; running stakes keep their ROI (audited)."""
    if not MIN_DAYS <= days <= MAX_DAYS:
        raise days_out_of_range()
    if roi_e4 < 0:
        raise invalid("roi_e4", "The ROI must not be negative.")
    plan = await session.get(StakingPlan, days, with_for_update=True)
    before = None if plan is None else {"days": days, "roi_percent": _roi(plan.roi_e4)}
    if plan is None:
        plan = StakingPlan(days=days, roi_e4=roi_e4)
        session.add(plan)
    else:
        plan.roi_e4 = roi_e4
    await session.flush()
    await audit.record(
        session,
        actor=operator,
        action="staking.plan_set",
        target=f"staking:{days}d",
        before=before,
        after={"days": days, "roi_percent": _roi(roi_e4)},
        now=now,
    )
    return plan


async def remove_plan(
    session: WriteSession, days: int, *, operator: OperatorRef | None, now: datetime
) -> None:
    """Remove an inner point of the ROI curve; its end points always stay (audited)."""
    plan = await session.get(StakingPlan, days, with_for_update=True)
    if plan is None:
        raise ApiError(404, "resource_missing", f"No staking plan for {days} days.", param="days")
    if days in (MIN_DAYS, MAX_DAYS):
        raise ApiError(
            409,
            "conflict",
            f"The {MIN_DAYS}- and {MAX_DAYS}-day plans are the curve's end points and stay; "
            "change their ROI instead.",
            param="days",
        )
    before = {"days": days, "roi_percent": _roi(plan.roi_e4)}
    await session.delete(plan)
    await session.flush()
    await audit.record(
        session,
        actor=operator,
        action="staking.plan_removed",
        target=f"staking:{days}d",
        before=before,
        after=None,
        now=now,
    )
