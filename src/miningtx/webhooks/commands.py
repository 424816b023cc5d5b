"""Operator commands for webhooks: `mtx webhooks deliveries` and `mtx webhooks replay`.

The async functions are the operations; the Typer sub-app `webhooks_app` is their
command line (cli.py mounts it as `mtx webhooks`). A replay re-queues past events
for one endpoint in batches, each committed on its own, so it can be interrupted and
run again: the unique (endpoint, event) pair keeps it from queueing anything twice.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from sqlalchemy import ColumnElement, func, literal, select, update
from sqlalchemy.dialects import postgresql, sqlite

from miningtx.kit.clock import rfc3339, utcnow
from miningtx.kit.commands import JsonOpt, fail, run
from miningtx.kit.db import Database, WriteSession
from miningtx.kit.errors import ApiError, not_found
from miningtx.models import Event, WebhookDelivery, WebhookEndpoint, WebhookEndpointStatus
from miningtx.webhooks import repository
from miningtx.webhooks.outbox import ALL_EVENTS

#: Events re-queued per transaction by a replay.
REPLAY_BATCH = 500
DELIVERY_STATUSES = ("pending", "delivered", "failed", "cancelled")

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class ReplayResult:
    endpoint_id: str
    since: datetime
    #: Events of the customer since `since` that the endpoint subscribes to.
    events: int
    #: Deliveries that did not exist yet (the event came before the endpoint, or was missed).
    inserted: int
    #: Deliveries that had ended (delivered, failed, cancelled) and are pending again.
    requeued: int
    #: Deliveries that were still pending; their retry window starts again.
    already_pending: int

    def as_dict(self) -> dict[str, Any]:
        return {
            "endpoint": self.endpoint_id,
            "since": rfc3339(self.since),
            "events": self.events,
            "inserted": self.inserted,
            "requeued": self.requeued,
            "already_pending": self.already_pending,
        }


def delivery_dict(row: repository.DeliveryRow) -> dict[str, Any]:
    return {
        "delivery": row.seq,
        "endpoint": row.endpoint_id,
        "event": row.event_id,
        "type": row.event_type,
        "status": row.status,
        "attempts": row.attempts,
        "last_status_code": row.last_status_code,
        "last_error": row.last_error,
        "created_at": rfc3339(row.created_at),
        "next_attempt_at": rfc3339(row.next_attempt_at) if row.status == "pending" else None,
        "delivered_at": rfc3339(row.delivered_at) if row.delivered_at else None,
    }


async def recent_deliveries(
    db: Database, *, endpoint_id: str | None = None, status: str | None = None, limit: int = 50
) -> list[repository.DeliveryRow]:
    """The newest deliveries, optionally of one endpoint and in one status."""
    async with db.read() as session:
        return await repository.recent_deliveries(
            session, endpoint_id=endpoint_id, status=status, limit=limit
        )


async def _replay_target(db: Database, endpoint_id: str, *, enable: bool) -> WebhookEndpoint:
    """The endpoint to replay to: 404 if unknown or deleted, 409 if disabled (unless `enable`)."""
    async with db.write() as session:
        endpoint = await repository.endpoint_by_id(session, endpoint_id)
        if endpoint is None or endpoint.status == "deleted":
            raise not_found("webhook endpoint", "endpoint_id")
        if endpoint.status == "disabled":
            if not enable:
                raise ApiError(
                    409,
                    "conflict",
                    f"{endpoint_id} is disabled ({endpoint.disabled_reason or 'no reason given'});"
                    " pass --enable to enable it again and replay",
                )
            endpoint.status = WebhookEndpointStatus.ENABLED
            endpoint.disabled_reason = None
        return endpoint


def _subscribed(endpoint_seq: int, types: list[str], since: datetime) -> list[ColumnElement[bool]]:
    """Conditions selecting the events a replay covers."""
    return [
        Event.customer_seq
        == select(WebhookEndpoint.customer_seq)
        .where(WebhookEndpoint.seq == endpoint_seq)
        .scalar_subquery(),
        Event.created_at >= since,
        *([] if ALL_EVENTS in types else [Event.type.in_(types)]),
    ]


async def replay(
    db: Database,
    endpoint_id: str,
    since: datetime,
    *,
    enable: bool = False,
    batch_size: int = REPLAY_BATCH,
    on_progress: Callable[[int, int], None] | None = None,
) -> ReplayResult:
    """Queue again, for one endpoint, every event of its customer since `since` that it
    subscribes to: missing deliveries are inserted, ended ones become pending, all due now.

    Each batch commits on its own; running it again gives the same queue. `on_progress`
    is called with (events done, events in all) after each batch.
    """
    endpoint = await _replay_target(db, endpoint_id, enable=enable)
    async with db.read() as session:
        types = (await repository.subscriptions(session, [endpoint.seq]))[endpoint.seq]
        conditions = _subscribed(endpoint.seq, types, since)
        total = int(
            await session.scalar(select(func.count()).select_from(Event).where(*conditions)) or 0
        )
    if on_progress is not None:
        on_progress(0, total)
    done = inserted = requeued = pending = 0
    after = 0
    while True:
        async with db.write() as session:
            seqs = list(
                await session.scalars(
                    select(Event.seq)
                    .where(*conditions, Event.seq > after)
                    .order_by(Event.seq)
                    .limit(batch_size)
                )
            )
            if not seqs:
                break
            counts = await _requeue_batch(db, session, endpoint.seq, seqs)
        inserted += counts[0]
        requeued += counts[1]
        pending += counts[2]
        done += len(seqs)
        after = seqs[-1]
        if on_progress is not None:
            on_progress(done, max(total, done))
    return ReplayResult(endpoint.id, since, done, inserted, requeued, pending)


async def _requeue_batch(
    db: Database, session: WriteSession, endpoint_seq: int, event_seqs: list[int]
) -> tuple[int, int, int]:
    """Queue the events for the endpoint now: (inserted, re-queued, already pending)."""
    now = utcnow()
    dialect_insert = sqlite.insert if db.is_sqlite else postgresql.insert
    missing = (
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
            select(
                literal(endpoint_seq, WebhookDelivery.endpoint_seq.type),
                Event.seq,
                literal("pending"),
                literal(0),
                literal(now, WebhookDelivery.next_attempt_at.type),
                literal(now, WebhookDelivery.created_at.type),
            ).where(Event.seq.in_(event_seqs)),
        )
        # A delivery fan-out queued meanwhile is kept as it is.
        .on_conflict_do_nothing(index_elements=["endpoint_seq", "event_seq"])
        .returning(WebhookDelivery.seq)
    )
    inserted = len((await session.execute(missing)).all())
    existing = (
        WebhookDelivery.endpoint_seq == endpoint_seq,
        WebhookDelivery.event_seq.in_(event_seqs),
        WebhookDelivery.created_at < now,
    )
    ended = await session.execute(
        update(WebhookDelivery)
        .where(*existing, WebhookDelivery.status != "pending")
        .values(status="pending", next_attempt_at=now, created_at=now, delivered_at=None)
        .returning(WebhookDelivery.seq)
        .execution_options(synchronize_session=False)
    )
    requeued = len(ended.all())
    # A pending delivery keeps its schedule (a worker may hold it), but its window restarts.
    still = await session.execute(
        update(WebhookDelivery)
        .where(*existing, WebhookDelivery.status == "pending")
        .values(created_at=now)
        .returning(WebhookDelivery.seq)
        .execution_options(synchronize_session=False)
    )
    return inserted, requeued, len(still.all())


# The command line.

webhooks_app = typer.Typer(help="Webhook deliveries: inspect and replay.", no_args_is_help=True)
out = Console()


def parse_since(text: str) -> datetime:
    """An ISO 8601 time; without a zone it is taken as UTC."""
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        fail(f"--since must be an ISO 8601 time such as 2026-06-01T00:00:00Z, not {text!r}")
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


@webhooks_app.command("deliveries")
def deliveries_command(
    endpoint: Annotated[str | None, typer.Option(help="Only this endpoint (we_...).")] = None,
    status: Annotated[
        str | None, typer.Option(help="Only this status: pending, delivered, failed, cancelled.")
    ] = None,
    limit: Annotated[int, typer.Option(min=1, max=1000, help="How many, newest first.")] = 50,
    as_json: JsonOpt = False,
) -> None:
    """Show recent deliveries with their attempts and last answer, newest first."""
    if status is not None and status not in DELIVERY_STATUSES:
        fail(f"unknown status {status!r}; choose one of {', '.join(DELIVERY_STATUSES)}")
    rows = [
        delivery_dict(row)
        for row in run(
            lambda db: recent_deliveries(db, endpoint_id=endpoint, status=status, limit=limit)
        )
    ]
    if as_json:
        typer.echo(json.dumps({"deliveries": rows}, indent=2))
        return
    table = Table("#", "endpoint", "event", "type", "status", "tries", "last", "error", "when")
    for r in rows:
        table.add_row(
            str(r["delivery"]),
            r["endpoint"],
            r["event"],
            r["type"],
            r["status"],
            str(r["attempts"]),
            str(r["last_status_code"] or ""),
            r["last_error"] or "",
            r["delivered_at"] or r["next_attempt_at"] or r["created_at"],
        )
    out.print(table)


@webhooks_app.command("replay")
def replay_command(
    endpoint_id: Annotated[str, typer.Argument(help="Endpoint id (we_...).")],
    since: Annotated[str, typer.Option(help="Replay events created at or after this time.")],
    enable: Annotated[
        bool, typer.Option("--enable", help="Enable the endpoint again if it was disabled.")
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """Send an endpoint every event since a time again (missing or already delivered).

    Safe to interrupt and to run again: each batch commits, nothing is queued twice."""
    start = parse_since(since)
    with Progress(
        TextColumn("Re-queueing events"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=Console(stderr=True),
        disable=as_json,
        transient=True,
    ) as progress:
        task = progress.add_task("replay", total=None)

        def advance(done: int, total: int) -> None:
            progress.update(task, completed=done, total=total)

        result = run(lambda db: replay(db, endpoint_id, start, enable=enable, on_progress=advance))
    data = result.as_dict()
    if as_json:
        typer.echo(json.dumps(data, indent=2))
        return
    typer.echo(
        f"Queued {result.events} events since {data['since']} for {endpoint_id}: "
        f"{result.inserted} new, {result.requeued} sent again, "
        f"{result.already_pending} already pending."
    )
