"""Lists: keyset pagination, filters, bad cursors and limits, and customers kept apart."""

from __future__ import annotations

import base64
from datetime import date

import pytest

from tests.conftest import Env
from tests.factories import CustomerWithKey, credit_reward, make_customer, open_for_business


async def deposit(env: Env, who: CustomerWithKey, amount: str) -> str:
    response = await env.client.post(
        "/v1/test_helpers/deposits", json={"network": "polygon", "amount": amount}, headers=who.auth
    )
    assert response.status_code == 200, response.text
    deposit_id: str = response.json()["id"]
    return deposit_id


async def test_transactions_page_through_without_gaps_or_repeats(env: Env) -> None:
    alice = await make_customer(env.db, env.settings)
    amounts = [f"{10 + i}.00" for i in range(7)]
    for amount in amounts:
        await deposit(env, alice, amount)

    first = (await env.client.get("/v1/transactions?limit=3", headers=alice.auth)).json()
    # A deposit landing between pages must not shift the pages already started.
    await deposit(env, alice, "99.00")
    second = (
        await env.client.get(
            f"/v1/transactions?limit=3&cursor={first['next_cursor']}", headers=alice.auth
        )
    ).json()
    third = (
        await env.client.get(
            f"/v1/transactions?limit=3&cursor={second['next_cursor']}", headers=alice.auth
        )
    ).json()

    assert first["has_more"] is True
    assert first["next_cursor"].startswith("cur_")
    assert second["has_more"] is True
    assert third == {"data": third["data"], "has_more": False, "next_cursor": None}
    seen = [t["amount"] for page in (first, second, third) for t in page["data"]]
    assert seen == list(reversed(amounts))
    assert all(t["type"] == "deposit" and t["direction"] == "credit" for t in first["data"])
    assert set(first["data"][0]) == {
        "id",
        "type",
        "amount",
        "direction",
        "date",
        "created_at",
        "reference",
    }
    assert first["data"][0]["id"].startswith("tx_")


async def test_transactions_filter_by_type(env: Env) -> None:
    await open_for_business(env.db)
    alice = await make_customer(env.db, env.settings, deposit="500.00")
    await env.client.post(
        "/v1/contracts/activate", json={"contract_id": "starter"}, headers=alice.auth
    )

    contracts = (await env.client.get("/v1/transactions?type=contract", headers=alice.auth)).json()
    deposits = (await env.client.get("/v1/transactions?type=deposit", headers=alice.auth)).json()
    rewards = (await env.client.get("/v1/transactions?type=reward", headers=alice.auth)).json()

    assert [(t["type"], t["amount"], t["direction"]) for t in contracts["data"]] == [
        ("contract", "200.00", "debit")
    ]
    assert contracts["data"][0]["reference"].startswith("ct_")
    assert [(t["type"], t["amount"]) for t in deposits["data"]] == [("deposit", "500.00")]
    assert rewards["data"] == []


@pytest.mark.parametrize(
    ("query", "param"),
    [
        ("type=bonus_hunt", "type"),
        ("limit=0", "limit"),
        ("limit=101", "limit"),
        ("limit=-1", "limit"),
        ("limit=abc", "limit"),
        ("cursor=garbage", "cursor"),
        ("cursor=cur_", "cursor"),
        ("cursor=cur_%25%25%25", "cursor"),
        ("cursor=cur_" + base64.urlsafe_b64encode(b"v1:-5").decode(), "cursor"),
        ("cursor=cur_" + base64.urlsafe_b64encode(b"v2:5").decode(), "cursor"),
        ("cursor=cur_" + base64.urlsafe_b64encode(b"\xff\xfe").decode(), "cursor"),
        ("cursor=" + "cur_" + "A" * 200, "cursor"),
    ],
)
async def test_bad_list_parameters_are_400(env: Env, query: str, param: str) -> None:
    alice = await make_customer(env.db, env.settings)

    for path in ("/v1/transactions", "/v1/rewards", "/v1/contracts/activations"):
        if param == "type" and path != "/v1/transactions":
            continue
        response = await env.client.get(f"{path}?{query}", headers=alice.auth)
        assert response.status_code == 400, (path, query, response.text)
        assert response.json()["error"]["code"] == "invalid_request"
        assert response.json()["error"]["param"] == param


