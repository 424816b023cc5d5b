"""Operator commands for webhooks: `mtx webhooks deliveries` and `mtx webhooks replay`.

The Typer sub-app `webhooks_app` is their command line (cli.py mounts it as `mtx
webhooks`): it parses, calls the webhooks service or repository, and prints. A replay
(`service.replay`) re-queues past events for one endpoint in batches, each committed on
its own, so it can be interrupted and run again.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from miningtx.kit.clock import rfc3339
from miningtx.kit.commands import JsonOpt, emit_json, fail, out, run
from miningtx.kit.db import Database
from miningtx.models import WebhookDeliveryStatus
from miningtx.webhooks import repository, service

DELIVERY_STATUSES = tuple(status.value for status in WebhookDeliveryStatus)


def delivery_dict(row: repository.DeliveryRow) -> dict[str, Any]:
    """One delivery as `mtx webhooks deliveries --json` prints it."""
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
        "next_attempt_at": rfc3339(row.next_attempt_at)
        if row.status == WebhookDeliveryStatus.PENDING
        else None,
        "delivered_at": rfc3339(row.delivered_at) if row.delivered_at else None,
    }


async def recent_deliveries(
    db: Database,
    *,
    endpoint_id: str | None = None,
    status: WebhookDeliveryStatus | None = None,
    limit: int = 50,
) -> list[repository.DeliveryRow]:
    """The newest deliveries, optionally of one endpoint and in one status."""
    async with db.read() as session:
        return await repository.recent_deliveries(
            session, endpoint_id=endpoint_id, status=status, limit=limit
        )


# The command line.

webhooks_app = typer.Typer(help="Webhook deliveries: inspect and replay.", no_args_is_help=True)


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
        str | None, typer.Option(help=f"Only this status: {', '.join(DELIVERY_STATUSES)}.")
    ] = None,
    limit: Annotated[int, typer.Option(min=1, max=1000, help="How many, newest first.")] = 50,
    as_json: JsonOpt = False,
) -> None:
    """Show recent deliveries with their attempts and last answer, newest first."""
    if status is not None and status not in DELIVERY_STATUSES:
        fail(f"unknown status {status!r}; choose one of {', '.join(DELIVERY_STATUSES)}")
    wanted = None if status is None else WebhookDeliveryStatus(status)
    rows = [
        delivery_dict(row)
        for row in run(
            lambda db: recent_deliveries(db, endpoint_id=endpoint, status=wanted, limit=limit)
        )
    ]
    if as_json:
        emit_json({"deliveries": rows})
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

        result = run(
            lambda db: service.replay(db, endpoint_id, start, enable=enable, on_progress=advance)
        )
    data = result.as_dict()
    if as_json:
        emit_json(data)
        return
    typer.echo(
        f"Queued {result.events} events since {data['since']} for {endpoint_id}: "
        f"{result.inserted} new, {result.requeued} sent again, "
        f"{result.already_pending} already pending."
    )
