"""Custody tiers: cold sweeps, withdrawals waiting for hot-wallet funds, and the signer's
last look at each hot wallet.

- chain_transactions.kind accepts `cold_sweep` (the part of a sweep beyond the hot
  wallet's ceiling, sent straight to the cold address);
- withdrawals.waiting_since / waiting_reason: an approved withdrawal the hot wallet
  cannot cover yet (it stays `approved`);
- hot_wallet_observations: one row per network, rewritten by the signer every round.

Revision ID: 0010_wallet_tiers
Revises: 0007
"""

from collections.abc import Sequence
from typing import Literal

import sqlalchemy as sa
from alembic import op

revision: str = "0010_wallet_tiers"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

KINDS_BEFORE = ("payout", "gas", "sweep")
KINDS_AFTER = (*KINDS_BEFORE, "cold_sweep")


def _recreate() -> Literal["always", "never"]:
    """SQLite cannot ALTER a constraint: rebuild the table; PostgreSQL alters in place."""
    return "always" if op.get_bind().dialect.name == "sqlite" else "never"


def _kinds(values: tuple[str, ...]) -> None:
    listed = ", ".join(f"'{value}'" for value in values)
    with op.batch_alter_table("chain_transactions", recreate=_recreate()) as batch_op:
        batch_op.drop_constraint(op.f("ck_chain_transactions_kind"), type_="check")
        batch_op.create_check_constraint(op.f("ck_chain_transactions_kind"), f"kind IN ({listed})")


def upgrade() -> None:
    _kinds(KINDS_AFTER)
    with op.batch_alter_table("withdrawals") as batch_op:
        batch_op.add_column(sa.Column("waiting_since", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("waiting_reason", sa.String(length=200), nullable=True))
    op.create_table(
        "hot_wallet_observations",
        sa.Column("network", sa.String(length=16), nullable=False),
        sa.Column("usdt", sa.BigInteger(), nullable=False),
        sa.Column("native", sa.String(length=80), nullable=False),
        sa.Column("floor", sa.BigInteger(), nullable=True),
        sa.Column("ceiling", sa.BigInteger(), nullable=True),
        sa.Column("below_floor", sa.Boolean(), nullable=False),
        sa.Column("observed_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("network", name=op.f("pk_hot_wallet_observations")),
    )


def downgrade() -> None:
    op.drop_table("hot_wallet_observations")
    with op.batch_alter_table("withdrawals") as batch_op:
        batch_op.drop_column("waiting_reason")
        batch_op.drop_column("waiting_since")
    # 0007's CHECK knows no cold sweep: keep the record (its nonce) as a plain sweep.
    op.execute("UPDATE chain_transactions SET kind = 'sweep' WHERE kind = 'cold_sweep'")
    _kinds(KINDS_BEFORE)
