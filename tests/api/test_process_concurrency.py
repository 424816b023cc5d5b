"""Concurrent POSTs against a real `mtx serve`, each on its own HTTP connection.

The balance must never be spent twice, and an Idempotency-Key must yield exactly one
effect however many copies of the request race each other.
"""

from __future__ import annotations

import uuid
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from miningtx.ledger.accounts import Platform, customer_available
from miningtx.models import Fleet
from tests.factories import balances, invariant_problems, make_customer, open_for_business
from tests.servers import Seed, race, seeding, serve

pytestmark = pytest.mark.slow

CONCURRENCY = 50
REWARDS_FUNDED = 10_000_000_000_000  # open_for_business: 10,000,000.00 USDT
STARTER_PRICE = 200_000_000
STARTER_PROMISE = 6_670_000 * 365  # daily reward x duration, reserved at activation
STARTER_MTHS = 2_800


async def sold_mths(seed: Seed) -> int:
    async with seed.db.read() as session:
        return (await session.execute(select(Fleet))).scalar_one().sold_mths


async def test_fifty_concurrent_activations_sell_exactly_what_the_balance_covers(
    database_url: str, tmp_path: Path
) -> None:
    async with seeding(database_url) as seed:
        await open_for_business(seed.db)
        alice = await make_customer(seed.db, seed.settings, deposit="1000.00")  # 5 x 200.00

        async with serve(database_url, tmp_path) as server:
            responses = await race(
                server,
                CONCURRENCY,
                "POST",
                "/v1/contracts/activate",
                json={"contract_id": "starter"},
                headers=alice.auth,
            )
            async with httpx.AsyncClient(base_url=server.base_url, timeout=30.0) as client:
                balance = await client.get("/v1/balance", headers=alice.auth)
                listed = await client.get("/v1/contracts/activations", headers=alice.auth)

        statuses = sorted(r.status_code for r in responses)
        assert statuses == [200] * 5 + [402] * 45, [r.text for r in responses]
        sold = [r.json() for r in responses if r.status_code == 200]
        for activation in sold:
            assert activation["contract"] == "Starter Miner"
            assert activation["contract_id"] == "starter"
            assert activation["status"] == "active"
            assert activation["price"] == "200.00"
            assert activation["daily_reward"] == "6.67"
        for refused in (r for r in responses if r.status_code == 402):
            error = refused.json()["error"]
            assert error["code"] == "insufficient_balance"
            assert error["message"] == "Your balance is too low to activate this contract."
            assert error["request_id"] == refused.headers["x-request-id"]

        assert balance.status_code == 200
        assert balance.json() == {
            "currency": "USDT",
            "available": "0.00",
            "in_contracts": "1000.00",
            "total_rewards": "0.00",
            "in_stakes": "0.00",
            "pending_withdrawals": "0.00",
        }
        assert listed.status_code == 200
        page = listed.json()
        assert len(page["data"]) == 5
        assert page["has_more"] is False
        assert {a["id"] for a in page["data"]} == {a["id"] for a in sold}
        assert len({a["id"] for a in sold}) == 5

        assert await balances(
            seed.db,
            customer_available(alice.id),
            Platform.SALES,
            Platform.REWARD_POOL,
            Platform.REWARD_RESERVED,
        ) == {
            customer_available(alice.id): 0,
            Platform.SALES: 5 * STARTER_PRICE,
            Platform.REWARD_POOL: REWARDS_FUNDED - 5 * STARTER_PROMISE,
            Platform.REWARD_RESERVED: 5 * STARTER_PROMISE,
        }
        assert await sold_mths(seed) == 5 * STARTER_MTHS
        assert await invariant_problems(seed.db) == []


async def test_fifty_concurrent_retries_of_one_idempotency_key_have_one_effect(
    database_url: str, tmp_path: Path
) -> None:
    async with seeding(database_url) as seed:
        await open_for_business(seed.db)
        bob = await make_customer(seed.db, seed.settings, deposit="10000.00")  # covers 50
        headers = {**bob.auth, "Idempotency-Key": f"activate-{uuid.uuid4().hex}"}
        body = {"contract_id": "starter"}

        async with serve(database_url, tmp_path) as server:
            responses = await race(
                server, CONCURRENCY, "POST", "/v1/contracts/activate", json=body, headers=headers
            )
            async with httpx.AsyncClient(base_url=server.base_url, timeout=30.0) as client:
                retry = await client.post("/v1/contracts/activate", json=body, headers=headers)
                balance = await client.get("/v1/balance", headers=bob.auth)
                listed = await client.get("/v1/contracts/activations", headers=bob.auth)

        originals = [
            r for r in responses if r.status_code == 200 and "idempotent-replayed" not in r.headers
        ]
        assert len(originals) == 1, [(r.status_code, r.text) for r in responses]
        first = originals[0]
        assert first.json()["contract_id"] == "starter"
        assert first.json()["status"] == "active"
        for response in responses:
            if response is first:
                continue
            if response.status_code == 409:
                error = response.json()["error"]
                assert error["code"] == "conflict", response.text
                assert error["param"] == "Idempotency-Key"
            else:
                assert response.status_code == 200, response.text
                assert response.headers["idempotent-replayed"] == "true"
                assert response.content == first.content

        assert retry.status_code == 200
        assert retry.headers["idempotent-replayed"] == "true"
        assert retry.content == first.content

        assert balance.json() == {
            "currency": "USDT",
            "available": "9800.00",
            "in_contracts": "200.00",
            "total_rewards": "0.00",
            "in_stakes": "0.00",
            "pending_withdrawals": "0.00",
        }
        assert [a["id"] for a in listed.json()["data"]] == [first.json()["id"]]
        assert await balances(
            seed.db, customer_available(bob.id), Platform.SALES, Platform.REWARD_RESERVED
        ) == {
            customer_available(bob.id): 10_000_000_000 - STARTER_PRICE,
            Platform.SALES: STARTER_PRICE,
            Platform.REWARD_RESERVED: STARTER_PROMISE,
        }
        assert await sold_mths(seed) == STARTER_MTHS
        assert await invariant_problems(seed.db) == []
