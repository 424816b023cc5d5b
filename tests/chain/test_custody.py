"""Custody tiers on real anvil nodes: sweeps split at the hot wallet's ceiling, withdrawals
that wait for hot-wallet funds (USDT or gas) and are paid once after a refill from the
cold address, the floor alert, and the reconciliation across every tier."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import pytest
from eth_utils.address import to_checksum_address
from sqlalchemy import select
from web3.types import TxParams, Wei

from miningtx.ledger.accounts import customer_available
from miningtx.models import ChainTransaction, Deposit, HotWalletObservation
from miningtx.wallet.custody import WAITING_FOR_GAS, WAITING_FOR_USDT, waiting_behind
from miningtx.wallet.keys import funding_address, hot_wallet_address
from miningtx.wallet.reconcile import Custody, reconcile
from tests.chain.anvil import Chain, DevAccount, units
from tests.chain.platform import CONFIRMATIONS, Platform, running_platform
from tests.chain.test_live_start import live_environment
from tests.chain.test_signer import (
    DESTINATION,
    approved_withdrawal,
    deposited,
    transfers_to,
    withdrawal,
)
from tests.conftest import TEST_MNEMONIC, TEST_XPUB
from tests.dashboard.console_factories import signed_in_operator
from tests.factories import balances, invariant_problems
from tests.servers import MTX, run_command, server_environment
from tests.worker.helpers import move_clock

pytestmark = pytest.mark.slow

ONE_ETH = 10**18
HOT = to_checksum_address(hot_wallet_address(TEST_XPUB))
FUNDING = to_checksum_address(funding_address(TEST_XPUB))
CEILING = "1000.00"
FLOOR = "200.00"


def cold_account(chain: Chain) -> DevAccount:
    """The cold address: an anvil dev account, whose key only the test (the operator's
    offline signer) holds; no platform process ever has it."""
    return chain.node.accounts[3]


def custody_variables(platform: Platform) -> dict[str, str]:
    variables: dict[str, str] = {}
    for network in ("bsc", "polygon"):
        chain = platform.on(network)
        prefix = f"MTX_CHAIN_{network.upper()}_"
        variables |= {
            prefix + "RPC_URL": chain.node.rpc_url,
            prefix + "USDT_ADDRESS": chain.token.address,
            prefix + "CONFIRMATIONS": str(CONFIRMATIONS),
            prefix + "COLD_ADDRESS": cold_account(chain).address,
            prefix + "HOT_CEILING": CEILING,
            prefix + "HOT_FLOOR": FLOOR,
        }
    return variables


@pytest.fixture
async def platform(database_url: str, bsc: Chain, polygon: Chain) -> AsyncIterator[Platform]:
    async with running_platform(
        database_url,
        bsc,
        polygon,
        chain_bsc_cold_address=cold_account(bsc).address,
        chain_bsc_hot_ceiling=CEILING,
        chain_bsc_hot_floor=FLOOR,
        chain_polygon_cold_address=cold_account(polygon).address,
        chain_polygon_hot_ceiling=CEILING,
        chain_polygon_hot_floor=FLOOR,
    ) as running:
        await bsc.node.set_balance(HOT, 10 * ONE_ETH)
        await polygon.node.set_balance(HOT, 10 * ONE_ETH)
        yield running


async def rounds(platform: Platform, chain: Chain, count: int = 3) -> None:
    """Signer rounds, each followed by enough blocks for what it sent to be final."""
    for _ in range(count):
        await platform.signer().run_round()
        await chain.node.mine(CONFIRMATIONS)


async def custody_of(platform: Platform, network: str) -> Custody:
    [found] = [c for c in await reconcile(platform.db, platform.settings) if c.network == network]
    return found


async def refill(chain: Chain, to: str, amount: str) -> None:
    """The operator moves USDT out of the cold address, signed outside the platform."""
    cold = cold_account(chain)
    tx_hash = await chain.token.transfer_from_key(
        bytes(cold.private_key), to, units(amount, chain.token.decimals)
    )
    await chain.node.receipt(tx_hash)


async def kinds(platform: Platform) -> list[tuple[str, str, str]]:
    async with platform.db.read() as session:
        return sorted(
            (tx.kind, tx.to_address, tx.value)
            for tx in await session.scalars(select(ChainTransaction))
            if tx.kind != "gas"
        )


def floor_alerts(stderr: str, network: str) -> list[dict[str, str]]:
    """The `hot_wallet_below_floor` events of `network` among the JSON log lines."""
    found = []
    for line in stderr.splitlines():
        if line.startswith("{") and "hot_wallet_below_floor" in line:
            event = json.loads(line)
            if event["event"] == "hot_wallet_below_floor" and event["network"] == network:
                found.append(event)
    return found


async def signer_once(platform: Platform) -> str:
    """One `mtx signer run --once` process; its log (stderr)."""
    environment = server_environment(
        platform.settings.database_url,
        custody_variables(platform) | {"MTX_SIGNER_MNEMONIC": TEST_MNEMONIC},
    )
    code, _out, err = await run_command(str(MTX), "signer", "run", "--once", env=environment)
    assert code == 0, err
    return err


async def solvency_cli(platform: Platform) -> tuple[int, dict[str, object]]:
    environment = server_environment(platform.settings.database_url, custody_variables(platform))
    code, out, err = await run_command(str(MTX), "solvency", "--json", env=environment)
    assert out, err
    report: dict[str, object] = json.loads(out)
    return code, report


async def wallets_status(platform: Platform) -> dict[str, dict[str, object]]:
    environment = server_environment(platform.settings.database_url, custody_variables(platform))
    code, out, err = await run_command(str(MTX), "wallets", "status", "--json", env=environment)
    assert code == 0, err
    return {entry["network"]: entry for entry in json.loads(out)["networks"]}


@pytest.mark.parametrize("network", ["bsc", "polygon"])
async def test_sweeps_fill_the_hot_wallet_to_its_ceiling_and_send_the_rest_cold(
    platform: Platform, network: str
) -> None:
    chain = platform.on(network)
    decimals = chain.token.decimals
    for amount in ("1500", "2000", "1500"):  # 5,000 USDT in three deposit addresses
        await deposited(platform, network, amount)

    await rounds(platform, chain)

    assert await chain.token.balance_of(HOT) == units("1000", decimals)
    assert await chain.token.balance_of(cold_account(chain).address) == units("4000", decimals)
    # The first address crosses the ceiling: two transfers, 1000 hot and 500 cold.
    assert await kinds(platform) == sorted(
        [
            ("sweep", HOT, str(units("1000", decimals))),
            ("cold_sweep", cold_account(chain).address, str(units("500", decimals))),
            ("cold_sweep", cold_account(chain).address, str(units("2000", decimals))),
            ("cold_sweep", cold_account(chain).address, str(units("1500", decimals))),
        ]
    )
    await rounds(platform, chain, 2)  # more rounds never push the hot wallet over it
    assert await chain.token.balance_of(HOT) == units("1000", decimals)

    custody = await custody_of(platform, network)
    assert custody.matches
    assert custody.tiers.hot == units("1000", decimals)
    assert custody.tiers.cold == units("4000", decimals)
    assert custody.tiers.deposit_addresses == 0
    assert custody.tiers.hot_share == "0.2000"
    code, report = await solvency_cli(platform)
    assert code == 0, report["problems"]
    chains = {c["network"]: c for c in report["chains"]}  # type: ignore[attr-defined]
    assert chains[network]["tiers"] == {
        "deposit_addresses": "0.00",
        "funding": "0.00",
        "hot": "1000.00",
        "cold": "4000.00",
        "total": "5000.00",
        "hot_share": "0.2000",
        "cold_address": cold_account(chain).address,
    }

    await signed_in_operator(platform.db, platform.client, role="reviewer")
    page = (await platform.client.get("/console/solvency")).text
    assert f'data-tier="{network}.hot">1000.00<' in page
    assert f'data-tier="{network}.cold">4000.00<' in page
    assert "hot share 0.2000" in page

    # Tokens leaving the cold address for a stranger ARE a mismatch.
    await refill(chain, DESTINATION, "5")
    custody = await custody_of(platform, network)
    assert not custody.matches
    assert custody.difference == -units("5", decimals)
    code, report = await solvency_cli(platform)
    assert code == 1


async def test_a_withdrawal_the_hot_wallet_cannot_cover_waits_and_is_paid_once_after_a_refill(
    platform: Platform,
) -> None:
    chain = platform.polygon
    alice = await deposited(platform, "polygon", "3000")
    await rounds(platform, chain)  # 1000 hot, 2000 cold
    assert await chain.token.balance_of(HOT) == units("1000", 6)
    withdrawal_id = await approved_withdrawal(platform, alice, "polygon", "1500")

    for _ in range(3):
        await rounds(platform, chain, 1)
        waiting = await withdrawal(platform, withdrawal_id)
        assert waiting.status == "approved"
        assert waiting.waiting_reason == WAITING_FOR_USDT
    assert waiting.waiting_since is not None
    assert await transfers_to(chain, DESTINATION) == 0
    answer = await platform.client.get(f"/v1/withdrawals/{withdrawal_id}", headers=alice.auth)
    assert answer.json()["status"] == "approved"  # the customer sees it in progress
    assert "waiting_since" not in answer.json()
    status = await wallets_status(platform)
    assert status["polygon"]["waiting_withdrawals"] == 1
    assert status["polygon"]["waiting_needed"] == "1499.00"
    assert status["polygon"]["below_floor"] is False

    # The operator refills the hot wallet from cold (signed elsewhere): no mismatch, and
    # the refill is no deposit. So is a transfer from cold to the funding address.
    await refill(chain, HOT, "600")
    await refill(chain, FUNDING, "50")
    await chain.node.mine(CONFIRMATIONS)
    deposits_before = len(await platform.deposits())
    await platform.watch()
    assert len(await platform.deposits()) == deposits_before
    assert (await custody_of(platform, "polygon")).matches

    await rounds(platform, chain)
    done = await withdrawal(platform, withdrawal_id)
    assert done.status == "processed"
    assert done.waiting_since is None
    assert await transfers_to(chain, DESTINATION) == 1
    assert await chain.token.balance_of(DESTINATION) == units("1499", 6)
    assert await chain.token.balance_of(HOT) == units("101", 6)
    account = customer_available(alice.id)
    assert (await balances(platform.db, account))[account] == 1500_000000
    assert await invariant_problems(platform.db) == []
    assert (await custody_of(platform, "polygon")).matches


async def test_a_withdrawal_waits_while_the_hot_wallet_lacks_gas(platform: Platform) -> None:
    chain = platform.bsc
    alice = await deposited(platform, "bsc", "500")
    await rounds(platform, chain)
    assert await chain.token.balance_of(HOT) == units("500", 18)
    await chain.node.set_balance(HOT, 0)
    withdrawal_id = await approved_withdrawal(platform, alice, "bsc", "100")

    for _ in range(3):
        await rounds(platform, chain, 1)
        waiting = await withdrawal(platform, withdrawal_id)
        assert waiting.status == "approved"
        assert waiting.waiting_reason == WAITING_FOR_GAS
    assert await transfers_to(chain, DESTINATION) == 0

    # Gas money arrives from an ordinary account (not the cold address: native coin).
    funder = chain.node.accounts[2]
    send: TxParams = {"from": funder.address, "to": HOT, "value": Wei(ONE_ETH)}
    await chain.node.receipt(await chain.node.w3.eth.send_transaction(send))
    await rounds(platform, chain)

    done = await withdrawal(platform, withdrawal_id)
    assert done.status == "processed"
    assert await transfers_to(chain, DESTINATION) == 1
    assert await chain.token.balance_of(DESTINATION) == units("99", 18)
    assert (await custody_of(platform, "bsc")).matches


async def test_the_floor_alert_fires_only_below_the_floor(
    platform: Platform,
) -> None:
    chain = platform.polygon
    alice = await deposited(platform, "polygon", "1200")
    await rounds(platform, chain)
    assert floor_alerts(await signer_once(platform), "polygon") == []
    metrics = (await platform.client.get("/metrics")).text
    assert 'mtx_hot_wallet_below_floor{network="polygon"} 0.0' in metrics
    assert 'mtx_hot_wallet_usdt{network="polygon"} 1000.0' in metrics

    withdrawal_id = await approved_withdrawal(platform, alice, "polygon", "850")
    await rounds(platform, chain)
    assert (await withdrawal(platform, withdrawal_id)).status == "processed"
    assert await chain.token.balance_of(HOT) == units("151", 6)  # below the 200 floor
    [alert] = floor_alerts(await signer_once(platform), "polygon")
    assert alert["usdt"] == "151.00"
    assert alert["floor"] == "200.00"
    metrics = (await platform.client.get("/metrics")).text
    assert 'mtx_hot_wallet_below_floor{network="polygon"} 1.0' in metrics
    # bsc's hot wallet holds nothing at all: below its floor as well.
    assert 'mtx_hot_wallet_below_floor{network="bsc"} 1.0' in metrics
    async with platform.db.read() as session:
        row = await session.get(HotWalletObservation, "polygon")
    assert row is not None
    assert row.below_floor
    assert row.usdt == 151_000000
    status = await wallets_status(platform)
    assert status["polygon"]["below_floor"] is True
    assert status["polygon"]["balances"]["hot"] == "151.00"  # type: ignore[index]
    assert status["polygon"]["balances"]["cold"] == "200.00"  # type: ignore[index]
    assert status["polygon"]["hot_share"] == "0.4301"
    assert status["bsc"]["below_floor"] is True


async def test_a_signer_refuses_a_cold_address_that_is_the_platforms_own(
    platform: Platform,
) -> None:
    environment = server_environment(
        platform.settings.database_url,
        custody_variables(platform)
        | {"MTX_SIGNER_MNEMONIC": TEST_MNEMONIC, "MTX_CHAIN_BSC_COLD_ADDRESS": HOT},
    )
    code, _out, err = await run_command(str(MTX), "signer", "run", "--once", env=environment)
    assert code == 1
    assert "MTX_CHAIN_BSC_COLD_ADDRESS is the platform's own" in err


async def test_a_fresh_live_deployment_sweeps_before_it_pays(
    database_url: str, platform: Platform
) -> None:
    chain = platform.polygon
    alice = await deposited(platform, "polygon", "300")
    assert await chain.token.balance_of(HOT) == 0  # nothing hot yet: only the deposit
    withdrawal_id = await approved_withdrawal(platform, alice, "polygon", "120")

    environment = live_environment(
        database_url,
        platform.bsc,
        chain,
        MTX_WALLET_XPUB=TEST_XPUB,
        MTX_SIGNER_MNEMONIC=TEST_MNEMONIC,
        MTX_CHAIN_BSC_CONFIRMATIONS=str(CONFIRMATIONS),
        MTX_CHAIN_POLYGON_CONFIRMATIONS=str(CONFIRMATIONS),
    )
    code, _out, err = await run_command(str(MTX), "signer", "run", "--once", env=environment)
    assert code == 0, err
    assert "cold_address_unset" in err  # live without a cold address: warned, all hot

    sent = await withdrawal(platform, withdrawal_id)
    assert sent.status == "broadcast", sent.failure_reason
    assert await chain.token.balance_of(DESTINATION) == units("119", 6)
    assert await chain.token.balance_of(HOT) == units("181", 6)
    await chain.node.mine(CONFIRMATIONS)
    code, _out, err = await run_command(str(MTX), "signer", "run", "--once", env=environment)
    assert code == 0, err
    assert (await withdrawal(platform, withdrawal_id)).status == "processed"
    async with platform.db.read() as session:
        credited = list(await session.scalars(select(Deposit)))
    assert [d.amount for d in credited] == [300_000000]


async def test_smaller_withdrawals_pass_a_waiting_one_until_its_grace_is_over(
    platform: Platform,
) -> None:
    chain = platform.polygon
    alice = await deposited(platform, "polygon", "3000")
    await rounds(platform, chain)  # 1000 hot
    big = await approved_withdrawal(platform, alice, "polygon", "1500")
    small = await approved_withdrawal(platform, alice, "polygon", "100")

    await rounds(platform, chain)
    assert (await withdrawal(platform, small)).status == "processed"  # passed the big one
    assert (await withdrawal(platform, big)).waiting_reason == WAITING_FOR_USDT

    await move_clock(platform.db, 61 * 60)  # past the 60-minute grace
    late = await approved_withdrawal(platform, alice, "polygon", "50")
    await rounds(platform, chain)
    held = await withdrawal(platform, late)
    assert held.status == "approved"  # the hot wallet could pay it, but the big one waits
    assert held.waiting_reason == waiting_behind(big)

    await refill(chain, HOT, "700")  # 901 + 700: the big one, then the late one
    await rounds(platform, chain)
    assert (await withdrawal(platform, big)).status == "processed"
    assert (await withdrawal(platform, late)).status == "processed"
    assert await chain.token.balance_of(DESTINATION) == units(str(99 + 1499 + 49), 6)
    assert await chain.token.balance_of(HOT) == units("53", 6)
    assert (await custody_of(platform, "polygon")).matches
    assert await invariant_problems(platform.db) == []
