"""`mtx withdrawals`: the operator's review queue; `mtx signer`: the separate process that
holds the wallet's private keys."""

from __future__ import annotations

import asyncio
import signal
from typing import Annotated, Any

import typer
from rich.table import Table

from miningtx.audit import service as audit
from miningtx.audit.commands import OperatorOpt, required_operator
from miningtx.config import get_settings
from miningtx.kit.clock import rfc3339
from miningtx.kit.commands import JsonOpt, emit, emit_json, fail, out, run
from miningtx.kit.db import Database
from miningtx.kit.logging import configure_logging
from miningtx.kit.money import format_amount
from miningtx.models import Withdrawal, WithdrawalStatus
from miningtx.wallet import repository as wallet_repo
from miningtx.wallet import service as wallet
from miningtx.wallet.chain import ChainError, verify_live_chains
from miningtx.wallet.keys import WalletKeyError
from miningtx.wallet.signer import Signer, SignerError, load_keys, platform_addresses

withdrawals_app = typer.Typer(help="Withdrawal review.", no_args_is_help=True)
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
    status: Annotated[
        str, typer.Option(help="pending, approved, broadcast, ...")
    ] = WithdrawalStatus.PENDING,
    as_json: JsonOpt = False,
) -> None:
    """Show withdrawals in one status (default: those awaiting review), oldest first, with
    their approvals ("1 of 2" above the four-eyes threshold)."""
    settings = get_settings()

    async def work(db: Database) -> list[dict[str, Any]]:
        async with db.read() as session:
            found = await wallet_repo.list_for_review(session, status)
            approvers = await wallet_repo.approvers(session, [w.seq for w in found])
            return [
                _withdrawal_dict(w)
                | {
                    "approvals": len(approvers[w.seq]),
                    "approvals_required": wallet.approvals_required(
                        w, settings.withdrawal_four_eyes_above
                    ),
                    "approved_by": approvers[w.seq],
                }
                for w in found
            ]

    rows = run(work)
    if as_json:
        emit_json({"withdrawals": rows})
        return
    table = Table("id", "status", "amount", "fee", "network", "address", "requested", "approvals")
    for r in rows:
        table.add_row(
            r["id"],
            r["status"],
            r["amount"],
            r["fee"],
            r["network"],
            r["address"],
            r["requested_at"],
            f"{r['approvals']} of {r['approvals_required']}",
        )
    out.print(table)


@withdrawals_app.command("approve")
def withdrawals_approve(
    withdrawal_id: Annotated[str, typer.Argument(help="Withdrawal id (wd_...).")],
    operator: OperatorOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Approve a pending withdrawal for the signer to send (--operator required). Above
    MTX_WITHDRAWAL_FOUR_EYES_ABOVE it needs a second approval by another operator. Sandbox,
    on a network with no node configured: the simulated network sends it at once."""
    settings = get_settings()
    email = required_operator(operator)

    async def work(db: Database) -> tuple[Withdrawal, list[str], int]:
        async with db.write() as session:
            withdrawal = await wallet.approve_withdrawal(
                session,
                withdrawal_id,
                await db.clock.sync(session),
                operator=await audit.operator_by_email(session, email),
                simulates=settings.simulates,
                four_eyes_above=settings.withdrawal_four_eyes_above,
            )
            approvers = await wallet_repo.approvers(session, [withdrawal.seq])
            required = wallet.approvals_required(withdrawal, settings.withdrawal_four_eyes_above)
            return withdrawal, approvers[withdrawal.seq], required

    withdrawal, approvers, required = run(work)
    data = _withdrawal_dict(withdrawal) | {
        "approvals": len(approvers),
        "approvals_required": required,
        "approved_by": approvers,
    }
    if withdrawal.status == WithdrawalStatus.PENDING:
        text = (
            f"{withdrawal_id}: approval {len(approvers)} of {required} recorded; it stays "
            "pending until another operator approves it."
        )
    else:
        text = f"{withdrawal_id} is now {withdrawal.status}."
    emit(as_json, data, text)


@withdrawals_app.command("reject")
def withdrawals_reject(
    withdrawal_id: Annotated[str, typer.Argument(help="Withdrawal id (wd_...).")],
    reason: Annotated[str | None, typer.Option(help="Shown to the customer.")] = None,
    operator: OperatorOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Reject a pending withdrawal (--operator required); its amount returns to the
    customer's balance."""
    email = required_operator(operator)

    async def work(db: Database) -> Withdrawal:
        async with db.write() as session:
            return await wallet.reject_withdrawal(
                session,
                withdrawal_id,
                await db.clock.sync(session),
                reason,
                operator=await audit.operator_by_email(session, email),
            )

    withdrawal = run(work)
    emit(
        as_json,
        _withdrawal_dict(withdrawal),
        f"{withdrawal_id} rejected; {format_amount(withdrawal.amount)} USDT returned.",
    )
