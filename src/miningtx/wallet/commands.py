"""`mtx signer`: the separate process that holds the wallet's private keys."""

from __future__ import annotations

import asyncio
import signal
from typing import Annotated

import typer

from miningtx.config import get_settings
from miningtx.kit.commands import JsonOpt, emit, fail, run
from miningtx.kit.db import Database
from miningtx.kit.logging import configure_logging
from miningtx.wallet.chain import ChainError, verify_live_chains
from miningtx.wallet.keys import WalletKeyError
from miningtx.wallet.signer import Signer, SignerError, load_keys, platform_addresses

signer_app = typer.Typer(
    help="The signer: sends withdrawals and sweeps deposit addresses (holds the keys).",
    no_args_is_help=True,
)


@signer_app.command("run")
def signer_run(
    once: Annotated[
        bool, typer.Option("--once", help="Run one round over every network, then exit.")
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """Send approved withdrawals, follow them to `processed`/`failed`, sweep deposits.

    Reads the mnemonic from MTX_SIGNER_SEED_FILE (or MTX_SIGNER_MNEMONIC); refuses to
    start unless it matches MTX_WALLET_XPUB. SIGINT/SIGTERM stop after the current step;
    a killed signer never sends a payout twice (see docs/architecture.md)."""
    settings = get_settings()
    configure_logging(settings.log_level, json=settings.log_json)
    try:
        keys = load_keys(settings)
    except (SignerError, WalletKeyError) as error:
        fail(str(error))
    if not settings.chains():
        fail("no network has a node configured: set MTX_CHAIN_BSC_RPC_URL and friends")

    async def work(db: Database) -> int:
        if not settings.sandbox:
            await verify_live_chains(settings)
        signer = Signer(db, settings, keys)
        if once:
            return await signer.run_round()
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await signer.run_forever(stop)
        return 0

    try:
        done = run(work)
    except ChainError as error:
        fail(str(error))
    if once:
        emit(as_json, {"done": done}, f"{done} transactions signed or settled")


@signer_app.command("addresses")
def signer_addresses(as_json: JsonOpt = False) -> None:
    """The hot wallet and the operator's funding address per network (public; no key read)."""
    settings = get_settings()
    try:
        addresses = platform_addresses(settings)
    except WalletKeyError as error:
        fail(str(error))
    lines = [
        f"{network}: hot wallet {pair['hot_wallet']}, funding {pair['funding']}"
        for network, pair in addresses.items()
    ]
    emit(as_json, addresses, "\n".join(lines))
