"""Server-side web sessions, their cookies and the CSRF tokens that go with them.

The cookie holds a random token; the database holds only its SHA-256, so a leaked
database cannot be replayed as cookies. Customers and operators have separate cookies
(the operator's is scoped to /console) and separate session rows: one can never stand
in for the other. Each session carries a synchronizer CSRF token. Before sign-in, a
form's token is an HMAC (keyed with MTX_SECRET_KEY) of a random pre-session cookie.
Session times use the wall clock, never the sandbox's movable business clock.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from fastapi import Request, Response
from sqlalchemy import delete, select, update

from miningtx.audit.refs import OperatorRef
from miningtx.config import Settings
from miningtx.customers.refs import CustomerRef
from miningtx.kit.clock import utcnow
from miningtx.kit.db import Database, WriteSession
from miningtx.kit.ids import hash_secret
from miningtx.models import (
    Customer,
    CustomerCredential,
    Operator,
    OperatorRole,
    PrincipalKind,
    WebSession,
)

#: Whose session: a customer's (the dashboard) or an operator's (the console).
Kind = PrincipalKind

#: Cookie name and path per kind (keyed by the plain name, which a kind also is).
#: The operator cookie never travels outside /console.
COOKIES: dict[str, tuple[str, str]] = {
    PrincipalKind.CUSTOMER: ("mtx_session", "/"),
    PrincipalKind.OPERATOR: ("mtx_console_session", "/console"),
}
#: The pre-session cookie that anonymous forms (sign-up, sign-in) are bound to.
ANONYMOUS_CSRF_COOKIE = "mtx_csrf"
#: Longest a session lives, and longest it may sit unused.
LIFETIME: dict[Kind, timedelta] = {
    PrincipalKind.CUSTOMER: timedelta(hours=12),
    PrincipalKind.OPERATOR: timedelta(hours=8),
}
IDLE_TIMEOUT: dict[Kind, timedelta] = {
    PrincipalKind.CUSTOMER: timedelta(hours=2),
    PrincipalKind.OPERATOR: timedelta(minutes=30),
}
#: A session that passed the password but owes a TOTP code lives this long.
AWAITING_TOTP_LIFETIME = timedelta(minutes=10)
#: last_seen_at is written at most this often per session, so page views stay reads.
LAST_SEEN_RESOLUTION = timedelta(seconds=60)
TOKEN_BYTES = 32


@dataclass(frozen=True, slots=True)
class CustomerPrincipal:
    """The signed-in customer of a dashboard request."""

    customer_seq: int
    customer_id: str
    username: str
    email: str
    totp_enabled: bool
    kind: Literal[PrincipalKind.CUSTOMER] = PrincipalKind.CUSTOMER

    @property
    def display_name(self) -> str:
        return self.username

    @property
    def customer(self) -> CustomerRef:
        """The customer the services act for: the session is the proof, not an API key."""
        return CustomerRef(self.customer_seq, self.customer_id)


@dataclass(frozen=True, slots=True)
class OperatorPrincipal:
    """The signed-in operator of a console request."""

    operator_seq: int
    operator_id: str
    email: str
    role: OperatorRole
    totp_enabled: bool
    kind: Literal[PrincipalKind.OPERATOR] = PrincipalKind.OPERATOR

    @property
    def display_name(self) -> str:
        return self.email

    @property
    def is_admin(self) -> bool:
        return self.role == OperatorRole.ADMIN

    @property
    def ref(self) -> OperatorRef:
        """The operator the services act for and the audit log names: the session proves it."""
        return OperatorRef(self.operator_seq, self.operator_id, self.email)


@dataclass(frozen=True, slots=True)
class SignedIn:
    """A valid, unexpired session row and who it belongs to."""

    session_seq: int
    kind: Kind
    csrf_token: str
    awaiting_totp: bool
    totp_passed_at: datetime | None
    pending_totp_secret: str | None
    principal: CustomerPrincipal | OperatorPrincipal

    @property
    def principal_seq(self) -> int:
        """The customers.seq or operators.seq the session belongs to."""
        if isinstance(self.principal, CustomerPrincipal):
            return self.principal.customer_seq
        return self.principal.operator_seq


def area_of(request: Request) -> Kind:
    """Which kind of session a path belongs to: /console is the operators', the rest customers'."""
    path = request.url.path
    console = path == "/console" or path.startswith("/console/")
    return PrincipalKind.OPERATOR if console else PrincipalKind.CUSTOMER


def new_token() -> str:
    return secrets.token_urlsafe(TOKEN_BYTES)


# --- the session store -------------------------------------------------------------------


async def start(
    session: WriteSession, kind: Kind, principal_seq: int, *, awaiting_totp: bool, now: datetime
) -> str:
    """Open a session for the principal and return the cookie token (never stored as such)."""
    # Sign-in is a good moment to forget the principal's expired sessions.
    await session.execute(
        delete(WebSession).where(
            WebSession.principal_kind == kind,
            WebSession.principal_seq == principal_seq,
            WebSession.expires_at <= now,
        )
    )
    token = new_token()
    lifetime = AWAITING_TOTP_LIFETIME if awaiting_totp else LIFETIME[kind]
    session.add(
        WebSession(
            token_hash=hash_secret(token),
            principal_kind=kind,
            principal_seq=principal_seq,
            csrf_token=new_token(),
            awaiting_totp=awaiting_totp,
            created_at=now,
            expires_at=now + lifetime,
            last_seen_at=now,
        )
    )
    await session.flush()
    return token


async def complete_totp(
    session: WriteSession, signed_in: SignedIn, now: datetime, *, rotate: bool
) -> str | None:
    """Mark the session as having passed TOTP now. With `rotate`, issue a new token (and CSRF
    token), as after any rise in privilege; returns the new cookie token then."""
    values: dict[str, object] = {"awaiting_totp": False, "totp_passed_at": now}
    token = None
    if rotate:
        token = new_token()
        values |= {
            "token_hash": hash_secret(token),
            "csrf_token": new_token(),
            "expires_at": now + LIFETIME[signed_in.kind],
        }
    await session.execute(
        update(WebSession).where(WebSession.seq == signed_in.session_seq).values(**values)
    )
    return token


async def set_pending_totp_secret(
    session: WriteSession, signed_in: SignedIn, secret: str | None
) -> None:
    await session.execute(
        update(WebSession)
        .where(WebSession.seq == signed_in.session_seq)
        .values(pending_totp_secret=secret)
    )


async def end(session: WriteSession, session_seq: int) -> None:
    """Sign out: the row goes, so the cookie is worthless even if it was copied."""
    await session.execute(delete(WebSession).where(WebSession.seq == session_seq))


_SESSION_COLUMNS = (
    WebSession.seq,
    WebSession.csrf_token,
    WebSession.awaiting_totp,
    WebSession.totp_passed_at,
    WebSession.pending_totp_secret,
    WebSession.expires_at,
    WebSession.last_seen_at,
)
_CUSTOMER_SESSION = (
    select(
        *_SESSION_COLUMNS,
        Customer.seq.label("principal_seq"),
        Customer.id.label("principal_id"),
        Customer.username,
        Customer.email,
        CustomerCredential.totp_secret,
    )
    .join(Customer, Customer.seq == WebSession.principal_seq)
    .join(CustomerCredential, CustomerCredential.customer_seq == Customer.seq)
    .where(WebSession.principal_kind == PrincipalKind.CUSTOMER)
)
_OPERATOR_SESSION = (
    select(
        *_SESSION_COLUMNS,
        Operator.seq.label("principal_seq"),
        Operator.id.label("principal_id"),
        Operator.email,
        Operator.role,
        Operator.totp_secret,
    )
    .join(Operator, Operator.seq == WebSession.principal_seq)
    .where(WebSession.principal_kind == PrincipalKind.OPERATOR, Operator.disabled_at.is_(None))
)


async def purge_expired(session: WriteSession, now: datetime) -> int:
    """Delete every expired session; for a periodic job. Returns how many went."""
    result = await session.execute(delete(WebSession).where(WebSession.expires_at <= now))
    return int(result.rowcount)  # type: ignore[attr-defined]  # DML results carry rowcount


async def load(db: Database, kind: Kind, token: str, now: datetime) -> SignedIn | None:
    """The live session behind a cookie token, or None (unknown, expired or idle too long).

    Opens its own read (and, once a minute, write) transaction: never call it inside a
    write transaction, which on SQLite would wait for itself. `current` caches it.
    """
    query = _CUSTOMER_SESSION if kind == PrincipalKind.CUSTOMER else _OPERATOR_SESSION
    async with db.read() as session:
        row = (
            await session.execute(query.where(WebSession.token_hash == hash_secret(token)))
        ).one_or_none()
    if row is None or row.expires_at <= now or row.last_seen_at <= now - IDLE_TIMEOUT[kind]:
        return None
    if now - row.last_seen_at > LAST_SEEN_RESOLUTION:
        async with db.write() as session:
            await session.execute(
                update(WebSession).where(WebSession.seq == row.seq).values(last_seen_at=now)
            )
    principal: CustomerPrincipal | OperatorPrincipal
    if kind == PrincipalKind.CUSTOMER:
        principal = CustomerPrincipal(
            row.principal_seq,
            row.principal_id,
            row.username,
            row.email,
            row.totp_secret is not None,
        )
    else:
        principal = OperatorPrincipal(
            row.principal_seq, row.principal_id, row.email, row.role, row.totp_secret is not None
        )
    return SignedIn(
        row.seq,
        kind,
        row.csrf_token,
        row.awaiting_totp,
        row.totp_passed_at,
        row.pending_totp_secret,
        principal,
    )


async def current(request: Request, kind: Kind) -> SignedIn | None:
    """The request's session of `kind` (awaiting TOTP or not), loaded once per request.
    Call it before opening `page_work`, not inside (see `load`)."""
    cache: dict[Kind, SignedIn | None] | None = getattr(request.state, "web_sessions", None)
    if cache is None:
        cache = request.state.web_sessions = {}
    if kind not in cache:
        token = request.cookies.get(COOKIES[kind][0])
        db: Database = request.app.state.db
        cache[kind] = await load(db, kind, token, utcnow()) if token else None
    return cache[kind]


def forget(request: Request, kind: Kind) -> None:
    """Drop the cached session (after sign-in or sign-out changed it within this request)."""
    cache: dict[Kind, SignedIn | None] | None = getattr(request.state, "web_sessions", None)
    if cache is not None:
        cache.pop(kind, None)


# --- cookies -----------------------------------------------------------------------------


def set_session_cookie(response: Response, request: Request, kind: Kind, token: str) -> None:
    """HttpOnly and SameSite=Lax always; Secure whenever the request came over https."""
    name, path = COOKIES[kind]
    response.set_cookie(
        name,
        token,
        max_age=int(LIFETIME[kind].total_seconds()),
        path=path,
        secure=request.url.scheme == "https",
        httponly=True,
        samesite="lax",
    )


def clear_session_cookie(response: Response, request: Request, kind: Kind) -> None:
    name, path = COOKIES[kind]
    response.delete_cookie(
        name, path=path, secure=request.url.scheme == "https", httponly=True, samesite="lax"
    )


# --- CSRF --------------------------------------------------------------------------------


def _anonymous_token(settings: Settings, cookie_value: str) -> str:
    return hmac.new(
        settings.secret_key.encode(), b"csrf:" + cookie_value.encode(), hashlib.sha256
    ).hexdigest()


async def csrf_token(request: Request) -> str:
    """The token this request's forms must carry: the session's, or before sign-in one bound
    to the pre-session cookie (created here if missing; `apply_cookies` sends it)."""
    signed_in = await current(request, area_of(request))
    if signed_in is not None:
        return signed_in.csrf_token
    cookie = request.cookies.get(ANONYMOUS_CSRF_COOKIE) or getattr(
        request.state, "new_csrf_cookie", None
    )
    if cookie is None:
        cookie = new_token()
        request.state.new_csrf_cookie = cookie
    return _anonymous_token(request.app.state.settings, cookie)


async def csrf_matches(request: Request, presented: str | None) -> bool:
    """Whether `presented` is this request's CSRF token (constant-time comparison)."""
    if not presented:
        return False
    signed_in = await current(request, area_of(request))
    if signed_in is not None:
        expected = signed_in.csrf_token
    else:
        cookie = request.cookies.get(ANONYMOUS_CSRF_COOKIE)
        if not cookie:
            return False
        expected = _anonymous_token(request.app.state.settings, cookie)
    return hmac.compare_digest(expected.encode(), presented.encode())


def apply_cookies(request: Request, response: Response) -> None:
    """Send the pre-session CSRF cookie if this request created one."""
    cookie: str | None = getattr(request.state, "new_csrf_cookie", None)
    if cookie is not None:
        response.set_cookie(
            ANONYMOUS_CSRF_COOKIE,
            cookie,
            path="/",
            secure=request.url.scheme == "https",
            httponly=True,
            samesite="lax",
        )
