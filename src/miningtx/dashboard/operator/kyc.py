"""The KYC queue: pending identity checks, each reviewed on its own page and approved
(which pays the welcome bonus) or rejected with a reason, by the same calls as `mtx kyc`."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Form, Request
from fastapi.responses import Response

from miningtx.customers import kyc
from miningtx.customers import repository as customers_repo
from miningtx.customers.service import get_customer
from miningtx.dashboard.deps import OperatorDep, page_work
from miningtx.dashboard.operator.forms import refused
from miningtx.dashboard.rendering import Redirect, render
from miningtx.dashboard.routing import console_pages
from miningtx.kit.db import Database
from miningtx.kit.deps import ReadDep
from miningtx.kit.errors import ApiError
from miningtx.kit.money import format_amount

router = console_pages()
PAGE = "/console/kyc"
REVIEW = "console/kyc_review.html"


@router.get(PAGE, name="console_kyc")
async def kyc_queue(request: Request, operator: OperatorDep, session: ReadDep) -> Response:
    pending = await customers_repo.pending_kyc(session)
    return await render(request, "console/kyc.html", {"pending": pending})


async def _review_context(request: Request, customer_id: str) -> dict[str, Any]:
    db: Database = request.app.state.db
    async with db.read() as session:
        return {"customer": await get_customer(session, customer_id)}


@router.get(PAGE + "/{customer_id}")
async def kyc_review(request: Request, operator: OperatorDep, customer_id: str) -> Response:
    return await render(request, REVIEW, await _review_context(request, customer_id))


@router.post(PAGE + "/{customer_id}/approve")
async def approve(request: Request, operator: OperatorDep, customer_id: str) -> Response:
    try:
        async with page_work(request) as work:
            decision = await kyc.approve_kyc(
                work.session, customer_id, work.now, operator=operator.ref
            )
    except ApiError as error:
        if error.status == 404:
            raise
        context = await _review_context(request, customer_id)
        return await refused(request, REVIEW, error, fields=(), context=context)
    if decision.already_verified:
        raise Redirect(PAGE, flash=f"{customer_id} was already verified; no second bonus.")
    raise Redirect(
        PAGE,
        flash=f"{customer_id} verified; welcome bonus {format_amount(kyc.KYC_BONUS)} USDT "
        "credited.",
    )


@router.post(PAGE + "/{customer_id}/reject")
async def reject(
    request: Request,
    operator: OperatorDep,
    customer_id: str,
    reason: Annotated[str, Form()] = "",
) -> Response:
    try:
        async with page_work(request) as work:
            await kyc.reject_kyc(work.session, customer_id, work.now, reason, operator=operator.ref)
    except ApiError as error:
        if error.status == 404:
            raise
        context = await _review_context(request, customer_id)
        return await refused(
            request, REVIEW, error, fields=("reason",), context=context, values={"reason": reason}
        )
    raise Redirect(PAGE, flash=f"{customer_id} KYC rejected.")
