"""Queries of the partner programme: who referred whom, and what it has paid."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import bindparam, func, select
from sqlalchemy.orm import aliased

from miningtx.kit.db import ReadSession, WriteSession
from miningtx.models import Customer, LedgerTransfer, TransferKind

PARTNER_REWARD = TransferKind.PARTNER_REWARD


@dataclass(frozen=True, slots=True)
class Referrer:
    seq: int
    id: str


@dataclass(frozen=True, slots=True)
class PartnerSummary:
    referral_code: str
    partners: int
    partner_rewards: int


_referrer = aliased(Customer, name="referrer")
_REFERRER = (
    select(_referrer.seq, _referrer.id)
    .join(Customer, Customer.referred_by_seq == _referrer.seq)
    .where(Customer.seq == bindparam("customer_seq"))
)

_partner = aliased(Customer, name="partner")
_PARTNERS = (
    select(func.count())
    .select_from(_partner)
    .where(_partner.referred_by_seq == bindparam("customer_seq"))
    .scalar_subquery()
)
_PARTNER_REWARDS = (
    select(func.coalesce(func.sum(LedgerTransfer.amount), 0))
    .where(
        LedgerTransfer.customer_seq == bindparam("customer_seq"),
        LedgerTransfer.kind == PARTNER_REWARD,
    )
    .scalar_subquery()
)
_SUMMARY = select(
    Customer.referral_code,
    _PARTNERS.label("partners"),
    _PARTNER_REWARDS.label("partner_rewards"),
).where(Customer.seq == bindparam("customer_seq"))


async def referrer(session: ReadSession | WriteSession, customer_seq: int) -> Referrer | None:
    """The customer who referred `customer_seq`, fixed at sign-up, or None."""
    row = (await session.execute(_REFERRER, {"customer_seq": customer_seq})).one_or_none()
    return None if row is None else Referrer(row.seq, row.id)


async def summary(session: ReadSession, customer_seq: int) -> PartnerSummary:
    """The customer's referral code, partner count and partner rewards, in one round trip."""
    row = (await session.execute(_SUMMARY, {"customer_seq": customer_seq})).one()
    return PartnerSummary(row.referral_code, int(row.partners), int(row.partner_rewards))
