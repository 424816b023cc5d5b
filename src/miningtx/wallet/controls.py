"""Withdrawal controls: rolling 24 h / 30 d limits with operator overrides, auto-approval
and the address book with its cool-down.

`wallet.service.request_withdrawal` calls `check_withdrawal` after its own checks (address,
minimum, KYC) and before it holds the balance. `check_withdrawal` first locks the
customer's `withdrawal_controls` row (SELECT ... FOR UPDATE on PostgreSQL; SQLite's
BEGIN IMMEDIATE already serialises writers), so two requests of one customer are
decided one after the other and the limits hold however many race.

A withdrawal counts against the limits from the moment it is requested unless it ended
without money leaving: cancelled, rejected or failed ones (their amount was returned) do
not count. Pending, approved, broadcast and processed ones do. The windows roll: a
withdrawal requested at t counts until t + 24 h (t + 30 days), on the deployment clock.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from miningtx.audit import service as audit
from miningtx.audit.refs import OperatorRef
from miningtx.config import (
    DEFAULT_WITHDRAWAL_ADDRESS_DELAY,
    DEFAULT_WITHDRAWAL_LIMIT_24H,
    DEFAULT_WITHDRAWAL_LIMIT_30D,
    Settings,
)
from miningtx.customers.refs import CustomerRef
from miningtx.kit.db import ReadSession, WriteSession
from miningtx.kit.errors import ApiError, invalid, not_found
from miningtx.kit.ids import new_id
from miningtx.kit.money import format_amount
from miningtx.kit.networks import parse_network
from miningtx.kit.pagination import PageRequest
from miningtx.models import (
    WithdrawalAddress,
    WithdrawalControls,
    WithdrawalStatus,
)
from miningtx.wallet import repository
from miningtx.wallet.keys import AddressError, checksummed_address

AnySession = ReadSession | WriteSession

#: Withdrawals that count against the limits: every one not ended with its amount returned.
COUNTED_STATUSES = (
    WithdrawalStatus.PENDING,
    WithdrawalStatus.APPROVED,
    WithdrawalStatus.BROADCAST,
    WithdrawalStatus.PROCESSED,
)
DAY = timedelta(hours=24)
MONTH = timedelta(days=30)
#: Saved addresses per customer: enough for anyone, bounded for the list and the lookup.
MAX_SAVED_ADDRESSES = 100
LABEL_MAX_LENGTH = 64


def withdrawal_limit_exceeded(window: str, limit: int, left: int) -> ApiError:
    return ApiError(
        403,
        "withdrawal_limit_exceeded",
        f"This withdrawal would exceed your {window} withdrawal limit of "
        f"{format_amount(limit)} USDT: you can withdraw {format_amount(left)} USDT more now.",
        param="amount",
    )


def address_not_allowed() -> ApiError:
    return ApiError(
        403,
        "address_not_allowed",
        "You withdraw only to saved addresses, and this address is not saved for this "
        "network or is still in its cool-down.",
        param="address",
    )


def address_already_saved() -> ApiError:
    return ApiError(
        409, "conflict", "This address is already saved for this network.", param="address"
    )


def too_many_addresses() -> ApiError:
    return ApiError(
        409,
        "conflict",
        f"You have saved {MAX_SAVED_ADDRESSES} addresses: delete one before saving another.",
        param="address",
    )


@dataclass(frozen=True, slots=True)
class ControlTerms:
    """The deployment's limits, auto-approval ceiling (None: off) and address cool-down."""

    limit_24h: int = DEFAULT_WITHDRAWAL_LIMIT_24H
    limit_30d: int = DEFAULT_WITHDRAWAL_LIMIT_30D
    auto_approve_max: int | None = None
    address_delay: timedelta = field(default=DEFAULT_WITHDRAWAL_ADDRESS_DELAY)
    #: Above this a withdrawal needs two operators, so it is never approved automatically.
    four_eyes_above: int | None = None

    @classmethod
    def from_settings(cls, settings: Settings) -> ControlTerms:
        return cls(
            limit_24h=settings.withdrawal_limit_24h,
            limit_30d=settings.withdrawal_limit_30d,
            auto_approve_max=settings.withdrawal_auto_approve_max,
            address_delay=settings.withdrawal_address_delay,
            four_eyes_above=settings.withdrawal_four_eyes_above,
        )

    def auto_approves(self, amount: int) -> bool:
        """Whether a withdrawal of `amount` that passed every check needs no operator."""
        if self.four_eyes_above is not None and amount > self.four_eyes_above:
            return False
        return self.auto_approve_max is not None and amount <= self.auto_approve_max


@dataclass(frozen=True, slots=True)
class Window:
    """One rolling window: its limit, what counts in it now, and when the oldest counted
    withdrawal leaves it (None when nothing counts)."""

    label: str
    limit: int
    used: int
    oldest_leaves_at: datetime | None

    @property
    def remaining(self) -> int:
        return max(0, self.limit - self.used)


