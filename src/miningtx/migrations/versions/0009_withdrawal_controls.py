"""Withdrawal controls: per-customer limit overrides, the saved-addresses-only mode and
the address book (issue 13, parts 3 and 5).

Revision ID: 0009
Revises: 0007
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008_audit"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SEQ = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "withdrawal_controls",
        sa.Column("customer_seq", SEQ, autoincrement=False, nullable=False),
        sa.Column("limit_24h", sa.BigInteger(), nullable=True),
        sa.Column("limit_30d", sa.BigInteger(), nullable=True),
        sa.Column("saved_addresses_only", sa.Boolean(), nullable=False),
        sa.Column("saved_addresses_only_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "limit_24h IS NULL OR limit_24h >= 0",
            name=op.f("ck_withdrawal_controls_limit_24h_not_negative"),
        ),
        sa.CheckConstraint(
            "limit_30d IS NULL OR limit_30d >= 0",
            name=op.f("ck_withdrawal_controls_limit_30d_not_negative"),
        ),
        sa.ForeignKeyConstraint(
            ["customer_seq"],
            ["customers.seq"],
            name=op.f("fk_withdrawal_controls_customer_seq_customers"),
        ),
        sa.PrimaryKeyConstraint("customer_seq", name=op.f("pk_withdrawal_controls")),
    )
    op.create_table(
        "withdrawal_addresses",
        sa.Column("seq", SEQ, autoincrement=True, nullable=False),
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("customer_seq", SEQ, nullable=False),
        sa.Column("network", sa.String(length=16), nullable=False),
        sa.Column("address", sa.String(length=42), nullable=False),
        sa.Column("label", sa.String(length=64), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("usable_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["customer_seq"],
            ["customers.seq"],
            name=op.f("fk_withdrawal_addresses_customer_seq_customers"),
        ),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_withdrawal_addresses")),
        sa.UniqueConstraint("id", name=op.f("uq_withdrawal_addresses_id")),
    )
    op.create_index(
        "ix_withdrawal_addresses_destination",
        "withdrawal_addresses",
        ["customer_seq", "network", "address"],
        unique=True,
    )


def downgrade() -> None:
    op.drop_index("ix_withdrawal_addresses_destination", table_name="withdrawal_addresses")
    op.drop_table("withdrawal_addresses")
    op.drop_table("withdrawal_controls")
