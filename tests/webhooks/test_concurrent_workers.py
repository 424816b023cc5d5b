"""Several workers on PostgreSQL: each due delivery goes to exactly one of them per round."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator

import pytest

from miningtx.kit.clock import utcnow
from miningtx.kit.db import Database
from miningtx.kit.jobs import WorkerContext
from miningtx.webhooks import outbox, service
from miningtx.webhooks.tasks import deliver_due
from tests.conftest import make_settings
from tests.databases import PostgresTemplate, pg_url
from tests.factories import make_customer
from tests.webhooks.receiver import Answer, Receiver

EVENTS = 60


@pytest.fixture
async def pg_database(postgres_templates: PostgresTemplate) -> AsyncIterator[str]:
    name = await postgres_templates.new_database()
    try:
        yield pg_url(name)
    finally:
        await PostgresTemplate.drop(name)


async def test_two_workers_never_send_the_same_delivery_in_one_round(
    pg_database: str, receiver: Receiver
) -> None:
    settings = make_settings(
        pg_database, webhooks_allow_private_targets=True, webhook_batch_size=EVENTS * 2 // 3
    )
    first, second = Database(settings), Database(settings)
    receiver.default = Answer(200, delay=0.02)  # slow enough for the rounds to overlap
    try:
        alice = await make_customer(first, settings)
        async with first.write() as session:
            await service.create_endpoint(session, alice.seq, receiver.url, ["*"], utcnow())
            for number in range(EVENTS):
                await outbox.emit(
                    session,
                    customer_seq=alice.seq,
                    event_type="reward.credited",
                    data={"n": number},
                    now=utcnow(),
                    source_key=f"race:{number}",
                )
        workers = [WorkerContext(first, settings), WorkerContext(second, settings)]
        counts = await asyncio.gather(*(deliver_due(ctx) for ctx in workers))
        after = await asyncio.gather(*(deliver_due(ctx) for ctx in workers))
    finally:
        await first.dispose()
        await second.dispose()

    sent = Counter(r.headers["webhook-id"] for r in receiver.received)
    assert sum(counts) == EVENTS  # one batch each is not enough alone: both took part
    assert min(counts) > 0
    assert after == [0, 0]
    assert len(sent) == EVENTS
    assert set(sent.values()) == {1}
