"""An `mtx worker` SIGKILLed mid-round of webhook deliveries, then restarted.

The receiver holds one request open, so at the kill the round is provably half-way:
the other deliveries are recorded delivered, that one is claimed and in flight. After
the restart every event has reached the receiver and each delivery is recorded
delivered exactly once. The one in flight at the kill arrives twice: webhooks are at
least once, and both copies carry the same `webhook-id` (and body) so a receiver
dedupes them.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select, update
from standardwebhooks.webhooks import Webhook

from miningtx.kit.clock import utcnow
from miningtx.kit.db import Database
from miningtx.models import Event, WebhookAttempt, WebhookDelivery
from miningtx.webhooks import service
from tests.factories import make_customer
from tests.processes import background, eventually
from tests.servers import MTX, run_command, seeding, server_environment
from tests.webhooks.factories import emit
from tests.webhooks.receiver import Answer, Hold, Receiver

pytestmark = pytest.mark.slow

EVENTS = 6
#: The request the receiver holds open (1-based): the round's fourth.
HELD = 4


async def delivery_rows(db: Database) -> list[tuple[str, str, int]]:
    """(event id, status, attempts) of every delivery."""
    async with db.read() as session:
        rows = await session.execute(
            select(Event.id, WebhookDelivery.status, WebhookDelivery.attempts)
            .join(Event, Event.seq == WebhookDelivery.event_seq)
            .order_by(WebhookDelivery.seq)
        )
        return [(event_id, status, attempts) for event_id, status, attempts in rows]


@pytest.mark.timeout(300)
async def test_a_worker_killed_mid_round_delivers_every_event_and_records_each_once(
    database_url: str, tmp_path: Path, receiver: Receiver
) -> None:
    hold = Hold()
    receiver.then(*[Answer(200)] * (HELD - 1), hold)
    environment = server_environment(
        database_url,
        {
            "MTX_WEBHOOKS_ALLOW_PRIVATE_TARGETS": "true",
            "MTX_WORKER_INTERVAL": "0.1",
            # The held attempt stays in flight until the kill, never timing out first.
            "MTX_WEBHOOK_READ_TIMEOUT": "120",
        },
    )
    async with seeding(database_url) as seed:
        alice = await make_customer(seed.db, seed.settings)
        async with seed.db.write() as session:
            endpoint = await service.create_endpoint(
                session, alice.seq, receiver.url, ["*"], utcnow()
            )
            secret = endpoint.secret
        sent = [await emit(seed, alice, data={"n": number}) for number in range(EVENTS)]

        async with background("worker", env=environment, folder=tmp_path, name="worker") as worker:

            async def mid_round() -> bool:
                rows = await delivery_rows(seed.db)
                return (
                    len(receiver.received) == EVENTS
                    and [s for _, s, _ in rows].count("delivered") == EVENTS - 1
                )

            await eventually(mid_round, "all but the held delivery are recorded")
            # At the kill: the held request is open at the receiver, its delivery claimed
            # (attempt counted, lease pushed out) and pending; the others delivered once.
            held_id = receiver.received[HELD - 1].headers["webhook-id"]
            assert not hold.released.is_set()
            rows = await delivery_rows(seed.db)
            assert sorted(rows) == sorted(
                (event_id, "pending" if event_id == held_id else "delivered", 1)
                for event_id in sent
            )
            async with seed.db.read() as reading:
                lease_until = await reading.scalar(
                    select(WebhookDelivery.next_attempt_at)
                    .join(Event, Event.seq == WebhookDelivery.event_seq)
                    .where(Event.id == held_id)
                )
            assert lease_until is not None
            assert lease_until > utcnow() + timedelta(minutes=1)
            await worker.kill()
        hold.released.set()  # the receiver answers a connection nobody listens on any more

        # The dead worker's lease on its claim runs out (moved back, not waited for).
        async with seed.db.write() as session:
            await session.execute(
                update(WebhookDelivery)
                .where(WebhookDelivery.status == "pending")
                .values(next_attempt_at=utcnow() - timedelta(seconds=1))
            )
        async with background("worker", env=environment, folder=tmp_path, name="worker"):

            async def all_delivered() -> bool:
                rows = await delivery_rows(seed.db)
                return [s for _, s, _ in rows] == ["delivered"] * EVENTS

            await eventually(all_delivered, "every delivery is recorded delivered")
            await asyncio.to_thread(receiver.wait_for, EVENTS + 1, 10.0)
        code, _out, err = await run_command(
            str(MTX), "worker", "--once", env=environment, time_limit=120
        )
        assert code == 0, err

        rows = await delivery_rows(seed.db)
        async with seed.db.read() as reading:
            logged = Counter(
                await reading.scalars(
                    select(Event.id)
                    .join(WebhookDelivery, WebhookDelivery.event_seq == Event.seq)
                    .join(WebhookAttempt, WebhookAttempt.delivery_seq == WebhookDelivery.seq)
                )
            )

    # Nothing lost: every event reached the receiver. Nothing doubled in the books: one
    # delivered row each, the held one on its second (counted) attempt, and one logged
    # attempt each (the killed attempt's result was never written).
    arrived = Counter(request.headers["webhook-id"] for request in receiver.received)
    assert arrived == Counter({**dict.fromkeys(sent, 1), held_id: 2})
    assert sorted(rows) == sorted(
        (event_id, "delivered", 2 if event_id == held_id else 1) for event_id in sent
    )
    assert logged == Counter(dict.fromkeys(sent, 1))
    copies = [r for r in receiver.received if r.headers["webhook-id"] == held_id]
    assert copies[0].body == copies[1].body
    for copy in copies:  # each copy is signed for its own attempt, and verifies
        assert Webhook(secret).verify(copy.body, copy.headers)["id"] == held_id
