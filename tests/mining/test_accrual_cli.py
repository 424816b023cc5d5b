"""`mtx rewards status` and `mtx rewards catch-up`, against SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from datetime import date
from typing import Any

import pytest
from typer.testing import CliRunner

from miningtx.config import get_settings
from miningtx.kit.clock import ONE_DAY
from miningtx.mining.commands import rewards_app
from tests.conftest import TEST_XPUB
from tests.servers import seeding
from tests.worker.helpers import (
    at,
    books_problems,
    deployment_now,
    expected_rewards,
    land_after,
    seed_activations,
)

runner = CliRunner()


@pytest.fixture
def operator_db(database_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """The CLI's settings point at the test's database; chunks of 5 contracts."""
    monkeypatch.setenv("MTX_DATABASE_URL", database_url)
    monkeypatch.setenv("MTX_WALLET_XPUB", TEST_XPUB)
    monkeypatch.setenv("MTX_ACCRUAL_BATCH_SIZE", "5")
    get_settings.cache_clear()
    yield database_url
    get_settings.cache_clear()


def rewards(*args: str) -> dict[str, Any]:
    result = runner.invoke(rewards_app, [*args, "--json"])
    assert result.exit_code == 0, result.output
    data: dict[str, Any] = json.loads(result.stdout)
    return data


async def twelve_contracts_four_days_on(database_url: str) -> tuple[dict[str, int], date]:
    async with seeding(database_url) as seed:
        await seed_activations(seed.db, seed.settings, customers=3, per_customer=4)
        day = (await deployment_now(seed.db)).date() + 4 * ONE_DAY
        await land_after(seed.db, at(day, 12), seconds=0)
        return await expected_rewards(seed.db), day


async def problems(database_url: str) -> list[str]:
    async with seeding(database_url) as seed:
        return await books_problems(seed.db)


def test_status_then_catch_up_then_nothing_is_due(operator_db: str) -> None:
    idle = rewards("catch-up")
    assert (idle["credited"], idle["contracts"]) == (0, 0)
    owed, day = asyncio.run(twelve_contracts_four_days_on(operator_db))

    before = rewards("status")
    done = rewards("catch-up")
    after = rewards("status")
    again = rewards("catch-up")

    assert (before["due"], before["target_day"], before["last_credited_day"]) == (
        12,
        day.isoformat(),
        None,
    )
    assert before["now"].startswith(day.isoformat() + "T12:00:0")
    assert (done["credited"], done["contracts"], done["target_day"]) == (
        sum(owed.values()),
        12,
        day.isoformat(),
    )
    assert (after["due"], after["last_credited_day"]) == (0, day.isoformat())
    assert after["last_credited_at"] is not None
    assert again["credited"] == 0
    assert asyncio.run(problems(operator_db)) == []


def test_the_text_output_and_progress(operator_db: str) -> None:
    owed, day = asyncio.run(twelve_contracts_four_days_on(operator_db))

    status = runner.invoke(rewards_app, ["status"])
    caught_up = runner.invoke(rewards_app, ["catch-up"])

    assert status.exit_code == 0, status.output
    assert status.stdout.startswith(f"12 contracts owed rewards up to {day.isoformat()}")
    assert caught_up.exit_code == 0, caught_up.output
    assert caught_up.stdout == (
        f"Credited {sum(owed.values())} rewards to 12 contracts (0 expired); "
        f"nothing is due up to {day.isoformat()}.\n"
    )
    assert "12/12" in caught_up.stderr  # the progress bar, on stderr
