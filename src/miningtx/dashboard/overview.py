"""The customer's overview: balance figures, read by the same query as GET /v1/balance."""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import Response

from miningtx.customers import repository
from miningtx.dashboard.deps import CustomerDep
from miningtx.dashboard.rendering import render
from miningtx.dashboard.routing import customer_pages
from miningtx.kit.deps import ReadConnectionDep, ReadDep

router = customer_pages()


@router.get("/dashboard", name="overview")
async def overview(
    request: Request,
    principal: CustomerDep,
    connection: ReadConnectionDep,
    session: ReadDep,
) -> Response:
    balance = await repository.balance(connection, principal.customer_seq)
    customer = await repository.customer(session, principal.customer_seq)
    return await render(request, "overview.html", {"balance": balance, "customer": customer})
