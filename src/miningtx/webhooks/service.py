"""Webhook rules: endpoints, what a delivery result does, and replays.

An endpoint's secret is generated here and shown once, in the creation response.
Deleting or disabling an endpoint cancels what it still had pending, so the worker
never sends to an endpoint its owner removed or that told us it is gone (410).

A delivery result (`record_results`): 2xx delivers; 410 disables the endpoint; anything
else (other statuses, redirects, timeouts, refused targets, dropped connections) is
retried by the policy in `retries` until its window ends, and then it has failed; an
endpoint nothing reached during a whole window is disabled.
"""

from __future__ import annotations

import base64
import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import structlog
from sqlalchemy import insert, select, update

from miningtx.config import Settings
from miningtx.kit.clock import rfc3339, utcnow
from miningtx.kit.db import Database, WriteSession
from miningtx.kit.errors import ApiError, invalid, not_found
from miningtx.kit.ids import new_id
from miningtx.models import (
    Customer,
    WebhookDelivery,
    WebhookDeliveryStatus,
    WebhookEndpoint,
    WebhookEndpointStatus,
    WebhookSubscription,
)
from miningtx.webhooks import repository
from miningtx.webhooks.attempts import Claim, Outcome
from miningtx.webhooks.events import ALL_EVENTS, EVENT_TYPES
from miningtx.webhooks.retries import next_attempt_at

log = structlog.get_logger(__name__)

#: Endpoints a customer may have at once (enabled or disabled; deleted ones do not count).
MAX_ENDPOINTS = 16
#: Random bytes in a signing secret (Standard Webhooks asks for 24 to 64).
SECRET_BYTES = 32
#: `disabled_reason` is a String(200) column.
REASON_LENGTH = 200
#: Events re-queued per transaction by a replay.
REPLAY_BATCH = 500


def too_many_endpoints() -> ApiError:
    return ApiError(
        409,
        "conflict",
        f"You already have {MAX_ENDPOINTS} webhook endpoints; delete one to add another.",
    )


def endpoint_missing() -> ApiError:
    return not_found("webhook endpoint", "endpoint_id")


def normalise_events(events: Sequence[str]) -> list[str]:
    """The distinct event types asked for, in the documented order; `["*"]` for all.

    400 (param `events`) for an empty list, an unknown type, or `*` mixed with types.
    """
    if not events:
        raise invalid("events", f'Give at least one event type, or ["{ALL_EVENTS}"] for all.')
    wanted = set(events)
    if ALL_EVENTS in wanted:
        if len(wanted) > 1:
            raise invalid("events", f'"{ALL_EVENTS}" subscribes to every event; send it alone.')
        return [ALL_EVENTS]
    unknown = sorted(wanted - set(EVENT_TYPES))
    if unknown:
        raise invalid(
            "events",
            f"Unknown event type {unknown[0]!r}; known types: {', '.join(EVENT_TYPES)}.",
        )
    return [name for name in EVENT_TYPES if name in wanted]


def new_secret() -> str:
    """A Standard Webhooks signing secret: `whsec_` and base64 of 32 random bytes."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode()


async def create_endpoint(
    session: WriteSession, customer_seq: int, url: str, events: list[str], now: datetime
) -> WebhookEndpoint:
    """Register `url` for `events` (already normalised) with a fresh secret.

    409 `conflict` when the customer already has `MAX_ENDPOINTS` endpoints. The URL
    must have been checked by `urls.check_endpoint_url` (it resolves names, which a
    transaction should not wait for).
    """
    # Locking the customer row serialises concurrent creations, so the limit holds.
    await session.execute(
        select(Customer.seq).where(Customer.seq == customer_seq).with_for_update()
    )
    if await repository.count_live_endpoints(session, customer_seq) >= MAX_ENDPOINTS:
        raise too_many_endpoints()
    endpoint = WebhookEndpoint(
        id=new_id("we"),
        customer_seq=customer_seq,
        url=url,
        secret=new_secret(),
        status=WebhookEndpointStatus.ENABLED,
        created_at=now,
    )
    session.add(endpoint)
    await session.flush()
    await session.execute(
        insert(WebhookSubscription),
        [{"endpoint_seq": endpoint.seq, "event_type": name} for name in events],
    )
    return endpoint


async def delete_endpoint(
    session: WriteSession, customer_seq: int, endpoint_id: str, now: datetime
) -> WebhookEndpoint:
    """Soft-delete the customer's endpoint and cancel its pending deliveries (404 if none)."""
    endpoint = (
        await session.execute(
            update(WebhookEndpoint)
            .where(
                WebhookEndpoint.id == endpoint_id,
                WebhookEndpoint.customer_seq == customer_seq,
                WebhookEndpoint.status != WebhookEndpointStatus.DELETED,
            )
            .values(status=WebhookEndpointStatus.DELETED, deleted_at=now)
            .returning(WebhookEndpoint)
        )
    ).scalar_one_or_none()
    if endpoint is None:
        raise endpoint_missing()
    await cancel_pending(session, endpoint.seq)
    return endpoint


