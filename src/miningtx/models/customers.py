"""Customers and their API keys."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, BigInteger, Boolean, CheckConstraint, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from miningtx.models.base import Base, EnumString, SeqKey, UTCDateTime, one_of


class KycStatus(StrEnum):
    """Where a customer's identity check is: submitted documents wait as `pending`."""

    UNVERIFIED = "unverified"
    PENDING = "pending"
    VERIFIED = "verified"
    REJECTED = "rejected"


class Customer(Base):
    __tablename__ = "customers"
    __table_args__ = (
        # A referrer is named once, at sign-up, and must be someone else: no cycles can form.
        CheckConstraint(
            "referred_by_seq IS NULL OR referred_by_seq <> seq", name="no_self_referral"
        ),
        Index("ix_customers_referred_by", "referred_by_seq"),
        one_of("kyc_status", KycStatus),
    )

    seq: Mapped[int] = mapped_column(SeqKey, primary_key=True, autoincrement=True)
    id: Mapped[str] = mapped_column(String(32), unique=True)
    username: Mapped[str] = mapped_column(String(32), unique=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    referral_code: Mapped[str] = mapped_column(String(24), unique=True)
    referred_by_seq: Mapped[int | None] = mapped_column(
        SeqKey, ForeignKey("customers.seq"), nullable=True
    )
    kyc_status: Mapped[KycStatus] = mapped_column(
        EnumString(KycStatus, 16), default=KycStatus.UNVERIFIED
    )
    kyc_bonus_credited: Mapped[bool] = mapped_column(Boolean, default=False)
    kyc_details: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    kyc_submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    kyc_reviewed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    kyc_rejection_reason: Mapped[str | None] = mapped_column(String(200), nullable=True)
    #: Running total of mining rewards credited, kept beside each reward transfer.
    total_rewards: Mapped[int] = mapped_column(BigInteger, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class ApiKey(Base):
    __tablename__ = "api_keys"

    seq: Mapped[int] = mapped_column(SeqKey, primary_key=True, autoincrement=True)
    id: Mapped[str] = mapped_column(String(32), unique=True)
    customer_seq: Mapped[int] = mapped_column(SeqKey, ForeignKey("customers.seq"), index=True)
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    display_prefix: Mapped[str] = mapped_column(String(24))
    name: Mapped[str | None] = mapped_column(String(64), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
