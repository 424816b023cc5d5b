"""The background worker: lists every domain's jobs and runs them in rounds.

Each job is declared in its domain's `tasks.py`; the machinery (the context a job
receives, the round, the per-job intervals) is in `kit/jobs.py`. A job commits its own
small transactions and leaves nothing half-done when its process is killed: whatever
it did not commit is simply done again next round. `mtx worker` runs `run_forever`;
`mtx serve` runs it in-process on the embedded default; the sandbox clock helper runs
`run_time_jobs` so that advancing the clock makes rewards, maturities and expiries
happen before it answers.
"""

from __future__ import annotations

import asyncio
import contextlib

import structlog

from miningtx.dashboard.tasks import SESSIONS_JOB
from miningtx.kit.jobs import JobRunner, JobSpec, WorkerContext
from miningtx.mining.tasks import REWARDS_JOB
from miningtx.staking.tasks import STAKES_JOB
from miningtx.wallet.tasks import CHAIN_JOB
from miningtx.webhooks.tasks import WEBHOOKS_JOB

log = structlog.get_logger(__name__)


def time_jobs() -> list[JobSpec]:
    """Jobs that the passing of (deployment) time makes due, in the order they run."""
    return [REWARDS_JOB, STAKES_JOB]


def all_jobs() -> list[JobSpec]:
    """Every job of a worker round, in the order they run: time jobs first."""
    return [*time_jobs(), CHAIN_JOB, WEBHOOKS_JOB, SESSIONS_JOB]


async def run_round(ctx: WorkerContext, jobs: list[JobSpec]) -> dict[str, int]:
    """Run each job once (a one-off round: no job has run yet, so all are due)."""
    return await JobRunner(ctx, jobs).run_round()


async def run_time_jobs(ctx: WorkerContext) -> dict[str, int]:
    """Run the time-driven jobs until nothing more is due; returns what each did."""
    runner = JobRunner(ctx, time_jobs())
    totals: dict[str, int] = {}
    while True:
        done = await runner.run_round()
        for name, count in done.items():
            totals[name] = totals.get(name, 0) + count
        if not any(done.values()):
            return totals


async def run_forever(ctx: WorkerContext, stop: asyncio.Event) -> None:
    """Run rounds until `stop` is set; sleep `worker_interval` after an idle round."""
    runner = JobRunner(ctx, all_jobs())
    log.info("worker_started", jobs=[job.name for job in runner.jobs])
    while not stop.is_set():
        done = await runner.run_round()
        if not any(done.values()):
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), ctx.settings.worker_interval)
    log.info("worker_stopped")
