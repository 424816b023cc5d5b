"""Activating a contract: its price is paid and its whole promise reserved, or nothing moves."""

from __future__ import annotations

from sqlalchemy import select

from miningtx.ledger.accounts import Platform, customer_available
from miningtx.models import Fleet
from tests.conftest import Env
from tests.factories import (
    balances,
    fund_pool,
    invariant_problems,
    make_customer,
    open_for_business,
    set_capacity,
)


async def test_activation_pays_price_and_reserves_whole_promise(env: Env) -> None:
    await open_for_business(env.db, rewards="100000.00", ths=1000)
    alice = await make_customer(env.db, env.settings, deposit="5000.00")

    response = await env.client.post(
        "/v1/contracts/activate", json={"contract_id": "ultra"}, headers=alice.auth
    )

    assert response.status_code == 200
    body = response.json()
    assert body["id"].startswith("ct_")
    assert body["contract"] == "Ultra Miner"
    assert body["status"] == "active"
    assert body["daily_reward"] == "130.00"
    assert body["activated_at"].endswith("Z")
    assert set(body) >= {"id", "contract", "status", "daily_reward", "activated_at"}
    after = await balances(
        env.db,
        customer_available(alice.id),
        Platform.SALES,
        Platform.REWARD_POOL,
        Platform.REWARD_RESERVED,
    )
    assert after == {
        customer_available(alice.id): 2_400_000_000,
        Platform.SALES: 2_600_000_000,
        Platform.REWARD_POOL: 100_000_000_000 - 130_000_000 * 365,
        Platform.REWARD_RESERVED: 130_000_000 * 365,
    }
    balance = (await env.client.get("/v1/balance", headers=alice.auth)).json()
    assert balance == {
        "currency": "USDT",
        "available": "2400.00",
        "in_contracts": "2600.00",
        "total_rewards": "0.00",
        "in_stakes": "0.00",
        "pending_withdrawals": "0.00",
    }
    async with env.db.read() as session:
        fleet = (await session.execute(select(Fleet))).scalar_one()
    assert fleet.sold_mths == 36_400
    assert await invariant_problems(env.db) == []


async def test_short_balance_is_402_and_nothing_moves(env: Env) -> None:
    await open_for_business(env.db)
    bob = await make_customer(env.db, env.settings, deposit="2599.999999")

    response = await env.client.post(
        "/v1/contracts/activate", json={"contract_id": "ultra"}, headers=bob.auth
    )

    assert response.status_code == 402
    assert response.json()["error"]["code"] == "insufficient_balance"
    assert (
        response.json()["error"]["message"] == "Your balance is too low to activate this contract."
    )
    assert (await balances(env.db, customer_available(bob.id)))[
        customer_available(bob.id)
    ] == 2_599_999_999
    listed = (await env.client.get("/v1/contracts/activations", headers=bob.auth)).json()
    assert listed["data"] == []
    assert await invariant_problems(env.db) == []


async def test_unfunded_reward_pool_is_sold_out(env: Env) -> None:
    await fund_pool(env.db, "rewards", "47449.99")  # one cent short of 130.00 x 365
    await set_capacity(env.db, 1000)
    carol = await make_customer(env.db, env.settings, deposit="3000.00")

    response = await env.client.post(
        "/v1/contracts/activate", json={"contract_id": "ultra"}, headers=carol.auth
    )

    assert response.status_code == 409
    assert response.json()["error"]["code"] == "sold_out"
    after = await balances(
        env.db, customer_available(carol.id), Platform.REWARD_POOL, Platform.SALES
    )
    assert after[customer_available(carol.id)] == 3_000_000_000
    assert after[Platform.REWARD_POOL] == 47_449_990_000
    assert after[Platform.SALES] == 0
    catalog = (await env.client.get("/v1/contracts", headers=carol.auth)).json()["contracts"]
    assert {c["id"]: c["available"] for c in catalog}["ultra"] == 0


async def test_capacity_is_never_oversold(env: Env) -> None:
    await fund_pool(env.db, "rewards", "1000000.00")
    await set_capacity(env.db, 40)  # one ultra (36.4 TH/s) fits, a second does not
    dave = await make_customer(env.db, env.settings, deposit="10000.00")

    first = await env.client.post(
        "/v1/contracts/activate", json={"contract_id": "ultra"}, headers=dave.auth
    )
    second = await env.client.post(
        "/v1/contracts/activate", json={"contract_id": "ultra"}, headers=dave.auth
    )
    starter = await env.client.post(
        "/v1/contracts/activate", json={"contract_id": "starter"}, headers=dave.auth
    )

    assert first.status_code == 200
    assert second.status_code == 409
    assert second.json()["error"]["code"] == "sold_out"
    assert starter.status_code == 200  # 2.8 TH/s still fits in the 3.6 left
    balance = (await env.client.get("/v1/balance", headers=dave.auth)).json()
    assert balance["available"] == "7200.00"
    assert balance["in_contracts"] == "2800.00"


async def test_unknown_contract_is_404_with_param(env: Env) -> None:
    await open_for_business(env.db)
    erin = await make_customer(env.db, env.settings, deposit="10000.00")

    response = await env.client.post(
        "/v1/contracts/activate", json={"contract_id": "hyper"}, headers=erin.auth
    )

    assert response.status_code == 404
    assert response.json()["error"]["code"] == "resource_missing"
    assert response.json()["error"]["param"] == "contract_id"
    assert (await env.client.get("/v1/balance", headers=erin.auth)).json()[
        "available"
    ] == "10000.00"


async def test_catalog_matches_the_documentation(env: Env) -> None:
    await open_for_business(env.db, rewards="100000.00", ths=100)
    frank = await make_customer(env.db, env.settings)

    response = await env.client.get("/v1/contracts", headers=frank.auth)

    assert response.status_code == 200
    documented = [
        {
            "id": "starter",
            "name": "Starter Miner",
            "price": "200.00",
            "hash_ths": "2.8",
            "daily_reward": "6.67",
        },
        {
            "id": "ultra",
            "name": "Ultra Miner",
            "price": "2600.00",
            "hash_ths": "36.4",
            "daily_reward": "130.00",
        },
        {
            "id": "quantum",
            "name": "Quantum Miner",
            "price": "7000.00",
            "hash_ths": "98",
            "daily_reward": "437.50",
        },
    ]
    contracts = response.json()["contracts"]
    assert [{k: c[k] for k in documented[0]} for c in contracts] == documented
    assert [c["duration_days"] for c in contracts] == [365, 365, 365]
    # 100 TH/s, 100,000 USDT: starter and ultra bound by capacity, quantum by the pool
    assert [c["available"] for c in contracts] == [35, 2, 0]
