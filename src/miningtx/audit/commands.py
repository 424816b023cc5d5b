"""`mtx audit list`, and the `--operator EMAIL` option every deciding command takes."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.table import Table

from miningtx.audit import service as audit
from miningtx.audit.refs import OperatorRef
from miningtx.kit.commands import JsonOpt, emit_json, fail, out, run
from miningtx.kit.db import Database, ReadSession, WriteSession

audit_app = typer.Typer(help="The audit log of operator actions.", no_args_is_help=True)

#: `--operator EMAIL`: who takes the decision (an operator made by `mtx operators create`).
OperatorOpt = Annotated[
    str | None,
    typer.Option("--operator", metavar="EMAIL", help="The operator taking this action."),
]


def required_operator(email: str | None) -> str:
    """The email given with --operator, or a one-line failure saying it is needed."""
    if email is None or not email.strip():
        fail("--operator EMAIL is required: name the operator who takes this decision")
    return email


async def acting_operator(
    session: ReadSession | WriteSession, email: str | None
) -> OperatorRef | None:
    """The operator named by an optional --operator (None when it was not given)."""
    return None if email is None else await audit.operator_by_email(session, email)


@audit_app.command("list")
def audit_list(
    operator: Annotated[
        str | None, typer.Option(metavar="EMAIL", help="Only this operator's (or 'system').")
    ] = None,
    action: Annotated[
        str | None,
        typer.Option(help="Only this action, e.g. withdrawal.approved; 'withdrawal.' for all."),
    ] = None,
    target: Annotated[str | None, typer.Option(help="Only entries about this id.")] = None,
    limit: Annotated[int, typer.Option(help=f"At most this many (1-{audit.MAX_LIMIT}).")] = 100,
    as_json: JsonOpt = False,
) -> None:
    """Show the audit log, newest first."""
    where = audit.AuditFilter(operator=operator, action=action, target=target, limit=limit)

    async def work(db: Database) -> list[dict[str, Any]]:
        async with db.read() as session:
            return [audit.render_entry(e) for e in await audit.entries(session, where)]

    rows = run(work)
    if as_json:
        emit_json({"entries": rows})
        return
    table = Table("at", "operator", "action", "target", "before", "after")
    for r in rows:
        table.add_row(
            r["at"],
            r["operator"],
            r["action"],
            r["target"],
            _brief(r["before"]),
            _brief(r["after"]),
        )
    out.print(table)


def _brief(values: dict[str, Any] | None) -> str:
    return "" if not values else ", ".join(f"{k}={v}" for k, v in values.items())
