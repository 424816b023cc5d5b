"""Idempotency-Key on POST: replays, reuse with another body, errors, expiry."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import update

from miningtx.kit.clock import utcnow
from miningtx.models import IdempotencyRecord
from tests.conftest import Env
from tests.factories import invariant_problems, make_customer, open_for_business


async def test_replay_returns_the_first_response_and_has_one_effect(env: Env) -> None:
    await open_for_business(env.db)
    alice = await make_customer(env.db, env.settings, deposit="1000.00")
    headers = {**alice.auth, "Idempotency-Key": "order-1"}

    first = await env.client.post(
        "/v1/contracts/activate", json={"contract_id": "starter"}, headers=headers
    )
    again = await env.client.post(
        "/v1/contracts/activate", json={"contract_id": "starter"}, headers=headers
    )

    assert first.status_code == 200
    assert "idempotent-replayed" not in first.headers
    assert again.status_code == 200
    assert again.headers["idempotent-replayed"] == "true"
    assert again.json() == first.json()
    assert (await env.client.get("/v1/balance", headers=alice.auth)).json()["available"] == "800.00"
    listed = (await env.client.get("/v1/contracts/activations", headers=alice.auth)).json()
    assert len(listed["data"]) == 1


async def test_same_key_with_another_body_is_409(env: Env) -> None:
    await open_for_business(env.db)
    alice = await make_customer(env.db, env.settings, deposit="10000.00")
    headers = {**alice.auth, "Idempotency-Key": "order-2"}

    await env.client.post(
        "/v1/contracts/activate", json={"contract_id": "starter"}, headers=headers
    )
    other = await env.client.post(
        "/v1/contracts/activate", json={"contract_id": "ultra"}, headers=headers
    )

    assert other.status_code == 409
    assert other.json()["error"]["code"] == "idempotency_key_reused"
    assert (await env.client.get("/v1/balance", headers=alice.auth)).json()[
        "available"
    ] == "9800.00"


async def test_key_order_and_whitespace_in_json_do_not_matter(env: Env) -> None:
    alice = await make_customer(env.db, env.settings)
    headers = {**alice.auth, "Idempotency-Key": "dep-1", "Content-Type": "application/json"}

    first = await env.client.post(
        "/v1/test_helpers/deposits", content=b'{"network":"bsc","amount":"20.00"}', headers=headers
    )
    again = await env.client.post(
        "/v1/test_helpers/deposits",
        content=b'{ "amount": "20.00",  "network": "bsc" }',
        headers=headers,
    )

    assert again.headers["idempotent-replayed"] == "true"
    assert again.json()["id"] == first.json()["id"]
    assert (await env.client.get("/v1/balance", headers=alice.auth)).json()["available"] == "20.00"


async def test_a_refused_request_replays_its_refusal(env: Env) -> None:
    await open_for_business(env.db)
    alice = await make_customer(env.db, env.settings, deposit="100.00")
    headers = {**alice.auth, "Idempotency-Key": "order-3"}

    first = await env.client.post(
        "/v1/contracts/activate", json={"contract_id": "starter"}, headers=headers
    )
    await env.client.post(
        "/v1/test_helpers/deposits", json={"network": "bsc", "amount": "500.00"}, headers=alice.auth
    )
    again = await env.client.post(
        "/v1/contracts/activate", json={"contract_id": "starter"}, headers=headers
    )

    assert first.status_code == 402
    assert again.status_code == 402
    assert again.headers["idempotent-replayed"] == "true"
    assert again.json() == first.json()
    assert (await env.client.get("/v1/balance", headers=alice.auth)).json()["available"] == "600.00"


async def test_keys_belong_to_one_customer(env: Env) -> None:
    alice = await make_customer(env.db, env.settings)
    bob = await make_customer(env.db, env.settings)
    body = {"network": "bsc", "amount": "15.00"}

    a = await env.client.post(
        "/v1/test_helpers/deposits", json=body, headers={**alice.auth, "Idempotency-Key": "k"}
    )
    b = await env.client.post(
        "/v1/test_helpers/deposits", json=body, headers={**bob.auth, "Idempotency-Key": "k"}
    )

    assert "idempotent-replayed" not in b.headers
    assert a.json()["id"] != b.json()["id"]
    assert (await env.client.get("/v1/balance", headers=bob.auth)).json()["available"] == "15.00"


async def test_a_claim_in_flight_is_409_and_a_stale_one_is_taken_over(env: Env) -> None:
    alice = await make_customer(env.db, env.settings)
    body = {"network": "bsc", "amount": "12.00"}
    first = await env.client.post(
        "/v1/test_helpers/deposits", json=body, headers={**alice.auth, "Idempotency-Key": "fresh"}
    )
    async with env.db.write() as session:
        await session.execute(
            update(IdempotencyRecord)
            .where(IdempotencyRecord.key == "fresh")
            .values(state="in_flight", locked_at=utcnow(), response_status=None, response_body=None)
        )
    busy = await env.client.post(
        "/v1/test_helpers/deposits", json=body, headers={**alice.auth, "Idempotency-Key": "fresh"}
    )
    async with env.db.write() as session:
        await session.execute(
            update(IdempotencyRecord)
            .where(IdempotencyRecord.key == "fresh")
            .values(locked_at=utcnow() - timedelta(minutes=5))
        )
    taken_over = await env.client.post(
        "/v1/test_helpers/deposits", json=body, headers={**alice.auth, "Idempotency-Key": "fresh"}
    )

    assert first.status_code == 200
    assert busy.status_code == 409
    assert busy.json()["error"]["code"] == "conflict"
    assert taken_over.status_code == 200
    assert "idempotent-replayed" not in taken_over.headers


async def test_keys_expire_after_24_hours(env: Env) -> None:
    alice = await make_customer(env.db, env.settings)
    headers = {**alice.auth, "Idempotency-Key": "old"}
    body = {"network": "bsc", "amount": "11.00"}

    first = await env.client.post("/v1/test_helpers/deposits", json=body, headers=headers)
    async with env.db.write() as session:
        await session.execute(
            update(IdempotencyRecord).values(created_at=utcnow() - timedelta(hours=24, seconds=1))
        )
    later = await env.client.post("/v1/test_helpers/deposits", json=body, headers=headers)

    assert "idempotent-replayed" not in later.headers
    assert later.json()["id"] != first.json()["id"]
    assert (await env.client.get("/v1/balance", headers=alice.auth)).json()["available"] == "22.00"
    assert await invariant_problems(env.db) == []


async def test_bad_idempotency_keys_are_400(env: Env) -> None:
    alice = await make_customer(env.db, env.settings)

    response = await env.client.post(
        "/v1/test_helpers/deposits",
        json={"network": "bsc", "amount": "11.00"},
        headers={**alice.auth, "Idempotency-Key": "k" * 256},
    )

    assert response.status_code == 400
    assert response.json()["error"]["param"] == "Idempotency-Key"
    assert (await env.client.get("/v1/balance", headers=alice.auth)).json()["available"] == "0.00"
