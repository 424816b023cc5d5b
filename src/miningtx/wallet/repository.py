"""Queries of the wallet domain: deposit addresses, deposits, withdrawals."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select

from miningtx.kit.db import ReadSession, WriteSession
from miningtx.kit.pagination import PageRequest
from miningtx.models import (
    Customer,
    Deposit,
    DepositAddress,
    KycStatus,
    Operator,
    Withdrawal,
    WithdrawalApproval,
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
