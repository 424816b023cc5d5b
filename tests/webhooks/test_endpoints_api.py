"""The webhook endpoint routes: create (secret shown once), list, get, delete, limits, errors."""

from __future__ import annotations

import base64
import re
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from miningtx.app import create_app
from miningtx.models import WebhookDelivery
from miningtx.webhooks.events import EVENT_TYPES
from miningtx.webhooks.service import MAX_ENDPOINTS
from tests.conftest import Env, make_settings
from tests.factories import make_customer
from tests.webhooks.factories import ENDPOINTS, add_endpoint, deliveries, emit

URL = "https://hooks.example.test/miningtx"
TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")


@pytest.fixture(autouse=True)
def public_host(dns: dict[str, list[str]]) -> None:
    dns["hooks.example.test"] = ["93.184.215.14"]


def error_of(response: httpx.Response) -> tuple[int, str, str | None]:
    error: dict[str, Any] = response.json()["error"]
    return response.status_code, error["code"], error.get("param")


async def test_creating_an_endpoint_shows_its_secret_once(env: Env) -> None:
    alice = await make_customer(env.db, env.settings)
    response = await env.client.post(
        ENDPOINTS,
        json={"url": URL, "events": ["withdrawal.processed", "reward.credited", "reward.credited"]},
        headers=alice.auth,
    )
    created = response.json()
    shown = await env.client.get(f"{ENDPOINTS}/{created['id']}", headers=alice.auth)
    listed = await env.client.get(ENDPOINTS, headers=alice.auth)

    assert response.status_code == 200, response.text
    assert set(created) == {
        "id",
        "url",
        "events",
        "status",
        "disabled_reason",
        "secret",
        "created_at",
    }
    assert re.fullmatch(r"we_[0-9A-Za-z]{20}", created["id"])
    assert created["url"] == URL
    assert created["events"] == ["reward.credited", "withdrawal.processed"]  # documented order
    assert (created["status"], created["disabled_reason"]) == ("enabled", None)
    assert TIMESTAMP.match(created["created_at"])
    assert created["secret"].startswith("whsec_")
    assert len(base64.b64decode(created["secret"].removeprefix("whsec_"))) == 32
    without_secret = {k: v for k, v in created.items() if k != "secret"}
    assert shown.status_code == 200
    assert shown.json() == without_secret
    assert listed.json() == {"data": [without_secret], "has_more": False, "next_cursor": None}
    assert created["secret"] not in shown.text + listed.text
    assert "secret" not in shown.text + listed.text


async def test_an_idempotent_retry_returns_the_same_endpoint_and_secret(env: Env) -> None:
    alice = await make_customer(env.db, env.settings)
    headers = {**alice.auth, "Idempotency-Key": "we-create-1"}
    body = {"url": URL, "events": ["*"]}

    first = await env.client.post(ENDPOINTS, json=body, headers=headers)
    again = await env.client.post(ENDPOINTS, json=body, headers=headers)
    listed = (await env.client.get(ENDPOINTS, headers=alice.auth)).json()["data"]

    assert first.status_code == again.status_code == 200
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.json() == first.json()
    assert first.json()["events"] == ["*"]
    assert [e["id"] for e in listed] == [first.json()["id"]]


INVALID_BODIES: list[tuple[dict[str, Any], str]] = [
    ({"events": ["*"]}, "url"),
    ({"url": URL}, "events"),
    ({"url": 42, "events": ["*"]}, "url"),
    ({"url": "ftp://example.com/x", "events": ["*"]}, "url"),
    ({"url": "/relative", "events": ["*"]}, "url"),
    ({"url": "https://example.com/" + "a" * 2040, "events": ["*"]}, "url"),
    ({"url": URL, "events": []}, "events"),
    ({"url": URL, "events": "*"}, "events"),
    ({"url": URL, "events": ["reward.paid"]}, "events"),
    ({"url": URL, "events": ["*", "reward.credited"]}, "events"),
    ({"url": URL, "events": ["*"], "description": "mine"}, "description"),
]
PRIVATE_URLS = [
    "http://127.0.0.1:9000/hooks",
    "http://10.0.0.1/hooks",
    "http://169.254.169.254/latest/meta-data/",
    "http://[::1]:9000/hooks",
    "http://0.0.0.0/hooks",
    "http://localhost:9000/hooks",
    "https://internal.example.test/hooks",  # resolves to 10.0.0.1 (the fake DNS below)
    # loopback as the numbers resolvers read (no DNS answers for them here)
    "http://2130706433/hooks",
    "http://0x7f000001/hooks",
    "http://127.1/hooks",
    "http://0/hooks",
    "http://[::ffff:127.0.0.1]/hooks",
]


