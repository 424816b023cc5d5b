"""Helpers of the withdrawal-controls tests: an API with chosen limits, and the clock."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import Any

import httpx

from miningtx.app import create_app
from miningtx.kit.db import Database
from miningtx.ledger.accounts import Platform, customer_available
from tests.conftest import Env, make_settings
from tests.factories import CustomerWithKey, balances, invariant_problems

LIMITS = "/v1/withdrawals/limits"
ADDRESSES = "/v1/withdrawal_addresses"
ADDRESS_SETTINGS = "/v1/withdrawal_addresses/settings"
ADVANCE = "/v1/test_helpers/clock/advance"
USDT = 1_000_000
#: A second valid EIP-55 address (the spec's other example).
OTHER_ADDRESS = "0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359"


@asynccontextmanager
async def controlled_env(database_url: str, **overrides: Any) -> AsyncIterator[Env]:
    """The `env` fixture's platform, with settings of the test's own."""
    settings = make_settings(database_url, **overrides)
    app = create_app(settings)
    db: Database = app.state.db
    transport = httpx.ASGITransport(app=app)
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            yield Env(settings, db, client)
    finally:
        await db.dispose()


async def advance(env: Env, who: CustomerWithKey, by: timedelta) -> None:
    response = await env.client.post(
        ADVANCE, json={"seconds": int(by.total_seconds())}, headers=who.auth
    )
    assert response.status_code == 200, response.text


async def ledger_of(env: Env, who: CustomerWithKey) -> dict[str, Any]:
    """What a refusal must leave untouched: the customer's money, transactions, withdrawals."""
    transactions = await env.client.get("/v1/transactions", headers=who.auth)
    withdrawals = await env.client.get("/v1/withdrawals", headers=who.auth)
    return {
        "balances": await balances(
            env.db, customer_available(who.id), Platform.PENDING_WITHDRAWALS
        ),
        "transactions": transactions.json()["data"],
        "withdrawals": withdrawals.json()["data"],
        "problems": await invariant_problems(env.db),
    }


def refused(response: httpx.Response, status: int, code: str, param: str) -> str:
    """Assert the documented error envelope; return the message."""
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert (error["code"], error.get("param")) == (code, param), error
    message: str = error["message"]
    return message
