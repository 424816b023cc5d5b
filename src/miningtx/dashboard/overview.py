"""The customer's overview: balance figures (GET /v1/balance's query), a chart of daily
mining rewards, and active contracts and stakes with how far along they are."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from fastapi import Request
from fastapi.responses import Response

from miningtx.customers import repository
from miningtx.dashboard.customer.forms import progress_percent
from miningtx.dashboard.deps import CustomerDep
from miningtx.dashboard.rendering import render
from miningtx.dashboard.routing import customer_pages
from miningtx.kit.db import Database
from miningtx.kit.deps import ReadConnectionDep, ReadDep
from miningtx.kit.money import format_amount
from miningtx.kit.pagination import PageRequest
from miningtx.mining import repository as mining
from miningtx.models import Activation, ActivationStatus, Stake, StakeStatus
from miningtx.staking import repository as staking

router = customer_pages()

#: Days the rewards chart covers, ending with today (business time).
CHART_DAYS = 30
#: Active contracts and stakes listed (the newest first).
LISTED = 20
CHART_WIDTH = 600
CHART_HEIGHT = 160
CHART_BOTTOM = 20  # room for the date labels


@dataclass(frozen=True, slots=True)
class Bar:
    day: date
    amount: int
    x: int
    y: int
    width: int
    height: int


def reward_chart(totals: list[tuple[date, int]], today: date) -> dict[str, Any]:
    """Bars of an inline SVG, one per day of the last CHART_DAYS days (zero days included),
    scaled to the highest day; integers only, so amounts never pass through floats."""
    by_day = dict(totals)
    days = [today - timedelta(days=offset) for offset in range(CHART_DAYS - 1, -1, -1)]
    peak = max((by_day.get(day, 0) for day in days), default=0)
    slot = CHART_WIDTH // CHART_DAYS
    plot = CHART_HEIGHT - CHART_BOTTOM
    bars = []
    for index, day in enumerate(days):
        amount = by_day.get(day, 0)
        height = amount * plot // peak if peak else 0
        if amount and not height:
            height = 1  # a paid day stays visible next to a much larger one
        bars.append(Bar(day, amount, index * slot + 2, plot - height, slot - 4, height))
    total = sum(bar.amount for bar in bars)
    return {
        "bars": bars,
        "width": CHART_WIDTH,
        "height": CHART_HEIGHT,
        "baseline": plot,
        "peak": peak,
        "total": total,
        "first": days[0],
        "last": days[-1],
        "paid_days": [bar for bar in bars if bar.amount],
        "summary": (
            f"Mining rewards per day from {days[0].isoformat()} to {days[-1].isoformat()}: "
            f"{format_amount(total)} USDT in all, at most {format_amount(peak)} USDT on one day."
        ),
    }


def _contract_progress(activation: Activation) -> dict[str, Any]:
    return {
        "activation": activation,
        "percent": progress_percent(activation.rewards_paid, activation.duration_days),
        "days_left": activation.duration_days - activation.rewards_paid,
    }


def _stake_progress(stake: Stake, now: datetime) -> dict[str, Any]:
    whole = (stake.end_time - stake.start_time).total_seconds()
    done = (now - stake.start_time).total_seconds()
    return {
        "stake": stake,
        "percent": progress_percent(int(done), int(whole)),
        "days_left": max(0, (stake.end_time - now).days),
    }


@router.get("/dashboard", name="overview")
async def overview(
    request: Request,
    principal: CustomerDep,
    connection: ReadConnectionDep,
    session: ReadDep,
) -> Response:
    db: Database = request.app.state.db
    now = await db.clock.sync(session)
    balance = await repository.balance(connection, principal.customer_seq)
    customer = await repository.customer(session, principal.customer_seq)
    today = now.date()
    totals = await mining.daily_reward_totals(
        session, principal.customer_seq, today - timedelta(days=CHART_DAYS - 1)
    )
    page = PageRequest(LISTED, None)
    activations = await mining.list_activations(
        session, principal.customer_seq, page, ActivationStatus.ACTIVE
    )
    stakes = await staking.list_stakes(session, principal.customer_seq, page, StakeStatus.ACTIVE)
    return await render(
        request,
        "overview.html",
        {
            "balance": balance,
            "customer": customer,
            "chart": reward_chart(totals, today),
            "contracts": [_contract_progress(a) for _, a in activations[:LISTED]],
            "stakes": [_stake_progress(s, now) for _, s in stakes[:LISTED]],
        },
    )
