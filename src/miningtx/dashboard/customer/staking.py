"""Staking: the plans, a live payout preview and stake creation, all priced by
`staking.service.quote_stake`, the function POST /v1/staking/stakes prices with."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Form, Request
from fastapi.responses import Response

from miningtx.dashboard.customer.forms import database, parse_days, parse_form
from miningtx.dashboard.deps import CustomerDep, page_work
from miningtx.dashboard.rendering import Redirect, render, render_refused
from miningtx.dashboard.routing import customer_pages
from miningtx.kit.db import ReadSession
from miningtx.kit.errors import ApiError
from miningtx.kit.money import format_amount, format_decimal
from miningtx.kit.pagination import PageRequest, decode_cursor, make_page
from miningtx.staking import repository, service
from miningtx.staking.schemas import StakeIn

router = customer_pages()
PAGE = "/staking"
TEMPLATE = "customer_pages/staking.html"
PAGE_SIZE = 30
FIELDS = ("amount", "days")


def _roi(roi_e4: int) -> str:
    return format_decimal(roi_e4, 4)


async def _quote(session: ReadSession, amount: str, days: str) -> service.StakeQuote:
    body = parse_form(StakeIn, {"amount": amount.strip(), "days": parse_days(days)})
    return await service.quote_stake(session, body.amount, body.days)


async def _context(request: Request, principal: CustomerDep, cursor: str | None) -> dict[str, Any]:
    session: ReadSession
    async with database(request).read() as session:
        terms, plans = await repository.plans(session)
        page = PageRequest(PAGE_SIZE, decode_cursor(cursor) if cursor else None)
        rows = await repository.list_stakes(session, principal.customer_seq, page, None)
    stakes = make_page(rows, PAGE_SIZE)
    return {
        "terms": terms,
        "plans": [{"days": p.days, "roi": _roi(p.roi_e4)} for p in plans],
        "stakes": [{"stake": s, "roi": _roi(s.roi_e4)} for s in stakes.items],
        "next_cursor": stakes.next_cursor,
        "preview": None,
        "preview_error": None,
    }


@router.get(PAGE, name="staking")
async def staking(request: Request, principal: CustomerDep, cursor: str | None = None) -> Response:
    return await render(request, TEMPLATE, await _context(request, principal, cursor))


@router.get(f"{PAGE}/preview")
async def preview(request: Request, amount: str = "", days: str = "") -> Response:
    """The payout a stake would have, for htmx to show as the customer types."""
    context: dict[str, Any] = {"preview": None, "preview_error": None}
    if amount.strip() and days.strip():
        try:
            async with database(request).read() as session:
                quote = await _quote(session, amount, days)
            context["preview"] = {
                "amount": quote.amount,
                "days": quote.days,
                "roi": _roi(quote.roi_e4),
                "payout": quote.payout,
            }
        except ApiError as error:
            context["preview_error"] = error.message
    return await render(request, "customer_pages/_stake_preview.html", context)


@router.post(f"{PAGE}/stakes")
async def create_stake(
    request: Request,
    principal: CustomerDep,
    amount: Annotated[str, Form()] = "",
    days: Annotated[str, Form()] = "",
) -> Response:
    try:
        body = parse_form(StakeIn, {"amount": amount.strip(), "days": parse_days(days)})
        async with page_work(request) as work:
            stake = await service.create_stake(
                work.session, principal.customer, body.amount, body.days, work.now
            )
    except ApiError as error:
        return await render_refused(
            request,
            TEMPLATE,
            error,
            fields=FIELDS,
            values={"amount": amount, "days": days},
            context=await _context(request, principal, None),
        )
    raise Redirect(
        PAGE,
        flash=f"Stake {stake.id} created: {format_amount(stake.amount)} USDT for {stake.days} "
        f"days pays {format_amount(stake.payout)} USDT.",
    )
