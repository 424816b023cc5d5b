"""Events (the outbox), webhook endpoints, their subscriptions, deliveries and attempts."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from miningtx.models.base import Base, EnumString, SeqKey, UTCDateTime, one_of


class WebhookEndpointStatus(StrEnum):
    """`disabled`: the receiver answered 410, or deliveries gave up; `deleted` by the customer."""

    ENABLED = "enabled"
    DISABLED = "disabled"
    DELETED = "deleted"


class WebhookDeliveryStatus(StrEnum):
    """`failed`: gave up after the retry window; `cancelled`: its endpoint went away."""

    PENDING = "pending"
    DELIVERED = "delivered"
    FAILED = "failed"
    CANCELLED = "cancelled"


class Event(Base):
    """Something that happened to a customer, written in the transaction that made it happen.

    `data` is the public payload's `data` object, already rendered; `source_key` names
    the change that emitted it, so the same change can never emit twice.
    """

    __tablename__ = "events"
    __table_args__ = (
        Index("ix_events_customer", "customer_seq", "seq"),
        Index("ix_events_customer_type", "customer_seq", "type", "seq"),
    )

    seq: Mapped[int] = mapped_column(SeqKey, primary_key=True, autoincrement=True)
    id: Mapped[str] = mapped_column(String(32), unique=True)
    customer_seq: Mapped[int] = mapped_column(SeqKey, ForeignKey("customers.seq"))
    type: Mapped[str] = mapped_column(String(40))
    source_key: Mapped[str] = mapped_column(String(160), unique=True)
    data: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class WebhookEndpoint(Base):
    """A customer's URL that receives the events it subscribes to, signed with `secret`."""

    __tablename__ = "webhook_endpoints"
    __table_args__ = (
        Index("ix_webhook_endpoints_customer", "customer_seq", "seq"),
        one_of("status", WebhookEndpointStatus),
    )

    seq: Mapped[int] = mapped_column(SeqKey, primary_key=True, autoincrement=True)
    id: Mapped[str] = mapped_column(String(32), unique=True)
    customer_seq: Mapped[int] = mapped_column(SeqKey, ForeignKey("customers.seq"))
    url: Mapped[str] = mapped_column(String(2048))
    #: The Standard Webhooks secret, `whsec_<base64>`; the API shows it once, at creation.
    secret: Mapped[str] = mapped_column(String(80))
    status: Mapped[WebhookEndpointStatus] = mapped_column(
        EnumString(WebhookEndpointStatus, 16), default=WebhookEndpointStatus.ENABLED
    )
    disabled_reason: Mapped[str | None] = mapped_column(String(200), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class WebhookSubscription(Base):
    """One event type (or `*`) an endpoint receives; a row each, so fan-out is one join."""

    __tablename__ = "webhook_subscriptions"

    endpoint_seq: Mapped[int] = mapped_column(
        SeqKey, ForeignKey("webhook_endpoints.seq"), primary_key=True
    )
    event_type: Mapped[str] = mapped_column(String(40), primary_key=True)


class WebhookDelivery(Base):
    """One event owed to one endpoint; retried until delivered or given up."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        UniqueConstraint("endpoint_seq", "event_seq", name="uq_webhook_deliveries_endpoint_event"),
        Index("ix_webhook_deliveries_due", "status", "next_attempt_at"),
        Index("ix_webhook_deliveries_event", "event_seq"),
        one_of("status", WebhookDeliveryStatus),
    )

    seq: Mapped[int] = mapped_column(SeqKey, primary_key=True, autoincrement=True)
    endpoint_seq: Mapped[int] = mapped_column(SeqKey, ForeignKey("webhook_endpoints.seq"))
    event_seq: Mapped[int] = mapped_column(SeqKey, ForeignKey("events.seq"))
    status: Mapped[WebhookDeliveryStatus] = mapped_column(
        EnumString(WebhookDeliveryStatus, 16), default=WebhookDeliveryStatus.PENDING
    )
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    #: Wall-clock time (never the sandbox clock) of the next try; a claim pushes it out.
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    last_status_code: Mapped[int | None] = mapped_column(Integer, nullable=True)
    last_error: Mapped[str | None] = mapped_column(String(200), nullable=True)


class WebhookAttempt(Base):
    """The log of one delivery attempt: when, what came back, how long it took."""

    __tablename__ = "webhook_attempts"
    __table_args__ = (Index("ix_webhook_attempts_delivery", "delivery_seq", "seq"),)

    seq: Mapped[int] = mapped_column(SeqKey, primary_key=True, autoincrement=True)
    delivery_seq: Mapped[int] = mapped_column(SeqKey, ForeignKey("webhook_deliveries.seq"))
    attempted_at: Mapped[datetime] = mapped_column(UTCDateTime)
    status_code: Mapped[int | None] = mapped_column(Integer, nullable=True)
    latency_ms: Mapped[int] = mapped_column(Integer)
    error: Mapped[str | None] = mapped_column(String(200), nullable=True)
