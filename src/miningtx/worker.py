"""The background worker: rounds of jobs, each safe to run in several processes at once.

A job takes a `WorkerContext` and returns how much it did (0: nothing was due). A
job commits its own small transactions and leaves nothing half-done when its
process is killed: whatever it did not commit is simply done again next round.
`mtx worker` runs `run_forever`; `mtx serve` runs it in-process on the embedded
default; the sandbox clock helper runs `run_time_jobs` so that advancing the clock
makes rewards, maturities and expiries happen before it answers.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import structlog

from miningtx.config import Settings
from miningtx.kit.db import Database

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class WorkerContext:
    """What a job may use: the database and the settings. Jobs that talk to the network
    build their own clients (webhook delivery pins connections to vetted addresses)."""

    db: Database
    settings: Settings


Job = Callable[[WorkerContext], Awaitable[int]]


def time_jobs() -> list[tuple[str, Job]]:
    """Jobs that the passing of (deployment) time makes due, in the order they run."""
    from miningtx.mining.tasks import accrue_rewards  # noqa: PLC0415  # avoid import cycles
    from miningtx.staking.tasks import complete_due_stakes  # noqa: PLC0415

    return [("rewards", accrue_rewards), ("stakes", complete_due_stakes)]


def all_jobs() -> list[tuple[str, Job]]:
    from miningtx.dashboard.tasks import purge_expired_sessions  # noqa: PLC0415
    from miningtx.wallet.watcher import watch_chains  # noqa: PLC0415
    from miningtx.webhooks.delivery import deliver_due  # noqa: PLC0415

    return [
        *time_jobs(),
        ("chain", watch_chains),
        ("webhooks", deliver_due),
        ("sessions", purge_expired_sessions),
    ]


async def run_round(ctx: WorkerContext, jobs: list[tuple[str, Job]]) -> dict[str, int]:
    """Run each job once; a failing job is logged and the others still run."""
    done: dict[str, int] = {}
    for name, job in jobs:
        try:
            done[name] = await job(ctx)
        except Exception:  # one job's failure must not stop the others
            log.exception("worker_job_failed", job=name)
            done[name] = 0
    return done


async def run_time_jobs(ctx: WorkerContext) -> dict[str, int]:
    """Run the time-driven jobs until nothing more is due; returns what each did."""
    totals: dict[str, int] = {}
    while True:
        done = await run_round(ctx, time_jobs())
        for name, count in done.items():
            totals[name] = totals.get(name, 0) + count
        if not any(done.values()):
            return totals


async def run_forever(ctx: WorkerContext, stop: asyncio.Event) -> None:
    """Run rounds until `stop` is set; sleep `worker_interval` after an idle round."""
    jobs = all_jobs()
    log.info("worker_started", jobs=[name for name, _ in jobs])
    while not stop.is_set():
        done = await run_round(ctx, jobs)
        if not any(done.values()):
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), ctx.settings.worker_interval)
    log.info("worker_stopped")
