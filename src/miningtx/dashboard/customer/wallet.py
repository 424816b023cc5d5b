"""Deposits and withdrawals: the deposit address and QR code, deposit history, the sandbox
deposit helper, and withdrawal request, cancel and status, through the wallet services
the /v1 wallet routes call."""

from __future__ import annotations

from typing import Annotated, Any

import segno
from fastapi import Form, Request
from fastapi.responses import Response
from markupsafe import Markup

from miningtx.config import Settings
from miningtx.customers import repository as customers
from miningtx.dashboard.customer.forms import database, parse_form
from miningtx.dashboard.deps import CustomerDep, page_work, require_totp_code
from miningtx.dashboard.rendering import Redirect, render, render_refused
from miningtx.dashboard.routing import customer_pages
from miningtx.kit.db import ReadSession
from miningtx.kit.errors import ApiError, invalid, not_found
from miningtx.kit.money import format_amount
from miningtx.kit.networks import NETWORKS
from miningtx.kit.pagination import PageRequest, decode_cursor, make_page
from miningtx.models import DepositAddress, WithdrawalStatus
from miningtx.wallet import controls, repository, service
from miningtx.wallet.schemas import TestDepositIn, WithdrawalIn

router = customer_pages()
DEPOSITS = "/deposits"
WITHDRAWALS = "/withdrawals"
NETWORK_LABELS = {"bsc": "BNB Smart Chain (BEP-20)", "polygon": "Polygon (PoS)"}
PAGE_SIZE = 30


def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def _page(cursor: str | None) -> PageRequest:
    return PageRequest(PAGE_SIZE, decode_cursor(cursor) if cursor else None)


# --- deposits ----------------------------------------------------------------------------


async def _deposit_address(request: Request, customer_seq: int) -> DepositAddress:
    """The customer's address, allocated on first use: GET /v1/deposits/address's steps."""
    db = database(request)
    async with db.read() as session:
        row = await repository.deposit_address(session, customer_seq)
    if row is None:
        async with page_work(request) as work:
            row = await service.assign_deposit_address(
                work.session, customer_seq, request.app.state.wallet_xpub, work.now
            )
    return row


async def _deposits_context(
    request: Request, principal: CustomerDep, network: str, cursor: str | None
) -> dict[str, Any]:
    if network not in NETWORKS:
        raise invalid("network", f"network must be one of {', '.join(NETWORKS)}.")
    address = await _deposit_address(request, principal.customer_seq)
    qr = segno.make(address.address, error="m").svg_inline(scale=5, dark="#111", light="#fff")
    session: ReadSession
    async with database(request).read() as session:
        rows = await repository.list_deposits(session, principal.customer_seq, _page(cursor))
    deposits = make_page(rows, PAGE_SIZE)
    return {
        "network": network,
        "networks": [(n, NETWORK_LABELS[n]) for n in NETWORKS],
        "network_name": NETWORK_LABELS[network],
        "address": address.address,
        "qr": Markup(qr),  # noqa: S704  # segno's own SVG of an address we derived
        "min_deposit": _settings(request).network(network).min_deposit,
        "deposits": deposits.items,
        "next_cursor": deposits.next_cursor,
    }


@router.get(DEPOSITS, name="deposits")
async def deposits(
    request: Request, principal: CustomerDep, network: str = "bsc", cursor: str | None = None
) -> Response:
    context = await _deposits_context(request, principal, network, cursor)
    return await render(request, "customer_pages/deposits.html", context)


@router.post(f"{DEPOSITS}/sandbox")
async def sandbox_deposit(
    request: Request,
    principal: CustomerDep,
    network: Annotated[str, Form()] = "bsc",
    amount: Annotated[str, Form()] = "",
) -> Response:
    """What POST /v1/test_helpers/deposits does: credit a confirmed deposit (sandbox only)."""
    if not _settings(request).sandbox:
        raise not_found("page")
    try:
        body = parse_form(TestDepositIn, {"network": network, "amount": amount.strip()})
        async with page_work(request) as work:
            deposit = await service.credit_test_deposit(
                work.session,
                principal.customer,
                network=body.network,
                amount=body.amount,
                min_deposit=_settings(request).network(body.network).min_deposit,
                now=work.now,
            )
    except ApiError as error:
        shown = network if network in NETWORKS else "bsc"
        return await render_refused(
            request,
            "customer_pages/deposits.html",
            error,
            fields=("network", "amount"),
            values={"network": network, "amount": amount},
            context=await _deposits_context(request, principal, shown, None),
        )
    raise Redirect(
        f"{DEPOSITS}?network={deposit.network}",
        flash=f"Sandbox deposit of {format_amount(deposit.amount)} USDT credited.",
    )


