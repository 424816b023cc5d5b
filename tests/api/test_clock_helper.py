"""POST /v1/test_helpers/clock/advance: validation, the shared clock, sandbox only."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
import pytest

from miningtx.app import create_app
from miningtx.kit.clock import utcnow
from tests.conftest import Env, make_settings
from tests.factories import make_customer, open_for_business
from tests.staking.factories import parse_time

ADVANCE = "/v1/test_helpers/clock/advance"


async def test_advance_moves_the_deployment_clock_for_later_requests(env: Env) -> None:
    await open_for_business(env.db)
    alice = await make_customer(env.db, env.settings, deposit="1000.00")

    response = await env.client.post(ADVANCE, json={"seconds": 2 * 86_400}, headers=alice.auth)

    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == {"now", "advanced_by"}
    assert body["advanced_by"] == 2 * 86_400
    ahead = parse_time(body["now"]) - utcnow()
    assert timedelta(days=2) - timedelta(seconds=5) < ahead <= timedelta(days=2)
    activated = await env.client.post(
        "/v1/contracts/activate", json={"contract_id": "starter"}, headers=alice.auth
    )
    assert activated.status_code == 200, activated.text
    activated_at = parse_time(activated.json()["activated_at"])
    assert activated_at - utcnow() > timedelta(days=2) - timedelta(seconds=5)


@pytest.mark.parametrize(
    "body",
    [
        {"seconds": 0},
        {"seconds": -60},
        {"seconds": "60"},
        {"seconds": 1.5},
        {"seconds": True},
        {"seconds": 400 * 86_400 + 1},
        {},
        {"seconds": 60, "extra": 1},
    ],
)
async def test_bad_advances_are_refused_and_the_clock_stays(env: Env, body: Any) -> None:
    alice = await make_customer(env.db, env.settings)

    response = await env.client.post(ADVANCE, json=body, headers=alice.auth)

    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["code"] == "invalid_request"
    async with env.db.read() as session:
        assert abs(await env.db.clock.sync(session) - utcnow()) < timedelta(seconds=5)


async def test_advance_needs_a_key(env: Env) -> None:
    response = await env.client.post(ADVANCE, json={"seconds": 60})
    assert response.status_code == 401


async def test_live_mode_has_no_clock_helper(env: Env) -> None:
    settings = make_settings(env.settings.database_url, mode="live")
    app = create_app(settings)
    alice = await make_customer(app.state.db, settings)
    try:
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://test"
        ) as client:
            response = await client.post(ADVANCE, json={"seconds": 60}, headers=alice.auth)
        assert response.status_code == 404
    finally:
        await app.state.db.dispose()
