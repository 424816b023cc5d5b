"""Deposit rules: a confirmed deposit moves funds from the network's treasury to the customer."""

from __future__ import annotations

from datetime import datetime

from miningtx.kit.db import WriteSession
from miningtx.kit.errors import ApiError
from miningtx.kit.ids import new_id
from miningtx.kit.money import UNITS_PER_USDT, format_amount
from miningtx.ledger import service as ledger
from miningtx.ledger.accounts import customer_available, treasury
from miningtx.models import Deposit

MIN_DEPOSIT = 10 * UNITS_PER_USDT


def below_minimum() -> ApiError:
    return ApiError(
        400,
        "amount_below_minimum",
        f"Deposits below {format_amount(MIN_DEPOSIT)} USDT are not credited.",
        param="amount",
    )


async def credit_deposit(
    session: WriteSession,
    *,
    customer_seq: int,
    customer_id: str,
    network: str,
    amount: int,
    now: datetime,
    tx_hash: str | None = None,
) -> Deposit:
    """Record a confirmed deposit and credit it: treasury(network) -> customer available."""
    deposit = Deposit(
        id=new_id("dep"),
        customer_seq=customer_seq,
        network=network,
        amount=amount,
        status="confirmed",
        tx_hash=tx_hash,
        confirmations=0,
        created_at=now,
        credited_at=now,
    )
    [posted] = await ledger.post(
        session,
        [
            ledger.Leg(
                debit=treasury(network),
                credit=customer_available(customer_id),
                amount=amount,
                kind="deposit",
                idempotency_key=f"{deposit.id}:credit",
                customer_seq=customer_seq,
                direction="credit",
                reference=deposit.id,
            )
        ],
        now,
    )
    deposit.transfer_seq = posted.seq
    session.add(deposit)
    await session.flush()
    return deposit
