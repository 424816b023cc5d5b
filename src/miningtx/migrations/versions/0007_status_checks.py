"""Statuses as types: a CHECK constraint on every status and kind column.

Each column accepts only the values of its `StrEnum` in `miningtx.models`; the
constraints are named `ck_<table>_<column>` as the models declare them. operators.role
and web_sessions.principal_kind have had theirs since 0006.

The values are frozen here rather than read from the enums: a migration must build the
same schema whatever the code becomes, so a new member needs a new migration (the
status-constraint test compares the database's CHECKs with the enums and says so).

On SQLite a constraint can only be added by rebuilding the table (batch mode, which
keeps its indexes, unique and foreign keys and named CHECKs); PostgreSQL alters in place.

Revision ID: 0007
Revises: 0006
"""

from collections.abc import Sequence
from typing import Literal

from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

#: table -> column -> the values it may hold, as of this revision.
ALLOWED: dict[str, dict[str, tuple[str, ...]]] = {
    "customers": {"kyc_status": ("unverified", "pending", "verified", "rejected")},
    "ledger_accounts": {
        "kind": (
            "sales",
            "reward_pool",
            "reward_reserved",
            "staking_pool",
            "staking_reserved",
            "stakes_locked",
            "bonus",
            "partners",
            "fees",
            "pending_withdrawals",
            "operator_funds",
            "treasury",
            "customer_available",
        )
    },
    "ledger_transfers": {
        "kind": (
            "deposit",
            "withdrawal",
            "reward",
            "contract",
            "stake",
            "stake_payout",
            "bonus",
            "partner_reward",
            "reward_reservation",
            "stake_reservation",
            "stake_release",
            "withdrawal_settlement",
            "withdrawal_fee",
            "operator_funding",
            "pool_funding",
        ),
        # NULL (no customer's balance touched) passes: a CHECK refuses only what is false.
        "direction": ("credit", "debit"),
    },
    "idempotency_keys": {"state": ("in_flight", "done")},
    "contract_activations": {"status": ("active", "expired")},
    "stakes": {"status": ("active", "completed")},
    "deposits": {
        "status": ("pending", "confirmed", "below_minimum"),
        "purpose": ("customer", "funding"),
    },
    "withdrawals": {
        "status": (
            "pending",
            "approved",
            "broadcast",
            "processed",
            "rejected",
            "cancelled",
            "failed",
        )
    },
    "chain_transactions": {
        "kind": ("payout", "gas", "sweep"),
        "status": ("signed", "confirmed", "reverted"),
    },
    "webhook_endpoints": {"status": ("enabled", "disabled", "deleted")},
    "webhook_deliveries": {"status": ("pending", "delivered", "failed", "cancelled")},
}


def _recreate() -> Literal["always", "never"]:
    """SQLite cannot ALTER a constraint in: rebuild the table; PostgreSQL alters in place."""
    return "always" if op.get_bind().dialect.name == "sqlite" else "never"


def upgrade() -> None:
    for table, columns in ALLOWED.items():
        with op.batch_alter_table(table, recreate=_recreate()) as batch_op:
            for column, values in columns.items():
                listed = ", ".join(f"'{value}'" for value in values)
                batch_op.create_check_constraint(
                    op.f(f"ck_{table}_{column}"), f"{column} IN ({listed})"
                )


def downgrade() -> None:
    for table, columns in reversed(ALLOWED.items()):
        with op.batch_alter_table(table, recreate=_recreate()) as batch_op:
            for column in reversed(columns):
                batch_op.drop_constraint(op.f(f"ck_{table}_{column}"), type_="check")
