"""Request and response bodies of the staking routes."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, PlainSerializer, WithJsonSchema

from miningtx.kit.clock import Timestamp
from miningtx.kit.money import AmountIn, AmountOut, format_decimal
from miningtx.staking.limits import MAX_DAYS, MIN_DAYS

#: ROI stored in units of 0.0001 percent, rendered without trailing zeros ("420", "62.4").
RoiPercent = Annotated[
    int,
    PlainSerializer(lambda v: format_decimal(v, 4), return_type=str),
    WithJsonSchema({"type": "string", "examples": ["420"]}, mode="serialization"),
]


class PlanOut(BaseModel):
    days: int = Field(examples=[180])
    roi_percent: RoiPercent


class PlansOut(BaseModel):
    min_amount: AmountOut
    max_amount: AmountOut
    plans: list[PlanOut]


class StakeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    amount: AmountIn = Field(
        description="Amount of USDT to stake (between min_amount and max_amount)."
    )
    days: int = Field(
        strict=True,
        ge=MIN_DAYS,
        le=MAX_DAYS,
        examples=[180],
        description="Lock period in days (30-365). ROI is interpolated for in-between values.",
    )


class StakeOut(BaseModel):
    id: str = Field(examples=["stk_7b21..."])
    amount: AmountOut
    days: int
    roi_percent: RoiPercent
    payout: AmountOut = Field(description="Credited to your balance at end_time.")
    status: str = Field(examples=["active"], description="active or completed")
    start_time: Timestamp
    end_time: Timestamp
    completed_at: Timestamp | None = Field(description="When the payout was credited.")


class StakesOut(BaseModel):
    stakes: list[StakeOut]
    has_more: bool
    next_cursor: str | None
