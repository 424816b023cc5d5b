"""Demo data for the embedded default: a customer with five weeks of history.

The history is made by the platform itself, on the sandbox clock: contracts and a stake
bought on day 0, a referred partner, then the clock moves one day at a time and the real
time jobs (`worker.run_time_jobs`: accrual, stake payouts) credit what falls due; a
deposit, a processed withdrawal and a second stake happen on the way. A webhook endpoint
receives every event on a receiver the demo runs on 127.0.0.1 while it seeds, so the
dashboard shows delivered webhooks; the endpoint is then disabled, saying why.

Everything here is generated, sandbox-only and marked as demo data.
"""

from __future__ import annotations

import asyncio
import re
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import date, datetime, time
from typing import Any

from sqlalchemy import select

from miningtx.audit import service as audit
from miningtx.config import Settings
from miningtx.customers import kyc
from miningtx.customers import service as customers
from miningtx.customers.refs import CustomerRef
from miningtx.dashboard import service as dashboard
from miningtx.kit.db import Database, WriteSession
from miningtx.kit.ids import new_id
from miningtx.kit.jobs import WorkerContext
from miningtx.kit.money import UNITS_PER_USDT
from miningtx.ledger import service as ledger
from miningtx.ledger.accounts import Platform
from miningtx.mining import service as mining
from miningtx.models import Customer, OperatorRole
from miningtx.staking import service as staking
from miningtx.wallet import service as wallet
from miningtx.webhooks import service as webhooks
from miningtx.webhooks.tasks import deliver_due
from miningtx.worker import run_time_jobs

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
DEMO_PARTNER_USERNAME = "demo_partner"
DEMO_PARTNER_EMAIL = "partner@demo.miningtx.invalid"
#: Bought on day 0, so they have earned every day of the history.
DEMO_CONTRACTS = ("starter", "ultra")
#: Days of history: the clock ends this many days after the demo started.
HISTORY_DAYS = 35
#: (days, USDT): the 30-day stake completes within the history, the later one is running.
FIRST_STAKE = (30, 1_000)
SECOND_STAKE_DAY, SECOND_STAKE = 8, (180, 2_000)
TOP_UP_DAY, TOP_UP = 12, 1_500 * UNITS_PER_USDT
WITHDRAWAL_DAY, WITHDRAWAL = 20, 250 * UNITS_PER_USDT
PARTNER_DEPOSIT = 500 * UNITS_PER_USDT
DEMO_WITHDRAWAL_ADDRESS = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"
RECEIVER_GONE = "The demo's local webhook receiver ran only while the demo was seeded."
#: Delivery rounds to empty the queue (each attempts a batch); bounded, never a loop on luck.
DELIVERY_ROUNDS = 50
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
    """Seed once, history included; on later runs only issue a fresh key and passwords."""
    async with db.write() as session:
        customer = await session.scalar(select(Customer).where(Customer.username == DEMO_USERNAME))
    created = customer is None
    if created:
        async with _local_receiver() as receiver_url:
            await _seed_history(db, settings, receiver_url)
    async with db.write() as session:
        now = await db.clock.sync(session)
        customer = await session.scalar(select(Customer).where(Customer.username == DEMO_USERNAME))
        assert customer is not None  # seeded above or by an earlier run
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


