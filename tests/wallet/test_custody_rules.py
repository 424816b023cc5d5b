"""Custody rules without a chain: how a sweep splits at the hot wallet's ceiling, which
approved withdrawals a round pays and which wait, and the custody settings."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from pydantic import ValidationError

from miningtx.config import ChainSettings
from miningtx.kit.db import Database
from miningtx.models import HotWalletObservation
from miningtx.wallet.custody import (
    WAITING_FOR_GAS,
    WAITING_FOR_USDT,
    PayoutCandidate,
    PayoutPlan,
    hot_room,
    observations,
    plan_payouts,
    record_observation,
    share,
    split_sweep,
    waiting_behind,
)
from tests.conftest import make_settings
from tests.databases import wait_until_blocked

NOW = datetime(2026, 12, 2, 6, 0, tzinfo=UTC)
GRACE = timedelta(minutes=60)
COLD = "0x52908400098527886E0F7030069857D2E4169EE7"


def chain(**values: object) -> ChainSettings:
    fields: dict[str, object] = {
        "network": "polygon",
        "rpc_url": "http://127.0.0.1:9",
        "chain_id": 137,
        "usdt_address": COLD,
        "confirmations": 3,
        "finality": "confirmations",
        "min_deposit": 10_000000,
        "start_block": None,
        "block_range": 2000,
    }
    return ChainSettings(**(fields | values))  # type: ignore[arg-type]


def test_a_sweep_fills_the_hot_wallet_to_its_ceiling_and_sends_the_rest_cold() -> None:
    limited = chain(cold_address=COLD, hot_ceiling=1000_000000)
    room = hot_room(limited, 6, hot_projected=400_000000)
    assert room == 600_000000
    assert split_sweep(1500_000000, room) == split_sweep(1500_000000, 600_000000)
    first = split_sweep(1500_000000, room)
    assert (first.to_hot, first.to_cold, first.transfers) == (600_000000, 900_000000, 2)
    full = split_sweep(300_000000, 0)
    assert (full.to_hot, full.to_cold, full.transfers) == (0, 300_000000, 1)
    # Over the ceiling already (a refill put it there): no room, never negative.
    assert hot_room(limited, 6, hot_projected=1200_000000) == 0
    # 18 decimals: the ceiling is compared in the token's own units.
    assert hot_room(limited, 18, hot_projected=0) == 1000 * 10**18


def test_without_a_ceiling_or_a_cold_address_everything_stays_hot() -> None:
    assert hot_room(chain(cold_address=COLD), 6, 10**12) is None
    assert hot_room(chain(hot_ceiling=1000_000000), 6, 10**12) is None
    everything = split_sweep(5000_000000, None)
    assert (everything.to_hot, everything.to_cold) == (5000_000000, 0)


def candidate(withdrawal_id: str, net: int, waited: timedelta | None = None) -> PayoutCandidate:
    return PayoutCandidate(withdrawal_id, net, None if waited is None else NOW - waited)


def plan(
    *candidates: PayoutCandidate, usdt: int, native: int = 10**18, gas: int = 10**15
) -> PayoutPlan:
    return plan_payouts(
        candidates, usdt=usdt, native=native, gas_cost=gas, now=NOW, grace=GRACE, limit=20
    )


def test_payouts_go_in_approval_order_and_a_large_one_lets_smaller_ones_pass() -> None:
    done = plan(candidate("a", 300), candidate("big", 900), candidate("c", 200), usdt=600)
    assert done.pay == ["a", "c"]
    assert done.wait == {"big": WAITING_FOR_USDT}


def test_after_its_grace_the_oldest_waiting_withdrawal_reserves_the_funds() -> None:
    done = plan(
        candidate("a", 300),
        candidate("big", 900, waited=GRACE),
        candidate("c", 200),
        candidate("d", 100),
        usdt=600,
    )
    assert done.pay == ["a"]  # before it in approval order: still paid
    assert done.wait == {
        "big": WAITING_FOR_USDT,
        "c": waiting_behind("big"),
        "d": waiting_behind("big"),
    }
    # Once it is covered, it is paid first and the rest follow.
    covered = plan(candidate("big", 900, waited=2 * GRACE), candidate("c", 200), usdt=1100)
    assert (covered.pay, covered.wait) == (["big", "c"], {})
    # No grace at all is strict first-come, first-served.
    strict = plan_payouts(
        [candidate("big", 900), candidate("c", 200)],
        usdt=600,
        native=10**18,
        gas_cost=1,
        now=NOW,
        grace=timedelta(0),
        limit=20,
    )
    assert strict.pay == []


def test_a_hot_wallet_without_gas_money_pays_nothing_and_says_why() -> None:
    done = plan(candidate("a", 300), candidate("b", 100), usdt=600, native=10, gas=100)
    assert done.pay == []
    assert done.wait == {"a": WAITING_FOR_GAS, "b": WAITING_FOR_GAS}
    one = plan(candidate("a", 300), candidate("b", 100), usdt=600, native=150, gas=100)
    assert (one.pay, one.wait) == (["a"], {"b": WAITING_FOR_GAS})


def test_at_most_a_batch_is_paid_per_round_and_the_rest_is_not_marked_waiting() -> None:
    done = plan_payouts(
        [candidate(f"w{n}", 1) for n in range(5)],
        usdt=100,
        native=10**18,
        gas_cost=1,
        now=NOW,
        grace=GRACE,
        limit=2,
    )
    assert (done.pay, done.wait) == (["w0", "w1"], {})


def test_the_hot_share_is_truncated_to_four_decimals() -> None:
    assert share(151, 351) == "0.4301"
    assert share(1, 1) == "1.0000"
    assert share(0, 0) is None


def test_custody_settings_are_checked_at_start_up(database_url: str) -> None:
    settings = make_settings(
        database_url,
        chain_polygon_cold_address=COLD.lower(),
        chain_polygon_hot_ceiling="1000.00",
        chain_polygon_hot_floor="200.5",
    )
    polygon = settings.network("polygon")
    assert polygon.cold_address == COLD  # stored EIP-55
    assert (polygon.hot_ceiling, polygon.hot_floor) == (1000_000000, 200_500000)
    assert settings.network("bsc").hot_ceiling is None
    with pytest.raises(ValidationError, match="MTX_CHAIN_POLYGON_COLD_ADDRESS fails its EIP-55"):
        make_settings(database_url, chain_polygon_cold_address=COLD[:-1] + "e")
    with pytest.raises(ValidationError, match="MTX_CHAIN_BSC_COLD_ADDRESS must be an EVM"):
        make_settings(database_url, chain_bsc_cold_address="0x1234")
    with pytest.raises(ValidationError, match="MTX_CHAIN_BSC_HOT_CEILING must be a USDT amount"):
        make_settings(database_url, chain_bsc_hot_ceiling="lots")
    with pytest.raises(ValidationError, match="HOT_FLOOR must not be above"):
        make_settings(database_url, chain_bsc_hot_ceiling="100", chain_bsc_hot_floor="200")


# PostgreSQL only: SQLite's BEGIN IMMEDIATE already keeps a second writer out until the first
# commits, so the two observations cannot both find the row missing there.
@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
async def test_two_signers_observing_at_once_keep_one_row_per_network(database_url: str) -> None:
    db = Database(make_settings(database_url))
    polygon = chain(hot_floor=5_000000)
    try:
        async with db.write() as first:
            await record_observation(
                first, polygon, raw_usdt=2_000000, decimals=6, native=1, now=NOW
            )
            # The second signer's round starts while the first has inserted, not committed.
            second = asyncio.create_task(_observe_in_own_transaction(db, polygon))
            await asyncio.wait_for(wait_until_blocked(db), timeout=60)  # on the first's row
        seen = await asyncio.wait_for(second, timeout=60)
        assert (seen.usdt, seen.below_floor) == (80_000000, False)
        async with db.read() as session:
            rows = await observations(session)
        assert [(row.network, row.usdt, row.observed_at) for row in rows] == [
            ("polygon", 80_000000, NOW + timedelta(seconds=1))
        ]
    finally:
        await db.dispose()


async def _observe_in_own_transaction(db: Database, polygon: ChainSettings) -> HotWalletObservation:
    async with db.write() as session:
        return await record_observation(
            session,
            polygon,
            raw_usdt=80_000000,
            decimals=6,
            native=2,
            now=NOW + timedelta(seconds=1),
        )
