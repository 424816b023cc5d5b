"""The chain watcher against real anvil nodes: deposits seen, confirmed once, reorgs."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from sqlalchemy import func, select

from miningtx.ledger.accounts import Platform as Accounts
from miningtx.ledger.accounts import customer_available, treasury
from miningtx.models import ChainCursor, Event
from miningtx.wallet.keys import funding_address
from tests.chain.anvil import Chain, units
from tests.chain.platform import CONFIRMATIONS, Platform, running_platform
from tests.factories import balances, invariant_problems

pytestmark = pytest.mark.slow


@pytest.fixture
async def platform(database_url: str, bsc: Chain, polygon: Chain) -> AsyncIterator[Platform]:
    async with running_platform(database_url, bsc, polygon) as running:
        yield running


async def confirmed_events(platform: Platform) -> list[Event]:
    async with platform.db.read() as session:
        return list(await session.scalars(select(Event).where(Event.type == "deposit.confirmed")))


@pytest.mark.parametrize(
    ("network", "sent", "credited"),
    [("bsc", "12.123456789", 12_123456), ("polygon", "25.5", 25_500000)],
)
async def test_a_deposit_waits_for_its_confirmations_and_is_credited_once(
    platform: Platform, network: str, sent: str, credited: int
) -> None:
    chain = platform.on(network)
    alice = await platform.customer()
    address = await platform.deposit_address(alice, network)

    tx_hash = await chain.token.mint(address, units(sent, chain.token.decimals))
    await platform.watch()

    [seen] = await platform.deposits(network)
    assert (seen.status, seen.confirmations, seen.amount) == ("pending", 1, credited)
    assert seen.tx_hash == tx_hash.to_0x_hex()
    assert seen.raw_amount == str(units(sent, chain.token.decimals))
    listed = (await platform.client.get("/v1/deposits", headers=alice.auth)).json()["data"]
    assert [(d["status"], d["confirmations"], d["credited_at"]) for d in listed] == [
        ("pending", 1, None)
    ]
    assert (await balances(platform.db, customer_available(alice.id)))[
        customer_available(alice.id)
    ] == 0

    await chain.node.mine(CONFIRMATIONS - 2)
    await platform.watch()
    [still] = await platform.deposits(network)
    assert (still.status, still.confirmations) == ("pending", CONFIRMATIONS - 1)

    await chain.node.mine(1)
    await platform.watch()
    await chain.node.mine(5)
    await platform.watch()
    await platform.watch()

    [final] = await platform.deposits(network)
    assert final.status == "confirmed"
    assert final.amount == credited
    account = customer_available(alice.id)
    held = await balances(platform.db, account, treasury(network))
    assert held == {account: credited, treasury(network): -credited}
    [event] = await confirmed_events(platform)
    assert event.data["id"] == final.id
    assert event.data["status"] == "confirmed"
    assert await invariant_problems(platform.db) == []


async def test_an_18_decimal_amount_is_truncated_to_the_micro_usdt(
    database_url: str, bsc: Chain, polygon: Chain
) -> None:
    async with running_platform(database_url, bsc, polygon, chain_bsc_min_deposit="1.00") as p:
        await _credit_one_dot_one_two_three(p)


async def _credit_one_dot_one_two_three(platform: Platform) -> None:
    alice = await platform.customer()
    address = await platform.deposit_address(alice)
    await platform.bsc.token.mint(address, units("1.123456789", 18))
    await platform.bsc.node.mine(CONFIRMATIONS)
    await platform.watch()

    balance = (await platform.client.get("/v1/balance", headers=alice.auth)).json()
    assert balance["available"] == "1.123456"
    [listed] = (await platform.client.get("/v1/deposits", headers=alice.auth)).json()["data"]
    assert (listed["amount"], listed["status"]) == ("1.123456", "confirmed")


async def test_a_deposit_below_the_minimum_is_recorded_not_credited(platform: Platform) -> None:
    alice = await platform.customer()
    address = await platform.deposit_address(alice, "polygon")
    await platform.polygon.token.mint(address, units("9.999999", 6))
    await platform.polygon.node.mine(CONFIRMATIONS)
    await platform.watch()

    [deposit] = await platform.deposits("polygon")
    assert (deposit.status, deposit.amount, deposit.transfer_seq) == (
        "below_minimum",
        9_999999,
        None,
    )
    account = customer_available(alice.id)
    assert (await balances(platform.db, account))[account] == 0
    assert await confirmed_events(platform) == []


async def test_the_watcher_credits_by_the_configured_minimum(
    database_url: str, bsc: Chain, polygon: Chain
) -> None:
    """MTX_CHAIN_BSC_MIN_DEPOSIT=5.00: the API says 5.00 and the watcher credits by it."""
    async with running_platform(database_url, bsc, polygon, chain_bsc_min_deposit="5.00") as p:
        alice = await p.customer()
        said = await p.client.get(
            "/v1/deposits/address", params={"network": "bsc"}, headers=alice.auth
        )
        assert said.json()["min_deposit"] == "5.00"
        address = said.json()["address"]
        await p.bsc.token.mint(address, units("6.00", 18))
        await p.bsc.token.mint(address, units("4.00", 18))
        await p.bsc.node.mine(CONFIRMATIONS)
        await p.watch()

        settled = sorted((d.amount, d.status) for d in await p.deposits("bsc"))
        assert settled == [(4_000000, "below_minimum"), (6_000000, "confirmed")]
        account = customer_available(alice.id)
        assert (await balances(p.db, account))[account] == 6_000000
        assert await invariant_problems(p.db) == []


async def test_transfers_to_other_addresses_are_ignored(platform: Platform) -> None:
    alice = await platform.customer()
    address = await platform.deposit_address(alice)
    stranger = platform.bsc.node.accounts[1].address
    # Both in the block range of one watcher round: the customer's one is credited beside it.
    await platform.bsc.token.mint(stranger, units("500", 18))
    credited = await platform.bsc.token.mint(address, units("20", 18))
    await platform.bsc.token.mint(stranger, units("700", 18))
    await platform.bsc.node.mine(CONFIRMATIONS)
    await platform.watch()

    [deposit] = await platform.deposits()
    assert (deposit.address, deposit.tx_hash, deposit.status, deposit.amount) == (
        address,
        credited.to_0x_hex(),
        "confirmed",
        20_000000,
    )
    account = customer_available(alice.id)
    held = await balances(platform.db, account, treasury("bsc"))
    assert held == {account: 20_000000, treasury("bsc"): -20_000000}


async def test_a_reorg_before_finality_drops_the_deposit(platform: Platform) -> None:
    alice = await platform.customer()
    address = await platform.deposit_address(alice)
    await platform.bsc.token.mint(address, units("40", 18))
    await platform.watch()
    [pending] = await platform.deposits()
    assert pending.status == "pending"

    # The block holding the transfer is replaced by one without it.
    await platform.bsc.node.reorg(1)
    await platform.watch()
    assert await platform.deposits() == []

    await platform.bsc.node.mine(CONFIRMATIONS + 2)
    await platform.watch()
    assert await platform.deposits() == []
    account = customer_available(alice.id)
    assert (await balances(platform.db, account))[account] == 0
    assert await confirmed_events(platform) == []


async def test_a_snapshot_revert_before_finality_drops_the_deposit(platform: Platform) -> None:
    alice = await platform.customer()
    address = await platform.deposit_address(alice, "polygon")
    node = platform.polygon.node
    before = await node.snapshot()
    await platform.polygon.token.mint(address, units("40", 6))
    await node.mine(1)
    await platform.watch()
    assert [d.status for d in await platform.deposits()] == ["pending"]

    await node.revert(before)  # the chain goes back below the transfer's block
    await platform.watch()
    assert await platform.deposits() == []
    await node.mine(CONFIRMATIONS + 3)
    await platform.watch()
    assert await platform.deposits() == []


async def test_a_transfer_moved_to_another_block_by_a_reorg_is_credited_once(
    platform: Platform,
) -> None:
    alice = await platform.customer()
    address = await platform.deposit_address(alice)
    token = platform.bsc.token
    await token.mint(token.deployer.address, units("100", 18))
    signed = await token.sign_transfer(token.deployer.private_key, address, units("60", 18))
    await platform.bsc.node.w3.eth.send_raw_transaction(signed)
    await platform.watch()
    [first] = await platform.deposits()
    old_block = first.block_number

    # Re-mined two blocks later on the new branch: same tx hash and log index.
    await platform.bsc.node.mine(2)
    await platform.bsc.node.reorg(3, [(bytes(signed), 2)])
    await platform.watch()
    [moved] = await platform.deposits()
    assert moved.id == first.id
    assert moved.block_number == (old_block or 0) + 2
    assert moved.status == "pending"

    await platform.bsc.node.mine(CONFIRMATIONS)
    await platform.watch()
    await platform.watch()
    [final] = await platform.deposits()
    assert final.status == "confirmed"
    account = customer_available(alice.id)
    assert (await balances(platform.db, account))[account] == 60_000000
    assert len(await confirmed_events(platform)) == 1


async def test_after_finality_a_shallow_reorg_loses_and_doubles_nothing(
    platform: Platform,
) -> None:
    alice = await platform.customer()
    address = await platform.deposit_address(alice)
    await platform.bsc.token.mint(address, units("75", 18))
    await platform.bsc.node.mine(CONFIRMATIONS + 1)
    await platform.watch()
    await platform.bsc.node.reorg(2)
    await platform.bsc.node.mine(1)
    await platform.watch()
    await platform.watch()

    [deposit] = await platform.deposits()
    assert deposit.status == "confirmed"
    account = customer_available(alice.id)
    assert (await balances(platform.db, account))[account] == 75_000000
    assert len(await confirmed_events(platform)) == 1
    assert await invariant_problems(platform.db) == []


async def test_the_watcher_resumes_from_its_cursor(platform: Platform) -> None:
    alice = await platform.customer()
    address = await platform.deposit_address(alice)
    await platform.bsc.token.mint(address, units("20", 18))
    await platform.bsc.node.mine(CONFIRMATIONS)
    await platform.watch()
    async with platform.db.read() as session:
        cursor = await session.get(ChainCursor, "bsc")
        assert cursor is not None
        assert cursor.next_block == await platform.bsc.node.head() - CONFIRMATIONS + 2

    await platform.bsc.token.mint(address, units("30", 18))
    await platform.bsc.node.mine(CONFIRMATIONS)
    # A "restarted" watcher: a new process reads the cursor and goes on from it.
    async with running_platform(
        platform.settings.database_url, platform.bsc, platform.polygon
    ) as restarted:
        await restarted.watch()
    amounts = sorted(d.amount for d in await platform.deposits())
    assert amounts == [20_000000, 30_000000]
    account = customer_available(alice.id)
    assert (await balances(platform.db, account))[account] == 50_000000


async def test_deposits_to_the_funding_address_fund_the_operator(platform: Platform) -> None:
    funding = funding_address(platform.settings.wallet_xpub or "")
    await platform.polygon.token.mint(funding, units("5000", 6))
    await platform.polygon.node.mine(CONFIRMATIONS)
    await platform.watch()

    [deposit] = await platform.deposits("polygon")
    assert (deposit.purpose, deposit.status, deposit.customer_seq) == ("funding", "confirmed", None)
    held = await balances(platform.db, Accounts.OPERATOR_FUNDS, treasury("polygon"))
    assert held == {Accounts.OPERATOR_FUNDS: 5000_000000, treasury("polygon"): -5000_000000}
    async with platform.db.read() as session:
        events = await session.scalar(select(func.count()).select_from(Event))
    assert events == 0


async def test_finality_can_follow_the_nodes_finalized_block(
    database_url: str, bsc: Chain, polygon: Chain
) -> None:
    async with running_platform(
        database_url, bsc, polygon, chain_bsc_finality="finalized"
    ) as platform:
        alice = await platform.customer()
        address = await platform.deposit_address(alice)
        await bsc.token.mint(address, units("30", 18))
        # Far more than 3 confirmations, but anvil finalizes 64 blocks behind the head.
        await bsc.node.mine(20)
        await platform.watch()
        [deposit] = await platform.deposits()
        assert (deposit.status, deposit.confirmations) == ("pending", 21)

        await bsc.node.mine(64)
        await platform.watch()
        [deposit] = await platform.deposits()
        assert deposit.status == "confirmed"
