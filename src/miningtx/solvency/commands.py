"""`mtx solvency`: the report, the ledger against each chain, exit 1 when anything fails."""

from __future__ import annotations

import dataclasses

import typer
from rich.table import Table

from miningtx.config import get_settings
from miningtx.kit.commands import JsonOpt, emit_json, fail, out, run
from miningtx.kit.db import Database
from miningtx.kit.money import format_amount
from miningtx.solvency.service import SolvencyReport, solvency_report
from miningtx.wallet.chain import ChainError
from miningtx.wallet.reconcile import Custody, reconcile


def solvency(as_json: JsonOpt = False) -> None:
    """Liabilities against assets per network, coverage ratio, pools and reserves.

    Also proves the ledger invariants and that every reserve matches what it backs, and,
    per network with a node configured, that the USDT held on-chain by the deposit
    addresses, the funding address, the hot wallet and the cold address matches the
    ledger's custody (with each tier's part and the hot share);
    exits 1 when anything fails.
    """
    settings = get_settings()

    async def work(db: Database) -> tuple[SolvencyReport, list[Custody]]:
        async with db.snapshot() as session:
            report = await solvency_report(session)
        return report, await reconcile(db, settings)

    try:
        report, custody = run(work)
    except ChainError as error:
        fail(f"cannot reconcile with the chain: {error}")
    mismatches = [problem for network in custody if (problem := network.problem())]
    report = dataclasses.replace(report, problems=report.problems + mismatches)
    if as_json:
        emit_json(report.as_dict() | {"chains": [network.as_dict() for network in custody]})
    else:
        _print_solvency(report)
        _print_custody(custody)
    if not report.ok:
        if not as_json:
            typer.echo("error: the platform is NOT solvent or its books do not hold", err=True)
        raise typer.Exit(1)


def _print_solvency(report: SolvencyReport) -> None:
    table = Table("", "USDT", title="Solvency")
    sections = (
        ("Liabilities", report.liabilities, report.total_liabilities),
        ("Assets (treasury per network)", report.assets, report.total_assets),
        ("Pools and budgets (operator funds)", report.pools, None),
        ("Operator earnings", report.earnings, None),
    )
    for title, values, total in sections:
        table.add_row(f"[bold]{title}[/bold]", "")
        for name, units in values.items():
            table.add_row(f"  {name}", format_amount(units))
        if total is not None:
            table.add_row("  [bold]total[/bold]", format_amount(total))
    table.add_row("[bold]Coverage ratio[/bold]", report.coverage or "n/a (nothing owed)")
    out.print(table)
    for problem in report.problems:
        typer.echo(f"problem: {problem}", err=True)
    if not report.problems:
        out.print("Ledger invariants hold and every reserve matches what it backs.")


def _print_custody(custody: list[Custody]) -> None:
    for network in custody:
        values = network.as_dict()
        table = Table("", "USDT", title=f"{network.network}: ledger against chain")
        for name in (
            "ledger_custody",
            "not_yet_credited",
            "sub_micro_dust",
            "mined_not_final_payouts",
            "expected_on_chain",
            "on_chain",
            "difference",
        ):
            table.add_row(name.replace("_", " "), values[name])
        for tier in ("deposit_addresses", "funding", "hot", "cold"):
            table.add_row(f"tier: {tier.replace('_', ' ')}", values["tiers"][tier])
        table.add_row("hot share", values["hot_share"] or "n/a")
        out.print(table)
        out.print("match" if network.matches else "[bold red]MISMATCH[/bold red]")
