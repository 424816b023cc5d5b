"""`mtx pools fund`: the operator funds a pool or budget (audited with --operator)."""

from __future__ import annotations

from typing import Annotated

import typer

from miningtx.audit.commands import OperatorOpt, acting_operator
from miningtx.config import get_settings
from miningtx.kit.commands import JsonOpt, amount_arg, emit, fail, run
from miningtx.kit.db import Database
from miningtx.kit.money import format_amount
from miningtx.kit.networks import NETWORKS
from miningtx.ledger.accounts import FUNDABLE_POOLS
from miningtx.pools import service as pools

pools_app = typer.Typer(help="Reward pools and budgets.", no_args_is_help=True)


@pools_app.command("fund")
def pools_fund(
    pool: Annotated[str, typer.Argument(help=", ".join(FUNDABLE_POOLS))],
    amount: Annotated[str, typer.Option(help="USDT, e.g. 100000.00")],
    network: Annotated[str, typer.Option(help="Treasury the funds come from.")] = "bsc",
    operator: OperatorOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Fund a pool. Live: from the USDT the operator deposited to the funding address
    (see `mtx signer addresses`). Sandbox: from a network's treasury, with no chain behind.
    Recorded in the audit log under --operator (without it: as "system")."""
    settings = get_settings()
    if pool not in FUNDABLE_POOLS:
        fail(f"unknown pool {pool!r}; choose one of {', '.join(FUNDABLE_POOLS)}")
    if network not in NETWORKS:
        fail(f"unknown network {network!r}; choose bsc or polygon")
    units = amount_arg(amount)

    async def work(db: Database) -> pools.Funded:
        async with db.write() as session:
            return await pools.fund(
                session,
                pool,
                units,
                network=network,
                sandbox=settings.sandbox,
                operator=await acting_operator(session, operator),
                now=await db.clock.sync(session),
            )

    funded = run(work)
    emit(
        as_json,
        {
            "pool": pool,
            "funded": format_amount(funded.amount),
            "balance": format_amount(funded.balance),
        },
        f"Funded {pool} with {format_amount(funded.amount)} USDT; "
        f"balance {format_amount(funded.balance)} USDT.",
    )
