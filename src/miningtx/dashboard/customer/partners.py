"""Partners: the referral link, the partner count and rewards (GET /v1/partners's summary),
and the partner reward credits from the transaction history."""

from __future__ import annotations

from urllib.parse import quote

from fastapi import Request
from fastapi.responses import Response

from miningtx.customers import repository as customers
from miningtx.dashboard.deps import CustomerDep
from miningtx.dashboard.rendering import render
from miningtx.dashboard.routing import customer_pages
from miningtx.kit.deps import ReadDep
from miningtx.kit.money import parse_decimal
from miningtx.kit.pagination import PageRequest, decode_cursor, make_page
from miningtx.partners import repository, service
from miningtx.partners.repository import PARTNER_REWARD

router = customer_pages()
PAGE_SIZE = 30


@router.get("/partners", name="partners")
async def partners(
    request: Request, principal: CustomerDep, session: ReadDep, cursor: str = ""
) -> Response:
    summary = await repository.summary(session, principal.customer_seq)
    page = PageRequest(PAGE_SIZE, decode_cursor(cursor) if cursor else None)
    rows = await customers.transactions(session, principal.customer_seq, page, PARTNER_REWARD)
    rewards = make_page(rows, PAGE_SIZE)
    base = str(request.base_url).rstrip("/")
    return await render(
        request,
        "customer_pages/partners.html",
        {
            "summary": summary,
            "rate_percent": parse_decimal(service.PARTNER_RATE, 2),
            "referral_link": f"{base}/signup?ref={quote(summary.referral_code)}",
            "rewards": rewards.items,
            "next_cursor": rewards.next_cursor,
        },
    )
