"""When the database is unreachable: a clean 503 envelope, never a trace."""

from __future__ import annotations

import httpx

from miningtx.app import create_app
from tests.conftest import make_settings


async def test_unreachable_database_gives_503_envelopes() -> None:
    app = create_app(make_settings("postgresql+asyncpg://postgres@127.0.0.1:1/nowhere"))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        api = await client.get(
            "/v1/balance", headers={"Authorization": "Bearer mtx_test_" + "a" * 32}
        )
        ready = await client.get("/readyz")
        alive = await client.get("/healthz")
    await app.state.db.dispose()

    assert api.status_code == 503
    assert api.json()["error"]["code"] == "service_unavailable"
    assert "x-request-id" in api.headers
    assert "Traceback" not in api.text
    assert "asyncpg" not in api.text
    assert ready.status_code == 503
    assert alive.status_code == 200
