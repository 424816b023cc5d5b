"""Representative rows for each migration revision, written through the tables as they
stand at that revision (reflected, never the models, which describe head).

One function per revision fills the tables it creates and the columns it adds with a
few realistic rows: customers with their accounts and keys, a funded ledger, deposits,
contracts and rewards, withdrawals, stakes, webhooks, operators, audit entries. Each can
run again after its revision's round trip (ids and keys are unique per call).
"""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import MetaData, insert, select, update
from sqlalchemy.engine import Connection

from miningtx.config import get_settings
from miningtx.kit.clock import ONE_DAY, first_reward_day

Row = dict[str, Any]

#: Wall-clock instants of the seeded story (UTC), fixed so every run writes the same rows.
T0 = datetime(2026, 11, 2, 9, 30, tzinfo=UTC)
HOT = "0x" + "a1" * 20
COLD = "0x" + "c0" * 20
FUNDING = "0x" + "f0" * 20
_unique = itertools.count(1)


def token() -> str:
    """A fragment that keeps the ids and keys of one seeding apart from the next one's."""
    return f"{next(_unique):04d}{uuid.uuid4().hex[:6]}"


def address(seed: str) -> str:
    return "0x" + (seed * 40)[:40]


def tx_hash(seed: str) -> str:
    return "0x" + (seed * 64)[:64]


class Seeder:
    """Writes rows through the tables as they stand at the current revision (reflected)."""

    def __init__(self, connection: Connection) -> None:
        self.connection = connection
        self.tables = MetaData()
        self.tables.reflect(connection)

    def add(self, table: str, **values: Any) -> Any:
        """Insert one row; return its (first) primary-key value."""
        result = self.connection.execute(insert(self.tables.tables[table]).values(values))
        key = result.inserted_primary_key
        assert key is not None
        return key[0]

    def set(self, table: str, where: dict[str, Any], **values: Any) -> None:
        target = self.tables.tables[table]
        clauses = [target.c[column] == value for column, value in where.items()]
        self.connection.execute(update(target).where(*clauses).values(values))

    def rows(self, table: str, **where: Any) -> list[Row]:
        target = self.tables.tables[table]
        clauses = [target.c[column] == value for column, value in where.items()]
        query = select(target).where(*clauses).order_by(*target.primary_key.columns)
        return [dict(row._mapping) for row in self.connection.execute(query)]

    def account(self, code: str) -> int:
        seq: int = self.rows("ledger_accounts", code=code)[0]["seq"]
        return seq

    def customers(self) -> list[Row]:
        """The customers that hold a funded account, the first one holding the most."""
        return self.rows("customers")

    def post(
        self,
        debit: str,
        credit: str,
        amount: int,
        kind: str,
        *,
        customer_seq: int | None = None,
        direction: str | None = None,
        reference: str | None = None,
        value_date: date | None = None,
        at: datetime = T0,
    ) -> int:
        """One ledger transfer with both balances moved, as `ledger.post` writes it."""
        debit_seq, credit_seq = self.account(debit), self.account(credit)
        for account_seq, delta in ((debit_seq, -amount), (credit_seq, amount)):
            balance = self.rows("ledger_accounts", seq=account_seq)[0]["balance"]
            self.set("ledger_accounts", {"seq": account_seq}, balance=balance + delta)
        seq: int = self.add(
            "ledger_transfers",
            id=f"tr_{token()}",
            idempotency_key=f"{kind}:{token()}",
            kind=kind,
            debit_account_seq=debit_seq,
            credit_account_seq=credit_seq,
            amount=amount,
            customer_seq=customer_seq,
            direction=direction,
            reference=reference,
            value_date=value_date or at.date(),
            created_at=at,
        )
        return seq


def available(customer: Row) -> str:
    return f"customer:{customer['id']}:available"


