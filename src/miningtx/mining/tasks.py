"""Background jobs of the mining domain: the daily reward accrual."""

from __future__ import annotations

from typing import TYPE_CHECKING

from miningtx.mining.accrual import accrue

if TYPE_CHECKING:
    from miningtx.worker import WorkerContext


async def accrue_rewards(ctx: WorkerContext) -> int:
    """Credit every reward that has fallen due; returns how many were credited."""
    done = await accrue(ctx.db, batch_size=ctx.settings.accrual_batch_size)
    return done.rewards
