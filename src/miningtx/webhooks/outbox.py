"""The outbox: events are written in the transaction of the change they report.

`emit` records one event and, in the same statement pair, one pending delivery per
enabled endpoint of the customer that subscribes to its type. Bulk writers (the
daily accrual) insert their events with one INSERT ... SELECT and then call
`fan_out` once. Nothing is sent here: the worker delivers after commit.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, func, insert, literal, literal_column
from sqlalchemy.ext.asyncio import AsyncConnection

from miningtx.kit.clock import utcnow
from miningtx.kit.db import WriteSession
from miningtx.kit.ids import new_id
from miningtx.models import Event
from miningtx.webhooks import repository
from miningtx.webhooks.events import EVENT_TYPES


async def emit(
    session: WriteSession,
    *,
    customer_seq: int,
    event_type: str,
    data: Mapping[str, Any],
    now: datetime,
    source_key: str,
) -> str:
    """Record an event for the customer and queue it for their subscribed endpoints.

    `source_key` names the change (for example ``wd_...:processed``); a second event
    for the same change violates a unique constraint. Returns the event id.
    """
    if event_type not in EVENT_TYPES:
        raise ValueError(f"unknown event type {event_type!r}")
    connection = await session.connection()
    event_id = new_id("evt")
    event_seq = (
        await connection.execute(
            insert(Event).returning(Event.seq),
            {
                "id": event_id,
                "customer_seq": customer_seq,
                "type": event_type,
                "source_key": source_key,
                "data": dict(data),
                "created_at": now,
            },
        )
    ).scalar_one()
    await fan_out(connection, Event.seq == event_seq)
    return event_id


async def fan_out(connection: AsyncConnection, events: ColumnElement[bool]) -> None:
    """Queue a pending delivery of every event matching `events` to each enabled,
    subscribed endpoint of its customer: one INSERT ... SELECT, however many events."""
    await repository.queue_deliveries(connection, events, utcnow())


def json_object(dialect: str, *pairs: tuple[str, ColumnElement[Any]]) -> ColumnElement[Any]:
    """A JSON object built in SQL (bulk writers): json_build_object / json_object."""
    function = func.json_build_object if dialect == "postgresql" else func.json_object
    arguments: list[Any] = []
    for key, value in pairs:
        arguments.extend((literal(key), value))
    return function(*arguments)


def random_id(dialect: str, prefix: str) -> ColumnElement[str]:
    """A fresh `prefix_` id computed by the database, one per row of a bulk insert.

    20 random lowercase hex characters (80 bits) instead of 20 base62: the alphabet
    is a subset, so the id still looks and parses like every other one.
    """
    if dialect == "postgresql":
        body = "substr(md5(random()::text || clock_timestamp()::text), 1, 20)"
    else:
        body = "lower(hex(randomblob(10)))"
    return literal_column(f"'{prefix}_' || {body}")
