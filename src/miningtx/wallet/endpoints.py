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
from miningtx.wallet import controls, repository, service
from miningtx.wallet.control_schemas import (
    AddressBookSettingsIn,
    AddressBookSettingsOut,
    DeletedWithdrawalAddressOut,
    WithdrawalAddressesOut,
    WithdrawalAddressIn,
    WithdrawalAddressOut,
    WithdrawalLimitsOut,
    render_address,
    render_address_mode,
    render_limits,
)
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
AddressIdPath = Annotated[str, Path(max_length=64)]


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
    `address` once approved. Needs verified KYC (403 `kyc_required`), must fit the rolling
    limits (403 `withdrawal_limit_exceeded`) and, in saved-addresses-only mode, go to a
    saved address past its cool-down (403 `address_not_allowed`)."""
    settings: Settings = request.app.state.settings
    async with unit_of_work(request, db, principal.customer_seq) as work:
        withdrawal = await service.request_withdrawal(
            work.session,
            principal.customer,
            amount=body.amount,
            network=body.network,
            address=body.address,
            terms=service.WithdrawalTerms.from_settings(settings),
            simulates=settings.simulates,
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


# Declared before /withdrawals/{withdrawal_id}, so "limits" is never read as an id.
@router.get("/withdrawals/limits", summary="Your withdrawal limits and what is left")
async def get_withdrawal_limits(
    request: Request, principal: PrincipalDep, db: DatabaseDep
) -> WithdrawalLimitsOut:
    """Your rolling 24-hour and 30-day limits, what counts against them and what is left."""
    settings: Settings = request.app.state.settings
    async with db.read() as session:
        limits = await controls.withdrawal_limits(
            session,
            principal.customer_seq,
            controls.ControlTerms.from_settings(settings),
            await db.clock.sync(session),
        )
    return render_limits(limits)


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


@router.get("/withdrawal_addresses", summary="List your saved withdrawal addresses")
async def list_withdrawal_addresses(
    principal: PrincipalDep, db: DatabaseDep, page: PageDep
) -> WithdrawalAddressesOut:
    async with db.read() as session:
        now = await db.clock.sync(session)
        rows = await controls.list_addresses(session, principal.customer_seq, page)
    result = make_page(rows, page.limit)
    return WithdrawalAddressesOut(
        data=[render_address(a, now) for a in result.items],
        has_more=result.has_more,
        next_cursor=result.next_cursor,
    )


@router.post(
    "/withdrawal_addresses",
    summary="Save a withdrawal address",
    response_model=WithdrawalAddressOut,
    responses={409: {}},
)
async def save_withdrawal_address(
    body: WithdrawalAddressIn, request: Request, principal: PrincipalDep, db: DatabaseDep
) -> JSONResponse:
    """Usable for withdrawals after MTX_WITHDRAWAL_ADDRESS_DELAY (default 24 hours); the
    API key is the second factor here (the dashboard asks for a TOTP code)."""
    settings: Settings = request.app.state.settings
    async with unit_of_work(request, db, principal.customer_seq) as work:
        saved = await controls.save_address(
            work.session,
            principal.customer,
            network=body.network,
            address=body.address,
            label=body.label,
            terms=controls.ControlTerms.from_settings(settings),
            now=work.now,
        )
        return await work.respond(200, render_address(saved, work.now))


@router.get(
    "/withdrawal_addresses/settings", summary="Whether you withdraw only to saved addresses"
)
async def get_address_book_settings(
    principal: PrincipalDep, db: DatabaseDep
) -> AddressBookSettingsOut:
    async with db.read() as session:
        mode = await controls.address_mode(
            session, principal.customer_seq, await db.clock.sync(session)
        )
    return render_address_mode(mode)


@router.post(
    "/withdrawal_addresses/settings",
    summary="Switch withdrawing only to saved addresses on or off",
    response_model=AddressBookSettingsOut,
)
async def set_address_book_settings(
    body: AddressBookSettingsIn, request: Request, principal: PrincipalDep, db: DatabaseDep
) -> JSONResponse:
    """On takes effect at once; off only after MTX_WITHDRAWAL_ADDRESS_DELAY."""
    settings: Settings = request.app.state.settings
    async with unit_of_work(request, db, principal.customer_seq) as work:
        mode = await controls.set_saved_addresses_only(
            work.session,
            principal.customer_seq,
            body.saved_addresses_only,
            controls.ControlTerms.from_settings(settings),
            work.now,
        )
        return await work.respond(200, render_address_mode(mode))


@router.delete(
    "/withdrawal_addresses/{address_id}",
    summary="Delete a saved withdrawal address",
    response_model=DeletedWithdrawalAddressOut,
    responses={404: {}},
)
async def delete_withdrawal_address(
    address_id: AddressIdPath, request: Request, principal: PrincipalDep, db: DatabaseDep
) -> JSONResponse:
    async with unit_of_work(request, db, principal.customer_seq) as work:
        saved = await controls.delete_address(
            work.session, principal.customer, address_id, work.now
        )
        return await work.respond(200, DeletedWithdrawalAddressOut(id=saved.id, deleted=True))


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