async def _seed_history(db: Database, settings: Settings, receiver_url: str) -> None:
    """Day 0 in one transaction, then one sandbox day at a time through the time jobs."""
    # Only the demo's own deliveries may go to its receiver on this machine.
    delivering = WorkerContext(
        db, settings.model_copy(update={"webhooks_allow_private_targets": True})
    )
    async with db.write() as session:
        now = await db.clock.sync(session)
        for pool, usdt in POOLS.items():
            await ledger.fund_pool(
                session, pool, "bsc", usdt * UNITS_PER_USDT, now, reference=new_id("fund")
            )
        await mining.set_capacity(session, CAPACITY_MTHS, operator=None, now=now)
        customer = await customers.create_customer(
            session, email=DEMO_EMAIL, username=DEMO_USERNAME, now=now
        )
        demo = CustomerRef(customer.seq, customer.id)
        # First, so every event of the history is delivered to it.
        endpoint = await webhooks.create_endpoint(
            session, customer.seq, receiver_url, webhooks.normalise_events(["*"]), now
        )
        await wallet.credit_deposit(
            session,
            customer_seq=customer.seq,
            customer_id=customer.id,
            network="bsc",
            amount=DEMO_DEPOSIT,
            now=now,
        )
        # Verified, so the demo customer can withdraw; approval pays the welcome bonus.
        await kyc.submit_kyc(session, customer.seq, now=now, **DEMO_KYC)
        # The demo's operator approves, so the audit log shows who decided.
        await dashboard.reset_operator_password(
            session,
            email=DEMO_OPERATOR_EMAIL,
            role=OperatorRole.ADMIN,
            password=secrets.token_urlsafe(12),
            now=now,
        )
        operator = await audit.operator_by_email(session, DEMO_OPERATOR_EMAIL)
        await kyc.approve_kyc(session, customer.id, now, operator=operator)
        for contract_id in DEMO_CONTRACTS:
            await mining.activate(session, demo, contract_id, now, cutoff=db.clock.cutoff)
        days, usdt = FIRST_STAKE
        await staking.create_stake(session, demo, usdt * UNITS_PER_USDT, days, now)
        await _referred_partner(session, customer.referral_code, now, db.clock.cutoff)
    for day in range(1, HISTORY_DAYS + 1):
        async with db.write() as session:
            now = await db.clock.advance(session, 86_400)
            await _on_day(session, settings, demo, day, now)
        await run_time_jobs(WorkerContext(db, settings))
    for _ in range(DELIVERY_ROUNDS):
        if await deliver_due(delivering) == 0:
            break
    async with db.write() as session:
        await webhooks.disable_endpoint(session, endpoint.seq, RECEIVER_GONE)


async def _on_day(
    session: WriteSession, settings: Settings, demo: CustomerRef, day: int, now: datetime
) -> None:
    """What the demo customer does on `day` of the history, besides earning."""
    if day == SECOND_STAKE_DAY:
        days, usdt = SECOND_STAKE
        await staking.create_stake(session, demo, usdt * UNITS_PER_USDT, days, now)
    if day == TOP_UP_DAY:
        await wallet.credit_deposit(
            session,
            customer_seq=demo.seq,
            customer_id=demo.id,
            network="bsc",
            amount=TOP_UP,
            now=now,
        )
    if day == WITHDRAWAL_DAY:
        withdrawal = await wallet.request_withdrawal(
            session,
            demo,
            amount=WITHDRAWAL,
            network="bsc",
            address=DEMO_WITHDRAWAL_ADDRESS,
            terms=wallet.WithdrawalTerms.from_settings(settings),
            now=now,
            simulates=settings.simulates,
        )
        # The sandbox's simulated network sends it at once: broadcast, then processed.
        await wallet.approve_withdrawal(
            session,
            withdrawal.id,
            now,
            operator=await audit.operator_by_email(session, DEMO_OPERATOR_EMAIL),
            simulates=settings.simulates,
            four_eyes_above=settings.withdrawal_four_eyes_above,
        )


async def _referred_partner(
    session: WriteSession, referral_code: str, now: datetime, cutoff: time
) -> None:
    """A customer signed up with the demo's referral code buys a contract: a partner reward."""
    partner = await customers.create_customer(
        session,
        email=DEMO_PARTNER_EMAIL,
        username=DEMO_PARTNER_USERNAME,
        referral_code=referral_code,
        now=now,
    )
    await wallet.credit_deposit(
        session,
        customer_seq=partner.seq,
        customer_id=partner.id,
        network="bsc",
        amount=PARTNER_DEPOSIT,
        now=now,
    )
    await mining.activate(
        session, CustomerRef(partner.seq, partner.id), "starter", now, cutoff=cutoff
    )


@asynccontextmanager
async def _local_receiver() -> AsyncIterator[str]:
    """A webhook receiver on 127.0.0.1 that answers 204 to every POST, while the block runs."""

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            length = _CONTENT_LENGTH.search(head)
            await reader.readexactly(int(length.group(1)) if length else 0)
            writer.write(b"HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n")
            await writer.drain()
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError):
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(answer, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}/demo-webhooks"
    finally:
        server.close()
        await server.wait_closed()


_CONTENT_LENGTH = re.compile(rb"(?i)content-length:\s*(\d+)")
