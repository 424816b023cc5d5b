"""Sign-up, sign-in (with the TOTP step) and sign-out, for customers and for operators.

Both kinds follow one flow: the password opens a session; if the account has TOTP on,
that session only reaches the code step until a valid code is entered, after which its
token is rotated. Every attempt is rate limited per client IP and per account.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import Response

from miningtx.dashboard import service, sessions
from miningtx.dashboard.deps import limit_sign_in, limit_sign_up, limit_totp, page_work, verify_csrf
from miningtx.dashboard.rendering import Redirect, redirect, render, render_refused, safe_next
from miningtx.dashboard.routing import PageRoute, public_pages
from miningtx.dashboard.sessions import Kind
from miningtx.kit.clock import utcnow
from miningtx.kit.db import Database, WriteSession
from miningtx.kit.errors import ApiError
from miningtx.models import PrincipalKind

router = public_pages()
#: Sign-out checks CSRF itself: with an expired session it just clears the cookie.
sign_out_router = APIRouter(route_class=PageRoute, include_in_schema=False)

SIGNUP_FIELDS = ("email", "username", "password", "referral_code")
LOGIN_FIELDS = ("identifier", "password")
TOTP_FIELDS = ("totp_code",)


@dataclass(frozen=True)
class Area:
    """Where each kind signs in, and where it lands."""

    kind: Kind
    login: str
    totp: str
    home: str
    login_template: str
    layout: str


CUSTOMER = Area(
    PrincipalKind.CUSTOMER, "/login", "/login/totp", "/dashboard", "login.html", "public.html"
)
OPERATOR = Area(
    PrincipalKind.OPERATOR,
    "/console/login",
    "/console/login/totp",
    "/console",
    "console/login.html",
    "console_public.html",
)

FormStr = Annotated[str, Form()]
#: The local path to return to after sign-in, as ?next= or a hidden field.
NextQuery = Annotated[str, Query(alias="next")]
NextForm = Annotated[str, Form(alias="next")]


def _with_next(path: str, target: str) -> str:
    return f"{path}?next={quote(target, safe='')}"


async def _signed_in(request: Request, area: Area) -> sessions.SignedIn | None:
    signed_in = await sessions.current(request, area.kind)
    return signed_in if signed_in is not None and not signed_in.awaiting_totp else None


@router.get("/", name="home")
async def home(request: Request) -> Response:
    target = "/dashboard" if await _signed_in(request, CUSTOMER) else "/login"
    return redirect(request, target)


# --- sign-up -----------------------------------------------------------------------------


@router.get("/signup", name="signup")
async def signup_page(request: Request, ref: str = "") -> Response:
    if await _signed_in(request, CUSTOMER):
        return redirect(request, CUSTOMER.home)
    return await render(request, "signup.html", values={"referral_code": ref})


@router.post("/signup")
async def signup(
    request: Request,
    email: FormStr = "",
    username: FormStr = "",
    password: FormStr = "",
    referral_code: FormStr = "",
) -> Response:
    values = {"email": email, "username": username, "referral_code": referral_code}
    try:
        await limit_sign_up(request)
        previous = await sessions.current(
            request, PrincipalKind.CUSTOMER
        )  # read before the write begins
        async with page_work(request) as work:
            customer = await service.sign_up(
                work.session,
                email=email,
                username=username,
                password=password,
                referral_code=referral_code.strip() or None,
                now=work.now,
            )
            token = await _replace_session(
                request, work.session, previous, CUSTOMER, customer.seq, awaiting_totp=False
            )
    except ApiError as error:
        return await render_refused(
            request, "signup.html", error, fields=SIGNUP_FIELDS, values=values
        )
    response = redirect(request, CUSTOMER.home, flash="Welcome to MiningTX. Your account is ready.")
    sessions.set_session_cookie(response, request, PrincipalKind.CUSTOMER, token)
    return response


async def _replace_session(
    request: Request,
    session: WriteSession,
    previous: sessions.SignedIn | None,
    area: Area,
    seq: int,
    *,
    awaiting_totp: bool,
) -> str:
    """Start a fresh session, ending the one this browser had (no session fixation)."""
    if previous is not None:
        await sessions.end(session, previous.session_seq)
    sessions.forget(request, area.kind)
    return await sessions.start(session, area.kind, seq, awaiting_totp=awaiting_totp, now=utcnow())


# --- sign-in -----------------------------------------------------------------------------


async def _login_page(request: Request, area: Area, next_: str) -> Response:
    if await _signed_in(request, area):
        return redirect(request, safe_next(next_, area.home))
    return await render(request, area.login_template, values={"next": next_})


async def _login(
    request: Request, area: Area, identifier: str, password: str, next_: str
) -> Response:
    db: Database = request.app.state.db
    try:
        await limit_sign_in(request, area.kind, identifier)
        # The password is checked outside the write transaction: hashing takes a while.
        async with db.read() as read:
            if area.kind == PrincipalKind.CUSTOMER:
                who = await service.authenticate_customer(read, identifier, password)
            else:
                who = await service.authenticate_operator(read, identifier, password)
        previous = await sessions.current(request, area.kind)  # read before the write begins
        async with page_work(request) as work:
            token = await _replace_session(
                request, work.session, previous, area, who.seq, awaiting_totp=who.totp_enabled
            )
    except ApiError as error:
        return await render_refused(
            request,
            area.login_template,
            error,
            fields=LOGIN_FIELDS,
            values={"identifier": identifier, "next": next_},
        )
    target = safe_next(next_, area.home)
    response = redirect(request, _with_next(area.totp, target) if who.totp_enabled else target)
    sessions.set_session_cookie(response, request, area.kind, token)
    return response


@router.get("/login", name="login")
async def login_page(request: Request, next_: NextQuery = "") -> Response:
    return await _login_page(request, CUSTOMER, next_)


@router.post("/login")
async def login(
    request: Request,
    identifier: FormStr = "",
    password: FormStr = "",
    next_: NextForm = "",
) -> Response:
    return await _login(request, CUSTOMER, identifier, password, next_)


@router.get("/console/login", name="console_login")
async def console_login_page(request: Request, next_: NextQuery = "") -> Response:
    return await _login_page(request, OPERATOR, next_)


@router.post("/console/login")
async def console_login(
    request: Request,
    email: FormStr = "",
    password: FormStr = "",
    next_: NextForm = "",
) -> Response:
    return await _login(request, OPERATOR, email, password, next_)


# --- the TOTP step -----------------------------------------------------------------------


async def _awaiting(request: Request, area: Area) -> sessions.SignedIn:
    signed_in = await sessions.current(request, area.kind)
    if signed_in is None:
        raise Redirect(area.login)
    if not signed_in.awaiting_totp:
        raise Redirect(area.home)
    return signed_in


async def _totp_page(request: Request, area: Area, next_: str) -> Response:
    await _awaiting(request, area)
    return await render(
        request,
        "login_totp.html",
        {"layout": area.layout, "action": area.totp},
        values={"next": next_},
    )


async def _totp(request: Request, area: Area, code: str, next_: str) -> Response:
    signed_in = await _awaiting(request, area)
    seq = signed_in.principal_seq
    try:
        await limit_totp(request, area.kind, seq)
        async with page_work(request) as work:
            holder: service.TotpHolderRow
            if area.kind == PrincipalKind.CUSTOMER:
                holder = await service.customer_credential(work.session, seq, for_update=True)
            else:
                holder = await service.operator_by_seq(work.session, seq, for_update=True)
            await service.accept_totp(work.session, holder, code, utcnow())
            token = await sessions.complete_totp(work.session, signed_in, utcnow(), rotate=True)
    except ApiError as error:
        return await render_refused(
            request,
            "login_totp.html",
            error,
            fields=TOTP_FIELDS,
            values={"next": next_},
            context={"layout": area.layout, "action": area.totp},
        )
    response = redirect(request, safe_next(next_, area.home))
    assert token is not None
    sessions.set_session_cookie(response, request, area.kind, token)
    return response


@router.get("/login/totp", name="login_totp")
async def totp_page(request: Request, next_: NextQuery = "") -> Response:
    return await _totp_page(request, CUSTOMER, next_)


@router.post("/login/totp")
async def totp(
    request: Request,
    totp_code: FormStr = "",
    next_: NextForm = "",
) -> Response:
    return await _totp(request, CUSTOMER, totp_code, next_)


@router.get("/console/login/totp", name="console_login_totp")
async def console_totp_page(request: Request, next_: NextQuery = "") -> Response:
    return await _totp_page(request, OPERATOR, next_)


@router.post("/console/login/totp")
async def console_totp(
    request: Request,
    totp_code: FormStr = "",
    next_: NextForm = "",
) -> Response:
    return await _totp(request, OPERATOR, totp_code, next_)


# --- sign-out ----------------------------------------------------------------------------


async def _logout(request: Request, area: Area) -> Response:
    signed_in = await sessions.current(request, area.kind)
    if signed_in is not None:
        await verify_csrf(request)  # a live session is only ended by its own forms
        async with page_work(request) as work:
            await sessions.end(work.session, signed_in.session_seq)
        sessions.forget(request, area.kind)
    response = redirect(request, area.login, flash="You are signed out.")
    sessions.clear_session_cookie(response, request, area.kind)
    return response


@sign_out_router.post("/logout", name="logout")
async def logout(request: Request) -> Response:
    return await _logout(request, CUSTOMER)


@sign_out_router.post("/console/logout", name="console_logout")
async def console_logout(request: Request) -> Response:
    return await _logout(request, OPERATOR)
