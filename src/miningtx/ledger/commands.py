"""`mtx ledger`: proving the books balance. (`mtx pools fund`, an audited operator
action, lives in `pools/commands.py`: the ledger imports no domain, the audit log included.)
"""

from __future__ import annotations

import typer

from miningtx.kit.commands import JsonOpt, emit, run
from miningtx.kit.db import Database
from miningtx.ledger import service as ledger

ledger_app = typer.Typer(help="The ledger.", no_args_is_help=True)


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
