"""`mtx customers`, `mtx keys` and `mtx kyc`: accounts, API keys and KYC review."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.table import Table

from miningtx.audit import service as audit
from miningtx.audit.commands import OperatorOpt, required_operator
from miningtx.config import get_settings
from miningtx.customers import kyc
from miningtx.customers import repository as customers_repo
from miningtx.customers import service as customers
from miningtx.customers.kyc import KycDecision
from miningtx.kit.clock import rfc3339
from miningtx.kit.commands import JsonOpt, emit, emit_json, out, run
from miningtx.kit.db import Database
from miningtx.kit.money import format_amount
from miningtx.models import Customer

customers_app = typer.Typer(help="Customers.", no_args_is_help=True)
keys_app = typer.Typer(help="API keys.", no_args_is_help=True)
kyc_app = typer.Typer(help="KYC review.", no_args_is_help=True)


def _customer_dict(c: Customer) -> dict[str, Any]:
    return {
        "id": c.id,
        "username": c.username,
        "email": c.email,
        "referral_code": c.referral_code,
        "kyc_status": c.kyc_status,
        "created_at": rfc3339(c.created_at),
    }


def _kyc_dict(c: Customer) -> dict[str, Any]:
    return _customer_dict(c) | {
        "kyc_bonus_credited": c.kyc_bonus_credited,
        "kyc_submitted_at": rfc3339(c.kyc_submitted_at) if c.kyc_submitted_at else None,
        "kyc_details": c.kyc_details,
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


@kyc_app.command("list")
def kyc_list(as_json: JsonOpt = False) -> None:
    """Show the customers whose KYC awaits a decision, oldest first."""

    async def work(db: Database) -> list[dict[str, Any]]:
        async with db.read() as session:
            return [_kyc_dict(c) for c in await customers_repo.pending_kyc(session, limit=None)]

    rows = run(work)
    if as_json:
        emit_json({"pending": rows})
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
    operator: OperatorOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Verify a pending KYC and pay the 10 USDT welcome bonus from the bonus budget (once).
    --operator is required."""
    email = required_operator(operator)

    async def work(db: Database) -> KycDecision:
        async with db.write() as session:
            return await kyc.approve_kyc(
                session,
                customer_id,
                await db.clock.sync(session),
                operator=await audit.operator_by_email(session, email),
            )

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
    operator: OperatorOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Reject a pending KYC (--operator required); the customer may submit again."""
    email = required_operator(operator)

    async def work(db: Database) -> Customer:
        async with db.write() as session:
            return await kyc.reject_kyc(
                session,
                customer_id,
                await db.clock.sync(session),
                reason,
                operator=await audit.operator_by_email(session, email),
            )

    customer = run(work)
    emit(as_json, _kyc_dict(customer), f"{customer_id} KYC rejected.")
