"""Reconciliation: the ledger's custody per network against the USDT held on-chain.

Custody is what the treasury account says the platform holds on the network (minus
its balance). On-chain, the platform holds the USDT of every deposit address, the
hot wallet, the funding address and the network's cold address (`custody.Tiers`), so
moving USDT between them (a sweep, a cold sweep, a refill from cold to hot) changes
nothing here. They differ, legitimately and exactly, by:

- deposits seen but not credited (pending confirmations, or below the minimum);
- the sub-micro dust of credited deposits (an 18-decimal token's digits beyond
  0.000001, recorded, never credited);
- payouts already mined but not yet final (their withdrawal still `broadcast`).

Everything is compared in the token's own units, so the check is exact: any other
difference (tokens moved out behind the platform's back, a deposit never recorded)
is reported as a mismatch.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from miningtx.config import Settings
from miningtx.kit.db import Database
from miningtx.kit.money import format_amount
from miningtx.ledger import service as ledger
from miningtx.ledger.accounts import treasury
from miningtx.models import (
    ChainTransaction,
    ChainTransactionKind,
    ChainTransactionStatus,
    Deposit,
    DepositAddress,
    DepositStatus,
)
from miningtx.wallet.chain import ChainClient, format_units, from_micro, open_chain
from miningtx.wallet.custody import Tiers, read_tiers
from miningtx.wallet.keys import funding_address, hot_wallet_address, resolve_wallet_xpub


@dataclass(frozen=True)
class Custody:
    """One network's books against its chain, in the token's units (`decimals`)."""

    network: str
    decimals: int
    #: What the ledger says the platform holds on this network (micro-USDT).
    ledger: int
    on_chain: int
    not_credited: int
    dust: int
    mined_payouts: int
    #: `on_chain` per custody tier (deposit addresses, funding, hot, cold).
    tiers: Tiers

    @property
    def expected(self) -> int:
        return (
            from_micro(self.ledger, self.decimals)
            + self.not_credited
            + self.dust
            - self.mined_payouts
        )

    @property
    def difference(self) -> int:
        return self.on_chain - self.expected

    @property
    def matches(self) -> bool:
        return self.difference == 0

    def problem(self) -> str | None:
        if self.matches:
            return None
        return (
            f"{self.network}: on-chain USDT {format_units(self.on_chain, self.decimals)} "
            f"but the books expect {format_units(self.expected, self.decimals)} "
            f"(difference {format_units(self.difference, self.decimals)})"
        )

    def as_dict(self) -> dict[str, Any]:
        def units(raw: int) -> str:
            return format_units(raw, self.decimals)

        return {
            "network": self.network,
            "matches": self.matches,
            "ledger_custody": format_amount(self.ledger),
            "on_chain": units(self.on_chain),
            "not_yet_credited": units(self.not_credited),
            "sub_micro_dust": units(self.dust),
            "mined_not_final_payouts": units(self.mined_payouts),
            "expected_on_chain": units(self.expected),
            "difference": units(self.difference),
            "tiers": self.tiers.as_dict(),
            "hot_share": self.tiers.hot_share,
        }


async def reconcile(db: Database, settings: Settings) -> list[Custody]:
    """Every configured network's custody against its chain (raises ChainError if unreachable)."""
    xpub = resolve_wallet_xpub(settings)
    hot, funding = hot_wallet_address(xpub), funding_address(xpub)
    found = []
    for chain in settings.chains():
        async with open_chain(chain) as client:
            found.append(await _network(db, client, hot=hot, funding=funding))
    return found


async def _network(db: Database, client: ChainClient, *, hot: str, funding: str) -> Custody:
    network = client.chain.network
    decimals = await client.decimals()
    async with db.snapshot() as session:
        custody = -(await ledger.balances(session, [treasury(network)]))[treasury(network)]
        addresses = list(await session.scalars(select(DepositAddress.address)))
        observed = list(
            await session.execute(
                select(Deposit.status, Deposit.amount, Deposit.raw_amount).where(
                    Deposit.network == network, Deposit.raw_amount.is_not(None)
                )
            )
        )
        open_payouts = list(
            await session.execute(
                select(ChainTransaction.tx_hash, ChainTransaction.value).where(
                    ChainTransaction.network == network,
                    ChainTransaction.kind == ChainTransactionKind.PAYOUT,
                    ChainTransaction.status == ChainTransactionStatus.SIGNED,
                )
            )
        )
    not_credited = dust = 0
    for row in observed:
        raw = int(row.raw_amount)
        if row.status == DepositStatus.CONFIRMED:
            dust += raw - from_micro(row.amount, decimals)
        else:
            not_credited += raw
    mined = 0
    for payout in open_payouts:
        receipt = await client.receipt(payout.tx_hash)
        if receipt is not None and int(receipt["status"]) == 1:
            mined += int(payout.value)
    tiers = await read_tiers(client, deposit_addresses=addresses, hot=hot, funding=funding)
    return Custody(
        network=network,
        decimals=decimals,
        ledger=custody,
        on_chain=tiers.total,
        not_credited=not_credited,
        dust=dust,
        mined_payouts=mined,
        tiers=tiers,
    )
