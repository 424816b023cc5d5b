"""Operator accountability: the append-only audit log, four-eyes withdrawal approvals and
manual adjustments (maker-checker).

- audit_log: one row per operator action; triggers refuse UPDATE and DELETE (and, on
  PostgreSQL, TRUNCATE), so not even code that bypasses the service can edit it.
- withdrawal_approvals: one row per operator approval, unique per withdrawal and operator.
- adjustments: manual credits/debits, posted only once a different operator approves.
- platform:adjustments: the account that funds adjustment credits and takes their debits;
  the `adjustment` transfer kind and the `adjustments` account kind join their CHECKs.

Revision ID: 0008_audit
Revises: 0007
"""

from collections.abc import Sequence
from typing import Literal

import sqlalchemy as sa
from alembic import op

revision: str = "0008_audit"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SEQ = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
ADJUSTMENTS_ACCOUNT = "platform:adjustments"

#: The account and transfer kinds as of 0007, and what this revision adds (frozen here).
ACCOUNT_KINDS_0007 = (
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
ACCOUNT_KINDS = (*ACCOUNT_KINDS_0007[:11], "adjustments", *ACCOUNT_KINDS_0007[11:])
TRANSFER_KINDS_0007 = (
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
)
TRANSFER_KINDS = (*TRANSFER_KINDS_0007[:8], "adjustment", *TRANSFER_KINDS_0007[8:])

SQLITE_TRIGGERS = [
    f"""CREATE TRIGGER audit_log_no_{verb.lower()} BEFORE {verb} ON audit_log
    BEGIN SELECT RAISE(ABORT, 'audit_log is append-only: rows cannot be changed'); END"""
    for verb in ("UPDATE", "DELETE")
]
POSTGRES_TRIGGERS = [
    """CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        RAISE EXCEPTION 'audit_log is append-only: rows cannot be changed'
            USING ERRCODE = 'insufficient_privilege';
    END $$""",
    """CREATE TRIGGER audit_log_no_change BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_append_only()""",
    """CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only()""",
]


def _recreate() -> Literal["always", "never"]:
    return "always" if op.get_bind().dialect.name == "sqlite" else "never"


def _listed(values: Sequence[str]) -> str:
    return ", ".join(f"'{value}'" for value in values)


def _set_kinds(accounts: Sequence[str], transfers: Sequence[str]) -> None:
    for table, values in (("ledger_accounts", accounts), ("ledger_transfers", transfers)):
        with op.batch_alter_table(table, recreate=_recreate()) as batch_op:
            batch_op.drop_constraint(op.f(f"ck_{table}_kind"), type_="check")
            batch_op.create_check_constraint(
                op.f(f"ck_{table}_kind"), f"kind IN ({_listed(values)})"
            )


def upgrade() -> None:
    op.create_table(
        "audit_log",
        sa.Column("seq", SEQ, autoincrement=True, nullable=False),
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("operator_seq", SEQ, nullable=True),
        sa.Column("operator_email", sa.String(length=254), nullable=True),
        sa.Column("action", sa.String(length=64), nullable=False),
        sa.Column("target", sa.String(length=80), nullable=False),
        sa.Column("before", sa.JSON(), nullable=True),
        sa.Column("after", sa.JSON(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["operator_seq"], ["operators.seq"], name=op.f("fk_audit_log_operator_seq_operators")
        ),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_audit_log")),
        sa.UniqueConstraint("id", name=op.f("uq_audit_log_id")),
    )
    op.create_index("ix_audit_log_operator", "audit_log", ["operator_seq", "seq"])
    op.create_index("ix_audit_log_action", "audit_log", ["action", "seq"])
    op.create_index("ix_audit_log_target", "audit_log", ["target", "seq"])
    for statement in (
        SQLITE_TRIGGERS if op.get_bind().dialect.name == "sqlite" else POSTGRES_TRIGGERS
    ):
        op.execute(statement)

    op.create_table(
        "withdrawal_approvals",
        sa.Column("seq", SEQ, autoincrement=True, nullable=False),
        sa.Column("withdrawal_seq", SEQ, nullable=False),
        sa.Column("operator_seq", SEQ, nullable=False),
        sa.Column("approved_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["withdrawal_seq"],
            ["withdrawals.seq"],
            name=op.f("fk_withdrawal_approvals_withdrawal_seq_withdrawals"),
        ),
        sa.ForeignKeyConstraint(
            ["operator_seq"],
            ["operators.seq"],
            name=op.f("fk_withdrawal_approvals_operator_seq_operators"),
        ),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_withdrawal_approvals")),
        sa.UniqueConstraint(
            "withdrawal_seq", "operator_seq", name="uq_withdrawal_approvals_operator"
        ),
    )

    op.create_table(
        "adjustments",
        sa.Column("seq", SEQ, autoincrement=True, nullable=False),
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("customer_seq", SEQ, nullable=False),
        sa.Column("direction", sa.String(length=8), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("category", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.String(length=200), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("proposed_by_seq", SEQ, nullable=False),
        sa.Column("proposed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("decided_by_seq", SEQ, nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("rejection_reason", sa.String(length=200), nullable=True),
        sa.Column("transfer_seq", SEQ, nullable=True),
        sa.CheckConstraint("amount > 0", name=op.f("ck_adjustments_positive_amount")),
        sa.CheckConstraint(
            "decided_by_seq IS NULL OR status = 'rejected' OR decided_by_seq <> proposed_by_seq",
            name=op.f("ck_adjustments_four_eyes"),
        ),
        sa.CheckConstraint(
            "direction IN ('credit', 'debit')", name=op.f("ck_adjustments_direction")
        ),
        sa.CheckConstraint(
            "category IN ('goodwill', 'correction', 'chargeback', 'fee_refund')",
            name=op.f("ck_adjustments_category"),
        ),
        sa.CheckConstraint(
            "status IN ('proposed', 'approved', 'rejected')", name=op.f("ck_adjustments_status")
        ),
        sa.ForeignKeyConstraint(
            ["customer_seq"], ["customers.seq"], name=op.f("fk_adjustments_customer_seq_customers")
        ),
        sa.ForeignKeyConstraint(
            ["proposed_by_seq"],
            ["operators.seq"],
            name=op.f("fk_adjustments_proposed_by_seq_operators"),
        ),
        sa.ForeignKeyConstraint(
            ["decided_by_seq"],
            ["operators.seq"],
            name=op.f("fk_adjustments_decided_by_seq_operators"),
        ),
        sa.ForeignKeyConstraint(
            ["transfer_seq"],
            ["ledger_transfers.seq"],
            name=op.f("fk_adjustments_transfer_seq_ledger_transfers"),
        ),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_adjustments")),
        sa.UniqueConstraint("id", name=op.f("uq_adjustments_id")),
    )
    op.create_index("ix_adjustments_status", "adjustments", ["status", "seq"])
    op.create_index("ix_adjustments_customer", "adjustments", ["customer_seq", "seq"])

    _set_kinds(ACCOUNT_KINDS, TRANSFER_KINDS)
    accounts = sa.table(
        "ledger_accounts",
        sa.column("code", sa.String),
        sa.column("kind", sa.String),
        sa.column("allow_negative", sa.Boolean),
        sa.column("balance", sa.BigInteger),
    )
    op.bulk_insert(
        accounts,
        [
            {
                "code": ADJUSTMENTS_ACCOUNT,
                "kind": "adjustments",
                "allow_negative": False,
                "balance": 0,
            }
        ],
    )


def downgrade() -> None:
    # Deleting platform:adjustments is refused (a foreign key) once it has transfers.
    op.drop_index("ix_adjustments_customer", table_name="adjustments")
    op.drop_index("ix_adjustments_status", table_name="adjustments")
    op.drop_table("adjustments")
    op.execute(
        sa.text("DELETE FROM ledger_accounts WHERE code = :code").bindparams(
            code=ADJUSTMENTS_ACCOUNT
        )
    )
    _set_kinds(ACCOUNT_KINDS_0007, TRANSFER_KINDS_0007)
    op.drop_table("withdrawal_approvals")
    op.drop_index("ix_audit_log_target", table_name="audit_log")
    op.drop_index("ix_audit_log_action", table_name="audit_log")
    op.drop_index("ix_audit_log_operator", table_name="audit_log")
    op.drop_table("audit_log")  # its triggers go with it
    if op.get_bind().dialect.name != "sqlite":
        op.execute("DROP FUNCTION audit_log_append_only()")
