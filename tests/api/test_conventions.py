"""API conventions every route shares: auth, the error envelope, headers, bad input, OpenAPI."""

from __future__ import annotations

import re

import pytest

from miningtx.customers import service as customers
from miningtx.kit.clock import utcnow
from tests.conftest import Env
from tests.factories import invariant_problems, make_customer, open_for_business

REQUEST_ID = re.compile(r"^req_[0-9A-Za-z]{20}$")


async def documented_paths(env: Env) -> list[tuple[str, str]]:
    spec = (await env.client.get("/v1/openapi.json")).json()
    return [
        (method.upper(), path.replace("{activation_id}", "ct_doesnotexist"))
        for path, methods in spec["paths"].items()
        if path.startswith("/v1/")
        for method in methods
    ]


async def test_every_v1_route_refuses_requests_without_a_valid_key(env: Env) -> None:
    alice = await make_customer(env.db, env.settings, deposit="100.00")
    async with env.db.write() as session:
        await customers.revoke_api_key(session, alice.key_id, utcnow())
    routes = await documented_paths(env)
    assert len(routes) >= 8
    bad_headers = [
        {},
        {"Authorization": "Bearer"},
        {"Authorization": "Basic dXNlcjpwYXNz"},
        {"Authorization": "Bearer mtx_test_" + "A" * 32},
        {"Authorization": "Bearer not-a-key"},
        alice.auth,  # revoked
    ]
    for method, path in routes:
        for headers in bad_headers:
            response = await env.client.request(method, path, headers=headers, json={})
            assert response.status_code == 401, (method, path, headers)
            error = response.json()["error"]
            assert error["code"] == "unauthorized"
            assert REQUEST_ID.match(error["request_id"])
            assert response.headers["x-request-id"] == error["request_id"]
    assert await invariant_problems(env.db) == []


async def test_error_envelope_and_headers(env: Env) -> None:
    response = await env.client.get("/v1/balance")

    assert response.status_code == 401
    body = response.json()
    assert set(body) == {"error"}
    assert set(body["error"]) == {"code", "message", "request_id"}
    assert body["error"]["message"]
    for header in (
        "x-request-id",
        "x-ratelimit-limit",
        "x-ratelimit-remaining",
        "x-ratelimit-reset",
    ):
        assert header in response.headers


async def test_success_carries_request_id_and_rate_limit_headers(env: Env) -> None:
    alice = await make_customer(env.db, env.settings)

    first = await env.client.get("/v1/balance", headers=alice.auth)
    second = await env.client.get("/v1/balance", headers=alice.auth)

    assert first.status_code == 200
    assert first.headers["x-ratelimit-limit"] == "120"
    assert first.headers["x-ratelimit-remaining"] == "119"
    assert second.headers["x-ratelimit-remaining"] == "118"
    assert int(first.headers["x-ratelimit-reset"]) > utcnow().timestamp()
    assert REQUEST_ID.match(first.headers["x-request-id"])
    assert first.headers["x-request-id"] != second.headers["x-request-id"]


async def test_account_matches_the_documented_shape(env: Env) -> None:
    alice = await make_customer(env.db, env.settings)

    response = await env.client.get("/v1/account", headers=alice.auth)

    assert response.status_code == 200
    body = response.json()
    assert set(body) >= {
        "id",
        "username",
        "email",
        "kyc_status",
        "kyc_bonus_credited",
        "created_at",
    }
    assert body["id"] == alice.id
    assert body["id"].startswith("usr_")
    assert body["kyc_status"] == "unverified"
    assert body["kyc_bonus_credited"] is False
    assert re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$", body["created_at"])
    assert body["referral_code"] == alice.referral_code


async def test_balance_matches_the_documented_shape(env: Env) -> None:
    alice = await make_customer(env.db, env.settings, deposit="2480.75")

    body = (await env.client.get("/v1/balance", headers=alice.auth)).json()

    assert body == {
        "currency": "USDT",
        "available": "2480.75",
        "in_contracts": "0.00",
        "total_rewards": "0.00",
        "in_stakes": "0.00",
        "pending_withdrawals": "0.00",
    }


BAD_AMOUNTS = [
    100,
    -5,
    "-5",
    "0",
    "0.00",
    "1e3",
    "NaN",
    "1.1234567",
    "1000000000000000",
    None,
    True,
]


