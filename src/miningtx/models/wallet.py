"""Deposits credited to customers (sandbox helper now; chain watcher later)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, String
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
