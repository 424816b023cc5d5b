"""A real `mtx serve` whose in-process worker delivers events to a real receiver."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
import pytest
from standardwebhooks.webhooks import Webhook

from tests.factories import make_customer
from tests.servers import seeding, serve
from tests.webhooks.factories import ENDPOINTS, emit
from tests.webhooks.receiver import Receiver

pytestmark = pytest.mark.slow


async def test_the_served_platform_delivers_events_through_its_worker(
    database_url: str, tmp_path: Path, receiver: Receiver
) -> None:
    environment = {
        "MTX_WEBHOOKS_ALLOW_PRIVATE_TARGETS": "true",
        "MTX_WORKER_IN_PROCESS": "true",
        "MTX_WORKER_INTERVAL": "0.1",
    }
    async with seeding(database_url) as seed:
        alice = await make_customer(seed.db, seed.settings)
        async with (
            serve(database_url, tmp_path, env=environment) as server,
            httpx.AsyncClient(base_url=server.base_url, timeout=30.0) as client,
        ):
            created = await client.post(
                ENDPOINTS, json={"url": receiver.url, "events": ["*"]}, headers=alice.auth
            )
            assert created.status_code == 200, created.text
            sent = [await emit(seed, alice) for _ in range(3)]
            arrived = await asyncio.to_thread(receiver.wait_for, len(sent), 20.0)
            events = (await client.get("/v1/events", headers=alice.auth)).json()["data"]

    assert arrived
    assert sorted(r.headers["webhook-id"] for r in receiver.received) == sorted(sent)
    by_id = {event["id"]: event for event in events}
    for request in receiver.received:
        body = Webhook(created.json()["secret"]).verify(request.body, request.headers)
        assert body == by_id[request.headers["webhook-id"]]
