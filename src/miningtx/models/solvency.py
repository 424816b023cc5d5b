"""Proof of liabilities, the ledger's hash chain and balance history.

- `LedgerChain`: the head of the ledger's hash chain (one row). Transfers are linked in
  the order the chainer sees them committed (`LedgerTransfer.chain_seq`/`chain_hash`).
- `LiabilitySnapshot`: one published Merkle sum tree of every customer's liabilities,
  its signed head and the ledger and chain position it covers; the tree's levels are
  stored in `LiabilityTreeChunk` rows, each customer's leaf positions and salts in
  `LiabilityLeafSet` (salts are secret: only that customer is given theirs).
- `ReserveBalance`: the on-chain USDT balance per network and custody tier at a stated
  block, taken for a snapshot; `ColdAttestation` is the cold address's offline-signed
  message (the platform verifies it, never signs it).
- `DailyBalance`: each ledger account's balance at a day's cut-off (customer accounts
  also carry the day's `in_contracts` and `total_rewards`), for `GET /v1/balance?as_of=`.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import BigInteger, Date, ForeignKey, Index, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from miningtx.models.base import Base, SeqKey, UTCDateTime

#: The hash before the first link of the chain (64 hex zeros).
GENESIS_HASH = "0" * 64


class LedgerChain(Base):
    """The head of the ledger's hash chain: the last linked position and its hash."""

    __tablename__ = "ledger_chain"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    #: Chain position of the last linked transfer; 0 before any.
    head_seq: Mapped[int] = mapped_column(BigInteger, default=0)
    head_hash: Mapped[str] = mapped_column(String(64), default=GENESIS_HASH)
    updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class LiabilitySnapshot(Base):
    """A published proof-of-liabilities snapshot: its signed head and what it covers."""

    __tablename__ = "liability_snapshots"
    __table_args__ = (Index("ix_liability_snapshots_published_at", "published_at"),)

    seq: Mapped[int] = mapped_column(SeqKey, primary_key=True, autoincrement=True)
    id: Mapped[str] = mapped_column(String(32), unique=True)
    published_at: Mapped[datetime] = mapped_column(UTCDateTime)
    customer_count: Mapped[int] = mapped_column(BigInteger)
    leaf_count: Mapped[int] = mapped_column(BigInteger)
    leaves_per_customer: Mapped[int] = mapped_column(Integer)
    #: Hex SHA-256 of the root node.
    root_hash: Mapped[str] = mapped_column(String(64))
    #: The root's sums: micro-USDT per liability field.
    total_available: Mapped[int] = mapped_column(BigInteger)
    total_in_stakes: Mapped[int] = mapped_column(BigInteger)
    total_pending_withdrawals: Mapped[int] = mapped_column(BigInteger)
    total_promised_rewards: Mapped[int] = mapped_column(BigInteger)
    total_promised_yields: Mapped[int] = mapped_column(BigInteger)
    #: The highest ledger transfer seq the snapshot's balances include.
    transfer_seq: Mapped[int] = mapped_column(BigInteger)
    #: The hash-chain head the snapshot covers (position and hash).
    chain_seq: Mapped[int] = mapped_column(BigInteger)
    chain_hash: Mapped[str] = mapped_column(String(64))
    #: The ledger position exactly as signed (one printable line).
    ledger_position: Mapped[str] = mapped_column(String(200))
    #: EVM address of the operator signing key, and its EIP-191 signature of `message`.
    signer: Mapped[str] = mapped_column(String(42))
    signature: Mapped[str] = mapped_column(String(132))
    message: Mapped[str] = mapped_column(Text)


class LiabilityTreeChunk(Base):
    """A run of consecutive stored nodes (hash then sums, fixed-size records) of one level."""

    __tablename__ = "liability_tree_chunks"

    snapshot_seq: Mapped[int] = mapped_column(
        SeqKey, ForeignKey("liability_snapshots.seq", ondelete="CASCADE"), primary_key=True
    )
    #: 0 holds the leaves, the highest the root.
    level: Mapped[int] = mapped_column(Integer, primary_key=True)
    chunk: Mapped[int] = mapped_column(Integer, primary_key=True)
    data: Mapped[bytes] = mapped_column(LargeBinary)


class LiabilityLeafSet(Base):
    """Where one customer's leaves are in a snapshot's tree, and their secret salts."""

    __tablename__ = "liability_leaves"

    snapshot_seq: Mapped[int] = mapped_column(
        SeqKey, ForeignKey("liability_snapshots.seq", ondelete="CASCADE"), primary_key=True
    )
    customer_seq: Mapped[int] = mapped_column(SeqKey, ForeignKey("customers.seq"), primary_key=True)
    #: Per leaf: its tree index (8 bytes big-endian) then its salt (32 bytes).
    leaves: Mapped[bytes] = mapped_column(LargeBinary)


class ColdAttestation(Base):
    """The cold address's control proven by a message its key signed offline."""

    __tablename__ = "cold_attestations"
    __table_args__ = (Index("ix_cold_attestations_network", "network", "seq"),)

    seq: Mapped[int] = mapped_column(SeqKey, primary_key=True, autoincrement=True)
    network: Mapped[str] = mapped_column(String(16))
    address: Mapped[str] = mapped_column(String(42))
    #: The exact text signed (EIP-191 personal_sign), naming the address and a recent block.
    message: Mapped[str] = mapped_column(Text)
    signature: Mapped[str] = mapped_column(String(132))
    #: The block the message names (its number), so an attestation's age is known.
    block_number: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class ReserveBalance(Base):
    """USDT held by one custody tier of one network at a stated block, for a snapshot."""

    __tablename__ = "reserve_balances"

    snapshot_seq: Mapped[int] = mapped_column(
        SeqKey, ForeignKey("liability_snapshots.seq", ondelete="CASCADE"), primary_key=True
    )
    network: Mapped[str] = mapped_column(String(16), primary_key=True)
    #: deposit_addresses (in aggregate), funding, hot or cold.
    tier: Mapped[str] = mapped_column(String(24), primary_key=True)
    #: None for the deposit addresses in aggregate.
    address: Mapped[str | None] = mapped_column(String(42), nullable=True)
    address_count: Mapped[int] = mapped_column(Integer)
    block_number: Mapped[int] = mapped_column(BigInteger)
    block_hash: Mapped[str] = mapped_column(String(66))
    #: micro-USDT (the token's own units truncated to 6 decimals) and the raw token units.
    amount: Mapped[int] = mapped_column(BigInteger)
    raw_amount: Mapped[str] = mapped_column(String(80))
    cold_attestation_seq: Mapped[int | None] = mapped_column(
        SeqKey, ForeignKey("cold_attestations.seq"), nullable=True
    )


class DailyBalance(Base):
    """One ledger account's balance at the cut-off ending `day` (business days)."""

    __tablename__ = "daily_balances"
    __table_args__ = (Index("ix_daily_balances_day", "day"),)

    account_seq: Mapped[int] = mapped_column(
        SeqKey, ForeignKey("ledger_accounts.seq"), primary_key=True
    )
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    balance: Mapped[int] = mapped_column(BigInteger)
    #: Customer accounts only: GET /v1/balance's other figures on that day.
    in_contracts: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    total_rewards: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
