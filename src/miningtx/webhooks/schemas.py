"""Request and response bodies of the webhook endpoint and event routes."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from miningtx.kit.clock import Timestamp
from miningtx.models import WebhookEndpoint
from miningtx.webhooks.events import ALL_EVENTS, EVENT_TYPES
from miningtx.webhooks.urls import MAX_URL_LENGTH

_EVENTS_HELP = (
    f'Event types to receive ({", ".join(EVENT_TYPES)}), or ["{ALL_EVENTS}"] for all of them.'
)


class WebhookEndpointIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    url: str = Field(
        max_length=MAX_URL_LENGTH,
        examples=["https://example.com/miningtx/webhooks"],
        # The scheme is checked case-insensitively by webhooks.urls; the rest there too.
        json_schema_extra={"pattern": "^[Hh][Tt][Tt][Pp][Ss]?://"},
        description="Where events are POSTed: https (http is accepted in sandbox only); "
        "private, loopback and link-local addresses are refused.",
    )
    events: list[str] = Field(
        max_length=len(EVENT_TYPES) * 2,
        examples=[["reward.credited", "withdrawal.processed"]],
        description=_EVENTS_HELP,
        # What service.normalise_events accepts, said in the schema.
        json_schema_extra={
            "minItems": 1,
            "items": {"type": "string", "enum": [*EVENT_TYPES, ALL_EVENTS]},
        },
    )


class WebhookEndpointOut(BaseModel):
    id: str = Field(examples=["we_4fT9..."])
    url: str
    events: list[str] = Field(examples=[["reward.credited"]])
    status: str = Field(
        examples=["enabled"],
        description="enabled, or disabled when the receiver answered 410 Gone or deliveries "
        "kept failing for the whole retry window.",
    )
    disabled_reason: str | None = Field(description="Why the endpoint was disabled.")
    created_at: Timestamp


class CreatedWebhookEndpointOut(WebhookEndpointOut):
    secret: str = Field(
        examples=["whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"],
        description="The signing secret, shown only in this response: store it now.",
    )


class WebhookEndpointsOut(BaseModel):
    data: list[WebhookEndpointOut]
    has_more: bool
    next_cursor: str | None


class DeletedWebhookEndpointOut(BaseModel):
    id: str
    deleted: bool = Field(examples=[True])


class EventOut(BaseModel):
    """The body an endpoint receives for this event, exactly."""

    id: str = Field(examples=["evt_9aZ2..."])
    event: str = Field(examples=["reward.credited"])
    created_at: str = Field(examples=["2026-06-22T06:00:00Z"])
    data: dict[str, Any] = Field(examples=[{"amount": "130.00", "contract": "Ultra Miner"}])


class EventsOut(BaseModel):
    data: list[EventOut]
    has_more: bool
    next_cursor: str | None


def render_endpoint(endpoint: WebhookEndpoint, events: list[str]) -> WebhookEndpointOut:
    return WebhookEndpointOut(
        id=endpoint.id,
        url=endpoint.url,
        events=events,
        status=endpoint.status,
        disabled_reason=endpoint.disabled_reason,
        created_at=endpoint.created_at,
    )


def render_created(endpoint: WebhookEndpoint, events: list[str]) -> CreatedWebhookEndpointOut:
    """The endpoint as every route shows it, plus its secret: only the creation answer."""
    shown = render_endpoint(endpoint, events)
    return CreatedWebhookEndpointOut(**dict(shown), secret=endpoint.secret)
