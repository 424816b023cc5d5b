"""Mining rules: activation funds its whole promise up front, within fleet capacity."""

from __future__ import annotations

from datetime import datetime, time

from sqlalchemy import bindparam, insert, select, update

from miningtx.audit import service as audit
from miningtx.audit.refs import OperatorRef
from miningtx.customers.refs import CustomerRef
from miningtx.kit.clock import first_reward_day
from miningtx.kit.db import WriteSession
from miningtx.kit.errors import ApiError, invalid
from miningtx.kit.ids import new_id
from miningtx.kit.money import format_amount, format_decimal
from miningtx.ledger import service as ledger
from miningtx.ledger.accounts import Platform, customer_available
from miningtx.mining.schemas import render_activation
from miningtx.models import (
    Activation,
    ActivationStatus,
    Fleet,
    MiningContract,
    TransferDirection,
    TransferKind,
)
from miningtx.partners import service as partners
from miningtx.webhooks import outbox

_CONTRACT_ON_SALE = select(
    MiningContract.id,
    MiningContract.name,
    MiningContract.price,
    MiningContract.hash_mths,
    MiningContract.daily_reward,
    MiningContract.duration_days,
).where(MiningContract.id == bindparam("id"), MiningContract.on_sale.is_(True))
_CLAIM_CAPACITY = (
    update(Fleet)
    .where(Fleet.id == 1, Fleet.sold_mths + bindparam("hash_mths") <= Fleet.capacity_mths)
    .values(sold_mths=Fleet.sold_mths + bindparam("hash_mths"))
    .returning(Fleet.id)
)
_INSERT_ACTIVATION = insert(Activation).returning(Activation.seq)
#: Catalog bounds, enforced here for every adapter: the name column's width, and ten years.
CONTRACT_NAME_MAX_LENGTH = 64
MAX_DURATION_DAYS = 3650


def unknown_contract(contract_id: str) -> ApiError:
    return ApiError(
        404, "resource_missing", f"No contract {contract_id!r} is for sale.", param="contract_id"
    )


def sold_out() -> ApiError:
    return ApiError(
        409,
        "sold_out",
        "This contract is sold out: the operator cannot fund or host another one right now.",
    )


def insufficient_balance() -> ApiError:
    return ApiError(
        402, "insufficient_balance", "Your balance is too low to activate this contract."
    )


async def activate(
    session: WriteSession,
    customer: CustomerRef,
    contract_id: str,
    now: datetime,
    *,
    cutoff: time,
) -> Activation:
    """Buy `contract_id` for the customer: pay its price, reserve its whole promised reward.

    A referred customer's activation also pays their referrer's partner reward. Locks
    the fleet row, then the touched ledger rows in id order. Refuses with 409 sold_out
    when capacity, the reward pool or the partner budget is short, 402 when the customer is.
    """
    # Core statements on the transaction's connection: this is the hottest write path,
    # and the ORM's unit of work would only add CPU to three plain statements.
    connection = await session.connection()
    contract = (await connection.execute(_CONTRACT_ON_SALE, {"id": contract_id})).one_or_none()
    if contract is None:
        raise unknown_contract(contract_id)
    # Takes the fleet row lock first and claims the hash rate in one statement; a
    # refusal further down rolls the claim back with the rest of the transaction.
    claimed = await connection.execute(_CLAIM_CAPACITY, {"hash_mths": contract.hash_mths})
    if claimed.first() is None:
        raise sold_out()
    activation_id = new_id("ct")
    legs = [
        ledger.Leg(
            debit=Platform.REWARD_POOL,
            credit=Platform.REWARD_RESERVED,
            amount=contract.daily_reward * contract.duration_days,
            kind=TransferKind.REWARD_RESERVATION,
            idempotency_key=f"{activation_id}:reserve",
            reference=activation_id,
        ),
        ledger.Leg(
            debit=customer_available(customer.id),
            credit=Platform.SALES,
            amount=contract.price,
            kind=TransferKind.CONTRACT,
            idempotency_key=f"{activation_id}:price",
            customer_seq=customer.seq,
            direction=TransferDirection.DEBIT,
            reference=activation_id,
        ),
    ]
    # The referrer's reward goes in the same post, so every row locks together in id order.
    partner = await partners.partner_leg(
        session,
        referee_seq=customer.seq,
        activation_id=activation_id,
        price=contract.price,
    )
    if partner is not None:
        legs.append(partner)
    try:
        await ledger.post(session, legs, now)
    except ledger.InsufficientFunds as short:
        if short.account_code == Platform.PARTNERS and partner is not None:
            await partners.report_budget_exhausted(session, partner)
        raise (
            sold_out()
            if short.account_code in (Platform.REWARD_POOL, Platform.PARTNERS)
            else insufficient_balance()
        ) from None
    terms = {
        "id": activation_id,
        "customer_seq": customer.seq,
        "contract_id": contract.id,
        "contract_name": contract.name,
        "price": contract.price,
        "hash_mths": contract.hash_mths,
        "daily_reward": contract.daily_reward,
        "duration_days": contract.duration_days,
        "rewards_paid": 0,
        "next_reward_on": first_reward_day(now, cutoff),
        "status": ActivationStatus.ACTIVE,
        "activated_at": now,
        "expired_at": None,
    }
    seq = (await connection.execute(_INSERT_ACTIVATION, terms)).scalar_one()
    # The row as inserted, for the caller to render; it is not attached to the session.
    activation = Activation(seq=seq, **terms)
    await outbox.emit(
        session,
        customer_seq=customer.seq,
        event_type="contract.activated",
        data=render_activation(activation).model_dump(mode="json"),
        now=now,
        source_key=f"{activation_id}:activated",
    )
    return activation


