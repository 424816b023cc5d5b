"""Dependencies of the dashboard and console pages: who is signed in, CSRF, the unit of work,
TOTP on sensitive forms and sign-in rate limits."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated
from urllib.parse import quote

from fastapi import Depends, Request
from limits import RateLimitItem, parse

from miningtx.dashboard import service, sessions
from miningtx.dashboard.rendering import Redirect
from miningtx.dashboard.sessions import CustomerPrincipal, Kind, OperatorPrincipal, SignedIn
from miningtx.kit.clock import utcnow
from miningtx.kit.db import Database, WriteSession
from miningtx.kit.errors import ApiError
from miningtx.kit.ratelimit import RateLimiter
from miningtx.models import OperatorRole, PrincipalKind

#: Sign-in attempts allowed per account identifier and per client IP, right or wrong.
LOGIN_PER_ACCOUNT: RateLimitItem = parse("10/15 minutes")
LOGIN_PER_IP: RateLimitItem = parse("50/15 minutes")
#: TOTP codes tried per account (sign-in and sensitive forms together).
TOTP_PER_ACCOUNT: RateLimitItem = parse("10/5 minutes")
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"


def csrf_refused() -> ApiError:
    return ApiError(
        403,
        "csrf_failed",
        "This form has expired or did not come from this site. Go back, reload the page "
        "and try again.",
    )


def forbidden() -> ApiError:
    return ApiError(403, "forbidden", "Your role does not allow this page.")


# --- who is signed in --------------------------------------------------------------------


def _login_redirect(request: Request, login_path: str) -> Redirect:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return Redirect(f"{login_path}?next={quote(target, safe='')}")


async def customer_session(request: Request) -> SignedIn:
    """The customer's fully signed-in session; otherwise off to /login (or the TOTP step)."""
    signed_in = await sessions.current(request, PrincipalKind.CUSTOMER)
    if signed_in is None:
        raise _login_redirect(request, "/login")
    if signed_in.awaiting_totp:
        raise Redirect("/login/totp")
    return signed_in


async def require_customer(
    signed_in: Annotated[SignedIn, Depends(customer_session)],
) -> CustomerPrincipal:
    assert isinstance(signed_in.principal, CustomerPrincipal)
    return signed_in.principal


async def operator_session(request: Request) -> SignedIn:
    """The operator's fully signed-in session; otherwise off to /console/login."""
    signed_in = await sessions.current(request, PrincipalKind.OPERATOR)
    if signed_in is None:
        raise _login_redirect(request, "/console/login")
    if signed_in.awaiting_totp:
        raise Redirect("/console/login/totp")
    return signed_in


async def require_operator(
    signed_in: Annotated[SignedIn, Depends(operator_session)],
) -> OperatorPrincipal:
    assert isinstance(signed_in.principal, OperatorPrincipal)
    return signed_in.principal


def require_role(
    *roles: OperatorRole,
) -> Callable[[OperatorPrincipal], Awaitable[OperatorPrincipal]]:
    """A dependency admitting only operators with one of `roles` (403 page otherwise)."""

    async def check(
        operator: Annotated[OperatorPrincipal, Depends(require_operator)],
    ) -> OperatorPrincipal:
        if operator.role not in roles:
            raise forbidden()
        return operator

    return check


CustomerSessionDep = Annotated[SignedIn, Depends(customer_session)]
CustomerDep = Annotated[CustomerPrincipal, Depends(require_customer)]
OperatorSessionDep = Annotated[SignedIn, Depends(operator_session)]
OperatorDep = Annotated[OperatorPrincipal, Depends(require_operator)]
AdminDep = Annotated[OperatorPrincipal, Depends(require_role(OperatorRole.ADMIN))]


# --- CSRF --------------------------------------------------------------------------------


