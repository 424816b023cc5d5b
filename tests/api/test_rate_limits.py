"""Rate limits: 120 requests a minute per key, a per-IP limit for everything unauthenticated."""

from __future__ import annotations

import asyncio
import time

import httpx

from miningtx.app import create_app
from tests.conftest import Env, make_settings
from tests.factories import make_customer


async def test_the_121st_request_in_a_minute_is_429(env: Env) -> None:
    alice = await make_customer(env.db, env.settings)
    bob = await make_customer(env.db, env.settings)
    probe = await env.client.get("/v1/balance", headers=alice.auth)
    if int(probe.headers["x-ratelimit-reset"]) - time.time() < 10:
        await asyncio.sleep(max(0.0, int(probe.headers["x-ratelimit-reset"]) - time.time() + 0.5))
        probe = await env.client.get("/v1/balance", headers=alice.auth)
    used = 120 - int(probe.headers["x-ratelimit-remaining"])

    statuses = [
        (await env.client.get("/v1/balance", headers=alice.auth)).status_code
        for _ in range(120 - used)
    ]
    limited = await env.client.get("/v1/balance", headers=alice.auth)
    other_key = await env.client.get("/v1/balance", headers=bob.auth)

    assert statuses == [200] * (120 - used)
    assert limited.status_code == 429
    assert limited.json()["error"]["code"] == "rate_limited"
    assert limited.headers["x-ratelimit-limit"] == "120"
    assert limited.headers["x-ratelimit-remaining"] == "0"
    reset = int(limited.headers["x-ratelimit-reset"])
    assert time.time() < reset <= time.time() + 61
    assert 1 <= int(limited.headers["retry-after"]) <= 61
    assert limited.headers["x-request-id"] == limited.json()["error"]["request_id"]
    assert other_key.status_code == 200


async def test_unauthenticated_requests_share_a_per_ip_limit(database_url: str) -> None:
    app = create_app(make_settings(database_url, rate_limit_unauthenticated="5/minute"))
    transport = httpx.ASGITransport(app=app, client=("203.0.113.9", 4000))
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        statuses = [(await client.get("/v1/balance")).status_code for _ in range(5)]
        sixth = await client.get("/healthz")
    await app.state.db.dispose()

    assert statuses == [401] * 5
    assert sixth.status_code == 429
    assert sixth.headers["x-ratelimit-limit"] == "5"
    assert "retry-after" in sixth.headers
