"""Console -> Security: an operator turns two-factor on; sign-in then asks for a code."""

from __future__ import annotations

import pyotp

from miningtx.kit.clock import utcnow
from tests.conftest import Env
from tests.dashboard.console_factories import signed_in_operator
from tests.dashboard.test_totp import wrong_code
from tests.dashboard.web import TotpClock, csrf_of, field_error, sign_in


async def test_an_operator_enables_totp_and_sign_in_then_asks_for_a_code(
    web: Env, totp_clock: TotpClock
) -> None:
    operator = await signed_in_operator(web.db, web.client, role="reviewer")
    page = await web.client.get("/console/security")
    assert page.status_code == 200
    assert "<strong>Off.</strong>" in page.text
    await web.client.post("/console/security/totp/setup", data={"csrf_token": csrf_of(page)})
    page = await web.client.get("/console/security")
    secret = page.text.split('<code id="totp-secret">')[1].split("</code>")[0]
    wrong = await web.client.post(
        "/console/security/totp/confirm",
        data={"csrf_token": csrf_of(page), "totp_code": wrong_code(secret)},
    )
    assert wrong.status_code == 400
    assert field_error(wrong, "totp_code") is not None
    response = await web.client.post(
        "/console/security/totp/confirm",
        data={"csrf_token": csrf_of(page), "totp_code": pyotp.TOTP(secret).at(utcnow())},
    )
    assert response.status_code == 303
    assert "Two-factor sign-in is on." in (await web.client.get("/console/security")).text

    web.client.cookies.clear()
    response = await sign_in(web.client, operator.email, operator.password, console=True)
    assert response.status_code == 303
    assert response.headers["location"].startswith("/console/login/totp")
    assert (await web.client.get("/console/kyc")).headers["location"] == "/console/login/totp"
