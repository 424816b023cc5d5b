"""Deposit addresses, deposits credited to customers, and withdrawals."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from miningtx.models.base import Base, EnumString, SeqKey, UTCDateTime, one_of


class DepositStatus(StrEnum):
    """Seen on chain (`pending`), credited once final (`confirmed`), or never credited."""

    PENDING = "pending"
    CONFIRMED = "confirmed"
    BELOW_MINIMUM = "below_minimum"


class DepositPurpose(StrEnum):
    """Whose money a deposit is: a customer's, or the operator's (the funding address)."""

    CUSTOMER = "customer"
    FUNDING = "funding"


class WithdrawalStatus(StrEnum):
    """pending -> approved -> broadcast -> processed, or rejected / cancelled / failed."""

    PENDING = "pending"
    APPROVED = "approved"
    BROADCAST = "broadcast"
    PROCESSED = "processed"
    REJECTED = "rejected"
    CANCELLED = "cancelled"
    FAILED = "failed"


class ChainTransactionKind(StrEnum):
    """A withdrawal's `payout`, a deposit address's `gas` top-up, its USDT `sweep` into the
    hot wallet, or the part of it beyond the hot wallet's ceiling, a `cold_sweep`."""

    PAYOUT = "payout"
    GAS = "gas"
    SWEEP = "sweep"
    COLD_SWEEP = "cold_sweep"


class ChainTransactionStatus(StrEnum):
    """`signed` until its receipt is final, then `confirmed` or `reverted`."""

    SIGNED = "signed"
    CONFIRMED = "confirmed"
    REVERTED = "reverted"


