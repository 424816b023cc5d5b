"""`mtx catalog`, `mtx capacity` and `mtx rewards`: what is for sale, the fleet behind it,
and the operator's view of the daily accrual with a catch-up to run by hand.

`rewards catch-up` runs the same accrual as the worker (they may run side by side) until
nothing is due. Each pass commits on its own, so Ctrl-C keeps every committed pass and a
rerun credits only what is still missing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from miningtx.audit.commands import OperatorOpt, acting_operator
from miningtx.config import get_settings
from miningtx.kit.clock import rfc3339
from miningtx.kit.commands import JsonOpt, amount_arg, emit, emit_json, fail, out, run
from miningtx.kit.db import Database
from miningtx.kit.money import format_decimal, parse_decimal
from miningtx.mining import repository as mining_repo
from miningtx.mining import service as mining
from miningtx.mining.accrual import AccrualProgress, accrual_status, accrue
from miningtx.mining.schemas import render_catalog_contract
from miningtx.models import Fleet, MiningContract

catalog_app = typer.Typer(help="Mining contracts for sale.", no_args_is_help=True)
capacity_app = typer.Typer(help="Fleet capacity in TH/s.", no_args_is_help=True)
rewards_app = typer.Typer(help="Daily mining rewards.", no_args_is_help=True)


def _contract_dict(c: MiningContract) -> dict[str, Any]:
    data: dict[str, Any] = render_catalog_contract(c).model_dump(mode="json")
    return data


def _print_catalog(rows: list[dict[str, Any]]) -> None:
    table = Table("id", "name", "price", "TH/s", "daily reward", "days", "on sale")
    for r in rows:
        table.add_row(
            r["id"],
            r["name"],
            r["price"],
            r["hash_ths"],
            r["daily_reward"],
            str(r["duration_days"]),
            str(r["on_sale"]),
        )
    out.print(table)


@catalog_app.command("show")
def catalog_show(as_json: JsonOpt = False) -> None:
    """Show every contract, on sale or not."""

    async def work(db: Database) -> list[dict[str, Any]]:
        async with db.read() as session:
            return [_contract_dict(c) for c in await mining_repo.all_contracts(session)]

    rows = run(work)
    if as_json:
        emit_json({"contracts": rows})
    else:
        _print_catalog(rows)


@catalog_app.command("set")
def catalog_set(
    contract_id: Annotated[str, typer.Argument(help="Contract id, e.g. ultra.")],
    name: Annotated[str | None, typer.Option()] = None,
    price: Annotated[str | None, typer.Option(help="USDT, e.g. 2600.00")] = None,
    hash_ths: Annotated[str | None, typer.Option(help="TH/s, up to 3 decimals")] = None,
    daily_reward: Annotated[str | None, typer.Option(help="USDT per day")] = None,
    duration_days: Annotated[
        int | None, typer.Option(help=f"1 to {mining.MAX_DURATION_DAYS}")
    ] = None,
    on_sale: Annotated[bool | None, typer.Option("--on-sale/--off-sale")] = None,
    create: Annotated[bool, typer.Option(help="Create the contract if it does not exist.")] = False,
    operator: OperatorOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Change (or --create) a contract. Existing activations keep their terms. Audited
    under --operator (without it: as "system")."""

    async def work(db: Database) -> dict[str, Any]:
        async with db.write() as session:
            contract = await mining.update_contract(
                session,
                contract_id,
                name=name,
                price=amount_arg(price) if price else None,
                hash_mths=parse_decimal(hash_ths, 3) if hash_ths else None,
                daily_reward=amount_arg(daily_reward) if daily_reward else None,
                duration_days=duration_days,
                on_sale=on_sale,
                create=create,
                operator=await acting_operator(session, operator),
                now=await db.clock.sync(session),
            )
            return _contract_dict(contract)

    row = run(work)
    if as_json:
        emit_json(row)
    else:
        _print_catalog([row])


def _emit_capacity(as_json: bool, fleet: Fleet) -> None:
    data = {
        "capacity_ths": format_decimal(fleet.capacity_mths, 3),
        "sold_ths": format_decimal(fleet.sold_mths, 3),
    }
    emit(as_json, data, f"Capacity {data['capacity_ths']} TH/s, {data['sold_ths']} TH/s sold.")


