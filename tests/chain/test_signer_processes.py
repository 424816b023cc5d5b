"""Two `mtx signer run` processes at once, each SIGKILLed at random and restarted, pay a
batch of withdrawals: every destination receives exactly one transfer."""

from __future__ import annotations

import asyncio
import os
import random
import signal
from collections.abc import AsyncIterator
from contextlib import suppress

import pytest
from eth_utils.address import to_checksum_address
from sqlalchemy import select

from miningtx.models import ChainTransaction, Withdrawal
from miningtx.wallet.keys import hot_wallet_address
from tests.chain.anvil import Chain, units
from tests.chain.platform import CONFIRMATIONS, Platform, running_platform
from tests.chain.test_signer import approved_withdrawal, deposited, transfers_to
from tests.conftest import TEST_MNEMONIC, TEST_XPUB
from tests.factories import invariant_problems
from tests.servers import MTX, server_environment, stop

pytestmark = pytest.mark.slow

HOT = to_checksum_address(hot_wallet_address(TEST_XPUB))
WITHDRAWALS = 6
KILLS = 10


@pytest.fixture
async def platform(database_url: str, bsc: Chain, polygon: Chain) -> AsyncIterator[Platform]:
    async with running_platform(database_url, bsc, polygon) as running:
        await polygon.node.set_balance(HOT, 10 * 10**18)
        yield running


def destination(index: int) -> str:
    return to_checksum_address(f"0x{index + 1:040x}".replace("0x0", "0xa", 1))


async def start_signer(platform: Platform) -> asyncio.subprocess.Process:
    polygon, bsc = platform.polygon, platform.bsc
    environment = server_environment(
        platform.settings.database_url,
        {
            "MTX_SIGNER_MNEMONIC": TEST_MNEMONIC,
            "MTX_WORKER_INTERVAL": "0.05",
            "MTX_SWEEP_THRESHOLD": "1000000.00",
            "MTX_CHAIN_BSC_RPC_URL": bsc.node.rpc_url,
            "MTX_CHAIN_BSC_USDT_ADDRESS": bsc.token.address,
            "MTX_CHAIN_BSC_CONFIRMATIONS": str(CONFIRMATIONS),
            "MTX_CHAIN_POLYGON_RPC_URL": polygon.node.rpc_url,
            "MTX_CHAIN_POLYGON_USDT_ADDRESS": polygon.token.address,
            "MTX_CHAIN_POLYGON_CONFIRMATIONS": str(CONFIRMATIONS),
        },
    )
    return await asyncio.create_subprocess_exec(
        str(MTX),
        "signer",
        "run",
        env=environment,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
        start_new_session=True,
    )


def kill(process: asyncio.subprocess.Process) -> None:
    with suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)


async def statuses(platform: Platform, ids: list[str]) -> list[str]:
    async with platform.db.read() as session:
        found = await session.scalars(select(Withdrawal.status).where(Withdrawal.id.in_(ids)))
        return sorted(found)


async def test_killed_concurrent_signers_pay_each_withdrawal_exactly_once(
    platform: Platform,
) -> None:
    chain = platform.polygon
    await chain.token.mint(HOT, units("10000", 6))
    ids = [
        await approved_withdrawal(
            platform, await deposited(platform, "polygon", "90"), "polygon", "40"
        )
        for _ in range(WITHDRAWALS)
    ]
    # Each withdrawal to its own destination, so transfers can be counted per withdrawal.
    async with platform.db.write() as session:
        for index, withdrawal_id in enumerate(ids):
            row = await session.scalar(select(Withdrawal).where(Withdrawal.id == withdrawal_id))
            assert row is not None
            row.address = destination(index)

    rng = random.Random(5)
    signers = [await start_signer(platform), await start_signer(platform)]
    try:
        for _ in range(KILLS):
            await asyncio.sleep(rng.uniform(0.05, 0.6))
            victim = rng.randrange(len(signers))
            kill(signers[victim])
            await signers[victim].wait()
            signers[victim] = await start_signer(platform)
        deadline = asyncio.get_running_loop().time() + 60
        while await statuses(platform, ids) != ["processed"] * WITHDRAWALS:
            assert asyncio.get_running_loop().time() < deadline, await statuses(platform, ids)
            await chain.node.mine(1)
            await asyncio.sleep(0.1)
    finally:
        for process in signers:
            await stop(process)

    for index in range(WITHDRAWALS):
        assert await transfers_to(chain, destination(index)) == 1
        assert await chain.token.balance_of(destination(index)) == units("39", 6)
    async with platform.db.read() as session:
        payouts = list(
            await session.scalars(
                select(ChainTransaction.nonce).where(ChainTransaction.kind == "payout")
            )
        )
    assert sorted(payouts) == list(range(WITHDRAWALS))
    assert await chain.node.w3.eth.get_transaction_count(HOT) == WITHDRAWALS
    assert await invariant_problems(platform.db) == []
