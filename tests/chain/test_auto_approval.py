"""Auto-approval on real anvil nodes: a small withdrawal is approved at request time and the
signer pays it with no operator step; a larger one waits for review and is never sent."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.chain.anvil import Chain, units
from tests.chain.platform import CONFIRMATIONS, Platform, running_platform
from tests.chain.test_signer import DESTINATION, HOT, ONE_ETH, deposited, transfers_to, withdrawal
from tests.factories import invariant_problems

pytestmark = pytest.mark.slow


@pytest.fixture
async def platform(database_url: str, bsc: Chain, polygon: Chain) -> AsyncIterator[Platform]:
    async with running_platform(
        database_url, bsc, polygon, withdrawal_auto_approve_max="50.00"
    ) as running:
        await bsc.node.set_balance(HOT, 10 * ONE_ETH)
        yield running


async def test_a_small_withdrawal_is_paid_without_an_operator(platform: Platform) -> None:
    chain = platform.on("bsc")
    alice = await deposited(platform, "bsc", "200")
    await chain.token.mint(HOT, units("1000", chain.token.decimals))

    small = await platform.client.post(
        "/v1/withdrawals",
        json={"amount": "50.00", "network": "bsc", "address": DESTINATION},
        headers=alice.auth,
    )
    large = await platform.client.post(
        "/v1/withdrawals",
        json={"amount": "50.01", "network": "bsc", "address": DESTINATION},
        headers=alice.auth,
    )

    assert small.status_code == 200, small.text
    assert small.json()["status"] == "approved"  # a real network: the signer sends it
    assert large.json()["status"] == "pending"
    await platform.signer().run_round()
    await chain.node.mine(CONFIRMATIONS)
    await platform.signer().run_round()
    assert (await withdrawal(platform, small.json()["id"])).status == "processed"
    assert (await withdrawal(platform, large.json()["id"])).status == "pending"
    assert await chain.token.balance_of(DESTINATION) == units("49.00", chain.token.decimals)
    assert await transfers_to(chain, DESTINATION) == 1
    assert await invariant_problems(platform.db) == []
