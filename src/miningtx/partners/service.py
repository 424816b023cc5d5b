"""Partner rules: a referred customer's activation pays their referrer 16% of its price.

The reward comes from the partner budget, in the same ledger post as the activation
itself, so it is paid exactly when the activation is and never from thin air.
"""

from __future__ import annotations

import structlog

from miningtx.kit.db import WriteSession
from miningtx.kit.money import format_amount, parse_decimal
from miningtx.ledger import service as ledger
from miningtx.ledger.accounts import Platform, customer_available
from miningtx.models import TransferDirection
from miningtx.partners import repository
from miningtx.partners.repository import PARTNER_REWARD

#: Share of a referred customer's contract price credited to the referrer.
PARTNER_RATE = "0.16"
_RATE_HUNDREDTHS = parse_decimal(PARTNER_RATE, 2)


def partner_reward(price: int) -> int:
    """The referrer's share of `price`, in micro-USDT, rounded down."""
    return price * _RATE_HUNDREDTHS // 100


async def partner_leg(
    session: WriteSession, *, referee_seq: int, activation_id: str, price: int
) -> ledger.Leg | None:
    """The transfer paying the referee's referrer for an activation, or None without one."""
    referrer = await repository.referrer(session, referee_seq)
    amount = partner_reward(price)
    if referrer is None or amount <= 0:
        return None
    return ledger.Leg(
        debit=Platform.PARTNERS,
        credit=customer_available(referrer.id),
        amount=amount,
        kind=PARTNER_REWARD,
        idempotency_key=f"{activation_id}:partner",
        customer_seq=referrer.seq,
        direction=TransferDirection.CREDIT,
        reference=activation_id,
    )


async def report_budget_exhausted(session: WriteSession, leg: ledger.Leg) -> None:
    """Tell the operator, loudly, that a partner reward was refused for want of budget."""
    budget = (await ledger.balances(session, [Platform.PARTNERS]))[Platform.PARTNERS]
    # A fresh logger each time: this path is rare, and it always follows the current config.
    structlog.get_logger("miningtx.partners").error(
        "partner_budget_exhausted",
        activation_id=leg.reference,
        referrer_seq=leg.customer_seq,
        needed=format_amount(leg.amount),
        budget=format_amount(budget),
        action="fund it with: mtx pools fund partners --amount A",
    )