async def test_invalid_bodies_are_400_naming_the_parameter(env: Env) -> None:
    alice = await make_customer(env.db, env.settings)

    for body, param in INVALID_BODIES:
        response = await env.client.post(ENDPOINTS, json=body, headers=alice.auth)
        assert error_of(response) == (400, "invalid_request", param), body
    assert (await env.client.get(ENDPOINTS, headers=alice.auth)).json()["data"] == []


async def test_private_targets_are_refused_unless_the_operator_allows_them(
    env: Env, hooks: Env, dns: dict[str, list[str]]
) -> None:
    dns["internal.example.test"] = ["10.0.0.1"]
    alice = await make_customer(env.db, env.settings)
    bob = await make_customer(hooks.db, hooks.settings)

    for url in PRIVATE_URLS:
        body = {"url": url, "events": ["*"]}
        refused = await env.client.post(ENDPOINTS, json=body, headers=alice.auth)
        allowed = await hooks.client.post(ENDPOINTS, json=body, headers=bob.auth)
        assert error_of(refused) == (400, "invalid_request", "url"), url
        message = refused.json()["error"]["message"]
        assert "non-public" in message or "local host name" in message, message
        assert allowed.status_code == 200, allowed.text


async def test_live_endpoints_must_use_https(database_url: str) -> None:
    app = create_app(make_settings(database_url, mode="live"))
    alice = await make_customer(app.state.db, app.state.settings)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        plain = await client.post(
            ENDPOINTS,
            json={"url": URL.replace("https", "http"), "events": ["*"]},
            headers=alice.auth,
        )
        secure = await client.post(
            ENDPOINTS, json={"url": URL, "events": ["*"]}, headers=alice.auth
        )
    await app.state.db.dispose()

    assert error_of(plain) == (400, "invalid_request", "url")
    assert "https" in plain.json()["error"]["message"]
    assert secure.status_code == 200, secure.text


async def test_a_customer_has_at_most_16_endpoints(env: Env) -> None:
    alice = await make_customer(env.db, env.settings)
    made = [await add_endpoint(env, alice, f"{URL}/{i}") for i in range(MAX_ENDPOINTS)]

    refused = await env.client.post(
        ENDPOINTS, json={"url": URL, "events": ["*"]}, headers=alice.auth
    )
    await env.client.delete(f"{ENDPOINTS}/{made[0]['id']}", headers=alice.auth)
    accepted = await env.client.post(
        ENDPOINTS, json={"url": URL, "events": ["*"]}, headers=alice.auth
    )

    assert error_of(refused) == (409, "conflict", None)
    assert accepted.status_code == 200


async def test_lists_page_newest_first_and_leave_out_deleted_endpoints(env: Env) -> None:
    alice = await make_customer(env.db, env.settings)
    bob = await make_customer(env.db, env.settings)
    made = [await add_endpoint(env, alice, f"{URL}/{i}") for i in range(4)]
    await add_endpoint(env, bob, URL)
    await env.client.delete(f"{ENDPOINTS}/{made[2]['id']}", headers=alice.auth)

    first = (await env.client.get(f"{ENDPOINTS}?limit=2", headers=alice.auth)).json()
    second = (
        await env.client.get(
            f"{ENDPOINTS}?limit=2&cursor={first['next_cursor']}", headers=alice.auth
        )
    ).json()

    assert [e["id"] for e in first["data"]] == [made[3]["id"], made[1]["id"]]
    assert first["has_more"] is True
    assert second == {"data": second["data"], "has_more": False, "next_cursor": None}
    assert [e["id"] for e in second["data"]] == [made[0]["id"]]
    bad_cursor = await env.client.get(f"{ENDPOINTS}?cursor=cur_nonsense", headers=alice.auth)
    bad_limit = await env.client.get(f"{ENDPOINTS}?limit=101", headers=alice.auth)
    assert error_of(bad_cursor) == (400, "invalid_request", "cursor")
    assert error_of(bad_limit) == (400, "invalid_request", "limit")


async def test_deleting_an_endpoint_cancels_what_it_had_pending(env: Env) -> None:
    alice = await make_customer(env.db, env.settings)
    endpoint = await add_endpoint(env, alice, URL, ["reward.credited"])
    await emit(env, alice)

    deleted = await env.client.delete(f"{ENDPOINTS}/{endpoint['id']}", headers=alice.auth)
    again = await env.client.delete(f"{ENDPOINTS}/{endpoint['id']}", headers=alice.auth)
    shown = await env.client.get(f"{ENDPOINTS}/{endpoint['id']}", headers=alice.auth)
    await emit(env, alice)

    assert deleted.status_code == 200
    assert deleted.json() == {"id": endpoint["id"], "deleted": True}
    assert error_of(again) == (404, "resource_missing", "endpoint_id")
    assert error_of(shown) == (404, "resource_missing", "endpoint_id")
    assert [d.status for d in await deliveries(env)] == ["cancelled"]  # nothing for the new event