def seed_0001(db: Seeder) -> None:
    """Two customers (one referred), keys, a funded reward pool, a deposit, a contract
    bought and its first reward, and a stored idempotent response."""
    t = token()
    alice = db.add(
        "customers",
        id=f"cus_{t}a",
        username=f"alice{t}",
        email=f"alice{t}@example.com",
        referral_code=f"ALICE{t}",
        referred_by_seq=None,
        kyc_status="unverified",
        kyc_bonus_credited=False,
        kyc_details=None,
        total_rewards=6_670000,
        created_at=T0,
    )
    bob = db.add(
        "customers",
        id=f"cus_{t}b",
        username=f"bob{t}",
        email=f"bob{t}@example.com",
        referral_code=f"BOB{t}",
        referred_by_seq=alice,
        kyc_status="pending",
        kyc_bonus_credited=False,
        kyc_details={"country": "DE", "document": "passport"},
        total_rewards=0,
        created_at=T0 + timedelta(minutes=5),
    )
    first, second = db.rows("customers", seq=alice)[0], db.rows("customers", seq=bob)[0]
    for customer in (first, second):
        db.add(
            "ledger_accounts",
            code=available(customer),
            kind="customer_available",
            customer_seq=customer["seq"],
            allow_negative=False,
            balance=0,
        )
        db.add(
            "api_keys",
            id=f"key_{token()}",
            customer_seq=customer["seq"],
            key_hash=uuid.uuid4().hex * 2,
            display_prefix=f"mtx_sk_{t[:6]}",
            name="backend",
            created_at=customer["created_at"],
            last_used_at=T0 + timedelta(hours=1),
            revoked_at=None,
        )
    db.set("fleet", {"id": 1}, capacity_mths=1_000_000, sold_mths=2_800)
    db.add(
        "mining_contracts",
        id=f"legacy{t}",
        name="Legacy Miner",
        price=100_000000,
        hash_mths=1_000,
        daily_reward=3_000000,
        duration_days=180,
        on_sale=False,
        position=9,
    )
    db.post("platform:treasury:bsc", "platform:reward_pool", 1_000_000000, "pool_funding")
    deposit = db.post(
        "platform:treasury:bsc",
        available(first),
        5_000_000000,
        "deposit",
        customer_seq=alice,
        direction="credit",
    )
    db.add(
        "deposits",
        id=f"dep_{t}a",
        customer_seq=alice,
        network="bsc",
        amount=5_000_000000,
        status="confirmed",
        tx_hash=tx_hash("d1"),
        confirmations=15,
        transfer_seq=deposit,
        created_at=T0,
        credited_at=T0 + timedelta(minutes=1),
    )
    db.add(
        "deposits",
        id=f"dep_{t}b",
        customer_seq=bob,
        network="polygon",
        amount=25_000000,
        status="pending",
        tx_hash=tx_hash("d2"),
        confirmations=3,
        transfer_seq=None,
        created_at=T0 + timedelta(minutes=6),
        credited_at=None,
    )
    bought = T0 + timedelta(minutes=10)
    activation_id = f"ct_{t}a"
    db.post(
        available(first),
        "platform:sales",
        200_000000,
        "contract",
        customer_seq=alice,
        direction="debit",
        reference=activation_id,
        at=bought,
    )
    activation = db.add(
        "contract_activations",
        id=activation_id,
        customer_seq=alice,
        contract_id="starter",
        contract_name="Starter Miner",
        price=200_000000,
        hash_mths=2_800,
        daily_reward=6_670000,
        duration_days=365,
        rewards_paid=1,
        status="active",
        activated_at=bought,
        expired_at=None,
    )
    rewarded_on = first_reward_day(bought, get_settings().daily_cutoff)
    rewarded_at = T0 + timedelta(days=2)
    reward = db.post(
        "platform:reward_pool",
        available(first),
        6_670000,
        "reward",
        customer_seq=alice,
        direction="credit",
        reference=activation_id,
        value_date=rewarded_on,
        at=rewarded_at,
    )
    db.add(
        "mining_rewards",
        activation_seq=activation,
        customer_seq=alice,
        day=rewarded_on,
        amount=6_670000,
        transfer_seq=reward,
        created_at=rewarded_at,
    )
    db.add(
        "idempotency_keys",
        customer_seq=alice,
        key=f"activate-{t}",
        request_hash="ab" * 32,
        state="done",
        response_status=201,
        response_body=f'{{"id": "{activation_id}", "status": "active"}}',
        locked_at=bought,
        created_at=bought,
    )


