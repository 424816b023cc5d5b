"""Rewards live in the ledger only: drop mining_rewards.

Each daily reward is one ledger transfer of kind `reward` whose unique idempotency key
`<ct>:reward:<day>` already refuses a second credit, whose `reference` names the
contract and whose `value_date` is the reward's day. The separate `mining_rewards`
row repeated all of that and cost the daily accrual a third of its time.

Revision ID: 0004
Revises: 0003
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SEQ = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    with op.batch_alter_table("mining_rewards", schema=None) as batch_op:
        batch_op.drop_index("ix_mining_rewards_customer")
    op.drop_table("mining_rewards")


def downgrade() -> None:
    op.create_table(
        "mining_rewards",
        sa.Column("seq", SEQ, autoincrement=True, nullable=False),
        sa.Column("activation_seq", SEQ, nullable=False),
        sa.Column("customer_seq", SEQ, nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("transfer_seq", SEQ, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["activation_seq"],
            ["contract_activations.seq"],
            name=op.f("fk_mining_rewards_activation_seq_contract_activations"),
        ),
        sa.ForeignKeyConstraint(
            ["customer_seq"],
            ["customers.seq"],
            name=op.f("fk_mining_rewards_customer_seq_customers"),
        ),
        sa.ForeignKeyConstraint(
            ["transfer_seq"],
            ["ledger_transfers.seq"],
            name=op.f("fk_mining_rewards_transfer_seq_ledger_transfers"),
        ),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_mining_rewards")),
        sa.UniqueConstraint("activation_seq", "day", name="uq_mining_rewards_activation_day"),
    )
    with op.batch_alter_table("mining_rewards", schema=None) as batch_op:
        batch_op.create_index("ix_mining_rewards_customer", ["customer_seq", "seq"], unique=False)
    # Rebuild the rows from the ledger, which holds every reward.
    op.execute(
        "INSERT INTO mining_rewards (activation_seq, customer_seq, day, amount, transfer_seq, created_at) "
        "SELECT a.seq, t.customer_seq, t.value_date, t.amount, t.seq, t.created_at "
        "FROM ledger_transfers t JOIN contract_activations a ON a.id = t.reference "
        "WHERE t.kind = 'reward' ORDER BY t.seq"
    )
