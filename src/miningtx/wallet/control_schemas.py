"""Bodies of the withdrawal-limits and address-book routes, and their presenters."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field, StrictBool

from miningtx.kit.clock import Timestamp
from miningtx.kit.money import AmountOut
from miningtx.kit.networks import Network
from miningtx.models import WithdrawalAddress
from miningtx.wallet.controls import AddressMode, Window, WithdrawalLimits


class LimitWindowOut(BaseModel):
    limit: AmountOut = Field(description="The most you can withdraw in this rolling window.")
    used: AmountOut = Field(
        description="Withdrawals requested in the window that were not cancelled, rejected "
        "or failed."
    )
    remaining: AmountOut
    oldest_leaves_at: Timestamp | None = Field(
        description="When the oldest withdrawal counted leaves the window (null: none counts)."
    )


class WithdrawalLimitsOut(BaseModel):
    currency: str = Field(default="USDT", examples=["USDT"])
    remaining: AmountOut = Field(description="What you can withdraw now: the smaller remainder.")
    rolling_24h: LimitWindowOut
    rolling_30d: LimitWindowOut
    custom: bool = Field(description="Whether the operator set limits of your own.")


class WithdrawalAddressIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    network: Network
    address: str = Field(
        max_length=100,
        description="EVM address: 0x + 40 hex digits, EIP-55 checksummed when it mixes case.",
        examples=["0x52908400098527886E0F7030069857D2E4169EE7"],
    )
    label: str | None = Field(default=None, max_length=64, examples=["Cold storage"])


class WithdrawalAddressOut(BaseModel):
    id: str = Field(examples=["wa_7Hc2..."])
    network: Network
    address: str = Field(description="EIP-55 checksummed.")
    label: str | None
    created_at: Timestamp
    usable_at: Timestamp = Field(description="Withdrawals may go here from this time on.")
    usable: bool = Field(description="Whether the cool-down is over now.")


class WithdrawalAddressesOut(BaseModel):
    data: list[WithdrawalAddressOut]
    has_more: bool
    next_cursor: str | None


class DeletedWithdrawalAddressOut(BaseModel):
    id: str
    deleted: bool = Field(examples=[True])


class AddressBookSettingsIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    saved_addresses_only: StrictBool = Field(
        description="true: withdraw only to saved addresses past their cool-down, at once. "
        "false: after the cool-down (the mode stays on until turns_off_at)."
    )


class AddressBookSettingsOut(BaseModel):
    saved_addresses_only: bool
    turns_off_at: Timestamp | None = Field(
        description="Set while a switch-off waits out its cool-down."
    )


def _window(window: Window) -> LimitWindowOut:
    return LimitWindowOut(
        limit=window.limit,
        used=window.used,
        remaining=window.remaining,
        oldest_leaves_at=window.oldest_leaves_at,
    )


def render_limits(limits: WithdrawalLimits) -> WithdrawalLimitsOut:
    return WithdrawalLimitsOut(
        remaining=limits.remaining,
        rolling_24h=_window(limits.day),
        rolling_30d=_window(limits.month),
        custom=limits.overridden,
    )


def render_address(saved: WithdrawalAddress, now: datetime) -> WithdrawalAddressOut:
    return WithdrawalAddressOut(
        id=saved.id,
        network=saved.network,
        address=saved.address,
        label=saved.label,
        created_at=saved.created_at,
        usable_at=saved.usable_at,
        usable=saved.usable_at <= now,
    )


def render_address_mode(mode: AddressMode) -> AddressBookSettingsOut:
    return AddressBookSettingsOut(
        saved_addresses_only=mode.saved_addresses_only, turns_off_at=mode.turns_off_at
    )
