"""Webhook endpoint rules: what a customer may register, deletion and disabling.

An endpoint's secret is generated here and shown once, in the creation response.
Deleting or disabling an endpoint cancels what it still had pending, so the worker
never sends to an endpoint its owner removed or that told us it is gone (410).
"""

from __future__ import annotations

import base64
import secrets
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import insert, select, update

from miningtx.kit.db import WriteSession
from miningtx.kit.errors import ApiError, invalid, not_found
from miningtx.kit.ids import new_id
from miningtx.models import Customer, WebhookDelivery, WebhookEndpoint, WebhookSubscription
from miningtx.webhooks import repository
from miningtx.webhooks.outbox import ALL_EVENTS, EVENT_TYPES

#: Endpoints a customer may have at once (enabled or disabled; deleted ones do not count).
MAX_ENDPOINTS = 16
#: Random bytes in a signing secret (Standard Webhooks asks for 24 to 64).
SECRET_BYTES = 32
#: `disabled_reason` is a String(200) column.
REASON_LENGTH = 200


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
        status="enabled",
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
                WebhookEndpoint.status != "deleted",
            )
            .values(status="deleted", deleted_at=now)
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
            .where(WebhookEndpoint.seq == endpoint_seq, WebhookEndpoint.status == "enabled")
            .values(status="disabled", disabled_reason=reason[:REASON_LENGTH])
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
        .where(WebhookDelivery.endpoint_seq == endpoint_seq, WebhookDelivery.status == "pending")
        .values(status="cancelled")
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
        WebhookEndpoint.customer_seq == customer_seq, WebhookEndpoint.status != "deleted"
    )
    delivery = await session.scalar(
        select(WebhookDelivery).where(
            WebhookDelivery.seq == delivery_seq, WebhookDelivery.endpoint_seq.in_(owned)
        )
    )
    if delivery is None:
        raise not_found("webhook delivery", "delivery")
    endpoint = await session.get(WebhookEndpoint, delivery.endpoint_seq)
    if endpoint is None or endpoint.status != "enabled":
        raise ApiError(409, "conflict", "That endpoint is disabled: nothing can be resent to it.")
    resent = await session.scalar(
        update(WebhookDelivery)
        .where(WebhookDelivery.seq == delivery_seq, WebhookDelivery.status != "pending")
        .values(status="pending", next_attempt_at=now, created_at=now, delivered_at=None)
        .returning(WebhookDelivery)
        .execution_options(synchronize_session=False, populate_existing=True)
    )
    if resent is None:
        raise already_queued()
    return resent
