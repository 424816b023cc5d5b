"""`mtx`: run the platform and operate it. Every command takes --json and exits
non-zero with a one-line reason on failure.

This module keeps the process commands (serve, worker, migrate, demo) and builds the root
app; each domain's operator commands live in that domain's `commands.py`, mounted below.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import sys
import tempfile
from typing import Annotated

import typer

from miningtx.adjustments.commands import adjustments_app
from miningtx.audit.commands import audit_app
from miningtx.config import Settings, get_settings
from miningtx.customers.commands import customers_app, keys_app, kyc_app
from miningtx.dashboard.commands import operators_app
from miningtx.kit.commands import (
    JsonOpt,
    emit,
    fail,
    guard_commands,
    run,
    set_debug,
    without_schema_check,
)
from miningtx.kit.db import Database
from miningtx.kit.jobs import WorkerContext
from miningtx.kit.logging import configure_logging
from miningtx.kit.migrate import migrate_to_head
from miningtx.ledger.commands import ledger_app
from miningtx.mining.commands import capacity_app, catalog_app, rewards_app
from miningtx.pools.commands import pools_app
from miningtx.solvency.commands import solvency
from miningtx.staking.commands import staking_app
from miningtx.wallet.chain import ChainError, verify_live_chains
from miningtx.wallet.commands import limits_app, signer_app, wallets_app, withdrawals_app
from miningtx.webhooks.commands import webhooks_app
from miningtx.worker import all_jobs, run_forever, run_round

app = typer.Typer(
    help="MiningTX platform and operator commands.",
    no_args_is_help=True,
    # A traceback's locals could hold the database password or the signer's mnemonic.
    pretty_exceptions_show_locals=False,
)
catalog_app.add_typer(staking_app, name="staking")
customers_app.add_typer(limits_app, name="limits")
for sub, name in (
    (customers_app, "customers"),
    (keys_app, "keys"),
    (catalog_app, "catalog"),
    (capacity_app, "capacity"),
    (pools_app, "pools"),
    (ledger_app, "ledger"),
    (kyc_app, "kyc"),
    (withdrawals_app, "withdrawals"),
    (rewards_app, "rewards"),
    (webhooks_app, "webhooks"),
    (operators_app, "operators"),
    (adjustments_app, "adjustments"),
    (audit_app, "audit"),
    (signer_app, "signer"),
    (wallets_app, "wallets"),
):
    app.add_typer(sub, name=name)


@app.callback()
def root(
    debug: Annotated[
        bool,
        typer.Option("--debug", help="Show the Python traceback of a failure (also MTX_DEBUG=1)."),
    ] = False,
) -> None:
    """MiningTX platform and operator commands."""
    set_debug(debug)


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
        # A worker imports the whole app before it answers the supervisor's health check;
        # uvicorn's 5 s default kills and restarts it for ever on a loaded host.
        timeout_worker_healthcheck=60,
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
@without_schema_check
def migrate(as_json: JsonOpt = False) -> None:
    """Bring the database schema up to date (PostgreSQL deployments run this on release)."""
    settings = get_settings()
    migrate_to_head(settings.database_url)
    emit(as_json, {"migrated": True}, "Database schema is up to date.")


app.command("solvency")(solvency)


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

    # The history runs the real jobs; their per-delivery logs would bury the key (stderr).
    configure_logging("WARNING", json=settings.log_json)

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


# Last, so that it wraps every command mounted above.
guard_commands(app)


def main() -> None:
    try:
        app()
    except KeyboardInterrupt:
        sys.exit(130)
