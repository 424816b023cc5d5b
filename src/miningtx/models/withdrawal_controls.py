"""Per-customer withdrawal controls: limit overrides, the saved-addresses-only mode and
the address book."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Boolean, CheckConstraint, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from miningtx.models.base import Base, SeqKey, UTCDateTime


class WithdrawalControls(Base):
    """One customer's withdrawal settings. The row is also the lock that serialises the
    customer's withdrawal requests, so the rolling limits hold under concurrency."""

    __tablename__ = "withdrawal_controls"
    __table_args__ = (
        CheckConstraint("limit_24h IS NULL OR limit_24h >= 0", name="limit_24h_not_negative"),
        CheckConstraint("limit_30d IS NULL OR limit_30d >= 0", name="limit_30d_not_negative"),
    )

    customer_seq: Mapped[int] = mapped_column(
        SeqKey, ForeignKey("customers.seq"), primary_key=True, autoincrement=False
    )
    #: An operator's override of MTX_WITHDRAWAL_LIMIT_24H / _30D (micro-USDT); None: default.
    limit_24h: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    limit_30d: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    #: "Withdraw only to saved addresses" is switched on ...
    saved_addresses_only: Mapped[bool] = mapped_column(Boolean, default=False)
    #: ... and, once the customer switched it off, stays on until this time.
    saved_addresses_only_until: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class WithdrawalAddress(Base):
    """A destination the customer saved; withdrawals may go there from `usable_at` on."""

    __tablename__ = "withdrawal_addresses"
    __table_args__ = (
        Index(
            "ix_withdrawal_addresses_destination", "customer_seq", "network", "address", unique=True
        ),
    )

    seq: Mapped[int] = mapped_column(SeqKey, primary_key=True, autoincrement=True)
    id: Mapped[str] = mapped_column(String(32), unique=True)
    customer_seq: Mapped[int] = mapped_column(SeqKey, ForeignKey("customers.seq"))
    network: Mapped[str] = mapped_column(String(16))
    #: EIP-55 checksummed.
    address: Mapped[str] = mapped_column(String(42))
    label: Mapped[str | None] = mapped_column(String(64), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    usable_at: Mapped[datetime] = mapped_column(UTCDateTime)
