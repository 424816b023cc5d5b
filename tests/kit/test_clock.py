"""The daily cut-off arithmetic and the deployment clock shared through the database."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import pytest

from miningtx.kit.clock import DeploymentClock, first_reward_day, latest_cutoff_day, utcnow
from miningtx.kit.db import Database
from tests.conftest import Env, make_settings

SIX = time(6, 0)


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


@pytest.mark.parametrize(
    ("activated_at", "first_day"),
    [
        # 24 h later is 06:00 the next day exactly: that cut-off counts.
        ("2026-06-20T06:00:00", date(2026, 6, 21)),
        # One second later and the next day's cut-off is 24 h + 1 s too early by 1 s.
        ("2026-06-20T06:00:01", date(2026, 6, 22)),
        ("2026-06-20T05:59:59", date(2026, 6, 21)),
        ("2026-06-20T00:00:00", date(2026, 6, 21)),
        ("2026-06-20T23:59:59", date(2026, 6, 22)),
        # Across a month and a year end.
        ("2026-12-31T10:14:00", date(2027, 1, 2)),
    ],
)
def test_first_reward_is_the_first_cutoff_at_least_24_hours_after_activation(
    activated_at: str, first_day: date
) -> None:
    assert first_reward_day(at(activated_at), SIX) == first_day


def test_first_reward_day_follows_the_configured_cutoff() -> None:
    assert first_reward_day(at("2026-06-20T12:00:00"), time(0, 0)) == date(2026, 6, 22)
    assert first_reward_day(at("2026-06-20T12:00:00"), time(18, 30)) == date(2026, 6, 21)


@pytest.mark.parametrize(
    ("now", "day"),
    [
        ("2026-06-22T06:00:00", date(2026, 6, 22)),
        ("2026-06-22T05:59:59", date(2026, 6, 21)),
        ("2026-06-22T23:00:00", date(2026, 6, 22)),
        ("2026-01-01T01:00:00", date(2025, 12, 31)),
    ],
)
def test_latest_cutoff_day_is_the_last_cutoff_that_has_passed(now: str, day: date) -> None:
    assert latest_cutoff_day(at(now), SIX) == day


async def test_the_offset_lives_in_the_database_so_every_process_agrees(env: Env) -> None:
    other = Database(make_settings(env.settings.database_url))
    try:
        async with env.db.write() as session:
            moved_to = await env.db.clock.advance(session, 3 * 86_400)
        assert moved_to - utcnow() > timedelta(days=3) - timedelta(seconds=5)
        # Another process still has its stale offset until it reads the row again.
        assert other.clock.now() - utcnow() < timedelta(seconds=5)
        async with other.write() as session:
            seen = await other.clock.sync(session)
        assert abs(seen - moved_to) < timedelta(seconds=5)
    finally:
        await other.dispose()


async def test_a_live_clock_never_moves(env: Env) -> None:
    clock = DeploymentClock(movable=False)
    async with env.db.write() as session:
        with pytest.raises(RuntimeError):
            await clock.advance(session, 60)
        assert abs(await clock.sync(session) - utcnow()) < timedelta(seconds=5)
