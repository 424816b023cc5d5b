"""The deployment's notion of now, always timezone-aware UTC, and the daily cut-off.

Live deployments run on the wall clock. A sandbox deployment's clock can be moved
forward (`POST /v1/test_helpers/clock/advance`): the offset lives in the database,
so every process of the deployment agrees on it. A process keeps the last offset
it read; writes and the worker re-read it inside their transaction.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated

from pydantic import PlainSerializer, WithJsonSchema
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from miningtx.models import ClockState

ONE_DAY = timedelta(days=1)


def utcnow() -> datetime:
    """The wall clock: for what the outside world sees (webhook timestamps, retries)."""
    return datetime.now(UTC)


def rfc3339(moment: datetime) -> str:
    """Render as RFC 3339 UTC with Z and whole seconds, as the API documents."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


Timestamp = Annotated[
    datetime,
    PlainSerializer(rfc3339, return_type=str),
    WithJsonSchema(
        {"type": "string", "format": "date-time", "examples": ["2026-06-22T10:14:00Z"]},
        mode="serialization",
    ),
]


class DeploymentClock:
    """Business time: the wall clock plus the sandbox offset stored in the `clock` row."""

    def __init__(self, *, movable: bool, cutoff: time = time(6, 0)) -> None:
        self.movable = movable
        #: The daily cut-off (UTC) at which mining rewards fall due.
        self.cutoff = cutoff
        self.offset = timedelta(0)

    def now(self) -> datetime:
        """Now, by the offset this process last read (exact in live mode)."""
        return utcnow() + self.offset

    async def sync(self, session: AsyncSession | AsyncConnection) -> datetime:
        """Re-read the offset (sandbox only: live clocks never move) and return now."""
        if self.movable:
            seconds = (
                await session.execute(select(ClockState.offset_seconds).where(ClockState.id == 1))
            ).scalar_one()
            self.offset = timedelta(seconds=seconds)
        return self.now()

    async def advance(self, session: AsyncSession, seconds: int) -> datetime:
        """Move the deployment's clock forward by `seconds`; returns the new now."""
        if not self.movable:
            raise RuntimeError("only a sandbox deployment's clock can be moved")
        if seconds <= 0:
            raise ValueError("the clock only moves forward")
        offset = (
            await session.execute(
                update(ClockState)
                .where(ClockState.id == 1)
                .values(offset_seconds=ClockState.offset_seconds + seconds)
                .returning(ClockState.offset_seconds)
            )
        ).scalar_one()
        self.offset = timedelta(seconds=offset)
        return self.now()


def cutoff_at(day: date, cutoff: time) -> datetime:
    """The moment of `day`'s cut-off, the instant that day's rewards fall due."""
    return datetime.combine(day, cutoff, tzinfo=UTC)


def first_reward_day(activated_at: datetime, cutoff: time) -> date:
    """The first day whose cut-off falls at least 24 h after `activated_at`."""
    earliest = activated_at.astimezone(UTC) + ONE_DAY
    day = earliest.date()
    return day if cutoff_at(day, cutoff) >= earliest else day + ONE_DAY


def latest_cutoff_day(now: datetime, cutoff: time) -> date:
    """The last day whose cut-off has passed at `now`."""
    day = now.astimezone(UTC).date()
    return day if cutoff_at(day, cutoff) <= now else day - ONE_DAY
