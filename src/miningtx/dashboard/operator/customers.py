"""Customer lookup: search by id, email or username; a customer's balances (the query of
GET /v1/balance) and ledger history, paged and filtered as GET /v1/transactions pages it."""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import Response

from miningtx.customers import repository as customers_repo
from miningtx.customers.schemas import TRANSACTION_TYPES
from miningtx.customers.service import get_customer
from miningtx.dashboard.deps import OperatorDep
from miningtx.dashboard.rendering import render
from miningtx.dashboard.routing import console_pages
from miningtx.kit.deps import ReadConnectionDep, ReadDep
from miningtx.kit.errors import invalid
from miningtx.kit.pagination import PageRequest, decode_cursor, make_page
from miningtx.models import TransferKind
from miningtx.wallet import controls

router = console_pages()
PAGE = "/console/customers"
#: Ledger entries per page of a customer's history.
HISTORY_PAGE = 50


@router.get(PAGE, name="console_customers")
async def lookup(
    request: Request, operator: OperatorDep, session: ReadDep, q: str = ""
) -> Response:
    found = await customers_repo.search_customers(session, q[:254]) if q.strip() else None
    return await render(request, "console/customers.html", {"found": found}, values={"q": q[:254]})


@router.get(PAGE + "/{customer_id}")
async def customer_page(
    request: Request,
    *,
    operator: OperatorDep,
    session: ReadDep,
    connection: ReadConnectionDep,
    customer_id: str,
    type: str = "",
    cursor: str = "",
) -> Response:
    if type and type not in TRANSACTION_TYPES:
        raise invalid("type", f"Choose one of: {', '.join(TRANSACTION_TYPES)}.")
    customer = await get_customer(session, customer_id)
    page = PageRequest(HISTORY_PAGE, decode_cursor(cursor) if cursor else None)
    rows = await customers_repo.transactions(
        session, customer.seq, page, TransferKind(type) if type else None
    )
    now = await request.app.state.db.clock.sync(session)
    terms = controls.ControlTerms.from_settings(request.app.state.settings)
    return await render(
        request,
        "console/customer.html",
        {
            "customer": customer,
            "balance": await customers_repo.balance(connection, customer.seq),
            "history": make_page(rows, page.limit),
            "type": type,
            "type_options": [("", "All types"), *((t, t) for t in TRANSACTION_TYPES)],
            "first_page": not cursor,
            "limits": await controls.withdrawal_limits(session, customer.seq, terms, now),
            "address_mode": await controls.address_mode(session, customer.seq, now),
        },
    )