async def test_limits_default_to_30_and_allow_100(env: Env) -> None:
    alice = await make_customer(env.db, env.settings)
    for i in range(31):
        await deposit(env, alice, f"{10 + i}.00")

    default = (await env.client.get("/v1/transactions", headers=alice.auth)).json()
    everything = (await env.client.get("/v1/transactions?limit=100", headers=alice.auth)).json()

    assert len(default["data"]) == 30
    assert default["has_more"] is True
    assert len(everything["data"]) == 31
    assert everything["has_more"] is False


async def test_rewards_list_documented_shape_and_pages(env: Env) -> None:
    await open_for_business(env.db)
    alice = await make_customer(env.db, env.settings, deposit="2600.00")
    activation = (
        await env.client.post(
            "/v1/contracts/activate", json={"contract_id": "ultra"}, headers=alice.auth
        )
    ).json()
    for day in (date(2026, 6, 19), date(2026, 6, 20), date(2026, 6, 21)):
        await credit_reward(env.db, activation["id"], day)

    page = (await env.client.get("/v1/rewards?limit=2", headers=alice.auth)).json()
    rest = (
        await env.client.get(
            f"/v1/rewards?limit=2&cursor={page['next_cursor']}", headers=alice.auth
        )
    ).json()
    balance = (await env.client.get("/v1/balance", headers=alice.auth)).json()
    typed = (await env.client.get("/v1/transactions?type=reward", headers=alice.auth)).json()

    assert [{k: r[k] for k in ("date", "contract", "amount")} for r in page["rewards"]] == [
        {"date": "2026-06-21", "contract": "Ultra Miner", "amount": "130.00"},
        {"date": "2026-06-20", "contract": "Ultra Miner", "amount": "130.00"},
    ]
    assert page["has_more"] is True
    assert [r["date"] for r in rest["rewards"]] == ["2026-06-19"]
    assert rest["has_more"] is False
    assert rest["next_cursor"] is None
    assert balance["available"] == "390.00"
    assert balance["total_rewards"] == "390.00"
    assert balance["in_contracts"] == "2600.00"
    assert [(t["amount"], t["date"]) for t in typed["data"]] == [
        ("130.00", "2026-06-21"),
        ("130.00", "2026-06-20"),
        ("130.00", "2026-06-19"),
    ]


async def test_customers_never_see_each_others_objects(env: Env) -> None:
    await open_for_business(env.db)
    alice = await make_customer(env.db, env.settings, deposit="1000.00")
    mallory = await make_customer(env.db, env.settings, deposit="1000.00")
    mine = (
        await env.client.post(
            "/v1/contracts/activate", json={"contract_id": "starter"}, headers=alice.auth
        )
    ).json()
    await credit_reward(env.db, mine["id"], date(2026, 6, 20))

    theirs = await env.client.get(f"/v1/contracts/activations/{mine['id']}", headers=mallory.auth)
    own = await env.client.get(f"/v1/contracts/activations/{mine['id']}", headers=alice.auth)
    listed = (await env.client.get("/v1/contracts/activations", headers=mallory.auth)).json()
    rewards = (await env.client.get("/v1/rewards", headers=mallory.auth)).json()
    history = (await env.client.get("/v1/transactions", headers=mallory.auth)).json()

    assert theirs.status_code == 404
    assert theirs.json()["error"]["code"] == "resource_missing"
    assert own.status_code == 200
    assert own.json()["id"] == mine["id"]
    assert listed["data"] == []
    assert rewards["rewards"] == []
    assert [t["type"] for t in history["data"]] == ["deposit"]


async def test_activations_filter_by_status(env: Env) -> None:
    await open_for_business(env.db)
    alice = await make_customer(env.db, env.settings, deposit="1000.00")
    await env.client.post(
        "/v1/contracts/activate", json={"contract_id": "starter"}, headers=alice.auth
    )

    active = (
        await env.client.get("/v1/contracts/activations?status=active", headers=alice.auth)
    ).json()
    expired = (
        await env.client.get("/v1/contracts/activations?status=expired", headers=alice.auth)
    ).json()
    bad = await env.client.get("/v1/contracts/activations?status=paused", headers=alice.auth)

    assert [a["contract_id"] for a in active["data"]] == ["starter"]
    assert expired["data"] == []
    assert bad.status_code == 400
    assert bad.json()["error"]["param"] == "status"
