"""HTTP routes for the caller's account, balance and transaction history."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query

from miningtx.customers import repository
from miningtx.customers.auth import PrincipalDep, auth_dependencies
from miningtx.customers.schemas import (
    AccountOut,
    BalanceOut,
    TransactionOut,
    TransactionsOut,
    TransactionType,
)
from miningtx.kit.deps import ReadDep
from miningtx.kit.pagination import PageRequest, make_page, page_request

router = APIRouter(tags=["Account"], dependencies=auth_dependencies)


@router.get("/account", summary="Your account")
async def get_account(session: ReadDep, principal: PrincipalDep) -> AccountOut:
    c = await repository.customer(session, principal.customer_seq)
    return AccountOut(
        id=c.id,
        username=c.username,
        email=c.email,
        kyc_status=c.kyc_status,
        kyc_bonus_credited=c.kyc_bonus_credited,
        referral_code=c.referral_code,
        created_at=c.created_at,
    )


@router.get("/balance", summary="Your balances")
async def get_balance(session: ReadDep, principal: PrincipalDep) -> BalanceOut:
    row = await repository.balance(session, principal.customer_seq)
    return BalanceOut(
        available=row.available,
        in_contracts=row.in_contracts,
        total_rewards=row.total_rewards,
        in_stakes=row.in_stakes,
        pending_withdrawals=row.pending_withdrawals,
    )


@router.get("/transactions", summary="Your ledger history, newest first")
async def list_transactions(
    session: ReadDep,
    principal: PrincipalDep,
    page: Annotated[PageRequest, Depends(page_request)],
    type: Annotated[TransactionType | None, Query(description="Filter by type.")] = None,
) -> TransactionsOut:
    rows = await repository.transactions(session, principal.customer_seq, page, type)
    result = make_page(rows, page.limit)
    return TransactionsOut(
        data=[
            TransactionOut(
                id=t.id,
                type=t.kind,
                amount=t.amount,
                direction=t.direction,
                date=t.value_date,
                created_at=t.created_at,
                reference=t.reference,
            )
            for t in result.items
        ],
        has_more=result.has_more,
        next_cursor=result.next_cursor,
    )
