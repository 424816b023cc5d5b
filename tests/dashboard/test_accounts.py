"""Sign-up, sign-in and sign-out, sessions and CSRF, on both databases."""

from __future__ import annotations

import httpx
from sqlalchemy import func, select

from miningtx.customers import service as customers
from miningtx.dashboard.sessions import COOKIES
from miningtx.kit.clock import utcnow
from miningtx.kit.money import parse_amount
from miningtx.models import Customer, WebSession
from miningtx.wallet import service as wallet
from tests.conftest import Env
from tests.dashboard.factories import PASSWORD, make_web_customer
from tests.dashboard.web import csrf_of, field_error, sign_in, submit
from tests.factories import make_customer


async def count(env: Env, model: type[Customer] | type[WebSession]) -> int:
    async with env.db.read() as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


async def test_sign_up_with_a_referral_code_links_the_referrer_and_signs_in(web: Env) -> None:
    referrer = await make_customer(web.db, web.settings)
    form = await web.client.get(f"/signup?ref={referrer.referral_code}")
    assert f'value="{referrer.referral_code}"' in form.text  # a referral link fills the code in
    response = await web.client.post(
        "/signup",
        data={
            "csrf_token": csrf_of(form),
            "email": "newbie@example.com",
            "username": "newbie",
            "password": PASSWORD,
            "referral_code": referrer.referral_code.lower(),
        },
    )
    assert response.status_code == 303
    assert response.headers["location"] == "/dashboard"

    overview = await web.client.get("/dashboard")
    assert overview.status_code == 200
    assert "<title>Overview · MiningTX</title>" in overview.text
    assert 'data-figure="available">0.00' in overview.text
    assert "Welcome to MiningTX" in overview.text  # the flash message of the redirect
    async with web.db.read() as session:
        newbie = await session.scalar(select(Customer).where(Customer.username == "newbie"))
    assert newbie is not None
    assert newbie.referred_by_seq == referrer.seq


async def test_overview_shows_the_same_figures_as_the_api(web: Env) -> None:
    customer = await make_web_customer(web.db)
    await make_customer(web.db, web.settings, deposit="99.00")  # someone else's money
    async with web.db.write() as session:
        row = await customers.get_customer(session, customer.id)
        _, key = await customers.create_api_key(
            session, row, prefix=web.settings.key_prefix, now=utcnow()
        )
        await wallet.credit_deposit(
            session,
            customer_seq=customer.seq,
            customer_id=customer.id,
            network="bsc",
            amount=parse_amount("125.5"),
            now=utcnow(),
        )
    balance = (
        await web.client.get("/v1/balance", headers={"Authorization": f"Bearer {key}"})
    ).json()
    await sign_in(web.client, customer.username, customer.password)
    overview = await web.client.get("/dashboard")
    assert balance["available"] == "125.50"
    for figure in ("available", "in_contracts", "in_stakes", "pending_withdrawals"):
        assert f'data-figure="{figure}">{balance[figure]} ' in overview.text
    assert f'data-figure="total_rewards">{balance["total_rewards"]} ' in overview.text


async def test_sign_up_errors_are_shown_beside_their_fields(web: Env) -> None:
    taken = await make_web_customer(web.db)
    before = await count(web, Customer)
    response = await submit(
        web.client,
        "/signup",
        "/signup",
        {"email": "other@example.com", "username": taken.username, "password": PASSWORD},
    )
    assert response.status_code == 409
    assert field_error(response, "username") == "That username is already taken."
    assert 'value="other@example.com"' in response.text  # the form keeps what was typed
    response = await submit(
        web.client,
        "/signup",
        "/signup",
        {
            "email": "x@example.com",
            "username": "xuser",
            "password": PASSWORD,
            "referral_code": "NOPE",
        },
    )
    assert response.status_code == 400
    assert field_error(response, "referral_code") == "No customer has that referral code."
    response = await submit(
        web.client,
        "/signup",
        "/signup",
        {"email": "x@example.com", "username": "xuser", "password": "short"},
    )
    assert field_error(response, "password") is not None
    assert await count(web, Customer) == before
    assert COOKIES["customer"][0] not in web.client.cookies


async def test_wrong_password_is_refused_without_a_session(web: Env) -> None:
    customer = await make_web_customer(web.db)
    response = await sign_in(web.client, customer.email, "wrong password here")
    assert response.status_code == 400
    assert field_error(response, "password") == (
        "That email or username and password do not match."
    )
    assert f'value="{customer.email}"' in response.text
    assert COOKIES["customer"][0] not in web.client.cookies
    unknown = await sign_in(web.client, "nobody@example.com", PASSWORD)
    assert field_error(unknown, "password") == field_error(response, "password")
    assert await count(web, WebSession) == 0

    # Email (any case) or username both work, and ?next= brings the customer back.
    page = await web.client.get("/login?next=/settings/security")
    response = await web.client.post(
        "/login",
        data={
            "csrf_token": csrf_of(page),
            "identifier": customer.email.upper(),
            "password": customer.password,
            "next": "/settings/security",
        },
    )
    assert response.status_code == 303
    assert response.headers["location"] == "/settings/security"


