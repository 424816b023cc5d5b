"""The node goes away while `mtx worker` and `mtx signer run` are running, then comes back.

The test's own BSC anvil (not the session's shared node) is frozen with SIGSTOP: a hung
node that still accepts connections and never answers, its chain state intact. Each
JSON-RPC request then times out (`RPC_TIMEOUT`), so the watcher logs `chain_unreachable`
and the signer `signer_chain_unreachable`, one line per round, no traceback, and both go
on. Meanwhile the worker's other jobs still run (a webhook is delivered), the API still
answers, and nothing is credited, paid or failed. After SIGCONT the pending deposit is
credited exactly once and the approved withdrawal paid exactly once (amount - fee).
"""

from __future__ import annotations

import os
import signal
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

import httpx
import pytest
from eth_utils.address import to_checksum_address
from sqlalchemy import select

from miningtx.kit.clock import utcnow
from miningtx.ledger.accounts import customer_available
from miningtx.models import ChainTransaction, Event, Withdrawal
from miningtx.wallet.chain import RPC_TIMEOUT
from miningtx.wallet.keys import hot_wallet_address
from miningtx.webhooks import service as webhooks
from tests.chain.anvil import AnvilNode, Chain, deploy_token, running_anvil, units
from tests.chain.conftest import BSC_CHAIN_ID, BSC_DECIMALS, require_anvil
from tests.chain.platform import CONFIRMATIONS, Platform, running_platform
from tests.chain.test_signer import DESTINATION, approved_withdrawal, deposited, transfers_to
from tests.conftest import TEST_MNEMONIC, TEST_XPUB
from tests.factories import balances, invariant_problems
from tests.processes import Background, background, eventually
from tests.servers import server_environment
from tests.webhooks.factories import emit
from tests.webhooks.receiver import Receiver, running_receiver

pytestmark = pytest.mark.slow

HOT = to_checksum_address(hot_wallet_address(TEST_XPUB))
#: Rounds of each process that must log the outage while the node is frozen.
OUTAGE_ROUNDS = 2
#: A bound on seeing those rounds: each waits for at most a few timed-out requests.
OUTAGE_WITHIN = 6 * RPC_TIMEOUT * OUTAGE_ROUNDS
BLOCK_NUMBER = {"jsonrpc": "2.0", "id": 1, "method": "eth_blockNumber", "params": []}


@pytest.fixture
async def own_bsc() -> AsyncIterator[Chain]:
    """A BSC anvil of this test alone: freezing it cannot disturb any other test."""
    require_anvil()
    async with running_anvil(BSC_CHAIN_ID) as node:
        yield Chain(node, await deploy_token(node, BSC_DECIMALS))


@pytest.fixture
async def platform(database_url: str, own_bsc: Chain, polygon: Chain) -> AsyncIterator[Platform]:
    # The processes below run BSC only; polygon is configured for the in-process platform.
    async with running_platform(database_url, own_bsc, polygon) as running:
        await own_bsc.node.set_balance(HOT, 10 * 10**18)
        await own_bsc.token.mint(HOT, units("500", BSC_DECIMALS))
        yield running


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with running_receiver() as running:
        yield running


@contextmanager
def frozen(node: AnvilNode) -> Iterator[None]:
    """SIGSTOP the node's process group (the npm wrapper and anvil); SIGCONT on exit."""
    os.killpg(node.process.pid, signal.SIGSTOP)
    try:
        yield
    finally:
        with suppress(ProcessLookupError):
            os.killpg(node.process.pid, signal.SIGCONT)


def environment(platform: Platform) -> dict[str, str]:
    bsc = platform.bsc
    return server_environment(
        platform.settings.database_url,
        {
            "MTX_LOG_LEVEL": "INFO",
            "MTX_WORKER_INTERVAL": "0.05",
            "MTX_SIGNER_MNEMONIC": TEST_MNEMONIC,
            "MTX_SWEEP_THRESHOLD": "1000000.00",  # payouts only
            "MTX_WEBHOOKS_ALLOW_PRIVATE_TARGETS": "true",
            "MTX_CHAIN_BSC_RPC_URL": bsc.node.rpc_url,
            "MTX_CHAIN_BSC_USDT_ADDRESS": bsc.token.address,
            "MTX_CHAIN_BSC_CONFIRMATIONS": str(CONFIRMATIONS),
            "MTX_CHAIN_BSC_START_BLOCK": "0",
        },
    )


def outage_lines(process: Background, event: str) -> list[dict[str, Any]]:
    return [line for line in process.lines(event) if line.get("network") == "bsc"]


def assert_no_traceback(process: Background) -> None:
    text = process.log()
    assert "Traceback" not in text, text
    assert not process.lines("worker_job_failed"), text


async def withdrawal_state(platform: Platform, withdrawal_id: str) -> tuple[str, str | None]:
    async with platform.db.read() as session:
        found = await session.scalar(select(Withdrawal).where(Withdrawal.id == withdrawal_id))
        assert found is not None
        return found.status, found.tx_hash


async def payouts(platform: Platform) -> list[tuple[str, str]]:
    async with platform.db.read() as session:
        rows = await session.execute(
            select(ChainTransaction.tx_hash, ChainTransaction.status).where(
                ChainTransaction.kind == "payout"
            )
        )
        return [(tx_hash, status) for tx_hash, status in rows]


