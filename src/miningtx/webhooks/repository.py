"""Queries of the webhooks domain: endpoints, their subscriptions, events and deliveries."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select

from miningtx.kit.db import ReadSession, WriteSession
from miningtx.kit.pagination import PageRequest
from miningtx.models import Event, WebhookDelivery, WebhookEndpoint, WebhookSubscription
from miningtx.webhooks.outbox import ALL_EVENTS, EVENT_TYPES

AnySession = ReadSession | WriteSession
_ORDER = {name: position for position, name in enumerate((ALL_EVENTS, *EVENT_TYPES))}


async def list_endpoints(
    session: ReadSession, customer_seq: int, page: PageRequest
) -> Sequence[tuple[int, WebhookEndpoint]]:
    """The customer's endpoints that are not deleted, newest first, up to limit+1."""
    query = select(WebhookEndpoint).where(
        WebhookEndpoint.customer_seq == customer_seq, WebhookEndpoint.status != "deleted"
    )
    if page.after_seq is not None:
        query = query.where(WebhookEndpoint.seq < page.after_seq)
    rows = await session.scalars(query.order_by(WebhookEndpoint.seq.desc()).limit(page.limit + 1))
    return [(e.seq, e) for e in rows]


async def find_endpoint(
    session: AnySession, customer_seq: int, endpoint_id: str
) -> WebhookEndpoint | None:
    """The customer's endpoint by id; None when it is another's, deleted or unknown."""
    return await session.scalar(
        select(WebhookEndpoint).where(
            WebhookEndpoint.id == endpoint_id,
            WebhookEndpoint.customer_seq == customer_seq,
            WebhookEndpoint.status != "deleted",
        )
    )


async def endpoint_by_id(session: AnySession, endpoint_id: str) -> WebhookEndpoint | None:
    """Any endpoint by id, deleted ones included (operator commands)."""
    return await session.scalar(select(WebhookEndpoint).where(WebhookEndpoint.id == endpoint_id))


async def subscriptions(session: AnySession, endpoint_seqs: Iterable[int]) -> dict[int, list[str]]:
    """The event types of each endpoint, in the documented order (`*` alone when it is all)."""
    wanted = list(endpoint_seqs)
    found: dict[int, list[str]] = {seq: [] for seq in wanted}
    if not wanted:
        return found
    rows = await session.execute(
        select(WebhookSubscription.endpoint_seq, WebhookSubscription.event_type).where(
            WebhookSubscription.endpoint_seq.in_(wanted)
        )
    )
    for endpoint_seq, event_type in rows:
        found[endpoint_seq].append(event_type)
    for types in found.values():
        types.sort(key=lambda name: _ORDER.get(name, len(_ORDER)))
    return found


async def count_live_endpoints(session: AnySession, customer_seq: int) -> int:
    """How many endpoints the customer has that are not deleted (enabled or disabled)."""
    count = await session.scalar(
        select(func.count())
        .select_from(WebhookEndpoint)
        .where(WebhookEndpoint.customer_seq == customer_seq, WebhookEndpoint.status != "deleted")
    )
    return int(count or 0)


async def list_events(
    session: ReadSession, customer_seq: int, page: PageRequest, event_type: str | None
) -> Sequence[tuple[int, Event]]:
    """The customer's events, newest first, optionally of one type, up to limit+1."""
    query = select(Event).where(Event.customer_seq == customer_seq)
    if event_type is not None:
        query = query.where(Event.type == event_type)
    if page.after_seq is not None:
        query = query.where(Event.seq < page.after_seq)
    rows = await session.scalars(query.order_by(Event.seq.desc()).limit(page.limit + 1))
    return [(e.seq, e) for e in rows]


async def find_event(session: ReadSession, customer_seq: int, event_id: str) -> Event | None:
    return await session.scalar(
        select(Event).where(Event.id == event_id, Event.customer_seq == customer_seq)
    )


@dataclass(frozen=True, slots=True)
class DeliveryRow:
    """One delivery as the operator sees it."""

    seq: int
    endpoint_id: str
    event_id: str
    event_type: str
    status: str
    attempts: int
    last_status_code: int | None
    last_error: str | None
    created_at: datetime
    next_attempt_at: datetime
    delivered_at: datetime | None


async def recent_deliveries(
    session: AnySession, *, endpoint_id: str | None, status: str | None, limit: int
) -> list[DeliveryRow]:
    """The newest deliveries, optionally of one endpoint and in one status."""
    query = (
        select(
            WebhookDelivery.seq,
            WebhookEndpoint.id,
            Event.id,
            Event.type,
            WebhookDelivery.status,
            WebhookDelivery.attempts,
            WebhookDelivery.last_status_code,
            WebhookDelivery.last_error,
            WebhookDelivery.created_at,
            WebhookDelivery.next_attempt_at,
            WebhookDelivery.delivered_at,
        )
        .join(WebhookEndpoint, WebhookEndpoint.seq == WebhookDelivery.endpoint_seq)
        .join(Event, Event.seq == WebhookDelivery.event_seq)
    )
    if endpoint_id is not None:
        query = query.where(WebhookEndpoint.id == endpoint_id)
    if status is not None:
        query = query.where(WebhookDelivery.status == status)
    rows = await session.execute(query.order_by(WebhookDelivery.seq.desc()).limit(limit))
    return [DeliveryRow(*row) for row in rows]
