"""What a webhook request carries: the exact body of an event and its signed headers."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from standardwebhooks.webhooks import Webhook

from miningtx.models import Event
from miningtx.webhooks.events import payload

USER_AGENT = "MiningTX-Webhooks/1.0"


def render_body(event: Event) -> str:
    """The exact request body of an event: compact JSON of `events.payload`, so every
    attempt sends the same bytes."""
    return json.dumps(payload(event), separators=(",", ":"))


def signed_headers(secret: str, event_id: str, body: str, moment: datetime) -> dict[str, str]:
    """Standard Webhooks headers for one attempt; `X-MiningTX-Signature` repeats the signature."""
    timestamp = int(moment.timestamp())
    signature = Webhook(secret).sign(event_id, datetime.fromtimestamp(timestamp, UTC), body)
    return {
        "content-type": "application/json",
        "user-agent": USER_AGENT,
        "webhook-id": event_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": signature,
        "x-miningtx-signature": signature,
    }
