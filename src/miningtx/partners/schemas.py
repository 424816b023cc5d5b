"""Response bodies of the partner routes."""

from __future__ import annotations

from pydantic import BaseModel, Field

from miningtx.kit.money import AmountOut


class PartnersOut(BaseModel):
    referral_code: str = Field(examples=["SATOSHI16"])
    partner_rate: str = Field(
        description="Share of a partner's contract price credited to you.", examples=["0.16"]
    )
    partners: int = Field(description="Customers who signed up with your referral code.")
    partner_rewards: AmountOut = Field(
        description="All partner rewards credited to you so far.", examples=["3120.00"]
    )
