"""Deployment clock, reward schedule, events outbox, webhook endpoints and deliveries.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23 23:07:27.310085
"""

from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

from miningtx.config import get_settings
from miningtx.kit.clock import ONE_DAY, first_reward_day

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "clock",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("offset_seconds", sa.BigInteger(), nullable=False),
        sa.CheckConstraint("offset_seconds >= 0", name=op.f("ck_clock_forward_only")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_clock")),
    )
    op.create_table(
        "events",
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
        sa.Column("type", sa.String(length=40), nullable=False),
        sa.Column("source_key", sa.String(length=160), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["customer_seq"], ["customers.seq"], name=op.f("fk_events_customer_seq_customers")
        ),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_events")),
        sa.UniqueConstraint("id", name=op.f("uq_events_id")),
        sa.UniqueConstraint("source_key", name=op.f("uq_events_source_key")),
    )
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.create_index("ix_events_customer", ["customer_seq", "seq"], unique=False)
        batch_op.create_index(
            "ix_events_customer_type", ["customer_seq", "type", "seq"], unique=False
        )

    op.create_table(
        "webhook_endpoints",
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
        sa.Column("url", sa.String(length=2048), nullable=False),
        sa.Column("secret", sa.String(length=80), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("disabled_reason", sa.String(length=200), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["customer_seq"],
            ["customers.seq"],
            name=op.f("fk_webhook_endpoints_customer_seq_customers"),
        ),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_webhook_endpoints")),
        sa.UniqueConstraint("id", name=op.f("uq_webhook_endpoints_id")),
    )
    with op.batch_alter_table("webhook_endpoints", schema=None) as batch_op:
        batch_op.create_index(
            "ix_webhook_endpoints_customer", ["customer_seq", "seq"], unique=False
        )

    op.create_table(
        "webhook_deliveries",
        sa.Column(
            "seq",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column(
            "endpoint_seq", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column(
            "event_seq", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_status_code", sa.Integer(), nullable=True),
        sa.Column("last_error", sa.String(length=200), nullable=True),
        sa.ForeignKeyConstraint(
            ["endpoint_seq"],
            ["webhook_endpoints.seq"],
            name=op.f("fk_webhook_deliveries_endpoint_seq_webhook_endpoints"),
        ),
        sa.ForeignKeyConstraint(
            ["event_seq"], ["events.seq"], name=op.f("fk_webhook_deliveries_event_seq_events")
        ),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_webhook_deliveries")),
        sa.UniqueConstraint(
            "endpoint_seq", "event_seq", name="uq_webhook_deliveries_endpoint_event"
        ),
    )
    with op.batch_alter_table("webhook_deliveries", schema=None) as batch_op:
        batch_op.create_index(
            "ix_webhook_deliveries_due", ["status", "next_attempt_at"], unique=False
        )
        batch_op.create_index("ix_webhook_deliveries_event", ["event_seq"], unique=False)

    op.create_table(
        "webhook_subscriptions",
        sa.Column(
            "endpoint_seq", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("event_type", sa.String(length=40), nullable=False),
        sa.ForeignKeyConstraint(
            ["endpoint_seq"],
            ["webhook_endpoints.seq"],
            name=op.f("fk_webhook_subscriptions_endpoint_seq_webhook_endpoints"),
        ),
        sa.PrimaryKeyConstraint(
            "endpoint_seq", "event_type", name=op.f("pk_webhook_subscriptions")
        ),
    )
    op.create_table(
        "webhook_attempts",
        sa.Column(
            "seq",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column(
            "delivery_seq", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("attempted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=True),
        sa.Column("latency_ms", sa.Integer(), nullable=False),
        sa.Column("error", sa.String(length=200), nullable=True),
        sa.ForeignKeyConstraint(
            ["delivery_seq"],
            ["webhook_deliveries.seq"],
            name=op.f("fk_webhook_attempts_delivery_seq_webhook_deliveries"),
        ),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_webhook_attempts")),
    )
    with op.batch_alter_table("webhook_attempts", schema=None) as batch_op:
        batch_op.create_index("ix_webhook_attempts_delivery", ["delivery_seq", "seq"], unique=False)

    op.bulk_insert(
        sa.table(
            "clock", sa.column("id", sa.Integer()), sa.column("offset_seconds", sa.BigInteger())
        ),
        [{"id": 1, "offset_seconds": 0}],
    )
    with op.batch_alter_table("contract_activations", schema=None) as batch_op:
        batch_op.add_column(sa.Column("next_reward_on", sa.Date(), nullable=True))
    _schedule_existing_activations()
    with op.batch_alter_table("contract_activations", schema=None) as batch_op:
        batch_op.alter_column("next_reward_on", existing_type=sa.Date(), nullable=False)
        batch_op.create_index("ix_contract_activations_due", ["status", "seq"], unique=False)
    op.create_table(
        "accrual_state",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("paid_through", sa.Date(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_accrual_state")),
    )
    op.bulk_insert(
        sa.table("accrual_state", sa.column("id", sa.Integer())),
        [{"id": 1}],
    )
    if op.get_bind().dialect.name == "postgresql":
        # The accrual updates these rows daily in columns no index covers; free space on
        # each page lets PostgreSQL make those HOT updates (no index entries rewritten).
        for table in ("customers", "ledger_accounts", "contract_activations"):
            op.execute(f"ALTER TABLE {table} SET (fillfactor = 80)")


def _schedule_existing_activations() -> None:
    """Give activations made before this revision their next reward day (by the configured cut-off)."""
    cutoff = get_settings().daily_cutoff
    bind = op.get_bind()
    activations = sa.table(
        "contract_activations",
        sa.column("seq", sa.Integer()),
        sa.column("activated_at", sa.DateTime(timezone=True)),
        sa.column("rewards_paid", sa.Integer()),
        sa.column("next_reward_on", sa.Date()),
    )
    rows = bind.execute(
        sa.select(activations.c.seq, activations.c.activated_at, activations.c.rewards_paid)
    ).all()
    for seq, stored_at, rewards_paid in rows:
        activated_at = (
            datetime.fromisoformat(stored_at) if isinstance(stored_at, str) else stored_at
        )
        if activated_at.tzinfo is None:
            activated_at = activated_at.replace(tzinfo=UTC)
        day = first_reward_day(activated_at, cutoff) + rewards_paid * ONE_DAY
        bind.execute(
            activations.update().where(activations.c.seq == seq).values(next_reward_on=day)
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for table in ("customers", "ledger_accounts", "contract_activations"):
            op.execute(f"ALTER TABLE {table} RESET (fillfactor)")
    op.drop_table("accrual_state")
    with op.batch_alter_table("contract_activations", schema=None) as batch_op:
        batch_op.drop_index("ix_contract_activations_due")
        batch_op.drop_column("next_reward_on")

    with op.batch_alter_table("webhook_attempts", schema=None) as batch_op:
        batch_op.drop_index("ix_webhook_attempts_delivery")

    op.drop_table("webhook_attempts")
    op.drop_table("webhook_subscriptions")
    with op.batch_alter_table("webhook_deliveries", schema=None) as batch_op:
        batch_op.drop_index("ix_webhook_deliveries_event")
        batch_op.drop_index("ix_webhook_deliveries_due")

    op.drop_table("webhook_deliveries")
    with op.batch_alter_table("webhook_endpoints", schema=None) as batch_op:
        batch_op.drop_index("ix_webhook_endpoints_customer")

    op.drop_table("webhook_endpoints")
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.drop_index("ix_events_customer_type")
        batch_op.drop_index("ix_events_customer")

    op.drop_table("events")
    op.drop_table("clock")