def seed_0002(db: Seeder) -> None:
    """KYC reviews, deposit addresses, withdrawals (one paid out, one pending) and stakes."""
    first, second = db.customers()[:2]
    db.set(
        "customers",
        {"seq": first["seq"]},
        kyc_status="verified",
        kyc_bonus_credited=True,
        kyc_submitted_at=T0 + timedelta(hours=1),
        kyc_reviewed_at=T0 + timedelta(hours=3),
    )
    db.set(
        "customers",
        {"seq": second["seq"]},
        kyc_status="rejected",
        kyc_submitted_at=T0 + timedelta(hours=2),
        kyc_reviewed_at=T0 + timedelta(hours=4),
        kyc_rejection_reason="The document photo is unreadable",
    )
    db.add("staking_plans", days=90, roi_e4=150_0000)
    db.set("staking_terms", {"id": 1}, max_amount=100_000_000000)
    for index, customer in enumerate((first, second)):
        db.add(
            "deposit_addresses",
            customer_seq=customer["seq"],
            derivation_index=index,
            address=address(f"{index + 1}d"),
            created_at=customer["created_at"],
        )
    t = token()
    requested = T0 + timedelta(days=1)
    for suffix, amount, status in (("p", 50_000000, "processed"), ("q", 20_000000, "pending")):
        db.post(
            available(first),
            "platform:pending_withdrawals",
            amount,
            "withdrawal",
            customer_seq=first["seq"],
            direction="debit",
            reference=f"wd_{t}{suffix}",
            at=requested,
        )
        done = status == "processed"
        if done:
            db.post(
                "platform:pending_withdrawals",
                "platform:treasury:bsc",
                amount - 1_000000,
                "withdrawal_settlement",
            )
            db.post("platform:pending_withdrawals", "platform:fees", 1_000000, "withdrawal_fee")
        db.add(
            "withdrawals",
            id=f"wd_{t}{suffix}",
            customer_seq=first["seq"],
            network="bsc",
            address=address("7e"),
            amount=amount,
            fee=1_000000,
            status=status,
            requested_at=requested,
            decided_at=requested + timedelta(hours=1) if done else None,
            broadcast_at=requested + timedelta(hours=2) if done else None,
            processed_at=requested + timedelta(hours=3) if done else None,
            tx_hash=tx_hash("e1") if done else None,
            failure_reason=None,
        )
    for suffix, days, roi_e4, status in (
        ("a", 30, 60_0000, "active"),
        ("b", 180, 420_0000, "completed"),
    ):
        start = T0 - timedelta(days=days) if status == "completed" else T0
        db.add(
            "stakes",
            id=f"stk_{t}{suffix}",
            customer_seq=first["seq"],
            amount=100_000000,
            days=days,
            roi_e4=roi_e4,
            payout=100_000000 + 100_000000 * roi_e4 // 1_000000,
            status=status,
            start_time=start,
            end_time=start + timedelta(days=days),
            completed_at=start + timedelta(days=days) if status == "completed" else None,
            payout_transfer_seq=None,
        )


def seed_0003(db: Seeder) -> None:
    """The sandbox clock moved on, the accrual's progress, an event with its webhook
    endpoint, subscription, delivery and attempt, and a second contract scheduled."""
    first = db.customers()[0]
    t = token()
    db.set("clock", {"id": 1}, offset_seconds=3 * 86400)
    db.set("accrual_state", {"id": 1}, paid_through=T0.date() + timedelta(days=2))
    bought = T0 + timedelta(days=1, hours=7)
    activation_id = f"ct_{t}c"
    db.post(
        available(first),
        "platform:sales",
        200_000000,
        "contract",
        customer_seq=first["seq"],
        direction="debit",
        reference=activation_id,
        at=bought,
    )
    db.add(
        "contract_activations",
        id=activation_id,
        customer_seq=first["seq"],
        contract_id="starter",
        contract_name="Starter Miner",
        price=200_000000,
        hash_mths=2_800,
        daily_reward=6_670000,
        duration_days=365,
        rewards_paid=0,
        status="active",
        activated_at=bought,
        expired_at=None,
        next_reward_on=first_reward_day(bought, get_settings().daily_cutoff),
    )
    fleet = db.rows("fleet", id=1)[0]
    db.set("fleet", {"id": 1}, sold_mths=fleet["sold_mths"] + 2_800)
    event_seq = db.add(
        "events",
        id=f"evt_{t}",
        customer_seq=first["seq"],
        type="contract.activated",
        source_key=f"{activation_id}:activated",
        data={"id": activation_id, "price": "200.000000", "status": "active"},
        created_at=bought,
    )
    endpoint = db.add(
        "webhook_endpoints",
        id=f"we_{t}",
        customer_seq=first["seq"],
        url="https://hooks.example.com/miningtx",
        secret="whsec_" + "Zm9v" * 8,
        status="enabled",
        disabled_reason=None,
        created_at=T0,
        deleted_at=None,
    )
    db.add("webhook_subscriptions", endpoint_seq=endpoint, event_type="contract.activated")
    delivery = db.add(
        "webhook_deliveries",
        endpoint_seq=endpoint,
        event_seq=event_seq,
        status="delivered",
        attempts=2,
        next_attempt_at=bought + timedelta(seconds=30),
        created_at=bought,
        delivered_at=bought + timedelta(seconds=31),
        last_status_code=200,
        last_error=None,
    )
    for seconds, status_code, error in ((0, 503, "503 Service Unavailable"), (31, 200, None)):
        db.add(
            "webhook_attempts",
            delivery_seq=delivery,
            attempted_at=bought + timedelta(seconds=seconds),
            status_code=status_code,
            latency_ms=87,
            error=error,
        )


