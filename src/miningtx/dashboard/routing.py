"""The route class and router factories every dashboard and console page module uses.

`PageRoute` turns what a page or dependency raises into HTML: `Redirect` into a 303,
`ApiError` into the error page with its status (403 CSRF, 404 unknown id ...), and adds
the security headers every page carries. The factories put sign-in and CSRF in front of
every route of a router, so no page can forget them.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import APIRouter, Depends, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute

from miningtx.dashboard.deps import require_customer, require_operator, verify_csrf
from miningtx.dashboard.rendering import Redirect, redirect, render_error
from miningtx.kit.errors import ApiError

#: Scripts and styles come from this origin only (htmx is served from /static); inline
#: styles stay allowed for small things such as a bar's width. Nothing may frame a page.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; "
    "base-uri 'none'; object-src 'none'"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    # Pages show balances and secrets shown once: no cache may keep them.
    "Cache-Control": "no-store",
}


class PageRoute(APIRoute):
    """An APIRoute that answers in HTML, whatever the page or its dependencies raise."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handle = super().get_route_handler()

        async def page(request: Request) -> Response:
            response: Response
            try:
                response = await handle(request)
            except Redirect as go:
                response = redirect(request, go.url, flash=go.flash)
            except ApiError as error:
                response = await render_error(request, error.status, error.message)
                response.headers.update(error.headers)
            except RequestValidationError:
                response = await render_error(
                    request, 400, "The form was incomplete. Go back, reload it and try again."
                )
            for name, value in SECURITY_HEADERS.items():
                response.headers.setdefault(name, value)
            return response

        return page


def public_pages() -> APIRouter:
    """Pages anyone may open (sign-up, sign-in): CSRF still guards their forms."""
    return APIRouter(
        route_class=PageRoute, include_in_schema=False, dependencies=[Depends(verify_csrf)]
    )


def customer_pages() -> APIRouter:
    """Pages for a signed-in customer: others go to /login; every form post needs CSRF."""
    return APIRouter(
        route_class=PageRoute,
        include_in_schema=False,
        dependencies=[Depends(require_customer), Depends(verify_csrf)],
    )


def console_pages() -> APIRouter:
    """Console pages (paths under /console) for a signed-in operator: others go to
    /console/login; every form post needs CSRF. Add
    `Depends(require_role(OperatorRole.ADMIN))` to a route (or use `AdminDep`) for admin-only
    pages."""
    return APIRouter(
        route_class=PageRoute,
        include_in_schema=False,
        dependencies=[Depends(require_operator), Depends(verify_csrf)],
    )
