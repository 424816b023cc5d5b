"""Per-key rate limits on real servers: shared through Redis across processes, or in memory.

The fixed window starts at a key's first hit, so a fresh key gets a full minute; still,
if the window a test starts in has under MIN_WINDOW_LEFT seconds left, it waits for
the next one rather than risk a rollover mid-count.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from pathlib import Path

import httpx
import pytest

from tests.databases import REDIS_URL, SqliteTemplate
from tests.factories import CustomerWithKey, make_customer
from tests.servers import seeding, serve

pytestmark = pytest.mark.slow

LIMIT = 120
MIN_WINDOW_LEFT = 15.0


def assert_limit_headers(response: httpx.Response, remaining: int) -> int:
    """Checks the three X-RateLimit-* headers and returns the reset time."""
    assert response.headers["x-ratelimit-limit"] == str(LIMIT)
    assert response.headers["x-ratelimit-remaining"] == str(remaining), (
        response.status_code,
        response.headers,
    )
    reset = int(response.headers["x-ratelimit-reset"])
    assert reset > time.time() - 1
    return reset


async def first_hit_of_a_fresh_window(
    client: httpx.AsyncClient, customer: CustomerWithKey
) -> httpx.Response:
    """The key's first request, in a window with at least MIN_WINDOW_LEFT seconds to go."""
    for _ in range(2):
        response = await client.get("/v1/balance", headers=customer.auth)
        assert response.status_code == 200, response.text
        reset = int(response.headers["x-ratelimit-reset"])
        left = reset - time.time()
        if left >= MIN_WINDOW_LEFT:
            assert_limit_headers(response, LIMIT - 1)
            return response
        await asyncio.sleep(min(left, MIN_WINDOW_LEFT) + 1.0)
    raise AssertionError("no rate-limit window with enough time left in two tries")


async def spend_the_window(
    clients: Sequence[httpx.AsyncClient], customer: CustomerWithKey
) -> list[httpx.Response]:
    """Request 121 times in one window, rotating over `clients`; returns every response."""
    first = await first_hit_of_a_fresh_window(clients[0], customer)
    window_reset = int(first.headers["x-ratelimit-reset"])
    responses = [first]
    for n in range(2, LIMIT + 2):
        client = clients[(n - 1) % len(clients)]
        responses.append(await client.get("/v1/balance", headers=customer.auth))
    assert time.time() < window_reset, "the window rolled over while the test was counting"
    for n, response in enumerate(responses[:LIMIT], start=1):
        assert response.status_code == 200, (n, response.text)
        reset = assert_limit_headers(response, LIMIT - n)
        assert abs(reset - window_reset) <= 1
    return responses


def assert_rate_limited(response: httpx.Response) -> None:
    assert response.status_code == 429, response.text
    error = response.json()["error"]
    assert error["code"] == "rate_limited"
    assert error["request_id"] == response.headers["x-request-id"]
    retry_after = int(response.headers["retry-after"])
    reset = assert_limit_headers(response, 0)
    now = time.time()
    assert now < reset <= now + 61
    # Retry-After counts whole seconds up to X-RateLimit-Reset, itself rounded up.
    assert 1 <= retry_after <= 61
    assert abs(reset - retry_after - now) <= 2


async def test_two_processes_share_one_window_per_key_through_redis(
    sqlite_template: SqliteTemplate, tmp_path: Path
) -> None:
    with sqlite_template.database(tmp_path) as url:
        async with seeding(url) as seed:
            carol = await make_customer(seed.db, seed.settings, deposit="10.00")
        redis = {"MTX_REDIS_URL": REDIS_URL}
        async with (
            serve(url, tmp_path / "a", env=redis) as a,
            serve(url, tmp_path / "b", env=redis) as b,
            httpx.AsyncClient(base_url=a.base_url, timeout=10.0) as to_a,
            httpx.AsyncClient(base_url=b.base_url, timeout=10.0) as to_b,
        ):
            responses = await spend_the_window([to_a, to_b], carol)
            # Remaining fell by one per request whichever process answered: one shared count.
            assert_rate_limited(responses[LIMIT])  # the 121st, answered by process A
            assert_rate_limited(await to_b.get("/v1/balance", headers=carol.auth))
            assert_rate_limited(await to_a.get("/v1/account", headers=carol.auth))


async def test_one_process_without_redis_limits_in_memory(
    sqlite_template: SqliteTemplate, tmp_path: Path
) -> None:
    with sqlite_template.database(tmp_path) as url:
        async with seeding(url) as seed:
            dave = await make_customer(seed.db, seed.settings, deposit="10.00")
        async with (
            serve(url, tmp_path / "server") as server,
            httpx.AsyncClient(base_url=server.base_url, timeout=10.0) as client,
        ):
            responses = await spend_the_window([client], dave)
            assert_rate_limited(responses[LIMIT])
            assert_rate_limited(await client.get("/v1/balance", headers=dave.auth))
