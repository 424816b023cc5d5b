"""Posting transfers and proving the books balance.

Every balance change goes through `post`: it locks the touched balance rows in
ascending id order (so concurrent posts cannot deadlock), checks that no account
that must stay non-negative would go below zero, writes the immutable transfers
and updates the balances, all in the caller's transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import case, func, insert, select, update

from miningtx.kit.db import ReadSession, WriteSession
from miningtx.kit.ids import new_id
from miningtx.ledger.accounts import Platform, allows_negative, treasury
from miningtx.models import (
    AccountKind,
    LedgerAccount,
    LedgerTransfer,
    TransferDirection,
    TransferKind,
)


class InsufficientFunds(Exception):
    """The named account holds less than the transfer needs; nothing was written."""

    def __init__(self, account_code: str) -> None:
        super().__init__(f"insufficient funds in {account_code}")
        self.account_code = account_code


class UnknownAccount(Exception):
    def __init__(self, codes: set[str]) -> None:
        super().__init__(f"unknown ledger accounts: {sorted(codes)}")


@dataclass(frozen=True, slots=True)
class Leg:
    """One transfer to post: `amount` micro-USDT from `debit` to `credit` (account codes)."""

    debit: str
    credit: str
    amount: int
    kind: TransferKind
    idempotency_key: str
    customer_seq: int | None = None
    direction: TransferDirection | None = None
    reference: str | None = None
    value_date: date | None = None


@dataclass(frozen=True, slots=True)
class Posted:
    seq: int
    id: str
    leg: Leg


async def open_account(
    session: WriteSession, code: str, kind: AccountKind, customer_seq: int | None
) -> int:
    result = await session.execute(
        insert(LedgerAccount)
        .values(
            code=code,
            kind=kind,
            customer_seq=customer_seq,
            allow_negative=allows_negative(code),
            balance=0,
        )
        .returning(LedgerAccount.seq)
    )
    return result.scalar_one()


async def post(session: WriteSession, legs: Sequence[Leg], now: datetime) -> list[Posted]:
    """Post `legs` atomically in the caller's transaction, or raise and write nothing."""
    if not legs:
        return []
    for leg in legs:
        if leg.amount <= 0:
            raise ValueError(f"transfer amounts must be positive, got {leg.amount}")
    codes = {leg.debit for leg in legs} | {leg.credit for leg in legs}
    # Plain Core statements on the transaction's connection: the ORM's DML machinery
    # (identity-map sync, bulk-insert bookkeeping) costs CPU here and buys nothing.
    connection = await session.connection()
    rows = (
        await connection.execute(
            select(LedgerAccount.seq, LedgerAccount.code, LedgerAccount.balance)
            .where(LedgerAccount.code.in_(codes))
            .order_by(LedgerAccount.seq)
            .with_for_update()
        )
    ).all()
    seq_of = {row.code: row.seq for row in rows}
    if missing := codes - seq_of.keys():
        raise UnknownAccount(missing)
    balance = {row.code: row.balance for row in rows}
    for leg in legs:
        balance[leg.debit] -= leg.amount
        if balance[leg.debit] < 0 and not allows_negative(leg.debit):
            raise InsufficientFunds(leg.debit)
        balance[leg.credit] += leg.amount

    today = now.date()
    values = [
        {
            "id": new_id("tx"),
            "idempotency_key": leg.idempotency_key,
            "kind": leg.kind,
            "debit_account_seq": seq_of[leg.debit],
            "credit_account_seq": seq_of[leg.credit],
            "amount": leg.amount,
            "customer_seq": leg.customer_seq,
            "direction": leg.direction,
            "reference": leg.reference,
            "value_date": leg.value_date or today,
            "created_at": now,
        }
        for leg in legs
    ]
    inserted = (
        await connection.execute(
            # render_nulls keeps every row in one INSERT even where optional columns are None.
            insert(LedgerTransfer)
            .returning(LedgerTransfer.seq, LedgerTransfer.id, sort_by_parameter_order=True)
            .execution_options(render_nulls=True),
            values,
        )
    ).all()
    delta: dict[int, int] = {}
    for leg in legs:
        delta[seq_of[leg.debit]] = delta.get(seq_of[leg.debit], 0) - leg.amount
        delta[seq_of[leg.credit]] = delta.get(seq_of[leg.credit], 0) + leg.amount
    await connection.execute(
        update(LedgerAccount)
        .where(LedgerAccount.seq.in_(delta))
        .values(balance=LedgerAccount.balance + case(delta, value=LedgerAccount.seq, else_=0))
    )
    return [Posted(row.seq, row.id, leg) for row, leg in zip(inserted, legs, strict=True)]


async def balances(session: ReadSession | WriteSession, codes: Sequence[str]) -> dict[str, int]:
    rows = await session.execute(
        select(LedgerAccount.code, LedgerAccount.balance).where(LedgerAccount.code.in_(codes))
    )
    return {row.code: row.balance for row in rows}


async def check_invariants(session: ReadSession | WriteSession) -> list[str]:
    """Return every way the books fail to balance; an empty list means they hold.

    Checks that all balances sum to zero, that each balance equals its credits minus
    its debits, and that no account that must stay non-negative is below zero.
    """
    problems: list[str] = []
    total = (
        await session.execute(select(func.coalesce(func.sum(LedgerAccount.balance), 0)))
    ).scalar_one()
    if total != 0:
        problems.append(f"balances sum to {int(total)}, not 0")
    credits = (
        select(
            LedgerTransfer.credit_account_seq.label("seq"),
            func.sum(LedgerTransfer.amount).label("amount"),
        )
        .group_by(LedgerTransfer.credit_account_seq)
        .subquery()
    )
    debits = (
        select(
            LedgerTransfer.debit_account_seq.label("seq"),
            func.sum(LedgerTransfer.amount).label("amount"),
        )
        .group_by(LedgerTransfer.debit_account_seq)
        .subquery()
    )
    derived = func.coalesce(credits.c.amount, 0) - func.coalesce(debits.c.amount, 0)
    mismatched = await session.execute(
        select(LedgerAccount.code, LedgerAccount.balance, derived.label("derived"))
        .outerjoin(credits, credits.c.seq == LedgerAccount.seq)
        .outerjoin(debits, debits.c.seq == LedgerAccount.seq)
        .where(LedgerAccount.balance != derived)
    )
    # int(): PostgreSQL sums BIGINT as NUMERIC, which would print as 2.6E+9.
    problems.extend(
        f"{row.code}: balance {row.balance} but transfers sum to {int(row.derived)}"
        for row in mismatched
    )
    negative = await session.execute(
        select(LedgerAccount.code, LedgerAccount.balance).where(
            LedgerAccount.balance < 0, LedgerAccount.allow_negative.is_(False)
        )
    )
    problems.extend(f"{row.code}: negative balance {row.balance}" for row in negative)
    return problems


async def fund_pool(
    session: WriteSession,
    pool: str,
    network: str | None,
    amount: int,
    now: datetime,
    *,
    reference: str,
) -> Posted:
    """Move operator money into a pool: from the funds the operator deposited on-chain to
    the funding address (`network` None: live), or from a network's treasury (sandbox,
    no chain behind it). Raises InsufficientFunds when the operator's funds fall short."""
    [posted] = await post(
        session,
        [
            Leg(
                debit=Platform.OPERATOR_FUNDS if network is None else treasury(network),
                credit=pool,
                amount=amount,
                kind=TransferKind.POOL_FUNDING,
                idempotency_key=f"{reference}:fund",
                reference=reference,
            )
        ],
        now,
    )
    return posted
