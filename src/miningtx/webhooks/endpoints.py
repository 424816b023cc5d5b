"""Webhook endpoints and the event log: `/v1/webhook_endpoints`, `/v1/events`."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import JSONResponse

from miningtx.config import Settings
from miningtx.customers.auth import PrincipalDep, auth_dependencies
from miningtx.kit.deps import DatabaseDep, ReadDep
from miningtx.kit.errors import invalid, not_found
from miningtx.kit.idempotency import unit_of_work
from miningtx.kit.pagination import PageRequest, make_page, page_request
from miningtx.webhooks import repository, service, urls
from miningtx.webhooks.events import EVENT_TYPES, payload
from miningtx.webhooks.schemas import (
    CreatedWebhookEndpointOut,
    DeletedWebhookEndpointOut,
    EventOut,
    EventsOut,
    WebhookEndpointIn,
    WebhookEndpointOut,
    WebhookEndpointsOut,
    render_created,
    render_endpoint,
)

router = APIRouter(tags=["Webhooks"], dependencies=auth_dependencies)
PageDep = Annotated[PageRequest, Depends(page_request)]
EndpointIdPath = Annotated[str, Path(max_length=64)]


@router.post(
    "/webhook_endpoints",
    summary="Add a webhook endpoint",
    response_model=CreatedWebhookEndpointOut,
    responses={409: {}},
)
async def create_endpoint(
    body: WebhookEndpointIn, request: Request, principal: PrincipalDep, db: DatabaseDep
) -> JSONResponse:
    """Events of the listed types are POSTed to `url`, signed per Standard Webhooks with
    the `secret` in this response, which is never shown again. At most 16 endpoints."""
    settings: Settings = request.app.state.settings
    events = service.normalise_events(body.events)
    # Resolving the host happens before the transaction, which must not wait on DNS.
    await urls.check_endpoint_url(body.url, settings)
    async with unit_of_work(request, db, principal.customer_seq) as work:
        endpoint = await service.create_endpoint(
            work.session, principal.customer_seq, body.url, events, work.now
        )
        return await work.respond(200, render_created(endpoint, events))


@router.get("/webhook_endpoints", summary="List your webhook endpoints")
async def list_endpoints(
    session: ReadDep, principal: PrincipalDep, page: PageDep
) -> WebhookEndpointsOut:
    rows = await repository.list_endpoints(session, principal.customer_seq, page)
    result = make_page(rows, page.limit)
    events = await repository.subscriptions(session, (e.seq for e in result.items))
    return WebhookEndpointsOut(
        data=[render_endpoint(e, events[e.seq]) for e in result.items],
        has_more=result.has_more,
        next_cursor=result.next_cursor,
    )


@router.get(
    "/webhook_endpoints/{endpoint_id}",
    summary="Get one of your webhook endpoints",
    responses={404: {}},
)
async def get_endpoint(
    session: ReadDep, principal: PrincipalDep, endpoint_id: EndpointIdPath
) -> WebhookEndpointOut:
    endpoint = await repository.find_endpoint(session, principal.customer_seq, endpoint_id)
    if endpoint is None:
        raise service.endpoint_missing()
    events = await repository.subscriptions(session, [endpoint.seq])
    return render_endpoint(endpoint, events[endpoint.seq])


@router.delete(
    "/webhook_endpoints/{endpoint_id}",
    summary="Delete a webhook endpoint",
    response_model=DeletedWebhookEndpointOut,
    responses={404: {}},
)
async def delete_endpoint(
    endpoint_id: EndpointIdPath, request: Request, principal: PrincipalDep, db: DatabaseDep
) -> JSONResponse:
    """Nothing more is sent to it; deliveries still pending are cancelled."""
    async with unit_of_work(request, db, principal.customer_seq) as work:
        endpoint = await service.delete_endpoint(
            work.session, principal.customer_seq, endpoint_id, work.now
        )
        return await work.respond(200, DeletedWebhookEndpointOut(id=endpoint.id, deleted=True))


@router.get("/events", summary="List your events")
async def list_events(
    session: ReadDep,
    principal: PrincipalDep,
    page: PageDep,
    type: Annotated[  # the documented query parameter's name
        str | None,
        Query(
            max_length=64,
            description="Only events of this type.",
            json_schema_extra={"enum": list(EVENT_TYPES)},
        ),
    ] = None,
) -> EventsOut:
    """Every event ever emitted for you, newest first: the same bodies webhooks carry, for
    polling or for catching up after an outage."""
    if type is not None and type not in EVENT_TYPES:
        raise invalid(
            "type", f"Unknown event type {type!r}; known types: {', '.join(EVENT_TYPES)}."
        )
    rows = await repository.list_events(session, principal.customer_seq, page, type)
    result = make_page(rows, page.limit)
    return EventsOut(
        data=[_event_out(payload(e)) for e in result.items],
        has_more=result.has_more,
        next_cursor=result.next_cursor,
    )


@router.get("/events/{event_id}", summary="Get one of your events", responses={404: {}})
async def get_event(
    session: ReadDep, principal: PrincipalDep, event_id: Annotated[str, Path(max_length=64)]
) -> EventOut:
    event = await repository.find_event(session, principal.customer_seq, event_id)
    if event is None:
        raise not_found("event", "event_id")
    return _event_out(payload(event))


def _event_out(body: dict[str, Any]) -> EventOut:
    return EventOut.model_validate(body)
