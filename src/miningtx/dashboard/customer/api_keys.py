"""Settings -> API keys: create (the secret is shown once, on the response to the form),
revoke, and when each key was last used; the customers service issues and revokes them."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Form, Request
from fastapi.responses import Response

from miningtx.config import Settings
from miningtx.customers import repository, service
from miningtx.dashboard.customer.forms import database
from miningtx.dashboard.deps import CustomerDep, page_work, require_totp_code
from miningtx.dashboard.rendering import Redirect, render, render_refused
from miningtx.dashboard.routing import customer_pages
from miningtx.kit.db import ReadSession
from miningtx.kit.errors import ApiError, invalid

router = customer_pages()
PAGE = "/settings/api-keys"
TEMPLATE = "customer_pages/api_keys.html"
#: `api_keys.name` is a String(64) column.
NAME_LENGTH = 64


async def _context(request: Request, principal: CustomerDep) -> dict[str, Any]:
    session: ReadSession
    async with database(request).read() as session:
        keys = await repository.api_keys(session, principal.customer_seq)
    return {"keys": keys, "created": None}


def _checked_name(name: str) -> str | None:
    name = name.strip()
    if len(name) > NAME_LENGTH or not name.isprintable():
        raise invalid("name", f"Names are at most {NAME_LENGTH} printable characters.")
    return name or None


@router.get(PAGE, name="api_keys")
async def api_keys(request: Request, principal: CustomerDep) -> Response:
    return await render(request, TEMPLATE, await _context(request, principal))


@router.post(PAGE)
async def create_key(
    request: Request,
    principal: CustomerDep,
    name: Annotated[str, Form()] = "",
    totp_code: Annotated[str | None, Form()] = None,
) -> Response:
    settings: Settings = request.app.state.settings
    try:
        checked = _checked_name(name)
        async with page_work(request) as work:
            await require_totp_code(request, work, principal, totp_code)
            customer = await service.get_customer(work.session, principal.customer_id)
            key, secret = await service.create_api_key(
                work.session, customer, prefix=settings.key_prefix, now=work.now, name=checked
            )
            created = {"id": key.id, "name": key.name, "secret": secret}
    except ApiError as error:
        return await render_refused(
            request,
            TEMPLATE,
            error,
            fields=("name", "totp_code"),
            values={"name": name},
            context=await _context(request, principal),
        )
    # Rendered, not redirected: the secret lives only in this response, never in a cookie.
    context = await _context(request, principal)
    return await render(request, TEMPLATE, {**context, "created": created})


@router.post(PAGE + "/{key_id}/revoke")
async def revoke_key(request: Request, principal: CustomerDep, key_id: str) -> Response:
    async with page_work(request) as work:
        key = await service.revoke_customer_api_key(
            work.session, principal.customer_seq, key_id[:64], work.now
        )
    raise Redirect(PAGE, flash=f"Key {key.display_prefix}… revoked: it no longer works.")