async def disable_endpoint(session: WriteSession, endpoint_seq: int, reason: str) -> bool:
    """Disable an enabled endpoint and cancel its pending deliveries; False if it was not
    enabled (already disabled or deleted)."""
    disabled = (
        await session.execute(
            update(WebhookEndpoint)
            .where(
                WebhookEndpoint.seq == endpoint_seq,
                WebhookEndpoint.status == WebhookEndpointStatus.ENABLED,
            )
            .values(status=WebhookEndpointStatus.DISABLED, disabled_reason=reason[:REASON_LENGTH])
            .returning(WebhookEndpoint.seq)
        )
    ).first()
    if disabled is None:
        return False
    await cancel_pending(session, endpoint_seq)
    return True


async def cancel_pending(session: WriteSession, endpoint_seq: int) -> int:
    """Cancel every pending delivery to the endpoint; returns how many."""
    result = await session.execute(
        update(WebhookDelivery)
        .where(
            WebhookDelivery.endpoint_seq == endpoint_seq,
            WebhookDelivery.status == WebhookDeliveryStatus.PENDING,
        )
        .values(status=WebhookDeliveryStatus.CANCELLED)
        .returning(WebhookDelivery.seq)
    )
    return len(result.all())


def already_queued() -> ApiError:
    return ApiError(
        409, "conflict", "That delivery is still queued: it will be sent without a resend."
    )


async def resend_delivery(
    session: WriteSession, customer_seq: int, delivery_seq: int, now: datetime
) -> WebhookDelivery:
    """Queue an ended delivery (delivered, failed, cancelled) of one of the customer's enabled
    endpoints again, due `now` (wall clock) with a fresh retry window, as a replay would.

    404 for a delivery that is not theirs or whose endpoint is deleted; 409 when it is
    still pending or its endpoint is disabled.
    """
    owned = select(WebhookEndpoint.seq).where(
        WebhookEndpoint.customer_seq == customer_seq,
        WebhookEndpoint.status != WebhookEndpointStatus.DELETED,
    )
    delivery = await session.scalar(
        select(WebhookDelivery).where(
            WebhookDelivery.seq == delivery_seq, WebhookDelivery.endpoint_seq.in_(owned)
        )
    )
    if delivery is None:
        raise not_found("webhook delivery", "delivery")
    endpoint = await session.get(WebhookEndpoint, delivery.endpoint_seq)
    if endpoint is None or endpoint.status != WebhookEndpointStatus.ENABLED:
        raise ApiError(409, "conflict", "That endpoint is disabled: nothing can be resent to it.")
    resent = await session.scalar(
        update(WebhookDelivery)
        .where(
            WebhookDelivery.seq == delivery_seq,
            WebhookDelivery.status != WebhookDeliveryStatus.PENDING,
        )
        .values(**repository.requeued_values(now))
        .returning(WebhookDelivery)
        .execution_options(synchronize_session=False, populate_existing=True)
    )
    if resent is None:
        raise already_queued()
    return resent


# Delivery results.


async def record_results(
    session: WriteSession,
    results: Sequence[tuple[Claim, Outcome]],
    settings: Settings,
    now: datetime,
) -> list[str]:
    """Log each attempt and move its delivery on, each guarded by its own claim; returns
    each delivery's new status, or "stale" when another worker has claimed it since.

    The status of a delivered result reads "delivered" even if its claim had expired:
    the guard keeps the newer result, only the log line cannot tell.
    """
    await repository.log_attempts(session, results)
    await repository.mark_delivered(
        session, [(claim, outcome) for claim, outcome in results if outcome.delivered], now
    )
    statuses: list[str] = []
    for claim, outcome in results:
        if outcome.delivered:
            statuses.append(WebhookDeliveryStatus.DELIVERED)
            _log_result(claim, outcome, WebhookDeliveryStatus.DELIVERED, None)
        else:
            statuses.append(await _record_failure(session, claim, outcome, settings, now))
    return statuses


