"""Security pages: turn TOTP two-factor sign-in on (scan, confirm with a code) and off.

One set of routes serves both areas: customers' Settings -> Security and operators'
Console -> Security (`security_router(CUSTOMER)` / `security_router(OPERATOR)`).

No `from __future__ import annotations` here: the routes are defined inside a function
and FastAPI must see each area's session dependency as a real object, not a string.
"""

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated

import segno
from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import Response
from markupsafe import Markup

from miningtx.dashboard import service, sessions
from miningtx.dashboard.deps import (
    PageWork,
    customer_session,
    limit_totp,
    operator_session,
    page_work,
)
from miningtx.dashboard.rendering import FormErrors, Redirect, render
from miningtx.dashboard.routing import console_pages, customer_pages
from miningtx.dashboard.sessions import CustomerPrincipal, Kind, OperatorPrincipal, SignedIn
from miningtx.kit.clock import utcnow
from miningtx.kit.errors import ApiError
from miningtx.models import CustomerCredential, Operator, PrincipalKind


@dataclass(frozen=True)
class SecurityArea:
    kind: Kind
    page: str
    #: Route name (the nav looks for it).
    name: str
    layout: str
    #: What asks for a code once two-factor sign-in is on (a sentence).
    protects: str
    signed_in: Callable[[Request], Awaitable[SignedIn]]


CUSTOMER = SecurityArea(
    PrincipalKind.CUSTOMER,
    "/settings/security",
    "security",
    "customer.html",
    "Signing in, creating API keys and requesting withdrawals ask for a code from your "
    "authenticator app.",
    customer_session,
)
OPERATOR = SecurityArea(
    PrincipalKind.OPERATOR,
    "/console/security",
    "console_security",
    "console.html",
    "Signing in to the console asks for a code from your authenticator app.",
    operator_session,
)


def _principal(signed_in: SignedIn) -> CustomerPrincipal | OperatorPrincipal:
    principal = signed_in.principal
    assert isinstance(principal, CustomerPrincipal | OperatorPrincipal)
    return principal


def _seq(principal: CustomerPrincipal | OperatorPrincipal) -> int:
    if isinstance(principal, CustomerPrincipal):
        return principal.customer_seq
    return principal.operator_seq


async def _holder(
    work: PageWork, principal: CustomerPrincipal | OperatorPrincipal
) -> CustomerCredential | Operator:
    """The row holding the principal's TOTP secret, locked for the change."""
    if isinstance(principal, CustomerPrincipal):
        return await service.customer_credential(
            work.session, principal.customer_seq, for_update=True
        )
    return await service.operator_by_seq(work.session, principal.operator_seq, for_update=True)


def security_router(area: SecurityArea) -> APIRouter:
    router = customer_pages() if area.kind == PrincipalKind.CUSTOMER else console_pages()

    async def page(
        request: Request,
        signed_in: SignedIn,
        *,
        errors: FormErrors | None = None,
        status_code: int = 200,
    ) -> Response:
        principal = _principal(signed_in)
        context: dict[str, object] = {
            "totp_enabled": principal.totp_enabled,
            "setup": None,
            "area": area,
        }
        secret = signed_in.pending_totp_secret
        if not principal.totp_enabled and secret is not None:
            uri = service.totp_uri(secret, principal.email)
            qr = segno.make(uri, error="m").svg_inline(scale=4, dark="#111", light="#fff")
            context["setup"] = {"secret": secret, "uri": uri, "qr": Markup(qr)}  # noqa: S704  # segno's own SVG of our URI
        return await render(
            request, "settings/security.html", context, errors=errors, status_code=status_code
        )

    async def refused(request: Request, signed_in: SignedIn, error: ApiError) -> Response:
        response = await page(
            request,
            signed_in,
            errors=FormErrors.of(error, ("totp_code",)),
            status_code=error.status,
        )
        response.headers.update(error.headers)
        return response

    @router.get(area.page, name=area.name)
    async def security(
        request: Request, signed_in: Annotated[SignedIn, Depends(area.signed_in)]
    ) -> Response:
        return await page(request, signed_in)

    @router.post(f"{area.page}/totp/setup")
    async def start_totp_setup(
        request: Request, signed_in: Annotated[SignedIn, Depends(area.signed_in)]
    ) -> Response:
        """A new secret for this session to show; it takes effect only once confirmed."""
        if _principal(signed_in).totp_enabled:
            raise Redirect(area.page)
        async with page_work(request) as work:
            await sessions.set_pending_totp_secret(
                work.session, signed_in, service.new_totp_secret()
            )
        raise Redirect(area.page)

    @router.post(f"{area.page}/totp/confirm")
    async def confirm_totp(
        request: Request,
        signed_in: Annotated[SignedIn, Depends(area.signed_in)],
        totp_code: Annotated[str, Form()] = "",
    ) -> Response:
        principal = _principal(signed_in)
        secret = signed_in.pending_totp_secret
        if principal.totp_enabled or secret is None:
            raise Redirect(area.page)
        try:
            await limit_totp(request, area.kind, _seq(principal))
            async with page_work(request) as work:
                holder = await _holder(work, principal)
                await service.enable_totp(work.session, holder, secret, totp_code, utcnow())
                await sessions.set_pending_totp_secret(work.session, signed_in, None)
                await sessions.complete_totp(work.session, signed_in, utcnow(), rotate=False)
        except ApiError as error:
            return await refused(request, signed_in, error)
        raise Redirect(area.page, flash="Two-factor sign-in is on.")

    @router.post(f"{area.page}/totp/disable")
    async def disable_totp(
        request: Request,
        signed_in: Annotated[SignedIn, Depends(area.signed_in)],
        totp_code: Annotated[str, Form()] = "",
    ) -> Response:
        principal = _principal(signed_in)
        if not principal.totp_enabled:
            raise Redirect(area.page)
        try:
            await limit_totp(request, area.kind, _seq(principal))
            async with page_work(request) as work:
                holder = await _holder(work, principal)
                await service.disable_totp(work.session, holder, totp_code, utcnow())
        except ApiError as error:
            return await refused(request, signed_in, error)
        raise Redirect(area.page, flash="Two-factor sign-in is off.")

    return router


router = security_router(CUSTOMER)