async def verify_csrf(request: Request) -> None:
    """Every unsafe request carries the CSRF token, as the `csrf_token` form field or the
    X-CSRF-Token header (htmx sends it); otherwise 403 before anything runs."""
    if request.method in SAFE_METHODS:
        return
    presented = request.headers.get(CSRF_HEADER)
    if presented is None:
        content_type = request.headers.get("content-type", "")
        if content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
            value = (await request.form()).get(CSRF_FIELD)
            presented = value if isinstance(value, str) else None
    if not await sessions.csrf_matches(request, presented):
        raise csrf_refused()


# --- the unit of work --------------------------------------------------------------------


@dataclass
class PageWork:
    """A form post's write transaction and the deployment's time read inside it."""

    session: WriteSession
    #: Business time (the sandbox clock), for what services record.
    now: datetime


@asynccontextmanager
async def page_work(request: Request) -> AsyncIterator[PageWork]:
    """One write transaction for a form post: commits when the block ends, so before the
    response is built; rolls back if it raises. Services inside never commit."""
    db: Database = request.app.state.db
    async with db.write() as session:
        yield PageWork(session, await db.clock.sync(session))


# --- rate limits and TOTP ----------------------------------------------------------------


def _client_ip(request: Request) -> str:
    return request.client.host if request.client else "-"


def _too_many(what: str, retry_after: int) -> ApiError:
    minutes = max(1, (retry_after + 59) // 60)
    unit = "minute" if minutes == 1 else "minutes"
    return ApiError(
        429,
        "rate_limited",
        f"Too many {what}. Wait {minutes} {unit} and try again.",
        headers={"Retry-After": str(retry_after)},
    )


async def limit_sign_in(request: Request, kind: Kind, identifier: str) -> None:
    """Count a sign-in attempt against the client IP and the account named; 429 when over."""
    limiter: RateLimiter = request.app.state.limiter
    account = identifier.strip().lower()[:254]
    for item, identity in (
        (LOGIN_PER_IP, ("login-ip", kind, _client_ip(request))),
        (LOGIN_PER_ACCOUNT, ("login-account", kind, account)),
    ):
        verdict = await limiter.hit(item, *identity)
        if not verdict.allowed:
            raise _too_many("sign-in attempts", verdict.retry_after)


async def limit_sign_up(request: Request) -> None:
    """Count a sign-up against the client IP; 429 when over."""
    limiter: RateLimiter = request.app.state.limiter
    verdict = await limiter.hit(LOGIN_PER_IP, "signup-ip", _client_ip(request))
    if not verdict.allowed:
        raise _too_many("sign-ups from your network", verdict.retry_after)


async def limit_totp(request: Request, kind: Kind, principal_seq: int) -> None:
    limiter: RateLimiter = request.app.state.limiter
    verdict = await limiter.hit(TOTP_PER_ACCOUNT, "totp", kind, str(principal_seq))
    if not verdict.allowed:
        raise _too_many("two-factor codes tried", verdict.retry_after)


async def require_totp_code(
    request: Request,
    work: PageWork,
    principal: CustomerPrincipal | OperatorPrincipal,
    code: str | None,
) -> None:
    """On a sensitive form (API key creation, withdrawal), demand a current TOTP code when the
    principal has two-factor on; a no-op otherwise. Call it inside `page_work`, before the
    change: a missing or wrong code raises 400 with param `totp_code`, so the form shows the
    message beside that field, and the code is burned in the same transaction."""
    if not principal.totp_enabled:
        return
    holder: service.TotpHolderRow
    if isinstance(principal, CustomerPrincipal):
        await limit_totp(request, PrincipalKind.CUSTOMER, principal.customer_seq)
        holder = await service.customer_credential(
            work.session, principal.customer_seq, for_update=True
        )
    else:
        await limit_totp(request, PrincipalKind.OPERATOR, principal.operator_seq)
        holder = await service.operator_by_seq(
            work.session, principal.operator_seq, for_update=True
        )
    await service.accept_totp(work.session, holder, code or "", utcnow())
