"""On-chain deposits and payouts: chain cursors, observed transfers, signed transactions.

- deposits: where each on-chain deposit's Transfer log is (block, hash, log index), the
  exact token amount, and one row per (network, tx_hash, log_index); customer_seq is
  NULL for deposits to the operator's funding address.
- chain_cursors: each network watcher's last final block read and its leader lease.
- chain_transactions: every transaction the signer signs, recorded before it is sent.
- platform:operator_funds: USDT the operator deposited to the funding address, from
  which live pools are funded.

Revision ID: 0005
Revises: 0004
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SEQ = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
OPERATOR_FUNDS = "platform:operator_funds"


def upgrade() -> None:
    with op.batch_alter_table("deposits", schema=None) as batch_op:
        batch_op.alter_column("customer_seq", existing_type=SEQ, nullable=True)
        batch_op.add_column(
            sa.Column("purpose", sa.String(length=16), nullable=False, server_default="customer")
        )
        batch_op.add_column(sa.Column("log_index", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("block_number", sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column("block_hash", sa.String(length=66), nullable=True))
        batch_op.add_column(sa.Column("address", sa.String(length=42), nullable=True))
        batch_op.add_column(sa.Column("raw_amount", sa.String(length=80), nullable=True))
        batch_op.create_index(
            "ix_deposits_transfer_log", ["network", "tx_hash", "log_index"], unique=True
        )
        batch_op.create_index(
            "ix_deposits_network_status", ["network", "status", "block_number"], unique=False
        )
    op.create_table(
        "chain_cursors",
        sa.Column("network", sa.String(length=16), nullable=False),
        sa.Column("next_block", sa.BigInteger(), nullable=False),
        sa.Column("leader", sa.String(length=64), nullable=True),
        sa.Column("lease_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("network", name=op.f("pk_chain_cursors")),
    )
    op.create_table(
        "chain_transactions",
        sa.Column("seq", SEQ, autoincrement=True, nullable=False),
        sa.Column("network", sa.String(length=16), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("withdrawal_seq", SEQ, nullable=True),
        sa.Column("from_address", sa.String(length=42), nullable=False),
        sa.Column("to_address", sa.String(length=42), nullable=False),
        sa.Column("nonce", sa.BigInteger(), nullable=False),
        sa.Column("tx_hash", sa.String(length=66), nullable=False),
        sa.Column("raw_tx", sa.Text(), nullable=False),
        sa.Column("value", sa.String(length=80), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["withdrawal_seq"],
            ["withdrawals.seq"],
            name=op.f("fk_chain_transactions_withdrawal_seq_withdrawals"),
        ),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_chain_transactions")),
        sa.UniqueConstraint("network", "from_address", "nonce", name="uq_chain_transactions_nonce"),
        sa.UniqueConstraint("tx_hash", name=op.f("uq_chain_transactions_tx_hash")),
        sa.UniqueConstraint("withdrawal_seq", name=op.f("uq_chain_transactions_withdrawal_seq")),
    )
    op.create_index(
        "ix_chain_transactions_open", "chain_transactions", ["network", "status", "seq"]
    )
    accounts = sa.table(
        "ledger_accounts",
        sa.column("code", sa.String),
        sa.column("kind", sa.String),
        sa.column("allow_negative", sa.Boolean),
        sa.column("balance", sa.BigInteger),
    )
    op.bulk_insert(
        accounts,
        [{"code": OPERATOR_FUNDS, "kind": "operator_funds", "allow_negative": False, "balance": 0}],
    )


def downgrade() -> None:
    op.execute(
        sa.text("DELETE FROM ledger_accounts WHERE code = :code").bindparams(code=OPERATOR_FUNDS)
    )
    op.drop_index("ix_chain_transactions_open", table_name="chain_transactions")
    op.drop_table("chain_transactions")
    op.drop_table("chain_cursors")
    op.execute(sa.text("DELETE FROM deposits WHERE customer_seq IS NULL"))
    with op.batch_alter_table("deposits", schema=None) as batch_op:
        batch_op.drop_index("ix_deposits_network_status")
        batch_op.drop_index("ix_deposits_transfer_log")
        for column in ("raw_amount", "address", "block_hash", "block_number", "log_index"):
            batch_op.drop_column(column)
        batch_op.drop_column("purpose")
        batch_op.alter_column("customer_seq", existing_type=SEQ, nullable=False)
