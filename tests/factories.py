"""Factories shared by every domain's tests: customers with keys, funded pools, deposits."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from miningtx.audit.refs import OperatorRef
from miningtx.config import Settings
from miningtx.customers import service as customers
from miningtx.kit.clock import utcnow
from miningtx.kit.db import Database, WriteSession
from miningtx.kit.ids import new_id
from miningtx.kit.money import parse_amount
from miningtx.ledger import service as ledger
from miningtx.ledger.accounts import FUNDABLE_POOLS, Platform, customer_available
from miningtx.mining import service as mining
from miningtx.models import (
    Activation,
    Customer,
    Operator,
    OperatorRole,
    TransferDirection,
    TransferKind,
    Withdrawal,
)
from miningtx.wallet import service as wallet


@dataclass(frozen=True)
class CustomerWithKey:
    id: str
    seq: int
    key: str
    key_id: str
    referral_code: str

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.key}"}


async def make_customer(
    db: Database,
    settings: Settings,
    *,
    deposit: str | None = None,
    referral_code: str | None = None,
) -> CustomerWithKey:
    tag = uuid.uuid4().hex[:10]
    async with db.write() as session:
        customer = await customers.create_customer(
            session,
            email=f"c{tag}@example.com",
            username=f"c{tag}",
            referral_code=referral_code,
            now=utcnow(),
        )
        key, secret = await customers.create_api_key(
            session, customer, prefix=settings.key_prefix, now=utcnow()
        )
        if deposit is not None:
            await wallet.credit_deposit(
                session,
                customer_seq=customer.seq,
                customer_id=customer.id,
                network="bsc",
                amount=parse_amount(deposit),
                now=utcnow(),
            )
        return CustomerWithKey(customer.id, customer.seq, secret, key.id, customer.referral_code)


async def fund_pool(db: Database, pool: str, amount: str, network: str = "bsc") -> None:
    async with db.write() as session:
        await ledger.fund_pool(
            session,
            FUNDABLE_POOLS[pool],
            network,
            parse_amount(amount),
            utcnow(),
            reference=new_id("fund"),
        )


async def set_capacity(db: Database, ths: int) -> None:
    async with db.write() as session:
        await mining.set_capacity(session, ths * 1000, operator=None, now=utcnow())


async def make_operator_ref(db: Database, email: str | None = None) -> OperatorRef:
    """An operator row (no usable password: the console tests use their own factory), as
    the services take it. Its email is unique unless given."""
    async with db.write() as session:
        operator = Operator(
            id=new_id("op"),
            email=email or f"op{uuid.uuid4().hex[:10]}@example.com",
            role=OperatorRole.ADMIN,
            password_hash="not-a-password-hash",
            created_at=utcnow(),
        )
        session.add(operator)
        await session.flush()
        return OperatorRef(operator.seq, operator.id, operator.email)


async def open_for_business(
    db: Database, *, rewards: str = "10000000.00", ths: int = 100_000
) -> None:
    """Fund the reward pool and declare capacity so contracts can be sold."""
    await fund_pool(db, "rewards", rewards)
    await set_capacity(db, ths)


async def balances(db: Database, *codes: str) -> dict[str, int]:
    """Ledger account balances by code, in micro-USDT."""
    async with db.read() as session:
        return await ledger.balances(session, list(codes))


async def invariant_problems(db: Database) -> list[str]:
    async with db.read() as session:
        return await ledger.check_invariants(session)


async def credit_reward(db: Database, activation_id: str, day: date) -> None:
    """Pay one daily reward of an activation from its reservation, as the daily job will."""
    now = utcnow()
    async with db.write() as session:
        activation = (
            await session.execute(select(Activation).where(Activation.id == activation_id))
        ).scalar_one()
        customer_id = await session.scalar(
            select(Customer.id).where(Customer.seq == activation.customer_seq)
        )
        assert customer_id is not None
        await ledger.post(
            session,
            [
                ledger.Leg(
                    debit=Platform.REWARD_RESERVED,
                    credit=customer_available(customer_id),
                    amount=activation.daily_reward,
                    kind=TransferKind.REWARD,
                    idempotency_key=f"{activation.id}:reward:{day.isoformat()}",
                    customer_seq=activation.customer_seq,
                    direction=TransferDirection.CREDIT,
                    reference=activation.id,
                    value_date=day,
                )
            ],
            now,
        )
        activation.rewards_paid += 1
        await session.execute(
            update(Customer)
            .where(Customer.seq == activation.customer_seq)
            .values(total_rewards=Customer.total_rewards + activation.daily_reward)
        )


def simulate_all(_network: str) -> bool:
    """`approve_withdrawal(simulates=...)`: the sandbox's simulated chain sends every network."""
    return True


def simulate_none(_network: str) -> bool:
    """`approve_withdrawal(simulates=...)`: no network is simulated; the signer must send."""
    return False


#: The operator the suite's service-level decisions are taken by (made on first use).
SUITE_OPERATOR_EMAIL = "ops@suite.example"


async def suite_operator(session: WriteSession) -> OperatorRef:
    """The suite's operator as the services take it, created in `session` if missing (a
    concurrent first use may create it first: the unique email refuses ours, we take theirs)."""
    query = select(Operator).where(Operator.email == SUITE_OPERATOR_EMAIL)
    operator = await session.scalar(query)
    if operator is None:
        try:
            async with session.begin_nested():
                operator = Operator(
                    id=new_id("op"),
                    email=SUITE_OPERATOR_EMAIL,
                    role=OperatorRole.ADMIN,
                    password_hash="not-a-password-hash",
                    created_at=utcnow(),
                )
                session.add(operator)
        except IntegrityError:
            operator = (await session.execute(query)).scalar_one()
    return OperatorRef(operator.seq, operator.id, operator.email)


async def approve_withdrawal(
    session: WriteSession,
    withdrawal_id: str,
    now: datetime,
    *,
    simulates: Callable[[str], bool],
    four_eyes_above: int | None = None,
) -> Withdrawal:
    """`wallet.approve_withdrawal` by the suite's operator (four eyes off unless given)."""
    return await wallet.approve_withdrawal(
        session,
        withdrawal_id,
        now,
        operator=await suite_operator(session),
        simulates=simulates,
        four_eyes_above=four_eyes_above,
    )


async def reject_withdrawal(
    session: WriteSession, withdrawal_id: str, now: datetime, reason: str | None = None
) -> Withdrawal:
    """`wallet.reject_withdrawal` by the suite's operator."""
    return await wallet.reject_withdrawal(
        session, withdrawal_id, now, reason, operator=await suite_operator(session)
    )