@capacity_app.command("set")
def capacity_set(
    ths: Annotated[str, typer.Argument(help="Fleet capacity in TH/s.")],
    operator: OperatorOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Declare the fleet capacity that active contracts may use (audited under --operator)."""

    async def work(db: Database) -> Fleet:
        async with db.write() as session:
            return await mining.set_capacity(
                session,
                parse_decimal(ths, 3),
                operator=await acting_operator(session, operator),
                now=await db.clock.sync(session),
            )

    _emit_capacity(as_json, run(work))


@capacity_app.command("show")
def capacity_show(as_json: JsonOpt = False) -> None:
    """Show capacity and what active contracts use."""

    async def work(db: Database) -> Fleet:
        async with db.read() as session:
            return await mining_repo.fleet(session)

    _emit_capacity(as_json, run(work))


#: The exit code of a command stopped by Ctrl-C (128 + SIGINT).
INTERRUPTED = 130


@dataclass
class _CatchUp:
    """What the catch-up has committed so far, kept outside the event loop for Ctrl-C."""

    rewards: int = 0
    contracts: int = 0
    expired: int = 0
    runs: int = 0
    last: AccrualProgress | None = None


@rewards_app.command("catch-up")
def catch_up(as_json: JsonOpt = False) -> None:
    """Credit every reward due now, pass by pass, until nothing is due.

    Safe beside running workers and safe to interrupt: committed passes stay, a rerun
    credits only what is still missing."""
    settings = get_settings()
    done = _CatchUp()
    bar = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("contracts · {task.fields[rewards]} rewards credited"),
        TimeElapsedColumn(),
        console=Console(stderr=True),
        disable=as_json,
        transient=False,
    )

    async def work(db: Database) -> None:
        with bar:
            task = bar.add_task("catching up", total=None, rewards=0)
            # A long catch-up may see another cut-off pass: run again until a run pays nothing.
            while True:
                status = await accrual_status(db)
                previous = done.contracts
                bar.update(
                    task,
                    total=previous + status.due,
                    description=f"up to {status.target.isoformat()}",
                )

                def report(progress: AccrualProgress, base: int = previous) -> None:
                    done.contracts = base + progress.contracts
                    done.last = progress
                    bar.update(
                        task,
                        completed=done.contracts,
                        rewards=done.rewards + progress.rewards,
                        description=(
                            f"up to {progress.target.isoformat()}, paying "
                            f"{progress.day.isoformat() if progress.day else '-'}"
                        ),
                    )

                result = await accrue(
                    db, batch_size=settings.accrual_batch_size, on_progress=report
                )
                done.runs += 1
                done.rewards += result.rewards
                done.expired += result.expired
                done.last = result
                if result.rewards == 0:
                    return

    try:
        run(work)
    except KeyboardInterrupt:
        fail(
            f"interrupted after {done.rewards} rewards committed in finished runs "
            f"(at least {done.last.rewards if done.last else 0} more in the current one); "
            "committed passes stay, rerun `mtx rewards catch-up` to credit the rest",
            INTERRUPTED,
        )
    last = done.last
    data: dict[str, Any] = {
        "credited": done.rewards,
        "contracts": done.contracts,
        "expired": done.expired,
        "target_day": last.target.isoformat() if last else None,
        "now": rfc3339(last.now) if last else None,
        "due": 0,
    }
    emit(
        as_json,
        data,
        f"Credited {done.rewards} rewards to {done.contracts} contracts "
        f"({done.expired} expired); nothing is due up to {data['target_day']}.",
    )


@rewards_app.command("status")
def status(as_json: JsonOpt = False) -> None:
    """Show how many contracts are owed a reward now and the last reward credited."""
    found = run(accrual_status)
    data: dict[str, Any] = {
        "now": rfc3339(found.now),
        "target_day": found.target.isoformat(),
        "due": found.due,
        "last_credited_day": (
            found.last_credited_day.isoformat() if found.last_credited_day else None
        ),
        "last_credited_at": (rfc3339(found.last_credited_at) if found.last_credited_at else None),
    }
    emit(
        as_json,
        data,
        f"{found.due} contracts owed rewards up to {data['target_day']} (now {data['now']}); "
        f"last reward credited for {data['last_credited_day'] or 'no day yet'}.",
    )
