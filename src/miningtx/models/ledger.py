"""Double-entry ledger: accounts with their balance row, and immutable transfers."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import BigInteger, Boolean, CheckConstraint, Date, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from miningtx.models.base import Base, SeqKey, UTCDateTime


class LedgerAccount(Base):
    """One account and its balance (credits minus debits), updated with every transfer."""

    __tablename__ = "ledger_accounts"
    __table_args__ = (CheckConstraint("allow_negative OR balance >= 0", name="no_overdraft"),)

    seq: Mapped[int] = mapped_column(SeqKey, primary_key=True, autoincrement=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    kind: Mapped[str] = mapped_column(String(32))
    customer_seq: Mapped[int | None] = mapped_column(
        SeqKey, ForeignKey("customers.seq"), nullable=True, index=True
    )
    allow_negative: Mapped[bool] = mapped_column(Boolean, default=False)
    balance: Mapped[int] = mapped_column(BigInteger, default=0)


class LedgerTransfer(Base):
    """Moves `amount` from the debit account to the credit account; never updated or deleted."""

    __tablename__ = "ledger_transfers"
    __table_args__ = (
        CheckConstraint("amount > 0", name="positive_amount"),
        CheckConstraint("debit_account_seq <> credit_account_seq", name="distinct_accounts"),
        Index("ix_ledger_transfers_customer", "customer_seq", "seq"),
        Index("ix_ledger_transfers_customer_kind", "customer_seq", "kind", "seq"),
    )

    seq: Mapped[int] = mapped_column(SeqKey, primary_key=True, autoincrement=True)
    id: Mapped[str] = mapped_column(String(32), unique=True)
    idempotency_key: Mapped[str] = mapped_column(String(160), unique=True)
    kind: Mapped[str] = mapped_column(String(32))
    debit_account_seq: Mapped[int] = mapped_column(
        SeqKey, ForeignKey("ledger_accounts.seq"), index=True
    )
    credit_account_seq: Mapped[int] = mapped_column(
        SeqKey, ForeignKey("ledger_accounts.seq"), index=True
    )
    amount: Mapped[int] = mapped_column(BigInteger)
    #: The customer whose account the transfer touches, so their history is one index scan.
    customer_seq: Mapped[int | None] = mapped_column(SeqKey, nullable=True)
    #: The customer's view of the transfer: "credit" or "debit" of their available balance.
    direction: Mapped[str | None] = mapped_column(String(8), nullable=True)
    reference: Mapped[str | None] = mapped_column(String(64), nullable=True)
    value_date: Mapped[date] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
