"""Response bodies of the account, balance and transactions routes."""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import BaseModel, Field

from miningtx.kit.clock import Timestamp
from miningtx.kit.money import AmountOut

TRANSACTION_TYPES = (
    "deposit",
    "withdrawal",
    "reward",
    "contract",
    "stake",
    "stake_payout",
    "bonus",
    "partner_reward",
)
TransactionType = Literal[
    "deposit",
    "withdrawal",
    "reward",
    "contract",
    "stake",
    "stake_payout",
    "bonus",
    "partner_reward",
]


class AccountOut(BaseModel):
    id: str = Field(examples=["usr_8Kd2..."])
    username: str = Field(examples=["satoshi"])
    email: str = Field(examples=["sat@example.com"])
    kyc_status: Literal["unverified", "pending", "verified", "rejected"]
    kyc_bonus_credited: bool
    referral_code: str = Field(examples=["SATOSHI16"])
    created_at: Timestamp


class BalanceOut(BaseModel):
    currency: Literal["USDT"] = "USDT"
    available: AmountOut
    in_contracts: AmountOut = Field(description="Price sum of your active mining contracts.")
    total_rewards: AmountOut = Field(description="All mining rewards credited to you so far.")
    in_stakes: AmountOut = Field(description="Amounts locked in your active stakes.")
    pending_withdrawals: AmountOut = Field(
        description="Withdrawals requested but not yet sent on-chain."
    )


class TransactionOut(BaseModel):
    id: str = Field(examples=["tx_1a..."])
    type: TransactionType
    amount: AmountOut = Field(description="Always positive; `direction` says which way it moved.")
    direction: Literal["credit", "debit"]
    date: date
    created_at: Timestamp
    reference: str | None = Field(description="The object behind it, such as a ct_ or dep_ id.")


class TransactionsOut(BaseModel):
    data: list[TransactionOut]
    has_more: bool
    next_cursor: str | None
