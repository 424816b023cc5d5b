"""The signer against real anvil nodes: payouts, failures, crashes, sweeps, reconciliation."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import pytest
from eth_utils.address import to_checksum_address
from sqlalchemy import select
from web3.types import TxParams, Wei

from miningtx.kit.clock import utcnow
from miningtx.ledger.accounts import Platform as Accounts
from miningtx.ledger.accounts import customer_available, treasury
from miningtx.models import ChainTransaction, Event, Withdrawal
from miningtx.wallet.keys import hot_wallet_address
from miningtx.wallet.reconcile import reconcile
from miningtx.wallet.signer import Keys
from tests import factories
from tests.chain.anvil import Chain, units
from tests.chain.platform import CONFIRMATIONS, Platform, running_platform
from tests.conftest import TEST_MNEMONIC, TEST_XPUB
from tests.factories import CustomerWithKey, balances, invariant_problems, simulate_none
from tests.servers import MTX, run_command, server_environment

pytestmark = pytest.mark.slow

DESTINATION = to_checksum_address("0x52908400098527886e0f7030069857d2e4169ee7")
ONE_ETH = 10**18
HOT = to_checksum_address(hot_wallet_address(TEST_XPUB))


@pytest.fixture
async def platform(database_url: str, bsc: Chain, polygon: Chain) -> AsyncIterator[Platform]:
    async with running_platform(database_url, bsc, polygon) as running:
        await bsc.node.set_balance(HOT, 10 * ONE_ETH)
        await polygon.node.set_balance(HOT, 10 * ONE_ETH)
        yield running


async def deposited(platform: Platform, network: str, amount: str) -> CustomerWithKey:
    """A KYC-verified customer whose on-chain deposit of `amount` is credited."""
    chain = platform.on(network)
    who = await platform.customer()
    await platform.verify_kyc(who)
    address = await platform.deposit_address(who, network)
    await chain.token.mint(address, units(amount, chain.token.decimals))
    await chain.node.mine(CONFIRMATIONS)
    await platform.watch()
    return who


async def approved_withdrawal(
    platform: Platform, who: CustomerWithKey, network: str, amount: str
) -> str:
    answer = await platform.client.post(
        "/v1/withdrawals",
        json={"amount": amount, "network": network, "address": DESTINATION},
        headers=who.auth,
    )
    assert answer.status_code == 200, answer.text
    withdrawal_id: str = answer.json()["id"]
    async with platform.db.write() as session:
        await factories.approve_withdrawal(
            session, withdrawal_id, utcnow(), simulates=simulate_none
        )
    return withdrawal_id


async def withdrawal(platform: Platform, withdrawal_id: str) -> Withdrawal:
    async with platform.db.read() as session:
        found = await session.scalar(select(Withdrawal).where(Withdrawal.id == withdrawal_id))
        assert found is not None
        return found


async def transfers_to(chain: Chain, address: str) -> int:
    logs = await chain.token.transfer_logs(0, await chain.node.head())
    target = bytes.fromhex(address[2:].lower())
    return sum(1 for log in logs if bytes(log["topics"][2])[-20:] == target)


async def events(platform: Platform, event_type: str) -> list[Event]:
    async with platform.db.read() as session:
        return list(await session.scalars(select(Event).where(Event.type == event_type)))


@pytest.mark.parametrize("network", ["bsc", "polygon"])
async def test_an_approved_withdrawal_arrives_on_chain_and_is_processed(
    platform: Platform, network: str
) -> None:
    chain = platform.on(network)
    alice = await deposited(platform, network, "100")
    await chain.token.mint(HOT, units("1000", chain.token.decimals))
    withdrawal_id = await approved_withdrawal(platform, alice, network, "50.25")

    assert await platform.signer().run_round() >= 1
    sent = await withdrawal(platform, withdrawal_id)
    assert sent.status == "broadcast"
    assert sent.tx_hash is not None
    # net = 50.25 - 1.00 fee, in the token's own units
    assert await chain.token.balance_of(DESTINATION) == units("49.25", chain.token.decimals)

    await chain.node.mine(CONFIRMATIONS)
    await platform.signer().run_round()
    done = await withdrawal(platform, withdrawal_id)
    assert done.status == "processed"
    assert await transfers_to(chain, DESTINATION) == 1
    [event] = await events(platform, "withdrawal.processed")
    assert event.data["id"] == withdrawal_id
    held = await balances(platform.db, customer_available(alice.id), treasury(network))
    assert held == {customer_available(alice.id): 49_750000, treasury(network): -50_750000}
    assert await invariant_problems(platform.db) == []
    [custody] = [c for c in await reconcile(platform.db, platform.settings) if c.network == network]
    # The hot wallet's own 1000 USDT were minted behind the books: exactly that differs.
    assert custody.difference == units("1000", chain.token.decimals)


async def test_a_transfer_the_chain_refuses_fails_and_returns_the_funds(
    platform: Platform,
) -> None:
    chain = platform.polygon
    alice = await deposited(platform, "polygon", "80")
    await chain.token.mint(HOT, units("500", 6))  # the hot wallet could pay it ...
    withdrawal_id = await approved_withdrawal(platform, alice, "polygon", "30")
    # ... but the token refuses transfers to the destination (as Tether's USDT can).
    owner: TxParams = {"from": chain.token.deployer.address}
    await chain.token.contract.functions.setBlocked(DESTINATION, True).transact(owner)

    await platform.signer().run_round()
    failed = await withdrawal(platform, withdrawal_id)
    assert failed.status == "failed"
    assert failed.failure_reason is not None
    assert "revert" in failed.failure_reason
    account = customer_available(alice.id)
    assert (await balances(platform.db, account))[account] == 80_000000
    assert [e.data["id"] for e in await events(platform, "withdrawal.failed")] == [withdrawal_id]
    assert await transfers_to(platform.polygon, DESTINATION) == 0
    assert await chain.token.balance_of(HOT) == units("500", 6)
    assert await invariant_problems(platform.db) == []


async def test_a_transfer_reverted_on_chain_fails_and_returns_the_funds(
    platform: Platform,
) -> None:
    chain = platform.bsc
    alice = await deposited(platform, "bsc", "80")
    await chain.token.mint(HOT, units("30", 18))
    withdrawal_id = await approved_withdrawal(platform, alice, "bsc", "30")
    await chain.node.set_automine(False)
    await platform.signer().run_round()
    assert (await withdrawal(platform, withdrawal_id)).status == "broadcast"

    # Before the payout is mined, the token blocks the destination (as Tether's USDT can;
    # a higher gas price puts that first in the block): the payout reverts on-chain.
    blocking: TxParams = {"from": chain.token.deployer.address, "gasPrice": Wei(10**12)}
    await chain.token.contract.functions.setBlocked(DESTINATION, True).transact(blocking)
    await chain.node.mine(1)
    await chain.node.set_automine(True)
    await chain.node.mine(CONFIRMATIONS)
    await platform.signer().run_round()

    failed = await withdrawal(platform, withdrawal_id)
    assert failed.status == "failed"
    assert "reverted on-chain" in (failed.failure_reason or "")
    account = customer_available(alice.id)
    assert (await balances(platform.db, account))[account] == 80_000000
    async with platform.db.read() as session:
        [tx] = list(await session.scalars(select(ChainTransaction)))
    assert tx.status == "reverted"


async def test_deposit_addresses_are_swept_into_the_hot_wallet(platform: Platform) -> None:
    chain = platform.bsc
    alice = await deposited(platform, "bsc", "150.5")
    small = await deposited(platform, "bsc", "20")  # below the 100.00 sweep threshold
    address = await platform.deposit_address(alice)

    await platform.signer().run_round()  # the address has no gas: the hot wallet tops it up
    assert await chain.node.w3.eth.get_balance(to_checksum_address(address)) > 0
    await chain.node.mine(CONFIRMATIONS)
    await platform.signer().run_round()  # the gas is final; now the sweep
    await chain.node.mine(CONFIRMATIONS)
    await platform.signer().run_round()

    assert await chain.token.balance_of(address) == 0
    assert await chain.token.balance_of(HOT) == units("150.5", 18)
    assert await chain.token.balance_of(await platform.deposit_address(small)) == units("20", 18)
    async with platform.db.read() as session:
        kinds = sorted(
            (tx.kind, tx.status) for tx in await session.scalars(select(ChainTransaction))
        )
    assert kinds == [("gas", "confirmed"), ("sweep", "confirmed")]
    custody = {c.network: c for c in await reconcile(platform.db, platform.settings)}
    assert custody["bsc"].matches
    assert custody["bsc"].on_chain == units("170.5", 18)


async def solvency(platform: Platform) -> tuple[int, dict[str, object]]:
    bsc, polygon = platform.bsc, platform.polygon
    environment = server_environment(
        platform.settings.database_url,
        {
            "MTX_CHAIN_BSC_RPC_URL": bsc.node.rpc_url,
            "MTX_CHAIN_BSC_USDT_ADDRESS": bsc.token.address,
            "MTX_CHAIN_BSC_CONFIRMATIONS": str(CONFIRMATIONS),
            "MTX_CHAIN_POLYGON_RPC_URL": polygon.node.rpc_url,
            "MTX_CHAIN_POLYGON_USDT_ADDRESS": polygon.token.address,
            "MTX_CHAIN_POLYGON_CONFIRMATIONS": str(CONFIRMATIONS),
        },
    )
    code, out, err = await run_command(str(MTX), "solvency", "--json", env=environment)
    assert out, err
    report: dict[str, object] = json.loads(out)
    return code, report


async def test_solvency_matches_the_chain_until_tokens_leave_behind_its_back(
    platform: Platform,
) -> None:
    bsc, polygon = platform.bsc, platform.polygon
    alice = await deposited(platform, "bsc", "12.123456789")
    bob = await deposited(platform, "polygon", "300")
    # The operator funds the platform through the funding address; the signer sweeps
    # it into the hot wallet (gas first), which then pays bob's withdrawal.
    await polygon.token.mint(Keys(TEST_MNEMONIC).funding().address, units("500", 6))
    await polygon.node.mine(CONFIRMATIONS)
    await platform.watch()
    for _ in range(3):
        await platform.signer().run_round()
        await polygon.node.mine(CONFIRMATIONS)
    assert await polygon.token.balance_of(HOT) == units("800", 6)  # bob's 300 swept too
    withdrawal_id = await approved_withdrawal(platform, bob, "polygon", "100")
    await platform.signer().run_round()
    await polygon.node.mine(CONFIRMATIONS)
    await platform.signer().run_round()
    assert (await withdrawal(platform, withdrawal_id)).status == "processed"

    code, report = await solvency(platform)
    chains = {c["network"]: c for c in report["chains"]}  # type: ignore[attr-defined]
    assert chains["bsc"]["matches"] is True
    assert chains["bsc"]["sub_micro_dust"] == "0.000000789"
    assert chains["polygon"]["matches"] is True
    assert code == 0, report["problems"]

    # Someone with the deposit address's key moves USDT out behind the platform's back.
    address = await platform.deposit_address(alice)
    await bsc.node.set_balance(address, ONE_ETH)
    index_key = Keys(TEST_MNEMONIC).deposit(await _index(platform, address)).key
    await bsc.token.transfer_from_key(bytes(index_key), DESTINATION, units("5", 18))

    code, report = await solvency(platform)
    chains = {c["network"]: c for c in report["chains"]}  # type: ignore[attr-defined]
    assert code == 1
    assert chains["bsc"]["matches"] is False
    assert chains["bsc"]["difference"] == "-5.00"
    assert any("bsc: on-chain USDT" in p for p in report["problems"])  # type: ignore[attr-defined]
    assert chains["polygon"]["matches"] is True
    assert (await balances(platform.db, Accounts.OPERATOR_FUNDS))[Accounts.OPERATOR_FUNDS] == (
        500_000000
    )


async def _index(platform: Platform, address: str) -> int:
    from miningtx.models import DepositAddress  # noqa: PLC0415

    async with platform.db.read() as session:
        index = await session.scalar(
            select(DepositAddress.derivation_index).where(DepositAddress.address == address)
        )
    assert index is not None
    return int(index)


async def test_deposits_not_yet_credited_and_payouts_not_yet_final_still_reconcile(
    platform: Platform,
) -> None:
    polygon = platform.polygon
    bob = await deposited(platform, "polygon", "300")
    for _ in range(3):  # gas to bob's address, then his 300 swept into the hot wallet
        await platform.signer().run_round()
        await polygon.node.mine(CONFIRMATIONS)
    assert await polygon.token.balance_of(HOT) == units("300", 6)
    # Below the 10.00 minimum: final, recorded, never credited.
    small = await platform.customer()
    await polygon.token.mint(await platform.deposit_address(small, "polygon"), units("9.5", 6))
    await polygon.node.mine(CONFIRMATIONS)
    await platform.watch()
    # A payout the signer sent: mined, not yet final.
    withdrawal_id = await approved_withdrawal(platform, bob, "polygon", "100")
    await platform.signer().run_round()
    async with platform.db.read() as session:
        [payout] = await session.scalars(
            select(ChainTransaction).where(ChainTransaction.kind == "payout")
        )
    mined = await polygon.node.receipt(bytes.fromhex(payout.tx_hash.removeprefix("0x")))
    assert mined["status"] == 1
    # A deposit seen in the last block: pending, not credited yet.
    late = await platform.customer()
    await polygon.token.mint(await platform.deposit_address(late, "polygon"), units("40", 6))
    await platform.watch()

    statuses = sorted(d.status for d in await platform.deposits("polygon"))
    custody = {c.network: c for c in await reconcile(platform.db, platform.settings)}

    assert statuses == ["below_minimum", "confirmed", "pending"]
    assert (await withdrawal(platform, withdrawal_id)).status == "broadcast"  # not final yet
    assert custody["polygon"].not_credited == units("49.5", 6)
    assert custody["polygon"].mined_payouts == int(payout.value) > 0
    assert custody["polygon"].ledger == 300_000000  # the payout leaves the books once final
    assert custody["polygon"].difference == 0
    assert custody["polygon"].matches
