"""Dashboard and console accounts: customer credentials, operators, server-side web sessions.

Revision ID: 0006
Revises: 0005
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SEQ = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "customer_credentials",
        sa.Column("customer_seq", SEQ, autoincrement=False, nullable=False),
        sa.Column("password_hash", sa.String(length=255), nullable=False),
        sa.Column("totp_secret", sa.String(length=64), nullable=True),
        sa.Column("totp_last_step", sa.BigInteger(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["customer_seq"],
            ["customers.seq"],
            name=op.f("fk_customer_credentials_customer_seq_customers"),
        ),
        sa.PrimaryKeyConstraint("customer_seq", name=op.f("pk_customer_credentials")),
    )
    op.create_table(
        "operators",
        sa.Column("seq", SEQ, autoincrement=True, nullable=False),
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("password_hash", sa.String(length=255), nullable=False),
        sa.Column("totp_secret", sa.String(length=64), nullable=True),
        sa.Column("totp_last_step", sa.BigInteger(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("disabled_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("role IN ('admin', 'reviewer')", name=op.f("ck_operators_role")),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_operators")),
        sa.UniqueConstraint("email", name=op.f("uq_operators_email")),
        sa.UniqueConstraint("id", name=op.f("uq_operators_id")),
    )
    op.create_table(
        "web_sessions",
        sa.Column("seq", SEQ, autoincrement=True, nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("principal_kind", sa.String(length=16), nullable=False),
        sa.Column("principal_seq", SEQ, nullable=False),
        sa.Column("csrf_token", sa.String(length=64), nullable=False),
        sa.Column("awaiting_totp", sa.Boolean(), nullable=False),
        sa.Column("totp_passed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("pending_totp_secret", sa.String(length=64), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "principal_kind IN ('customer', 'operator')",
            name=op.f("ck_web_sessions_principal_kind"),
        ),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_web_sessions")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_web_sessions_token_hash")),
    )
    op.create_index(
        "ix_web_sessions_principal", "web_sessions", ["principal_kind", "principal_seq"]
    )
    op.create_index("ix_web_sessions_expires_at", "web_sessions", ["expires_at"])


def downgrade() -> None:
    op.drop_index("ix_web_sessions_expires_at", table_name="web_sessions")
    op.drop_index("ix_web_sessions_principal", table_name="web_sessions")
    op.drop_table("web_sessions")
    op.drop_table("operators")
    op.drop_table("customer_credentials")
