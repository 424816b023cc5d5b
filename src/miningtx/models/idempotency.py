"""Idempotency-Key records: the first response to a POST, kept 24 hours for replays."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from miningtx.models.base import Base, EnumString, SeqKey, UTCDateTime, one_of


class IdempotencyState(StrEnum):
    """`in_flight` while the first request runs, `done` once its response is stored."""

    IN_FLIGHT = "in_flight"
    DONE = "done"


class IdempotencyRecord(Base):
    __tablename__ = "idempotency_keys"
    __table_args__ = (
        UniqueConstraint("customer_seq", "key", name="uq_idempotency_keys_customer_key"),
        one_of("state", IdempotencyState),
    )

    seq: Mapped[int] = mapped_column(SeqKey, primary_key=True, autoincrement=True)
    customer_seq: Mapped[int] = mapped_column(SeqKey, ForeignKey("customers.seq"))
    key: Mapped[str] = mapped_column(String(255))
    request_hash: Mapped[str] = mapped_column(String(64))
    state: Mapped[IdempotencyState] = mapped_column(EnumString(IdempotencyState, 16))
    response_status: Mapped[int | None] = mapped_column(Integer, nullable=True)
    response_body: Mapped[str | None] = mapped_column(Text, nullable=True)
    locked_at: Mapped[datetime] = mapped_column(UTCDateTime)
    #: A random token written by the request that claimed (or took over) the key: only
    #: that request may store the response or release the key. NULL on claims made
    #: before migration 0011, which no running request holds.
    owner: Mapped[str | None] = mapped_column(String(32), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