async def _record_failure(
    session: WriteSession, claim: Claim, outcome: Outcome, settings: Settings, now: datetime
) -> str:
    """Schedule the retry, give up, or (410) cancel and disable; "stale" if not ours."""
    values: dict[str, object] = {
        "last_status_code": outcome.status_code,
        "last_error": outcome.error,
    }
    retry_at = None
    if outcome.gone:
        values["status"] = WebhookDeliveryStatus.CANCELLED
    else:
        retry_at = next_attempt_at(claim, outcome, settings, now)
        values |= (
            {"status": WebhookDeliveryStatus.FAILED}
            if retry_at is None
            else {"next_attempt_at": retry_at}
        )
    if not await repository.settle_claim(session, claim, values):
        return "stale"
    if outcome.gone:
        await _disable(session, claim, "The endpoint answered 410 Gone.")
    elif retry_at is None:
        await _disable_if_dead(session, claim, settings)
    status = str(values.get("status", WebhookDeliveryStatus.PENDING))
    _log_result(claim, outcome, status, retry_at)
    return status


async def _disable(session: WriteSession, claim: Claim, reason: str) -> None:
    if await disable_endpoint(session, claim.endpoint_seq, reason):
        log.warning("webhook_endpoint_disabled", endpoint=claim.endpoint_id, reason=reason)


async def _disable_if_dead(session: WriteSession, claim: Claim, settings: Settings) -> None:
    """Disable the endpoint when nothing at all reached it during the whole retry window."""
    if not await repository.delivered_since(session, claim.endpoint_seq, claim.created_at):
        hours = f"{settings.webhook_retry_window_hours:g}"
        await _disable(session, claim, f"No delivery succeeded for {hours} hours.")


def _log_result(claim: Claim, outcome: Outcome, status: str, retry_at: datetime | None) -> None:
    fields = {
        "endpoint": claim.endpoint_id,
        "event_id": claim.event_id,
        "attempt": claim.attempts,
        "status_code": outcome.status_code,
        "latency_ms": outcome.latency_ms,
    }
    if status == WebhookDeliveryStatus.DELIVERED:
        log.info("webhook_delivered", **fields)
    elif status == WebhookDeliveryStatus.FAILED:
        log.warning("webhook_delivery_failed", error=outcome.error, **fields)
    else:
        log.info(
            "webhook_attempt_failed",
            error=outcome.error,
            next_attempt_at=retry_at.isoformat() if retry_at else None,
            **fields,
        )


# Replays.


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


async def _replay_target(db: Database, endpoint_id: str, *, enable: bool) -> WebhookEndpoint:
    """The endpoint to replay to: 404 if unknown or deleted, 409 if disabled (unless `enable`)."""
    async with db.write() as session:
        endpoint = await repository.endpoint_by_id(session, endpoint_id)
        if endpoint is None or endpoint.status == WebhookEndpointStatus.DELETED:
            raise endpoint_missing()
        if endpoint.status == WebhookEndpointStatus.DISABLED:
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

    Unlike the other rules this one owns its transactions: each batch commits on its own,
    so a replay of years of events can be interrupted and run again to the same queue.
    `on_progress` is called with (events done, events in all) after each batch.
    """
    endpoint = await _replay_target(db, endpoint_id, enable=enable)
    async with db.read() as session:
        types = (await repository.subscriptions(session, [endpoint.seq]))[endpoint.seq]
        conditions = repository.replay_events(endpoint.seq, types, since)
        total = await repository.count_events(session, conditions)
    if on_progress is not None:
        on_progress(0, total)
    done = inserted = requeued = pending = 0
    after = 0
    while True:
        async with db.write() as session:
            seqs = await repository.event_seqs_after(session, conditions, after, batch_size)
            if not seqs:
                break
            counts = await repository.requeue_events(session, endpoint.seq, seqs, utcnow())
        inserted += counts[0]
        requeued += counts[1]
        pending += counts[2]
        done += len(seqs)
        after = seqs[-1]
        if on_progress is not None:
            on_progress(done, max(total, done))
    return ReplayResult(endpoint.id, since, done, inserted, requeued, pending)