@pytest.mark.parametrize("amount", BAD_AMOUNTS)
async def test_bad_amounts_are_400_with_param_and_change_nothing(env: Env, amount: object) -> None:
    alice = await make_customer(env.db, env.settings, deposit="50.00")

    response = await env.client.post(
        "/v1/test_helpers/deposits", json={"network": "bsc", "amount": amount}, headers=alice.auth
    )

    assert response.status_code == 400, response.text
    assert response.json()["error"]["code"] == "invalid_request"
    assert response.json()["error"]["param"] == "amount"
    assert (await env.client.get("/v1/balance", headers=alice.auth)).json()["available"] == "50.00"
    transactions = (await env.client.get("/v1/transactions", headers=alice.auth)).json()["data"]
    assert len(transactions) == 1


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"network": "bsc", "amount": "10.00", "extra": 1}, "extra"),
        ({"network": "tron", "amount": "10.00"}, "network"),
        ({"network": 5, "amount": "10.00"}, "network"),
        ({"amount": "10.00"}, "network"),
        ([], "body"),
        ("10.00", "body"),
    ],
)
async def test_malformed_bodies_are_400_with_param(env: Env, body: object, param: str) -> None:
    alice = await make_customer(env.db, env.settings)

    response = await env.client.post("/v1/test_helpers/deposits", json=body, headers=alice.auth)

    assert response.status_code == 400
    assert response.json()["error"] == {
        "code": "invalid_request",
        "message": response.json()["error"]["message"],
        "param": param,
        "request_id": response.headers["x-request-id"],
    }


async def test_non_json_and_oversized_bodies_are_400(env: Env) -> None:
    alice = await make_customer(env.db, env.settings)
    json_headers = {**alice.auth, "Content-Type": "application/json"}

    broken = await env.client.post(
        "/v1/contracts/activate", content=b'{"contract_id": ', headers=json_headers
    )
    form = await env.client.post(
        "/v1/contracts/activate", content=b"contract_id=ultra", headers=alice.auth
    )
    huge = await env.client.post(
        "/v1/contracts/activate",
        content=b'{"contract_id": "' + b"u" * 70_000 + b'"}',
        headers=json_headers,
    )

    for response in (broken, form, huge):
        assert response.status_code == 400
        assert response.json()["error"]["code"] == "invalid_request"
        assert response.json()["error"]["param"] == "body"
    assert "JSON" in broken.json()["error"]["message"]
    assert "limited" in huge.json()["error"]["message"]


async def test_wrong_types_for_contract_id_are_400(env: Env) -> None:
    await open_for_business(env.db)
    alice = await make_customer(env.db, env.settings, deposit="1000.00")

    for value in (1, None, ["ultra"], {"id": "ultra"}, ""):
        response = await env.client.post(
            "/v1/contracts/activate", json={"contract_id": value}, headers=alice.auth
        )
        assert response.status_code == 400, value
        assert response.json()["error"]["param"] == "contract_id"
    assert (await env.client.get("/v1/balance", headers=alice.auth)).json()[
        "available"
    ] == "1000.00"


async def test_unknown_route_and_method_use_the_envelope(env: Env) -> None:
    alice = await make_customer(env.db, env.settings)

    missing = await env.client.get("/v1/nothing-here", headers=alice.auth)
    wrong_method = await env.client.delete("/v1/balance", headers=alice.auth)

    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "not_found"
    assert wrong_method.status_code == 405
    assert wrong_method.json()["error"]["code"] == "method_not_allowed"


