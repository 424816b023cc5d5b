"""`mtx signer run` processes SIGKILLed where it hurts: after a payout is recorded, before
and after it is sent. Each kill lands at a point the test observed: the signer froze at
its pause point (`MTX_SIGNER_TEST_PAUSE`, sandbox only), the test checked the database
and the node at that instant, then killed it. Every withdrawal is paid exactly once."""

from __future__ import annotations

from collections import deque
from pathlib import Path
from typing import Any

import pytest
from eth_utils.address import to_checksum_address
from sqlalchemy import select

from miningtx.models import ChainTransaction, Event, Withdrawal
from miningtx.wallet.keys import hot_wallet_address
from miningtx.wallet.signer import PAUSE_VARIABLE
from tests.chain.anvil import Chain, units
from tests.chain.platform import CONFIRMATIONS, Platform, running_platform
from tests.chain.test_signer import DESTINATION, approved_withdrawal, deposited, transfers_to
from tests.conftest import TEST_MNEMONIC, TEST_XPUB
from tests.factories import invariant_problems
from tests.processes import Background, background, eventually, start
from tests.servers import server_environment

pytestmark = pytest.mark.slow

HOT = to_checksum_address(hot_wallet_address(TEST_XPUB))
WITHDRAWALS = 6
#: Where each successive signer process is frozen and killed: one payout each.
KILL_POINTS = ["recorded", "sent"] * (WITHDRAWALS // 2)


@pytest.fixture
async def platform(database_url: str, bsc: Chain, polygon: Chain) -> Any:
    async with running_platform(database_url, bsc, polygon) as running:
        await polygon.node.set_balance(HOT, 10 * 10**18)
        yield running


def destination(index: int) -> str:
    return to_checksum_address(f"0x{index + 1:040x}".replace("0x0", "0xa", 1))


def signer_environment(platform: Platform, pause: str | None) -> dict[str, str]:
    polygon, bsc = platform.polygon, platform.bsc
    return server_environment(
        platform.settings.database_url,
        {
            "MTX_SIGNER_MNEMONIC": TEST_MNEMONIC,
            "MTX_LOG_LEVEL": "INFO",
            "MTX_WORKER_INTERVAL": "0.05",
            "MTX_SWEEP_THRESHOLD": "1000000.00",  # payouts only
            "MTX_CHAIN_BSC_RPC_URL": bsc.node.rpc_url,
            "MTX_CHAIN_BSC_USDT_ADDRESS": bsc.token.address,
            "MTX_CHAIN_BSC_CONFIRMATIONS": str(CONFIRMATIONS),
            "MTX_CHAIN_POLYGON_RPC_URL": polygon.node.rpc_url,
            "MTX_CHAIN_POLYGON_USDT_ADDRESS": polygon.token.address,
            "MTX_CHAIN_POLYGON_CONFIRMATIONS": str(CONFIRMATIONS),
        }
        | ({PAUSE_VARIABLE: pause} if pause else {}),
    )


async def start_signer(platform: Platform, folder: Path, pause: str | None) -> Background:
    return await start(
        "signer", "run", env=signer_environment(platform, pause), folder=folder, name="signer"
    )


async def payout_of(platform: Platform, withdrawal_id: str) -> tuple[Withdrawal, ChainTransaction]:
    async with platform.db.read() as session:
        found = await session.scalar(select(Withdrawal).where(Withdrawal.id == withdrawal_id))
        assert found is not None
        tx = await session.scalar(
            select(ChainTransaction).where(ChainTransaction.withdrawal_seq == found.seq)
        )
        assert tx is not None, "the payout is not recorded"
        return found, tx


async def node_knows(chain: Chain, tx_hash: str) -> bool:
    return await chain.node.rpc("eth_getTransactionByHash", tx_hash) is not None


def sent_by(signer: Background, tx_hash: str) -> int:
    """How often this signer process logged sending `tx_hash`."""
    return sum(1 for line in signer.lines("chain_tx_sent") if line["tx_hash"] == tx_hash)


async def assert_kill_point(
    platform: Platform, signer: Background, marker: dict[str, Any], step: str
) -> None:
    """At the instant of the kill: the payout the frozen signer names is recorded (signed,
    the withdrawal `broadcast` with its hash, not yet processed), and this signer sent it
    exactly when the step says it did."""
    assert marker["hook"] == PAUSE_VARIABLE
    assert marker["step"] == step
    withdrawal, tx = await payout_of(platform, marker["withdrawal"])
    assert (tx.tx_hash, tx.status, tx.kind) == (marker["tx_hash"], "signed", "payout")
    assert (withdrawal.status, withdrawal.tx_hash) == ("broadcast", marker["tx_hash"])
    assert sent_by(signer, marker["tx_hash"]) == (1 if step == "sent" else 0)
    if step == "sent":
        assert await node_knows(platform.polygon, marker["tx_hash"])


@pytest.mark.timeout(400)
@pytest.mark.parametrize("step", ["recorded", "sent"])
async def test_a_signer_killed_after_recording_a_payout_pays_it_exactly_once(
    platform: Platform, tmp_path: Path, step: str
) -> None:
    chain = platform.polygon
    alice = await deposited(platform, "polygon", "90")
    await chain.token.mint(HOT, units("500", 6))
    withdrawal_id = await approved_withdrawal(platform, alice, "polygon", "40")

    async with background(
        "signer", "run", env=signer_environment(platform, step), folder=tmp_path, name="signer"
    ) as signer:
        marker = await signer.wait_paused()
        assert marker["withdrawal"] == withdrawal_id
        await assert_kill_point(platform, signer, marker, step)
        # Recorded, not sent: nothing of it is anywhere on the node yet.
        assert await node_knows(chain, marker["tx_hash"]) == (step == "sent")
        assert await transfers_to(chain, DESTINATION) == (1 if step == "sent" else 0)
        await signer.kill()

    async with background(
        "signer", "run", env=signer_environment(platform, None), folder=tmp_path, name="signer"
    ) as again:

        async def processed() -> bool:
            await chain.node.mine(1)
            withdrawal, _ = await payout_of(platform, withdrawal_id)
            return withdrawal.status == "processed"

        await eventually(processed, "the withdrawal is processed")
        # The same bytes went out again only when the first signer never sent them.
        assert sent_by(again, marker["tx_hash"]) == (0 if step == "sent" else 1)

    done, tx = await payout_of(platform, withdrawal_id)
    assert (done.tx_hash, tx.tx_hash, tx.status) == (marker["tx_hash"],) * 2 + ("confirmed",)
    assert await transfers_to(chain, DESTINATION) == 1
    assert await chain.token.balance_of(DESTINATION) == units("39", 6)
    assert await chain.node.w3.eth.get_transaction_count(HOT) == 1
    async with platform.db.read() as session:
        processed_events = list(
            await session.scalars(select(Event).where(Event.type == "withdrawal.processed"))
        )
    assert [event.data["id"] for event in processed_events] == [withdrawal_id]
    assert await invariant_problems(platform.db) == []


async def statuses(platform: Platform, ids: list[str]) -> list[str]:
    async with platform.db.read() as session:
        found = await session.scalars(select(Withdrawal.status).where(Withdrawal.id.in_(ids)))
        return sorted(found)


@pytest.mark.timeout(600)
async def test_two_signers_killed_at_every_payout_pay_each_withdrawal_exactly_once(
    platform: Platform, tmp_path: Path
) -> None:
    """Two signers run at once; each process freezes at its first payout (recorded, or
    sent) and is killed there, then replaced, until every payout has been a kill point.
    The other signer meanwhile sends what a frozen one recorded but never sent."""
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

    points = deque(KILL_POINTS)
    # Until the last kill only signers that will freeze run, so every payout, each
    # recorded by exactly one process, freezes the process that recorded it.
    signers: list[Background | None] = []
    steps: list[str] = []
    for _ in range(2):
        steps.append(points.popleft())
        signers.append(await start_signer(platform, tmp_path, steps[-1]))
    kills: list[tuple[str, str]] = []
    try:
        while len(kills) < len(KILL_POINTS):

            async def frozen() -> tuple[int, dict[str, Any]] | None:
                for slot, signer in enumerate(signers):
                    if signer is not None and (marker := signer.paused()) is not None:
                        return slot, marker
                    assert signer is None or signer.process.returncode is None, signer.log()
                return None

            slot, marker = await eventually(frozen, f"kill {len(kills) + 1} is reached")
            victim = signers[slot]
            assert victim is not None
            await assert_kill_point(platform, victim, marker, steps[slot])
            await victim.kill()
            kills.append((marker["step"], marker["tx_hash"]))
            signers[slot] = None
            if points:
                steps[slot] = points.popleft()
                signers[slot] = await start_signer(platform, tmp_path, steps[slot])
        assert not any(signers)
        signers = [await start_signer(platform, tmp_path, None) for _ in range(2)]

        async def all_processed() -> bool:
            await chain.node.mine(1)
            return await statuses(platform, ids) == ["processed"] * WITHDRAWALS

        await eventually(all_processed, "every withdrawal is processed")
    finally:
        for signer in signers:
            if signer is not None:
                await signer.close()

    assert sorted(step for step, _ in kills) == sorted(KILL_POINTS)
    async with platform.db.read() as reading:
        payouts = list(
            await reading.execute(
                select(ChainTransaction.nonce, ChainTransaction.tx_hash, ChainTransaction.status)
                .where(ChainTransaction.kind == "payout")
                .order_by(ChainTransaction.nonce)
            )
        )
    # Every payout was a kill point, and the transaction that paid it is the one killed.
    assert sorted(tx_hash for _, tx_hash, _ in payouts) == sorted(h for _, h in kills)
    assert [(nonce, status) for nonce, _, status in payouts] == [
        (nonce, "confirmed") for nonce in range(WITHDRAWALS)
    ]
    for index in range(WITHDRAWALS):
        assert await transfers_to(chain, destination(index)) == 1
        assert await chain.token.balance_of(destination(index)) == units("39", 6)
    assert await chain.node.w3.eth.get_transaction_count(HOT) == WITHDRAWALS
    assert await invariant_problems(platform.db) == []
