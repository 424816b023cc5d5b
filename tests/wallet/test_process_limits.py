"""Concurrent withdrawal requests of one customer against real `mtx serve` processes:
the rolling 24 h limit holds however many race, on SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from miningtx.ledger.accounts import Platform, customer_available
from tests.factories import balances, invariant_problems
from tests.servers import race, seeding, serve
from tests.wallet.controls_helpers import LIMITS, USDT
from tests.wallet.factories import ADDRESS, WITHDRAWALS, verified_customer

pytestmark = pytest.mark.slow

CONCURRENCY = 50


async def test_fifty_concurrent_withdrawals_never_exceed_the_24h_limit(
    database_url: str, tmp_path: Path
) -> None:
    async with seeding(database_url) as seed:
        # The balance covers all fifty: only the limit (1050.00 = 10 x 100.00 + 50.00) binds.
        alice = await verified_customer(seed.db, seed.settings, deposit="10000.00")

        async with serve(
            database_url,
            tmp_path,
            env={"MTX_WITHDRAWAL_LIMIT_24H": "1050.00"},
            args=["--workers", "2"],
        ) as server:
            responses = await race(
                server,
                CONCURRENCY,
                "POST",
                WITHDRAWALS,
                json={"amount": "100.00", "network": "bsc", "address": ADDRESS},
                headers=alice.auth,
            )
            async with httpx.AsyncClient(base_url=server.base_url, timeout=30.0) as client:
                balance = await client.get("/v1/balance", headers=alice.auth)
                limits = await client.get(LIMITS, headers=alice.auth)

        statuses = sorted(r.status_code for r in responses)
        assert statuses == [200] * 10 + [403] * 40, [r.text for r in responses]
        for refused in (r for r in responses if r.status_code == 403):
            error = refused.json()["error"]
            assert (error["code"], error["param"]) == ("withdrawal_limit_exceeded", "amount")
            assert error["message"] == (
                "This withdrawal would exceed your 24-hour withdrawal limit of 1050.00 USDT: "
                "you can withdraw 50.00 USDT more now."
            )
        assert (balance.json()["available"], balance.json()["pending_withdrawals"]) == (
            "9000.00",
            "1000.00",
        )
        assert limits.json()["remaining"] == "50.00"
        assert limits.json()["rolling_24h"]["used"] == "1000.00"
        assert await balances(
            seed.db, customer_available(alice.id), Platform.PENDING_WITHDRAWALS
        ) == {customer_available(alice.id): 9000 * USDT, Platform.PENDING_WITHDRAWALS: 1000 * USDT}
        assert await invariant_problems(seed.db) == []
