"""`mtx`: run the platform and operate it. Every command takes --json and exits
non-zero with a one-line reason on failure."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import os
import shutil
import signal
import sys
import tempfile
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console
from rich.table import Table

from miningtx.config import Settings, get_settings
from miningtx.customers import kyc
from miningtx.customers import repository as customers_repo
from miningtx.customers import service as customers
from miningtx.customers.kyc import KycDecision
from miningtx.dashboard.commands import operators_app
from miningtx.kit.clock import rfc3339
from miningtx.kit.commands import JsonOpt, emit, fail, run
from miningtx.kit.db import Database, ReadSession, WriteSession
from miningtx.kit.ids import new_id
from miningtx.kit.jobs import WorkerContext
from miningtx.kit.logging import configure_logging
from miningtx.kit.migrate import upgrade
from miningtx.kit.money import (
    AmountError,
    format_amount,
    format_decimal,
    parse_amount,
    parse_decimal,
)
from miningtx.ledger import service as ledger
from miningtx.ledger.accounts import FUNDABLE_POOLS, NETWORKS, Platform
from miningtx.mining import repository as mining_repo
from miningtx.mining import service as mining
from miningtx.mining.commands import rewards_app
from miningtx.models import Customer, Fleet, MiningContract, Withdrawal
from miningtx.solvency import SolvencyReport, solvency_report
from miningtx.staking import repository as staking_repo
from miningtx.staking import service as staking
from miningtx.wallet import repository as wallet_repo
from miningtx.wallet import service as wallet
from miningtx.wallet.chain import ChainError, verify_live_chains
from miningtx.wallet.commands import signer_app
from miningtx.wallet.reconcile import Custody, reconcile
from miningtx.webhooks.commands import webhooks_app
from miningtx.worker import all_jobs, run_forever, run_round

app = typer.Typer(help="MiningTX platform and operator commands.", no_args_is_help=True)
customers_app = typer.Typer(help="Customers.", no_args_is_help=True)
keys_app = typer.Typer(help="API keys.", no_args_is_help=True)
catalog_app = typer.Typer(help="Mining contracts for sale.", no_args_is_help=True)
capacity_app = typer.Typer(help="Fleet capacity in TH/s.", no_args_is_help=True)
pools_app = typer.Typer(help="Reward pools and budgets.", no_args_is_help=True)
ledger_app = typer.Typer(help="The ledger.", no_args_is_help=True)
kyc_app = typer.Typer(help="KYC review.", no_args_is_help=True)
withdrawals_app = typer.Typer(help="Withdrawal review.", no_args_is_help=True)
staking_app = typer.Typer(help="Staking limits and ROI plans.", no_args_is_help=True)
catalog_app.add_typer(staking_app, name="staking")
for sub, name in (
    (customers_app, "customers"),
    (keys_app, "keys"),
    (catalog_app, "catalog"),
    (capacity_app, "capacity"),
    (pools_app, "pools"),
    (ledger_app, "ledger"),
    (kyc_app, "kyc"),
    (withdrawals_app, "withdrawals"),
):
    app.add_typer(sub, name=name)
app.add_typer(rewards_app, name="rewards")
app.add_typer(webhooks_app, name="webhooks")
app.add_typer(operators_app, name="operators")
app.add_typer(signer_app, name="signer")

T = TypeVar("T")
out = Console()


def amount_arg(text: str) -> int:
    try:
        return parse_amount(text)
    except AmountError as error:
        fail(str(error))


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port.")] = 8000,
    workers: Annotated[int, typer.Option(min=1, help="Number of API processes.")] = 1,
    ssl_certfile: Annotated[str | None, typer.Option(help="TLS certificate (PEM).")] = None,
    ssl_keyfile: Annotated[str | None, typer.Option(help="TLS private key (PEM).")] = None,
    forwarded_allow_ips: Annotated[
        str, typer.Option(help="Proxies trusted for X-Forwarded-For.")
    ] = "127.0.0.1",
) -> None:
    """Serve the API; on the embedded SQLite default also run the background worker."""
    settings = get_settings()
    _check_live_chains(settings)
    if settings.is_sqlite:
        upgrade(settings.database_url)
    if (ssl_certfile is None) != (ssl_keyfile is None):
        fail("--ssl-certfile and --ssl-keyfile go together")
    metrics_dir = None
    if workers > 1 and "PROMETHEUS_MULTIPROC_DIR" not in os.environ:
        metrics_dir = tempfile.mkdtemp(prefix="mtx-metrics-")
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = metrics_dir
    try:
        _run_uvicorn(host, port, workers, ssl_certfile, ssl_keyfile, forwarded_allow_ips)
    finally:
        if metrics_dir is not None:
            shutil.rmtree(metrics_dir, ignore_errors=True)


def _run_uvicorn(
    host: str,
    port: int,
    workers: int,
    ssl_certfile: str | None,
    ssl_keyfile: str | None,
    forwarded_allow_ips: str,
) -> None:
    import uvicorn  # noqa: PLC0415  # only `serve` needs the server

    settings = get_settings()
    uvicorn.run(
        "miningtx.app:create_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        ssl_certfile=ssl_certfile,
        ssl_keyfile=ssl_keyfile,
        access_log=False,
        proxy_headers=True,
        forwarded_allow_ips=forwarded_allow_ips,
        log_level=settings.log_level.lower(),
    )


@app.command()
def worker(
    once: Annotated[
        bool, typer.Option("--once", help="Run one round of every job, then exit.")
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """Run the background jobs (rewards, stake maturities, webhook deliveries) until stopped.

    Any number of workers may run at once against one database; SIGINT/SIGTERM stop
    after the current step, and a killed worker leaves nothing half-done."""
    settings = get_settings()
    configure_logging(settings.log_level, json=settings.log_json)
    _check_live_chains(settings)

    async def work(db: Database) -> dict[str, int]:
        ctx = WorkerContext(db, settings)
        if once:
            return await run_round(ctx, all_jobs())
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await run_forever(ctx, stop)
        return {}

    done = run(work)
    if once:
        emit(as_json, done, ", ".join(f"{name}: {count}" for name, count in done.items()))


def _check_live_chains(settings: Settings) -> None:
    """Live start-up: each network's node must be the configured chain with the USDT contract."""
    if settings.sandbox:
        return
    try:
        asyncio.run(verify_live_chains(settings))
    except ChainError as error:
        fail(f"live mode cannot start: {error}")


