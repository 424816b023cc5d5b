"""`mtx adjustments propose|approve|reject|list`: manual balance adjustments, four eyes."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.table import Table

from miningtx.adjustments import service as adjustments
from miningtx.audit import service as audit
from miningtx.audit.commands import OperatorOpt, required_operator
from miningtx.kit.commands import JsonOpt, amount_arg, emit, emit_json, out, run
from miningtx.kit.db import Database

adjustments_app = typer.Typer(
    help="Manual credits and debits: one operator proposes, another approves.",
    no_args_is_help=True,
)


@adjustments_app.command("propose")
def adjustments_propose(
    customer_id: Annotated[str, typer.Argument(help="Customer id (usr_...).")],
    direction: Annotated[str, typer.Option(help="credit or debit.")],
    amount: Annotated[str, typer.Option(help="USDT, e.g. 25.00")],
    category: Annotated[str, typer.Option(help=", ".join(adjustments.CATEGORIES))],
    reason: Annotated[str, typer.Option(help="Why (required; kept in the audit log).")],
    operator: OperatorOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Propose a credit or debit; it is posted only once another operator approves it."""
    email = required_operator(operator)
    units = amount_arg(amount)

    async def work(db: Database) -> dict[str, Any]:
        async with db.write() as session:
            proposed = await adjustments.propose(
                session,
                customer_id=customer_id,
                direction=direction,
                amount=units,
                category=category,
                reason=reason,
                operator=await audit.operator_by_email(session, email),
                now=await db.clock.sync(session),
            )
            return await adjustments.find(session, proposed.id)

    row = run(work)
    emit(
        as_json,
        row,
        f"Proposed {row['id']}: {row['direction']} {row['amount']} USDT to {row['customer']}; "
        "it waits for a second operator's approval.",
    )


@adjustments_app.command("approve")
def adjustments_approve(
    adjustment_id: Annotated[str, typer.Argument(help="Adjustment id (adj_...).")],
    operator: OperatorOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Approve and post a proposed adjustment (not by the operator who proposed it)."""
    email = required_operator(operator)

    async def work(db: Database) -> dict[str, Any]:
        async with db.write() as session:
            approved = await adjustments.approve(
                session,
                adjustment_id,
                operator=await audit.operator_by_email(session, email),
                now=await db.clock.sync(session),
            )
            return await adjustments.find(session, approved.id)

    row = run(work)
    emit(
        as_json,
        row,
        f"{row['id']} approved: {row['direction']} {row['amount']} USDT posted to "
        f"{row['customer']}.",
    )


@adjustments_app.command("reject")
def adjustments_reject(
    adjustment_id: Annotated[str, typer.Argument(help="Adjustment id (adj_...).")],
    reason: Annotated[str | None, typer.Option(help="Why it is refused.")] = None,
    operator: OperatorOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Reject a proposed adjustment; nothing is posted."""
    email = required_operator(operator)

    async def work(db: Database) -> dict[str, Any]:
        async with db.write() as session:
            rejected = await adjustments.reject(
                session,
                adjustment_id,
                reason,
                operator=await audit.operator_by_email(session, email),
                now=await db.clock.sync(session),
            )
            return await adjustments.find(session, rejected.id)

    row = run(work)
    emit(as_json, row, f"{row['id']} rejected; nothing posted.")


@adjustments_app.command("list")
def adjustments_list(
    status: Annotated[
        str | None, typer.Option(help="proposed, approved or rejected (default: all).")
    ] = None,
    operator: Annotated[
        str | None, typer.Option("--operator", metavar="EMAIL", help="Only those proposed by.")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Show adjustments, newest first."""

    async def work(db: Database) -> list[dict[str, Any]]:
        async with db.read() as session:
            return list(await adjustments.listing(session, status=status, proposed_by=operator))

    rows = run(work)
    if as_json:
        emit_json({"adjustments": rows})
        return
    table = Table("id", "status", "customer", "direction", "amount", "category", "proposed by")
    for r in rows:
        table.add_row(
            r["id"],
            r["status"],
            r["customer"],
            r["direction"],
            r["amount"],
            r["category"],
            r["proposed_by"],
        )
    out.print(table)