@dataclass(frozen=True, slots=True)
class WithdrawalLimits:
    """A customer's limits and what is left of them at one moment."""

    day: Window
    month: Window
    #: Whether an operator set either limit for this customer.
    overridden: bool

    @property
    def remaining(self) -> int:
        """The most the customer can withdraw right now."""
        return min(self.day.remaining, self.month.remaining)

    def refusal(self, amount: int) -> ApiError | None:
        """403 withdrawal_limit_exceeded if `amount` does not fit in both windows."""
        for window in (self.day, self.month):
            if amount > window.remaining:
                return withdrawal_limit_exceeded(window.label, window.limit, self.remaining)
        return None


@dataclass(frozen=True, slots=True)
class AddressMode:
    """Whether withdrawals may go only to saved addresses, and when that ends (switched off,
    it stays on for the cool-down)."""

    saved_addresses_only: bool
    turns_off_at: datetime | None


# --- limits ------------------------------------------------------------------------------


async def _window(
    session: AnySession,
    customer_seq: int,
    label: str,
    *,
    limit: int,
    span: timedelta,
    now: datetime,
) -> Window:
    used, oldest = await repository.withdrawn_since(
        session, customer_seq, now - span, COUNTED_STATUSES
    )
    return Window(label, limit, used, oldest + span if oldest is not None else None)


async def _limits(
    session: AnySession,
    customer_seq: int,
    controls: WithdrawalControls | None,
    terms: ControlTerms,
    now: datetime,
) -> WithdrawalLimits:
    override_24h = controls.limit_24h if controls is not None else None
    override_30d = controls.limit_30d if controls is not None else None
    return WithdrawalLimits(
        day=await _window(
            session,
            customer_seq,
            "24-hour",
            limit=terms.limit_24h if override_24h is None else override_24h,
            span=DAY,
            now=now,
        ),
        month=await _window(
            session,
            customer_seq,
            "30-day",
            limit=terms.limit_30d if override_30d is None else override_30d,
            span=MONTH,
            now=now,
        ),
        overridden=override_24h is not None or override_30d is not None,
    )


async def withdrawal_limits(
    session: AnySession, customer_seq: int, terms: ControlTerms, now: datetime
) -> WithdrawalLimits:
    """The customer's limits and what is left now (GET /v1/withdrawals/limits, pages)."""
    controls = await session.get(WithdrawalControls, customer_seq)
    return await _limits(session, customer_seq, controls, terms, now)


async def lock_controls(
    session: WriteSession, customer_seq: int, now: datetime
) -> WithdrawalControls:
    """The customer's controls row, created on first use and locked for this transaction.

    INSERT ... ON CONFLICT DO NOTHING makes a concurrent first use wait for (then see) the
    other's row instead of failing; FOR UPDATE then queues the customer's requests.
    """
    return await repository.locked_controls(session, customer_seq, now)


async def check_withdrawal(
    session: WriteSession,
    customer_seq: int,
    *,
    network: str,
    address: str,
    amount: int,
    terms: ControlTerms,
    now: datetime,
) -> WithdrawalLimits:
    """Refuse a withdrawal the controls do not allow; the caller then holds the balance.

    Locks the customer's controls first (see the module docstring). Checks, in order: the
    address book when the customer withdraws only to saved addresses (403
    address_not_allowed), then both rolling limits (403 withdrawal_limit_exceeded, with
    what is left in the message). `address` is already EIP-55 checksummed.
    """
    controls = await lock_controls(session, customer_seq, now)
    if _mode(controls, now).saved_addresses_only:
        saved = await repository.saved_address(session, customer_seq, network, address)
        if saved is None or saved.usable_at > now:
            raise address_not_allowed()
    limits = await _limits(session, customer_seq, controls, terms, now)
    refusal = limits.refusal(amount)
    if refusal is not None:
        raise refusal
    return limits


def _checked_limit(value: int | None, param: str) -> int | None:
    if value is not None and value < 0:
        raise invalid(param, "A limit is an amount of zero or more.")
    return value


async def set_limits(
    session: WriteSession,
    customer_seq: int,
    *,
    limit_24h: int | None,
    limit_30d: int | None,
    operator: OperatorRef | None,
    now: datetime,
) -> WithdrawalControls:
    """The operator sets the customer's own limits; None leaves that one as it is.

    A limit of 0 stops the customer's withdrawals. Takes effect for the next request.
    """
    _checked_limit(limit_24h, "limit_24h")
    _checked_limit(limit_30d, "limit_30d")
    controls = await lock_controls(session, customer_seq, now)
    before = _overrides(controls)
    if limit_24h is not None:
        controls.limit_24h = limit_24h
    if limit_30d is not None:
        controls.limit_30d = limit_30d
    controls.updated_at = now
    await session.flush()
    await _audit_limits(
        session, "withdrawal_limits.set", controls, before=before, operator=operator, now=now
    )
    return controls


