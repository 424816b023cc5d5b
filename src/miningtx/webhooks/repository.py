"""Queries of the webhooks domain: endpoints, their subscriptions, events and deliveries.

Also every statement of the delivery queue: queueing deliveries (the one INSERT ...
SELECT behind both the outbox and a replay), claiming due ones, recording results and
handing unsent claims back. Callers own the transaction.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    and_,
    bindparam,
    exists,
    func,
    insert,
    literal,
    or_,
    select,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from miningtx.kit.db import ReadSession, WriteSession
from miningtx.kit.pagination import PageRequest
from miningtx.models import (
    Event,
    WebhookAttempt,
    WebhookDelivery,
    WebhookDeliveryStatus,
    WebhookEndpoint,
    WebhookEndpointStatus,
    WebhookSubscription,
)
from miningtx.webhooks.attempts import Claim, Outcome
from miningtx.webhooks.events import ALL_EVENTS, EVENT_TYPES
from miningtx.webhooks.signing import render_body

AnySession = ReadSession | WriteSession
_ORDER = {name: position for position, name in enumerate((ALL_EVENTS, *EVENT_TYPES))}


async def list_endpoints(
    session: ReadSession, customer_seq: int, page: PageRequest
) -> Sequence[tuple[int, WebhookEndpoint]]:
    """The customer's endpoints that are not deleted, newest first, up to limit+1."""
    query = select(WebhookEndpoint).where(
        WebhookEndpoint.customer_seq == customer_seq,
        WebhookEndpoint.status != WebhookEndpointStatus.DELETED,
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
            WebhookEndpoint.status != WebhookEndpointStatus.DELETED,
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
        .where(
            WebhookEndpoint.customer_seq == customer_seq,
            WebhookEndpoint.status != WebhookEndpointStatus.DELETED,
        )
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
    status: WebhookDeliveryStatus
    attempts: int
    last_status_code: int | None
    last_error: str | None
    created_at: datetime
    next_attempt_at: datetime
    delivered_at: datetime | None


async def recent_deliveries(
    session: AnySession,
    *,
    endpoint_id: str | None,
    status: WebhookDeliveryStatus | None,
    limit: int,
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


# The delivery queue.


async def queue_deliveries(
    connection: AsyncConnection,
    events: ColumnElement[bool],
    now: datetime,
    *,
    endpoint_seq: int | None = None,
) -> int:
    """Queue a pending delivery, due `now`, of every event matching `events` to each enabled
    endpoint of its customer subscribed to its type (only to `endpoint_seq` if given): one
    INSERT ... SELECT however many events. A pair already queued is kept as it is.
    Returns how many deliveries were queued."""
    matches = (
        select(
            WebhookEndpoint.seq,
            Event.seq,
            # The enum's value, not the member: literal() binds a bare StrEnum untyped.
            literal(WebhookDeliveryStatus.PENDING.value),
            literal(0),
            literal(now, WebhookDelivery.next_attempt_at.type),
            literal(now, WebhookDelivery.created_at.type),
        )
        .distinct()
        .join(WebhookEndpoint, WebhookEndpoint.customer_seq == Event.customer_seq)
        .join(WebhookSubscription, WebhookSubscription.endpoint_seq == WebhookEndpoint.seq)
        .where(
            events,
            WebhookEndpoint.status == WebhookEndpointStatus.ENABLED,
            or_(
                WebhookSubscription.event_type == Event.type,
                WebhookSubscription.event_type == ALL_EVENTS,
            ),
        )
    )
    if endpoint_seq is not None:
        matches = matches.where(WebhookEndpoint.seq == endpoint_seq)
    dialect_insert = sqlite.insert if connection.dialect.name == "sqlite" else postgresql.insert
    statement = (
        dialect_insert(WebhookDelivery)
        .from_select(
            [
                WebhookDelivery.endpoint_seq,
                WebhookDelivery.event_seq,
                WebhookDelivery.status,
                WebhookDelivery.attempts,
                WebhookDelivery.next_attempt_at,
                WebhookDelivery.created_at,
            ],
            matches,
        )
        # A replay meeting a delivery fan-out queued meanwhile keeps that one.
        .on_conflict_do_nothing(index_elements=["endpoint_seq", "event_seq"])
    )
    result = await connection.execute(statement)
    return int(result.rowcount)


def replay_events(
    endpoint_seq: int, types: list[str], since: datetime
) -> list[ColumnElement[bool]]:
    """Conditions selecting the events a replay to the endpoint covers: its customer's,
    since `since`, of the types it subscribes to."""
    return [
        Event.customer_seq
        == select(WebhookEndpoint.customer_seq)
        .where(WebhookEndpoint.seq == endpoint_seq)
        .scalar_subquery(),
        Event.created_at >= since,
        *([] if ALL_EVENTS in types else [Event.type.in_(types)]),
    ]


async def count_events(session: AnySession, conditions: Sequence[ColumnElement[bool]]) -> int:
    """How many events match `conditions`."""
    count = await session.scalar(select(func.count()).select_from(Event).where(*conditions))
    return int(count or 0)


async def event_seqs_after(
    session: AnySession, conditions: Sequence[ColumnElement[bool]], after: int, limit: int
) -> list[int]:
    """Up to `limit` seqs of events matching `conditions` above `after`, in order."""
    rows = await session.scalars(
        select(Event.seq).where(*conditions, Event.seq > after).order_by(Event.seq).limit(limit)
    )
    return list(rows)


def requeued_values(now: datetime) -> dict[str, Any]:
    """What an ended delivery (delivered, failed, cancelled) becomes when queued again:
    pending, due `now`, with a fresh retry window."""
    return {
        "status": WebhookDeliveryStatus.PENDING,
        "next_attempt_at": now,
        "created_at": now,
        "delivered_at": None,
    }


async def requeue_events(
    session: WriteSession, endpoint_seq: int, event_seqs: list[int], now: datetime
) -> tuple[int, int, int]:
    """Queue the events for the endpoint, due `now`: (inserted, re-queued, already pending).

    Missing deliveries are inserted, ended ones become pending again; a pending one keeps
    its schedule (a worker may hold it) but its retry window restarts.
    """
    inserted = await queue_deliveries(
        await session.connection(), Event.seq.in_(event_seqs), now, endpoint_seq=endpoint_seq
    )
    existing = (
        WebhookDelivery.endpoint_seq == endpoint_seq,
        WebhookDelivery.event_seq.in_(event_seqs),
        WebhookDelivery.created_at < now,
    )
    ended = await session.execute(
        update(WebhookDelivery)
        .where(*existing, WebhookDelivery.status != WebhookDeliveryStatus.PENDING)
        .values(**requeued_values(now))
        .returning(WebhookDelivery.seq)
        .execution_options(synchronize_session=False)
    )
    requeued = len(ended.all())
    still = await session.execute(
        update(WebhookDelivery)
        .where(*existing, WebhookDelivery.status == WebhookDeliveryStatus.PENDING)
        .values(created_at=now)
        .returning(WebhookDelivery.seq)
        .execution_options(synchronize_session=False)
    )
    return inserted, requeued, len(still.all())


_ANY_DUE = (
    select(WebhookDelivery.seq)
    .where(
        WebhookDelivery.status == WebhookDeliveryStatus.PENDING,
        WebhookDelivery.next_attempt_at
        <= bindparam("now", type_=WebhookDelivery.next_attempt_at.type),
    )
    .limit(1)
)


async def any_due(session: AnySession, now: datetime) -> bool:
    """Whether any delivery is due: the one probe of an idle worker round."""
    return await session.scalar(_ANY_DUE, {"now": now}) is not None


async def claim_due(
    session: WriteSession, now: datetime, *, limit: int, lease_until: datetime, skip_locked: bool
) -> list[Claim]:
    """Claim up to `limit` due deliveries: count the attempt and hold them until
    `lease_until`. Deliveries whose endpoint is no longer enabled are cancelled instead.

    `skip_locked` (PostgreSQL): workers racing for the same rows each take different
    ones instead of waiting.
    """
    due = (
        select(WebhookDelivery.seq)
        .where(
            WebhookDelivery.status == WebhookDeliveryStatus.PENDING,
            WebhookDelivery.next_attempt_at <= now,
        )
        .order_by(WebhookDelivery.next_attempt_at, WebhookDelivery.seq)
        .limit(limit)
    )
    if skip_locked:
        due = due.with_for_update(skip_locked=True)
    seqs = list(await session.scalars(due))
    if not seqs:
        return []
    await session.execute(
        update(WebhookDelivery)
        .where(WebhookDelivery.seq.in_(seqs))
        .values(attempts=WebhookDelivery.attempts + 1, next_attempt_at=lease_until)
        .execution_options(synchronize_session=False)
    )
    rows = await session.execute(
        select(
            WebhookDelivery.seq,
            WebhookDelivery.attempts,
            WebhookDelivery.created_at,
            WebhookEndpoint.seq,
            WebhookEndpoint.id,
            WebhookEndpoint.url,
            WebhookEndpoint.secret,
            WebhookEndpoint.status,
            Event,
        )
        .join(WebhookEndpoint, WebhookEndpoint.seq == WebhookDelivery.endpoint_seq)
        .join(Event, Event.seq == WebhookDelivery.event_seq)
        .where(WebhookDelivery.seq.in_(seqs))
        .order_by(WebhookDelivery.next_attempt_at, WebhookDelivery.seq)
    )
    claims: list[Claim] = []
    orphaned: list[int] = []
    for seq, attempts, created_at, ep_seq, ep_id, url, secret, status, event in rows:
        if status != WebhookEndpointStatus.ENABLED:
            orphaned.append(seq)  # queued by a transaction that raced the endpoint's end
            continue
        claims.append(
            Claim(
                seq=seq,
                attempts=attempts,
                created_at=created_at,
                endpoint_seq=ep_seq,
                endpoint_id=ep_id,
                url=url,
                secret=secret,
                event_id=event.id,
                event_type=event.type,
                body=render_body(event),
            )
        )
    if orphaned:
        await session.execute(
            update(WebhookDelivery)
            .where(WebhookDelivery.seq.in_(orphaned))
            .values(status=WebhookDeliveryStatus.CANCELLED)
            .execution_options(synchronize_session=False)
        )
    return claims


def _claimed(seq: Any, attempts: Any) -> tuple[ColumnElement[bool], ...]:
    """The guard of every result: the delivery is still pending under this claim."""
    return (
        WebhookDelivery.seq == seq,
        WebhookDelivery.attempts == attempts,
        WebhookDelivery.status == WebhookDeliveryStatus.PENDING,
    )


#: Delivered results are written with one executemany: the common case, kept cheap.
_MARK_DELIVERED = (
    update(WebhookDelivery)
    .where(*_claimed(bindparam("b_seq"), bindparam("b_attempts")))
    .values(
        status=WebhookDeliveryStatus.DELIVERED,
        delivered_at=bindparam("b_now"),
        last_status_code=bindparam("b_status_code"),
        last_error=None,
    )
)


async def log_attempts(session: WriteSession, results: Sequence[tuple[Claim, Outcome]]) -> None:
    """Append one `webhook_attempts` row per result (one executemany)."""
    connection = await session.connection()
    await connection.execute(
        insert(WebhookAttempt),
        [
            {
                "delivery_seq": claim.seq,
                "attempted_at": outcome.attempted_at,
                "status_code": outcome.status_code,
                "latency_ms": outcome.latency_ms,
                "error": outcome.error,
            }
            for claim, outcome in results
        ],
    )


async def mark_delivered(
    session: WriteSession, results: Sequence[tuple[Claim, Outcome]], now: datetime
) -> None:
    """Mark the claims of these (delivered) results delivered, each guarded by its claim."""
    if not results:
        return
    connection = await session.connection()
    await connection.execute(
        _MARK_DELIVERED,
        [
            {
                "b_seq": claim.seq,
                "b_attempts": claim.attempts,
                "b_now": now,
                "b_status_code": outcome.status_code,
            }
            for claim, outcome in results
        ],
    )


async def settle_claim(session: WriteSession, claim: Claim, values: dict[str, object]) -> bool:
    """Write `values` to the claimed delivery if it is still pending under this claim;
    False when another worker has claimed it since."""
    matched = (
        await session.execute(
            update(WebhookDelivery)
            .where(*_claimed(claim.seq, claim.attempts))
            .values(**values)
            .returning(WebhookDelivery.seq)
            .execution_options(synchronize_session=False)
        )
    ).first()
    return matched is not None


async def delivered_since(session: AnySession, endpoint_seq: int, since: datetime) -> bool:
    """Whether any delivery to the endpoint succeeded at or after `since`."""
    found = await session.scalar(
        select(
            exists().where(
                and_(
                    WebhookDelivery.endpoint_seq == endpoint_seq,
                    WebhookDelivery.status == WebhookDeliveryStatus.DELIVERED,
                    WebhookDelivery.delivered_at >= since,
                )
            )
        )
    )
    return bool(found)


async def release_claim(session: WriteSession, claim: Claim, when: datetime) -> None:
    """Hand an unsent claim back (its attempt uncounted), due again at `when`."""
    await session.execute(
        update(WebhookDelivery)
        .where(*_claimed(claim.seq, claim.attempts))
        .values(attempts=WebhookDelivery.attempts - 1, next_attempt_at=when)
        .execution_options(synchronize_session=False)
    )
