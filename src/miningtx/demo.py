"""Demo data for the embedded default: funded pools, fleet capacity, a verified customer
with a deposit.

Everything here is generated, sandbox-only and marked as demo data.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import select

from miningtx.config import Settings
from miningtx.customers import kyc
from miningtx.customers import service as customers
from miningtx.dashboard import service as dashboard
from miningtx.kit.db import Database
from miningtx.kit.ids import new_id
from miningtx.kit.money import UNITS_PER_USDT
from miningtx.ledger import service as ledger
from miningtx.ledger.accounts import Platform
from miningtx.mining import service as mining
from miningtx.models import Customer, OperatorRole
from miningtx.wallet import service as wallet

DEMO_USERNAME = "demo"
DEMO_EMAIL = "demo@demo.miningtx.invalid"
DEMO_OPERATOR_EMAIL = "operator@demo.miningtx.invalid"
POOLS = {
    Platform.REWARD_POOL: 5_000_000,
    Platform.STAKING_POOL: 5_000_000,
    Platform.BONUS: 10_000,
    Platform.PARTNERS: 100_000,
}
CAPACITY_MTHS = 10_000 * 1000
DEMO_DEPOSIT = 10_000 * UNITS_PER_USDT
DEMO_KYC: dict[str, Any] = {
    "full_name": "Demo Customer",
    "date_of_birth": date(1990, 1, 1),
    "country": "GB",
    "document_type": "passport",
    "document_number": "DEMO-0001",
}


@dataclass(frozen=True)
class DemoResult:
    customer_id: str
    api_key: str
    created: bool
    #: Fresh on every run: the demo customer's dashboard password and the demo operator's.
    dashboard_password: str
    operator_password: str


async def seed_demo(db: Database, settings: Settings) -> DemoResult:
    """Seed once; on later runs only issue a fresh key for the demo customer."""
    async with db.write() as session:
        now = await db.clock.sync(session)
        customer = await session.scalar(select(Customer).where(Customer.username == DEMO_USERNAME))
        created = customer is None
        if customer is None:
            for pool, usdt in POOLS.items():
                await ledger.fund_pool(
                    session, pool, "bsc", usdt * UNITS_PER_USDT, now, reference=new_id("fund")
                )
            await mining.set_capacity(session, CAPACITY_MTHS, operator=None, now=now)
            customer = await customers.create_customer(
                session, email=DEMO_EMAIL, username=DEMO_USERNAME, now=now
            )
            await wallet.credit_deposit(
                session,
                customer_seq=customer.seq,
                customer_id=customer.id,
                network="bsc",
                amount=DEMO_DEPOSIT,
                now=now,
            )
            # Verified, so the demo customer can try withdrawals; approval pays the bonus.
            await kyc.submit_kyc(session, customer.seq, now=now, **DEMO_KYC)
            await kyc.approve_kyc(session, customer.id, now, operator=None)
        _, secret = await customers.create_api_key(
            session, customer, prefix=settings.key_prefix, now=now, name="demo"
        )
        dashboard_password = secrets.token_urlsafe(12)
        await dashboard.set_customer_password(session, customer.seq, dashboard_password, now)
        operator_password = secrets.token_urlsafe(12)
        await dashboard.reset_operator_password(
            session,
            email=DEMO_OPERATOR_EMAIL,
            role=OperatorRole.ADMIN,
            password=operator_password,
            now=now,
        )
        return DemoResult(customer.id, secret, created, dashboard_password, operator_password)
