"""The chain harness itself: real anvil nodes, the test token and the reorg tools work."""

from __future__ import annotations

import asyncio

import pytest
from eth_account import Account
from web3.exceptions import ContractLogicError, TransactionNotFound, Web3RPCError

from tests.chain.anvil import (
    TRANSFER_GAS,
    Chain,
    dev_accounts,
    running_anvil,
    units,
)
from tests.chain.conftest import BSC_CHAIN_ID

pytestmark = pytest.mark.slow

#: Dev accounts 1..3 hold native coin (for gas) but, at the start of every test, no tokens.
ALICE, BOB, CAROL = dev_accounts()[1:4]
ONE_ETHER = 10**18


async def test_networks_report_their_chain_ids_and_token_decimals(
    bsc: Chain, polygon: Chain
) -> None:
    for network, chain_id, decimals in ((bsc, 56, 18), (polygon, 137, 6)):
        assert network.node.chain_id == chain_id
        assert await network.node.w3.eth.chain_id == chain_id
        assert network.token.decimals == decimals
        functions = network.token.contract.functions
        assert await functions.decimals().call() == decimals
        assert await functions.symbol().call() == "USDT"
        assert await functions.totalSupply().call() == 0


def test_units_converts_decimal_strings_exactly() -> None:
    assert units("1.123456789", 18) == 1_123_456_789_000_000_000
    assert units("1.123456", 6) == 1_123_456
    assert units("250", 6) == 250_000_000
    assert units("0.000000000000000001", 18) == 1
    assert (
        units("123456789012345678901234567890.5", 18)
        == 123456789012345678901234567890 * 10**18 + 5 * 10**17
    )
    for refused in ("1.1234567", "-1", "1e3", "1.", ".5", " 1", ""):
        with pytest.raises(ValueError, match=r"decimal|fractional"):
            units(refused, 6)


async def test_mint_and_transfer_move_exact_raw_amounts(chain: Chain) -> None:
    token, decimals = chain.token, chain.token.decimals
    minted = units("1000.5", decimals) + 1  # down to the smallest unit
    sent = units("1.123456", decimals) + 1
    assert await token.balance_of(ALICE.address) == 0

    await token.mint(ALICE.address, minted)
    tx_hash = await token.transfer_from_key(ALICE.private_key, BOB.address, sent)
    receipt = await chain.node.receipt(tx_hash)

    assert receipt["status"] == 1
    assert await token.balance_of(ALICE.address) == minted - sent
    assert await token.balance_of(BOB.address) == sent
    assert await token.contract.functions.totalSupply().call() == minted
    [log] = await token.transfer_logs(receipt["blockNumber"], receipt["blockNumber"])
    [event] = token.contract.events.Transfer().process_receipt(receipt)
    assert log["transactionHash"] == tx_hash
    assert event["args"] == {"sender": ALICE.address, "receiver": BOB.address, "value": sent}


async def test_transfer_from_a_non_holder_reverts(chain: Chain) -> None:
    """How web3 shows a revert depends on who picks the gas.

    Gas estimated (the default): web3 raises ContractLogicError before anything is sent.
    Gas given: the transaction is mined with receipt status 0 and no Transfer log.
    """
    token = chain.token
    with pytest.raises(ContractLogicError, match="insufficient balance"):
        await token.transfer_from_key(ALICE.private_key, BOB.address, 1)

    tx_hash = await token.transfer_from_key(ALICE.private_key, BOB.address, 1, gas=TRANSFER_GAS)
    receipt = await chain.node.receipt(tx_hash)

    assert receipt["status"] == 0
    assert receipt["logs"] == []
    assert await token.balance_of(BOB.address) == 0


async def test_tokens_leave_an_address_behind_the_platforms_back(bsc: Chain) -> None:
    """A key that is not a dev account (say, a deposit address) moves tokens once it has gas."""
    node, token = bsc.node, bsc.token
    deposit = Account.create()
    amount = units("5", token.decimals)
    await token.mint(deposit.address, amount)
    await node.set_balance(deposit.address, ONE_ETHER)
    assert await node.w3.eth.get_balance(deposit.address) == ONE_ETHER

    await node.receipt(await token.transfer_from_key(deposit.key, CAROL.address, 2))
    await node.receipt(await token.transfer_impersonated(deposit.address, CAROL.address, 3))

    assert await token.balance_of(deposit.address) == amount - 5
    assert await token.balance_of(CAROL.address) == 5


