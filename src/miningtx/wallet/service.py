"""Wallet rules: deposit addresses, deposits credited from the treasury, withdrawals.

A withdrawal's amount leaves the customer's `available` for the platform's pending
withdrawals account when requested; it leaves the platform (to the network's
treasury, minus the fee kept as platform fees) once processed, or returns to the
customer when the withdrawal is cancelled, rejected or fails. Every status change is a
guarded UPDATE on the expected status, so two racing decisions cannot both win and no
withdrawal is ever refunded twice, or refunded after it was approved for sending.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import func, or_, update
from sqlalchemy.exc import IntegrityError

from miningtx.audit import service as audit
from miningtx.audit.refs import OperatorRef
from miningtx.config import Settings
from miningtx.customers.refs import CustomerRef
from miningtx.kit.db import WriteSession
from miningtx.kit.errors import ApiError, checked_reason, invalid, not_found
from miningtx.kit.ids import new_id
from miningtx.kit.money import format_amount
from miningtx.ledger import service as ledger
from miningtx.ledger.accounts import Platform, customer_available, treasury
from miningtx.models import (
    Deposit,
    DepositAddress,
    DepositPurpose,
    DepositStatus,
    KycStatus,
    TransferDirection,
    TransferKind,
    Withdrawal,
    WithdrawalApproval,
    WithdrawalStatus,
)
from miningtx.wallet import controls, repository
from miningtx.wallet.keys import AddressError, checksummed_address, derive_address
from miningtx.wallet.payouts import PayoutSender, SimulatedChain
from miningtx.wallet.schemas import render_deposit, render_withdrawal
from miningtx.webhooks import outbox

_TX_HASH = re.compile(r"^0x[0-9a-fA-F]{64}$")


def below_minimum(minimum: int) -> ApiError:
    return ApiError(
        400,
        "amount_below_minimum",
        f"Deposits below {format_amount(minimum)} USDT are not credited.",
        param="amount",
    )


def withdrawal_below_minimum(minimum: int) -> ApiError:
    return ApiError(
        400,
        "amount_below_minimum",
        f"Withdrawals start at {format_amount(minimum)} USDT.",
        param="amount",
    )


def kyc_required() -> ApiError:
    return ApiError(
        403, "kyc_required", "Withdrawals need a verified identity: complete KYC first."
    )


def insufficient_balance() -> ApiError:
    return ApiError(402, "insufficient_balance", "Your balance is too low for this withdrawal.")


def wrong_state(withdrawal: Withdrawal, expected: tuple[WithdrawalStatus, ...]) -> ApiError:
    return ApiError(
        409,
        "conflict",
        f"Withdrawal {withdrawal.id} is {withdrawal.status}, not {' or '.join(expected)}.",
    )


async def credit_deposit(
    session: WriteSession,
    *,
    customer_seq: int,
    customer_id: str,
    network: str,
    amount: int,
    now: datetime,
    tx_hash: str | None = None,
) -> Deposit:
    """Record a confirmed deposit and credit it (the sandbox's simulated network)."""
    deposit = Deposit(
        id=new_id("dep"),
        customer_seq=customer_seq,
        purpose=DepositPurpose.CUSTOMER,
        network=network,
        amount=amount,
        status=DepositStatus.CONFIRMED,
        tx_hash=tx_hash,
        confirmations=0,
        created_at=now,
        credited_at=now,
    )
    session.add(deposit)
    await session.flush()
    await _credit(session, deposit, customer_id, now)
    return deposit


async def credit_test_deposit(
    session: WriteSession,
    customer: CustomerRef,
    *,
    network: str,
    amount: int,
    min_deposit: int,
    now: datetime,
) -> Deposit:
    """Sandbox: credit the customer a confirmed deposit, as the test helper route and the
    dashboard's sandbox form do; below the network's `min_deposit` is 400
    amount_below_minimum, as the watcher would not credit it either."""
    if amount < min_deposit:
        raise below_minimum(min_deposit)
    return await credit_deposit(
        session,
        customer_seq=customer.seq,
        customer_id=customer.id,
        network=network,
        amount=amount,
        now=now,
    )


async def _credit(
    session: WriteSession, deposit: Deposit, customer_id: str | None, now: datetime
) -> None:
    """Post a confirmed deposit: treasury(network) -> the customer's available, announced
    as `deposit.confirmed`; a funding deposit goes to the operator's funds instead."""
    to_customer = deposit.customer_seq is not None and customer_id is not None
    [posted] = await ledger.post(
        session,
        [
            ledger.Leg(
                debit=treasury(deposit.network),
                credit=(
                    customer_available(customer_id)
                    if to_customer and customer_id is not None
                    else Platform.OPERATOR_FUNDS
                ),
                amount=deposit.amount,
                kind=TransferKind.DEPOSIT if to_customer else TransferKind.OPERATOR_FUNDING,
                # One credit per deposit, whichever path confirms it.
                idempotency_key=f"{deposit.id}:credit",
                customer_seq=deposit.customer_seq,
                direction=TransferDirection.CREDIT if to_customer else None,
                reference=deposit.id,
            )
        ],
        now,
    )
    deposit.transfer_seq = posted.seq
    await session.flush()
    if deposit.customer_seq is not None:
        await outbox.emit(
            session,
            customer_seq=deposit.customer_seq,
            event_type="deposit.confirmed",
            data=render_deposit(deposit).model_dump(mode="json"),
            now=now,
            source_key=f"{deposit.id}:confirmed",
        )


async def settle_observed_deposit(
    session: WriteSession,
    deposit: Deposit,
    *,
    customer_id: str | None,
    confirmations: int,
    min_deposit: int,
    now: datetime,
) -> Deposit | None:
    """A pending on-chain deposit is final: credit it, or record it as below the minimum.

    A guarded UPDATE on `pending` makes this happen once; a deposit another process
    settled first returns None. Funding deposits have no minimum.
    """
    below = deposit.customer_seq is not None and deposit.amount < min_deposit
    values: dict[str, Any] = {"confirmations": confirmations}
    if below or deposit.amount <= 0:
        values["status"] = DepositStatus.BELOW_MINIMUM
    else:
        values |= {"status": DepositStatus.CONFIRMED, "credited_at": now}
    settled = (
        await session.execute(
            update(Deposit)
            .where(Deposit.seq == deposit.seq, Deposit.status == DepositStatus.PENDING)
            .values(**values)
            .returning(Deposit),
            execution_options={"populate_existing": True, "synchronize_session": False},
        )
    ).scalar_one_or_none()
    if settled is not None and settled.status == DepositStatus.CONFIRMED:
        await _credit(session, settled, customer_id, now)
    return settled


async def assign_deposit_address(
    session: WriteSession, customer_seq: int, xpub: str, now: datetime
) -> DepositAddress:
    """The customer's one deposit address, allocated on first use.

    Index = customer seq under `xpub`, so it is stable and never shared. A concurrent
    first call may insert it first: the unique key refuses ours and we return theirs.
    """
    existing = await repository.deposit_address(session, customer_seq)
    if existing is not None:
        return existing
    row = DepositAddress(
        customer_seq=customer_seq,
        derivation_index=customer_seq,
        address=derive_address(xpub, customer_seq),
        created_at=now,
    )
    try:
        async with session.begin_nested():
            session.add(row)
    except IntegrityError:
        existing = await repository.deposit_address(session, customer_seq)
        if existing is None:
            raise
        return existing
    return row


@dataclass(frozen=True, slots=True)
class WithdrawalTerms:
    """The deployment's withdrawal minimum and fee, in micro-USDT, and its withdrawal
    controls (limits, auto-approval, address cool-down)."""

    min_amount: int
    fee: int
    controls: controls.ControlTerms = field(default_factory=controls.ControlTerms)

    @classmethod
    def from_settings(cls, settings: Settings) -> WithdrawalTerms:
        return cls(
            settings.withdrawal_min,
            settings.withdrawal_fee,
            controls.ControlTerms.from_settings(settings),
        )


async def request_withdrawal(
    session: WriteSession,
    customer: CustomerRef,
    *,
    amount: int,
    network: str,
    address: str,
    terms: WithdrawalTerms,
    now: datetime,
    simulates: Callable[[str], bool],
) -> Withdrawal:
    """Hold `amount` from the customer's available balance and queue it for review.

    Checks, in order: the address (400), the minimum (400), verified KYC (403), the
    address book and the rolling limits (403, `wallet.controls`), the balance (402). A
    refusal writes nothing. At or below the auto-approval ceiling it is approved at once
    (`auto_approve`; `simulates` as for `approve_withdrawal`).
    """
    try:
        destination = checksummed_address(address)
    except AddressError as error:
        raise invalid("address", str(error)) from None
    if amount < terms.min_amount:
        raise withdrawal_below_minimum(terms.min_amount)
    if await repository.customer_kyc_status(session, customer.seq) != KycStatus.VERIFIED:
        raise kyc_required()
    await controls.check_withdrawal(
        session,
        customer.seq,
        network=network,
        address=destination,
        amount=amount,
        terms=terms.controls,
        now=now,
    )
    withdrawal_id = new_id("wd")
    try:
        await ledger.post(
            session,
            [
                ledger.Leg(
                    debit=customer_available(customer.id),
                    credit=Platform.PENDING_WITHDRAWALS,
                    amount=amount,
                    kind=TransferKind.WITHDRAWAL,
                    idempotency_key=f"{withdrawal_id}:hold",
                    customer_seq=customer.seq,
                    direction=TransferDirection.DEBIT,
                    reference=withdrawal_id,
                )
            ],
            now,
        )
    except ledger.InsufficientFunds:
        raise insufficient_balance() from None
    withdrawal = Withdrawal(
        id=withdrawal_id,
        customer_seq=customer.seq,
        network=network,
        address=destination,
        amount=amount,
        fee=terms.fee,
        status=WithdrawalStatus.PENDING,
        requested_at=now,
    )
    session.add(withdrawal)
    await session.flush()
    if terms.controls.auto_approves(amount):
        withdrawal = await auto_approve(session, withdrawal, now, simulates=simulates)
    return withdrawal


async def _transition(
    session: WriteSession,
    withdrawal_id: str,
    expected: tuple[WithdrawalStatus, ...],
    values: dict[str, Any],
    *,
    customer_seq: int | None = None,
) -> Withdrawal:
    """Move a withdrawal out of one of the `expected` statuses in one guarded UPDATE.

    Only one of several racing transitions can match the status it expects; the
    others see 409 conflict (or 404 for an id that is not there, or not theirs).
    """
    query = update(Withdrawal).where(
        Withdrawal.id == withdrawal_id, Withdrawal.status.in_(expected)
    )
    if customer_seq is not None:
        query = query.where(Withdrawal.customer_seq == customer_seq)
    moved = (
        await session.execute(
            query.values(**values).returning(Withdrawal),
            execution_options={"populate_existing": True, "synchronize_session": False},
        )
    ).scalar_one_or_none()
    if moved is not None:
        return moved
    current = await repository.find_withdrawal(session, withdrawal_id, customer_seq)
    if current is None:
        raise not_found("withdrawal", "withdrawal_id")
    raise wrong_state(current, expected)


async def _refund(session: WriteSession, withdrawal: Withdrawal, now: datetime) -> None:
    """Return a withdrawal's whole amount (fee included) to the customer's available."""
    customer_id = await repository.customer_id(session, withdrawal.customer_seq)
    await ledger.post(
        session,
        [
            ledger.Leg(
                debit=Platform.PENDING_WITHDRAWALS,
                credit=customer_available(customer_id),
                amount=withdrawal.amount,
                kind=TransferKind.WITHDRAWAL,
                # One refund per withdrawal, whichever path ends it: a second wall
                # behind the guarded status change.
                idempotency_key=f"{withdrawal.id}:refund",
                customer_seq=withdrawal.customer_seq,
                direction=TransferDirection.CREDIT,
                reference=withdrawal.id,
            )
        ],
        now,
    )


async def cancel_withdrawal(
    session: WriteSession, customer: CustomerRef, withdrawal_id: str, now: datetime
) -> Withdrawal:
    """The customer takes back a withdrawal still pending review; its amount returns."""
    withdrawal = await _transition(
        session,
        withdrawal_id,
        (WithdrawalStatus.PENDING,),
        {"status": WithdrawalStatus.CANCELLED, "decided_at": now},
        customer_seq=customer.seq,
    )
    await _refund(session, withdrawal, now)
    return withdrawal


def approvals_required(withdrawal: Withdrawal, four_eyes_above: int | None) -> int:
    """Two approvals by different operators above the four-eyes threshold, else one."""
    return 2 if four_eyes_above is not None and withdrawal.amount > four_eyes_above else 1


async def approve_withdrawal(
    session: WriteSession,
    withdrawal_id: str,
    now: datetime,
    *,
    operator: OperatorRef,
    simulates: Callable[[str], bool],
    four_eyes_above: int | None,
) -> Withdrawal:
    """The operator approves a pending withdrawal for sending.

    Above `four_eyes_above` (`Settings.withdrawal_four_eyes_above`; None: off) the first
    approval is only recorded and the withdrawal stays pending; the second, by a different
    operator, approves it (the same operator again: 409 same_operator). The withdrawal row
    is locked while approvals are counted, and one approval per operator is unique, so
    racing approvers cannot both be "first" nor one operator count twice.

    When the simulated network stands in for the withdrawal's network
    (`simulates(network)`; the CLI and the console pass `Settings.simulates`, so the
    decision is made here, once) it sends it at once, so it goes on through broadcast
    to processed in this same transaction.
    """
    locked = await repository.lock_withdrawal(session, withdrawal_id)
    if locked is None:
        raise not_found("withdrawal", "withdrawal_id")
    if locked.status != WithdrawalStatus.PENDING:
        raise wrong_state(locked, (WithdrawalStatus.PENDING,))
    required = approvals_required(locked, four_eyes_above)
    earlier = await repository.approver_seqs(session, locked.seq)
    if operator.seq in earlier:
        raise audit.same_operator(
            f"Withdrawal {locked.id} is above {format_amount(four_eyes_above)} USDT and"
            if four_eyes_above is not None
            else f"Withdrawal {locked.id} already has your approval; it"
        )
    try:
        async with session.begin_nested():
            session.add(
                WithdrawalApproval(
                    withdrawal_seq=locked.seq, operator_seq=operator.seq, approved_at=now
                )
            )
    except IntegrityError:
        raise audit.same_operator(f"Withdrawal {locked.id}") from None
    approvals = len(earlier) + 1
    before = {"status": WithdrawalStatus.PENDING.value, "approvals": len(earlier)}
    if approvals < required:
        await audit.record(
            session,
            actor=operator,
            action="withdrawal.approval_recorded",
            target=locked.id,
            before=before,
            after=before | {"approvals": approvals, "required": required},
            now=now,
        )
        return locked
    return await _approve(
        session,
        withdrawal_id,
        now,
        actor=operator,
        action="withdrawal.approved",
        before=before,
        decision={"approvals": approvals, "required": required},
        simulates=simulates,
    )


async def _approve(
    session: WriteSession,
    withdrawal_id: str,
    now: datetime,
    *,
    actor: OperatorRef | None,
    action: str,
    before: dict[str, Any],
    decision: dict[str, Any],
    simulates: Callable[[str], bool],
) -> Withdrawal:
    """pending -> approved, in the audit log as `action` by `actor` (None: the platform);
    on a simulated network it is then sent and settled in this same transaction."""
    withdrawal = await _transition(
        session,
        withdrawal_id,
        (WithdrawalStatus.PENDING,),
        {"status": WithdrawalStatus.APPROVED, "decided_at": now},
    )
    await audit.record(
        session,
        actor=actor,
        action=action,
        target=withdrawal.id,
        before=before,
        after={
            "status": WithdrawalStatus.APPROVED.value,
            **decision,
            "amount": format_amount(withdrawal.amount),
        },
        now=now,
    )
    if simulates(withdrawal.network):
        withdrawal = await send_payout(session, withdrawal, SimulatedChain(), now)
        withdrawal = await settle_withdrawal(session, withdrawal.id, now)
    return withdrawal


async def auto_approve(
    session: WriteSession,
    withdrawal: Withdrawal,
    now: datetime,
    *,
    simulates: Callable[[str], bool],
) -> Withdrawal:
    """Approve a pending withdrawal without an operator (pending -> approved).

    Only `request_withdrawal` calls it, after every check passed (KYC, address book,
    limits) and for an amount at or below MTX_WITHDRAWAL_AUTO_APPROVE_MAX. On a simulated
    network it then completes as an operator's approval would.
    """
    return await _approve(
        session,
        withdrawal.id,
        now,
        actor=None,
        action="withdrawal.auto_approved",
        before={"status": WithdrawalStatus.PENDING.value},
        decision={},
        simulates=simulates,
    )


async def send_payout(
    session: WriteSession, withdrawal: Withdrawal, sender: PayoutSender, now: datetime
) -> Withdrawal:
    """Hand an approved withdrawal to `sender` and record its transaction hash."""
    tx_hash = await sender.send(withdrawal)
    return await mark_broadcast(session, withdrawal.id, tx_hash, now)


async def reject_withdrawal(
    session: WriteSession,
    withdrawal_id: str,
    now: datetime,
    reason: str | None = None,
    *,
    operator: OperatorRef,
) -> Withdrawal:
    """The operator refuses a pending withdrawal; its whole amount returns to the customer.

    Also ends a withdrawal waiting for its second approval, whoever gave the first.
    """
    reason = checked_reason(reason)
    withdrawal = await _transition(
        session,
        withdrawal_id,
        (WithdrawalStatus.PENDING,),
        {"status": WithdrawalStatus.REJECTED, "decided_at": now, "failure_reason": reason},
    )
    await _refund(session, withdrawal, now)
    await audit.record(
        session,
        actor=operator,
        action="withdrawal.rejected",
        target=withdrawal.id,
        before={"status": WithdrawalStatus.PENDING.value},
        after={
            "status": WithdrawalStatus.REJECTED.value,
            "reason": reason,
            "refunded": format_amount(withdrawal.amount),
        },
        now=now,
    )
    return withdrawal


async def mark_broadcast(
    session: WriteSession, withdrawal_id: str, tx_hash: str, now: datetime
) -> Withdrawal:
    """Record the transaction that sends an approved withdrawal (approved -> broadcast)."""
    if not _TX_HASH.match(tx_hash):
        raise invalid("tx_hash", "A transaction hash is 0x followed by 64 hexadecimal digits.")
    return await _transition(
        session,
        withdrawal_id,
        (WithdrawalStatus.APPROVED,),
        {
            "status": WithdrawalStatus.BROADCAST,
            "broadcast_at": now,
            "tx_hash": tx_hash.lower(),
            "waiting_since": None,
            "waiting_reason": None,
        },
    )


async def mark_waiting(
    session: WriteSession, withdrawal_id: str, reason: str, now: datetime
) -> bool:
    """An approved withdrawal the hot wallet cannot cover yet stays `approved` and says so
    (`waiting_since` from the first time, `waiting_reason` now); True when this changed it.

    Not announced: the customer sees it as approved, still in progress.
    """
    reason = reason[:200]
    changed = await session.scalar(
        update(Withdrawal)
        .where(
            Withdrawal.id == withdrawal_id,
            Withdrawal.status == WithdrawalStatus.APPROVED,
            or_(
                Withdrawal.waiting_since.is_(None),
                Withdrawal.waiting_reason.is_(None),
                Withdrawal.waiting_reason != reason,
            ),
        )
        .values(
            waiting_since=func.coalesce(Withdrawal.waiting_since, now),
            waiting_reason=reason,
        )
        .returning(Withdrawal.seq),
        execution_options={"synchronize_session": False},
    )
    return changed is not None


async def settle_withdrawal(session: WriteSession, withdrawal_id: str, now: datetime) -> Withdrawal:
    """A broadcast withdrawal is final on-chain (broadcast -> processed).

    `amount - fee` leaves the platform through the network's treasury; the fee stays
    as platform earnings.
    """
    withdrawal = await _transition(
        session,
        withdrawal_id,
        (WithdrawalStatus.BROADCAST,),
        {"status": WithdrawalStatus.PROCESSED, "processed_at": now},
    )
    legs = [
        ledger.Leg(
            debit=Platform.PENDING_WITHDRAWALS,
            credit=treasury(withdrawal.network),
            amount=withdrawal.amount - withdrawal.fee,
            kind=TransferKind.WITHDRAWAL_SETTLEMENT,
            idempotency_key=f"{withdrawal.id}:settle",
            reference=withdrawal.id,
        )
    ]
    if withdrawal.fee > 0:
        legs.append(
            ledger.Leg(
                debit=Platform.PENDING_WITHDRAWALS,
                credit=Platform.FEES,
                amount=withdrawal.fee,
                kind=TransferKind.WITHDRAWAL_FEE,
                idempotency_key=f"{withdrawal.id}:fee",
                reference=withdrawal.id,
            )
        )
    await ledger.post(session, legs, now)
    await _announce(session, withdrawal, "withdrawal.processed", now)
    return withdrawal


async def _announce(
    session: WriteSession, withdrawal: Withdrawal, event_type: str, now: datetime
) -> None:
    await outbox.emit(
        session,
        customer_seq=withdrawal.customer_seq,
        event_type=event_type,
        data=render_withdrawal(withdrawal).model_dump(mode="json"),
        now=now,
        source_key=f"{withdrawal.id}:{event_type.removeprefix('withdrawal.')}",
    )


async def fail_withdrawal(
    session: WriteSession, withdrawal_id: str, reason: str, now: datetime
) -> Withdrawal:
    """An approved or broadcast withdrawal could not be sent; its amount returns."""
    checked = checked_reason(reason)
    if checked is None:
        raise invalid("reason", "Say why the withdrawal failed.")
    withdrawal = await _transition(
        session,
        withdrawal_id,
        (WithdrawalStatus.APPROVED, WithdrawalStatus.BROADCAST),
        {"status": WithdrawalStatus.FAILED, "failure_reason": checked},
    )
    await _refund(session, withdrawal, now)
    await _announce(session, withdrawal, "withdrawal.failed", now)
    return withdrawal
