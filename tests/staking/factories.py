"""Staking-only helpers: fund the pool, stake over HTTP, mature a stake, read balances."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import httpx
from sqlalchemy import select

from miningtx.kit.db import Database
from miningtx.models import Stake
from miningtx.staking import service as staking
from tests.conftest import Env
from tests.factories import CustomerWithKey, fund_pool

STAKES = "/v1/staking/stakes"


async def open_staking(db: Database, pool: str = "1000000.00") -> None:
    """Fund the staking pool so stakes' yields can be reserved."""
    await fund_pool(db, "staking", pool)


async def post_stake(
    env: Env, who: CustomerWithKey, amount: Any, days: Any, **headers: str
) -> httpx.Response:
    return await env.client.post(
        STAKES, json={"amount": amount, "days": days}, headers={**who.auth, **headers}
    )


async def stake(env: Env, who: CustomerWithKey, amount: str, days: int) -> dict[str, Any]:
    """Create a stake that must succeed and return its body."""
    response = await post_stake(env, who, amount, days)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def complete(db: Database, stake_id: str, now: datetime) -> Stake | None:
    """Run the maturity step for one stake, in its own unit of work, as the worker will."""
    async with db.write() as session:
        return await staking.complete_stake(session, stake_id, now)


async def stored_stake(db: Database, stake_id: str) -> Stake:
    """The stake's row, with its exact (sub-second) times."""
    async with db.read() as session:
        return (await session.execute(select(Stake).where(Stake.id == stake_id))).scalar_one()


def parse_time(text: str) -> datetime:
    assert text.endswith("Z"), text
    return datetime.fromisoformat(text)