@app.command()
def migrate(as_json: JsonOpt = False) -> None:
    """Bring the database schema up to date (PostgreSQL deployments run this on release)."""
    settings = get_settings()
    upgrade(settings.database_url)
    emit(as_json, {"migrated": True}, "Database schema is up to date.")


def _customer_dict(c: Customer) -> dict[str, Any]:
    return {
        "id": c.id,
        "username": c.username,
        "email": c.email,
        "referral_code": c.referral_code,
        "kyc_status": c.kyc_status,
        "created_at": rfc3339(c.created_at),
    }


@customers_app.command("create")
def customers_create(
    email: Annotated[str, typer.Option(help="Email address.")],
    username: Annotated[str, typer.Option(help="Username: 3-32 of a-z, 0-9, _.")],
    referral_code: Annotated[str | None, typer.Option(help="Referrer's code.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Create a customer and print it."""

    async def work(db: Database) -> Customer:
        async with db.write() as session:
            return await customers.create_customer(
                session,
                email=email,
                username=username,
                referral_code=referral_code,
                now=await db.clock.sync(session),
            )

    customer = run(work)
    emit(
        as_json,
        _customer_dict(customer),
        f"Created {customer.id} ({customer.username}), referral code {customer.referral_code}",
    )


@keys_app.command("create")
def keys_create(
    customer: Annotated[str, typer.Option(help="Customer id (usr_...).")],
    name: Annotated[str | None, typer.Option(help="A label for the key.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Issue an API key. The secret is printed once and never stored."""
    settings = get_settings()

    async def work(db: Database) -> tuple[str, str, str]:
        async with db.write() as session:
            found = await customers.get_customer(session, customer)
            key, secret = await customers.create_api_key(
                session,
                found,
                prefix=settings.key_prefix,
                now=await db.clock.sync(session),
                name=name,
            )
            return key.id, secret, found.id

    key_id, secret, customer_id = run(work)
    emit(
        as_json,
        {"id": key_id, "customer": customer_id, "key": secret},
        f"Key {key_id} for {customer_id} (shown once, store it now):\n{secret}",
    )


@keys_app.command("revoke")
def keys_revoke(
    key_id: Annotated[str, typer.Argument(help="Key id (key_...).")], as_json: JsonOpt = False
) -> None:
    """Revoke an API key; requests with it get 401 from now on."""

    async def work(db: Database) -> str:
        async with db.write() as session:
            key = await customers.revoke_api_key(session, key_id, await db.clock.sync(session))
            assert key.revoked_at is not None
            return rfc3339(key.revoked_at)

    revoked_at = run(work)
    emit(as_json, {"id": key_id, "revoked_at": revoked_at}, f"Revoked {key_id}.")


def _contract_dict(c: MiningContract) -> dict[str, Any]:
    return {
        "id": c.id,
        "name": c.name,
        "price": format_amount(c.price),
        "hash_ths": format_decimal(c.hash_mths, 3),
        "daily_reward": format_amount(c.daily_reward),
        "duration_days": c.duration_days,
        "on_sale": c.on_sale,
    }


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
        typer.echo(json.dumps({"contracts": rows}, indent=2))
    else:
        _print_catalog(rows)


@catalog_app.command("set")
def catalog_set(
    contract_id: Annotated[str, typer.Argument(help="Contract id, e.g. ultra.")],
    name: Annotated[str | None, typer.Option()] = None,
    price: Annotated[str | None, typer.Option(help="USDT, e.g. 2600.00")] = None,
    hash_ths: Annotated[str | None, typer.Option(help="TH/s, up to 3 decimals")] = None,
    daily_reward: Annotated[str | None, typer.Option(help="USDT per day")] = None,
    duration_days: Annotated[int | None, typer.Option(min=1, max=3650)] = None,
    on_sale: Annotated[bool | None, typer.Option("--on-sale/--off-sale")] = None,
    create: Annotated[bool, typer.Option(help="Create the contract if it does not exist.")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Change (or --create) a contract. Existing activations keep their terms."""

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
            )
            return _contract_dict(contract)

    row = run(work)
    if as_json:
        typer.echo(json.dumps(row, indent=2))
    else:
        _print_catalog([row])


@capacity_app.command("set")
def capacity_set(
    ths: Annotated[str, typer.Argument(help="Fleet capacity in TH/s.")], as_json: JsonOpt = False
) -> None:
    """Declare the fleet capacity that active contracts may use."""

    async def work(db: Database) -> Fleet:
        async with db.write() as session:
            return await mining.set_capacity(session, parse_decimal(ths, 3))

    fleet = run(work)
    data = {
        "capacity_ths": format_decimal(fleet.capacity_mths, 3),
        "sold_ths": format_decimal(fleet.sold_mths, 3),
    }
    emit(as_json, data, f"Capacity {data['capacity_ths']} TH/s, {data['sold_ths']} TH/s sold.")


@capacity_app.command("show")
def capacity_show(as_json: JsonOpt = False) -> None:
    """Show capacity and what active contracts use."""

    async def work(db: Database) -> Fleet:
        async with db.read() as session:
            return await mining_repo.fleet(session)

    fleet = run(work)
    data = {
        "capacity_ths": format_decimal(fleet.capacity_mths, 3),
        "sold_ths": format_decimal(fleet.sold_mths, 3),
    }
    emit(as_json, data, f"Capacity {data['capacity_ths']} TH/s, {data['sold_ths']} TH/s sold.")


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


@app.command()
def solvency(as_json: JsonOpt = False) -> None:
    """Liabilities against assets per network, coverage ratio, pools and reserves.

    Also proves the ledger invariants and that every reserve matches what it backs, and,
    per network with a node configured, that the USDT held on-chain by the deposit
    addresses, the hot wallet and the funding address matches the ledger's custody;
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
        body = report.as_dict() | {"chains": [network.as_dict() for network in custody]}
        typer.echo(json.dumps(body, indent=2))
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
        out.print(table)
        out.print("match" if network.matches else "[bold red]MISMATCH[/bold red]")


def _kyc_dict(c: Customer) -> dict[str, Any]:
    return _customer_dict(c) | {
        "kyc_bonus_credited": c.kyc_bonus_credited,
        "kyc_submitted_at": rfc3339(c.kyc_submitted_at) if c.kyc_submitted_at else None,
        "kyc_details": c.kyc_details,
    }


@kyc_app.command("list")
def kyc_list(as_json: JsonOpt = False) -> None:
    """Show the customers whose KYC awaits a decision, oldest first."""

    async def work(db: Database) -> list[dict[str, Any]]:
        async with db.read() as session:
            return [_kyc_dict(c) for c in await customers_repo.pending_kyc(session, limit=None)]

    rows = run(work)
    if as_json:
        typer.echo(json.dumps({"pending": rows}, indent=2))
        return
    table = Table("id", "username", "submitted", "name", "country", "document")
    for r in rows:
        details = r["kyc_details"] or {}
        table.add_row(
            r["id"],
            r["username"],
            r["kyc_submitted_at"] or "",
            str(details.get("full_name", "")),
            str(details.get("country", "")),
            str(details.get("document_type", "")),
        )
    out.print(table)


@kyc_app.command("approve")
def kyc_approve(
    customer_id: Annotated[str, typer.Argument(help="Customer id (usr_...).")],
    as_json: JsonOpt = False,
) -> None:
    """Verify a pending KYC and pay the 10 USDT welcome bonus from the bonus budget (once)."""

    async def work(db: Database) -> KycDecision:
        async with db.write() as session:
            return await kyc.approve_kyc(session, customer_id, await db.clock.sync(session))

    decision = run(work)
    text = (
        f"{customer_id} was already verified; no second bonus."
        if decision.already_verified
        else f"{customer_id} verified; welcome bonus {format_amount(kyc.KYC_BONUS)} USDT credited."
    )
    emit(
        as_json,
        _kyc_dict(decision.customer)
        | {"bonus_paid": decision.bonus_paid, "already_verified": decision.already_verified},
        text,
    )


@kyc_app.command("reject")
def kyc_reject(
    customer_id: Annotated[str, typer.Argument(help="Customer id (usr_...).")],
    reason: Annotated[str | None, typer.Option(help="Shown to the customer.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Reject a pending KYC; the customer may submit again."""

    async def work(db: Database) -> Customer:
        async with db.write() as session:
            return await kyc.reject_kyc(session, customer_id, await db.clock.sync(session), reason)

    customer = run(work)
    emit(as_json, _kyc_dict(customer), f"{customer_id} KYC rejected.")


def _withdrawal_dict(w: Withdrawal) -> dict[str, Any]:
    return {
        "id": w.id,
        "status": w.status,
        "amount": format_amount(w.amount),
        "fee": format_amount(w.fee),
        "net_amount": format_amount(w.amount - w.fee),
        "network": w.network,
        "address": w.address,
        "requested_at": rfc3339(w.requested_at),
        "tx_hash": w.tx_hash,
        "failure_reason": w.failure_reason,
    }


@withdrawals_app.command("list")
def withdrawals_list(
    status: Annotated[str, typer.Option(help="pending, approved, broadcast, ...")] = "pending",
    as_json: JsonOpt = False,
) -> None:
    """Show withdrawals in one status (default: those awaiting review), oldest first."""

    async def work(db: Database) -> list[dict[str, Any]]:
        async with db.read() as session:
            return [_withdrawal_dict(w) for w in await wallet_repo.list_for_review(session, status)]

    rows = run(work)
    if as_json:
        typer.echo(json.dumps({"withdrawals": rows}, indent=2))
        return
    table = Table("id", "status", "amount", "fee", "network", "address")
    for r in rows:
        table.add_row(
            r["id"],
            r["status"],
            r["amount"],
            r["fee"],
            r["network"],
            r["address"],
            r["requested_at"],
        )
    out.print(table)


@withdrawals_app.command("approve")
def withdrawals_approve(
    withdrawal_id: Annotated[str, typer.Argument(help="Withdrawal id (wd_...).")],
    as_json: JsonOpt = False,
) -> None:
    """Approve a pending withdrawal for the signer to send. Sandbox, on a network with no
    node configured: the simulated network sends it at once."""
    settings = get_settings()

    async def work(db: Database) -> Withdrawal:
        async with db.write() as session:
            found = await wallet_repo.find_withdrawal(session, withdrawal_id)
            return await wallet.approve_withdrawal(
                session,
                withdrawal_id,
                await db.clock.sync(session),
                simulate_chain=found is not None and settings.simulates(found.network),
            )

    withdrawal = run(work)
    emit(as_json, _withdrawal_dict(withdrawal), f"{withdrawal_id} is now {withdrawal.status}.")


@withdrawals_app.command("reject")
def withdrawals_reject(
    withdrawal_id: Annotated[str, typer.Argument(help="Withdrawal id (wd_...).")],
    reason: Annotated[str | None, typer.Option(help="Shown to the customer.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Reject a pending withdrawal; its amount returns to the customer's balance."""

    async def work(db: Database) -> Withdrawal:
        async with db.write() as session:
            return await wallet.reject_withdrawal(
                session, withdrawal_id, await db.clock.sync(session), reason
            )

    withdrawal = run(work)
    emit(
        as_json,
        _withdrawal_dict(withdrawal),
        f"{withdrawal_id} rejected; {format_amount(withdrawal.amount)} USDT returned.",
    )


async def _staking_dict(session: ReadSession | WriteSession) -> dict[str, Any]:
    terms, plans = await staking_repo.plans(session)
    return {
        "min_amount": format_amount(terms.min_amount),
        "max_amount": format_amount(terms.max_amount),
        "plans": [{"days": p.days, "roi_percent": format_decimal(p.roi_e4, 4)} for p in plans],
    }


def _emit_staking(as_json: bool, data: dict[str, Any]) -> None:
    if as_json:
        typer.echo(json.dumps(data, indent=2))
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
    as_json: JsonOpt = False,
) -> None:
    """Change the smallest and largest stake. Existing stakes keep their terms."""

    async def work(db: Database) -> dict[str, Any]:
        async with db.write() as session:
            await staking.set_terms(
                session,
                min_amount=amount_arg(min_amount) if min_amount else None,
                max_amount=amount_arg(max_amount) if max_amount else None,
            )
            return await _staking_dict(session)

    _emit_staking(as_json, run(work))


@staking_app.command("set-plan")
def staking_set_plan(
    days: Annotated[int, typer.Argument(help="Lock period in days, 30-365.")],
    roi_percent: Annotated[str, typer.Argument(help="Return in percent, up to 4 decimals.")],
    as_json: JsonOpt = False,
) -> None:
    """Add or change a point of the ROI curve; days in between are interpolated."""

    async def work(db: Database) -> dict[str, Any]:
        async with db.write() as session:
            await staking.set_plan(session, days, parse_decimal(roi_percent, 4))
            return await _staking_dict(session)

    _emit_staking(as_json, run(work))


@staking_app.command("remove-plan")
def staking_remove_plan(
    days: Annotated[int, typer.Argument(help="The plan point to remove.")],
    as_json: JsonOpt = False,
) -> None:
    """Remove an inner point of the ROI curve (30 and 365 days stay)."""

    async def work(db: Database) -> dict[str, Any]:
        async with db.write() as session:
            await staking.remove_plan(session, days)
            return await _staking_dict(session)

    _emit_staking(as_json, run(work))


@app.command()
def demo(
    base_url: Annotated[
        str, typer.Option(help="Where the API will listen, for the curl line.")
    ] = "http://127.0.0.1:8000",
    as_json: JsonOpt = False,
) -> None:
    """Fill an empty database with demo data and print a working API key (sandbox only)."""
    settings = get_settings()
    if not settings.sandbox:
        fail("demo data is for sandbox mode only")
    # Demo code stays out of the other commands.
    from miningtx.demo import DEMO_OPERATOR_EMAIL, DEMO_USERNAME, seed_demo  # noqa: PLC0415

    result = run(lambda db: seed_demo(db, settings))
    curl = f'curl {base_url}/v1/balance -H "Authorization: Bearer {result.api_key}"'
    emit(
        as_json,
        {
            "customer": result.customer_id,
            "api_key": result.api_key,
            "created": result.created,
            "curl": curl,
            "dashboard": {
                "url": f"{base_url}/login",
                "username": DEMO_USERNAME,
                "password": result.dashboard_password,
            },
            "console": {
                "url": f"{base_url}/console/login",
                "email": DEMO_OPERATOR_EMAIL,
                "password": result.operator_password,
            },
        },
        ("Demo data created" if result.created else "Demo data already present; new key issued")
        + " (DEMO ONLY, not a real account)."
        + f"\nCustomer: {result.customer_id}\nAPI key:  {result.api_key}\nTry:\n  {curl}"
        + f"\nDashboard: {base_url}/login  user {DEMO_USERNAME}"
        + f"  password {result.dashboard_password}"
        + f"\nConsole:   {base_url}/console/login  {DEMO_OPERATOR_EMAIL}"
        + f"  password {result.operator_password}",
    )


def main() -> None:
    try:
        app()
    except KeyboardInterrupt:
        sys.exit(130)


_ = (Settings, WriteSession)
