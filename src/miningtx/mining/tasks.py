"""Background jobs of the mining domain: the daily reward accrual."""

from __future__ import annotations

from miningtx.kit.jobs import JobSpec, WorkerContext
from miningtx.mining.accrual import accrue


async def accrue_rewards(ctx: WorkerContext) -> int:
    """Credit every reward that has fallen due; returns how many were credited."""
    done = await accrue(ctx.db, batch_size=ctx.settings.accrual_batch_size)
    return done.rewards


#: Runs every round: an idle round is one index probe.
REWARDS_JOB = JobSpec("rewards", accrue_rewards)
