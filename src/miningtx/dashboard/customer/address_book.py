"""The address book page: saved withdrawal addresses (saving asks for a TOTP code when
two-factor is on), deleting, the saved-addresses-only switch, and the withdrawal limits,
through the `wallet.controls` services the /v1 routes call."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Form, Request
from fastapi.responses import Response

from miningtx.config import Settings
from miningtx.dashboard.customer.forms import database, parse_form
from miningtx.dashboard.deps import CustomerDep, page_work, require_totp_code
from miningtx.dashboard.rendering import Redirect, render, render_refused
from miningtx.dashboard.routing import customer_pages
from miningtx.kit.db import ReadSession
from miningtx.kit.errors import ApiError
from miningtx.kit.networks import NETWORKS
from miningtx.kit.pagination import PageRequest
from miningtx.wallet import controls
from miningtx.wallet.control_schemas import (
    AddressBookSettingsIn,
    WithdrawalAddressIn,
    render_address,
)

router = customer_pages()
ADDRESS_BOOK = "/withdrawals/addresses"
TEMPLATE = "customer_pages/address_book.html"
FIELDS = ("network", "address", "label", "totp_code")


def _terms(request: Request) -> controls.ControlTerms:
    settings: Settings = request.app.state.settings
    return controls.ControlTerms.from_settings(settings)


async def address_book_context(request: Request, customer_seq: int) -> dict[str, Any]:
    """Saved addresses, the mode and the limits, as the page (and the withdrawals page) show."""
    db = database(request)
    session: ReadSession
    async with db.read() as session:
        now = await db.clock.sync(session)
        rows = await controls.list_addresses(
            session, customer_seq, PageRequest(controls.MAX_SAVED_ADDRESSES, None)
        )
        mode = await controls.address_mode(session, customer_seq, now)
        limits = await controls.withdrawal_limits(session, customer_seq, _terms(request), now)
    return {
        "addresses": [render_address(saved, now) for _, saved in rows],
        "address_mode": mode,
        "limits": limits,
        "address_delay_hours": _terms(request).address_delay.total_seconds() / 3600,
        "networks": [(n, n) for n in NETWORKS],
    }


@router.get(ADDRESS_BOOK, name="withdrawal_addresses")
async def address_book(request: Request, principal: CustomerDep) -> Response:
    context = await address_book_context(request, principal.customer_seq)
    return await render(request, TEMPLATE, context)


@router.post(ADDRESS_BOOK)
async def save_address(
    request: Request,
    principal: CustomerDep,
    *,
    network: Annotated[str, Form()] = "",
    address: Annotated[str, Form()] = "",
    label: Annotated[str, Form()] = "",
    totp_code: Annotated[str | None, Form()] = None,
) -> Response:
    try:
        body = parse_form(
            WithdrawalAddressIn,
            {"network": network, "address": address.strip(), "label": label.strip() or None},
        )
        async with page_work(request) as work:
            await require_totp_code(request, work, principal, totp_code)
            saved = await controls.save_address(
                work.session,
                principal.customer,
                network=body.network,
                address=body.address,
                label=body.label,
                terms=_terms(request),
                now=work.now,
            )
    except ApiError as error:
        return await render_refused(
            request,
            TEMPLATE,
            error,
            fields=FIELDS,
            values={"network": network, "address": address, "label": label},
            context=await address_book_context(request, principal.customer_seq),
        )
    raise Redirect(
        ADDRESS_BOOK,
        flash=f"Address {saved.address} saved: usable for withdrawals from "
        f"{saved.usable_at:%Y-%m-%d %H:%M} UTC.",
    )


@router.post(ADDRESS_BOOK + "/{address_id}/delete")
async def delete_address(request: Request, principal: CustomerDep, address_id: str) -> Response:
    try:
        async with page_work(request) as work:
            saved = await controls.delete_address(
                work.session, principal.customer, address_id[:64], work.now
            )
    except ApiError as error:
        return await render_refused(
            request,
            TEMPLATE,
            error,
            fields=(),
            context=await address_book_context(request, principal.customer_seq),
        )
    raise Redirect(ADDRESS_BOOK, flash=f"Address {saved.address} deleted.")


@router.post(ADDRESS_BOOK + "/mode")
async def set_mode(
    request: Request,
    principal: CustomerDep,
    saved_addresses_only: Annotated[str, Form()] = "",
) -> Response:
    try:
        body = parse_form(
            AddressBookSettingsIn,
            {"saved_addresses_only": {"on": True, "off": False}.get(saved_addresses_only)},
        )
        async with page_work(request) as work:
            mode = await controls.set_saved_addresses_only(
                work.session,
                principal.customer_seq,
                body.saved_addresses_only,
                _terms(request),
                work.now,
            )
    except ApiError as error:
        return await render_refused(
            request,
            TEMPLATE,
            error,
            fields=(),
            context=await address_book_context(request, principal.customer_seq),
        )
    if not mode.saved_addresses_only:
        flash = "Withdrawals may go to any address."
    elif mode.turns_off_at is not None:
        flash = (
            "Withdrawals stay limited to saved addresses until "
            f"{mode.turns_off_at:%Y-%m-%d %H:%M} UTC."
        )
    else:
        flash = "Withdrawals now go only to saved addresses past their cool-down."
    raise Redirect(ADDRESS_BOOK, flash=flash)
