"""Verify a webhook request and read its event: `webhooks.verify(payload, headers, secret)`.

MiningTX signs deliveries the Standard Webhooks way (`webhook-id`, `webhook-timestamp`,
`webhook-signature`; `X-MiningTX-Signature` repeats the signature). The signature is
computed with the `standardwebhooks` package; the timestamp must lie within `tolerance`
of `now`, which a test on the sandbox clock can pass in.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import json
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta

from pydantic import ValidationError
from standardwebhooks.webhooks import Webhook

from miningtx_client.errors import MiningTXError
from miningtx_client.models import Event

DEFAULT_TOLERANCE = timedelta(minutes=5)


class WebhookVerificationError(MiningTXError):
    """The request is not a genuine, fresh MiningTX delivery: reject it (answer 400)."""


def verify(
    payload: bytes | str,
    headers: Mapping[str, str],
    secret: str,
    *,
    tolerance: timedelta = DEFAULT_TOLERANCE,
    now: datetime | None = None,
) -> Event:
    """The typed event of a webhook request whose signature matches `secret` (`whsec_...`).

    `payload` is the raw request body, exactly as received; `headers` the request's headers
    (any case). Raises `WebhookVerificationError` for a missing, stale or wrong signature.
    """
    body = payload.decode() if isinstance(payload, bytes) else payload
    lowered = {name.lower(): value for name, value in headers.items()}
    message_id = lowered.get("webhook-id")
    stamp = lowered.get("webhook-timestamp")
    signatures = lowered.get("webhook-signature") or lowered.get("x-miningtx-signature")
    if not (message_id and stamp and signatures):
        raise WebhookVerificationError("missing webhook-id, webhook-timestamp or signature")
    try:
        sent_at = datetime.fromtimestamp(int(stamp), UTC)
    except (ValueError, OverflowError, OSError):
        raise WebhookVerificationError("webhook-timestamp is not a unix time") from None
    moment = now or datetime.now(UTC)
    if abs(moment - sent_at) > tolerance:
        raise WebhookVerificationError("webhook-timestamp is outside the tolerance")
    try:
        expected = Webhook(secret).sign(message_id, sent_at, body).partition(",")[2]
    except (binascii.Error, ValueError, RuntimeError) as exc:
        raise WebhookVerificationError(f"unusable webhook secret: {exc}") from None
    if not any(_matches(candidate, expected) for candidate in signatures.split()):
        raise WebhookVerificationError("no signature matches the secret")
    try:
        return Event.model_validate(json.loads(body))
    except (ValueError, ValidationError) as exc:
        raise WebhookVerificationError(f"the signed body is not an event: {exc}") from None


def _matches(candidate: str, expected: str) -> bool:
    version, _, signature = candidate.partition(",")
    if version != "v1":
        return False
    try:
        given = base64.b64decode(signature, validate=True)
    except (binascii.Error, ValueError):
        return False
    return hmac.compare_digest(given, base64.b64decode(expected))