async def test_automine_off_holds_transactions_until_mined(bsc: Chain) -> None:
    node, token = bsc.node, bsc.token
    await token.mint(ALICE.address, 10)
    start = await node.head()

    await node.set_automine(False)
    tx_hash = await token.transfer_from_key(ALICE.private_key, BOB.address, 4)
    with pytest.raises(TransactionNotFound):
        await node.w3.eth.get_transaction_receipt(tx_hash)
    await node.mine(3)

    assert await node.head() == start + 3
    assert (await node.w3.eth.get_transaction_receipt(tx_hash))["blockNumber"] == start + 1
    assert await token.balance_of(BOB.address) == 4


async def test_revert_to_a_snapshot_removes_a_mined_transfer_and_its_log(chain: Chain) -> None:
    node, token = chain.node, chain.token
    await token.mint(ALICE.address, 100)
    before = await node.head()
    snapshot_id = await node.snapshot()
    await node.receipt(await token.transfer_from_key(ALICE.private_key, BOB.address, 60))
    await node.mine(2)
    assert len(await token.transfer_logs(before + 1, before + 3)) == 1

    await node.revert(snapshot_id)

    assert await node.head() == before
    # Anvil refuses a log range past its head rather than returning what exists.
    with pytest.raises(Web3RPCError, match="BlockOutOfRange"):
        await token.transfer_logs(before + 1, before + 3)
    await node.mine(3)
    assert await token.transfer_logs(before + 1, before + 3) == []
    assert await token.balance_of(BOB.address) == 0
    assert await token.balance_of(ALICE.address) == 100


async def test_reorg_replaces_the_last_blocks_and_drops_their_transfers(chain: Chain) -> None:
    node, token = chain.node, chain.token
    await token.mint(ALICE.address, 100)
    tx_hash = await token.transfer_from_key(ALICE.private_key, BOB.address, 60)
    height = (await node.receipt(tx_hash))["blockNumber"]
    await node.mine(2)  # the transfer has 3 confirmations
    head = await node.head()
    old_hashes = [(await node.w3.eth.get_block(n))["hash"] for n in range(height - 1, head + 1)]

    await node.reorg(3)

    assert await node.head() == head
    new_hashes = [(await node.w3.eth.get_block(n))["hash"] for n in range(height - 1, head + 1)]
    assert new_hashes[0] == old_hashes[0]  # the block below the reorg stays
    assert all(new != old for new, old in zip(new_hashes[1:], old_hashes[1:], strict=True))
    assert await token.transfer_logs(height, head) == []
    with pytest.raises(TransactionNotFound):  # not re-queued either: anvil drops it
        await node.w3.eth.get_transaction_receipt(tx_hash)
    assert await token.balance_of(BOB.address) == 0


async def test_reorg_can_move_a_transfer_to_a_later_block(bsc: Chain) -> None:
    node, token = bsc.node, bsc.token
    await token.mint(ALICE.address, 100)
    raw = await token.sign_transfer(ALICE.private_key, BOB.address, 60)
    tx_hash = await node.w3.eth.send_raw_transaction(raw)
    height = (await node.receipt(tx_hash))["blockNumber"]
    await node.mine(2)

    await node.reorg(3, [(raw, 2)])  # offset 2 of the 3 new blocks: height + 2

    [log] = await token.transfer_logs(height, height + 2)
    assert log["transactionHash"] == tx_hash
    assert log["blockNumber"] == height + 2
    assert await token.balance_of(BOB.address) == 60


async def test_interval_mining_advances_without_transactions() -> None:
    async with running_anvil(BSC_CHAIN_ID, block_time=0.1) as node:
        start = await node.head()
        await asyncio.sleep(0.35)
        assert await node.head() > start
