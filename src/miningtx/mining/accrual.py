"""The daily mining-reward accrual: set-based SQL, never a contract's row in Python.

Active contracts are walked in `seq` order, in chunks of `accrual_batch_size`. Each
write transaction pays one *pass* of a chunk: every contract of the chunk whose next
reward falls on the same day X (the earliest day still owed in the chunk), with a fixed
handful of INSERT ... SELECT and UPDATE statements, whatever the number of contracts.
Passes repeat (X, X+1, ...) until the chunk is paid up to the target day (the last
cut-off that has passed), then the next chunk follows. One pass per transaction keeps
every transaction at most `accrual_batch_size` rewards, however many days a catch-up
covers, so locks are held briefly and memory stays flat.

Why it is safe:

* Concurrency: PostgreSQL workers serialise on a transaction-scoped advisory lock, SQLite
  writers on BEGIN IMMEDIATE; everything is re-read inside the transaction, so of two
  workers exactly one pays each pass and the other moves on.
* Crashes: a killed process leaves a whole pass or nothing; the next run redoes the rest.
* Double credits: the reward transfer's UNIQUE idempotency key `<ct>:reward:<day>`
  refuses a second credit even if the schedule were wrong (the ledger is the only
  record of a reward: `value_date` is its day, `reference` its contract), and every
  statement's row count is checked against the pass, so a mismatch rolls the pass back
  instead of unbalancing the books.
* Deadlocks: rows are locked in the order API transactions take them: the fleet row
  (activation takes it before the ledger), the platform ledger row, customers rows (KYC
  approval takes one before the ledger), then customers' ledger rows.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from functools import cache
from typing import Any

from sqlalchemy import (
    BigInteger,
    Date,
    Insert,
    Integer,
    Select,
    String,
    and_,
    bindparam,
    case,
    func,
    insert,
    literal,
    select,
    update,
)
from sqlalchemy.ext.asyncio import AsyncConnection

from miningtx.kit.clock import ONE_DAY, latest_cutoff_day, rfc3339
from miningtx.kit.db import Database, ReadSession
from miningtx.kit.money import format_amount
from miningtx.ledger.accounts import CUSTOMER_AVAILABLE, Platform
from miningtx.models import (
    AccrualState,
    Activation,
    ActivationStatus,
    Customer,
    Event,
    Fleet,
    LedgerAccount,
    LedgerTransfer,
    TransferDirection,
    TransferKind,
)
from miningtx.models.base import UTCDateTime
from miningtx.webhooks import outbox

#: pg_advisory_xact_lock key that serialises accrual passes across processes ("mtxaccru").
ADVISORY_LOCK_KEY = 0x6D74_7861_6363_7275
REWARD_EVENT = "reward.credited"
EXPIRY_EVENT = "contract.expired"


class AccrualMismatch(RuntimeError):
    """A statement of a pass touched another number of rows than the pass holds.

    Raised inside the pass's transaction, so nothing of the pass is written.
    """


@dataclass
class AccrualProgress:
    """What a run has done so far; handed to the progress callback after every commit."""

    now: datetime
    #: The last day whose cut-off had passed when the run started; nothing later is paid.
    target: date
    #: Contracts of the chunks finished so far that had something due.
    contracts: int = 0
    rewards: int = 0
    expired: int = 0
    #: The day the last committed pass paid.
    day: date | None = None
    chunks: int = 0


ProgressCallback = Callable[[AccrualProgress], None]


# -- statements ---------------------------------------------------------------------------

_AFTER = bindparam("after", type_=BigInteger)
_HI = bindparam("hi", type_=BigInteger)
_PASS_DAY = bindparam("pass_day", type_=Date)
_RUN_NOW = bindparam("run_now", type_=UTCDateTime())
_KEY_SUFFIX = bindparam("key_suffix", type_=String)

# Statuses and kinds written by literal() or CASE take the enum's `.value`: SQLAlchemy
# binds a bare StrEnum member untyped (NullType), a str as VARCHAR, as it always has.
_ACTIVE = Activation.status == ActivationStatus.ACTIVE
#: The contracts one pass pays: the chunk's active contracts whose next reward is `pass_day`.
_IN_PASS = and_(
    Activation.seq > _AFTER,
    Activation.seq <= _HI,
    _ACTIVE,
    Activation.next_reward_on == _PASS_DAY,
)
#: Contracts whose reward of this pass is their last one.
_LAST_REWARD = Activation.rewards_paid + 1 >= Activation.duration_days
_TRANSFER_KEY = Activation.id.concat(_KEY_SUFFIX)
#: The pass's transfers: found by key among those inserted after `transfers_after` (a
#: primary-key range the planner sizes exactly), never by a scan of the whole table.
_PASS_TRANSFER = and_(
    LedgerTransfer.seq > bindparam("transfers_after", type_=BigInteger),
    LedgerTransfer.idempotency_key == _TRANSFER_KEY,
)

_PAID_THROUGH = select(AccrualState.paid_through).where(AccrualState.id == 1)
_MARK_PAID_THROUGH = (
    update(AccrualState)
    .where(
        AccrualState.id == 1,
        (AccrualState.paid_through.is_(None)) | (AccrualState.paid_through < _PASS_DAY),
    )
    .values(paid_through=_PASS_DAY)
)
_COUNT_DUE = select(func.count()).where(
    _ACTIVE, Activation.next_reward_on <= bindparam("target", type_=Date)
)
_window = (
    select(Activation.seq)
    .where(
        _ACTIVE,
        Activation.next_reward_on <= bindparam("target", type_=Date),
        Activation.seq > _AFTER,
    )
    .order_by(Activation.seq)
    .limit(bindparam("batch", type_=Integer))
    .subquery("window")
)
#: The next chunk: how many due contracts it holds and its upper bound.
_CHUNK = select(func.count(), func.max(_window.c.seq))
_CHUNK_EARLIEST = select(func.min(Activation.next_reward_on)).where(
    Activation.seq > _AFTER, Activation.seq <= _HI, _ACTIVE
)
_PASS_TOTALS = select(
    func.count(),
    func.count(func.distinct(Activation.customer_seq)),
    func.coalesce(func.sum(Activation.daily_reward), 0),
    func.count(case((_LAST_REWARD, 1))),
    func.coalesce(func.sum(case((_LAST_REWARD, Activation.hash_mths), else_=0)), 0),
).where(_IN_PASS)
_PASS_AMOUNTS = select(Activation.daily_reward).distinct().where(_IN_PASS)
_RELEASE_CAPACITY = (
    update(Fleet)
    .where(Fleet.id == 1)
    .values(sold_mths=Fleet.sold_mths - bindparam("released_mths", type_=BigInteger))
)
_DRAW_RESERVE = (
    update(LedgerAccount)
    .where(LedgerAccount.code == str(Platform.REWARD_RESERVED))
    .values(balance=LedgerAccount.balance - bindparam("total", type_=BigInteger))
    .returning(LedgerAccount.seq)
)
_paid = (
    select(
        Activation.customer_seq.label("customer_seq"),
        func.sum(Activation.daily_reward).label("amount"),
    )
    .where(_IN_PASS)
    .group_by(Activation.customer_seq)
    .subquery("paid")
)
_ADD_TOTAL_REWARDS = (
    update(Customer)
    .where(Customer.seq == _paid.c.customer_seq)
    .values(total_rewards=Customer.total_rewards + _paid.c.amount)
)
_CREDIT_CUSTOMERS = (
    update(LedgerAccount)
    .where(
        LedgerAccount.customer_seq == _paid.c.customer_seq,
        LedgerAccount.kind == CUSTOMER_AVAILABLE,
    )
    .values(balance=LedgerAccount.balance + _paid.c.amount)
)
_LAST_TRANSFER = select(func.coalesce(func.max(LedgerTransfer.seq), 0))
_LAST_EVENT = select(func.coalesce(func.max(Event.seq), 0))
_ADVANCE_SCHEDULE = (
    update(Activation)
    .where(_IN_PASS)
    .values(
        rewards_paid=Activation.rewards_paid + 1,
        next_reward_on=bindparam("next_day", type_=Date),
        status=case((_LAST_REWARD, ActivationStatus.EXPIRED.value), else_=Activation.status),
        expired_at=case((_LAST_REWARD, _RUN_NOW), else_=Activation.expired_at),
    )
)
_SERIALISE = select(func.pg_advisory_xact_lock(literal(ADVISORY_LOCK_KEY, BigInteger)))


@cache
def _insert_transfers(dialect: str) -> Insert:
    """The pass's reward transfers: reward_reserved -> each customer's available account."""
    return insert(LedgerTransfer).from_select(
        [
            LedgerTransfer.id,
            LedgerTransfer.idempotency_key,
            LedgerTransfer.kind,
            LedgerTransfer.debit_account_seq,
            LedgerTransfer.credit_account_seq,
            LedgerTransfer.amount,
            LedgerTransfer.customer_seq,
            LedgerTransfer.direction,
            LedgerTransfer.reference,
            LedgerTransfer.value_date,
            LedgerTransfer.created_at,
        ],
        select(
            outbox.random_id(dialect, "tx"),
            _TRANSFER_KEY,
            literal(TransferKind.REWARD.value),
            bindparam("reserved_seq", type_=BigInteger),
            LedgerAccount.seq,
            Activation.daily_reward,
            Activation.customer_seq,
            literal(TransferDirection.CREDIT.value),
            Activation.id,
            _PASS_DAY,
            _RUN_NOW,
        )
        .join(
            LedgerAccount,
            and_(
                LedgerAccount.customer_seq == Activation.customer_seq,
                LedgerAccount.kind == CUSTOMER_AVAILABLE,
            ),
        )
        .where(_IN_PASS)
        .order_by(Activation.seq),
    )


def _insert_events(source: Select[Any]) -> Insert:
    return insert(Event).from_select(
        [Event.id, Event.customer_seq, Event.type, Event.source_key, Event.data, Event.created_at],
        source,
    )


def _reward_events(dialect: str, amounts: Sequence[int]) -> Insert:
    """One `reward.credited` per transfer of the pass; amounts rendered by kit.money."""
    rendered = case(
        {amount: format_amount(amount) for amount in amounts}, value=Activation.daily_reward
    )
    data = outbox.json_object(
        dialect,
        ("id", LedgerTransfer.id.expression),
        ("date", bindparam("day_iso", type_=String)),
        ("contract", Activation.contract_name.expression),
        ("activation_id", Activation.id.expression),
        ("amount", rendered),
    )
    return _insert_events(
        select(
            outbox.random_id(dialect, "evt"),
            Activation.customer_seq,
            literal(REWARD_EVENT),
            LedgerTransfer.idempotency_key,
            data,
            _RUN_NOW,
        )
        .join(LedgerTransfer, _PASS_TRANSFER)
        .where(_IN_PASS)
        .order_by(Activation.seq),
    )


@cache
def _expiry_events(dialect: str) -> Insert:
    """One `contract.expired` per contract whose last reward the pass pays."""
    data = outbox.json_object(
        dialect,
        ("id", Activation.id.expression),
        ("contract", Activation.contract_name.expression),
        ("contract_id", Activation.contract_id.expression),
        ("status", literal(ActivationStatus.EXPIRED.value)),
        ("rewards_paid", Activation.duration_days.expression),
        ("duration_days", Activation.duration_days.expression),
        ("expired_at", bindparam("expired_at_text", type_=String)),
    )
    return _insert_events(
        select(
            outbox.random_id(dialect, "evt"),
            Activation.customer_seq,
            literal(EXPIRY_EVENT),
            Activation.id.concat(":expired"),
            data,
            _RUN_NOW,
        )
        .where(_IN_PASS, _LAST_REWARD)
        .order_by(Activation.seq),
    )


# -- the run ------------------------------------------------------------------------------


@dataclass
class _Walk:
    """Where a run is: the chunk being paid, as (after, hi]; hi is None between chunks."""

    after: int = 0
    hi: int | None = None
    chunk_contracts: int = 0
    finished: bool = False


async def accrue(
    db: Database, *, batch_size: int, on_progress: ProgressCallback | None = None
) -> AccrualProgress:
    """Credit every reward due at the deployment's now, each exactly once.

    Commits one pass (at most `batch_size` rewards of one day) per transaction and calls
    `on_progress` after each commit. Interrupting it loses at most the pass in flight,
    which the next run redoes.
    """
    if batch_size < 1:
        raise ValueError("batch_size must be at least 1")
    async with db.read() as session:
        now = await db.clock.sync(session)
        progress = AccrualProgress(now=now, target=latest_cutoff_day(now, db.clock.cutoff))
        paid_through = (await session.execute(_PAID_THROUGH)).scalar_one()
    # Checked outside any write transaction: an idle round never takes the writer's lock.
    # A contract activated after a complete run owes nothing up to its target: its first
    # reward day is the first cut-off at least 24 h after its activation.
    if paid_through is not None and paid_through >= progress.target:
        return progress
    walk = _Walk()
    while not walk.finished:
        async with db.write() as session:
            connection = await session.connection()
            if not db.is_sqlite:
                await connection.execute(_SERIALISE)
            paid = await _next_pass(connection, walk, progress, batch_size)
        if paid is not None:
            day, rewards, expired = paid
            progress.rewards += rewards
            progress.expired += expired
            progress.day = day
        if on_progress is not None:
            on_progress(progress)
    async with db.write() as session:
        await session.execute(_MARK_PAID_THROUGH, {"pass_day": progress.target})
    return progress


async def _next_pass(
    connection: AsyncConnection, walk: _Walk, progress: AccrualProgress, batch_size: int
) -> tuple[date, int, int] | None:
    """Find the next pass due (moving to later chunks as they are paid up) and pay it.

    Returns (day, rewards, expired), or None when the walk is over.
    """
    while True:
        if walk.hi is None:
            count, hi = (
                await connection.execute(
                    _CHUNK,
                    {"target": progress.target, "after": walk.after, "batch": batch_size},
                )
            ).one()
            if hi is None:
                walk.finished = True
                return None
            walk.hi, walk.chunk_contracts = hi, count
        day = (
            await connection.execute(_CHUNK_EARLIEST, {"after": walk.after, "hi": walk.hi})
        ).scalar_one()
        if day is not None and day <= progress.target:
            rewards, expired = await pay_pass(
                connection, after=walk.after, hi=walk.hi, day=day, now=progress.now
            )
            return day, rewards, expired
        # The chunk is paid up (here or by another worker): on to the next one.
        progress.contracts += walk.chunk_contracts
        progress.chunks += 1
        walk.after, walk.hi = walk.hi, None


def _expect(what: str, actual: int, expected: int) -> None:
    if actual != expected:
        raise AccrualMismatch(f"{what}: {actual} rows, the pass holds {expected}")


async def pay_pass(
    connection: AsyncConnection, *, after: int, hi: int, day: date, now: datetime
) -> tuple[int, int]:
    """Pay the reward of `day` to every active contract with seq in (after, hi] owed it.

    Runs inside the caller's transaction, which must hold the accrual lock (PostgreSQL)
    or the write lock (SQLite). Returns (rewards credited, contracts expired).
    """
    dialect = connection.dialect.name
    where = {"after": after, "hi": hi, "pass_day": day}
    totals = (await connection.execute(_PASS_TOTALS, where)).one()
    count, customers, total, expiring, released_mths = (int(value) for value in totals)
    if count == 0:
        return 0, 0
    stamped = {**where, "run_now": now}
    transfers_after = (await connection.execute(_LAST_TRANSFER)).scalar_one()
    keyed = {
        **stamped,
        "key_suffix": f":reward:{day.isoformat()}",
        "transfers_after": transfers_after,
    }
    # Lock order as in `mining.service.activate`: the fleet row before any ledger row.
    if expiring:
        await connection.execute(_RELEASE_CAPACITY, {"released_mths": released_mths})
    reserved_seq = (await connection.execute(_DRAW_RESERVE, {"total": total})).scalar_one()
    # Customers rows before their ledger rows, as KYC approval locks them.
    updated = await connection.execute(_ADD_TOTAL_REWARDS, where)
    _expect("customers.total_rewards", updated.rowcount, customers)
    inserted = await connection.execute(
        _insert_transfers(dialect), {**keyed, "reserved_seq": reserved_seq}
    )
    _expect("ledger_transfers", inserted.rowcount, count)
    updated = await connection.execute(_CREDIT_CUSTOMERS, where)
    _expect("customer ledger accounts", updated.rowcount, customers)

    last_event = (await connection.execute(_LAST_EVENT)).scalar_one()
    amounts = (await connection.execute(_PASS_AMOUNTS, where)).scalars().all()
    inserted = await connection.execute(
        _reward_events(dialect, amounts), {**keyed, "day_iso": day.isoformat()}
    )
    _expect("reward events", inserted.rowcount, count)
    if expiring:
        inserted = await connection.execute(
            _expiry_events(dialect), {**stamped, "expired_at_text": rfc3339(now)}
        )
        _expect("expiry events", inserted.rowcount, expiring)
    await outbox.fan_out(
        connection, and_(Event.seq > last_event, Event.type.in_((REWARD_EVENT, EXPIRY_EVENT)))
    )
    updated = await connection.execute(_ADVANCE_SCHEDULE, {**stamped, "next_day": day + ONE_DAY})
    _expect("contract_activations", updated.rowcount, count)
    return count, expiring


# -- what the operator sees ---------------------------------------------------------------


@dataclass(frozen=True)
class AccrualStatus:
    now: datetime
    target: date
    #: Active contracts owed at least one reward now.
    due: int
    #: The day and time of the newest reward credited.
    last_credited_day: date | None
    last_credited_at: datetime | None


async def count_due(session: ReadSession, target: date) -> int:
    """Active contracts owed the reward of `target` or an earlier day."""
    return int((await session.execute(_COUNT_DUE, {"target": target})).scalar_one())


async def accrual_status(db: Database) -> AccrualStatus:
    async with db.read() as session:
        now = await db.clock.sync(session)
        target = latest_cutoff_day(now, db.clock.cutoff)
        due = await count_due(session, target)
        last = (
            await session.execute(
                select(LedgerTransfer.value_date, LedgerTransfer.created_at)
                .where(LedgerTransfer.kind == TransferKind.REWARD)
                .order_by(LedgerTransfer.seq.desc())
                .limit(1)
            )
        ).one_or_none()
    return AccrualStatus(
        now=now,
        target=target,
        due=due,
        last_credited_day=last.value_date if last else None,
        last_credited_at=last.created_at if last else None,
    )