def seed_0004(db: Seeder) -> None:
    """A day's accrual: every active contract gets its reward as one ledger transfer."""
    for activation in db.rows("contract_activations", status="active"):
        customer = db.rows("customers", seq=activation["customer_seq"])[0]
        day: date = activation["next_reward_on"]
        db.post(
            "platform:reward_pool",
            available(customer),
            activation["daily_reward"],
            "reward",
            customer_seq=customer["seq"],
            direction="credit",
            reference=activation["id"],
            value_date=day,
            at=datetime(day.year, day.month, day.day, 6, 0, 5, tzinfo=UTC),
        )
        db.set(
            "contract_activations",
            {"seq": activation["seq"]},
            rewards_paid=activation["rewards_paid"] + 1,
            next_reward_on=day + ONE_DAY,
        )
        db.set(
            "customers",
            {"seq": customer["seq"]},
            total_rewards=customer["total_rewards"] + activation["daily_reward"],
        )


def seed_0005(db: Seeder) -> None:
    """On-chain deposits (a customer's, credited; the operator's funding, pending), the
    watchers' cursors, and the signer's payout, gas and sweep transactions."""
    first, second = db.customers()[:2]
    t = token()
    credited = T0 + timedelta(days=2)
    transfer = db.post(
        "platform:treasury:polygon",
        available(second),
        1_000_000000,
        "deposit",
        customer_seq=second["seq"],
        direction="credit",
        at=credited,
    )
    for suffix, customer_seq, purpose, status in (
        ("c", second["seq"], "customer", "confirmed"),
        ("f", None, "funding", "pending"),
    ):
        db.add(
            "deposits",
            id=f"dep_{t}{suffix}",
            customer_seq=customer_seq,
            purpose=purpose,
            network="polygon",
            amount=1_000_000000,
            status=status,
            tx_hash=tx_hash(t),
            confirmations=128 if status == "confirmed" else 40,
            transfer_seq=transfer if status == "confirmed" else None,
            created_at=credited - timedelta(minutes=5),
            credited_at=credited if status == "confirmed" else None,
            log_index=2 if purpose == "customer" else 3,
            block_number=64_000_123,
            block_hash=tx_hash("b7"),
            address=address("2d") if purpose == "customer" else FUNDING,
            raw_amount="1000000000",
        )
    for network, block in (("bsc", 44_000_321), ("polygon", 64_000_200)):
        db.add(
            "chain_cursors",
            network=network,
            next_block=block,
            leader=f"worker-{t}",
            lease_until=credited + timedelta(seconds=30),
            updated_at=credited,
        )
    withdrawal_id = f"wd_{t}s"
    db.post(
        available(first),
        "platform:pending_withdrawals",
        30_000000,
        "withdrawal",
        customer_seq=first["seq"],
        direction="debit",
        reference=withdrawal_id,
        at=credited,
    )
    withdrawal = db.add(
        "withdrawals",
        id=withdrawal_id,
        customer_seq=first["seq"],
        network="bsc",
        address=address("7e"),
        amount=30_000000,
        fee=1_000000,
        status="broadcast",
        requested_at=credited,
        decided_at=credited + timedelta(minutes=10),
        broadcast_at=credited + timedelta(minutes=11),
        processed_at=None,
        tx_hash=tx_hash("e2"),
        failure_reason=None,
    )
    for kind, withdrawal_seq, source, target, value, status in (
        ("payout", withdrawal, HOT, address("7e"), "29000000000000000000", "signed"),
        ("gas", None, HOT, address("2d"), "210000000000000", "confirmed"),
        ("sweep", None, address("2d"), HOT, "1000000000", "confirmed"),
    ):
        db.add(
            "chain_transactions",
            network="bsc",
            kind=kind,
            withdrawal_seq=withdrawal_seq,
            from_address=source,
            to_address=target,
            nonce=next(_unique),
            tx_hash=tx_hash(token()),
            raw_tx="0x02f8" + "00" * 60,
            value=value,
            status=status,
            created_at=credited + timedelta(minutes=11),
            finished_at=None if status == "signed" else credited + timedelta(minutes=13),
        )


