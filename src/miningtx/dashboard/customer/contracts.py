"""Contracts: the catalog (GET /v1/contracts's query) and activation (mining.activate)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Form, Request
from fastapi.responses import Response

from miningtx.customers import repository as customers
from miningtx.dashboard.customer.forms import database, parse_form
from miningtx.dashboard.deps import CustomerDep, page_work
from miningtx.dashboard.rendering import Redirect, render, render_refused
from miningtx.dashboard.routing import customer_pages
from miningtx.kit.db import ReadSession
from miningtx.kit.errors import ApiError
from miningtx.mining import repository, service
from miningtx.mining.schemas import ActivateIn, render_contract

router = customer_pages()
PAGE = "/contracts"
TEMPLATE = "customer_pages/contracts.html"


async def _context(request: Request, principal: CustomerDep) -> dict[str, Any]:
    db = database(request)
    session: ReadSession
    async with db.read() as session:
        entries = await repository.catalog(session)
    async with db.read_engine.connect() as connection:
        balance = await customers.balance(connection, principal.customer_seq)
    return {
        "contracts": [
            render_contract(e.contract, e.available).model_dump(mode="json")
            | {"total_reward": e.contract.daily_reward * e.contract.duration_days}
            for e in entries
        ],
        "available_balance": balance.available,
    }


@router.get(PAGE, name="contracts")
async def contracts(request: Request, principal: CustomerDep) -> Response:
    return await render(request, TEMPLATE, await _context(request, principal))


@router.post(f"{PAGE}/activate")
async def activate(
    request: Request, principal: CustomerDep, contract_id: Annotated[str, Form()] = ""
) -> Response:
    try:
        body = parse_form(ActivateIn, {"contract_id": contract_id})
        async with page_work(request) as work:
            activation = await service.activate(
                work.session,
                principal.customer,
                body.contract_id,
                work.now,
                cutoff=database(request).clock.cutoff,
            )
    except ApiError as error:
        return await render_refused(
            request,
            TEMPLATE,
            error,
            fields=("contract_id",),
            values={"contract_id": contract_id},
            context={**await _context(request, principal), "refused_contract": contract_id},
        )
    raise Redirect("/dashboard", flash=f"{activation.contract_name} activated ({activation.id}).")
