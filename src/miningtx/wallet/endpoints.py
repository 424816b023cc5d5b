"""Sandbox test helpers for deposits (registered only in sandbox mode)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from miningtx.customers.auth import PrincipalDep, auth_dependencies
from miningtx.kit.deps import DatabaseDep
from miningtx.kit.idempotency import unit_of_work
from miningtx.models import Deposit
from miningtx.wallet import service
from miningtx.wallet.schemas import DepositOut, TestDepositIn

router = APIRouter(tags=["Wallet"], dependencies=auth_dependencies)
test_helpers = APIRouter(tags=["Sandbox test helpers"], dependencies=auth_dependencies)


def render_deposit(d: Deposit) -> DepositOut:
    return DepositOut(
        id=d.id,
        network=d.network,
        amount=d.amount,
        status=d.status,
        confirmations=d.confirmations,
        tx_hash=d.tx_hash,
        created_at=d.created_at,
        credited_at=d.credited_at,
    )


@test_helpers.post(
    "/test_helpers/deposits",
    summary="Sandbox only: credit yourself a confirmed deposit",
    response_model=DepositOut,
)
async def create_test_deposit(
    body: TestDepositIn, request: Request, principal: PrincipalDep, db: DatabaseDep
) -> JSONResponse:
    if body.amount < service.MIN_DEPOSIT:
        raise service.below_minimum()
    async with unit_of_work(request, db, principal.customer_seq) as work:
        deposit = await service.credit_deposit(
            work.session,
            customer_seq=principal.customer_seq,
            customer_id=principal.customer_id,
            network=body.network,
            amount=body.amount,
            now=work.now,
        )
        return await work.respond(200, render_deposit(deposit))
