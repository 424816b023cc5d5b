"""Initial schema: customers, keys, ledger, mining, deposits, idempotency; seeds the catalog.

Revision ID: 0001
Revises:
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "customers",
        sa.Column(
            "seq",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("username", sa.String(length=32), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.Column("referral_code", sa.String(length=24), nullable=False),
        sa.Column(
            "referred_by_seq", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
        sa.Column("kyc_status", sa.String(length=16), nullable=False),
        sa.Column("kyc_bonus_credited", sa.Boolean(), nullable=False),
        sa.Column("kyc_details", sa.JSON(), nullable=True),
        sa.Column("total_rewards", sa.BigInteger(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["referred_by_seq"],
            ["customers.seq"],
            name=op.f("fk_customers_referred_by_seq_customers"),
        ),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_customers")),
        sa.UniqueConstraint("email", name=op.f("uq_customers_email")),
        sa.UniqueConstraint("id", name=op.f("uq_customers_id")),
        sa.UniqueConstraint("referral_code", name=op.f("uq_customers_referral_code")),
        sa.UniqueConstraint("username", name=op.f("uq_customers_username")),
    )
    op.create_table(
        "fleet",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("capacity_mths", sa.BigInteger(), nullable=False),
        sa.Column("sold_mths", sa.BigInteger(), nullable=False),
        sa.CheckConstraint("sold_mths <= capacity_mths", name=op.f("ck_fleet_fits")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_fleet")),
    )
    op.create_table(
        "mining_contracts",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("price", sa.BigInteger(), nullable=False),
        sa.Column("hash_mths", sa.BigInteger(), nullable=False),
        sa.Column("daily_reward", sa.BigInteger(), nullable=False),
        sa.Column("duration_days", sa.Integer(), nullable=False),
        sa.Column("on_sale", sa.Boolean(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.CheckConstraint("duration_days > 0", name=op.f("ck_mining_contracts_positive_duration")),
        sa.CheckConstraint(
            "price > 0 AND daily_reward > 0 AND hash_mths > 0",
            name=op.f("ck_mining_contracts_positive"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mining_contracts")),
    )
    op.create_table(
        "api_keys",
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
        sa.Column("key_hash", sa.String(length=64), nullable=False),
        sa.Column("display_prefix", sa.String(length=24), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["customer_seq"], ["customers.seq"], name=op.f("fk_api_keys_customer_seq_customers")
        ),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_api_keys")),
        sa.UniqueConstraint("id", name=op.f("uq_api_keys_id")),
        sa.UniqueConstraint("key_hash", name=op.f("uq_api_keys_key_hash")),
    )
    with op.batch_alter_table("api_keys", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_api_keys_customer_seq"), ["customer_seq"], unique=False
        )

    op.create_table(
        "contract_activations",
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
        sa.Column("contract_id", sa.String(length=32), nullable=False),
        sa.Column("contract_name", sa.String(length=64), nullable=False),
        sa.Column("price", sa.BigInteger(), nullable=False),
        sa.Column("hash_mths", sa.BigInteger(), nullable=False),
        sa.Column("daily_reward", sa.BigInteger(), nullable=False),
        sa.Column("duration_days", sa.Integer(), nullable=False),
        sa.Column("rewards_paid", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("activated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expired_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "rewards_paid <= duration_days", name=op.f("ck_contract_activations_bounded_rewards")
        ),
        sa.ForeignKeyConstraint(
            ["contract_id"],
            ["mining_contracts.id"],
            name=op.f("fk_contract_activations_contract_id_mining_contracts"),
        ),
        sa.ForeignKeyConstraint(
            ["customer_seq"],
            ["customers.seq"],
            name=op.f("fk_contract_activations_customer_seq_customers"),
        ),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_contract_activations")),
        sa.UniqueConstraint("id", name=op.f("uq_contract_activations_id")),
    )
    with op.batch_alter_table("contract_activations", schema=None) as batch_op:
        batch_op.create_index(
            "ix_contract_activations_customer", ["customer_seq", "seq"], unique=False
        )
        batch_op.create_index(
            "ix_contract_activations_customer_status",
            ["customer_seq", "status", "seq"],
            unique=False,
        )

    op.create_table(
        "idempotency_keys",
        sa.Column(
            "seq",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column(
            "customer_seq", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("key", sa.String(length=255), nullable=False),
        sa.Column("request_hash", sa.String(length=64), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("response_status", sa.Integer(), nullable=True),
        sa.Column("response_body", sa.Text(), nullable=True),
        sa.Column("locked_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["customer_seq"],
            ["customers.seq"],
            name=op.f("fk_idempotency_keys_customer_seq_customers"),
        ),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_idempotency_keys")),
        sa.UniqueConstraint("customer_seq", "key", name="uq_idempotency_keys_customer_key"),
    )
    with op.batch_alter_table("idempotency_keys", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_idempotency_keys_created_at"), ["created_at"], unique=False
        )

    op.create_table(
        "ledger_accounts",
        sa.Column(
            "seq",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column(
            "customer_seq", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
        sa.Column("allow_negative", sa.Boolean(), nullable=False),
        sa.Column("balance", sa.BigInteger(), nullable=False),
        sa.CheckConstraint(
            "allow_negative OR balance >= 0", name=op.f("ck_ledger_accounts_no_overdraft")
        ),
        sa.ForeignKeyConstraint(
            ["customer_seq"],
            ["customers.seq"],
            name=op.f("fk_ledger_accounts_customer_seq_customers"),
        ),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_ledger_accounts")),
        sa.UniqueConstraint("code", name=op.f("uq_ledger_accounts_code")),
    )
    with op.batch_alter_table("ledger_accounts", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_ledger_accounts_customer_seq"), ["customer_seq"], unique=False
        )

    op.create_table(
        "ledger_transfers",
        sa.Column(
            "seq",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("idempotency_key", sa.String(length=160), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column(
            "debit_account_seq",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            nullable=False,
        ),
        sa.Column(
            "credit_account_seq",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            nullable=False,
        ),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column(
            "customer_seq", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
        sa.Column("direction", sa.String(length=8), nullable=True),
        sa.Column("reference", sa.String(length=64), nullable=True),
        sa.Column("value_date", sa.Date(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("amount > 0", name=op.f("ck_ledger_transfers_positive_amount")),
        sa.CheckConstraint(
            "debit_account_seq <> credit_account_seq",
            name=op.f("ck_ledger_transfers_distinct_accounts"),
        ),
        sa.ForeignKeyConstraint(
            ["credit_account_seq"],
            ["ledger_accounts.seq"],
            name=op.f("fk_ledger_transfers_credit_account_seq_ledger_accounts"),
        ),
        sa.ForeignKeyConstraint(
            ["debit_account_seq"],
            ["ledger_accounts.seq"],
            name=op.f("fk_ledger_transfers_debit_account_seq_ledger_accounts"),
        ),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_ledger_transfers")),
        sa.UniqueConstraint("id", name=op.f("uq_ledger_transfers_id")),
        sa.UniqueConstraint("idempotency_key", name=op.f("uq_ledger_transfers_idempotency_key")),
    )
    with op.batch_alter_table("ledger_transfers", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_ledger_transfers_credit_account_seq"),
            ["credit_account_seq"],
            unique=False,
        )
        batch_op.create_index("ix_ledger_transfers_customer", ["customer_seq", "seq"], unique=False)
        batch_op.create_index(
            "ix_ledger_transfers_customer_kind", ["customer_seq", "kind", "seq"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_ledger_transfers_debit_account_seq"), ["debit_account_seq"], unique=False
        )

    op.create_table(
        "deposits",
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
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("tx_hash", sa.String(length=80), nullable=True),
        sa.Column("confirmations", sa.Integer(), nullable=False),
        sa.Column(
            "transfer_seq", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("credited_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["customer_seq"], ["customers.seq"], name=op.f("fk_deposits_customer_seq_customers")
        ),
        sa.ForeignKeyConstraint(
            ["transfer_seq"],
            ["ledger_transfers.seq"],
            name=op.f("fk_deposits_transfer_seq_ledger_transfers"),
        ),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_deposits")),
        sa.UniqueConstraint("id", name=op.f("uq_deposits_id")),
    )
    with op.batch_alter_table("deposits", schema=None) as batch_op:
        batch_op.create_index("ix_deposits_customer", ["customer_seq", "seq"], unique=False)

    op.create_table(
        "mining_rewards",
        sa.Column(
            "seq",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column(
            "activation_seq", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column(
            "customer_seq", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column(
            "transfer_seq", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
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

    _seed()


PLATFORM_ACCOUNTS = (
    "platform:sales",
    "platform:reward_pool",
    "platform:reward_reserved",
    "platform:staking_pool",
    "platform:staking_reserved",
    "platform:bonus",
    "platform:partners",
    "platform:fees",
    "platform:pending_withdrawals",
    "platform:treasury:bsc",
    "platform:treasury:polygon",
)

# The documented catalog; money in micro-USDT, hash rate in milli-TH/s.
CATALOG = (
    ("starter", "Starter Miner", 200_000000, 2_800, 6_670000, 365, 1),
    ("ultra", "Ultra Miner", 2600_000000, 36_400, 130_000000, 365, 2),
    ("quantum", "Quantum Miner", 7000_000000, 98_000, 437_500000, 365, 3),
)


def _seed() -> None:
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
                "code": code,
                "kind": code.removeprefix("platform:").split(":")[0],
                "allow_negative": code.startswith("platform:treasury:"),
                "balance": 0,
            }
            for code in PLATFORM_ACCOUNTS
        ],
    )
    contracts = sa.table(
        "mining_contracts",
        sa.column("id", sa.String),
        sa.column("name", sa.String),
        sa.column("price", sa.BigInteger),
        sa.column("hash_mths", sa.BigInteger),
        sa.column("daily_reward", sa.BigInteger),
        sa.column("duration_days", sa.Integer),
        sa.column("on_sale", sa.Boolean),
        sa.column("position", sa.Integer),
    )
    op.bulk_insert(
        contracts,
        [
            dict(
                zip(
                    (
                        "id",
                        "name",
                        "price",
                        "hash_mths",
                        "daily_reward",
                        "duration_days",
                        "position",
                    ),
                    row,
                    strict=True,
                ),
                on_sale=True,
            )
            for row in CATALOG
        ],
    )
    fleet = sa.table(
        "fleet",
        sa.column("id", sa.Integer),
        sa.column("capacity_mths", sa.BigInteger),
        sa.column("sold_mths", sa.BigInteger),
    )
    op.bulk_insert(fleet, [{"id": 1, "capacity_mths": 0, "sold_mths": 0}])


def downgrade() -> None:
    with op.batch_alter_table("mining_rewards", schema=None) as batch_op:
        batch_op.drop_index("ix_mining_rewards_customer")

    op.drop_table("mining_rewards")
    with op.batch_alter_table("deposits", schema=None) as batch_op:
        batch_op.drop_index("ix_deposits_customer")

    op.drop_table("deposits")
    with op.batch_alter_table("ledger_transfers", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_ledger_transfers_debit_account_seq"))
        batch_op.drop_index("ix_ledger_transfers_customer_kind")
        batch_op.drop_index("ix_ledger_transfers_customer")
        batch_op.drop_index(batch_op.f("ix_ledger_transfers_credit_account_seq"))

    op.drop_table("ledger_transfers")
    with op.batch_alter_table("ledger_accounts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_ledger_accounts_customer_seq"))

    op.drop_table("ledger_accounts")
    with op.batch_alter_table("idempotency_keys", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_idempotency_keys_created_at"))

    op.drop_table("idempotency_keys")
    with op.batch_alter_table("contract_activations", schema=None) as batch_op:
        batch_op.drop_index("ix_contract_activations_customer_status")
        batch_op.drop_index("ix_contract_activations_customer")

    op.drop_table("contract_activations")
    with op.batch_alter_table("api_keys", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_api_keys_customer_seq"))

    op.drop_table("api_keys")
    op.drop_table("mining_contracts")
    op.drop_table("fleet")
    op.drop_table("customers")
