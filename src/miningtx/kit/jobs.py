"""Background job machinery: what a job receives, how it is declared, how a round runs.

A domain declares its jobs in its own `tasks.py` as `JobSpec`s built on this module
only; `worker.py` lists them. This module imports no domain, so no domain depends on
the module that runs its jobs.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

import structlog

from miningtx.config import Settings
from miningtx.kit.db import Database, is_unavailable

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class WorkerContext:
    """What a job may use: the database and the settings. Jobs that talk to the network
    build their own clients (webhook delivery pins connections to vetted addresses)."""

    db: Database
    settings: Settings


#: A job does what is due and returns how much it did (0: nothing was due).
Job = Callable[[WorkerContext], Awaitable[int]]


@dataclass(frozen=True)
class JobSpec:
    """A job as a domain declares it: its name in logs and output, what it runs, and
    the seconds between two runs in one worker (None: every round)."""

    name: str
    run: Job
    every: float | None = None


class JobRunner:
    """Runs rounds of jobs for one worker, each at most once per its own interval.

    The last run times belong to this runner, so two workers in one process (or a
    one-off round beside a running worker) never throttle each other.
    """

    def __init__(
        self,
        ctx: WorkerContext,
        jobs: Sequence[JobSpec],
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.ctx = ctx
        self.jobs = list(jobs)
        self._monotonic = monotonic
        self._last_run: dict[str, float] = {}

    def _due(self, job: JobSpec, now: float) -> bool:
        last = self._last_run.get(job.name)
        return job.every is None or last is None or now - last >= job.every

    async def run_round(self) -> dict[str, int]:
        """Run each due job once (a job not due counts 0); a failing job is logged and the
        others still run. A database outage is logged once (`database_unavailable`), not
        once per job and round; the jobs simply run again next round."""
        done: dict[str, int] = {}
        for job in self.jobs:
            started = self._monotonic()
            if not self._due(job, started):
                done[job.name] = 0
                continue
            self._last_run[job.name] = started
            try:
                done[job.name] = await job.run(self.ctx)
            except Exception as error:  # one job's failure must not stop the others
                if is_unavailable(error):
                    self.ctx.db.reachability.lost(error)
                else:
                    log.exception("worker_job_failed", job=job.name)
                done[job.name] = 0
        return done