async def test_another_customers_or_an_unknown_endpoint_is_404(env: Env) -> None:
    alice = await make_customer(env.db, env.settings)
    bob = await make_customer(env.db, env.settings)
    endpoint = await add_endpoint(env, alice, URL)

    for path in (f"{ENDPOINTS}/{endpoint['id']}", f"{ENDPOINTS}/we_unknown"):
        assert error_of(await env.client.get(path, headers=bob.auth)) == (
            404,
            "resource_missing",
            "endpoint_id",
        )
        assert error_of(await env.client.delete(path, headers=bob.auth))[:2] == (
            404,
            "resource_missing",
        )
    assert (
        await env.client.get(f"{ENDPOINTS}/{endpoint['id']}", headers=alice.auth)
    ).status_code == 200
    assert (await env.client.get(ENDPOINTS, headers=bob.auth)).json()["data"] == []


async def test_every_route_needs_a_key(env: Env) -> None:
    routes = [
        ("POST", ENDPOINTS),
        ("GET", ENDPOINTS),
        ("GET", f"{ENDPOINTS}/we_x"),
        ("DELETE", f"{ENDPOINTS}/we_x"),
        ("GET", "/v1/events"),
        ("GET", "/v1/events/evt_x"),
    ]
    for method, path in routes:
        anonymous = await env.client.request(method, path, json={"url": URL, "events": ["*"]})
        wrong = await env.client.request(
            method, path, headers={"Authorization": "Bearer mtx_test_" + "x" * 32}
        )
        assert error_of(anonymous)[:2] == (401, "unauthorized"), (method, path)
        assert error_of(wrong)[:2] == (401, "unauthorized"), (method, path)


async def test_the_event_log_lists_what_endpoints_receive(env: Env) -> None:
    alice = await make_customer(env.db, env.settings)
    bob = await make_customer(env.db, env.settings)
    ids = [
        await emit(env, alice, "deposit.confirmed", {"amount": "50.00", "network": "bsc"}),
        await emit(env, alice, "reward.credited", {"amount": "1.00", "contract": "Starter"}),
        await emit(env, alice, "reward.credited", {"amount": "2.00", "contract": "Starter"}),
        await emit(env, alice, "kyc.verified", {}),
    ]
    theirs = await emit(env, bob, "kyc.verified", {})

    everything = (await env.client.get("/v1/events", headers=alice.auth)).json()
    rewards = (
        await env.client.get("/v1/events?type=reward.credited&limit=1", headers=alice.auth)
    ).json()
    more = (
        await env.client.get(
            f"/v1/events?type=reward.credited&limit=1&cursor={rewards['next_cursor']}",
            headers=alice.auth,
        )
    ).json()
    one = await env.client.get(f"/v1/events/{ids[0]}", headers=alice.auth)

    assert [e["id"] for e in everything["data"]] == list(reversed(ids))
    assert everything["has_more"] is False
    assert one.status_code == 200
    assert one.json() == {
        "id": ids[0],
        "event": "deposit.confirmed",
        "created_at": one.json()["created_at"],
        "data": {"amount": "50.00", "network": "bsc"},
    }
    assert TIMESTAMP.match(one.json()["created_at"])
    assert everything["data"][-1] == one.json()
    assert [e["data"]["amount"] for e in rewards["data"]] == ["2.00"]
    assert rewards["has_more"] is True
    assert [e["data"]["amount"] for e in more["data"]] == ["1.00"]
    assert more["has_more"] is False
    unknown = await env.client.get("/v1/events?type=reward.paid", headers=alice.auth)
    assert error_of(unknown) == (400, "invalid_request", "type")
    assert error_of(await env.client.get(f"/v1/events/{theirs}", headers=alice.auth)) == (
        404,
        "resource_missing",
        "event_id",
    )
    assert error_of(await env.client.get("/v1/events?cursor=bad", headers=alice.auth)) == (
        400,
        "invalid_request",
        "cursor",
    )
    assert set(EVENT_TYPES) >= {e["event"] for e in everything["data"]}


async def test_events_fan_out_only_to_enabled_subscribed_endpoints(env: Env) -> None:
    alice = await make_customer(env.db, env.settings)
    everything = await add_endpoint(env, alice, f"{URL}/all", ["*"])
    rewards = await add_endpoint(env, alice, f"{URL}/rewards", ["reward.credited"])

    await emit(env, alice, "reward.credited")
    await emit(env, alice, "kyc.verified", {})

    async with env.db.read() as session:
        rows = (await session.execute(select(WebhookDelivery.endpoint_seq))).scalars().all()
    assert len(rows) == 3
    assert everything["id"] != rewards["id"]
