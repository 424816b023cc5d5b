"""Read queries behind the account, balance and transactions routes."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import bindparam, func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from miningtx.kit.db import ReadSession
from miningtx.kit.pagination import PageRequest
from miningtx.ledger.accounts import CUSTOMER_AVAILABLE
from miningtx.models import Activation, Customer, LedgerAccount, LedgerTransfer, Stake, Withdrawal

#: Withdrawal states whose amount has left `available` but not yet the platform.
OPEN_WITHDRAWAL_STATES = ("pending", "approved", "broadcast")


@dataclass(frozen=True, slots=True)
class BalanceRow:
    available: int
    in_contracts: int
    total_rewards: int
    in_stakes: int
    pending_withdrawals: int


_IN_CONTRACTS = (
    select(func.coalesce(func.sum(Activation.price), 0))
    .where(Activation.customer_seq == bindparam("customer_seq"), Activation.status == "active")
    .scalar_subquery()
)
_IN_STAKES = (
    select(func.coalesce(func.sum(Stake.amount), 0))
    .where(Stake.customer_seq == bindparam("customer_seq"), Stake.status == "active")
    .scalar_subquery()
)
_PENDING_WITHDRAWALS = (
    select(func.coalesce(func.sum(Withdrawal.amount), 0))
    .where(
        Withdrawal.customer_seq == bindparam("customer_seq"),
        Withdrawal.status.in_(OPEN_WITHDRAWAL_STATES),
    )
    .scalar_subquery()
)
#: Built once: GET /v1/balance is the most frequent read.
_BALANCE = (
    select(
        LedgerAccount.balance,
        Customer.total_rewards,
        _IN_CONTRACTS.label("in_contracts"),
        _IN_STAKES.label("in_stakes"),
        _PENDING_WITHDRAWALS.label("pending_withdrawals"),
    )
    .join(Customer, Customer.seq == LedgerAccount.customer_seq)
    .where(
        LedgerAccount.customer_seq == bindparam("customer_seq"),
        LedgerAccount.kind == CUSTOMER_AVAILABLE,
    )
)


async def balance(connection: AsyncConnection, customer_seq: int) -> BalanceRow:
    """All balance figures in one round trip, on a bare connection (the hottest read)."""
    row = (await connection.execute(_BALANCE, {"customer_seq": customer_seq})).one()
    return BalanceRow(
        row.balance,
        int(row.in_contracts),
        row.total_rewards,
        int(row.in_stakes),
        int(row.pending_withdrawals),
    )


async def customer(session: ReadSession, customer_seq: int) -> Customer:
    return (
        await session.execute(select(Customer).where(Customer.seq == customer_seq))
    ).scalar_one()


async def transactions(
    session: ReadSession, customer_seq: int, page: PageRequest, kind: str | None
) -> Sequence[tuple[int, LedgerTransfer]]:
    query = select(LedgerTransfer).where(LedgerTransfer.customer_seq == customer_seq)
    if kind is not None:
        query = query.where(LedgerTransfer.kind == kind)
    if page.after_seq is not None:
        query = query.where(LedgerTransfer.seq < page.after_seq)
    rows = await session.scalars(query.order_by(LedgerTransfer.seq.desc()).limit(page.limit + 1))
    return [(t.seq, t) for t in rows]
