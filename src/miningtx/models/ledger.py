"""Double-entry ledger: accounts with their balance row, and immutable transfers."""

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
    String,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from miningtx.models.base import Base, EnumString, SeqKey, UTCDateTime, one_of


class AccountKind(StrEnum):
    """What an account is: each platform account's code names its kind, customers' are one."""

    SALES = "sales"
    REWARD_POOL = "reward_pool"
    REWARD_RESERVED = "reward_reserved"
    STAKING_POOL = "staking_pool"
    STAKING_RESERVED = "staking_reserved"
    STAKES_LOCKED = "stakes_locked"
    BONUS = "bonus"
    PARTNERS = "partners"
    FEES = "fees"
    PENDING_WITHDRAWALS = "pending_withdrawals"
    OPERATOR_FUNDS = "operator_funds"
    #: Funds manual adjustments' credits and receives their debits (`platform:adjustments`).
    ADJUSTMENTS = "adjustments"
    #: Both networks' treasuries (`platform:treasury:<network>`).
    TREASURY = "treasury"
    CUSTOMER_AVAILABLE = "customer_available"


class TransferKind(StrEnum):
    """Why money moved; the customer-facing ones are the API's transaction types."""

    DEPOSIT = "deposit"
    WITHDRAWAL = "withdrawal"
    REWARD = "reward"
    CONTRACT = "contract"
    STAKE = "stake"
    STAKE_PAYOUT = "stake_payout"
    BONUS = "bonus"
    PARTNER_REWARD = "partner_reward"
    #: A manual credit or debit approved by two operators (maker-checker).
    ADJUSTMENT = "adjustment"
    #: Platform-only movements, never in a customer's history.
    REWARD_RESERVATION = "reward_reservation"
    STAKE_RESERVATION = "stake_reservation"
    STAKE_RELEASE = "stake_release"
    WITHDRAWAL_SETTLEMENT = "withdrawal_settlement"
    WITHDRAWAL_FEE = "withdrawal_fee"
    OPERATOR_FUNDING = "operator_funding"
    POOL_FUNDING = "pool_funding"


class TransferDirection(StrEnum):
    """The customer's view of a transfer: a credit or a debit of their available balance."""

    CREDIT = "credit"
    DEBIT = "debit"


class LedgerAccount(Base):
    """One account and its balance (credits minus debits), updated with every transfer."""

    __tablename__ = "ledger_accounts"
    __table_args__ = (
        CheckConstraint("allow_negative OR balance >= 0", name="no_overdraft"),
        one_of("kind", AccountKind),
    )

    seq: Mapped[int] = mapped_column(SeqKey, primary_key=True, autoincrement=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    kind: Mapped[AccountKind] = mapped_column(EnumString(AccountKind, 32))
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
        Index("ix_ledger_transfers_chain_seq", "chain_seq", unique=True),
        # The chainer's queue: transfers not linked yet, in seq order.
        Index(
            "ix_ledger_transfers_unchained",
            "seq",
            sqlite_where=text("chain_seq IS NULL"),
            postgresql_where=text("chain_seq IS NULL"),
        ),
        one_of("kind", TransferKind),
        # NULL (a transfer no customer sees) passes: a CHECK only refuses what is false.
        one_of("direction", TransferDirection),
    )

    seq: Mapped[int] = mapped_column(SeqKey, primary_key=True, autoincrement=True)
    id: Mapped[str] = mapped_column(String(32), unique=True)
    idempotency_key: Mapped[str] = mapped_column(String(160), unique=True)
    kind: Mapped[TransferKind] = mapped_column(EnumString(TransferKind, 32))
    debit_account_seq: Mapped[int] = mapped_column(
        SeqKey, ForeignKey("ledger_accounts.seq"), index=True
    )
    credit_account_seq: Mapped[int] = mapped_column(
        SeqKey, ForeignKey("ledger_accounts.seq"), index=True
    )
    amount: Mapped[int] = mapped_column(BigInteger)
    #: The customer whose account the transfer touches, so their history is one index scan.
    customer_seq: Mapped[int | None] = mapped_column(SeqKey, nullable=True)
    #: None when no customer's available balance is touched.
    direction: Mapped[TransferDirection | None] = mapped_column(
        EnumString(TransferDirection, 8), nullable=True
    )
    reference: Mapped[str | None] = mapped_column(String(64), nullable=True)
    value_date: Mapped[date] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    #: Position in the ledger's hash chain (commit order as the chainer saw it); None
    #: until linked. `chain_hash` = SHA-256 over the previous link's hash and this
    #: transfer's content (`ledger.chain`).
    chain_seq: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    chain_hash: Mapped[str | None] = mapped_column(String(64), nullable=True)