class Deposit(Base):
    """USDT that entered the platform: a customer's deposit or the operator's funding.

    On-chain deposits are recorded when their Transfer log is first seen (`pending`,
    with the block they are in) and credited once final (`confirmed`), or marked
    `below_minimum`; a pending deposit whose block leaves the chain is deleted. One
    row per (network, tx_hash, log_index): nothing is recorded or credited twice.
    """

    __tablename__ = "deposits"
    __table_args__ = (
        Index("ix_deposits_customer", "customer_seq", "seq"),
        Index("ix_deposits_transfer_log", "network", "tx_hash", "log_index", unique=True),
        Index("ix_deposits_network_status", "network", "status", "block_number"),
        one_of("status", DepositStatus),
        one_of("purpose", DepositPurpose),
    )

    seq: Mapped[int] = mapped_column(SeqKey, primary_key=True, autoincrement=True)
    id: Mapped[str] = mapped_column(String(32), unique=True)
    #: None for deposits to the operator's funding address (`purpose` "funding").
    customer_seq: Mapped[int | None] = mapped_column(
        SeqKey, ForeignKey("customers.seq"), nullable=True
    )
    #: The server default is migration 0005's, which gave the deposits before it a purpose.
    purpose: Mapped[DepositPurpose] = mapped_column(
        EnumString(DepositPurpose, 16),
        default=DepositPurpose.CUSTOMER,
        server_default=DepositPurpose.CUSTOMER.value,
    )
    network: Mapped[str] = mapped_column(String(16))
    amount: Mapped[int] = mapped_column(BigInteger)
    status: Mapped[DepositStatus] = mapped_column(EnumString(DepositStatus, 16))
    tx_hash: Mapped[str | None] = mapped_column(String(80), nullable=True)
    confirmations: Mapped[int] = mapped_column(Integer, default=0)
    transfer_seq: Mapped[int | None] = mapped_column(
        SeqKey, ForeignKey("ledger_transfers.seq"), nullable=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    credited_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    #: On-chain deposits only: where the Transfer log is and what it moved.
    log_index: Mapped[int | None] = mapped_column(Integer, nullable=True)
    block_number: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    block_hash: Mapped[str | None] = mapped_column(String(66), nullable=True)
    address: Mapped[str | None] = mapped_column(String(42), nullable=True)
    #: The exact token amount in the token's own units (a decimal string: 18-decimal
    #: amounts overflow BIGINT); `amount` is it in micro-USDT, truncated.
    raw_amount: Mapped[str | None] = mapped_column(String(80), nullable=True)


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
        one_of("status", WithdrawalStatus),
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
    status: Mapped[WithdrawalStatus] = mapped_column(EnumString(WithdrawalStatus, 16))
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    broadcast_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    processed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    tx_hash: Mapped[str | None] = mapped_column(String(80), nullable=True)
    failure_reason: Mapped[str | None] = mapped_column(String(200), nullable=True)
    #: An approved withdrawal the hot wallet cannot cover yet: since when, and why (it
    #: stays `approved`; the signer pays it once funds arrive). Cleared when it is sent.
    waiting_since: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    waiting_reason: Mapped[str | None] = mapped_column(String(200), nullable=True)


class HotWalletObservation(Base):
    """What the signer last saw in a network's hot wallet (one row per network, rewritten
    every round), so the API's /metrics and the console can alert below the floor."""

    __tablename__ = "hot_wallet_observations"

    network: Mapped[str] = mapped_column(String(16), primary_key=True)
    #: The hot wallet's USDT in micro-USDT (truncated) and its native coin in wei (a
    #: decimal string: wei overflow BIGINT).
    usdt: Mapped[int] = mapped_column(BigInteger)
    native: Mapped[str] = mapped_column(String(80))
    floor: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    ceiling: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    below_floor: Mapped[bool] = mapped_column(Boolean)
    observed_at: Mapped[datetime] = mapped_column(UTCDateTime)


class WithdrawalApproval(Base):
    """One operator's approval of a withdrawal: above the four-eyes threshold a withdrawal
    needs two, by two different operators (unique per withdrawal and operator)."""

    __tablename__ = "withdrawal_approvals"
    __table_args__ = (
        UniqueConstraint("withdrawal_seq", "operator_seq", name="uq_withdrawal_approvals_operator"),
    )

    seq: Mapped[int] = mapped_column(SeqKey, primary_key=True, autoincrement=True)
    withdrawal_seq: Mapped[int] = mapped_column(SeqKey, ForeignKey("withdrawals.seq"))
    operator_seq: Mapped[int] = mapped_column(SeqKey, ForeignKey("operators.seq"))
    approved_at: Mapped[datetime] = mapped_column(UTCDateTime)


class ChainCursor(Base):
    """Where a network's watcher is: every block below `next_block` is final and read.

    `leader`/`lease_until` make one watcher per network the leader at a time.
    """

    __tablename__ = "chain_cursors"

    network: Mapped[str] = mapped_column(String(16), primary_key=True)
    next_block: Mapped[int] = mapped_column(BigInteger)
    leader: Mapped[str | None] = mapped_column(String(64), nullable=True)
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class ChainTransaction(Base):
    """A transaction the signer signed: recorded before it is sent, so a crash can only
    ever lead to re-sending these same bytes (same hash, same nonce), never a second one.

    kind: `payout` (a withdrawal), `gas` (native coin topping up a deposit address),
    `sweep` (a deposit address's USDT into the hot wallet), `cold_sweep` (the part beyond
    the hot wallet's ceiling, straight to the cold address). status: `signed` until its
    receipt is final, then `confirmed` or `reverted`.
    """

    __tablename__ = "chain_transactions"
    __table_args__ = (
        UniqueConstraint("network", "from_address", "nonce", name="uq_chain_transactions_nonce"),
        Index("ix_chain_transactions_open", "network", "status", "seq"),
        one_of("kind", ChainTransactionKind),
        one_of("status", ChainTransactionStatus),
    )

    seq: Mapped[int] = mapped_column(SeqKey, primary_key=True, autoincrement=True)
    network: Mapped[str] = mapped_column(String(16))
    kind: Mapped[ChainTransactionKind] = mapped_column(EnumString(ChainTransactionKind, 16))
    withdrawal_seq: Mapped[int | None] = mapped_column(
        SeqKey, ForeignKey("withdrawals.seq"), nullable=True, unique=True
    )
    from_address: Mapped[str] = mapped_column(String(42))
    to_address: Mapped[str] = mapped_column(String(42))
    nonce: Mapped[int] = mapped_column(BigInteger)
    tx_hash: Mapped[str] = mapped_column(String(66), unique=True)
    raw_tx: Mapped[str] = mapped_column(Text)
    #: Token units (payout, sweep) or wei (gas), as a decimal string.
    value: Mapped[str] = mapped_column(String(80))
    status: Mapped[ChainTransactionStatus] = mapped_column(EnumString(ChainTransactionStatus, 16))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
