"""`mtx webhooks deliveries` and `replay`: inspect the queue, send past events again."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, update

from miningtx.config import get_settings
from miningtx.kit.clock import rfc3339, utcnow
from miningtx.kit.db import Database
from miningtx.kit.errors import ApiError
from miningtx.kit.migrate import upgrade
from miningtx.models import WebhookDelivery
from miningtx.webhooks import outbox, repository, service
from miningtx.webhooks.commands import webhooks_app
from miningtx.webhooks.service import ReplayResult
from tests.conftest import Env
from tests.factories import make_customer
from tests.operator_cli import runner

URL = "https://hooks.example.test/in"
LONG_AGO = datetime(2020, 1, 1, tzinfo=UTC)


class Interrupted(Exception):
    """Stands for Ctrl-C in the middle of a replay."""


def wh(*args: str) -> dict[str, Any]:
    result = runner.invoke(webhooks_app, [*args, "--json"])
    assert result.exit_code == 0, result.output
    data: dict[str, Any] = json.loads(result.stdout)
    return data


def wh_fails(*args: str) -> str:
    result = runner.invoke(webhooks_app, list(args))
    assert result.exit_code == 1, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    return lines[0]


async def emit(db: Database, customer_seq: int, event_type: str, number: int) -> None:
    async with db.write() as session:
        await outbox.emit(
            session,
            customer_seq=customer_seq,
            event_type=event_type,
            data={"n": number},
            now=utcnow(),
            source_key=f"cli:{customer_seq}:{number}",
        )


@dataclass
class History:
    endpoint_id: str
    start: datetime
    endpoint_created: datetime


async def history(db: Database, customer_seq: int, types: list[str]) -> History:
    """Three events before an endpoint exists, then an endpoint, one delivered event, one
    event it does not subscribe to."""
    start = utcnow()
    for number, event_type in enumerate(
        ["reward.credited", "deposit.confirmed", "reward.credited"]
    ):
        await emit(db, customer_seq, event_type, number)
    created = utcnow()
    async with db.write() as session:
        endpoint = await service.create_endpoint(session, customer_seq, URL, types, created)
    await emit(db, customer_seq, "reward.credited", 3)
    await emit(db, customer_seq, "kyc.verified", 4)
    async with db.write() as session:
        await session.execute(
            update(WebhookDelivery).values(status="delivered", delivered_at=utcnow())
        )
    return History(endpoint.id, start, created)


def test_replay_queues_every_subscribed_event_since_a_time(sqlite_env: Path) -> None:
    async def setup() -> History:
        settings = get_settings()
        db = Database(settings)
        try:
            alice = await make_customer(db, settings)
            return await history(db, alice.seq, ["reward.credited"])
        finally:
            await db.dispose()

    upgrade(get_settings().database_url)  # alembic runs an event loop of its own
    past = asyncio.run(setup())
    since = rfc3339(past.start.replace(microsecond=0))

    before = wh("deliveries")["deliveries"]
    first = wh("replay", past.endpoint_id, "--since", since)
    again = wh("replay", past.endpoint_id, "--since", since)
    recent = wh("replay", past.endpoint_id, "--since", past.endpoint_created.isoformat())
    queued = wh("deliveries", "--endpoint", past.endpoint_id, "--status", "pending")
    text = runner.invoke(webhooks_app, ["replay", past.endpoint_id, "--since", since])

    assert [(d["status"], d["attempts"]) for d in before] == [("delivered", 0)]
    assert first == {
        "endpoint": past.endpoint_id,
        "since": since,
        "events": 3,
        "inserted": 2,
        "requeued": 1,
        "already_pending": 0,
    }
    assert again == {**first, "inserted": 0, "requeued": 0, "already_pending": 3}
    assert (recent["events"], recent["already_pending"]) == (1, 1)
    rows = queued["deliveries"]
    assert [d["type"] for d in rows] == ["reward.credited"] * 3
    assert all(d["endpoint"] == past.endpoint_id and d["delivered_at"] is None for d in rows)
    assert all(d["next_attempt_at"] <= rfc3339(utcnow()) for d in rows)
    assert wh("deliveries", "--status", "delivered")["deliveries"] == []
    assert wh("deliveries", "--endpoint", "we_other")["deliveries"] == []
    assert text.exit_code == 0
    assert f"Queued 3 events since {since} for {past.endpoint_id}" in text.stdout


def test_replay_refuses_unknown_deleted_and_disabled_endpoints(sqlite_env: Path) -> None:
    async def setup() -> tuple[str, str]:
        settings = get_settings()
        db = Database(settings)
        try:
            alice = await make_customer(db, settings)
            past = await history(db, alice.seq, ["*"])
            async with db.write() as session:
                gone = await service.create_endpoint(session, alice.seq, URL, ["*"], utcnow())
                await service.delete_endpoint(session, alice.seq, gone.id, utcnow())
                endpoint = await repository.endpoint_by_id(session, past.endpoint_id)
                assert endpoint is not None
                await service.disable_endpoint(
                    session, endpoint.seq, "The endpoint answered 410 Gone."
                )
            return past.endpoint_id, gone.id
        finally:
            await db.dispose()

    upgrade(get_settings().database_url)
    disabled, deleted = asyncio.run(setup())
    since = "2020-01-01T00:00:00"

    assert wh_fails("replay", "we_missing", "--since", since) == "error: No such webhook endpoint."
    assert wh_fails("replay", deleted, "--since", since) == "error: No such webhook endpoint."
    refused = wh_fails("replay", disabled, "--since", since)
    assert "disabled (The endpoint answered 410 Gone.)" in refused
    assert "--enable" in refused
    assert "ISO 8601" in wh_fails("replay", disabled, "--since", "yesterday")
    assert "unknown status" in wh_fails("deliveries", "--status", "lost")
    enabled = wh("replay", disabled, "--since", since, "--enable")
    assert (enabled["events"], enabled["inserted"], enabled["requeued"]) == (5, 3, 2)
    assert wh("replay", disabled, "--since", since)["inserted"] == 0


async def test_an_interrupted_replay_resumes_to_the_same_queue(env: Env) -> None:
    alice = await make_customer(env.db, env.settings)
    for number in range(5):
        await emit(env.db, alice.seq, "reward.credited", number)
    async with env.db.write() as writing:
        endpoint = await service.create_endpoint(writing, alice.seq, URL, ["*"], utcnow())
    seen: list[tuple[int, int]] = []

    def interrupt_after_first_batch(done: int, total: int) -> None:
        seen.append((done, total))
        if done == 2:
            raise Interrupted

    with pytest.raises(Interrupted):
        await service.replay(
            env.db,
            endpoint.id,
            LONG_AGO,
            batch_size=2,
            on_progress=interrupt_after_first_batch,
        )
    async with env.db.read() as session:
        after_interrupt = len((await session.scalars(select(WebhookDelivery.seq))).all())
    resumed = await service.replay(
        env.db,
        endpoint.id,
        LONG_AGO,
        batch_size=2,
        on_progress=lambda done, total: seen.append((done, total)),
    )

    assert after_interrupt == 2
    assert seen == [(0, 5), (2, 5), (0, 5), (2, 5), (4, 5), (5, 5)]
    assert resumed == ReplayResult(
        endpoint.id, resumed.since, events=5, inserted=3, requeued=0, already_pending=2
    )
    async with env.db.read() as session:
        rows = (await session.scalars(select(WebhookDelivery))).all()
    assert len(rows) == 5
    assert {row.status for row in rows} == {"pending"}
    with pytest.raises(ApiError, match="No such webhook endpoint"):
        await service.replay(env.db, "we_missing", utcnow())