async def test_next_never_leaves_the_site(web: Env) -> None:
    customer = await make_web_customer(web.db)
    for target in ("https://evil.example/", "//evil.example/x", "/\\evil.example"):
        web.client.cookies.clear()
        page = await web.client.get("/login")
        response = await web.client.post(
            "/login",
            data={
                "csrf_token": csrf_of(page),
                "identifier": customer.username,
                "password": customer.password,
                "next": target,
            },
        )
        assert response.headers["location"] == "/dashboard"


async def test_sign_in_is_rate_limited_per_account(web: Env) -> None:
    customer = await make_web_customer(web.db)
    for _ in range(10):
        response = await sign_in(web.client, customer.username, "wrong password here")
        assert response.status_code == 400
    response = await sign_in(web.client, customer.username, customer.password)
    assert response.status_code == 429
    assert "Too many sign-in attempts" in response.text
    assert 'role="alert"' in response.text
    assert int(response.headers["retry-after"]) > 0
    assert COOKIES["customer"][0] not in web.client.cookies
    # Another account from the same address is not locked out by it.
    other = await make_web_customer(web.db)
    assert (await sign_in(web.client, other.username, other.password)).status_code == 303


async def test_a_post_without_the_right_csrf_token_is_refused_and_changes_nothing(
    web: Env,
) -> None:
    before = await count(web, Customer)
    # The pre-session cookie exists; only the token is missing or wrong.
    anonymous_token = csrf_of(await web.client.get("/signup"))
    form = {"email": "csrf@example.com", "username": "csrfuser", "password": PASSWORD}
    response = await web.client.post("/signup", data=form)
    assert response.status_code == 403
    assert "did not come from this site" in response.text
    response = await web.client.post("/signup", data={**form, "csrf_token": "forged"})
    assert response.status_code == 403
    assert await count(web, Customer) == before

    customer = await make_web_customer(web.db)
    await sign_in(web.client, customer.username, customer.password)
    # The pre-session token is a real token, but not this session's.
    for data in ({}, {"csrf_token": "forged"}, {"csrf_token": anonymous_token}):
        response = await web.client.post("/settings/security/totp/setup", data=data)
        assert response.status_code == 403
    async with web.db.read() as session:
        pending = await session.scalar(select(WebSession.pending_totp_secret))
    assert pending is None
    # The header htmx sends works as well as the form field.
    page = await web.client.get("/settings/security")
    response = await web.client.post(
        "/settings/security/totp/setup", headers={"X-CSRF-Token": csrf_of(page)}
    )
    assert response.status_code == 303


async def test_session_cookie_is_http_only_same_site_and_secure_over_https(web: Env) -> None:
    customer = await make_web_customer(web.db)
    response = await sign_in(web.client, customer.username, customer.password)
    cookie = next(
        c for c in response.headers.get_list("set-cookie") if c.startswith("mtx_session=")
    )
    attributes = {part.strip().lower() for part in cookie.split(";")}
    assert "httponly" in attributes
    assert "samesite=lax" in attributes
    assert "path=/" in attributes
    assert "secure" not in attributes  # plain http (tests): a Secure cookie would be dropped

    transport = web.client._transport  # the same app, reached over https
    async with httpx.AsyncClient(transport=transport, base_url="https://test") as secure:
        response = await sign_in(secure, customer.username, customer.password)
    cookie = next(
        c for c in response.headers.get_list("set-cookie") if c.startswith("mtx_session=")
    )
    assert "secure" in {part.strip().lower() for part in cookie.split(";")}
    # The session token itself is never stored: only its SHA-256.
    token = cookie.split(";")[0].split("=", 1)[1]
    async with web.db.read() as session:
        hashes = set(await session.scalars(select(WebSession.token_hash)))
    assert token not in hashes
    assert len(hashes) == 2


async def test_pages_need_a_session_and_sign_out_ends_it(web: Env) -> None:
    response = await web.client.get("/dashboard")
    assert response.status_code == 303
    assert response.headers["location"] == "/login?next=%2Fdashboard"
    assert (await web.client.get("/")).headers["location"] == "/login"

    customer = await make_web_customer(web.db)
    await sign_in(web.client, customer.username, customer.password)
    assert (await web.client.get("/")).headers["location"] == "/dashboard"
    token = web.client.cookies["mtx_session"]
    overview = await web.client.get("/dashboard")
    response = await web.client.post("/logout", data={"csrf_token": csrf_of(overview)})
    assert response.status_code == 303
    assert response.headers["location"] == "/login"
    assert await count(web, WebSession) == 0
    # The old cookie, replayed, opens nothing.
    web.client.cookies.set("mtx_session", token)
    assert (await web.client.get("/dashboard")).status_code == 303


async def test_every_page_carries_security_headers_and_stays_out_of_openapi(web: Env) -> None:
    response = await web.client.get("/login")
    assert response.headers["x-frame-options"] == "DENY"
    assert "script-src 'self'" in response.headers["content-security-policy"]
    assert response.headers["cache-control"] == "no-store"
    assert "<title>Sign in · MiningTX</title>" in response.text
    assert '<main id="main"' in response.text
    paths = (await web.client.get("/v1/openapi.json")).json()["paths"]
    assert not [p for p in paths if not p.startswith("/v1/") and p not in _OPERATIONS]
    static = await web.client.get("/static/htmx.min.js?v=1")
    assert static.status_code == 200
    assert static.text.startswith("/*! htmx.org 2")
    assert "immutable" in static.headers["cache-control"]


_OPERATIONS = {"/healthz", "/readyz", "/metrics"}
