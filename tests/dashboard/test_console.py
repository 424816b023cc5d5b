"""The operator console: separate accounts and cookies, roles, and `mtx operators create`."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from miningtx.cli import app
from miningtx.dashboard.sessions import COOKIES
from tests.conftest import Env
from tests.dashboard.factories import make_operator, make_web_customer
from tests.dashboard.web import csrf_of, field_error, sign_in


async def test_a_customer_cannot_reach_the_console(web: Env) -> None:
    customer = await make_web_customer(web.db)
    await sign_in(web.client, customer.username, customer.password)
    assert (await web.client.get("/dashboard")).status_code == 200
    for path in ("/console", "/console/"):
        response = await web.client.get(path)
        assert response.status_code in (303, 307)
        assert response.headers["location"].startswith(("/console/login", "http://test/console"))
    # Not even with the customer's token copied into the operator cookie.
    web.client.cookies.set(COOKIES["operator"][0], web.client.cookies["mtx_session"])
    response = await web.client.get("/console")
    assert response.status_code == 303
    assert response.headers["location"] == "/console/login?next=%2Fconsole"
    # Nor by signing in to the console with customer credentials.
    refused = await sign_in(web.client, customer.email, customer.password, console=True)
    assert refused.status_code == 400
    assert field_error(refused, "password") == "That email and password do not match."


async def test_an_operator_signs_in_to_the_console_and_gets_no_customer_pages(web: Env) -> None:
    operator = await make_operator(web.db, role="reviewer")
    response = await sign_in(web.client, operator.email.upper(), operator.password, console=True)
    assert response.status_code == 303
    assert response.headers["location"] == "/console"
    cookie = next(
        c for c in response.headers.get_list("set-cookie") if c.startswith("mtx_console_session=")
    )
    assert "Path=/console" in cookie
    assert "HttpOnly" in cookie
    home = await web.client.get("/console")
    assert home.status_code == 200
    assert "<title>Console · MiningTX</title>" in home.text
    assert 'aria-label="Console"' in home.text
    assert operator.email in home.text
    response = await web.client.get("/dashboard")
    assert response.status_code == 303
    assert response.headers["location"] == "/login?next=%2Fdashboard"
    # Sign-out ends the operator's session.
    response = await web.client.post("/console/logout", data={"csrf_token": csrf_of(home)})
    assert response.headers["location"] == "/console/login"
    assert (await web.client.get("/console")).status_code == 303


def test_mtx_operators_create_prints_a_password_once(sqlite_env: Path) -> None:
    runner = CliRunner()
    result = runner.invoke(
        app, ["operators", "create", "--email", "Ops@Example.com", "--role", "admin", "--json"]
    )
    assert result.exit_code == 0, result.output
    created = json.loads(result.stdout)
    assert created["email"] == "ops@example.com"
    assert created["role"] == "admin"
    assert created["id"].startswith("op_")
    assert len(created["password"]) >= 20

    again = runner.invoke(
        app, ["operators", "create", "--email", "ops@example.com", "--role", "admin"]
    )
    assert again.exit_code == 1
    assert again.stderr.strip() == "error: An operator with that email exists."
    bad_role = runner.invoke(
        app, ["operators", "create", "--email", "x@example.com", "--role", "root"]
    )
    assert bad_role.exit_code == 1
    typed = runner.invoke(
        app,
        [
            "operators",
            "create",
            "--email",
            "r@example.com",
            "--role",
            "reviewer",
            "--password-stdin",
        ],
        input="a long enough password\n",
    )
    assert typed.exit_code == 0, typed.output
    assert "a long enough password" not in typed.stdout
    assert "Password" not in typed.stdout
