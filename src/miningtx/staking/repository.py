"""Queries of the staking domain."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select

from miningtx.kit.db import ReadSession, WriteSession
from miningtx.kit.pagination import PageRequest
from miningtx.models import Stake, StakeStatus, StakingPlan, StakingTerms


async def plans(session: ReadSession | WriteSession) -> tuple[StakingTerms, list[StakingPlan]]:
    """The amount limits and the ROI curve's points, ordered by days."""
    terms = (await session.execute(select(StakingTerms).where(StakingTerms.id == 1))).scalar_one()
    points = (await session.scalars(select(StakingPlan).order_by(StakingPlan.days))).all()
    return terms, list(points)


async def list_stakes(
    session: ReadSession, customer_seq: int, page: PageRequest, status: StakeStatus | None
) -> Sequence[tuple[int, Stake]]:
    query = select(Stake).where(Stake.customer_seq == customer_seq)
    if status is not None:
        query = query.where(Stake.status == status)
    if page.after_seq is not None:
        query = query.where(Stake.seq < page.after_seq)
    rows = await session.scalars(query.order_by(Stake.seq.desc()).limit(page.limit + 1))
    return [(s.seq, s) for s in rows]


async def get_stake(session: ReadSession, customer_seq: int, stake_id: str) -> Stake | None:
    return await session.scalar(
        select(Stake).where(Stake.id == stake_id, Stake.customer_seq == customer_seq)
    )


async def due_stake_ids(
    session: ReadSession | WriteSession, now: datetime, limit: int
) -> list[str]:
    """Ids of active stakes whose end_time has passed, the longest overdue first."""
    rows = await session.scalars(
        select(Stake.id)
        .where(Stake.status == StakeStatus.ACTIVE, Stake.end_time <= now)
        .order_by(Stake.end_time, Stake.seq)
        .limit(limit)
    )
    return list(rows)
