"""HTTP routes of the wallet: deposit address, deposits, withdrawals, sandbox deposits."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import JSONResponse

from miningtx.config import Settings
from miningtx.customers.auth import PrincipalDep, auth_dependencies
from miningtx.kit.deps import DatabaseDep, ReadDep
from miningtx.kit.errors import not_found
from miningtx.kit.idempotency import unit_of_work
from miningtx.kit.networks import Network
from miningtx.kit.pagination import PageRequest, make_page, page_request
from miningtx.wallet import repository, service
from miningtx.wallet.schemas import (
    DepositAddressOut,
    DepositOut,
    DepositsOut,
    TestDepositIn,
    WithdrawalIn,
    WithdrawalOut,
    WithdrawalsOut,
    WithdrawalStatusField,
    render_deposit,
    render_withdrawal,
)

router = APIRouter(tags=["Wallet"], dependencies=auth_dependencies)
test_helpers = APIRouter(tags=["Sandbox test helpers"], dependencies=auth_dependencies)
PageDep = Annotated[PageRequest, Depends(page_request)]
WithdrawalIdPath = Annotated[str, Path(max_length=64)]


@router.get("/deposits/address", summary="Get your USDT deposit address")
async def get_deposit_address(
    request: Request,
    principal: PrincipalDep,
    db: DatabaseDep,
    network: Annotated[Network, Query(description="One of bsc or polygon.")],
) -> DepositAddressOut:
    """Your own deposit address; it never changes and serves both networks."""
    async with db.read() as session:
        row = await repository.deposit_address(session, principal.customer_seq)
    if row is None:
        xpub: str = request.app.state.wallet_xpub
        async with db.write() as session:
            row = await service.assign_deposit_address(
                session, principal.customer_seq, xpub, await db.clock.sync(session)
            )
    settings: Settings = request.app.state.settings
    return DepositAddressOut(
        network=network,
        address=row.address,
        min_deposit=settings.network(network).min_deposit,
    )


@router.get("/deposits", summary="List your deposits")
async def list_deposits(session: ReadDep, principal: PrincipalDep, page: PageDep) -> DepositsOut:
    rows = await repository.list_deposits(session, principal.customer_seq, page)
    result = make_page(rows, page.limit)
    return DepositsOut(
        data=[render_deposit(d) for d in result.items],
        has_more=result.has_more,
        next_cursor=result.next_cursor,
    )


@router.post(
    "/withdrawals",
    summary="Request a withdrawal",
    response_model=WithdrawalOut,
    responses={402: {}, 403: {}},
)
async def request_withdrawal(
    body: WithdrawalIn, request: Request, principal: PrincipalDep, db: DatabaseDep
) -> JSONResponse:
    """Hold `amount` from `available` and queue it for review; `amount - fee` is sent to
    `address` once approved. Needs verified KYC (403 `kyc_required`)."""
    settings: Settings = request.app.state.settings
    async with unit_of_work(request, db, principal.customer_seq) as work:
        withdrawal = await service.request_withdrawal(
            work.session,
            principal.customer,
            amount=body.amount,
            network=body.network,
            address=body.address,
            terms=service.WithdrawalTerms.from_settings(settings),
            now=work.now,
        )
        return await work.respond(200, render_withdrawal(withdrawal))


@router.get("/withdrawals", summary="List your withdrawals")
async def list_withdrawals(
    session: ReadDep,
    principal: PrincipalDep,
    page: PageDep,
    status: Annotated[WithdrawalStatusField | None, Query(description="Only this status.")] = None,
) -> WithdrawalsOut:
    rows = await repository.list_withdrawals(session, principal.customer_seq, page, status)
    result = make_page(rows, page.limit)
    return WithdrawalsOut(
        data=[render_withdrawal(w) for w in result.items],
        has_more=result.has_more,
        next_cursor=result.next_cursor,
    )


@router.get(
    "/withdrawals/{withdrawal_id}", summary="Get one of your withdrawals", responses={404: {}}
)
async def get_withdrawal(
    session: ReadDep, principal: PrincipalDep, withdrawal_id: WithdrawalIdPath
) -> WithdrawalOut:
    withdrawal = await repository.find_withdrawal(session, withdrawal_id, principal.customer_seq)
    if withdrawal is None:
        raise not_found("withdrawal", "withdrawal_id")
    return render_withdrawal(withdrawal)


@router.post(
    "/withdrawals/{withdrawal_id}/cancel",
    summary="Cancel a withdrawal still pending review",
    response_model=WithdrawalOut,
    responses={404: {}, 409: {}},
)
async def cancel_withdrawal(
    withdrawal_id: WithdrawalIdPath, request: Request, principal: PrincipalDep, db: DatabaseDep
) -> JSONResponse:
    """Only a `pending` withdrawal can be cancelled (409 `conflict` otherwise); its whole
    amount returns to `available`."""
    async with unit_of_work(request, db, principal.customer_seq) as work:
        withdrawal = await service.cancel_withdrawal(
            work.session, principal.customer, withdrawal_id, work.now
        )
        return await work.respond(200, render_withdrawal(withdrawal))


@test_helpers.post(
    "/test_helpers/deposits",
    summary="Sandbox only: credit yourself a confirmed deposit",
    response_model=DepositOut,
)
async def create_test_deposit(
    body: TestDepositIn, request: Request, principal: PrincipalDep, db: DatabaseDep
) -> JSONResponse:
    settings: Settings = request.app.state.settings
    async with unit_of_work(request, db, principal.customer_seq) as work:
        deposit = await service.credit_test_deposit(
            work.session,
            principal.customer,
            network=body.network,
            amount=body.amount,
            min_deposit=settings.network(body.network).min_deposit,
            now=work.now,
        )
        return await work.respond(200, render_deposit(deposit))
