"""Funding a pool: the operator's action behind `mtx pools fund` and the console's form.

The ledger moves the money (`ledger.fund_pool`); this service holds the operator's rule
(which pools, from where) and writes the audit entry, which the ledger (importing no
domain) cannot.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from miningtx.audit import service as audit
from miningtx.audit.refs import OperatorRef
from miningtx.kit.db import WriteSession
from miningtx.kit.errors import ApiError, invalid
from miningtx.kit.ids import new_id
from miningtx.kit.money import format_amount
from miningtx.kit.networks import NETWORKS
from miningtx.ledger import service as ledger
from miningtx.ledger.accounts import FUNDABLE_POOLS, Platform


def unknown_pool(pool: str) -> ApiError:
    return invalid("pool", f"Unknown pool {pool!r}; choose one of {', '.join(FUNDABLE_POOLS)}.")


def short_of_funds(held: int) -> ApiError:
    return ApiError(
        409,
        "insufficient_funds",
        "Live mode funds pools only from on-chain deposits to the funding address; "
        f"operator funds hold {format_amount(held)} USDT.",
        param="amount",
    )


@dataclass(frozen=True, slots=True)
class Funded:
    pool: str
    amount: int
    #: The pool's balance afterwards.
    balance: int


async def fund(
    session: WriteSession,
    pool: str,
    amount: int,
    *,
    network: str,
    sandbox: bool,
    operator: OperatorRef | None,
    now: datetime,
) -> Funded:
    """Move `amount` into the pool named `pool` (a `FUNDABLE_POOLS` name). Live: from the
    operator's on-chain funds (409 insufficient_funds when short); sandbox: from
    `network`'s treasury, with no chain behind it."""
    if pool not in FUNDABLE_POOLS:
        raise unknown_pool(pool)
    if sandbox and network not in NETWORKS:
        raise invalid("network", f"Unknown network {network!r}; choose bsc or polygon.")
    if amount <= 0:
        raise invalid("amount", "The amount must be positive.")
    code = FUNDABLE_POOLS[pool]
    before = (await ledger.balances(session, [code]))[code]
    reference = new_id("fund")
    try:
        await ledger.fund_pool(
            session, code, network if sandbox else None, amount, now, reference=reference
        )
    except ledger.InsufficientFunds:
        held = await ledger.balances(session, [Platform.OPERATOR_FUNDS])
        raise short_of_funds(held[Platform.OPERATOR_FUNDS]) from None
    await audit.record(
        session,
        actor=operator,
        action="pool.funded",
        target=code,
        before={"balance": format_amount(before)},
        after={
            "balance": format_amount(before + amount),
            "funded": format_amount(amount),
            "source": f"treasury:{network}" if sandbox else "operator_funds",
            "reference": reference,
        },
        now=now,
    )
    return Funded(pool, amount, before + amount)
