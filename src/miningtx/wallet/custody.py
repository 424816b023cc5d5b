"""Custody tiers per network: deposit addresses, funding, hot wallet and cold address.

The hot wallet (m/1/0) pays withdrawals and receives sweeps up to its ceiling; the rest
of each sweep goes straight to the operator's cold address, whose key is never on a
platform machine (it is only an address here). Refills from the cold address to the hot
wallet are signed elsewhere: internal movements the watcher does not credit and the
reconciliation does not flag, because it counts the cold address's USDT too.

This module holds the rules the signer, the reconciliation, `mtx wallets status`, the
API's /metrics and the console share: what each tier holds on-chain, how a sweep splits
between hot and cold, which approved withdrawals a round pays and which wait, and the
signer's last look at each hot wallet (`hot_wallet_observations`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from prometheus_client import CollectorRegistry, Gauge, generate_latest
from sqlalchemy import func, select
from sqlalchemy.dialects import postgresql, sqlite

from miningtx.config import ChainSettings, Settings
from miningtx.kit.db import Database, ReadSession, WriteSession
from miningtx.kit.money import format_amount
from miningtx.kit.networks import NETWORKS
from miningtx.models import DepositAddress, HotWalletObservation, Withdrawal, WithdrawalStatus
from miningtx.wallet.chain import ChainClient, format_units, from_micro, open_chain, to_micro
from miningtx.wallet.keys import funding_address, hot_wallet_address, resolve_wallet_xpub

#: The hot share is shown with this many decimals, truncated.
SHARE_DECIMALS = 4
#: Tier names, in the order reports list them.
TIERS = ("deposit_addresses", "funding", "hot", "cold")


def share(part: int, whole: int) -> str | None:
    """`part / whole` as a decimal string truncated to 4 decimals; None when whole is 0."""
    if whole <= 0:
        return None
    scaled = part * 10**SHARE_DECIMALS // whole
    units, fraction = divmod(scaled, 10**SHARE_DECIMALS)
    return f"{units}.{fraction:0{SHARE_DECIMALS}d}"


@dataclass(frozen=True)
class Tiers:
    """What each custody tier of one network holds on-chain, in the token's units."""

    network: str
    decimals: int
    deposit_addresses: int
    funding: int
    hot: int
    #: Zero when no cold address is configured (`cold_address` None).
    cold: int
    cold_address: str | None

    @property
    def total(self) -> int:
        return self.deposit_addresses + self.funding + self.hot + self.cold

    @property
    def hot_share(self) -> str | None:
        """The hot wallet's part of everything held on the network (0.0000 - 1.0000)."""
        return share(self.hot, self.total)

    def as_dict(self) -> dict[str, Any]:
        return {
            **{name: format_units(getattr(self, name), self.decimals) for name in TIERS},
            "total": format_units(self.total, self.decimals),
            "hot_share": self.hot_share,
            "cold_address": self.cold_address,
        }


async def read_tiers(
    client: ChainClient, *, deposit_addresses: Sequence[str], hot: str, funding: str
) -> Tiers:
    """Each tier's USDT on `client`'s network, read from the chain now."""
    chain = client.chain
    cold_address = chain.cold_address
    platform = {hot, funding, *([cold_address] if cold_address else [])}
    deposits = 0
    for address in dict.fromkeys(deposit_addresses):
        if address not in platform:
            deposits += await client.token_balance(address)
    return Tiers(
        network=chain.network,
        decimals=await client.decimals(),
        deposit_addresses=deposits,
        funding=await client.token_balance(funding),
        hot=await client.token_balance(hot),
        cold=await client.token_balance(cold_address) if cold_address else 0,
        cold_address=cold_address,
    )


# Sweeps ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SweepSplit:
    """How much of one address's balance goes to the hot wallet and how much to cold."""

    to_hot: int
    to_cold: int

    @property
    def transfers(self) -> int:
        return (self.to_hot > 0) + (self.to_cold > 0)


def hot_room(chain: ChainSettings, decimals: int, hot_projected: int) -> int | None:
    """Token units the hot wallet may still receive by sweeps; None: no limit.

    No limit without a ceiling, and without a cold address (the rest has nowhere else
    to go: the operator was warned at start-up). `hot_projected` counts the hot
    wallet's balance plus the sweeps in flight to it.
    """
    if chain.hot_ceiling is None or chain.cold_address is None:
        return None
    return max(0, from_micro(chain.hot_ceiling, decimals) - hot_projected)


