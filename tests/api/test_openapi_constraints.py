"""The OpenAPI document says what the server enforces: patterns, enums, bounds, statuses."""

from __future__ import annotations

import random
import re
from typing import Any

import pytest

from miningtx.customers.kyc import COUNTRIES
from miningtx.kit.money import AMOUNT_PATTERN, AmountError, parse_amount
from miningtx.webhooks.events import ALL_EVENTS, EVENT_TYPES
from tests.conftest import Env
from tests.factories import make_customer

ENVELOPE = {"$ref": "#/components/schemas/ErrorEnvelope"}


async def served_spec(env: Env) -> dict[str, Any]:
    spec: dict[str, Any] = (await env.client.get("/v1/openapi.json")).json()
    return spec


def schema(spec: dict[str, Any], name: str) -> dict[str, Any]:
    found: dict[str, Any] = spec["components"]["schemas"][name]
    return found


async def test_request_fields_carry_the_servers_constraints(env: Env) -> None:
    spec = await served_spec(env)

    withdrawal = schema(spec, "WithdrawalIn")["properties"]
    assert withdrawal["address"]["pattern"] == "^0x[0-9a-fA-F]{40}$"
    assert withdrawal["amount"]["pattern"] == AMOUNT_PATTERN
    assert withdrawal["network"]["enum"] == ["bsc", "polygon"]
    endpoint = schema(spec, "WebhookEndpointIn")["properties"]
    assert endpoint["events"]["items"]["enum"] == [*EVENT_TYPES, ALL_EVENTS]
    assert endpoint["events"]["minItems"] == 1
    assert endpoint["url"]["pattern"] == "^[Hh][Tt][Tt][Pp][Ss]?://"
    kyc = schema(spec, "KycIn")["properties"]
    assert set(kyc["country"]["enum"]) == COUNTRIES
    stake = schema(spec, "StakeIn")["properties"]
    assert (stake["days"]["minimum"], stake["days"]["maximum"]) == (30, 365)


async def test_list_parameters_declare_bounds_cursor_format_and_enums(env: Env) -> None:
    spec = await served_spec(env)
    lists = 0
    for path, methods in spec["paths"].items():
        for operation in methods.values():
            parameters = {p["name"]: p for p in operation.get("parameters", [])}
            if "cursor" not in parameters:
                continue
            lists += 1
            cursor = parameters["cursor"]["schema"]
            assert cursor["maxLength"] == 64, path
            assert re.fullmatch(cursor["pattern"], "cur_djE6MTI"), path
            assert re.fullmatch(cursor["pattern"], ""), path  # no cursor: the first page
            assert not re.fullmatch(cursor["pattern"], "9f2a"), path
            limit = parameters["limit"]["schema"]
            assert (limit["minimum"], limit["maximum"], limit["default"]) == (1, 100, 30), path
    assert lists >= 8
    events = {p["name"]: p for p in spec["paths"]["/v1/events"]["get"]["parameters"]}
    assert events["type"]["schema"]["enum"] == list(EVENT_TYPES)


async def test_every_post_declares_its_idempotency_key_and_409(env: Env) -> None:
    spec = await served_spec(env)
    posts = [
        (path, methods["post"]) for path, methods in spec["paths"].items() if "post" in methods
    ]
    assert len(posts) >= 8
    for path, operation in posts:
        headers = [p for p in operation["parameters"] if p["in"] == "header"]
        assert [h["name"] for h in headers] == ["Idempotency-Key"], path
        assert headers[0]["schema"] == {"type": "string", "minLength": 1, "maxLength": 255}
        for status in ("400", "401", "409", "429", "500"):
            content = operation["responses"][status]["content"]
            assert content["application/json"]["schema"] == ENVELOPE, (path, status)


async def test_operational_routes_declare_what_they_answer(env: Env) -> None:
    spec = await served_spec(env)

    metrics = spec["paths"]["/metrics"]["get"]["responses"]["200"]["content"]
    assert list(metrics) == ["text/plain"]
    ready = spec["paths"]["/readyz"]["get"]["responses"]
    assert ready["503"]["content"]["application/json"]["schema"]["properties"]["status"] == {
        "type": "string",
        "enum": ["ok", "unavailable"],
    }
    answer = await env.client.get("/metrics")
    assert answer.headers["content-type"].startswith("text/plain")


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [
        ("DELETE", "/v1/balance", "GET"),
        ("PUT", "/v1/withdrawals", "GET, POST"),  # two routes, one path
        ("PATCH", "/v1/webhook_endpoints/we_x", "DELETE, GET"),
        ("TRACE", "/healthz", "GET"),
        ("POST", "/v1/openapi.json", "GET, HEAD"),
    ],
)
async def test_405_names_every_method_of_the_path_in_allow(
    env: Env, method: str, path: str, allowed: str
) -> None:
    alice = await make_customer(env.db, env.settings)

    response = await env.client.request(method, path, headers=alice.auth)

    assert response.status_code == 405
    assert response.headers["allow"] == allowed
    assert response.json()["error"]["code"] == "method_not_allowed"


def test_the_amount_pattern_accepts_exactly_what_parse_amount_accepts() -> None:
    pattern = re.compile(AMOUNT_PATTERN)
    generator = random.Random(7)
    samples = ["0", "0.0", "0.000001", "0.0000001", "01", "1.", "1000000000", "1000000000.01"]
    for _ in range(5000):
        whole = generator.choice(["0", "00", "01", "1", "999999999", "1000000000", "1000000001"])
        whole = generator.choice([whole, str(generator.randrange(10**11))])
        decimals = "".join(generator.choice("0123456789") for _ in range(generator.randrange(8)))
        samples.append(whole + (f".{decimals}" if generator.random() < 0.7 else ""))
    for text in samples:
        try:
            parse_amount(text)
            accepted = True
        except AmountError:
            accepted = False
        assert accepted == bool(pattern.match(text)), text
