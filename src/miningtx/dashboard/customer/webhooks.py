"""Settings -> Webhooks: add an endpoint (the secret is shown once), list, delete, recent
deliveries with their status, and resend one; the webhooks service and repository behind
/v1/webhook_endpoints do the work."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Form, Request
from fastapi.responses import Response

from miningtx.config import Settings
from miningtx.dashboard.customer.forms import database, parse_form
from miningtx.dashboard.deps import CustomerDep, page_work
from miningtx.dashboard.rendering import Redirect, render, render_refused
from miningtx.dashboard.routing import customer_pages
from miningtx.kit.clock import utcnow
from miningtx.kit.db import ReadSession
from miningtx.kit.errors import ApiError, invalid
from miningtx.kit.pagination import PageRequest
from miningtx.webhooks import repository, service, urls
from miningtx.webhooks.events import ALL_EVENTS, EVENT_TYPES
from miningtx.webhooks.schemas import WebhookEndpointIn

router = customer_pages()
PAGE = "/settings/webhooks"
TEMPLATE = "customer_pages/webhooks.html"
#: Deliveries shown per endpoint.
RECENT_DELIVERIES = 10


async def _context(request: Request, principal: CustomerDep) -> dict[str, Any]:
    session: ReadSession
    async with database(request).read() as session:
        rows = await repository.list_endpoints(
            session, principal.customer_seq, PageRequest(service.MAX_ENDPOINTS, None)
        )
        endpoints = [endpoint for _, endpoint in rows]
        events = await repository.subscriptions(session, (e.seq for e in endpoints))
        listed = [
            {
                "endpoint": e,
                "events": events[e.seq],
                "deliveries": await repository.recent_deliveries(
                    session, endpoint_id=e.id, status=None, limit=RECENT_DELIVERIES
                ),
            }
            for e in endpoints
        ]
    return {
        "endpoints": listed,
        "event_types": EVENT_TYPES,
        "all_events": ALL_EVENTS,
        "created": None,
        "chosen_events": [],
    }


@router.get(PAGE, name="webhooks")
async def webhooks(request: Request, principal: CustomerDep) -> Response:
    return await render(request, TEMPLATE, await _context(request, principal))


@router.post(PAGE)
async def create_endpoint(
    request: Request,
    principal: CustomerDep,
    url: Annotated[str, Form()] = "",
    events: Annotated[list[str] | None, Form()] = None,
) -> Response:
    settings: Settings = request.app.state.settings
    chosen = events or []
    try:
        body = parse_form(WebhookEndpointIn, {"url": url.strip(), "events": chosen})
        normalised = service.normalise_events(body.events)
        # As the API does: the URL (and its DNS) is checked before the transaction.
        await urls.check_endpoint_url(body.url, settings)
        async with page_work(request) as work:
            endpoint = await service.create_endpoint(
                work.session, principal.customer_seq, body.url, normalised, work.now
            )
            created = {"id": endpoint.id, "url": endpoint.url, "secret": endpoint.secret}
    except ApiError as error:
        return await render_refused(
            request,
            TEMPLATE,
            error,
            fields=("url", "events"),
            values={"url": url},
            context={**await _context(request, principal), "chosen_events": chosen},
        )
    # Rendered, not redirected: the secret lives only in this response, never in a cookie.
    context = await _context(request, principal)
    return await render(request, TEMPLATE, {**context, "created": created})


@router.post(PAGE + "/{endpoint_id}/delete")
async def delete_endpoint(request: Request, principal: CustomerDep, endpoint_id: str) -> Response:
    async with page_work(request) as work:
        endpoint = await service.delete_endpoint(
            work.session, principal.customer_seq, endpoint_id[:64], work.now
        )
    raise Redirect(PAGE, flash=f"Endpoint {endpoint.url} deleted: nothing more is sent to it.")


@router.post(PAGE + "/deliveries/{delivery}/resend")
async def resend_delivery(request: Request, principal: CustomerDep, delivery: str) -> Response:
    if not delivery.isdigit() or len(delivery) > 18:
        raise invalid("delivery", "No such webhook delivery.")
    try:
        async with page_work(request) as work:
            await service.resend_delivery(
                work.session, principal.customer_seq, int(delivery), utcnow()
            )
    except ApiError as error:
        if error.status == 404:
            raise
        return await render_refused(
            request,
            TEMPLATE,
            error,
            fields=(),
            context={**await _context(request, principal), "refused_delivery": int(delivery)},
        )
    raise Redirect(PAGE, flash="Delivery queued again: it will be sent in a moment.")
