"""`mtx withdrawals`: the operator's review queue; `mtx signer`: the separate process that
holds the wallet's private keys; `mtx wallets status`: the custody tiers per network."""

from __future__ import annotations

import asyncio
import signal
from typing import Annotated, Any

import structlog
import typer
from rich.table import Table

from miningtx.audit import service as audit
from miningtx.audit.commands import OperatorOpt, acting_operator, required_operator
from miningtx.config import Settings, get_settings
from miningtx.customers import service as customers
from miningtx.kit.clock import rfc3339
from miningtx.kit.commands import (
    JsonOpt,
    emit,
    emit_json,
    fail,
    out,
    run,
    without_schema_check,
)
from miningtx.kit.db import Database
from miningtx.kit.logging import configure_logging
from miningtx.kit.money import DECIMALS, AmountError, format_amount, parse_decimal
from miningtx.models import Withdrawal, WithdrawalStatus
from miningtx.wallet import controls
from miningtx.wallet import repository as wallet_repo
from miningtx.wallet import service as wallet
from miningtx.wallet.chain import ChainError, verify_live_chains
from miningtx.wallet.custody import wallet_status
from miningtx.wallet.keys import WalletKeyError
from miningtx.wallet.signer import Keys, Signer, SignerError, load_keys, platform_addresses

withdrawals_app = typer.Typer(help="Withdrawal review.", no_args_is_help=True)
signer_app = typer.Typer(
    help="The signer: sends withdrawals and sweeps deposit addresses (holds the keys).",
    no_args_is_help=True,
)
wallets_app = typer.Typer(help="Custody tiers: hot wallet, cold address, funding.")
log = structlog.get_logger(__name__)


