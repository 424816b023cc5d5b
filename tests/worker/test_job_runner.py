"""The job machinery: every job runs once per round, a job with an interval at most once
per interval in one worker, and a failing job does not stop the others."""

from __future__ import annotations

from miningtx.kit.jobs import JobRunner, JobSpec, WorkerContext
from miningtx.worker import all_jobs
from tests.conftest import make_settings

SETTINGS = make_settings("sqlite+aiosqlite:///unused.db")


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def one(_ctx: WorkerContext) -> int:
    return 1


async def broken(_ctx: WorkerContext) -> int:
    raise RuntimeError("a bug")


def context() -> WorkerContext:
    # No job here touches the database, so none is opened.
    return WorkerContext(db=None, settings=SETTINGS)  # type: ignore[arg-type]


def test_the_worker_lists_every_domain_job_in_order() -> None:
    names = [job.name for job in all_jobs()]
    assert names == ["rewards", "stakes", "chain", "webhooks", "sessions"]
    assert [job.every for job in all_jobs()] == [None, None, None, None, 600.0]


async def test_a_job_with_an_interval_runs_once_per_interval_per_runner() -> None:
    clock = FakeClock()
    jobs = [JobSpec("often", one), JobSpec("rarely", one, every=60.0)]
    runner = JobRunner(context(), jobs, monotonic=clock)

    assert await runner.run_round() == {"often": 1, "rarely": 1}
    clock.now += 59.0
    assert await runner.run_round() == {"often": 1, "rarely": 0}
    clock.now += 1.0
    assert await runner.run_round() == {"often": 1, "rarely": 1}
    # Another worker keeps its own times: it is not held back by the first one's runs.
    assert await JobRunner(context(), jobs, monotonic=clock).run_round() == {
        "often": 1,
        "rarely": 1,
    }


async def test_a_failing_job_counts_zero_and_the_others_still_run() -> None:
    runner = JobRunner(context(), [JobSpec("broken", broken), JobSpec("fine", one)])
    assert await runner.run_round() == {"broken": 0, "fine": 1}
