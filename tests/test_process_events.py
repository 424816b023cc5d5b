"""End to end with real processes: every event type reaches a real receiver, signed so that
the `standardwebhooks` package verifies it unchanged. On SQLite the worker runs inside
`mtx serve`; on PostgreSQL in a separate `mtx worker` process."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import date
from pathlib import Path
from typing import Any

import httpx
import pytest
from standardwebhooks.webhooks import Webhook

from miningtx.customers import kyc
from miningtx.kit.clock import utcnow
from miningtx.mining import service as mining
from miningtx.wallet import service as wallet
from miningtx.webhooks.events import EVENT_TYPES
from tests import factories
from tests.factories import fund_pool, make_customer, open_for_business, simulate_all, simulate_none
from tests.servers import MTX, Server, seeding, serve, server_environment, stop
from tests.wallet.factories import ADDRESS
from tests.webhooks.receiver import Receiver, running_receiver

pytestmark = pytest.mark.slow

PROCESS_ENV = {"MTX_WEBHOOKS_ALLOW_PRIVATE_TARGETS": "true", "MTX_WORKER_INTERVAL": "0.1"}


@asynccontextmanager
async def platform(database_url: str, folder: Path) -> AsyncIterator[Server]:
    """`mtx serve`, plus one `mtx worker` where the worker does not run in-process."""
    async with serve(database_url, folder, env=PROCESS_ENV) as server:
        if database_url.startswith("sqlite"):
            yield server
            return
        log = (folder / "worker.log").open("wb")
        worker = await asyncio.create_subprocess_exec(
            str(MTX),
            "worker",
            env=server_environment(database_url, PROCESS_ENV),
            cwd=folder,
            stdout=log,
            stderr=log,
            start_new_session=True,
        )
        try:
            yield server
        finally:
            await stop(worker)
            log.close()


async def post(client: httpx.AsyncClient, path: str, body: dict[str, Any]) -> dict[str, Any]:
    response = await client.post(path, json=body)
    assert response.status_code == 200, response.text
    answer: dict[str, Any] = response.json()
    return answer


async def all_events(client: httpx.AsyncClient) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = []
    cursor: str | None = None
    while True:
        params: dict[str, Any] = {"limit": 100, **({"cursor": cursor} if cursor else {})}
        page = (await client.get("/v1/events", params=params)).json()
        events.extend(page["data"])
        if not page["has_more"]:
            return events
        cursor = page["next_cursor"]


async def wait_for_deliveries(receiver: Receiver, count: int) -> None:
    assert await asyncio.to_thread(receiver.wait_for, count, 60.0), (
        f"{len(receiver.received)} of {count} deliveries arrived"
    )


async def test_every_event_type_reaches_a_real_receiver_verified(
    database_url: str, tmp_path: Path
) -> None:
    async with seeding(database_url) as seed:
        await open_for_business(seed.db)
        await fund_pool(seed.db, "staking", "100000.00")
        await fund_pool(seed.db, "bonus", "100.00")
        async with seed.db.write() as session:
            # A two-day contract, so one test sees it expire.
            await mining.update_contract(
                session, "starter", duration_days=2, operator=None, now=utcnow()
            )
        alice = await make_customer(seed.db, seed.settings)
        async with seed.db.write() as session:
            await kyc.submit_kyc(
                session,
                alice.seq,
                full_name="Alice Example",
                date_of_birth=date(1990, 1, 1),
                country="DE",
                document_type="passport",
                document_number="C01X00T47",
                now=await seed.db.clock.sync(session),
            )

        with running_receiver() as receiver:
            async with (
                platform(database_url, tmp_path) as server,
                httpx.AsyncClient(base_url=server.base_url, headers=alice.auth) as api,
            ):
                endpoint = await post(
                    api, "/v1/webhook_endpoints", {"url": receiver.url, "events": ["*"]}
                )
                await post(api, "/v1/test_helpers/deposits", {"network": "bsc", "amount": "5000"})
                async with seed.db.write() as session:
                    await kyc.approve_kyc(
                        session, alice.id, await seed.db.clock.sync(session), operator=None
                    )
                await post(api, "/v1/contracts/activate", {"contract_id": "starter"})
                await post(api, "/v1/staking/stakes", {"amount": "100.00", "days": 30})
                sent = await post(
                    api,
                    "/v1/withdrawals",
                    {"amount": "50.00", "network": "bsc", "address": ADDRESS},
                )
                lost = await post(
                    api,
                    "/v1/withdrawals",
                    {"amount": "30.00", "network": "polygon", "address": ADDRESS},
                )
                async with seed.db.write() as session:
                    now = await seed.db.clock.sync(session)
                    await factories.approve_withdrawal(
                        session, sent["id"], now, simulates=simulate_all
                    )
                    await factories.approve_withdrawal(
                        session, lost["id"], now, simulates=simulate_none
                    )
                    await wallet.fail_withdrawal(session, lost["id"], "node refused it", now)
                await post(api, "/v1/test_helpers/clock/advance", {"seconds": 31 * 86_400})

                events = await all_events(api)
                await wait_for_deliveries(receiver, len(events))

    types = [e["event"] for e in events]
    assert sorted(set(types)) == sorted(EVENT_TYPES)
    assert types.count("reward.credited") == 2
    by_id = {e["id"]: e for e in events}
    signer = Webhook(endpoint["secret"])
    seen: set[str] = set()
    for request in receiver.received:
        headers = request.headers
        assert headers["x-miningtx-signature"] == headers["webhook-signature"]
        body = signer.verify(request.body, headers)
        assert body == by_id[headers["webhook-id"]]
        seen.add(headers["webhook-id"])
    assert seen == set(by_id)
