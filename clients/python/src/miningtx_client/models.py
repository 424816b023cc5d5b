"""Typed request and response objects of the MiningTX API.

Amounts arrive as strings ("2480.75") and become `Decimal`; timestamps become aware
`datetime`s (UTC). Unknown fields are kept (a newer server may add some), never an error.
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import AwareDatetime, BaseModel, BeforeValidator, ConfigDict, PlainSerializer

Network = Literal["bsc", "polygon"]
TransactionType = Literal[
    "deposit",
    "withdrawal",
    "reward",
    "contract",
    "stake",
    "stake_payout",
    "bonus",
    "partner_reward",
    "adjustment",
]
WithdrawalStatus = Literal[
    "pending", "approved", "broadcast", "processed", "rejected", "cancelled", "failed"
]
DocumentType = Literal["passport", "national_id", "driving_licence"]

_AMOUNT = re.compile(r"^-?\d+(\.\d+)?$")


def _amount(value: object) -> object:
    """The API's decimal strings only: a float would lose the exact value."""
    if isinstance(value, str) and not _AMOUNT.match(value):
        raise ValueError(f"not an amount: {value!r}")
    if isinstance(value, float):
        raise ValueError("amounts are decimal strings, never floats")  # noqa: TRY004 - pydantic
    return value


#: An exact USDT amount: parsed from and sent as the API's decimal string.
Amount = Annotated[Decimal, BeforeValidator(_amount), PlainSerializer(str, return_type=str)]
Timestamp = AwareDatetime


class ApiObject(BaseModel):
    """Every response object: immutable, extra fields kept."""

    model_config = ConfigDict(extra="allow", frozen=True)


class Account(ApiObject):
    id: str
    username: str
    email: str
    kyc_status: str
    kyc_bonus_credited: bool
    referral_code: str
    created_at: Timestamp


class Balance(ApiObject):
    currency: str = "USDT"
    available: Amount
    in_contracts: Amount
    total_rewards: Amount
    in_stakes: Amount
    pending_withdrawals: Amount


class Transaction(ApiObject):
    id: str
    type: str
    amount: Amount
    direction: str
    date: dt.date
    created_at: Timestamp
    reference: str | None


class Contract(ApiObject):
    id: str
    name: str
    price: Amount
    hash_ths: Decimal
    daily_reward: Amount
    duration_days: int
    available: int


class Activation(ApiObject):
    id: str
    contract: str
    contract_id: str
    status: str
    price: Amount
    hash_ths: Decimal
    daily_reward: Amount
    duration_days: int
    rewards_paid: int
    activated_at: Timestamp
    expired_at: Timestamp | None


class Reward(ApiObject):
    id: str
    date: dt.date
    contract: str
    activation_id: str
    amount: Amount


class StakingPlan(ApiObject):
    days: int
    roi_percent: Decimal


class StakingPlans(ApiObject):
    min_amount: Amount
    max_amount: Amount
    plans: list[StakingPlan]


class Stake(ApiObject):
    id: str
    amount: Amount
    days: int
    roi_percent: Decimal
    payout: Amount
    status: str
    start_time: Timestamp
    end_time: Timestamp
    completed_at: Timestamp | None


class DepositAddress(ApiObject):
    network: str
    token: str = "USDT"  # noqa: S105 - the token is the coin, not a credential
    address: str
    min_deposit: Amount


class Deposit(ApiObject):
    id: str
    network: str
    token: str = "USDT"  # noqa: S105 - the token is the coin, not a credential
    amount: Amount
    status: str
    confirmations: int
    tx_hash: str | None
    created_at: Timestamp
    credited_at: Timestamp | None


class Withdrawal(ApiObject):
    id: str
    amount: Amount
    network: str
    status: str
    requested_at: Timestamp
    address: str
    fee: Amount
    net_amount: Amount
    tx_hash: str | None
    processed_at: Timestamp | None
    failure_reason: str | None


class LimitWindow(ApiObject):
    limit: Amount
    used: Amount
    remaining: Amount
    oldest_leaves_at: Timestamp | None


class WithdrawalLimits(ApiObject):
    currency: str
    remaining: Amount
    rolling_24h: LimitWindow
    rolling_30d: LimitWindow
    custom: bool


class WithdrawalAddress(ApiObject):
    id: str
    network: str
    address: str
    label: str | None
    created_at: Timestamp
    usable_at: Timestamp
    usable: bool


class DeletedWithdrawalAddress(ApiObject):
    id: str
    deleted: bool


class AddressBookSettings(ApiObject):
    saved_addresses_only: bool
    turns_off_at: Timestamp | None


class Partners(ApiObject):
    referral_code: str
    partner_rate: Decimal
    partners: int
    partner_rewards: Amount


class WebhookEndpoint(ApiObject):
    id: str
    url: str
    events: list[str]
    status: str
    disabled_reason: str | None
    created_at: Timestamp


class CreatedWebhookEndpoint(WebhookEndpoint):
    """The answer to creating an endpoint: the only time its signing secret is shown."""

    secret: str


class DeletedWebhookEndpoint(ApiObject):
    id: str
    deleted: bool


class Event(ApiObject):
    """An event as `GET /v1/events` lists it and a webhook delivers it."""

    id: str
    event: str
    created_at: Timestamp
    data: dict[str, Any]


class Clock(ApiObject):
    now: Timestamp
    advanced_by: int


class Health(ApiObject):
    status: str
