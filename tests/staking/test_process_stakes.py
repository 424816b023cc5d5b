"""Concurrent stakes against a real `mtx serve`, each on its own HTTP connection.

The balance must never be staked twice: 50 racing requests of 100.00 against a balance
of 1000.00 create exactly ten stakes.
"""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from miningtx.ledger.accounts import Platform, customer_available
from tests.factories import balances, fund_pool, invariant_problems, make_customer
from tests.servers import race, seeding, serve

pytestmark = pytest.mark.slow

CONCURRENCY = 50
POOL = 1_000_000_000_000  # 1,000,000.00 USDT funded into the staking pool
STAKE = 100_000_000
STAKE_YIELD = 60_000_000  # 60 % of 100.00 over 30 days


async def test_fifty_concurrent_stakes_lock_exactly_what_the_balance_covers(
    database_url: str, tmp_path: Path
) -> None:
    async with seeding(database_url) as seed:
        await fund_pool(seed.db, "staking", "1000000.00")
        alice = await make_customer(seed.db, seed.settings, deposit="1000.00")  # 10 x 100.00

        async with serve(database_url, tmp_path) as server:
            responses = await race(
                server,
                CONCURRENCY,
                "POST",
                "/v1/staking/stakes",
                json={"amount": "100.00", "days": 30},
                headers=alice.auth,
            )
            async with httpx.AsyncClient(base_url=server.base_url, timeout=30.0) as client:
                balance = await client.get("/v1/balance", headers=alice.auth)
                listed = await client.get("/v1/staking/stakes?limit=100", headers=alice.auth)

        statuses = sorted(r.status_code for r in responses)
        assert statuses == [200] * 10 + [402] * 40, [r.text for r in responses]
        created = [r.json() for r in responses if r.status_code == 200]
        for body in created:
            assert body["id"].startswith("stk_")
            assert (body["amount"], body["days"], body["roi_percent"], body["payout"]) == (
                "100.00",
                30,
                "60",
                "160.00",
            )
            assert body["status"] == "active"
        for refused in (r for r in responses if r.status_code == 402):
            error = refused.json()["error"]
            assert error["code"] == "insufficient_balance"
            assert error["message"] == "Your balance is too low to stake this amount."
            assert error["request_id"] == refused.headers["x-request-id"]

        assert balance.status_code == 200
        assert balance.json() == {
            "currency": "USDT",
            "available": "0.00",
            "in_contracts": "0.00",
            "total_rewards": "0.00",
            "in_stakes": "1000.00",
            "pending_withdrawals": "0.00",
        }
        assert listed.status_code == 200
        page = listed.json()
        assert page["has_more"] is False
        assert sorted(s["id"] for s in page["stakes"]) == sorted(s["id"] for s in created)
        assert len({s["id"] for s in created}) == 10

        assert await balances(
            seed.db,
            customer_available(alice.id),
            Platform.STAKES_LOCKED,
            Platform.STAKING_RESERVED,
            Platform.STAKING_POOL,
        ) == {
            customer_available(alice.id): 0,
            Platform.STAKES_LOCKED: 10 * STAKE,
            Platform.STAKING_RESERVED: 10 * STAKE_YIELD,
            Platform.STAKING_POOL: POOL - 10 * STAKE_YIELD,
        }
        assert await invariant_problems(seed.db) == []
