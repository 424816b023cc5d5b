"""HTTP routes of the mining domain: catalog, activation, activations, rewards."""

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
from miningtx.mining import repository, service
from miningtx.mining.schemas import (
    ActivateIn,
    ActivationOut,
    ActivationsOut,
    CatalogOut,
    RewardOut,
    RewardsOut,
    render_activation,
    render_contract,
)
from miningtx.models import ActivationStatus

router = APIRouter(tags=["Mining"], dependencies=auth_dependencies)
PageDep = Annotated[PageRequest, Depends(page_request)]


@router.get("/contracts", summary="List mining contracts for sale")
async def list_contracts(session: ReadDep, _: PrincipalDep) -> CatalogOut:
    entries = await repository.catalog(session)
    return CatalogOut(contracts=[render_contract(e.contract, e.available) for e in entries])


@router.post(
    "/contracts/activate",
    summary="Activate a mining contract",
    response_model=ActivationOut,
    responses={402: {}, 404: {}, 409: {}},
)
async def activate_contract(
    body: ActivateIn, request: Request, principal: PrincipalDep, db: DatabaseDep
) -> JSONResponse:
    """Pay the contract's price from `available` and start it. The operator reserves its
    whole promised reward at once; 409 `sold_out` when capacity or the pool is short."""
    async with unit_of_work(request, db, principal.customer_seq) as work:
        activation = await service.activate(
            work.session, principal.customer, body.contract_id, work.now, cutoff=db.clock.cutoff
        )
        return await work.respond(200, render_activation(activation))


@router.get("/contracts/activations", summary="List your contracts")
async def list_activations(
    session: ReadDep,
    principal: PrincipalDep,
    page: PageDep,
    status: Annotated[ApiEnum[ActivationStatus] | None, Query()] = None,
) -> ActivationsOut:
    rows = await repository.list_activations(session, principal.customer_seq, page, status)
    result = make_page(rows, page.limit)
    return ActivationsOut(
        data=[render_activation(a) for a in result.items],
        has_more=result.has_more,
        next_cursor=result.next_cursor,
    )


@router.get(
    "/contracts/activations/{activation_id}",
    summary="Get one of your contracts",
    responses={404: {}},
)
async def get_activation(
    session: ReadDep,
    principal: PrincipalDep,
    activation_id: Annotated[str, Path(max_length=64)],
) -> ActivationOut:
    activation = await repository.get_activation(session, principal.customer_seq, activation_id)
    if activation is None:
        raise not_found("contract activation", "activation_id")
    return render_activation(activation)


@router.get("/rewards", summary="List daily mining rewards credited to you")
async def list_rewards(session: ReadDep, principal: PrincipalDep, page: PageDep) -> RewardsOut:
    rows = await repository.list_rewards(session, principal.customer_seq, page)
    result = make_page(rows, page.limit)
    return RewardsOut(
        rewards=[
            RewardOut(
                id=r.transfer_id,
                date=r.day,
                contract=r.contract,
                activation_id=r.activation_id,
                amount=r.amount,
            )
            for r in result.items
        ],
        has_more=result.has_more,
        next_cursor=result.next_cursor,
    )
