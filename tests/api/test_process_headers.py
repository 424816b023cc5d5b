"""Every response of a real server carries X-Request-Id and the three X-RateLimit-* headers,
errors included: 400, 401 from the middleware, 404 from the router and from a service."""

from __future__ import annotations

import re
import time
from pathlib import Path

import httpx
import pytest

from tests.factories import make_customer
from tests.servers import seeding, serve

pytestmark = pytest.mark.slow

REQUEST_ID = re.compile(r"^req_[A-Za-z0-9]{20}$")
KEY_LIMIT = 120
IP_LIMIT = 100_000  # tests.servers.UNAUTHENTICATED_LIMIT


async def test_every_response_carries_request_id_and_rate_limit_headers(
    database_url: str, tmp_path: Path
) -> None:
    async with seeding(database_url) as seed:
        henry = await make_customer(seed.db, seed.settings, deposit="50.00")
    unknown_key = {"Authorization": "Bearer mtx_test_" + "x" * 32}
    async with (
        serve(database_url, tmp_path) as server,
        httpx.AsyncClient(base_url=server.base_url, timeout=10.0) as client,
    ):
        # (method, path, headers, json body, status, error code or None, counted against the key)
        cases: list[tuple[str, str, dict[str, str], object, int, str | None, bool]] = [
            ("GET", "/healthz", {}, None, 200, None, False),
            ("GET", "/v1/balance", henry.auth, None, 200, None, True),
            ("GET", "/v1/balance", {}, None, 401, "unauthorized", False),
            ("GET", "/v1/account", unknown_key, None, 401, "unauthorized", False),
            ("GET", "/v1/no-such-route", henry.auth, None, 404, "not_found", True),
            ("GET", "/no-such-page", {}, None, 404, "not_found", False),
            (
                "GET",
                "/v1/contracts/activations/ct_missing",
                henry.auth,
                None,
                404,
                "resource_missing",
                True,
            ),
            ("POST", "/v1/contracts/activate", henry.auth, {}, 400, "invalid_request", True),
            (
                "POST",
                "/v1/contracts/activate",
                henry.auth,
                {"contract_id": "hyper"},
                404,
                "resource_missing",
                True,
            ),
            ("GET", "/v1/openapi.json", {}, None, 200, None, False),
            ("GET", "/metrics", {}, None, 200, None, False),
        ]
        seen_ids: set[str] = set()
        key_hits = 0
        for method, path, headers, body, status, code, by_key in cases:
            response = await client.request(method, path, headers=headers, json=body)
            where = f"{method} {path}"
            assert response.status_code == status, (where, response.text)
            request_id = response.headers["x-request-id"]
            assert REQUEST_ID.match(request_id), (where, request_id)
            seen_ids.add(request_id)
            if by_key:
                key_hits += 1
                assert response.headers["x-ratelimit-limit"] == str(KEY_LIMIT), where
                assert response.headers["x-ratelimit-remaining"] == str(KEY_LIMIT - key_hits)
            else:
                assert response.headers["x-ratelimit-limit"] == str(IP_LIMIT), where
                assert 0 <= int(response.headers["x-ratelimit-remaining"]) < IP_LIMIT, where
            reset = int(response.headers["x-ratelimit-reset"])
            assert time.time() - 1 <= reset <= time.time() + 61, where
            if code is not None:
                error = response.json()["error"]
                assert error["code"] == code, (where, response.text)
                assert error["request_id"] == request_id, where
        assert len(seen_ids) == len(cases)

        # A caller's own request id (from a proxy or their tracing) is kept.
        traced = await client.get("/v1/balance", headers={"X-Request-Id": "trace-0123456789"})
        assert traced.status_code == 401
        assert traced.headers["x-request-id"] == "trace-0123456789"
        assert traced.json()["error"]["request_id"] == "trace-0123456789"
        assert {"x-ratelimit-limit", "x-ratelimit-remaining", "x-ratelimit-reset"} <= set(
            traced.headers
        )
