"""The retry policy: exponential backoff with full jitter, `Retry-After`, the retry window.

A failed attempt is retried after `backoff_delay` (or the receiver's `Retry-After` on
429/503) until `webhook_retry_window_hours` after the delivery was queued; then it has
failed.
"""

from __future__ import annotations

import email.utils
import random
from datetime import UTC, datetime, timedelta

from miningtx.config import Settings
from miningtx.webhooks.attempts import Claim, Outcome

#: Exponential backoff: up to 30 s after the first failure, doubling, at most 6 hours.
BACKOFF_BASE = 30.0
BACKOFF_CAP = 6 * 3600.0
#: Never retry sooner than this, even when the receiver asks for `Retry-After: 0`.
MIN_RETRY_DELAY = 1.0
#: Statuses whose `Retry-After` we honour.
RETRY_AFTER_STATUSES = frozenset({429, 503})


def backoff_delay(attempts: int) -> float:
    """Seconds before retrying after failed attempt number `attempts` (1-based): full jitter
    over an exponentially growing ceiling, so failing receivers are not hit in lockstep."""
    ceiling = min(BACKOFF_CAP, BACKOFF_BASE * 2.0 ** min(attempts - 1, 32))
    return max(MIN_RETRY_DELAY, random.uniform(0.0, ceiling))


def retry_after_seconds(value: str | None, now: datetime) -> float | None:
    """A `Retry-After` header (seconds or an HTTP date) as seconds from `now`, if valid."""
    if value is None:
        return None
    value = value.strip()
    if value.isdigit():
        return float(min(int(value), 10**9))
    try:
        moment = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return max(0.0, (moment - now).total_seconds())


def next_attempt_at(
    claim: Claim, outcome: Outcome, settings: Settings, now: datetime
) -> datetime | None:
    """When to retry a failed attempt, or None when the retry window is over (give up).

    The last retry happens at the window's end at the latest, however long the backoff
    or `Retry-After`.
    """
    window_end = claim.created_at + timedelta(hours=settings.webhook_retry_window_hours)
    if now >= window_end:
        return None
    delay = (
        outcome.retry_after if outcome.retry_after is not None else backoff_delay(claim.attempts)
    )
    return min(now + timedelta(seconds=max(MIN_RETRY_DELAY, delay)), window_end)
