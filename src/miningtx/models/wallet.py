"""Deposit addresses, deposits credited to customers, and withdrawals."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from miningtx.models.base import Base, SeqKey, UTCDateTime


class Deposit(Base):
    __tablename__ = "deposits"
    __table_args__ = (Index("ix_deposits_customer", "customer_seq", "seq"),)

    seq: Mapped[int] = mapped_column(SeqKey, primary_key=True, autoincrement=True)
    id: Mapped[str] = mapped_column(String(32), unique=True)
    customer_seq: Mapped[int] = mapped_column(SeqKey, ForeignKey("customers.seq"))
    network: Mapped[str] = mapped_column(String(16))
    amount: Mapped[int] = mapped_column(BigInteger)
    status: Mapped[str] = mapped_column(String(16))
    tx_hash: Mapped[str | None] = mapped_column(String(80), nullable=True)
    confirmations: Mapped[int] = mapped_column(Integer, default=0)
    transfer_seq: Mapped[int | None] = mapped_column(
        SeqKey, ForeignKey("ledger_transfers.seq"), nullable=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    credited_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class DepositAddress(Base):
    """A customer's deposit address: BIP-44 index `derivation_index` under the wallet xpub.

    The same address serves every EVM network.
    """

    __tablename__ = "deposit_addresses"

    customer_seq: Mapped[int] = mapped_column(
        SeqKey, ForeignKey("customers.seq"), primary_key=True, autoincrement=False
    )
    derivation_index: Mapped[int] = mapped_column(BigInteger, unique=True)
    #: EIP-55 checksummed.
    address: Mapped[str] = mapped_column(String(42), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Withdrawal(Base):
    """A customer's request to send `amount - fee` to `address` on `network`.

    pending -> approved -> broadcast -> processed, or rejected / cancelled / failed.
    """

    __tablename__ = "withdrawals"
    __table_args__ = (
        CheckConstraint("amount > fee AND fee >= 0", name="fee_below_amount"),
        Index("ix_withdrawals_customer", "customer_seq", "seq"),
        Index("ix_withdrawals_customer_status", "customer_seq", "status", "seq"),
        Index("ix_withdrawals_status", "status", "seq"),
    )

    seq: Mapped[int] = mapped_column(SeqKey, primary_key=True, autoincrement=True)
    id: Mapped[str] = mapped_column(String(32), unique=True)
    customer_seq: Mapped[int] = mapped_column(SeqKey, ForeignKey("customers.seq"))
    network: Mapped[str] = mapped_column(String(16))
    #: EIP-55 checksummed.
    address: Mapped[str] = mapped_column(String(42))
    #: Leaves the customer's balance; `amount - fee` is sent on-chain.
    amount: Mapped[int] = mapped_column(BigInteger)
    fee: Mapped[int] = mapped_column(BigInteger)
    status: Mapped[str] = mapped_column(String(16))
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    broadcast_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    processed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    tx_hash: Mapped[str | None] = mapped_column(String(80), nullable=True)
    failure_reason: Mapped[str | None] = mapped_column(String(200), nullable=True)
