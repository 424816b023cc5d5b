"""Optional TOTP two-factor: turning it on in Settings, then signing in with a code."""

from __future__ import annotations

from datetime import timedelta
from types import SimpleNamespace

import pyotp
import pytest
from sqlalchemy import select
from starlette.requests import Request

from miningtx.dashboard import service
from miningtx.dashboard.deps import PageWork, require_totp_code
from miningtx.dashboard.sessions import CustomerPrincipal
from miningtx.kit.clock import utcnow
from miningtx.kit.errors import ApiError
from miningtx.kit.ratelimit import RateLimiter
from miningtx.models import CustomerCredential
from tests.conftest import Env
from tests.dashboard.factories import make_web_customer
from tests.dashboard.web import TotpClock, csrf_of, field_error, sign_in

STEP = timedelta(seconds=30)


def code(secret: str, steps_ahead: int = 0) -> str:
    """The code of the current time step, or of one a little ahead (still within the window)."""
    return pyotp.TOTP(secret).at(utcnow() + steps_ahead * STEP)


def code_of_step(secret: str, step: int) -> str:
    """The code of one given time step, whatever the clock says now."""
    return pyotp.TOTP(secret).generate_otp(step)


def wrong_code(secret: str) -> str:
    """A well-formed code that no step near now accepts (never a real code by chance)."""
    totp = pyotp.TOTP(secret)
    now = totp.timecode(utcnow())
    near = {totp.generate_otp(step) for step in range(now - 3, now + 4)}
    return next(guess for guess in ("000000", "123456", "111111", "999999") if guess not in near)


async def burned_step(web: Env, customer_seq: int) -> int | None:
    """The last time step whose code the customer used (stored to refuse it a second time)."""
    async with web.db.read() as session:
        return await session.scalar(
            select(CustomerCredential.totp_last_step).where(
                CustomerCredential.customer_seq == customer_seq
            )
        )


async def enable_totp(web: Env) -> str:
    """Turn TOTP on for the signed-in customer through Settings; returns the secret."""
    page = await web.client.get("/settings/security")
    assert "Two-factor sign-in" in page.text
    response = await web.client.post(
        "/settings/security/totp/setup", data={"csrf_token": csrf_of(page)}
    )
    assert response.status_code == 303
    page = await web.client.get("/settings/security")
    secret = page.text.split('<code id="totp-secret">')[1].split("</code>")[0]
    assert "otpauth://totp/MiningTX:" in page.text
    assert "<svg" in page.text  # the QR code, inline

    wrong = await web.client.post(
        "/settings/security/totp/confirm",
        data={"csrf_token": csrf_of(page), "totp_code": wrong_code(secret)},
    )
    assert wrong.status_code == 400
    assert field_error(wrong, "totp_code") is not None
    response = await web.client.post(
        "/settings/security/totp/confirm",
        data={"csrf_token": csrf_of(page), "totp_code": code(secret)},
    )
    assert response.status_code == 303
    page = await web.client.get("/settings/security")
    assert "Two-factor sign-in is on." in page.text
    return secret


async def test_after_enabling_totp_sign_in_asks_for_the_code(
    web: Env, totp_clock: TotpClock
) -> None:
    customer = await make_web_customer(web.db)
    await sign_in(web.client, customer.username, customer.password)
    secret = await enable_totp(web)
    page = await web.client.get("/dashboard")
    await web.client.post("/logout", data={"csrf_token": csrf_of(page)})

    response = await sign_in(web.client, customer.username, customer.password)
    assert response.status_code == 303
    assert response.headers["location"] == "/login/totp?next=%2Fdashboard"
    # The password alone opens no page.
    blocked = await web.client.get("/dashboard")
    assert blocked.status_code == 303
    assert blocked.headers["location"] == "/login/totp"
    step = await web.client.get("/login/totp?next=/dashboard")
    assert step.status_code == 200
    wrong = await web.client.post(
        "/login/totp",
        data={"csrf_token": csrf_of(step), "totp_code": wrong_code(secret), "next": "/"},
    )
    assert wrong.status_code == 400
    assert field_error(wrong, "totp_code") == (
        "That code is not valid. Enter the current 6-digit code."
    )
    # The code that turned TOTP on is spent (whichever step the clock is in now, it is
    # still inside the window); the next step's code is accepted.
    enabled_step = await burned_step(web, customer.seq)
    assert enabled_step is not None
    used = await web.client.post(
        "/login/totp",
        data={"csrf_token": csrf_of(step), "totp_code": code_of_step(secret, enabled_step)},
    )
    assert field_error(used, "totp_code") == (
        "That code was already used. Wait for the next code and enter it."
    )
    awaiting_token = web.client.cookies["mtx_session"]
    response = await web.client.post(
        "/login/totp",
        data={
            "csrf_token": csrf_of(step),
            "totp_code": code_of_step(secret, enabled_step + 1),
            "next": "/dashboard",
        },
    )
    assert response.status_code == 303
    assert response.headers["location"] == "/dashboard"
    assert web.client.cookies["mtx_session"] != awaiting_token  # rotated after the code
    assert (await web.client.get("/dashboard")).status_code == 200


def request_to(env: Env) -> Request:
    """A bare request whose app has the rate limiter, all that require_totp_code reads."""
    app = SimpleNamespace(state=SimpleNamespace(limiter=RateLimiter(env.settings)))
    return Request({"type": "http", "app": app, "headers": [], "path": "/", "method": "POST"})


async def test_require_totp_code_guards_sensitive_forms(web: Env, totp_clock: TotpClock) -> None:
    customer = await make_web_customer(web.db)
    secret = pyotp.random_base32()
    async with web.db.write() as session:
        credential = await service.customer_credential(session, customer.seq)
        credential.totp_secret = secret
    principal = CustomerPrincipal(
        customer.seq, customer.id, customer.username, customer.email, totp_enabled=True
    )
    request = request_to(web)
    for given, expected in (
        ("", "totp_required"),
        (wrong_code(secret), "invalid_totp"),
        (None, "totp_required"),
    ):
        with pytest.raises(ApiError) as refused:
            async with web.db.write() as session:
                await require_totp_code(request, PageWork(session, utcnow()), principal, given)
        assert refused.value.code == expected
        assert refused.value.param == "totp_code"
    # The step is the code's own, read before the call: the clock may pass a boundary since.
    step = pyotp.TOTP(secret).timecode(utcnow())
    given_code = code_of_step(secret, step)
    async with web.db.write() as session:
        await require_totp_code(request, PageWork(session, utcnow()), principal, given_code)
    assert await burned_step(web, customer.seq) == step
    with pytest.raises(ApiError, match="already used"):
        async with web.db.write() as session:
            await require_totp_code(request, PageWork(session, utcnow()), principal, given_code)
    # Without TOTP on, the same call lets the form through with no code.
    off = CustomerPrincipal(customer.seq, customer.id, customer.username, customer.email, False)
    async with web.db.write() as session:
        await require_totp_code(request, PageWork(session, utcnow()), off, None)
