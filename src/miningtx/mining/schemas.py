"""Request and response bodies of the mining routes."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, PlainSerializer

from miningtx.kit.clock import Timestamp
from miningtx.kit.money import AmountOut, format_decimal
from miningtx.models import Activation, MiningContract

#: Hash rate stored in milli-TH/s, rendered as a decimal string ("2.8", "98").
HashRate = Annotated[int, PlainSerializer(lambda v: format_decimal(v, 3), return_type=str)]


class ContractTermsOut(BaseModel):
    """A catalog entry's terms: what the API, the dashboard and `mtx catalog` all show."""

    id: str = Field(examples=["ultra"])
    name: str = Field(examples=["Ultra Miner"])
    price: AmountOut
    hash_ths: HashRate
    daily_reward: AmountOut
    duration_days: int = Field(description="Number of daily rewards the contract pays.")


class CatalogContractOut(ContractTermsOut):
    """The operator's view of a catalog entry (`mtx catalog`, the console): terms and sale."""

    on_sale: bool


class ContractOut(ContractTermsOut):
    available: int = Field(
        description="How many more of this contract can be activated now, given fleet "
        "capacity and the funded reward pool."
    )


class CatalogOut(BaseModel):
    contracts: list[ContractOut]


class ActivateIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    contract_id: str = Field(min_length=1, max_length=32, examples=["ultra"])


class ActivationOut(BaseModel):
    id: str = Field(examples=["ct_71fa..."])
    contract: str = Field(examples=["Ultra Miner"])
    contract_id: str
    status: str = Field(examples=["active"], description="active or expired")
    price: AmountOut
    hash_ths: HashRate
    daily_reward: AmountOut
    duration_days: int
    rewards_paid: int
    activated_at: Timestamp
    expired_at: Timestamp | None


class ActivationsOut(BaseModel):
    data: list[ActivationOut]
    has_more: bool
    next_cursor: str | None


class RewardOut(BaseModel):
    id: str = Field(description="The ledger transaction that paid the reward.")
    date: date
    contract: str
    activation_id: str
    amount: AmountOut


class RewardsOut(BaseModel):
    rewards: list[RewardOut]
    has_more: bool
    next_cursor: str | None


def render_activation(a: Activation) -> ActivationOut:
    return ActivationOut(
        id=a.id,
        contract=a.contract_name,
        contract_id=a.contract_id,
        status=a.status,
        price=a.price,
        hash_ths=a.hash_mths,
        daily_reward=a.daily_reward,
        duration_days=a.duration_days,
        rewards_paid=a.rewards_paid,
        activated_at=a.activated_at,
        expired_at=a.expired_at,
    )


def render_contract_terms(c: MiningContract) -> ContractTermsOut:
    """The one presentation of a contract's terms (the catalog's operator and customer views)."""
    return ContractTermsOut(
        id=c.id,
        name=c.name,
        price=c.price,
        hash_ths=c.hash_mths,
        daily_reward=c.daily_reward,
        duration_days=c.duration_days,
    )


def render_contract(c: MiningContract, available: int) -> ContractOut:
    """A contract for sale as `GET /v1/contracts` shows it: its terms and how many are left."""
    return ContractOut(**dict(render_contract_terms(c)), available=available)


def render_catalog_contract(c: MiningContract) -> CatalogContractOut:
    """A catalog entry as the operator sees it, on sale or not."""
    return CatalogContractOut(**dict(render_contract_terms(c)), on_sale=c.on_sale)
