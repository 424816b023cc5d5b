"""Staking, withdrawals, deposit addresses, KYC review; seeds the staking plans.

Revision ID: 0002
Revises: 0001
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "staking_plans",
        sa.Column("days", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("roi_e4", sa.BigInteger(), nullable=False),
        sa.CheckConstraint("days > 0 AND roi_e4 >= 0", name=op.f("ck_staking_plans_sane")),
        sa.PrimaryKeyConstraint("days", name=op.f("pk_staking_plans")),
    )
    op.create_table(
        "staking_terms",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("min_amount", sa.BigInteger(), nullable=False),
        sa.Column("max_amount", sa.BigInteger(), nullable=False),
        sa.CheckConstraint(
            "min_amount > 0 AND min_amount <= max_amount", name=op.f("ck_staking_terms_limits")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_staking_terms")),
    )
    op.create_table(
        "deposit_addresses",
        sa.Column(
            "customer_seq",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=False,
            nullable=False,
        ),
        sa.Column("derivation_index", sa.BigInteger(), nullable=False),
        sa.Column("address", sa.String(length=42), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["customer_seq"],
            ["customers.seq"],
            name=op.f("fk_deposit_addresses_customer_seq_customers"),
        ),
        sa.PrimaryKeyConstraint("customer_seq", name=op.f("pk_deposit_addresses")),
        sa.UniqueConstraint("address", name=op.f("uq_deposit_addresses_address")),
        sa.UniqueConstraint("derivation_index", name=op.f("uq_deposit_addresses_derivation_index")),
    )
    op.create_table(
        "withdrawals",
        sa.Column(
            "seq",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column(
            "customer_seq", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("network", sa.String(length=16), nullable=False),
        sa.Column("address", sa.String(length=42), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("fee", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("broadcast_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("processed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("tx_hash", sa.String(length=80), nullable=True),
        sa.Column("failure_reason", sa.String(length=200), nullable=True),
        sa.CheckConstraint(
            "amount > fee AND fee >= 0", name=op.f("ck_withdrawals_fee_below_amount")
        ),
        sa.ForeignKeyConstraint(
            ["customer_seq"], ["customers.seq"], name=op.f("fk_withdrawals_customer_seq_customers")
        ),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_withdrawals")),
        sa.UniqueConstraint("id", name=op.f("uq_withdrawals_id")),
    )
    with op.batch_alter_table("withdrawals", schema=None) as batch_op:
        batch_op.create_index("ix_withdrawals_customer", ["customer_seq", "seq"], unique=False)
        batch_op.create_index(
            "ix_withdrawals_customer_status", ["customer_seq", "status", "seq"], unique=False
        )
        batch_op.create_index("ix_withdrawals_status", ["status", "seq"], unique=False)

    op.create_table(
        "stakes",
        sa.Column(
            "seq",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column(
            "customer_seq", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("days", sa.Integer(), nullable=False),
        sa.Column("roi_e4", sa.BigInteger(), nullable=False),
        sa.Column("payout", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("start_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("end_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("completed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "payout_transfer_seq",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            nullable=True,
        ),
        sa.CheckConstraint(
            "amount > 0 AND payout >= amount", name=op.f("ck_stakes_payout_covers_amount")
        ),
        sa.ForeignKeyConstraint(
            ["customer_seq"], ["customers.seq"], name=op.f("fk_stakes_customer_seq_customers")
        ),
        sa.ForeignKeyConstraint(
            ["payout_transfer_seq"],
            ["ledger_transfers.seq"],
            name=op.f("fk_stakes_payout_transfer_seq_ledger_transfers"),
        ),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_stakes")),
        sa.UniqueConstraint("id", name=op.f("uq_stakes_id")),
    )
    with op.batch_alter_table("stakes", schema=None) as batch_op:
        batch_op.create_index("ix_stakes_customer", ["customer_seq", "seq"], unique=False)
        batch_op.create_index(
            "ix_stakes_customer_status", ["customer_seq", "status", "seq"], unique=False
        )
        batch_op.create_index("ix_stakes_status_end", ["status", "end_time"], unique=False)

    with op.batch_alter_table("customers", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("kyc_submitted_at", sa.DateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(sa.Column("kyc_reviewed_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("kyc_rejection_reason", sa.String(length=200), nullable=True))
        batch_op.create_index("ix_customers_referred_by", ["referred_by_seq"], unique=False)
        batch_op.create_check_constraint(
            "no_self_referral", "referred_by_seq IS NULL OR referred_by_seq <> seq"
        )
    _seed()


# The documented staking terms: ROI in units of 0.0001 percent, money in micro-USDT.
PLANS = ((30, 60_0000), (180, 420_0000), (365, 1000_0000))
MIN_AMOUNT, MAX_AMOUNT = 100_000000, 50_000_000000


def _seed() -> None:
    op.bulk_insert(
        sa.table(
            "ledger_accounts",
            *(sa.column(c) for c in ("code", "kind", "allow_negative", "balance")),
        ),
        [
            {
                "code": "platform:stakes_locked",
                "kind": "stakes_locked",
                "allow_negative": False,
                "balance": 0,
            }
        ],
    )
    op.bulk_insert(
        sa.table(
            "staking_terms", sa.column("id"), sa.column("min_amount"), sa.column("max_amount")
        ),
        [{"id": 1, "min_amount": MIN_AMOUNT, "max_amount": MAX_AMOUNT}],
    )
    op.bulk_insert(
        sa.table("staking_plans", sa.column("days"), sa.column("roi_e4")),
        [{"days": days, "roi_e4": roi} for days, roi in PLANS],
    )


def downgrade() -> None:
    op.execute("DELETE FROM ledger_accounts WHERE code = 'platform:stakes_locked'")
    with op.batch_alter_table("customers", schema=None) as batch_op:
        batch_op.drop_constraint("no_self_referral", type_="check")
        batch_op.drop_index("ix_customers_referred_by")
        batch_op.drop_column("kyc_rejection_reason")
        batch_op.drop_column("kyc_reviewed_at")
        batch_op.drop_column("kyc_submitted_at")

    with op.batch_alter_table("stakes", schema=None) as batch_op:
        batch_op.drop_index("ix_stakes_status_end")
        batch_op.drop_index("ix_stakes_customer_status")
        batch_op.drop_index("ix_stakes_customer")

    op.drop_table("stakes")
    with op.batch_alter_table("withdrawals", schema=None) as batch_op:
        batch_op.drop_index("ix_withdrawals_status")
        batch_op.drop_index("ix_withdrawals_customer_status")
        batch_op.drop_index("ix_withdrawals_customer")

    op.drop_table("withdrawals")
    op.drop_table("deposit_addresses")
    op.drop_table("staking_terms")
    op.drop_table("staking_plans")