async def deposit_state(platform: Platform, address: str) -> list[tuple[str, int]]:
    return [(d.status, d.amount) for d in await platform.deposits("bsc") if d.address == address]


async def events_of(platform: Platform, event_type: str) -> list[str]:
    async with platform.db.read() as session:
        found = await session.scalars(select(Event).where(Event.type == event_type))
        return sorted(event.data["id"] for event in found)


@pytest.mark.timeout(600)
async def test_a_node_that_hangs_and_comes_back_credits_and_pays_exactly_once(
    platform: Platform, own_bsc: Chain, receiver: Receiver, tmp_path: Path
) -> None:
    chain = own_bsc
    alice = await deposited(platform, "bsc", "90")  # credited in-process: 90.00
    async with platform.db.write() as session:
        await webhooks.create_endpoint(session, alice.seq, receiver.url, ["*"], utcnow())
    bob = await platform.customer()
    bob_address = await platform.deposit_address(bob, "bsc")
    await chain.token.mint(bob_address, units("250.5", BSC_DECIMALS))  # 1 of 3 blocks

    env = environment(platform)
    async with (
        background("worker", env=env, folder=tmp_path, name="worker") as worker,
        background("signer", "run", env=env, folder=tmp_path, name="signer") as signer,
    ):
        # Both work against the live node first: bob's deposit is seen, not final yet.
        async def seen() -> bool:
            return await deposit_state(platform, bob_address) == [("pending", 250_500000)]

        await eventually(seen, "the worker records bob's deposit as pending")

        async def signer_ran() -> bool:
            return bool(signer.lines("signer_started"))

        await eventually(signer_ran, "the signer is running")
        assert not outage_lines(worker, "chain_unreachable")
        assert not outage_lines(signer, "signer_chain_unreachable")

        with frozen(chain.node):
            # While the node hangs: the API answers, a withdrawal is asked for and approved.
            withdrawal_id = await approved_withdrawal(platform, alice, "bsc", "40")
            answer = await platform.client.get(
                f"/v1/withdrawals/{withdrawal_id}", headers=alice.auth
            )
            assert answer.status_code == 200, answer.text
            assert answer.json()["status"] == "approved"
            hook = await emit(platform, alice, data={"during": "outage"})

            async def both_report_the_outage() -> bool:
                return (
                    len(outage_lines(worker, "chain_unreachable")) >= OUTAGE_ROUNDS
                    and len(outage_lines(signer, "signer_chain_unreachable")) >= OUTAGE_ROUNDS
                )

            await eventually(
                both_report_the_outage, "each process logs the outage", within=OUTAGE_WITHIN
            )

            # The worker's webhook job still runs between its chain rounds.
            async def delivered() -> bool:
                return any(hook.encode() in request.body for request in receiver.received)

            await eventually(delivered, "the webhook emitted during the outage arrives")

            # Nothing moved: bob's deposit pending, the withdrawal approved, nothing signed.
            assert await deposit_state(platform, bob_address) == [("pending", 250_500000)]
            assert await withdrawal_state(platform, withdrawal_id) == ("approved", None)
            assert await payouts(platform) == []
            assert await events_of(platform, "withdrawal.failed") == []
            for process in (worker, signer):
                assert process.process.returncode is None, process.log()
                assert_no_traceback(process)
            reported = [
                *outage_lines(worker, "chain_unreachable"),
                *outage_lines(signer, "signer_chain_unreachable"),
            ]
            assert all(line["level"] == "warning" for line in reported), reported
            # The node really hangs at this instant: it accepts, and never answers.
            with pytest.raises(httpx.TimeoutException):
                async with httpx.AsyncClient(timeout=1.0) as probe:
                    await probe.post(chain.node.rpc_url, json=BLOCK_NUMBER)

        # The node is back: its state survived the freeze.
        assert await chain.token.balance_of(bob_address) == units("250.5", BSC_DECIMALS)

        async def settled() -> bool:
            await chain.node.mine(1)
            status, _ = await withdrawal_state(platform, withdrawal_id)
            pending = await deposit_state(platform, bob_address)
            return status == "processed" and pending == [("confirmed", 250_500000)]

        await eventually(settled, "the deposit is credited and the withdrawal paid")
        for process in (worker, signer):
            assert_no_traceback(process)

    # Exactly once: one credit, one payout of amount - fee, one processed event.
    assert await deposit_state(platform, bob_address) == [("confirmed", 250_500000)]
    bob_deposits = [d.id for d in await platform.deposits("bsc") if d.address == bob_address]
    assert set(bob_deposits) <= set(await events_of(platform, "deposit.confirmed"))
    [(tx_hash, status)] = await payouts(platform)
    assert (status, (await withdrawal_state(platform, withdrawal_id))[1]) == ("confirmed", tx_hash)
    assert await transfers_to(chain, DESTINATION) == 1
    assert await chain.token.balance_of(DESTINATION) == units("39", BSC_DECIMALS)
    assert await chain.node.w3.eth.get_transaction_count(HOT) == 1
    assert await events_of(platform, "withdrawal.processed") == [withdrawal_id]
    assert await events_of(platform, "withdrawal.failed") == []
    assert await balances(
        platform.db, customer_available(alice.id), customer_available(bob.id)
    ) == {customer_available(alice.id): 50_000000, customer_available(bob.id): 250_500000}
    assert await invariant_problems(platform.db) == []