def split_sweep(balance: int, room: int | None) -> SweepSplit:
    """Fill the hot wallet up to its room, the rest to the cold address."""
    if room is None:
        return SweepSplit(to_hot=balance, to_cold=0)
    to_hot = min(balance, room)
    return SweepSplit(to_hot=to_hot, to_cold=balance - to_hot)


# Payouts ---------------------------------------------------------------------------------

WAITING_FOR_USDT = "waiting for hot wallet funds: not enough USDT"
WAITING_FOR_GAS = "waiting for hot wallet funds: not enough native coin for gas"


def waiting_behind(withdrawal_id: str) -> str:
    return f"waiting for hot wallet funds: queued behind {withdrawal_id}, which waited longest"


@dataclass(frozen=True, slots=True)
class PayoutCandidate:
    """An approved withdrawal, as the payout plan needs it (token units to send)."""

    id: str
    net_raw: int
    waiting_since: datetime | None


@dataclass
class PayoutPlan:
    """Which withdrawals a round signs now, and which wait (with why)."""

    pay: list[str] = field(default_factory=list)
    wait: dict[str, str] = field(default_factory=dict)


def plan_payouts(
    candidates: Sequence[PayoutCandidate],
    *,
    usdt: int,
    native: int,
    gas_cost: int,
    now: datetime,
    grace: timedelta,
    limit: int,
) -> PayoutPlan:
    """Serve approved withdrawals in approval order with what the hot wallet can spend.

    `usdt` and `native` are the hot wallet's balances minus what is in flight; each
    payout costs its `net_raw` and up to `gas_cost`. One the hot wallet cannot cover
    waits and later, smaller ones are paid past it, until it has waited `grace`: from
    then on it reserves the funds, and nothing after it is paid until it is (so a large
    withdrawal is never starved by a stream of small ones). At most `limit` are paid.
    """
    plan = PayoutPlan()
    reserved_for: str | None = None
    for candidate in candidates:
        if reserved_for is not None:
            plan.wait[candidate.id] = waiting_behind(reserved_for)
            continue
        if len(plan.pay) >= limit:
            break
        lacking = None
        if candidate.net_raw > usdt:
            lacking = WAITING_FOR_USDT
        elif gas_cost > native:
            lacking = WAITING_FOR_GAS
        if lacking is not None:
            plan.wait[candidate.id] = lacking
            since = candidate.waiting_since or now
            if now - since >= grace:
                reserved_for = candidate.id
            continue
        plan.pay.append(candidate.id)
        usdt -= candidate.net_raw
        native -= gas_cost
    return plan


@dataclass(frozen=True)
class Waiting:
    """Approved withdrawals of one network waiting for hot-wallet funds."""

    count: int
    #: What they need sent in total (amount - fee), micro-USDT.
    needed: int
    oldest_since: datetime | None


async def waiting_withdrawals(session: ReadSession, network: str) -> Waiting:
    row = (
        await session.execute(
            select(
                func.count(),
                func.coalesce(func.sum(Withdrawal.amount - Withdrawal.fee), 0),
                func.min(Withdrawal.waiting_since),
            ).where(
                Withdrawal.network == network,
                Withdrawal.status == WithdrawalStatus.APPROVED,
                Withdrawal.waiting_since.is_not(None),
            )
        )
    ).one()
    return Waiting(count=int(row[0]), needed=int(row[1]), oldest_since=row[2])


# Observations and alerts ------------------------------------------------------------------


def below_floor(chain: ChainSettings, usdt: int) -> bool:
    """Whether `usdt` (micro-USDT) is below the network's hot-wallet floor (none: never)."""
    return chain.hot_floor is not None and usdt < chain.hot_floor


async def record_observation(
    session: WriteSession,
    chain: ChainSettings,
    *,
    raw_usdt: int,
    decimals: int,
    native: int,
    now: datetime,
) -> HotWalletObservation:
    """Rewrite the network's row with what the signer just saw in its hot wallet."""
    usdt = to_micro(raw_usdt, decimals)
    values: dict[str, Any] = {
        "usdt": usdt,
        "native": str(native),
        "floor": chain.hot_floor,
        "ceiling": chain.hot_ceiling,
        "below_floor": below_floor(chain, usdt),
        "observed_at": now,
    }
    # One upsert: two signers observing at once must not both insert the network's row.
    connection = await session.connection()
    insert = sqlite.insert if connection.dialect.name == "sqlite" else postgresql.insert
    await session.execute(
        insert(HotWalletObservation)
        .values(network=chain.network, **values)
        .on_conflict_do_update(index_elements=["network"], set_=values)
    )
    row = await session.scalar(
        select(HotWalletObservation)
        .where(HotWalletObservation.network == chain.network)
        .execution_options(populate_existing=True)
    )
    assert row is not None  # just written in this transaction
    return row


