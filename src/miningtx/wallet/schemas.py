"""Bodies of the deposit and withdrawal routes."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from miningtx.kit.clock import Timestamp
from miningtx.kit.enums import ApiEnum
from miningtx.kit.money import AmountIn, AmountOut
from miningtx.kit.networks import Network
from miningtx.models import Deposit, DepositStatus, Withdrawal, WithdrawalStatus
from miningtx.wallet.keys import ADDRESS_PATTERN

#: A withdrawal status as the API reads and writes it.
WithdrawalStatusField = ApiEnum[WithdrawalStatus]


class TestDepositIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    network: Network
    amount: AmountIn


class DepositOut(BaseModel):
    id: str = Field(examples=["dep_3kq..."])
    network: Network
    token: Literal["USDT"] = "USDT"  # noqa: S105  # the asset, not a credential
    amount: AmountOut
    status: ApiEnum[DepositStatus]
    confirmations: int
    tx_hash: str | None
    created_at: Timestamp
    credited_at: Timestamp | None


class DepositsOut(BaseModel):
    data: list[DepositOut]
    has_more: bool
    next_cursor: str | None


class DepositAddressOut(BaseModel):
    network: Network
    token: Literal["USDT"] = "USDT"  # noqa: S105  # the asset, not a credential
    address: str = Field(
        examples=["0x9f3c5B1e0a3d4A6c2E7b8F9d0C1a2B3c4D5eA21b"],
        description="Your deposit address (EIP-55). The same address serves bsc and polygon.",
    )
    min_deposit: AmountOut = Field(description="Smaller deposits are recorded, not credited.")


class WithdrawalIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    amount: AmountIn = Field(description="USDT leaving your balance; amount - fee is sent.")
    network: Network
    address: str = Field(
        description="Destination EVM address: 0x + 40 hex digits, EIP-55 checksummed "
        "when it mixes upper and lower case.",
        examples=["0x52908400098527886E0F7030069857D2E4169EE7"],
        json_schema_extra={"pattern": ADDRESS_PATTERN},  # checked by keys.checksummed_address
    )


class WithdrawalOut(BaseModel):
    id: str = Field(examples=["wd_4a9c..."])
    amount: AmountOut
    network: Network
    status: WithdrawalStatusField
    requested_at: Timestamp
    address: str
    fee: AmountOut = Field(description="Kept from amount to pay for the on-chain transfer.")
    net_amount: AmountOut = Field(description="amount - fee: what the address receives.")
    tx_hash: str | None
    processed_at: Timestamp | None
    failure_reason: str | None


class WithdrawalsOut(BaseModel):
    data: list[WithdrawalOut]
    has_more: bool
    next_cursor: str | None


def render_deposit(d: Deposit) -> DepositOut:
    return DepositOut(
        id=d.id,
        network=d.network,
        amount=d.amount,
        status=d.status,
        confirmations=d.confirmations,
        tx_hash=d.tx_hash,
        created_at=d.created_at,
        credited_at=d.credited_at,
    )


def render_withdrawal(w: Withdrawal) -> WithdrawalOut:
    return WithdrawalOut(
        id=w.id,
        amount=w.amount,
        network=w.network,
        status=w.status,
        requested_at=w.requested_at,
        address=w.address,
        fee=w.fee,
        net_amount=w.amount - w.fee,
        tx_hash=w.tx_hash,
        processed_at=w.processed_at,
        failure_reason=w.failure_reason,
    )
