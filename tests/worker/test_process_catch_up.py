"""`mtx rewards catch-up` in a real process: Ctrl-C keeps what was committed, a rerun ends it."""

from __future__ import annotations

import asyncio
import json
import signal
import sys
import time
from pathlib import Path

import pytest

from tests.servers import run_command, seeding, server_environment, stop
from tests.worker.helpers import (
    DEADLINE,
    books_problems,
    owed_in_days,
    paid_per_activation,
    reward_count,
)

pytestmark = pytest.mark.slow

#: `mtx rewards ...` without going through cli.py, which registers the sub-app.
REWARDS = (
    sys.executable,
    "-c",
    "from miningtx.mining.commands import rewards_app; rewards_app(prog_name='mtx rewards')",
)


async def test_ctrl_c_keeps_committed_passes_and_a_rerun_credits_the_rest(
    database_url: str, tmp_path: Path
) -> None:
    async with seeding(database_url) as seed:
        owed = await owed_in_days(seed)
        total = sum(owed.values())
        env = server_environment(database_url, {"MTX_ACCRUAL_BATCH_SIZE": "25"})
        process = await asyncio.create_subprocess_exec(
            *REWARDS,
            "catch-up",
            cwd=tmp_path,
            env=env,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            start_new_session=True,
        )
        try:
            deadline = time.monotonic() + DEADLINE
            while await reward_count(seed.db) == 0:
                assert process.returncode is None
                assert time.monotonic() < deadline, "catch-up credited nothing"
                await asyncio.sleep(0.005)
            await asyncio.sleep(0.05)
            process.send_signal(signal.SIGINT)
            _, err = await asyncio.wait_for(process.communicate(), DEADLINE)
        finally:
            await stop(process)

        assert process.returncode == 130, err.decode()
        message = err.decode().strip().splitlines()[-1]
        assert message.startswith("error: interrupted after "), message
        assert "rerun `mtx rewards catch-up`" in message
        interrupted_at = await reward_count(seed.db)
        assert 0 < interrupted_at < total
        assert await books_problems(seed.db) == []

        code, out, err_text = await run_command(
            *REWARDS, "catch-up", "--json", env=env, cwd=tmp_path, time_limit=DEADLINE
        )

        assert code == 0, err_text
        assert json.loads(out)["credited"] == total - interrupted_at
        assert await paid_per_activation(seed) == owed
        assert await books_problems(seed.db) == []
