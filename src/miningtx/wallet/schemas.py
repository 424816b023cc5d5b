"""Bodies of the deposit routes."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from miningtx.kit.clock import Timestamp
from miningtx.kit.money import AmountIn, AmountOut

Network = Literal["bsc", "polygon"]


class TestDepositIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    network: Network
    amount: AmountIn


class DepositOut(BaseModel):
    id: str = Field(examples=["dep_3kq..."])
    network: Network
    token: Literal["USDT"] = "USDT"  # noqa: S105  # the asset, not a credential
    amount: AmountOut
    status: Literal["pending", "confirmed", "below_minimum"]
    confirmations: int
    tx_hash: str | None
    created_at: Timestamp
    credited_at: Timestamp | None
