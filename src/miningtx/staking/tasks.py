"""Background jobs of the staking domain: paying stakes at maturity."""

from __future__ import annotations

from miningtx.kit.jobs import JobSpec, WorkerContext
from miningtx.staking import repository
from miningtx.staking.service import complete_stake

#: Due stakes looked up per query; each is then paid in a transaction of its own.
BATCH = 200


async def complete_due_stakes(ctx: WorkerContext) -> int:
    """Pay every stake whose end_time has passed; returns how many were paid.

    One short transaction per stake: its guarded UPDATE claims it, so a stake another
    worker paid meanwhile is skipped, and a killed worker loses at most the one in flight.
    """
    db = ctx.db
    async with db.read() as session:
        now = await db.clock.sync(session)
    paid = 0
    while True:
        async with db.read() as session:
            due = await repository.due_stake_ids(session, now, BATCH)
        for stake_id in due:
            async with db.write() as session:
                if await complete_stake(session, stake_id, now) is not None:
                    paid += 1
        if len(due) < BATCH:
            return paid


#: Runs every round: an idle round is one query for due stakes.
STAKES_JOB = JobSpec("stakes", complete_due_stakes)
