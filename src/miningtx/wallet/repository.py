"""Queries of the wallet domain: deposit addresses, deposits, withdrawals."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.dialects import postgresql, sqlite

from miningtx.kit.db import ReadSession, WriteSession
from miningtx.kit.pagination import PageRequest
from miningtx.models import (
    Customer,
    Deposit,
    DepositAddress,
    KycStatus,
    Operator,
    Withdrawal,
    WithdrawalAddress,
    WithdrawalApproval,
    WithdrawalControls,
    WithdrawalStatus,
)

AnySession = ReadSession | WriteSession


async def deposit_address(session: AnySession, customer_seq: int) -> DepositAddress | None:
    return await session.get(DepositAddress, customer_seq)


async def list_deposits(
    session: ReadSession, customer_seq: int, page: PageRequest
) -> Sequence[tuple[int, Deposit]]:
    query = select(Deposit).where(Deposit.customer_seq == customer_seq)
    if page.after_seq is not None:
        query = query.where(Deposit.seq < page.after_seq)
    rows = await session.scalars(query.order_by(Deposit.seq.desc()).limit(page.limit + 1))
    return [(d.seq, d) for d in rows]


async def list_withdrawals(
    session: ReadSession,
    customer_seq: int,
    page: PageRequest,
    status: WithdrawalStatus | None,
) -> Sequence[tuple[int, Withdrawal]]:
    query = select(Withdrawal).where(Withdrawal.customer_seq == customer_seq)
    if status is not None:
        query = query.where(Withdrawal.status == status)
    if page.after_seq is not None:
        query = query.where(Withdrawal.seq < page.after_seq)
    rows = await session.scalars(query.order_by(Withdrawal.seq.desc()).limit(page.limit + 1))
    return [(w.seq, w) for w in rows]


async def find_withdrawal(
    session: AnySession, withdrawal_id: str, customer_seq: int | None = None
) -> Withdrawal | None:
    """The withdrawal `withdrawal_id`; with `customer_seq`, only if it is that customer's."""
    query = select(Withdrawal).where(Withdrawal.id == withdrawal_id)
    if customer_seq is not None:
        query = query.where(Withdrawal.customer_seq == customer_seq)
    return await session.scalar(query)


async def list_for_review(
    session: AnySession, status: str = WithdrawalStatus.PENDING, limit: int = 100
) -> list[Withdrawal]:
    """Withdrawals in `status`, oldest first: the operator's (or signer's) queue."""
    rows = await session.scalars(
        select(Withdrawal).where(Withdrawal.status == status).order_by(Withdrawal.seq).limit(limit)
    )
    return list(rows)


async def customer_kyc_status(session: AnySession, customer_seq: int) -> KycStatus:
    status = await session.scalar(select(Customer.kyc_status).where(Customer.seq == customer_seq))
    if status is None:
        raise LookupError(f"no customer with seq {customer_seq}")
    return status


async def customer_id(session: AnySession, customer_seq: int) -> str:
    found = await session.scalar(select(Customer.id).where(Customer.seq == customer_seq))
    if found is None:
        raise LookupError(f"no customer with seq {customer_seq}")
    return found


async def lock_withdrawal(session: WriteSession, withdrawal_id: str) -> Withdrawal | None:
    """The withdrawal, its row locked until the transaction ends (approvals queue on it)."""
    return await session.scalar(
        select(Withdrawal)
        .where(Withdrawal.id == withdrawal_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )


async def approver_seqs(session: AnySession, withdrawal_seq: int) -> list[int]:
    """The operators who approved this withdrawal so far, in order."""
    rows = await session.scalars(
        select(WithdrawalApproval.operator_seq)
        .where(WithdrawalApproval.withdrawal_seq == withdrawal_seq)
        .order_by(WithdrawalApproval.seq)
    )
    return list(rows)


async def approvers(session: AnySession, withdrawal_seqs: Sequence[int]) -> dict[int, list[str]]:
    """withdrawal seq -> the emails of the operators who approved it, in order."""
    found: dict[int, list[str]] = {seq: [] for seq in withdrawal_seqs}
    if not withdrawal_seqs:
        return found
    rows = await session.execute(
        select(WithdrawalApproval.withdrawal_seq, Operator.email)
        .join(Operator, Operator.seq == WithdrawalApproval.operator_seq)
        .where(WithdrawalApproval.withdrawal_seq.in_(withdrawal_seqs))
        .order_by(WithdrawalApproval.seq)
    )
    for withdrawal_seq, email in rows:
        found[withdrawal_seq].append(email)
    return found


# --- withdrawal controls (wallet.controls) ------------------------------------------------


async def withdrawn_since(
    session: AnySession,
    customer_seq: int,
    since: datetime,
    statuses: Sequence[WithdrawalStatus],
) -> tuple[int, datetime | None]:
    """The amounts of the customer's withdrawals in `statuses` requested after `since`,
    and when the oldest of them was requested."""
    row = (
        await session.execute(
            select(
                func.coalesce(func.sum(Withdrawal.amount), 0), func.min(Withdrawal.requested_at)
            ).where(
                Withdrawal.customer_seq == customer_seq,
                Withdrawal.status.in_(statuses),
                Withdrawal.requested_at > since,
            )
        )
    ).one()
    # MIN() takes its argument's type, so the timestamp comes back UTC-aware on SQLite too.
    return int(row[0]), row[1]


async def locked_controls(
    session: WriteSession, customer_seq: int, now: datetime
) -> WithdrawalControls:
    """The customer's controls row, created on first use, locked FOR UPDATE (PostgreSQL;
    SQLite's BEGIN IMMEDIATE already holds every other writer off)."""
    connection = await session.connection()
    insert = sqlite.insert if connection.dialect.name == "sqlite" else postgresql.insert
    await session.execute(
        insert(WithdrawalControls)
        .values(customer_seq=customer_seq, saved_addresses_only=False, updated_at=now)
        .on_conflict_do_nothing(index_elements=["customer_seq"])
    )
    controls = await session.scalar(
        select(WithdrawalControls)
        .where(WithdrawalControls.customer_seq == customer_seq)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    if controls is None:
        raise LookupError(f"no withdrawal controls for customer seq {customer_seq}")
    return controls


async def saved_address(
    session: AnySession, customer_seq: int, network: str, address: str
) -> WithdrawalAddress | None:
    return await session.scalar(
        select(WithdrawalAddress).where(
            WithdrawalAddress.customer_seq == customer_seq,
            WithdrawalAddress.network == network,
            WithdrawalAddress.address == address,
        )
    )


async def find_saved_address(
    session: AnySession, customer_seq: int, address_id: str
) -> WithdrawalAddress | None:
    return await session.scalar(
        select(WithdrawalAddress).where(
            WithdrawalAddress.customer_seq == customer_seq, WithdrawalAddress.id == address_id
        )
    )


async def count_saved_addresses(session: AnySession, customer_seq: int) -> int:
    count = await session.scalar(
        select(func.count())
        .select_from(WithdrawalAddress)
        .where(WithdrawalAddress.customer_seq == customer_seq)
    )
    return int(count or 0)


async def list_saved_addresses(
    session: AnySession, customer_seq: int, page: PageRequest
) -> list[tuple[int, WithdrawalAddress]]:
    query = select(WithdrawalAddress).where(WithdrawalAddress.customer_seq == customer_seq)
    if page.after_seq is not None:
        query = query.where(WithdrawalAddress.seq < page.after_seq)
    rows = await session.scalars(query.order_by(WithdrawalAddress.seq.desc()).limit(page.limit + 1))
    return [(a.seq, a) for a in rows]
