"""Read queries of the mining domain."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from sqlalchemy import func, select

from miningtx.kit.db import ReadSession
from miningtx.kit.pagination import PageRequest
from miningtx.ledger.accounts import Platform
from miningtx.models import (
    Activation,
    ActivationStatus,
    Fleet,
    LedgerAccount,
    LedgerTransfer,
    MiningContract,
    TransferKind,
)


@dataclass(frozen=True, slots=True)
class CatalogEntry:
    contract: MiningContract
    available: int


async def catalog(session: ReadSession) -> list[CatalogEntry]:
    contracts = (
        await session.scalars(
            select(MiningContract)
            .where(MiningContract.on_sale.is_(True))
            .order_by(MiningContract.position, MiningContract.id)
        )
    ).all()
    fleet = (await session.execute(select(Fleet).where(Fleet.id == 1))).scalar_one()
    pool = (
        await session.scalar(
            select(LedgerAccount.balance).where(LedgerAccount.code == Platform.REWARD_POOL)
        )
        or 0
    )
    free_mths = max(0, fleet.capacity_mths - fleet.sold_mths)
    return [
        CatalogEntry(
            c,
            min(free_mths // c.hash_mths, pool // (c.daily_reward * c.duration_days)),
        )
        for c in contracts
    ]


async def list_activations(
    session: ReadSession,
    customer_seq: int,
    page: PageRequest,
    status: ActivationStatus | None,
) -> Sequence[tuple[int, Activation]]:
    query = select(Activation).where(Activation.customer_seq == customer_seq)
    if status is not None:
        query = query.where(Activation.status == status)
    if page.after_seq is not None:
        query = query.where(Activation.seq < page.after_seq)
    rows = await session.scalars(query.order_by(Activation.seq.desc()).limit(page.limit + 1))
    return [(a.seq, a) for a in rows]


async def get_activation(
    session: ReadSession, customer_seq: int, activation_id: str
) -> Activation | None:
    return await session.scalar(
        select(Activation).where(
            Activation.id == activation_id, Activation.customer_seq == customer_seq
        )
    )


@dataclass(frozen=True, slots=True)
class RewardRow:
    transfer_id: str
    day: date
    contract: str
    activation_id: str
    amount: int


async def list_rewards(
    session: ReadSession, customer_seq: int, page: PageRequest
) -> Sequence[tuple[int, RewardRow]]:
    """The customer's rewards, newest first: their `reward` transfers (one index range on
    customer and kind), each with the contract its `reference` names."""
    query = (
        select(
            LedgerTransfer.seq,
            LedgerTransfer.id.label("transfer_id"),
            LedgerTransfer.value_date,
            Activation.contract_name,
            Activation.id.label("activation_id"),
            LedgerTransfer.amount,
        )
        .join(Activation, Activation.id == LedgerTransfer.reference)
        .where(
            LedgerTransfer.customer_seq == customer_seq, LedgerTransfer.kind == TransferKind.REWARD
        )
    )
    if page.after_seq is not None:
        query = query.where(LedgerTransfer.seq < page.after_seq)
    rows = await session.execute(query.order_by(LedgerTransfer.seq.desc()).limit(page.limit + 1))
    return [
        (r.seq, RewardRow(r.transfer_id, r.value_date, r.contract_name, r.activation_id, r.amount))
        for r in rows
    ]


async def all_contracts(session: ReadSession) -> list[MiningContract]:
    """Every catalog entry, on sale or not, in catalog order (the operator's view)."""
    rows = await session.scalars(
        select(MiningContract).order_by(MiningContract.position, MiningContract.id)
    )
    return list(rows)


async def fleet(session: ReadSession) -> Fleet:
    """The declared fleet capacity and what active contracts use of it."""
    return (await session.execute(select(Fleet).where(Fleet.id == 1))).scalar_one()


async def daily_reward_totals(
    session: ReadSession, customer_seq: int, since: date
) -> list[tuple[date, int]]:
    """The customer's mining rewards summed per reward day from `since` on, oldest first
    (the overview's chart): the same `reward` transfers GET /v1/rewards lists."""
    rows = await session.execute(
        select(LedgerTransfer.value_date, func.sum(LedgerTransfer.amount))
        .where(
            LedgerTransfer.customer_seq == customer_seq,
            LedgerTransfer.kind == TransferKind.REWARD,
            LedgerTransfer.value_date >= since,
        )
        .group_by(LedgerTransfer.value_date)
        .order_by(LedgerTransfer.value_date)
    )
    return [(day, int(total)) for day, total in rows]
