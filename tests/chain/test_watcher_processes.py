"""An `mtx worker` whose chain watcher is SIGKILLed between reading the Transfer logs and
committing what they say: once in a round that would record new deposits, once in a
round that would credit them. Each kill lands where the watcher froze (after logging
`test_paused`, `MTX_WATCHER_TEST_PAUSE=read`, sandbox only), with the database checked
at that instant. After the restarts each deposit is credited exactly once."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, update

from miningtx.kit.clock import utcnow
from miningtx.ledger.accounts import customer_available, treasury
from miningtx.models import ChainCursor, Event
from miningtx.wallet.watcher import PAUSE_VARIABLE
from tests.chain.anvil import Chain, units
from tests.chain.platform import CONFIRMATIONS, Platform, running_platform
from tests.factories import balances, invariant_problems
from tests.processes import background, eventually
from tests.servers import MTX, run_command, server_environment

pytestmark = pytest.mark.slow

#: What each customer deposits on BSC (18 decimals), and what the ledger credits.
AMOUNTS = {"alice": ("100", 100_000000), "bob": ("250.5", 250_500000)}


@pytest.fixture
async def platform(database_url: str, bsc: Chain, polygon: Chain) -> AsyncIterator[Platform]:
    async with running_platform(database_url, bsc, polygon) as running:
        yield running


def worker_environment(platform: Platform, pause: bool) -> dict[str, str]:
    bsc = platform.bsc
    return server_environment(
        platform.settings.database_url,
        {
            "MTX_WORKER_INTERVAL": "0.05",
            "MTX_CHAIN_BSC_RPC_URL": bsc.node.rpc_url,
            "MTX_CHAIN_BSC_USDT_ADDRESS": bsc.token.address,
            "MTX_CHAIN_BSC_CONFIRMATIONS": str(CONFIRMATIONS),
            "MTX_CHAIN_BSC_START_BLOCK": "0",
        }
        | ({PAUSE_VARIABLE: "read"} if pause else {}),
    )


async def expire_lease(platform: Platform) -> None:
    """The dead leader's 30 s lease runs out (moved back, not waited for)."""
    async with platform.db.write() as session:
        await session.execute(
            update(ChainCursor)
            .where(ChainCursor.network == "bsc")
            .values(lease_until=utcnow() - timedelta(seconds=1))
        )


async def cursor(platform: Platform) -> int | None:
    """The watcher's next block on BSC; None before its first round."""
    async with platform.db.read() as session:
        next_block = await session.scalar(
            select(ChainCursor.next_block).where(ChainCursor.network == "bsc")
        )
    return None if next_block is None else int(next_block)


async def deposit_state(platform: Platform) -> list[tuple[str | None, str, int]]:
    return sorted((d.address, d.status, d.amount) for d in await platform.deposits("bsc"))


async def confirmed_events(platform: Platform) -> list[str]:
    async with platform.db.read() as session:
        found = await session.scalars(select(Event).where(Event.type == "deposit.confirmed"))
        return sorted(event.data["id"] for event in found)


async def kill_after_reading(platform: Platform, folder: Path, transfers: int) -> dict[str, Any]:
    """Run a worker until its watcher froze after reading `transfers` transfers, check
    that the cursor did not move, kill it there; the marker it logged."""
    before = await cursor(platform)
    async with background(
        "worker", env=worker_environment(platform, True), folder=folder, name="worker"
    ) as worker:
        marker = await worker.wait_paused()
        assert (marker["hook"], marker["step"]) == (PAUSE_VARIABLE, "read")
        assert (marker["network"], marker["transfers"]) == ("bsc", transfers)
        assert marker["start"] == (0 if before is None else before) == await cursor(platform)
        await worker.kill()
    await expire_lease(platform)
    return marker


@pytest.mark.timeout(400)
async def test_a_watcher_killed_between_reading_and_committing_credits_each_deposit_once(
    platform: Platform, tmp_path: Path
) -> None:
    chain = platform.bsc
    who = {name: await platform.customer() for name in AMOUNTS}
    addresses = {name: await platform.deposit_address(who[name], "bsc") for name in AMOUNTS}
    for name, (amount, _) in AMOUNTS.items():
        await chain.token.mint(addresses[name], units(amount, 18))
    accounts = [customer_available(who[name].id) for name in AMOUNTS]
    nothing = dict.fromkeys([*accounts, treasury("bsc")], 0)

    # 1. Killed after reading two new transfers, before recording them: nothing recorded.
    await kill_after_reading(platform, tmp_path, transfers=2)
    assert await deposit_state(platform) == []
    assert await balances(platform.db, *nothing) == nothing

    # One whole round records them, pending: not final yet (head - block + 1 < 3).
    code, _out, err = await run_command(
        str(MTX), "worker", "--once", env=worker_environment(platform, False), time_limit=120
    )
    assert code == 0, err
    pending = sorted((addresses[n], "pending", micro) for n, (_, micro) in AMOUNTS.items())
    assert await deposit_state(platform) == pending
    await expire_lease(platform)

    # 2. Final now; killed after reading them again, before crediting: nothing credited.
    await chain.node.mine(CONFIRMATIONS)
    await kill_after_reading(platform, tmp_path, transfers=2)
    assert await deposit_state(platform) == pending
    assert await balances(platform.db, *nothing) == nothing
    assert await confirmed_events(platform) == []

    # Restarted for good: each deposit credited once, and later rounds change nothing.
    async with background(
        "worker", env=worker_environment(platform, False), folder=tmp_path, name="worker"
    ):

        async def credited() -> bool:
            return all(s == "confirmed" for _, s, _ in await deposit_state(platform))

        await eventually(credited, "the deposits are credited")
        await chain.node.mine(CONFIRMATIONS)
    await expire_lease(platform)
    code, _out, err = await run_command(
        str(MTX), "worker", "--once", env=worker_environment(platform, False), time_limit=120
    )
    assert code == 0, err

    deposits = await platform.deposits("bsc")
    assert sorted((d.address, d.status, d.amount) for d in deposits) == sorted(
        (addresses[n], "confirmed", micro) for n, (_, micro) in AMOUNTS.items()
    )
    assert await confirmed_events(platform) == sorted(d.id for d in deposits)
    total = sum(micro for _, micro in AMOUNTS.values())
    assert await balances(platform.db, *nothing) == {
        **{customer_available(who[n].id): micro for n, (_, micro) in AMOUNTS.items()},
        treasury("bsc"): -total,
    }
    assert await invariant_problems(platform.db) == []