def seed_0006(db: Seeder) -> None:
    """Dashboard credentials (one with TOTP), an admin and a reviewer, and web sessions."""
    first, second = db.customers()[:2]
    t = token()
    argon = "$argon2id$v=19$m=65536,t=3,p=4$c2FsdHNhbHQ$" + "h" * 43
    for customer, secret in ((first, "JBSWY3DPEHPK3PXP"), (second, None)):
        db.add(
            "customer_credentials",
            customer_seq=customer["seq"],
            password_hash=argon,
            totp_secret=secret,
            totp_last_step=59_002_345 if secret else None,
            created_at=T0,
            updated_at=T0 + timedelta(days=1),
        )
    admin = db.add(
        "operators",
        id=f"op_{t}a",
        email=f"admin{t}@example.com",
        role="admin",
        password_hash=argon,
        totp_secret="KRSXG5CTMVRXEZLU",
        totp_last_step=59_002_400,
        created_at=T0,
        disabled_at=None,
    )
    db.add(
        "operators",
        id=f"op_{t}r",
        email=f"reviewer{t}@example.com",
        role="reviewer",
        password_hash=argon,
        totp_secret=None,
        totp_last_step=None,
        created_at=T0,
        disabled_at=None,
    )
    for kind, principal, awaiting in (("customer", first["seq"], False), ("operator", admin, True)):
        db.add(
            "web_sessions",
            token_hash=uuid.uuid4().hex * 2,
            principal_kind=kind,
            principal_seq=principal,
            csrf_token=uuid.uuid4().hex * 2,
            awaiting_totp=awaiting,
            totp_passed_at=None if awaiting else T0 + timedelta(minutes=1),
            pending_totp_secret="GEZDGNBVGY3TQOJQ" if awaiting else None,
            created_at=T0,
            expires_at=T0 + timedelta(hours=12),
            last_seen_at=T0 + timedelta(minutes=20),
        )


def seed_0007(db: Seeder) -> None:
    """More of the statuses the CHECKs now guard: a rejected withdrawal, a disabled
    endpoint and its failed delivery, an expired contract, a request still in flight."""
    first = db.customers()[0]
    t = token()
    db.add(
        "withdrawals",
        id=f"wd_{t}r",
        customer_seq=first["seq"],
        network="polygon",
        address=address("7f"),
        amount=15_000000,
        fee=1_000000,
        status="rejected",
        requested_at=T0 + timedelta(days=2),
        decided_at=T0 + timedelta(days=2, hours=1),
        broadcast_at=None,
        processed_at=None,
        tx_hash=None,
        failure_reason="Destination is a sanctioned address",
    )
    endpoint = db.add(
        "webhook_endpoints",
        id=f"we_{t}",
        customer_seq=first["seq"],
        url="https://old.example.com/hook",
        secret="whsec_" + "YmFy" * 8,
        status="disabled",
        disabled_reason="410 Gone",
        created_at=T0,
        deleted_at=None,
    )
    event_seq = db.rows("events")[0]["seq"]
    db.add(
        "webhook_deliveries",
        endpoint_seq=endpoint,
        event_seq=event_seq,
        status="failed",
        attempts=8,
        next_attempt_at=T0 + timedelta(days=1),
        created_at=T0,
        delivered_at=None,
        last_status_code=410,
        last_error="410 Gone",
    )
    db.add(
        "contract_activations",
        id=f"ct_{t}x",
        customer_seq=first["seq"],
        contract_id=db.rows("mining_contracts", on_sale=False)[0]["id"],
        contract_name="Legacy Miner",
        price=100_000000,
        hash_mths=1_000,
        daily_reward=3_000000,
        duration_days=180,
        rewards_paid=180,
        status="expired",
        activated_at=T0 - timedelta(days=181),
        expired_at=T0 - timedelta(days=1),
        next_reward_on=T0.date(),
    )
    db.add(
        "idempotency_keys",
        customer_seq=first["seq"],
        key=f"stake-{t}",
        request_hash="cd" * 32,
        state="in_flight",
        response_status=None,
        response_body=None,
        locked_at=T0,
        created_at=T0,
    )


