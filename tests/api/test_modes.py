"""Sandbox and live: key prefixes, and test helpers that exist only in sandbox."""

from __future__ import annotations

import re

import httpx

from miningtx.app import create_app
from tests.conftest import make_settings
from tests.factories import make_customer


async def test_live_mode_issues_live_keys_and_has_no_test_helpers(database_url: str) -> None:
    settings = make_settings(database_url, mode="live")
    app = create_app(settings)
    alice = await make_customer(app.state.db, settings)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        helper = await client.post(
            "/v1/test_helpers/deposits",
            json={"network": "bsc", "amount": "100.00"},
            headers=alice.auth,
        )
        balance = await client.get("/v1/balance", headers=alice.auth)
        spec = (await client.get("/v1/openapi.json")).json()
    await app.state.db.dispose()

    assert re.fullmatch(r"mtx_live_[0-9A-Za-z]{32}", alice.key)
    assert helper.status_code == 404
    assert helper.json()["error"]["code"] == "not_found"
    assert balance.json()["available"] == "0.00"
    assert "/v1/test_helpers/deposits" not in spec["paths"]
    assert "/v1/test_helpers/clock/advance" not in spec["paths"]


async def test_a_sandbox_key_is_refused_by_a_live_deployment(database_url: str) -> None:
    sandbox = make_settings(database_url)
    live = create_app(make_settings(database_url, mode="live"))
    alice = await make_customer(live.state.db, sandbox)  # an mtx_test_ key in the same database
    transport = httpx.ASGITransport(app=live)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        response = await client.get("/v1/balance", headers=alice.auth)
    await live.state.db.dispose()

    assert response.status_code == 401
