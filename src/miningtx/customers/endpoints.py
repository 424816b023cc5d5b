"""HTTP routes for the caller's account, KYC submission, balance and transaction history."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse

from miningtx.customers import kyc, repository
from miningtx.customers.auth import PrincipalDep, auth_dependencies
from miningtx.customers.schemas import (
    AccountOut,
    BalanceOut,
    KycIn,
    TransactionOut,
    TransactionsOut,
    TransactionType,
)
from miningtx.kit.deps import DatabaseDep, ReadConnectionDep, ReadDep
from miningtx.kit.idempotency import unit_of_work
from miningtx.kit.pagination import PageRequest, make_page, page_request
from miningtx.models import Customer

router = APIRouter(tags=["Account"], dependencies=auth_dependencies)


@router.get("/account", summary="Your account")
async def get_account(session: ReadDep, principal: PrincipalDep) -> AccountOut:
    return render_account(await repository.customer(session, principal.customer_seq))


def render_account(c: Customer) -> AccountOut:
    return AccountOut(
        id=c.id,
        username=c.username,
        email=c.email,
        kyc_status=c.kyc_status,
        kyc_bonus_credited=c.kyc_bonus_credited,
        referral_code=c.referral_code,
        created_at=c.created_at,
    )


@router.post(
    "/account/kyc",
    summary="Submit your KYC details for review",
    response_model=AccountOut,
    responses={409: {}},
)
async def submit_kyc(
    body: KycIn, request: Request, principal: PrincipalDep, db: DatabaseDep
) -> JSONResponse:
    """Your KYC becomes `pending` until the operator decides. Allowed while `unverified` or
    after a rejection; 409 `conflict` while under review or once verified."""
    async with unit_of_work(request, db, principal.customer_seq) as work:
        customer = await kyc.submit_kyc(
            work.session,
            principal.customer_seq,
            full_name=body.full_name,
            date_of_birth=body.date_of_birth,
            country=body.country,
            document_type=body.document_type,
            document_number=body.document_number,
            now=work.now,
        )
        return await work.respond(200, render_account(customer))


@router.get("/balance", summary="Your balances")
async def get_balance(connection: ReadConnectionDep, principal: PrincipalDep) -> BalanceOut:
    row = await repository.balance(connection, principal.customer_seq)
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
