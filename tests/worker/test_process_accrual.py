"""The accrual in real `mtx worker` processes: side by side, and killed at random moments.

Thousands of contracts are owed several days of rewards. Two workers paying them at once
must credit each reward exactly once; a worker SIGKILLed over and over in the middle of
its passes must leave books that balance after every kill, and the rerun must finish
the job with nothing paid twice.
"""

from __future__ import annotations

import asyncio
import os
import random
import signal
import sys
import time
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
from sqlalchemy import func, select

from miningtx.mining.accrual import accrue
from miningtx.models import LedgerTransfer
from tests.servers import MTX, Seed, seeding, server_environment, stop
from tests.worker.helpers import (
    DEADLINE,
    books_problems,
    owed_in_days,
    paid_per_activation,
    reward_count,
)

pytestmark = pytest.mark.slow

KILLS = 20


@asynccontextmanager
async def worker(
    database_url: str, folder: Path, name: str, env: Mapping[str, str]
) -> AsyncIterator[asyncio.subprocess.Process]:
    """One `mtx worker` process in its own process group, stopped when the block ends."""
    with (folder / f"worker-{name}.log").open("wb") as log:
        process = await asyncio.create_subprocess_exec(
            str(MTX),
            "worker",
            cwd=folder,
            env=server_environment(database_url, env),
            stdin=asyncio.subprocess.DEVNULL,
            stdout=log,
            stderr=log,
            start_new_session=True,
        )
    try:
        yield process
    finally:
        await stop(process)


def worker_logs(folder: Path) -> str:
    return "\n".join(log.read_text(errors="replace") for log in sorted(folder.glob("worker-*")))


async def wait_for_rewards(seed: Seed, total: int, *processes: asyncio.subprocess.Process) -> None:
    deadline = time.monotonic() + DEADLINE
    while (credited := await reward_count(seed.db)) < total:
        assert all(p.returncode is None for p in processes), "a worker exited"
        assert time.monotonic() < deadline, f"only {credited} of {total} rewards in time"
        await asyncio.sleep(0.1)
    assert credited == total


async def test_two_workers_credit_each_reward_exactly_once(
    database_url: str, tmp_path: Path
) -> None:
    async with seeding(database_url) as seed:
        owed = await owed_in_days(seed)
        env = {"MTX_ACCRUAL_BATCH_SIZE": "50", "MTX_WORKER_INTERVAL": "0.05"}

        async with (
            worker(database_url, tmp_path, "a", env) as first,
            worker(database_url, tmp_path, "b", env) as second,
        ):
            await wait_for_rewards(seed, sum(owed.values()), first, second)
            await asyncio.sleep(0.5)  # both keep running: nothing more may be credited

        assert await reward_count(seed.db) == sum(owed.values())
        assert await paid_per_activation(seed) == owed
        async with seed.db.read() as session:
            # Each run stamps its rewards with its own now: both workers took passes.
            runs = await session.execute(
                select(LedgerTransfer.created_at, func.count())
                .where(LedgerTransfer.kind == "reward")
                .group_by(LedgerTransfer.created_at)
            )
            assert len(runs.all()) >= 2
        assert await books_problems(seed.db) == []
        logs = worker_logs(tmp_path)
        assert "Traceback" not in logs, logs
        assert "worker_job_failed" not in logs, logs


async def test_a_worker_killed_mid_pass_twenty_times_pays_each_reward_once(
    database_url: str, tmp_path: Path
) -> None:
    run_seed = int.from_bytes(os.urandom(4), "big")
    print(f"kill timings seeded with {run_seed}", file=sys.stderr)
    pick = random.Random(run_seed)
    async with seeding(database_url) as seed:
        owed = await owed_in_days(seed)
        total = sum(owed.values())
        env = {"MTX_ACCRUAL_BATCH_SIZE": "25", "MTX_WORKER_INTERVAL": "0.05"}

        for kill in range(KILLS):
            before = await reward_count(seed.db)
            assert before < total, f"the work ran out after {kill} kills"
            async with worker(database_url, tmp_path, f"{kill:02d}", env) as process:
                # Kill only once it is accruing: after its first committed pass, at a
                # random instant of the passes that follow.
                deadline = time.monotonic() + DEADLINE
                while await reward_count(seed.db) == before:
                    assert process.returncode is None, worker_logs(tmp_path)
                    assert time.monotonic() < deadline, "the worker credited nothing"
                    await asyncio.sleep(0.005)
                await asyncio.sleep(pick.uniform(0.0, 0.08))
                os.killpg(process.pid, signal.SIGKILL)
                assert await process.wait() == -signal.SIGKILL
            assert await books_problems(seed.db) == [], f"after kill {kill + 1}"

        credited_by_killed_workers = await reward_count(seed.db)
        rest = await accrue(seed.db, batch_size=25)

        assert credited_by_killed_workers + rest.rewards == total
        assert await paid_per_activation(seed) == owed
        assert await books_problems(seed.db) == []
        assert (await accrue(seed.db, batch_size=25)).rewards == 0
        logs = worker_logs(tmp_path)
        assert "worker_job_failed" not in logs, logs
