"""Proof of liabilities, the ledger's hash chain and balance history.

- ledger_transfers.chain_seq / chain_hash: each transfer's position and hash in the
  ledger's hash chain, NULL until the chainer links it (existing rows are linked by the
  first chainer round, in seq order); ledger_chain holds the head (one row);
- liability_snapshots, liability_tree_chunks, liability_leaves: published Merkle sum
  trees of the customers' liabilities, their stored levels and each customer's leaves;
- cold_attestations and reserve_balances: the reserves side of a snapshot;
- daily_balances: every ledger account's balance at each day's cut-off.

Revision ID: 0012_proofs_chain_history
Revises: 0011_idempotency_owner
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012_proofs_chain_history"
down_revision: str | None = "0011_idempotency_owner"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SEQ = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
GENESIS_HASH = "0" * 64


def _fk(table: str, column: str, target: str, *, cascade: bool = False) -> sa.ForeignKeyConstraint:
    referred = target.split(".", maxsplit=1)[0]
    return sa.ForeignKeyConstraint(
        [column],
        [target],
        name=op.f(f"fk_{table}_{column}_{referred}"),
        ondelete="CASCADE" if cascade else None,
    )


def upgrade() -> None:
    with op.batch_alter_table("ledger_transfers") as batch_op:
        batch_op.add_column(sa.Column("chain_seq", sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column("chain_hash", sa.String(length=64), nullable=True))
    op.create_index(
        op.f("ix_ledger_transfers_chain_seq"), "ledger_transfers", ["chain_seq"], unique=True
    )
    op.create_index(
        op.f("ix_ledger_transfers_unchained"),
        "ledger_transfers",
        ["seq"],
        sqlite_where=sa.text("chain_seq IS NULL"),
        postgresql_where=sa.text("chain_seq IS NULL"),
    )
    chain = op.create_table(
        "ledger_chain",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("head_seq", sa.BigInteger(), nullable=False),
        sa.Column("head_hash", sa.String(length=64), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ledger_chain")),
    )
    op.bulk_insert(chain, [{"id": 1, "head_seq": 0, "head_hash": GENESIS_HASH}])
    op.create_table(
        "liability_snapshots",
        sa.Column("seq", SEQ, autoincrement=True, nullable=False),
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("customer_count", sa.BigInteger(), nullable=False),
        sa.Column("leaf_count", sa.BigInteger(), nullable=False),
        sa.Column("leaves_per_customer", sa.Integer(), nullable=False),
        sa.Column("root_hash", sa.String(length=64), nullable=False),
        sa.Column("total_available", sa.BigInteger(), nullable=False),
        sa.Column("total_in_stakes", sa.BigInteger(), nullable=False),
        sa.Column("total_pending_withdrawals", sa.BigInteger(), nullable=False),
        sa.Column("total_promised_rewards", sa.BigInteger(), nullable=False),
        sa.Column("total_promised_yields", sa.BigInteger(), nullable=False),
        sa.Column("transfer_seq", sa.BigInteger(), nullable=False),
        sa.Column("chain_seq", sa.BigInteger(), nullable=False),
        sa.Column("chain_hash", sa.String(length=64), nullable=False),
        sa.Column("ledger_position", sa.String(length=200), nullable=False),
        sa.Column("signer", sa.String(length=42), nullable=False),
        sa.Column("signature", sa.String(length=132), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_liability_snapshots")),
        sa.UniqueConstraint("id", name=op.f("uq_liability_snapshots_id")),
    )
    op.create_index(
        op.f("ix_liability_snapshots_published_at"), "liability_snapshots", ["published_at"]
    )
    op.create_table(
        "liability_tree_chunks",
        sa.Column("snapshot_seq", SEQ, nullable=False),
        sa.Column("level", sa.Integer(), nullable=False),
        sa.Column("chunk", sa.Integer(), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        _fk("liability_tree_chunks", "snapshot_seq", "liability_snapshots.seq", cascade=True),
        sa.PrimaryKeyConstraint(
            "snapshot_seq", "level", "chunk", name=op.f("pk_liability_tree_chunks")
        ),
    )
    op.create_table(
        "liability_leaves",
        sa.Column("snapshot_seq", SEQ, nullable=False),
        sa.Column("customer_seq", SEQ, nullable=False),
        sa.Column("leaves", sa.LargeBinary(), nullable=False),
        _fk("liability_leaves", "snapshot_seq", "liability_snapshots.seq", cascade=True),
        _fk("liability_leaves", "customer_seq", "customers.seq"),
        sa.PrimaryKeyConstraint("snapshot_seq", "customer_seq", name=op.f("pk_liability_leaves")),
    )
    op.create_table(
        "cold_attestations",
        sa.Column("seq", SEQ, autoincrement=True, nullable=False),
        sa.Column("network", sa.String(length=16), nullable=False),
        sa.Column("address", sa.String(length=42), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("signature", sa.String(length=132), nullable=False),
        sa.Column("block_number", sa.BigInteger(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_cold_attestations")),
    )
    op.create_index(op.f("ix_cold_attestations_network"), "cold_attestations", ["network", "seq"])
    op.create_table(
        "reserve_balances",
        sa.Column("snapshot_seq", SEQ, nullable=False),
        sa.Column("network", sa.String(length=16), nullable=False),
        sa.Column("tier", sa.String(length=24), nullable=False),
        sa.Column("address", sa.String(length=42), nullable=True),
        sa.Column("address_count", sa.Integer(), nullable=False),
        sa.Column("block_number", sa.BigInteger(), nullable=False),
        sa.Column("block_hash", sa.String(length=66), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("raw_amount", sa.String(length=80), nullable=False),
        sa.Column("cold_attestation_seq", SEQ, nullable=True),
        _fk("reserve_balances", "snapshot_seq", "liability_snapshots.seq", cascade=True),
        _fk("reserve_balances", "cold_attestation_seq", "cold_attestations.seq"),
        sa.PrimaryKeyConstraint(
            "snapshot_seq", "network", "tier", name=op.f("pk_reserve_balances")
        ),
    )
    op.create_table(
        "daily_balances",
        sa.Column("account_seq", SEQ, nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("balance", sa.BigInteger(), nullable=False),
        sa.Column("in_contracts", sa.BigInteger(), nullable=True),
        sa.Column("total_rewards", sa.BigInteger(), nullable=True),
        _fk("daily_balances", "account_seq", "ledger_accounts.seq"),
        sa.PrimaryKeyConstraint("account_seq", "day", name=op.f("pk_daily_balances")),
    )
    op.create_index(op.f("ix_daily_balances_day"), "daily_balances", ["day"])


def downgrade() -> None:
    op.drop_table("daily_balances")
    op.drop_table("reserve_balances")
    op.drop_table("cold_attestations")
    op.drop_table("liability_leaves")
    op.drop_table("liability_tree_chunks")
    op.drop_table("liability_snapshots")
    op.drop_table("ledger_chain")
    op.drop_index(op.f("ix_ledger_transfers_unchained"), table_name="ledger_transfers")
    op.drop_index(op.f("ix_ledger_transfers_chain_seq"), table_name="ledger_transfers")
    with op.batch_alter_table("ledger_transfers") as batch_op:
        batch_op.drop_column("chain_hash")
        batch_op.drop_column("chain_seq")
