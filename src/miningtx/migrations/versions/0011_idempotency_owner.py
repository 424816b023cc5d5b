"""Idempotency-Key claims carry an owner token.

- idempotency_keys.owner: a random token written when a request claims a key or takes
  over a stale claim; storing the response and releasing the key both match on it, so
  a request whose claim was taken over can neither commit its effect nor delete the
  new owner's claim. Rows claimed before this revision keep NULL.

Revision ID: 0011_idempotency_owner
Revises: 0010_wallet_tiers
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011_idempotency_owner"
down_revision: str | None = "0010_wallet_tiers"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("idempotency_keys") as batch_op:
        batch_op.add_column(sa.Column("owner", sa.String(length=32), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("idempotency_keys") as batch_op:
        batch_op.drop_column("owner")
