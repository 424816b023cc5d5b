"""Console -> Security: an operator turns TOTP two-factor sign-in on (scan, confirm with a
code) and off, through the same service functions as the customers' Settings -> Security."""

from __future__ import annotations

from typing import Annotated

import segno
from fastapi import Form, Request
from fastapi.responses import Response
from markupsafe import Markup

from miningtx.dashboard import service, sessions
from miningtx.dashboard.deps import OperatorSessionDep, limit_totp, page_work
from miningtx.dashboard.rendering import FormErrors, Redirect, render
from miningtx.dashboard.routing import console_pages
from miningtx.dashboard.sessions import OperatorPrincipal
from miningtx.kit.clock import utcnow
from miningtx.kit.errors import ApiError

router = console_pages()
PAGE = "/console/security"


def _operator(signed_in: sessions.SignedIn) -> OperatorPrincipal:
    assert isinstance(signed_in.principal, OperatorPrincipal)
    return signed_in.principal


async def _page(
    request: Request,
    signed_in: sessions.SignedIn,
    *,
    errors: FormErrors | None = None,
    status_code: int = 200,
) -> Response:
    principal = _operator(signed_in)
    context: dict[str, object] = {"totp_enabled": principal.totp_enabled, "setup": None}
    secret = signed_in.pending_totp_secret
    if not principal.totp_enabled and secret is not None:
        uri = service.totp_uri(secret, principal.email)
        qr = segno.make(uri, error="m").svg_inline(scale=4, dark="#111", light="#fff")
        context["setup"] = {"secret": secret, "uri": uri, "qr": Markup(qr)}  # noqa: S704  # segno's own SVG of our URI
    return await render(
        request, "console/security.html", context, errors=errors, status_code=status_code
    )


async def _refused(request: Request, signed_in: sessions.SignedIn, error: ApiError) -> Response:
    response = await _page(
        request, signed_in, errors=FormErrors.of(error, ("totp_code",)), status_code=error.status
    )
    response.headers.update(error.headers)
    return response


@router.get(PAGE, name="console_security")
async def security(request: Request, signed_in: OperatorSessionDep) -> Response:
    return await _page(request, signed_in)


@router.post(f"{PAGE}/totp/setup")
async def start_totp_setup(request: Request, signed_in: OperatorSessionDep) -> Response:
    """A new secret for this session to show; it takes effect only once confirmed."""
    if _operator(signed_in).totp_enabled:
        raise Redirect(PAGE)
    async with page_work(request) as work:
        await sessions.set_pending_totp_secret(work.session, signed_in, service.new_totp_secret())
    raise Redirect(PAGE)


@router.post(f"{PAGE}/totp/confirm")
async def confirm_totp(
    request: Request, signed_in: OperatorSessionDep, totp_code: Annotated[str, Form()] = ""
) -> Response:
    principal = _operator(signed_in)
    secret = signed_in.pending_totp_secret
    if principal.totp_enabled or secret is None:
        raise Redirect(PAGE)
    try:
        await limit_totp(request, "operator", principal.operator_seq)
        async with page_work(request) as work:
            holder = await service.operator_by_seq(
                work.session, principal.operator_seq, for_update=True
            )
            await service.enable_totp(work.session, holder, secret, totp_code, utcnow())
            await sessions.set_pending_totp_secret(work.session, signed_in, None)
            await sessions.complete_totp(work.session, signed_in, utcnow(), rotate=False)
    except ApiError as error:
        return await _refused(request, signed_in, error)
    raise Redirect(PAGE, flash="Two-factor sign-in is on.")


@router.post(f"{PAGE}/totp/disable")
async def disable_totp(
    request: Request, signed_in: OperatorSessionDep, totp_code: Annotated[str, Form()] = ""
) -> Response:
    principal = _operator(signed_in)
    if not principal.totp_enabled:
        raise Redirect(PAGE)
    try:
        await limit_totp(request, "operator", principal.operator_seq)
        async with page_work(request) as work:
            holder = await service.operator_by_seq(
                work.session, principal.operator_seq, for_update=True
            )
            await service.disable_totp(work.session, holder, totp_code, utcnow())
    except ApiError as error:
        return await _refused(request, signed_in, error)
    raise Redirect(PAGE, flash="Two-factor sign-in is off.")
