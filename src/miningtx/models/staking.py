"""Staking terms and plans the operator sets, and customers' stakes."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from miningtx.models.base import Base, EnumString, SeqKey, UTCDateTime, one_of


class StakeStatus(StrEnum):
    """A stake is `active` until its payout is credited at `end_time`, then `completed`."""

    ACTIVE = "active"
    COMPLETED = "completed"


class StakingTerms(Base):
    """The amount limits of every stake (one row)."""

    __tablename__ = "staking_terms"
    __table_args__ = (
        CheckConstraint("min_amount > 0 AND min_amount <= max_amount", name="limits"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    min_amount: Mapped[int] = mapped_column(BigInteger)
    max_amount: Mapped[int] = mapped_column(BigInteger)


class StakingPlan(Base):
    """A point on the ROI curve: `roi_e4` is the return in units of 0.0001 percent."""

    __tablename__ = "staking_plans"
    __table_args__ = (CheckConstraint("days > 0 AND roi_e4 >= 0", name="sane"),)

    days: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    roi_e4: Mapped[int] = mapped_column(BigInteger)


class Stake(Base):
    """A customer's locked amount and the payout promised at `end_time`, terms fixed."""

    __tablename__ = "stakes"
    __table_args__ = (
        CheckConstraint("amount > 0 AND payout >= amount", name="payout_covers_amount"),
        Index("ix_stakes_customer", "customer_seq", "seq"),
        Index("ix_stakes_customer_status", "customer_seq", "status", "seq"),
        Index("ix_stakes_status_end", "status", "end_time"),
        one_of("status", StakeStatus),
    )

    seq: Mapped[int] = mapped_column(SeqKey, primary_key=True, autoincrement=True)
    id: Mapped[str] = mapped_column(String(32), unique=True)
    customer_seq: Mapped[int] = mapped_column(SeqKey, ForeignKey("customers.seq"))
    amount: Mapped[int] = mapped_column(BigInteger)
    days: Mapped[int] = mapped_column(Integer)
    roi_e4: Mapped[int] = mapped_column(BigInteger)
    payout: Mapped[int] = mapped_column(BigInteger)
    status: Mapped[StakeStatus] = mapped_column(EnumString(StakeStatus, 16))
    start_time: Mapped[datetime] = mapped_column(UTCDateTime)
    end_time: Mapped[datetime] = mapped_column(UTCDateTime)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    payout_transfer_seq: Mapped[int | None] = mapped_column(
        SeqKey, ForeignKey("ledger_transfers.seq"), nullable=True
    )
