"""`mtx pools` and `mtx ledger`: funding the platform's pools, proving the books balance.

Only the ledger and `kit` are needed here, so the ledger still imports no domain.
"""

from __future__ import annotations

from typing import Annotated

import typer

from miningtx.config import get_settings
from miningtx.kit.commands import JsonOpt, amount_arg, emit, fail, run
from miningtx.kit.db import Database
from miningtx.kit.ids import new_id
from miningtx.kit.money import format_amount
from miningtx.kit.networks import NETWORKS
from miningtx.ledger import service as ledger
from miningtx.ledger.accounts import FUNDABLE_POOLS, Platform

pools_app = typer.Typer(help="Reward pools and budgets.", no_args_is_help=True)
ledger_app = typer.Typer(help="The ledger.", no_args_is_help=True)


@pools_app.command("fund")
def pools_fund(
    pool: Annotated[str, typer.Argument(help="rewards, staking, bonus or partners")],
    amount: Annotated[str, typer.Option(help="USDT, e.g. 100000.00")],
    network: Annotated[str, typer.Option(help="Treasury the funds come from.")] = "bsc",
    as_json: JsonOpt = False,
) -> None:
    """Fund a pool. Live: from the USDT the operator deposited to the funding address
    (see `mtx signer addresses`). Sandbox: from a network's treasury, with no chain behind."""
    settings = get_settings()
    if pool not in FUNDABLE_POOLS:
        fail(f"unknown pool {pool!r}; choose one of {', '.join(FUNDABLE_POOLS)}")
    if network not in NETWORKS:
        fail(f"unknown network {network!r}; choose bsc or polygon")
    units = amount_arg(amount)

    async def work(db: Database) -> int:
        async with db.write() as session:
            try:
                await ledger.fund_pool(
                    session,
                    FUNDABLE_POOLS[pool],
                    network if settings.sandbox else None,
                    units,
                    await db.clock.sync(session),
                    reference=new_id("fund"),
                )
            except ledger.InsufficientFunds:
                held = await ledger.balances(session, [Platform.OPERATOR_FUNDS])
                fail(
                    "live mode funds pools only from on-chain deposits to the funding address; "
                    f"operator funds hold {format_amount(held[Platform.OPERATOR_FUNDS])} USDT"
                )
        async with db.read() as session:
            return (await ledger.balances(session, [FUNDABLE_POOLS[pool]]))[FUNDABLE_POOLS[pool]]

    balance = run(work)
    emit(
        as_json,
        {"pool": pool, "funded": format_amount(units), "balance": format_amount(balance)},
        f"Funded {pool} with {format_amount(units)} USDT; balance {format_amount(balance)} USDT.",
    )


@ledger_app.command("check")
def ledger_check(as_json: JsonOpt = False) -> None:
    """Prove the books balance: all balances sum to zero and match their transfers."""

    async def work(db: Database) -> list[str]:
        async with db.read() as session:
            return await ledger.check_invariants(session)

    problems = run(work)
    emit(
        as_json,
        {"ok": not problems, "problems": problems},
        "Ledger invariants hold." if not problems else "\n".join(problems),
    )
    if problems:
        raise typer.Exit(1)