async def test_openapi_describes_every_route_body_and_error(env: Env) -> None:
    response = await env.client.get("/v1/openapi.json")

    assert response.status_code == 200
    spec = response.json()
    assert spec["openapi"].startswith("3.1")
    paths = spec["paths"]
    for path in (
        "/v1/account",
        "/v1/balance",
        "/v1/contracts",
        "/v1/contracts/activate",
        "/v1/contracts/activations",
        "/v1/contracts/activations/{activation_id}",
        "/v1/rewards",
        "/v1/transactions",
        "/v1/test_helpers/deposits",
        "/v1/account/kyc",
        "/v1/deposits",
        "/v1/deposits/address",
        "/v1/staking/plans",
        "/v1/staking/stakes",
        "/v1/staking/stakes/{stake_id}",
        "/v1/withdrawals",
        "/v1/withdrawals/{withdrawal_id}",
        "/v1/withdrawals/{withdrawal_id}/cancel",
        "/v1/withdrawals/limits",
        "/v1/withdrawal_addresses",
        "/v1/withdrawal_addresses/{address_id}",
        "/v1/withdrawal_addresses/settings",
        "/v1/partners",
        "/v1/test_helpers/clock/advance",
        "/v1/webhook_endpoints",
        "/v1/webhook_endpoints/{endpoint_id}",
        "/v1/events",
        "/healthz",
        "/readyz",
    ):
        assert path in paths, path
    declared = {
        ("post", "/v1/contracts/activate"): ("200", "400", "401", "402", "404", "409", "429"),
        ("post", "/v1/staking/stakes"): ("200", "400", "401", "402", "409", "429"),
        ("post", "/v1/withdrawals"): ("200", "400", "401", "402", "403", "429"),
        ("post", "/v1/withdrawals/{withdrawal_id}/cancel"): ("200", "404", "409"),
        ("post", "/v1/account/kyc"): ("200", "400", "401", "409"),
        ("get", "/v1/contracts/activations/{activation_id}"): ("200", "404"),
        ("get", "/v1/staking/stakes/{stake_id}"): ("200", "404"),
        ("get", "/v1/withdrawals/{withdrawal_id}"): ("200", "404"),
        ("post", "/v1/withdrawal_addresses"): ("200", "400", "401", "409", "429"),
        ("delete", "/v1/withdrawal_addresses/{address_id}"): ("200", "404"),
        ("post", "/v1/withdrawal_addresses/settings"): ("200", "400", "401"),
    }
    for (method, path), statuses in declared.items():
        operation = paths[path][method]
        if method == "post" and not path.endswith("/cancel"):
            assert "requestBody" in operation, path
        for status in statuses:
            assert status in operation["responses"], (path, status)
    assert "422" not in str(spec)
    assert "ErrorEnvelope" in spec["components"]["schemas"]
    assert spec["components"]["securitySchemes"]
    docs = await env.client.get("/docs")
    assert docs.status_code == 200
    assert "/docs/static/swagger-ui-bundle.js" in docs.text
    assert "cdn" not in docs.text.lower()
    bundle = await env.client.get("/docs/static/swagger-ui-bundle.js")
    assert bundle.status_code == 200
    assert len(bundle.content) > 100_000


async def test_health_readiness_and_metrics(env: Env) -> None:
    alice = await make_customer(env.db, env.settings)
    await env.client.get("/v1/balance", headers=alice.auth)

    assert (await env.client.get("/healthz")).json() == {"status": "ok"}
    assert (await env.client.get("/readyz")).json() == {"status": "ok"}
    metrics = await env.client.get("/metrics")
    assert metrics.status_code == 200
    assert 'mtx_http_requests_total{method="GET",route="/v1/balance",status="200"}' in metrics.text
    assert "mtx_http_request_duration_seconds_bucket" in metrics.text


POST_ROUTES = [
    "/v1/contracts/activate",
    "/v1/staking/stakes",
    "/v1/withdrawals",
    "/v1/account/kyc",
    "/v1/test_helpers/deposits",
    "/v1/test_helpers/clock/advance",
    "/v1/webhook_endpoints",
    "/v1/withdrawal_addresses",
    "/v1/withdrawal_addresses/settings",
]
GARBAGE_BODIES: list[object] = [
    [],
    "text",
    5,
    None,
    {},
    {"unexpected": 1},
    {"amount": {"nested": True}, "days": 10**30, "network": ["bsc"]},
    {"contract_id": None, "address": 12, "full_name": ["x"]},
]


@pytest.mark.parametrize("path", POST_ROUTES)
async def test_garbage_bodies_are_400_with_param_on_every_post_route(env: Env, path: str) -> None:
    alice = await make_customer(env.db, env.settings, deposit="500.00")

    responses = [
        await env.client.post(path, json=body, headers=alice.auth) for body in GARBAGE_BODIES
    ]

    for body, response in zip(GARBAGE_BODIES, responses, strict=True):
        assert response.status_code == 400, (body, response.text)
        assert response.json()["error"]["code"] == "invalid_request"
        assert response.json()["error"]["param"], (body, response.text)
    balance = (await env.client.get("/v1/balance", headers=alice.auth)).json()
    assert balance["available"] == "500.00"
    transactions = (await env.client.get("/v1/transactions", headers=alice.auth)).json()["data"]
    assert len(transactions) == 1
    assert (await env.client.get("/v1/account", headers=alice.auth)).json()["kyc_status"] == (
        "unverified"
    )
    assert await invariant_problems(env.db) == []
