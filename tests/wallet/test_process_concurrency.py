"""Concurrent withdrawal requests and cancels against a real `mtx serve`.

Each request has its own HTTP connection, so the server sees them truly at once: the
balance must never be held twice, and a withdrawal must never be refunded twice.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
import pytest

from miningtx.ledger.accounts import Platform, customer_available
from tests.factories import balances, fund_pool, invariant_problems
from tests.servers import on_own_connection, race, seeding, serve
from tests.wallet.factories import ADDRESS, WITHDRAWALS, stored_withdrawal, verified_customer

pytestmark = pytest.mark.slow

CONCURRENCY = 50
USDT = 1_000_000


async def test_fifty_concurrent_withdrawals_hold_exactly_the_balance(
    database_url: str, tmp_path: Path
) -> None:
    async with seeding(database_url) as seed:
        alice = await verified_customer(seed.db, seed.settings, deposit="1000.00")

        async with serve(database_url, tmp_path) as server:
            responses = await race(
                server,
                CONCURRENCY,
                "POST",
                "/v1/withdrawals",
                json={"amount": "100.00", "network": "bsc", "address": ADDRESS},
                headers=alice.auth,
            )
            async with httpx.AsyncClient(base_url=server.base_url, timeout=30.0) as client:
                balance = await client.get("/v1/balance", headers=alice.auth)
                listed = await client.get(
                    "/v1/withdrawals", params={"limit": 100}, headers=alice.auth
                )

        statuses = sorted(r.status_code for r in responses)
        assert statuses == [200] * 10 + [402] * 40, [r.text for r in responses]
        accepted = [r.json() for r in responses if r.status_code == 200]
        for withdrawal in accepted:
            assert (withdrawal["amount"], withdrawal["status"]) == ("100.00", "pending")
        for refused in (r for r in responses if r.status_code == 402):
            error = refused.json()["error"]
            assert error["code"] == "insufficient_balance"
            assert error["message"] == "Your balance is too low for this withdrawal."
        assert balance.status_code == 200
        assert (balance.json()["available"], balance.json()["pending_withdrawals"]) == (
            "0.00",
            "1000.00",
        )
        assert {w["id"] for w in listed.json()["data"]} == {w["id"] for w in accepted}
        assert len({w["id"] for w in accepted}) == 10
        assert await balances(
            seed.db, customer_available(alice.id), Platform.PENDING_WITHDRAWALS
        ) == {customer_available(alice.id): 0, Platform.PENDING_WITHDRAWALS: 1000 * USDT}
        assert await invariant_problems(seed.db) == []


async def test_concurrent_cancels_refund_exactly_once(database_url: str, tmp_path: Path) -> None:
    async with seeding(database_url) as seed:
        bob = await verified_customer(seed.db, seed.settings, deposit="500.00")

        async with serve(database_url, tmp_path) as server:
            async with httpx.AsyncClient(base_url=server.base_url, timeout=30.0) as client:
                created = await client.post(
                    "/v1/withdrawals",
                    json={"amount": "200.00", "network": "polygon", "address": ADDRESS},
                    headers=bob.auth,
                )
                assert created.status_code == 200, created.text
                withdrawal_id = created.json()["id"]
            responses = await race(
                server, 20, "POST", f"/v1/withdrawals/{withdrawal_id}/cancel", headers=bob.auth
            )
            async with httpx.AsyncClient(base_url=server.base_url, timeout=30.0) as client:
                balance = await client.get("/v1/balance", headers=bob.auth)

        statuses = sorted(r.status_code for r in responses)
        assert statuses == [200] + [409] * 19, [r.text for r in responses]
        for refused in (r for r in responses if r.status_code == 409):
            assert refused.json()["error"]["code"] == "conflict"
        assert (balance.json()["available"], balance.json()["pending_withdrawals"]) == (
            "500.00",
            "0.00",
        )
        assert (await stored_withdrawal(seed.db, withdrawal_id)).status == "cancelled"
        assert await balances(
            seed.db, customer_available(bob.id), Platform.PENDING_WITHDRAWALS
        ) == {customer_available(bob.id): 500 * USDT, Platform.PENDING_WITHDRAWALS: 0}
        assert await invariant_problems(seed.db) == []


async def test_stakes_and_withdrawals_racing_for_one_balance_never_overdraw(
    database_url: str, tmp_path: Path
) -> None:
    async with seeding(database_url) as seed:
        await fund_pool(seed.db, "staking", "100000.00")
        bob = await verified_customer(seed.db, seed.settings, deposit="1000.00")

        async with serve(database_url, tmp_path) as server:
            stake = {"json": {"amount": "100.00", "days": 30}, "headers": bob.auth}
            withdrawal = {
                "json": {"amount": "100.00", "network": "bsc", "address": ADDRESS},
                "headers": bob.auth,
            }
            # Interleaved, 25 of each, all in flight at once on their own connections.
            requests = [
                on_own_connection(server, "POST", "/v1/staking/stakes", **stake)
                if i % 2
                else on_own_connection(server, "POST", WITHDRAWALS, **withdrawal)
                for i in range(CONCURRENCY)
            ]
            responses = await asyncio.wait_for(asyncio.gather(*requests), timeout=90.0)
            async with httpx.AsyncClient(base_url=server.base_url, timeout=30.0) as client:
                balance = (await client.get("/v1/balance", headers=bob.auth)).json()

        statuses = sorted(r.status_code for r in responses)
        assert statuses == [200] * 10 + [402] * 40, [r.text for r in responses]
        stakes = sum(1 for r in responses if r.status_code == 200 and r.json()["id"][:4] == "stk_")
        assert balance["available"] == "0.00"
        assert balance["in_stakes"] == f"{stakes * 100}.00"
        assert balance["pending_withdrawals"] == f"{(10 - stakes) * 100}.00"
        assert await invariant_problems(seed.db) == []
