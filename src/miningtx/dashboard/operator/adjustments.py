"""Manual adjustments: propose a credit or debit to a customer, and approve or reject the
proposals of other operators, by the same calls as `mtx adjustments`. Both roles may
propose and decide; the service refuses the proposer's own approval."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Form, Request
from fastapi.responses import Response

from miningtx.adjustments import service as adjustments
from miningtx.dashboard.deps import OperatorDep, page_work
from miningtx.dashboard.operator.forms import amount_field, refused
from miningtx.dashboard.rendering import Redirect, render
from miningtx.dashboard.routing import console_pages
from miningtx.kit.db import Database
from miningtx.kit.errors import ApiError
from miningtx.models import AdjustmentStatus

router = console_pages()
PAGE = "/console/adjustments"
TEMPLATE = "console/adjustments.html"
PROPOSE_FIELDS = ("customer", "direction", "amount", "category", "reason")
Text = Annotated[str, Form()]


async def _context(request: Request, failed: str | None = None) -> dict[str, Any]:
    db: Database = request.app.state.db
    async with db.read() as session:
        rows = await adjustments.listing(session, limit=100)
    return {
        "proposed": [r for r in rows if r["status"] == AdjustmentStatus.PROPOSED],
        "decided": [r for r in rows if r["status"] != AdjustmentStatus.PROPOSED],
        "direction_options": [(d, d) for d in adjustments.DIRECTIONS],
        "category_options": [(c, c.replace("_", " ")) for c in adjustments.CATEGORIES],
        "failed": failed,
    }


@router.get(PAGE, name="console_adjustments")
async def adjustments_page(request: Request, operator: OperatorDep) -> Response:
    return await render(request, TEMPLATE, await _context(request))


@router.post(PAGE)
async def propose(
    request: Request,
    *,
    operator: OperatorDep,
    customer: Text = "",
    direction: Text = "",
    amount: Text = "",
    category: Text = "",
    reason: Text = "",
) -> Response:
    values = {
        "customer": customer,
        "direction": direction,
        "amount": amount,
        "category": category,
        "reason": reason,
    }
    try:
        units = amount_field("amount", amount)
        async with page_work(request) as work:
            proposed = await adjustments.propose(
                work.session,
                customer_id=customer,
                direction=direction,
                amount=units,
                category=category,
                reason=reason,
                operator=operator.ref,
                now=work.now,
            )
    except ApiError as error:
        context = await _context(request, "propose")
        return await refused(
            request, TEMPLATE, error, fields=PROPOSE_FIELDS, context=context, values=values
        )
    raise Redirect(PAGE, flash=f"Proposed {proposed.id}; it waits for another operator's approval.")


@router.post(PAGE + "/{adjustment_id}/approve")
async def approve(request: Request, operator: OperatorDep, adjustment_id: str) -> Response:
    try:
        async with page_work(request) as work:
            approved = await adjustments.approve(
                work.session, adjustment_id, operator=operator.ref, now=work.now
            )
    except ApiError as error:
        if error.status == 404:
            raise
        context = await _context(request, adjustment_id)
        return await refused(request, TEMPLATE, error, fields=(), context=context)
    raise Redirect(PAGE, flash=f"{approved.id} approved and posted.")


@router.post(PAGE + "/{adjustment_id}/reject")
async def reject(
    request: Request, operator: OperatorDep, adjustment_id: str, reason: Text = ""
) -> Response:
    try:
        async with page_work(request) as work:
            rejected = await adjustments.reject(
                work.session, adjustment_id, reason, operator=operator.ref, now=work.now
            )
    except ApiError as error:
        if error.status == 404:
            raise
        context = await _context(request, adjustment_id)
        return await refused(request, TEMPLATE, error, fields=(), context=context)
    raise Redirect(PAGE, flash=f"{rejected.id} rejected; nothing posted.")
