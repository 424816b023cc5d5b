"""Transactions: the ledger history GET /v1/transactions reads, with its type filter and its
opaque cursor, newest first."""

from __future__ import annotations

from urllib.parse import urlencode

from fastapi import Request
from fastapi.responses import Response

from miningtx.customers import repository
from miningtx.customers.schemas import TRANSACTION_TYPES
from miningtx.dashboard.deps import CustomerDep
from miningtx.dashboard.rendering import render
from miningtx.dashboard.routing import customer_pages
from miningtx.kit.deps import ReadDep
from miningtx.kit.errors import invalid
from miningtx.kit.pagination import PageRequest, decode_cursor, make_page
from miningtx.models import TransferKind

router = customer_pages()
PAGE_SIZE = 30
TYPE_LABELS = {
    "deposit": "Deposit",
    "withdrawal": "Withdrawal",
    "reward": "Mining reward",
    "contract": "Contract",
    "stake": "Stake",
    "stake_payout": "Stake payout",
    "adjustment": "Adjustment",
    "bonus": "Bonus",
    "partner_reward": "Partner reward",
}


@router.get("/transactions", name="transactions")
async def transactions(
    request: Request,
    principal: CustomerDep,
    session: ReadDep,
    type: str = "",  # the API's query parameter name
    cursor: str = "",
) -> Response:
    if type and type not in TRANSACTION_TYPES:
        raise invalid("type", f"Unknown transaction type {type!r}.")
    page = PageRequest(PAGE_SIZE, decode_cursor(cursor) if cursor else None)
    rows = await repository.transactions(
        session, principal.customer_seq, page, TransferKind(type) if type else None
    )
    result = make_page(rows, PAGE_SIZE)
    next_url = None
    if result.next_cursor:
        query = {"type": type} if type else {}
        next_url = "/transactions?" + urlencode({**query, "cursor": result.next_cursor})
    return await render(
        request,
        "customer_pages/transactions.html",
        {
            "transactions": result.items,
            "types": [("", "All types"), *((t, TYPE_LABELS[t]) for t in TRANSACTION_TYPES)],
            "labels": TYPE_LABELS,
            "type": type,
            "next_url": next_url,
            "first_url": f"/transactions?type={type}" if type else "/transactions",
            "paged": bool(cursor),
        },
    )
