"""Factories of the partner and KYC tests: referred customers, balances, transfer counts."""

from __future__ import annotations

from sqlalchemy import func, select

from miningtx.config import Settings
from miningtx.kit.db import Database
from miningtx.models import Activation, Fleet, LedgerTransfer
from tests.factories import CustomerWithKey, make_customer


async def referred_pair(
    db: Database, settings: Settings, *, deposit: str
) -> tuple[CustomerWithKey, CustomerWithKey]:
    """A referrer with nothing, and a customer who signed up with their code and `deposit`."""
    referrer = await make_customer(db, settings)
    referee = await make_customer(
        db, settings, deposit=deposit, referral_code=referrer.referral_code
    )
    return referrer, referee


async def transfers(db: Database, kind: str | None = None) -> list[LedgerTransfer]:
    """Every ledger transfer, oldest first, optionally only those of one kind."""
    query = select(LedgerTransfer).order_by(LedgerTransfer.seq)
    if kind is not None:
        query = query.where(LedgerTransfer.kind == kind)
    async with db.read() as session:
        return list(await session.scalars(query))


async def activation_count(db: Database) -> int:
    async with db.read() as session:
        return (await session.execute(select(func.count()).select_from(Activation))).scalar_one()


async def sold_mths(db: Database) -> int:
    async with db.read() as session:
        return (await session.execute(select(Fleet.sold_mths))).scalar_one()
