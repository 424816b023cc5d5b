"""Mining catalog, fleet capacity, customers' activations and their daily rewards."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
)
from sqlalchemy.orm import Mapped, mapped_column

from miningtx.models.base import Base, EnumString, SeqKey, UTCDateTime, one_of


class ActivationStatus(StrEnum):
    """A bought contract is `active` until its last daily reward is paid, then `expired`."""

    ACTIVE = "active"
    EXPIRED = "expired"


class MiningContract(Base):
    """A contract the operator sells. Hash rate in milli-TH/s, money in micro-USDT."""

    __tablename__ = "mining_contracts"
    __table_args__ = (
        CheckConstraint("price > 0 AND daily_reward > 0 AND hash_mths > 0", name="positive"),
        CheckConstraint("duration_days > 0", name="positive_duration"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(String(64))
    price: Mapped[int] = mapped_column(BigInteger)
    hash_mths: Mapped[int] = mapped_column(BigInteger)
    daily_reward: Mapped[int] = mapped_column(BigInteger)
    duration_days: Mapped[int] = mapped_column(Integer)
    on_sale: Mapped[bool] = mapped_column(Boolean, default=True)
    position: Mapped[int] = mapped_column(Integer, default=0)


class Fleet(Base):
    """The operator's declared capacity and how much of it active contracts use (one row)."""

    __tablename__ = "fleet"
    __table_args__ = (CheckConstraint("sold_mths <= capacity_mths", name="fits"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    capacity_mths: Mapped[int] = mapped_column(BigInteger, default=0)
    sold_mths: Mapped[int] = mapped_column(BigInteger, default=0)


class Activation(Base):
    """A contract a customer bought, with the terms copied at activation."""

    __tablename__ = "contract_activations"
    __table_args__ = (
        Index("ix_contract_activations_customer", "customer_seq", "seq"),
        Index("ix_contract_activations_customer_status", "customer_seq", "status", "seq"),
        CheckConstraint("rewards_paid <= duration_days", name="bounded_rewards"),
        # The daily accrual walks active contracts in seq order.
        Index("ix_contract_activations_due", "status", "seq"),
        one_of("status", ActivationStatus),
    )

    seq: Mapped[int] = mapped_column(SeqKey, primary_key=True, autoincrement=True)
    id: Mapped[str] = mapped_column(String(32), unique=True)
    customer_seq: Mapped[int] = mapped_column(SeqKey, ForeignKey("customers.seq"))
    contract_id: Mapped[str] = mapped_column(String(32), ForeignKey("mining_contracts.id"))
    contract_name: Mapped[str] = mapped_column(String(64))
    price: Mapped[int] = mapped_column(BigInteger)
    hash_mths: Mapped[int] = mapped_column(BigInteger)
    daily_reward: Mapped[int] = mapped_column(BigInteger)
    duration_days: Mapped[int] = mapped_column(Integer)
    rewards_paid: Mapped[int] = mapped_column(Integer, default=0)
    #: The day (its cut-off) of the next reward owed; the first is the first cut-off
    #: at least 24 h after activation.
    next_reward_on: Mapped[date] = mapped_column(Date)
    status: Mapped[ActivationStatus] = mapped_column(
        EnumString(ActivationStatus, 16), default=ActivationStatus.ACTIVE
    )
    activated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expired_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class AccrualState(Base):
    """How far the daily accrual has paid every contract (one row).

    An idle worker round reads this row instead of looking at contracts, so no index
    on `next_reward_on` is needed and the daily schedule update can stay a HOT update.
    """

    __tablename__ = "accrual_state"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    #: Every reward up to this day's cut-off is credited (None: nothing run yet).
    paid_through: Mapped[date | None] = mapped_column(Date, nullable=True)
