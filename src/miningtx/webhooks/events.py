"""The event catalogue and envelope: which event types exist and how an event is rendered.

A leaf of the webhooks package (the outbox, the queries, the API and the delivery all
use it), so none of them needs another to know the event types.
"""

from __future__ import annotations

from typing import Any

from miningtx.kit.clock import rfc3339
from miningtx.models import Event

#: Every event type, in the order the docs list them; `*` subscribes to all.
EVENT_TYPES = (
    "deposit.confirmed",
    "kyc.verified",
    "contract.activated",
    "reward.credited",
    "withdrawal.processed",
    "withdrawal.failed",
    "stake.completed",
    "contract.expired",
)
ALL_EVENTS = "*"


def payload(event: Event) -> dict[str, Any]:
    """The JSON body an endpoint receives and `GET /v1/events` lists."""
    return {
        "id": event.id,
        "event": event.type,
        "created_at": rfc3339(event.created_at),
        "data": event.data,
    }
