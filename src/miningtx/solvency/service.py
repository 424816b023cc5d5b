"""The operator's solvency report: what the platform owes against what it holds.

Liabilities are everything customers can claim now or have been promised:
available balances, amounts locked in stakes, pending withdrawals, and the
reserved but unpaid mining rewards and staking yields. Assets are the funds the
treasury accounts record per network. Pools and budgets (reward pool, staking
pool, bonus, partners) and the operator's sales and fees are the operator's own
money: the difference between assets and liabilities.

Besides the figures the report proves two things and lists every failure: the
ledger invariants hold, and each reserve account equals the obligations the
domain tables say it backs (active stakes, open withdrawals, unpaid rewards of
active contracts, hash rate sold).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select

from miningtx.customers.repository import OPEN_WITHDRAWAL_STATES
from miningtx.kit.db import ReadSession
from miningtx.kit.money import format_amount
from miningtx.kit.networks import NETWORKS
from miningtx.ledger import service as ledger
from miningtx.ledger.accounts import CUSTOMER_AVAILABLE, Platform, treasury
from miningtx.models import (
    Activation,
    ActivationStatus,
    Fleet,
    LedgerAccount,
    Stake,
    StakeStatus,
    Withdrawal,
)

#: Liability lines and the platform account behind each (customers' available is a sum).
RESERVES = {
    "in_stakes": Platform.STAKES_LOCKED,
    "pending_withdrawals": Platform.PENDING_WITHDRAWALS,
    "promised_rewards": Platform.REWARD_RESERVED,
    "promised_yields": Platform.STAKING_RESERVED,
}
POOLS = {
    "reward_pool": Platform.REWARD_POOL,
    "staking_pool": Platform.STAKING_POOL,
    "bonus_budget": Platform.BONUS,
    "partner_budget": Platform.PARTNERS,
    "adjustment_budget": Platform.ADJUSTMENTS,
}
EARNINGS = {"sales": Platform.SALES, "fees": Platform.FEES}
#: The coverage ratio is shown with this many decimals, truncated.
RATIO_DECIMALS = 4


@dataclass(frozen=True)
class SolvencyReport:
    liabilities: dict[str, int]
    pools: dict[str, int]
    earnings: dict[str, int]
    assets: dict[str, int]
    #: Every way the books or the reserves fail; empty when all hold.
    problems: list[str]

    @property
    def total_liabilities(self) -> int:
        return sum(self.liabilities.values())

    @property
    def total_assets(self) -> int:
        return sum(self.assets.values())

    @property
    def coverage(self) -> str | None:
        """Assets over liabilities, truncated to 4 decimals; None when nothing is owed."""
        if self.total_liabilities == 0:
            return None
        scaled = self.total_assets * 10**RATIO_DECIMALS // self.total_liabilities
        whole, fraction = divmod(scaled, 10**RATIO_DECIMALS)
        return f"{whole}.{fraction:0{RATIO_DECIMALS}d}"

    @property
    def ok(self) -> bool:
        return not self.problems and self.total_assets >= self.total_liabilities

    def as_dict(self) -> dict[str, Any]:
        def amounts(values: dict[str, int]) -> dict[str, str]:
            return {name: format_amount(units) for name, units in values.items()}

        return {
            "ok": self.ok,
            "liabilities": amounts(self.liabilities),
            "total_liabilities": format_amount(self.total_liabilities),
            "assets": amounts(self.assets),
            "total_assets": format_amount(self.total_assets),
            "coverage_ratio": self.coverage,
            "pools": amounts(self.pools),
            "earnings": amounts(self.earnings),
            "problems": self.problems,
        }


async def solvency_report(session: ReadSession) -> SolvencyReport:
    """Build the report from one consistent snapshot (see `Database.snapshot`)."""
    balance = {
        row.code: row.balance
        for row in await session.execute(select(LedgerAccount.code, LedgerAccount.balance))
    }
    customers_available = (
        await session.execute(
            select(func.coalesce(func.sum(LedgerAccount.balance), 0)).where(
                LedgerAccount.kind == CUSTOMER_AVAILABLE
            )
        )
    ).scalar_one()
    liabilities = {"customers_available": int(customers_available)}
    liabilities |= {name: balance[code] for name, code in RESERVES.items()}
    problems = await ledger.check_invariants(session)
    problems += await _reserve_mismatches(session, balance)
    return SolvencyReport(
        liabilities=liabilities,
        pools={name: balance[code] for name, code in POOLS.items()},
        earnings={name: balance[code] for name, code in EARNINGS.items()},
        # Treasury accounts run negative: minus their balance is what is held on-chain.
        assets={network: -balance[treasury(network)] for network in NETWORKS},
        problems=problems,
    )


async def _reserve_mismatches(session: ReadSession, balance: dict[str, int]) -> list[str]:
    """Each reserve account against the obligations recorded beside it."""

    async def total(expression: Any, *where: Any) -> int:
        return int(
            (
                await session.execute(select(func.coalesce(func.sum(expression), 0)).where(*where))
            ).scalar_one()
        )

    active_contract = Activation.status == ActivationStatus.ACTIVE
    expected = {
        Platform.STAKES_LOCKED: await total(Stake.amount, Stake.status == StakeStatus.ACTIVE),
        Platform.STAKING_RESERVED: await total(
            Stake.payout - Stake.amount, Stake.status == StakeStatus.ACTIVE
        ),
        Platform.PENDING_WITHDRAWALS: await total(
            Withdrawal.amount, Withdrawal.status.in_(OPEN_WITHDRAWAL_STATES)
        ),
        Platform.REWARD_RESERVED: await total(
            Activation.daily_reward * (Activation.duration_days - Activation.rewards_paid),
            active_contract,
        ),
    }
    problems = [
        f"{code}: holds {format_amount(balance[code])} but backs {format_amount(units)}"
        for code, units in expected.items()
        if balance[code] != units
    ]
    sold = (await session.execute(select(Fleet.sold_mths).where(Fleet.id == 1))).scalar_one()
    hosted = await total(Activation.hash_mths, active_contract)
    if sold != hosted:
        problems.append(f"fleet: {sold} mTH/s sold but active contracts use {hosted}")
    return problems