async def clear_limits(
    session: WriteSession, customer_seq: int, *, operator: OperatorRef | None, now: datetime
) -> WithdrawalControls:
    """The operator removes the customer's own limits: the deployment's defaults apply again."""
    controls = await lock_controls(session, customer_seq, now)
    before = _overrides(controls)
    controls.limit_24h = None
    controls.limit_30d = None
    controls.updated_at = now
    await session.flush()
    await _audit_limits(
        session, "withdrawal_limits.cleared", controls, before=before, operator=operator, now=now
    )
    return controls


def _overrides(controls: WithdrawalControls) -> dict[str, str | None]:
    """The customer's own limits as the audit log records them (None: the default)."""
    return {
        name: None if value is None else format_amount(value)
        for name, value in (("limit_24h", controls.limit_24h), ("limit_30d", controls.limit_30d))
    }


async def _audit_limits(
    session: WriteSession,
    action: str,
    controls: WithdrawalControls,
    *,
    before: dict[str, str | None],
    operator: OperatorRef | None,
    now: datetime,
) -> None:
    await audit.record(
        session,
        actor=operator,
        action=action,
        target=await repository.customer_id(session, controls.customer_seq),
        before=dict(before),
        after=dict(_overrides(controls)),
        now=now,
    )


# --- the address book --------------------------------------------------------------------


def _mode(controls: WithdrawalControls | None, now: datetime) -> AddressMode:
    if controls is None or not controls.saved_addresses_only:
        return AddressMode(False, None)
    until = controls.saved_addresses_only_until
    if until is not None and until <= now:
        return AddressMode(False, None)
    return AddressMode(True, until)


async def address_mode(session: AnySession, customer_seq: int, now: datetime) -> AddressMode:
    """Whether the customer withdraws only to saved addresses right now."""
    return _mode(await session.get(WithdrawalControls, customer_seq), now)


async def set_saved_addresses_only(
    session: WriteSession, customer_seq: int, on: bool, terms: ControlTerms, now: datetime
) -> AddressMode:
    """Switch "withdraw only to saved addresses" on (at once) or off (after the cool-down:
    it stays on until then, so a stolen key cannot lift it and withdraw at once).

    Switching off again while already switching off keeps the earlier time; switching on
    cancels a pending switch-off.
    """
    controls = await lock_controls(session, customer_seq, now)
    current = _mode(controls, now)
    if on:
        controls.saved_addresses_only = True
        controls.saved_addresses_only_until = None
    elif not current.saved_addresses_only:
        controls.saved_addresses_only = False
        controls.saved_addresses_only_until = None
    elif current.turns_off_at is None:
        controls.saved_addresses_only_until = now + terms.address_delay
    controls.updated_at = now
    await session.flush()
    return _mode(controls, now)


async def list_addresses(
    session: ReadSession, customer_seq: int, page: PageRequest
) -> list[tuple[int, WithdrawalAddress]]:
    return await repository.list_saved_addresses(session, customer_seq, page)


async def save_address(
    session: WriteSession,
    customer: CustomerRef,
    *,
    network: str,
    address: str,
    label: str | None,
    terms: ControlTerms,
    now: datetime,
) -> WithdrawalAddress:
    """Save a destination; withdrawals may go there once `terms.address_delay` has passed.

    The address is checked as a withdrawal's is (400 param address); an address already
    saved for that network, or a full address book, is 409 conflict. Callers that have a
    second factor to ask for (the dashboard's TOTP) ask for it before calling.
    """
    try:
        network = parse_network(network)
    except ValueError as error:
        raise invalid("network", str(error)) from None
    try:
        destination = checksummed_address(address)
    except AddressError as error:
        raise invalid("address", str(error)) from None
    label = (label or "").strip() or None
    if label is not None and (len(label) > LABEL_MAX_LENGTH or not label.isprintable()):
        raise invalid("label", f"A label is at most {LABEL_MAX_LENGTH} printable characters.")
    # The lock also orders concurrent saves, so the cap and the duplicate check hold.
    await lock_controls(session, customer.seq, now)
    if await repository.saved_address(session, customer.seq, network, destination) is not None:
        raise address_already_saved()
    if await repository.count_saved_addresses(session, customer.seq) >= MAX_SAVED_ADDRESSES:
        raise too_many_addresses()
    saved = WithdrawalAddress(
        id=new_id("wa"),
        customer_seq=customer.seq,
        network=network,
        address=destination,
        label=label,
        created_at=now,
        usable_at=now + terms.address_delay,
    )
    session.add(saved)
    await session.flush()
    return saved


async def delete_address(
    session: WriteSession, customer: CustomerRef, address_id: str, now: datetime
) -> WithdrawalAddress:
    """Remove a saved address at once (removing never loosens the controls). 404 if it is
    not there or not the customer's."""
    await lock_controls(session, customer.seq, now)
    saved = await repository.find_saved_address(session, customer.seq, address_id)
    if saved is None:
        raise not_found("withdrawal address", "address_id")
    await session.delete(saved)
    await session.flush()
    return saved
