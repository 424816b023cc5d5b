"""Withdrawal approvals: the queue by status, each withdrawal reviewed on its own page and
approved or rejected with a reason, by the same calls as `mtx withdrawals`."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Form, Request
from fastapi.responses import Response

from miningtx.config import Settings
from miningtx.dashboard.deps import OperatorDep, page_work
from miningtx.dashboard.operator.forms import refused
from miningtx.dashboard.rendering import Redirect, render
from miningtx.dashboard.routing import console_pages
from miningtx.kit.db import Database
from miningtx.kit.deps import ReadDep
from miningtx.kit.errors import ApiError, invalid, not_found
from miningtx.kit.money import format_amount
from miningtx.models import WithdrawalStatus
from miningtx.wallet import repository as wallet_repo
from miningtx.wallet import service as wallet

router = console_pages()
PAGE = "/console/withdrawals"
REVIEW = "console/withdrawal_review.html"
STATUSES = tuple(status.value for status in WithdrawalStatus)


@router.get(PAGE, name="console_withdrawals")
async def withdrawal_queue(
    request: Request,
    operator: OperatorDep,
    session: ReadDep,
    status: str = WithdrawalStatus.PENDING,
) -> Response:
    if status not in STATUSES:
        raise invalid("status", f"Choose one of: {', '.join(STATUSES)}.")
    chosen = WithdrawalStatus(status)
    settings: Settings = request.app.state.settings
    withdrawals = await wallet_repo.list_for_review(session, chosen)
    approvers = await wallet_repo.approvers(session, [w.seq for w in withdrawals])
    return await render(
        request,
        "console/withdrawals.html",
        {
            "withdrawals": withdrawals,
            "approvals": {
                w.id: (
                    len(approvers[w.seq]),
                    wallet.approvals_required(w, settings.withdrawal_four_eyes_above),
                )
                for w in withdrawals
            },
            "status": chosen,
            "statuses": [(s, s) for s in STATUSES],
        },
    )


async def _review_context(request: Request, withdrawal_id: str) -> dict[str, Any]:
    db: Database = request.app.state.db
    async with db.read() as session:
        withdrawal = await wallet_repo.find_withdrawal(session, withdrawal_id)
        if withdrawal is None:
            raise not_found("withdrawal")
        settings: Settings = request.app.state.settings
        return {
            "withdrawal": withdrawal,
            "approved_by": (await wallet_repo.approvers(session, [withdrawal.seq]))[withdrawal.seq],
            "approvals_required": wallet.approvals_required(
                withdrawal, settings.withdrawal_four_eyes_above
            ),
            "customer_id": await wallet_repo.customer_id(session, withdrawal.customer_seq),
            "kyc_status": await wallet_repo.customer_kyc_status(session, withdrawal.customer_seq),
        }


@router.get(PAGE + "/{withdrawal_id}")
async def withdrawal_review(
    request: Request, operator: OperatorDep, withdrawal_id: str
) -> Response:
    return await render(request, REVIEW, await _review_context(request, withdrawal_id))


@router.post(PAGE + "/{withdrawal_id}/approve")
async def approve(request: Request, operator: OperatorDep, withdrawal_id: str) -> Response:
    settings: Settings = request.app.state.settings
    try:
        async with page_work(request) as work:
            withdrawal = await wallet.approve_withdrawal(
                work.session,
                withdrawal_id,
                work.now,
                operator=operator.ref,
                simulates=settings.simulates,
                four_eyes_above=settings.withdrawal_four_eyes_above,
            )
    except ApiError as error:
        if error.status == 404:
            raise
        context = await _review_context(request, withdrawal_id)
        return await refused(request, REVIEW, error, fields=(), context=context)
    if withdrawal.status == WithdrawalStatus.PENDING:
        raise Redirect(
            f"{PAGE}/{withdrawal_id}",
            flash=f"Your approval of {withdrawal_id} is recorded (1 of 2 approvals); it stays "
            "pending until another operator approves it.",
        )
    raise Redirect(f"{PAGE}/{withdrawal_id}", flash=f"{withdrawal_id} is now {withdrawal.status}.")


@router.post(PAGE + "/{withdrawal_id}/reject")
async def reject(
    request: Request,
    operator: OperatorDep,
    withdrawal_id: str,
    reason: Annotated[str, Form()] = "",
) -> Response:
    try:
        async with page_work(request) as work:
            withdrawal = await wallet.reject_withdrawal(
                work.session, withdrawal_id, work.now, reason, operator=operator.ref
            )
    except ApiError as error:
        if error.status == 404:
            raise
        context = await _review_context(request, withdrawal_id)
        return await refused(
            request, REVIEW, error, fields=("reason",), context=context, values={"reason": reason}
        )
    raise Redirect(
        PAGE,
        flash=f"{withdrawal_id} rejected; {format_amount(withdrawal.amount)} USDT returned.",
    )
