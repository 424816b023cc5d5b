"""Redis goes away under load: two real `mtx serve` processes sharing rate limits through a
redis-server of the test's own.

What we decided: the API keeps answering. Each process counts in its own memory (the same
per-key limit, so at most twice the limit across these two) until Redis answers again;
the switch is one log line each way and the `mtx_ratelimit_redis_up` gauge.
"""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path

import httpx
import pytest

from miningtx.kit.ratelimit import PROBE_INTERVAL
from tests.databases import SqliteTemplate
from tests.factories import CustomerWithKey, make_customer
from tests.faults.services import redis_server
from tests.servers import Server, seeding, serve

pytestmark = pytest.mark.slow

LIMIT = 10
#: A request that counts in memory or in a live Redis answers well within this.
QUICK = 2.0


def events(server: Server, name: str) -> int:
    """How many log lines of `server` are the event `name`."""
    count = 0
    for line in server.log().splitlines():
        try:
            record = json.loads(line)
        except ValueError:
            continue
        count += isinstance(record, dict) and record.get("event") == name
    return count


async def redis_up_gauge(client: httpx.AsyncClient) -> str:
    response = await client.get("/metrics")
    assert response.status_code == 200
    lines = [ln for ln in response.text.splitlines() if ln.startswith("mtx_ratelimit_redis_up")]
    assert len(lines) == 1, lines
    return lines[0].split()[-1]


async def timed_balance(client: httpx.AsyncClient, who: CustomerWithKey) -> httpx.Response:
    started = time.monotonic()
    response = await client.get("/v1/balance", headers=who.auth)
    assert time.monotonic() - started < QUICK, "a request waited on the missing Redis"
    return response


async def alternate(
    clients: list[httpx.AsyncClient], who: CustomerWithKey, count: int
) -> list[httpx.Response]:
    """`count` requests of one key, one after the other, taking turns over `clients`."""
    return [await timed_balance(clients[n % len(clients)], who) for n in range(count)]


@pytest.mark.timeout(240)
async def test_without_redis_each_process_limits_alone_and_shares_again_once_back(
    sqlite_template: SqliteTemplate, tmp_path: Path
) -> None:
    with sqlite_template.database(tmp_path) as url:
        async with seeding(url) as seed:
            before, load, alone, steady, probe, after = [
                await make_customer(seed.db, seed.settings) for _ in range(6)
            ]
        async with redis_server(tmp_path / "redis") as redis:
            env = {"MTX_REDIS_URL": redis.url, "MTX_RATE_LIMIT": f"{LIMIT}/minute"}
            async with (
                serve(url, tmp_path / "a", env=env) as a,
                serve(url, tmp_path / "b", env=env) as b,
                httpx.AsyncClient(base_url=a.base_url, timeout=10.0) as to_a,
                httpx.AsyncClient(base_url=b.base_url, timeout=10.0) as to_b,
            ):
                both = [to_a, to_b]
                # Shared: LIMIT requests over both processes spend the key's one window.
                shared = await alternate(both, before, LIMIT + 2)
                assert [r.status_code for r in shared] == [200] * LIMIT + [429, 429]
                assert [await redis_up_gauge(c) for c in both] == ["1.0", "1.0"]

                await redis.stop()
                # Under load (5 keys' worth of requests on both processes at once) nothing
                # waits on Redis and nothing is refused for its absence.
                burst = await asyncio.gather(
                    *(timed_balance(c, load) for c in both for _ in range(3 * LIMIT))
                )
                statuses = sorted(r.status_code for r in burst)
                # Each process counts alone: LIMIT each pass, the rest are 429 in memory.
                assert statuses == [200] * (2 * LIMIT) + [429] * (4 * LIMIT), statuses
                for response in burst:
                    assert response.headers["x-ratelimit-limit"] == str(LIMIT)
                # Per process: a fresh key gets LIMIT from A and another LIMIT from B.
                from_a = await alternate([to_a], alone, LIMIT + 1)
                from_b = await alternate([to_b], alone, LIMIT + 1)
                for answers in (from_a, from_b):
                    assert [r.status_code for r in answers] == [200] * LIMIT + [429]
                    remaining = [int(r.headers["x-ratelimit-remaining"]) for r in answers]
                    assert remaining == [*range(LIMIT - 1, -1, -1), 0]
                # Requests go on over several probe intervals: each process tries Redis
                # again (and fails) more than once, and still says so only once.
                keep_until = time.monotonic() + 2.5 * PROBE_INTERVAL
                while time.monotonic() < keep_until:
                    for client in both:
                        assert (await timed_balance(client, steady)).status_code in (200, 429)
                    await asyncio.sleep(0.05)
                assert [await redis_up_gauge(c) for c in both] == ["0.0", "0.0"]
                # One line per process for the whole outage, however many requests met it.
                assert [events(s, "rate_limiter_redis_unavailable") for s in (a, b)] == [1, 1]
                assert [events(s, "rate_limiter_redis_available") for s in (a, b)] == [0, 0]

                await redis.start()
                # Once PROBE_INTERVAL has passed since a process last tried, its next
                # request tries Redis again.
                await asyncio.sleep(PROBE_INTERVAL + 0.2)
                for client in both:
                    assert (await timed_balance(client, probe)).status_code == 200
                assert [await redis_up_gauge(c) for c in both] == ["1.0", "1.0"]
                assert [events(s, "rate_limiter_redis_available") for s in (a, b)] == [1, 1]

                # Shared again: one window for the key across both processes, kept in Redis.
                again = await alternate(both, after, LIMIT + 2)
                assert [r.status_code for r in again] == [200] * LIMIT + [429, 429]
                remaining = [int(r.headers["x-ratelimit-remaining"]) for r in again]
                assert remaining == [*range(LIMIT - 1, -1, -1), 0, 0]
                keys = await redis.command("--scan", "--pattern", f"*{after.key_id}*")
                assert keys.strip(), "the key's window is not in Redis"
                assert [events(s, "rate_limiter_redis_unavailable") for s in (a, b)] == [1, 1]
                assert "Traceback" not in a.log() + b.log()
