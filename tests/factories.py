"""Factories shared by every domain's tests: customers with keys, funded pools, deposits."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from miningtx.config import Settings
from miningtx.customers import service as customers
from miningtx.kit.clock import utcnow
from miningtx.kit.db import Database
from miningtx.kit.ids import new_id
from miningtx.kit.money import parse_amount
from miningtx.ledger import service as ledger
from miningtx.ledger.accounts import FUNDABLE_POOLS
from miningtx.mining import service as mining
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
        await mining.set_capacity(session, ths * 1000)


async def open_for_business(
    db: Database, *, rewards: str = "10000000.00", ths: int = 100_000
) -> None:
    """Fund the reward pool and declare capacity so contracts can be sold."""
    await fund_pool(db, "rewards", rewards)
    await set_capacity(db, ths)


async def invariant_problems(db: Database) -> list[str]:
    async with db.read() as session:
        return await ledger.check_invariants(session)
