"""Concurrent activations by a referred customer against a real `mtx serve`.

However many requests race, the referee's balance is spent once per contract and the
referrer is paid exactly one partner reward per activation that went through.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
import pytest

from miningtx.ledger.accounts import Platform, customer_available
from tests.factories import balances, fund_pool, invariant_problems, open_for_business
from tests.partners.factories import referred_pair, sold_mths, transfers
from tests.servers import on_own_connection, seeding, serve

pytestmark = pytest.mark.slow

CONCURRENCY = 20
STARTER_PRICE = 200_000_000
STARTER_PARTNER_REWARD = 32_000_000
STARTER_MTHS = 2_800
PARTNERS_FUNDED = 1_000_000_000  # 1000.00


async def test_twenty_concurrent_activations_pay_one_partner_reward_each(
    database_url: str, tmp_path: Path
) -> None:
    async with seeding(database_url) as seed:
        await open_for_business(seed.db)
        await fund_pool(seed.db, "partners", "1000.00")
        referrer, referee = await referred_pair(seed.db, seed.settings, deposit="1000.00")

        async with serve(database_url, tmp_path) as server:
            requests = (
                on_own_connection(
                    server,
                    "POST",
                    "/v1/contracts/activate",
                    json={"contract_id": "starter"},
                    headers=referee.auth,
                )
                for _ in range(CONCURRENCY)
            )
            responses = await asyncio.wait_for(asyncio.gather(*requests), timeout=90.0)
            async with httpx.AsyncClient(base_url=server.base_url, timeout=30.0) as client:
                summary = await client.get("/v1/partners", headers=referrer.auth)

        statuses = sorted(r.status_code for r in responses)
        assert statuses == [200] * 5 + [402] * 15, [r.text for r in responses]
        sold = {r.json()["id"] for r in responses if r.status_code == 200}
        assert summary.json() == {
            "referral_code": referrer.referral_code,
            "partner_rate": "0.16",
            "partners": 1,
            "partner_rewards": "160.00",
        }
        rewards = await transfers(seed.db, "partner_reward")
        assert len(rewards) == 5
        assert {t.reference for t in rewards} == sold
        assert {t.amount for t in rewards} == {STARTER_PARTNER_REWARD}
        assert await balances(
            seed.db,
            customer_available(referee.id),
            customer_available(referrer.id),
            Platform.PARTNERS,
        ) == {
            customer_available(referee.id): 0,
            customer_available(referrer.id): 5 * STARTER_PARTNER_REWARD,
            Platform.PARTNERS: PARTNERS_FUNDED - 5 * STARTER_PARTNER_REWARD,
        }
        assert await sold_mths(seed.db) == 5 * STARTER_MTHS
        assert await invariant_problems(seed.db) == []
