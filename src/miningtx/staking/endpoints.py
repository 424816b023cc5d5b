"""HTTP routes of staking: plans, stakes."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import JSONResponse

from miningtx.customers.auth import PrincipalDep, auth_dependencies
from miningtx.kit.deps import DatabaseDep, ReadDep
from miningtx.kit.enums import ApiEnum
from miningtx.kit.errors import not_found
from miningtx.kit.idempotency import unit_of_work
from miningtx.kit.pagination import PageRequest, make_page, page_request
from miningtx.models import StakeStatus
from miningtx.staking import repository, service
from miningtx.staking.presenters import render_stake
from miningtx.staking.schemas import PlanOut, PlansOut, StakeIn, StakeOut, StakesOut

router = APIRouter(tags=["Staking"], dependencies=auth_dependencies)
PageDep = Annotated[PageRequest, Depends(page_request)]


@router.get("/staking/plans", summary="List staking plans and amount limits")
async def list_plans(session: ReadDep, _: PrincipalDep) -> PlansOut:
    terms, plans = await repository.plans(session)
    return PlansOut(
        min_amount=terms.min_amount,
        max_amount=terms.max_amount,
        plans=[PlanOut(days=p.days, roi_percent=p.roi_e4) for p in plans],
    )


@router.post(
    "/staking/stakes",
    summary="Stake USDT for a fixed term",
    response_model=StakeOut,
    responses={402: {}, 409: {}},
)
async def create_stake(
    body: StakeIn, request: Request, principal: PrincipalDep, db: DatabaseDep
) -> JSONResponse:
    """Lock `amount` from `available` for `days`; the payout is credited at `end_time`.
    The operator reserves the whole return at once; 409 `sold_out` when it cannot."""
    async with unit_of_work(request, db, principal.customer_seq) as work:
        stake = await service.create_stake(
            work.session, principal.customer, body.amount, body.days, work.now
        )
        return await work.respond(200, render_stake(stake))


@router.get("/staking/stakes", summary="List your stakes")
async def list_stakes(
    session: ReadDep,
    principal: PrincipalDep,
    page: PageDep,
    status: Annotated[
        ApiEnum[StakeStatus] | None,
        Query(description="Filter by active or completed."),
    ] = None,
) -> StakesOut:
    rows = await repository.list_stakes(session, principal.customer_seq, page, status)
    result = make_page(rows, page.limit)
    return StakesOut(
        stakes=[render_stake(s) for s in result.items],
        has_more=result.has_more,
        next_cursor=result.next_cursor,
    )


@router.get("/staking/stakes/{stake_id}", summary="Get one of your stakes", responses={404: {}})
async def get_stake(
    session: ReadDep,
    principal: PrincipalDep,
    stake_id: Annotated[str, Path(max_length=64)],
) -> StakeOut:
    stake = await repository.get_stake(session, principal.customer_seq, stake_id)
    if stake is None:
        raise not_found("stake", "stake_id")
    return render_stake(stake)