# --- withdrawals -------------------------------------------------------------------------


async def _withdrawals_context(
    request: Request, principal: CustomerDep, cursor: str | None
) -> dict[str, Any]:
    session: ReadSession
    async with database(request).read() as session:
        rows = await repository.list_withdrawals(
            session, principal.customer_seq, _page(cursor), None
        )
        kyc_status = await repository.customer_kyc_status(session, principal.customer_seq)
        now = await database(request).clock.sync(session)
        limits = await controls.withdrawal_limits(
            session,
            principal.customer_seq,
            controls.ControlTerms.from_settings(_settings(request)),
            now,
        )
        address_mode = await controls.address_mode(session, principal.customer_seq, now)
    async with database(request).read_engine.connect() as connection:
        balance = await customers.balance(connection, principal.customer_seq)
    withdrawals = make_page(rows, PAGE_SIZE)
    terms = service.WithdrawalTerms.from_settings(_settings(request))
    return {
        "withdrawals": withdrawals.items,
        "next_cursor": withdrawals.next_cursor,
        "networks": [(n, NETWORK_LABELS[n]) for n in NETWORKS],
        "terms": terms,
        "kyc_status": kyc_status,
        "available_balance": balance.available,
        "limits": limits,
        "address_mode": address_mode,
    }


@router.get(WITHDRAWALS, name="withdrawals")
async def withdrawals(
    request: Request, principal: CustomerDep, cursor: str | None = None
) -> Response:
    context = await _withdrawals_context(request, principal, cursor)
    return await render(request, "customer_pages/withdrawals.html", context)


@router.post(WITHDRAWALS)
async def request_withdrawal(
    request: Request,
    principal: CustomerDep,
    *,
    amount: Annotated[str, Form()] = "",
    network: Annotated[str, Form()] = "",
    address: Annotated[str, Form()] = "",
    totp_code: Annotated[str | None, Form()] = None,
) -> Response:
    try:
        body = parse_form(
            WithdrawalIn, {"amount": amount.strip(), "network": network, "address": address.strip()}
        )
        async with page_work(request) as work:
            await require_totp_code(request, work, principal, totp_code)
            withdrawal = await service.request_withdrawal(
                work.session,
                principal.customer,
                amount=body.amount,
                network=body.network,
                address=body.address,
                terms=service.WithdrawalTerms.from_settings(_settings(request)),
                simulates=_settings(request).simulates,
                now=work.now,
            )
    except ApiError as error:
        return await render_refused(
            request,
            "customer_pages/withdrawals.html",
            error,
            fields=("amount", "network", "address", "totp_code"),
            values={"amount": amount, "network": network, "address": address},
            context=await _withdrawals_context(request, principal, None),
        )
    outcome = (
        "it is pending review."
        if withdrawal.status == WithdrawalStatus.PENDING
        else f"it was approved automatically and is {withdrawal.status}."
    )
    raise Redirect(
        WITHDRAWALS,
        flash=f"Withdrawal {withdrawal.id} of {format_amount(withdrawal.amount)} USDT requested: "
        f"{outcome}",
    )


@router.post(WITHDRAWALS + "/{withdrawal_id}/cancel")
async def cancel_withdrawal(
    request: Request, principal: CustomerDep, withdrawal_id: str
) -> Response:
    try:
        async with page_work(request) as work:
            withdrawal = await service.cancel_withdrawal(
                work.session, principal.customer, withdrawal_id[:64], work.now
            )
    except ApiError as error:
        return await render_refused(
            request,
            "customer_pages/withdrawals.html",
            error,
            fields=(),
            context={
                **await _withdrawals_context(request, principal, None),
                "refused_withdrawal": withdrawal_id,
            },
        )
    raise Redirect(
        WITHDRAWALS,
        flash=f"Withdrawal {withdrawal.id} cancelled: {format_amount(withdrawal.amount)} USDT "
        "is back in your available balance.",
    )
