"""The retry schedule: exponential backoff with full jitter, Retry-After, the retry window."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest

from miningtx.webhooks.attempts import Claim, Outcome
from miningtx.webhooks.retries import (
    BACKOFF_BASE,
    BACKOFF_CAP,
    MIN_RETRY_DELAY,
    backoff_delay,
    next_attempt_at,
    retry_after_seconds,
)
from miningtx.webhooks.signing import signed_headers
from tests.conftest import make_settings

NOW = datetime(2026, 6, 22, 6, 0, tzinfo=UTC)
SETTINGS = make_settings("sqlite+aiosqlite:///unused.db")


def claim(attempts: int, created_at: datetime = NOW) -> Claim:
    return Claim(
        seq=1,
        attempts=attempts,
        created_at=created_at,
        endpoint_seq=1,
        endpoint_id="we_x",
        url="https://example.com/hooks",
        secret="whsec_" + "A" * 44,
        event_id="evt_x",
        event_type="reward.credited",
        body="{}",
    )


@pytest.mark.parametrize("attempts", [1, 2, 3, 5, 10, 40, 1000])
def test_backoff_grows_exponentially_with_full_jitter_up_to_the_cap(attempts: int) -> None:
    ceiling = min(BACKOFF_CAP, BACKOFF_BASE * 2 ** (attempts - 1))
    delays = [backoff_delay(attempts) for _ in range(400)]

    assert all(MIN_RETRY_DELAY <= d <= ceiling for d in delays)
    assert max(delays) > ceiling * 0.8  # jitter spans the whole range
    assert min(delays) < max(ceiling * 0.2, MIN_RETRY_DELAY)


def test_retry_after_takes_seconds_or_an_http_date() -> None:
    in_ten_minutes = format_datetime(NOW + timedelta(minutes=10), usegmt=True)

    assert retry_after_seconds("120", NOW) == 120.0
    assert retry_after_seconds(" 0 ", NOW) == 0.0
    assert retry_after_seconds(in_ten_minutes, NOW) == 600.0
    assert retry_after_seconds("Mon, 01 Jan 2001 00:00:00 GMT", NOW) == 0.0
    assert retry_after_seconds("soon", NOW) is None
    assert retry_after_seconds("-5", NOW) is None
    assert retry_after_seconds(None, NOW) is None


def test_the_next_attempt_never_falls_after_the_window_and_then_it_gives_up() -> None:
    window = timedelta(hours=SETTINGS.webhook_retry_window_hours)
    asked = Outcome(NOW, 5, status_code=503, retry_after=3600.0)
    eager = Outcome(NOW, 5, status_code=429, retry_after=0.0)
    failed = Outcome(NOW, 5, status_code=500)

    assert next_attempt_at(claim(1), asked, SETTINGS, NOW) == NOW + timedelta(hours=1)
    assert next_attempt_at(claim(1), eager, SETTINGS, NOW) == NOW + timedelta(seconds=1)
    late = NOW + window - timedelta(minutes=1)
    assert next_attempt_at(claim(3), asked, SETTINGS, late) == NOW + window
    assert next_attempt_at(claim(30), failed, SETTINGS, late) == NOW + window
    assert next_attempt_at(claim(30), failed, SETTINGS, NOW + window) is None


def test_signatures_cover_id_timestamp_and_body() -> None:
    first = signed_headers(claim(1).secret, "evt_x", '{"a":1}', NOW)
    again = signed_headers(claim(1).secret, "evt_x", '{"a":1}', NOW + timedelta(milliseconds=900))
    later = signed_headers(claim(1).secret, "evt_x", '{"a":1}', NOW + timedelta(seconds=1))
    other = signed_headers(claim(1).secret, "evt_y", '{"a":1}', NOW)

    assert first == again  # whole seconds
    assert first["webhook-timestamp"] == str(int(NOW.timestamp()))
    assert later["webhook-signature"] != first["webhook-signature"]
    assert other["webhook-signature"] != first["webhook-signature"]
