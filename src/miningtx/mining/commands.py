"""`mtx rewards`: the operator's view of the daily accrual, and a catch-up to run by hand.

`catch-up` runs the same accrual as the worker (they may run side by side) until nothing
is due. Each pass commits on its own, so Ctrl-C keeps every committed pass and a rerun
credits only what is still missing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from miningtx.config import get_settings
from miningtx.kit.clock import rfc3339
from miningtx.kit.commands import JsonOpt, emit, fail, run
from miningtx.kit.db import Database
from miningtx.mining.accrual import AccrualProgress, accrual_status, accrue

rewards_app = typer.Typer(help="Daily mining rewards.", no_args_is_help=True)

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
