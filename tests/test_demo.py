"""`mtx demo`: a customer with five weeks of history made by the platform's own jobs."""

from __future__ import annotations

import re
from collections import Counter
from typing import Any

from sqlalchemy import func, select

from miningtx.demo import HISTORY_DAYS, RECEIVER_GONE, seed_demo
from miningtx.models import Customer, Event, WebhookDelivery, WebhookDeliveryStatus
from tests.conftest import Env
from tests.dashboard.web import submit
from tests.factories import invariant_problems

BAR_HEIGHT = re.compile(r'height="([0-9.]+)" class="chart__bar"')
#: starter 6.67 + ultra 130.00 a day, for each cut-off of the history after the first 24 h.
REWARD_DAYS = HISTORY_DAYS - 1


async def test_the_demo_customer_has_a_lived_in_history(env: Env) -> None:
    first = await seed_demo(env.db, env.settings)
    auth = {"Authorization": f"Bearer {first.api_key}"}

    async def get(path: str) -> Any:
        response = await env.client.get(path, headers=auth)
        assert response.status_code == 200, response.text
        return response.json()

    balance = await get("/v1/balance")
    rewards = await get("/v1/rewards?limit=100")
    stakes = await get("/v1/staking/stakes")
    withdrawals = await get("/v1/withdrawals")
    partners = await get("/v1/partners")
    activations = await get("/v1/contracts/activations")
    endpoints = await get("/v1/webhook_endpoints")
    transactions = await get("/v1/transactions?limit=100")

    assert balance == {
        "currency": "USDT",
        # 10000 deposit + 10 bonus - 2800 contracts - 1000 stake + 1600 payout - 2000 stake
        # + 1500 top-up - 250 withdrawal + 4646.78 rewards + 32 partner reward
        "available": "11738.78",
        "in_contracts": "2800.00",
        "total_rewards": "4646.78",
        "in_stakes": "2000.00",
        "pending_withdrawals": "0.00",
    }
    assert len(rewards["rewards"]) == 2 * REWARD_DAYS
    assert Counter(r["amount"] for r in rewards["rewards"]) == {
        "6.67": REWARD_DAYS,
        "130.00": REWARD_DAYS,
    }
    assert [(s["days"], s["status"]) for s in stakes["stakes"]] == [
        (180, "active"),
        (30, "completed"),
    ]
    [withdrawal] = withdrawals["data"]
    assert (withdrawal["status"], withdrawal["amount"]) == ("processed", "250.00")
    assert withdrawal["tx_hash"]
    assert (partners["partners"], partners["partner_rewards"]) == (1, "32.00")
    assert {a["rewards_paid"] for a in activations["data"]} == {REWARD_DAYS}
    [endpoint] = endpoints["data"]
    assert (endpoint["status"], endpoint["disabled_reason"]) == ("disabled", RECEIVER_GONE)
    kinds = Counter(t["type"] for t in transactions["data"])
    assert kinds == {
        "reward": 2 * REWARD_DAYS,
        "deposit": 2,
        "contract": 2,
        "stake": 2,
        "stake_payout": 1,
        "withdrawal": 1,
        "bonus": 1,
        "partner_reward": 1,
    }
    # Every event of the demo customer reached the demo's receiver, on the first attempt.
    async with env.db.read() as session:
        events = await session.scalar(
            select(func.count())
            .select_from(Event)
            .join(Customer, Customer.seq == Event.customer_seq)
            .where(Customer.id == first.customer_id)
        )
        deliveries = dict(
            (
                await session.execute(
                    select(WebhookDelivery.status, func.count()).group_by(WebhookDelivery.status)
                )
            ).all()
        )
    assert events is not None
    assert events > 2 * REWARD_DAYS
    assert deliveries == {WebhookDeliveryStatus.DELIVERED: events}
    assert await invariant_problems(env.db) == []

    # The dashboard's overview at first sign-in: a chart with a bar for every recent day.
    signed_in = await submit(
        env.client,
        "/login",
        "/login",
        {"identifier": "demo", "password": first.dashboard_password},
    )
    assert signed_in.status_code in (302, 303), signed_in.text
    overview = await env.client.get("/dashboard")
    assert overview.status_code == 200
    heights = [float(h) for h in BAR_HEIGHT.findall(overview.text)]
    assert len(heights) >= 28
    assert min(heights) > 0
    assert "Ultra Miner" in overview.text

    again = await seed_demo(env.db, env.settings)

    assert again.created is False
    assert again.customer_id == first.customer_id
    rerun = {"Authorization": f"Bearer {again.api_key}"}
    assert (await env.client.get("/v1/balance", headers=rerun)).json() == balance
    assert await invariant_problems(env.db) == []