async def set_capacity(
    session: WriteSession, capacity_mths: int, *, operator: OperatorRef | None, now: datetime
) -> Fleet:
    """Declare the fleet's capacity; it may not drop below what active contracts use
    (audited)."""
    fleet = (
        await session.execute(select(Fleet).where(Fleet.id == 1).with_for_update())
    ).scalar_one()
    if capacity_mths < fleet.sold_mths:
        raise ApiError(
            409,
            "conflict",
            f"Active contracts use {format_decimal(fleet.sold_mths, 3)} TH/s; "
            "capacity cannot go below that.",
        )
    before = {"capacity_ths": format_decimal(fleet.capacity_mths, 3)}
    fleet.capacity_mths = capacity_mths
    await session.flush()
    await audit.record(
        session,
        actor=operator,
        action="capacity.set",
        target="fleet",
        before=before,
        after={"capacity_ths": format_decimal(capacity_mths, 3)},
        now=now,
    )
    return fleet


def _contract_terms(contract: MiningContract) -> dict[str, object]:
    """A contract's terms as the audit log keeps them (amounts as USDT strings)."""
    return {
        "name": contract.name,
        "price": format_amount(contract.price),
        "hash_ths": format_decimal(contract.hash_mths, 3),
        "daily_reward": format_amount(contract.daily_reward),
        "duration_days": contract.duration_days,
        "on_sale": contract.on_sale,
    }


async def update_contract(
    session: WriteSession,
    contract_id: str,
    *,
    name: str | None = None,
    price: int | None = None,
    hash_mths: int | None = None,
    daily_reward: int | None = None,
    duration_days: int | None = None,
    on_sale: bool | None = None,
    create: bool = False,
    operator: OperatorRef | None,
    now: datetime,
) -> MiningContract:
    """Change a catalog entry's terms; activations keep the terms they were bought with.
    The change is written to the audit log with `operator`.

    Refuses, naming the field, a name longer than CONTRACT_NAME_MAX_LENGTH, a duration
    outside 1..MAX_DURATION_DAYS and any amount or hash rate that is not positive.
    """
    if name is not None and len(name) > CONTRACT_NAME_MAX_LENGTH:
        raise invalid("name", f"Names are at most {CONTRACT_NAME_MAX_LENGTH} characters.")
    if duration_days is not None and not 1 <= duration_days <= MAX_DURATION_DAYS:
        raise invalid("duration_days", f"Durations are 1 to {MAX_DURATION_DAYS} days.")
    contract = await session.get(MiningContract, contract_id)
    before = None if contract is None else _contract_terms(contract)
    if contract is None:
        if not create:
            raise unknown_contract(contract_id)
        if None in (name, price, hash_mths, daily_reward):
            raise ApiError(
                400,
                "invalid_request",
                "A new contract needs name, price, hash rate and daily reward.",
            )
        contract = MiningContract(id=contract_id, duration_days=365, on_sale=True, position=100)
        session.add(contract)
    changes = {
        "name": name,
        "price": price,
        "hash_mths": hash_mths,
        "daily_reward": daily_reward,
        "duration_days": duration_days,
        "on_sale": on_sale,
    }
    for attribute, value in changes.items():
        if value is not None:
            if isinstance(value, int) and not isinstance(value, bool) and value <= 0:
                raise ApiError(
                    400, "invalid_request", f"{attribute} must be positive.", param=attribute
                )
            setattr(contract, attribute, value)
    await session.flush()
    await audit.record(
        session,
        actor=operator,
        action="catalog.created" if before is None else "catalog.changed",
        target=contract.id,
        before=before,
        after=_contract_terms(contract),
        now=now,
    )
    return contract
