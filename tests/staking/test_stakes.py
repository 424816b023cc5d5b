"""Creating stakes: ROI on the curve, exact payouts, funded yields, refusals that move nothing."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from miningtx.kit.clock import utcnow
from miningtx.ledger.accounts import Platform, customer_available
from tests.conftest import Env
from tests.factories import balances, fund_pool, invariant_problems, make_customer
from tests.staking.factories import (
    STAKES,
    complete,
    open_staking,
    parse_time,
    post_stake,
    stake,
    stored_stake,
)

POOL = 1_000_000_000_000  # open_staking: 1,000,000.00 USDT


async def test_the_documented_example_comes_out_exactly(env: Env) -> None:
    await open_staking(env.db)
    alice = await make_customer(env.db, env.settings, deposit="1000.00")
    before = utcnow()

    response = await post_stake(env, alice, "1000.00", 180)

    assert response.status_code == 200, response.text
    body = response.json()
    assert body["id"].startswith("stk_")
    assert body == {
        "id": body["id"],
        "amount": "1000.00",
        "days": 180,
        "roi_percent": "420",
        "payout": "5200.00",
        "status": "active",
        "start_time": body["start_time"],
        "end_time": body["end_time"],
        "completed_at": None,
    }
    start, end = parse_time(body["start_time"]), parse_time(body["end_time"])
    assert end - start == timedelta(days=180)
    assert before - timedelta(seconds=1) <= start <= utcnow()
    fetched = await env.client.get(f"{STAKES}/{body['id']}", headers=alice.auth)
    assert fetched.status_code == 200
    assert fetched.json() == body
    assert await invariant_problems(env.db) == []


async def test_roi_and_payout_along_the_curve(env: Env) -> None:
    await open_staking(env.db)
    alice = await make_customer(env.db, env.settings, deposit="8000.00")
    # Worked by hand: 30->180 adds 360 points over 150 days (2.4 a day),
    # 180->365 adds 580 over 185 days; ROI truncated to 4 decimals, payout to 6.
    expected = [
        (30, "60", "1600.00"),
        (31, "62.4", "1624.00"),
        (90, "204", "3040.00"),
        (179, "417.6", "5176.00"),
        (180, "420", "5200.00"),
        (181, "423.1351", "5231.351"),
        (364, "996.8648", "10968.648"),
        (365, "1000", "11000.00"),
    ]

    results = [await stake(env, alice, "1000.00", days) for days, _, _ in expected]

    assert [(r["days"], r["roi_percent"], r["payout"]) for r in results] == expected
    assert all(r["amount"] == "1000.00" for r in results)
    # Yields: 43839.999 paid out in total for 8000.00 staked.
    assert await balances(
        env.db,
        customer_available(alice.id),
        Platform.STAKES_LOCKED,
        Platform.STAKING_RESERVED,
        Platform.STAKING_POOL,
    ) == {
        customer_available(alice.id): 0,
        Platform.STAKES_LOCKED: 8_000_000_000,
        Platform.STAKING_RESERVED: 35_839_999_000,
        Platform.STAKING_POOL: POOL - 35_839_999_000,
    }
    assert await invariant_problems(env.db) == []


async def test_bad_days_are_400_naming_days(env: Env) -> None:
    await open_staking(env.db)
    alice = await make_customer(env.db, env.settings, deposit="1000.00")
    bodies: list[dict[str, Any]] = [
        {"amount": "100.00", "days": 29},
        {"amount": "100.00", "days": 366},
        {"amount": "100.00", "days": "180"},
        {"amount": "100.00", "days": 180.5},
        {"amount": "100.00", "days": 180.0},
        {"amount": "100.00", "days": True},
        {"amount": "100.00", "days": None},
        {"amount": "100.00"},
    ]

    for body in bodies:
        response = await env.client.post(STAKES, json=body, headers=alice.auth)
        assert response.status_code == 400, (body, response.text)
        error = response.json()["error"]
        assert error["code"] == "invalid_request", body
        assert error["param"] == "days", body

    missing = await env.client.post(STAKES, json={"amount": "100.00"}, headers=alice.auth)
    assert missing.json()["error"]["message"] == "Missing required parameter: days."
    unknown = await env.client.post(
        STAKES, json={"amount": "100.00", "days": 30, "plan": "gold"}, headers=alice.auth
    )
    assert unknown.status_code == 400
    assert unknown.json()["error"]["param"] == "plan"
    assert (await env.client.get(STAKES, headers=alice.auth)).json()["stakes"] == []
    assert (await balances(env.db, customer_available(alice.id))) == {
        customer_available(alice.id): 1_000_000_000
    }
    assert await invariant_problems(env.db) == []


async def test_amount_limits_and_format(env: Env) -> None:
    await open_staking(env.db)
    alice = await make_customer(env.db, env.settings, deposit="50100.00")

    below = await post_stake(env, alice, "99.99", 30)
    above = await post_stake(env, alice, "50000.01", 30)
    number = await post_stake(env, alice, 1000, 30)
    negative = await post_stake(env, alice, "-100.00", 30)
    too_precise = await post_stake(env, alice, "100.0000001", 30)

    assert below.status_code == 400
    assert below.json()["error"] == {
        "code": "amount_below_minimum",
        "message": "The minimum stake is 100.00 USDT.",
        "param": "amount",
        "request_id": below.headers["x-request-id"],
    }
    assert above.status_code == 400
    assert above.json()["error"] == {
        "code": "amount_above_maximum",
        "message": "The maximum stake is 50000.00 USDT.",
        "param": "amount",
        "request_id": above.headers["x-request-id"],
    }
    for refused in (number, negative, too_precise):
        assert refused.status_code == 400, refused.text
        assert refused.json()["error"]["code"] == "invalid_request"
        assert refused.json()["error"]["param"] == "amount"
    assert (await env.client.get(STAKES, headers=alice.auth)).json()["stakes"] == []

    smallest = await stake(env, alice, "100.00", 30)
    largest = await stake(env, alice, "50000.00", 30)

    assert (smallest["amount"], smallest["payout"]) == ("100.00", "160.00")
    assert (largest["amount"], largest["payout"]) == ("50000.00", "80000.00")
    assert (await env.client.get("/v1/balance", headers=alice.auth)).json()[
        "in_stakes"
    ] == "50100.00"
    assert await invariant_problems(env.db) == []


async def test_a_stake_moves_its_amount_to_in_stakes_and_reserves_its_yield(env: Env) -> None:
    await open_staking(env.db)
    alice = await make_customer(env.db, env.settings, deposit="1500.00")

    created = await stake(env, alice, "1000.00", 30)

    balance = (await env.client.get("/v1/balance", headers=alice.auth)).json()
    assert balance == {
        "currency": "USDT",
        "available": "500.00",
        "in_contracts": "0.00",
        "total_rewards": "0.00",
        "in_stakes": "1000.00",
        "pending_withdrawals": "0.00",
    }
    listed = (await env.client.get("/v1/transactions?type=stake", headers=alice.auth)).json()
    assert [(t["type"], t["amount"], t["direction"], t["reference"]) for t in listed["data"]] == [
        ("stake", "1000.00", "debit", created["id"])
    ]
    everything = (await env.client.get("/v1/transactions", headers=alice.auth)).json()["data"]
    assert [t["type"] for t in everything] == ["stake", "deposit"]
    assert await balances(
        env.db,
        customer_available(alice.id),
        Platform.STAKES_LOCKED,
        Platform.STAKING_RESERVED,
        Platform.STAKING_POOL,
    ) == {
        customer_available(alice.id): 500_000_000,
        Platform.STAKES_LOCKED: 1_000_000_000,
        Platform.STAKING_RESERVED: 600_000_000,
        Platform.STAKING_POOL: POOL - 600_000_000,
    }
    assert await invariant_problems(env.db) == []


async def test_short_balance_is_402_and_nothing_moves(env: Env) -> None:
    await open_staking(env.db)
    bob = await make_customer(env.db, env.settings, deposit="999.999999")

    response = await post_stake(env, bob, "1000.00", 30)

    assert response.status_code == 402
    assert response.json()["error"]["code"] == "insufficient_balance"
    assert response.json()["error"]["message"] == "Your balance is too low to stake this amount."
    assert await balances(
        env.db,
        customer_available(bob.id),
        Platform.STAKES_LOCKED,
        Platform.STAKING_RESERVED,
        Platform.STAKING_POOL,
    ) == {
        customer_available(bob.id): 999_999_999,
        Platform.STAKES_LOCKED: 0,
        Platform.STAKING_RESERVED: 0,
        Platform.STAKING_POOL: POOL,
    }
    assert (await env.client.get(STAKES, headers=bob.auth)).json()["stakes"] == []
    assert (await env.client.get("/v1/balance", headers=bob.auth)).json()["in_stakes"] == "0.00"
    assert await invariant_problems(env.db) == []


async def test_unfunded_staking_pool_is_sold_out_and_nothing_moves(env: Env) -> None:
    await fund_pool(env.db, "staking", "4199.99")  # one cent short of the 180-day yield
    carol = await make_customer(env.db, env.settings, deposit="1000.00")

    response = await post_stake(env, carol, "1000.00", 180)

    assert response.status_code == 409
    assert response.json()["error"]["code"] == "sold_out"
    assert (
        response.json()["error"]["message"]
        == "The operator cannot fund this stake's return right now."
    )
    assert await balances(
        env.db,
        customer_available(carol.id),
        Platform.STAKES_LOCKED,
        Platform.STAKING_RESERVED,
        Platform.STAKING_POOL,
    ) == {
        customer_available(carol.id): 1_000_000_000,
        Platform.STAKES_LOCKED: 0,
        Platform.STAKING_RESERVED: 0,
        Platform.STAKING_POOL: 4_199_990_000,
    }
    assert (await env.client.get(STAKES, headers=carol.auth)).json()["stakes"] == []

    # A shorter term whose yield (600.00) the pool covers goes through.
    shorter = await stake(env, carol, "1000.00", 30)

    assert shorter["payout"] == "1600.00"
    assert (await balances(env.db, Platform.STAKING_POOL)) == {Platform.STAKING_POOL: 3_599_990_000}
    assert await invariant_problems(env.db) == []


async def test_sold_out_wins_when_both_pool_and_balance_are_short(env: Env) -> None:
    await fund_pool(env.db, "staking", "10.00")
    dave = await make_customer(env.db, env.settings, deposit="50.00")

    response = await post_stake(env, dave, "1000.00", 30)

    assert response.status_code == 409
    assert response.json()["error"]["code"] == "sold_out"
    assert await invariant_problems(env.db) == []


async def test_idempotent_replay_creates_one_stake(env: Env) -> None:
    await open_staking(env.db)
    alice = await make_customer(env.db, env.settings, deposit="1000.00")

    first = await post_stake(env, alice, "1000.00", 180, **{"Idempotency-Key": "stake-1"})
    again = await post_stake(env, alice, "1000.00", 180, **{"Idempotency-Key": "stake-1"})
    other = await post_stake(env, alice, "500.00", 180, **{"Idempotency-Key": "stake-1"})

    assert first.status_code == 200
    assert "idempotent-replayed" not in first.headers
    assert again.status_code == 200
    assert again.headers["idempotent-replayed"] == "true"
    assert again.content == first.content
    assert other.status_code == 409
    assert other.json()["error"]["code"] == "idempotency_key_reused"
    listed = (await env.client.get(STAKES, headers=alice.auth)).json()["stakes"]
    assert [s["id"] for s in listed] == [first.json()["id"]]
    balance = (await env.client.get("/v1/balance", headers=alice.auth)).json()
    assert (balance["available"], balance["in_stakes"]) == ("0.00", "1000.00")
    assert await balances(env.db, Platform.STAKING_RESERVED) == {
        Platform.STAKING_RESERVED: 4_200_000_000
    }
    assert await invariant_problems(env.db) == []


async def test_list_filters_pages_and_keeps_customers_apart(env: Env) -> None:
    await open_staking(env.db)
    alice = await make_customer(env.db, env.settings, deposit="600.00")
    bob = await make_customer(env.db, env.settings, deposit="100.00")
    first = await stake(env, alice, "100.00", 30)
    second = await stake(env, alice, "200.00", 60)
    third = await stake(env, alice, "300.00", 90)
    bobs = await stake(env, bob, "100.00", 30)
    done = await complete(env.db, first["id"], (await stored_stake(env.db, first["id"])).end_time)
    assert done is not None

    everything = (await env.client.get(STAKES, headers=alice.auth)).json()
    active = (await env.client.get(f"{STAKES}?status=active", headers=alice.auth)).json()
    completed = (await env.client.get(f"{STAKES}?status=completed", headers=alice.auth)).json()
    page_one = (await env.client.get(f"{STAKES}?limit=2", headers=alice.auth)).json()
    page_two = (
        await env.client.get(
            f"{STAKES}?limit=2&cursor={page_one['next_cursor']}", headers=alice.auth
        )
    ).json()
    bad_status = await env.client.get(f"{STAKES}?status=expired", headers=alice.auth)
    bad_cursor = await env.client.get(f"{STAKES}?cursor=nope", headers=alice.auth)

    ids = [third["id"], second["id"], first["id"]]
    assert [s["id"] for s in everything["stakes"]] == ids
    assert (everything["has_more"], everything["next_cursor"]) == (False, None)
    assert everything["stakes"][0] == third
    assert [s["id"] for s in active["stakes"]] == ids[:2]
    assert [(s["id"], s["status"]) for s in completed["stakes"]] == [(first["id"], "completed")]
    assert completed["stakes"][0]["completed_at"] == first["end_time"]
    assert [s["id"] for s in page_one["stakes"]] == ids[:2]
    assert page_one["has_more"] is True
    assert page_one["next_cursor"].startswith("cur_")
    assert page_two == {"stakes": [everything["stakes"][2]], "has_more": False, "next_cursor": None}
    assert bad_status.status_code == 400
    assert bad_status.json()["error"]["code"] == "invalid_request"
    assert bad_status.json()["error"]["param"] == "status"
    assert bad_cursor.status_code == 400
    assert bad_cursor.json()["error"]["param"] == "cursor"

    theirs = await env.client.get(f"{STAKES}/{bobs['id']}", headers=alice.auth)
    unknown = await env.client.get(f"{STAKES}/stk_doesnotexist", headers=alice.auth)
    for missing in (theirs, unknown):
        assert missing.status_code == 404
        assert missing.json()["error"]["code"] == "resource_missing"
        assert missing.json()["error"]["param"] == "stake_id"
    bob_sees = (await env.client.get(STAKES, headers=bob.auth)).json()["stakes"]
    assert [s["id"] for s in bob_sees] == [bobs["id"]]
    unauthenticated = await env.client.get(STAKES)
    assert unauthenticated.status_code == 401
    assert await invariant_problems(env.db) == []
