"""HTTP routes of the partner programme."""

from __future__ import annotations

from fastapi import APIRouter

from miningtx.customers.auth import PrincipalDep, auth_dependencies
from miningtx.kit.deps import ReadDep
from miningtx.partners import repository, service
from miningtx.partners.schemas import PartnersOut

router = APIRouter(tags=["Partners"], dependencies=auth_dependencies)


@router.get("/partners", summary="Your referral code and partner rewards")
async def get_partners(session: ReadDep, principal: PrincipalDep) -> PartnersOut:
    """Customers who sign up with your referral code are your partners: each contract they
    activate credits you `partner_rate` of its price."""
    summary = await repository.summary(session, principal.customer_seq)
    return PartnersOut(
        referral_code=summary.referral_code,
        partner_rate=service.PARTNER_RATE,
        partners=summary.partners,
        partner_rewards=summary.partner_rewards,
    )