def seed_0008(db: Seeder) -> None:
    """Operators' audit entries (one by the system), a four-eyes approval, and manual
    adjustments proposed and rejected."""
    first = db.customers()[0]
    admin, reviewer = db.rows("operators")[:2]
    pending = db.rows("withdrawals", status="pending")[0]
    t = token()
    for operator, action, target in (
        (admin, "withdrawal.approve", pending["id"]),
        (None, "pool.fund", "platform:reward_pool"),
    ):
        db.add(
            "audit_log",
            id=f"aud_{token()}",
            operator_seq=operator["seq"] if operator else None,
            operator_email=operator["email"] if operator else None,
            action=action,
            target=target,
            before={"status": "pending"} if operator else None,
            after={"status": "pending", "approvals": 1} if operator else {"amount": "1000.000000"},
            created_at=T0 + timedelta(days=2),
        )
    db.add(
        "withdrawal_approvals",
        withdrawal_seq=pending["seq"],
        operator_seq=admin["seq"],
        approved_at=T0 + timedelta(days=2),
    )
    for suffix, status in (("p", "proposed"), ("r", "rejected")):
        rejected = status == "rejected"
        db.add(
            "adjustments",
            id=f"adj_{t}{suffix}",
            customer_seq=first["seq"],
            direction="credit" if rejected else "debit",
            amount=5_000000,
            category="goodwill" if rejected else "correction",
            reason="Compensation for the delayed payout" if rejected else "Duplicate reward",
            status=status,
            proposed_by_seq=admin["seq"],
            proposed_at=T0 + timedelta(days=2),
            decided_by_seq=reviewer["seq"] if rejected else None,
            decided_at=T0 + timedelta(days=2, hours=1) if rejected else None,
            rejection_reason="Not covered by policy" if rejected else None,
            transfer_seq=None,
        )


def seed_0009(db: Seeder) -> None:
    """A customer's own limits with saved-addresses-only mode, and two saved addresses."""
    first = db.customers()[0]
    db.add(
        "withdrawal_controls",
        customer_seq=first["seq"],
        limit_24h=1_000_000000,
        limit_30d=None,
        saved_addresses_only=True,
        saved_addresses_only_until=T0 + timedelta(days=1),
        updated_at=T0,
    )
    for network, label in (("bsc", "Cold storage"), ("polygon", None)):
        db.add(
            "withdrawal_addresses",
            id=f"wa_{token()}",
            customer_seq=first["seq"],
            network=network,
            address=address("7e"),
            label=label,
            created_at=T0,
            usable_at=T0 + timedelta(hours=24),
        )


def seed_0010(db: Seeder) -> None:
    """A cold sweep, an approved withdrawal waiting for hot-wallet funds, and the signer's
    look at each hot wallet."""
    first = db.customers()[0]
    t = token()
    seen = T0 + timedelta(days=3)
    db.add(
        "chain_transactions",
        network="bsc",
        kind="cold_sweep",
        withdrawal_seq=None,
        from_address=address("2d"),
        to_address=COLD,
        nonce=next(_unique),
        tx_hash=tx_hash(token()),
        raw_tx="0x02f8" + "11" * 60,
        value="400000000000000000000",
        status="confirmed",
        created_at=seen,
        finished_at=seen + timedelta(minutes=1),
    )
    withdrawal_id = f"wd_{t}w"
    db.post(
        available(first),
        "platform:pending_withdrawals",
        10_000000,
        "withdrawal",
        customer_seq=first["seq"],
        direction="debit",
        reference=withdrawal_id,
        at=seen,
    )
    db.add(
        "withdrawals",
        id=withdrawal_id,
        customer_seq=first["seq"],
        network="bsc",
        address=address("7e"),
        amount=10_000000,
        fee=1_000000,
        status="approved",
        requested_at=seen,
        decided_at=seen + timedelta(minutes=5),
        broadcast_at=None,
        processed_at=None,
        tx_hash=None,
        failure_reason=None,
        waiting_since=seen + timedelta(minutes=5),
        waiting_reason="The hot wallet holds 2.000000 USDT; this payout needs 9.000000",
    )
    for network, usdt, below in (("bsc", 2_000000, True), ("polygon", 80_000000, False)):
        db.add(
            "hot_wallet_observations",
            network=network,
            usdt=usdt,
            native="120000000000000000",
            floor=5_000000,
            ceiling=None if below else 500_000000,
            below_floor=below,
            observed_at=seen,
        )


