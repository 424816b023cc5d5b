"""Names of the ledger accounts.

Sign convention: a balance is credits minus debits. Customer accounts and pools
hold positive balances and can never go below zero (a CHECK constraint). Treasury
accounts mirror assets held on-chain and run negative: -treasury is what the
operator holds on that network.
"""

from __future__ import annotations

from enum import StrEnum

from miningtx.models import AccountKind


class Platform(StrEnum):
    SALES = "platform:sales"
    REWARD_POOL = "platform:reward_pool"
    REWARD_RESERVED = "platform:reward_reserved"
    STAKING_POOL = "platform:staking_pool"
    STAKING_RESERVED = "platform:staking_reserved"
    #: Customers' staked amounts while their stakes run.
    STAKES_LOCKED = "platform:stakes_locked"
    BONUS = "platform:bonus"
    PARTNERS = "platform:partners"
    FEES = "platform:fees"
    PENDING_WITHDRAWALS = "platform:pending_withdrawals"
    #: USDT the operator deposited to the funding address, not yet put into a pool.
    OPERATOR_FUNDS = "platform:operator_funds"
    #: Funds approved manual credits to customers and receives approved debits.
    ADJUSTMENTS = "platform:adjustments"
    TREASURY_BSC = "platform:treasury:bsc"
    TREASURY_POLYGON = "platform:treasury:polygon"


#: Pools an operator can fund, by the name the CLI uses.
FUNDABLE_POOLS = {
    "rewards": Platform.REWARD_POOL,
    "staking": Platform.STAKING_POOL,
    "bonus": Platform.BONUS,
    "partners": Platform.PARTNERS,
    "adjustments": Platform.ADJUSTMENTS,
}

#: The kind of every customer's available account.
CUSTOMER_AVAILABLE = AccountKind.CUSTOMER_AVAILABLE


def treasury(network: str) -> Platform:
    return Platform(f"platform:treasury:{network}")


def customer_available(customer_id: str) -> str:
    return f"customer:{customer_id}:available"


def allows_negative(code: str) -> bool:
    return code.startswith("platform:treasury:")