def _check_custody(settings: Settings, keys: Keys) -> None:
    """Refuse a cold address that is one of the platform's own (its key would be here);
    warn about custody settings that leave everything in the hot wallet."""
    own = {keys.hot_wallet().address, keys.funding().address}
    for chain in settings.chains():
        if chain.cold_address in own:
            fail(
                f"MTX_CHAIN_{chain.network.upper()}_COLD_ADDRESS is the platform's own hot "
                "wallet or funding address: the cold address's key must never be here"
            )
        if chain.cold_address is None:
            log.warning(
                "cold_address_unset",
                network=chain.network,
                detail=f"MTX_CHAIN_{chain.network.upper()}_COLD_ADDRESS is unset: sweeps "
                "keep everything in the hot wallet",
            )
        elif chain.hot_ceiling is None:
            log.warning(
                "hot_ceiling_unset",
                network=chain.network,
                detail=f"MTX_CHAIN_{chain.network.upper()}_HOT_CEILING is unset: sweeps "
                "keep everything in the hot wallet",
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
        _check_custody(settings, keys)
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
@without_schema_check
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
        # Still `approved`: the hot wallet cannot cover it yet (the signer pays it later).
        "waiting_since": rfc3339(w.waiting_since) if w.waiting_since else None,
        "waiting_reason": w.waiting_reason,
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
        status = r["status"]
        if r["waiting_since"]:
            status = f"{status}, waiting for hot wallet funds since {r['waiting_since']}"
        table.add_row(
            r["id"],
            status,
            r["amount"],
            r["fee"],
            r["network"],
            r["address"],
            r["requested_at"],
            f"{r['approvals']} of {r['approvals_required']}",
        )
    out.print(table)


@wallets_app.command("status")
def wallets_status(as_json: JsonOpt = False) -> None:
    """Per network: what the deposit addresses, the funding address, the hot wallet and
    the cold address hold (networks with a node), the hot wallet's ceiling, floor, share
    and gas, and the withdrawals waiting for hot-wallet funds. No key is read."""
    settings = get_settings()

    async def work(db: Database) -> list[dict[str, Any]]:
        return await wallet_status(db, settings)

    try:
        networks = run(work)
    except ChainError as error:
        fail(f"cannot read the chain: {error}")
    except WalletKeyError as error:
        fail(str(error))
    if as_json:
        emit_json({"networks": networks})
        return
    for entry in networks:
        table = Table("", "", title=f"{entry['network']}: custody tiers")
        for tier, value in (entry["balances"] or {}).items():
            table.add_row(f"{tier.replace('_', ' ')} (USDT)", value)
        if entry["balances"] is None:
            table.add_row("balances", "no node configured")
        for name in (
            "hot_share",
            "hot_native_wei",
            "hot_ceiling",
            "hot_floor",
            "below_floor",
            "waiting_withdrawals",
            "waiting_needed",
            "hot_wallet",
            "cold_address",
            "funding_address",
        ):
            table.add_row(name.replace("_", " "), "-" if entry[name] is None else str(entry[name]))
        out.print(table)
        if entry["below_floor"]:
            out.print("[bold red]the hot wallet is below its floor: refill it[/bold red]")


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


# --- `mtx customers limits`: per-customer withdrawal limits (wallet.controls) -------------

limits_app = typer.Typer(help="A customer's withdrawal limits.", no_args_is_help=True)
CustomerIdArg = Annotated[str, typer.Argument(help="Customer id (usr_...).")]


def _limits_dict(customer_id: str, limits: controls.WithdrawalLimits) -> dict[str, Any]:
    def window(w: controls.Window) -> dict[str, Any]:
        return {
            "limit": format_amount(w.limit),
            "used": format_amount(w.used),
            "remaining": format_amount(w.remaining),
            "oldest_leaves_at": rfc3339(w.oldest_leaves_at) if w.oldest_leaves_at else None,
        }

    return {
        "customer": customer_id,
        "custom": limits.overridden,
        "remaining": format_amount(limits.remaining),
        "rolling_24h": window(limits.day),
        "rolling_30d": window(limits.month),
    }


def _limits_text(data: dict[str, Any]) -> str:
    day, month = data["rolling_24h"], data["rolling_30d"]
    source = "own limits" if data["custom"] else "deployment defaults"
    return (
        f"{data['customer']} ({source}): 24 h {day['used']} of {day['limit']} USDT used, "
        f"30 d {month['used']} of {month['limit']} USDT used; "
        f"{data['remaining']} USDT can be withdrawn now."
    )


def _show_limits(
    customer_id: str, as_json: bool, change: str | None, operator: str | None = None
) -> None:
    settings = get_settings()
    terms = controls.ControlTerms.from_settings(settings)

    async def work(db: Database) -> dict[str, Any]:
        async with db.write() as session:
            found = await customers.get_customer(session, customer_id)
            now = await db.clock.sync(session)
            if change == "clear":
                acting = await acting_operator(session, operator)
                await controls.clear_limits(session, found.seq, operator=acting, now=now)
            elif change is not None:
                raise AssertionError(change)
            return _limits_dict(
                found.id, await controls.withdrawal_limits(session, found.seq, terms, now)
            )

    data = run(work)
    emit(as_json, data, _limits_text(data))


@limits_app.command("show")
def limits_show(customer: CustomerIdArg, as_json: JsonOpt = False) -> None:
    """The customer's withdrawal limits, what counts against them and what is left."""
    _show_limits(customer, as_json, None)


@limits_app.command("set")
def limits_set(
    customer: CustomerIdArg,
    limit_24h: Annotated[
        str | None, typer.Option("--24h", help="USDT over any rolling 24 hours (0 stops).")
    ] = None,
    limit_30d: Annotated[
        str | None, typer.Option("--30d", help="USDT over any rolling 30 days (0 stops).")
    ] = None,
    operator: OperatorOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Give the customer limits of their own (either or both); the rest stay as they are."""
    if limit_24h is None and limit_30d is None:
        fail("give --24h, --30d or both")
    day = _limit_arg(limit_24h)
    month = _limit_arg(limit_30d)
    settings = get_settings()
    terms = controls.ControlTerms.from_settings(settings)

    async def work(db: Database) -> dict[str, Any]:
        async with db.write() as session:
            found = await customers.get_customer(session, customer)
            now = await db.clock.sync(session)
            acting = await acting_operator(session, operator)
            await controls.set_limits(
                session, found.seq, limit_24h=day, limit_30d=month, operator=acting, now=now
            )
            return _limits_dict(
                found.id, await controls.withdrawal_limits(session, found.seq, terms, now)
            )

    data = run(work)
    emit(as_json, data, _limits_text(data))


@limits_app.command("clear")
def limits_clear(
    customer: CustomerIdArg, operator: OperatorOpt = None, as_json: JsonOpt = False
) -> None:
    """Remove the customer's own limits: MTX_WITHDRAWAL_LIMIT_24H / _30D apply again."""
    _show_limits(customer, as_json, "clear", operator)


def _limit_arg(text: str | None) -> int | None:
    """A limit typed on the command line: a USDT amount, 0 included."""
    if text is None:
        return None
    try:
        return parse_decimal(text, DECIMALS)
    except AmountError as error:
        fail(f"limits are USDT amounts such as 5000.00: {error}")
