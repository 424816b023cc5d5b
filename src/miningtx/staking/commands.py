"""`mtx catalog staking`: stake limits and the ROI curve's plan points (mounted by `cli.py`)."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.table import Table

from miningtx.audit.commands import OperatorOpt, acting_operator
from miningtx.kit.commands import JsonOpt, amount_arg, emit_json, out, run
from miningtx.kit.db import Database, ReadSession, WriteSession
from miningtx.kit.money import format_amount, format_decimal, parse_decimal
from miningtx.staking import repository as staking_repo
from miningtx.staking import service as staking

staking_app = typer.Typer(help="Staking limits and ROI plans.", no_args_is_help=True)


async def _staking_dict(session: ReadSession | WriteSession) -> dict[str, Any]:
    terms, plans = await staking_repo.plans(session)
    return {
        "min_amount": format_amount(terms.min_amount),
        "max_amount": format_amount(terms.max_amount),
        "plans": [{"days": p.days, "roi_percent": format_decimal(p.roi_e4, 4)} for p in plans],
    }


def _emit_staking(as_json: bool, data: dict[str, Any]) -> None:
    if as_json:
        emit_json(data)
        return
    out.print(f"Stakes from {data['min_amount']} to {data['max_amount']} USDT")
    table = Table("days", "ROI %")
    for plan in data["plans"]:
        table.add_row(str(plan["days"]), plan["roi_percent"])
    out.print(table)


@staking_app.command("show")
def staking_show(as_json: JsonOpt = False) -> None:
    """Show the stake limits and the ROI curve's plan points."""

    async def work(db: Database) -> dict[str, Any]:
        async with db.read() as session:
            return await _staking_dict(session)

    _emit_staking(as_json, run(work))


@staking_app.command("limits")
def staking_limits(
    min_amount: Annotated[str | None, typer.Option("--min", help="USDT")] = None,
    max_amount: Annotated[str | None, typer.Option("--max", help="USDT")] = None,
    operator: OperatorOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Change the smallest and largest stake. Existing stakes keep their terms."""

    async def work(db: Database) -> dict[str, Any]:
        async with db.write() as session:
            await staking.set_terms(
                session,
                min_amount=amount_arg(min_amount) if min_amount else None,
                max_amount=amount_arg(max_amount) if max_amount else None,
                operator=await acting_operator(session, operator),
                now=await db.clock.sync(session),
            )
            return await _staking_dict(session)

    _emit_staking(as_json, run(work))


@staking_app.command("set-plan")
def staking_set_plan(
    days: Annotated[int, typer.Argument(help="Lock period in days, 30-365.")],
    roi_percent: Annotated[str, typer.Argument(help="Return in percent, up to 4 decimals.")],
    operator: OperatorOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Add or change a point of the ROI curve; days in between are interpolated."""

    async def work(db: Database) -> dict[str, Any]:
        async with db.write() as session:
            await staking.set_plan(
                session,
                days,
                parse_decimal(roi_percent, 4),
                operator=await acting_operator(session, operator),
                now=await db.clock.sync(session),
            )
            return await _staking_dict(session)

    _emit_staking(as_json, run(work))


@staking_app.command("remove-plan")
def staking_remove_plan(
    days: Annotated[int, typer.Argument(help="The plan point to remove.")],
    operator: OperatorOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Remove an inner point of the ROI curve (30 and 365 days stay)."""

    async def work(db: Database) -> dict[str, Any]:
        async with db.write() as session:
            await staking.remove_plan(
                session,
                days,
                operator=await acting_operator(session, operator),
                now=await db.clock.sync(session),
            )
            return await _staking_dict(session)

    _emit_staking(as_json, run(work))