async def observations(session: ReadSession) -> list[HotWalletObservation]:
    return list(
        await session.scalars(select(HotWalletObservation).order_by(HotWalletObservation.network))
    )


def floor_alerts(rows: Sequence[HotWalletObservation]) -> list[str]:
    """One sentence per network whose hot wallet the signer last saw below its floor."""
    return [
        f"{row.network}: the hot wallet holds {format_amount(row.usdt)} USDT, below its floor "
        f"of {format_amount(row.floor or 0)} USDT: refill it from the cold address."
        for row in rows
        if row.below_floor
    ]


def metrics_text(rows: Sequence[HotWalletObservation]) -> bytes:
    """Prometheus gauges of the signer's last observations (served by the API's /metrics:
    the signer itself serves no HTTP)."""
    registry = CollectorRegistry()
    usdt = Gauge(
        "mtx_hot_wallet_usdt",
        "USDT in the hot wallet as the signer last saw it",
        ["network"],
        registry=registry,
    )
    native = Gauge(
        "mtx_hot_wallet_native_wei",
        "Native coin (gas money, wei) in the hot wallet as the signer last saw it",
        ["network"],
        registry=registry,
    )
    below = Gauge(
        "mtx_hot_wallet_below_floor",
        "1 when the hot wallet was last seen below its floor (MTX_CHAIN_<N>_HOT_FLOOR)",
        ["network"],
        registry=registry,
    )
    observed = Gauge(
        "mtx_hot_wallet_observed_timestamp_seconds",
        "When the signer last looked at the hot wallet (Unix time)",
        ["network"],
        registry=registry,
    )
    for row in rows:
        usdt.labels(row.network).set(row.usdt / 10**6)
        native.labels(row.network).set(float(int(row.native)))
        below.labels(row.network).set(1 if row.below_floor else 0)
        observed.labels(row.network).set(row.observed_at.timestamp())
    body: bytes = generate_latest(registry)
    return body


# `mtx wallets status` ---------------------------------------------------------------------


async def wallet_status(db: Database, settings: Settings) -> list[dict[str, Any]]:
    """Per network: each tier's balance (networks with a node), the hot wallet's gas,
    ceiling, floor and share, and the withdrawals waiting for hot-wallet funds."""
    xpub = resolve_wallet_xpub(settings)
    hot, funding = hot_wallet_address(xpub), funding_address(xpub)
    async with db.read() as session:
        deposit_addresses = list(await session.scalars(select(DepositAddress.address)))
        waiting = {network: await waiting_withdrawals(session, network) for network in NETWORKS}
    found = []
    for network in NETWORKS:
        config = settings.network(network)
        chain = settings.chain(network)
        entry: dict[str, Any] = {
            "network": network,
            "node": chain is not None,
            "hot_wallet": hot,
            "funding_address": funding,
            "cold_address": config.cold_address,
            "hot_ceiling": None
            if config.hot_ceiling is None
            else format_amount(config.hot_ceiling),
            "hot_floor": None if config.hot_floor is None else format_amount(config.hot_floor),
            "waiting_withdrawals": waiting[network].count,
            "waiting_needed": format_amount(waiting[network].needed),
            "balances": None,
            "hot_share": None,
            "hot_native_wei": None,
            "below_floor": None,
        }
        if chain is not None:
            async with open_chain(chain) as client:
                tiers = await read_tiers(
                    client, deposit_addresses=deposit_addresses, hot=hot, funding=funding
                )
                native = await client.native_balance(hot)
            entry |= {
                "balances": {
                    name: value for name, value in tiers.as_dict().items() if name in TIERS
                }
                | {"total": tiers.as_dict()["total"]},
                "hot_share": tiers.hot_share,
                "hot_native_wei": str(native),
                "below_floor": below_floor(chain, to_micro(tiers.hot, tiers.decimals)),
            }
        found.append(entry)
    return found
