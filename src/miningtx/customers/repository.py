"""Read queries behind the account, balance and transactions routes."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import bindparam, func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from miningtx.kit.db import ReadSession
from miningtx.kit.pagination import PageRequest
from miningtx.ledger.accounts import CUSTOMER_AVAILABLE
from miningtx.models import (
    Activation,
    ActivationStatus,
    ApiKey,
    Customer,
    KycStatus,
    LedgerAccount,
    LedgerTransfer,
    Stake,
    StakeStatus,
    TransferKind,
    Withdrawal,
    WithdrawalStatus,
)

#: Withdrawal states whose amount has left `available` but not yet the platform.
OPEN_WITHDRAWAL_STATES = (
    WithdrawalStatus.PENDING,
    WithdrawalStatus.APPROVED,
    WithdrawalStatus.BROADCAST,
)


@dataclass(frozen=True, slots=True)
class BalanceRow:
    available: int
    in_contracts: int
    total_rewards: int
    in_stakes: int
    pending_withdrawals: int


_IN_CONTRACTS = (
    select(func.coalesce(func.sum(Activation.price), 0))
    .where(
        Activation.customer_seq == bindparam("customer_seq"),
        Activation.status == ActivationStatus.ACTIVE,
    )
    .scalar_subquery()
)
_IN_STAKES = (
    select(func.coalesce(func.sum(Stake.amount), 0))
    .where(Stake.customer_seq == bindparam("customer_seq"), Stake.status == StakeStatus.ACTIVE)
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
    session: ReadSession, customer_seq: int, page: PageRequest, kind: TransferKind | None
) -> Sequence[tuple[int, LedgerTransfer]]:
    query = select(LedgerTransfer).where(LedgerTransfer.customer_seq == customer_seq)
    if kind is not None:
        query = query.where(LedgerTransfer.kind == kind)
    if page.after_seq is not None:
        query = query.where(LedgerTransfer.seq < page.after_seq)
    rows = await session.scalars(query.order_by(LedgerTransfer.seq.desc()).limit(page.limit + 1))
    return [(t.seq, t) for t in rows]


async def pending_kyc(session: ReadSession, limit: int | None = 100) -> list[Customer]:
    """Customers whose KYC awaits a decision, oldest submission first: the review queue
    (`limit` None: all of them)."""
    rows = await session.scalars(
        select(Customer)
        .where(Customer.kyc_status == KycStatus.PENDING)
        .order_by(Customer.kyc_submitted_at, Customer.seq)
        .limit(limit)
    )
    return list(rows)


async def search_customers(session: ReadSession, text: str, limit: int = 25) -> list[Customer]:
    """Customers whose id is `text` or whose email or username starts with it (ignoring
    case), newest first: the operator's customer lookup."""
    text = text.strip()
    if not text:
        return []
    folded = text.lower()
    rows = await session.scalars(
        select(Customer)
        .where(
            (Customer.id == text)
            | func.lower(Customer.email).startswith(folded, autoescape=True)
            | Customer.username.startswith(folded, autoescape=True)
        )
        .order_by(Customer.seq.desc())
        .limit(limit)
    )
    return list(rows)


async def api_keys(session: ReadSession, customer_seq: int) -> Sequence[ApiKey]:
    """The customer's API keys, revoked ones included, newest first (Settings -> API keys)."""
    rows = await session.scalars(
        select(ApiKey).where(ApiKey.customer_seq == customer_seq).order_by(ApiKey.seq.desc())
    )
    return rows.all()