def seed_0011(db: Seeder) -> None:
    """A claim taken by a request that owns it (the owner token) beside the older
    ownerless rows."""
    first = db.customers()[0]
    t = token()
    db.add(
        "idempotency_keys",
        customer_seq=first["seq"],
        key=f"withdraw-{t}",
        request_hash="ef" * 32,
        state="in_flight",
        response_status=None,
        response_body=None,
        locked_at=T0,
        created_at=T0,
        owner=t[:32].ljust(32, "0"),
    )


def seed_0012(db: Seeder) -> None:
    """Linked transfers and the chain head, a published snapshot with its stored tree,
    a customer's leaves, reserves with a cold attestation, and a day's balances."""
    first = db.customers()[0]
    t = token()
    transfers = db.rows("ledger_transfers")
    head = db.rows("ledger_chain", id=1)[0]["head_seq"]
    for position, transfer in enumerate(transfers[:2], start=head + 1):
        if transfer["chain_seq"] is None:
            db.set(
                "ledger_transfers",
                {"seq": transfer["seq"]},
                chain_seq=position,
                chain_hash=f"{position:064x}",
            )
            db.set("ledger_chain", {"id": 1}, head_seq=position, head_hash=f"{position:064x}")
    published = T0 + timedelta(days=4)
    snapshot = db.add(
        "liability_snapshots",
        id=f"pol_{t}",
        published_at=published,
        customer_count=1,
        leaf_count=2,
        leaves_per_customer=2,
        root_hash="ab" * 32,
        total_available=5_000_000000,
        total_in_stakes=0,
        total_pending_withdrawals=10_000000,
        total_promised_rewards=0,
        total_promised_yields=0,
        transfer_seq=transfers[-1]["seq"],
        chain_seq=2,
        chain_hash=f"{2:064x}",
        ledger_position=f"transfer {transfers[-1]['seq']}; chain 2",
        signer=address("5e"),
        signature="0x" + "51" * 65,
        message="MiningTX proof of liabilities\nversion: 1",
    )
    for level in (0, 1):
        db.add(
            "liability_tree_chunks",
            snapshot_seq=snapshot,
            level=level,
            chunk=0,
            data=bytes(72 * (2 - level)),
        )
    db.add(
        "liability_leaves",
        snapshot_seq=snapshot,
        customer_seq=first["seq"],
        leaves=(0).to_bytes(8, "big") + bytes(32) + (1).to_bytes(8, "big") + bytes(32),
    )
    attestation = db.add(
        "cold_attestations",
        network="bsc",
        address=COLD,
        message=f"MiningTX cold wallet {COLD} on bsc at block 120",
        signature="0x" + "c5" * 65,
        block_number=120,
        created_at=published - timedelta(hours=1),
    )
    for tier, held, attested in (("hot", 2_000000, None), ("cold", 400_000000, attestation)):
        db.add(
            "reserve_balances",
            snapshot_seq=snapshot,
            network="bsc",
            tier=tier,
            address=HOT if tier == "hot" else COLD,
            address_count=1,
            block_number=130,
            block_hash=tx_hash("b7"),
            amount=held,
            raw_amount=str(held * 10**12),
            cold_attestation_seq=attested,
        )
    account = db.account(available(first))
    db.add(
        "daily_balances",
        account_seq=account,
        day=(published - timedelta(days=1)).date() - timedelta(days=next(_unique)),
        balance=db.rows("ledger_accounts", seq=account)[0]["balance"],
        in_contracts=100_000000,
        total_rewards=6_670000,
    )


SEEDS: dict[str, Callable[[Seeder], None]] = {
    "0001": seed_0001,
    "0002": seed_0002,
    "0003": seed_0003,
    "0004": seed_0004,
    "0005": seed_0005,
    "0006": seed_0006,
    "0007": seed_0007,
    "0008_audit": seed_0008,
    "0009": seed_0009,
    "0010_wallet_tiers": seed_0010,
    "0011_idempotency_owner": seed_0011,
    "0012_proofs_chain_history": seed_0012,
}
