"""The lock behind the rolling limits, step by step on PostgreSQL: a second request of the
same customer waits for the first to commit and then sees its withdrawal. Without the
lock (corrupted on purpose) the same interleaving lets both through, over the limit.

SQLite needs no such lock: BEGIN IMMEDIATE admits one writer at a time."""

from __future__ import annotations

import asyncio

import pytest

from miningtx.customers.refs import CustomerRef
from miningtx.kit.clock import utcnow
from miningtx.kit.db import Database, WriteSession
from miningtx.kit.errors import ApiError
from miningtx.models import Withdrawal, WithdrawalControls
from miningtx.wallet import controls, repository, service
from tests.conftest import make_settings
from tests.databases import wait_until_blocked
from tests.factories import invariant_problems, simulate_none
from tests.wallet.controls_helpers import USDT
from tests.wallet.factories import ADDRESS, verified_customer


async def request(db: Database, terms: service.WithdrawalTerms, who: CustomerRef) -> object:
    """One withdrawal of 100.00 in its own transaction: the withdrawal, or the refusal."""
    try:
        async with db.write() as session:
            return await _withdraw(session, terms, who)
    except ApiError as error:
        return error


async def _withdraw(
    session: WriteSession, terms: service.WithdrawalTerms, who: CustomerRef
) -> Withdrawal:
    return await service.request_withdrawal(
        session,
        who,
        amount=100 * USDT,
        network="bsc",
        address=ADDRESS,
        terms=terms,
        now=utcnow(),
        simulates=simulate_none,
    )


async def _without_the_lock(
    session: WriteSession, customer_seq: int, now: object
) -> WithdrawalControls:
    found = await session.get(WithdrawalControls, customer_seq)
    assert found is not None
    return found


# PostgreSQL only: SQLite serialises writers at BEGIN IMMEDIATE, there is no row lock to wait on.
@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
@pytest.mark.parametrize("locked", [True, False], ids=["locked", "lock-removed"])
async def test_a_second_request_waits_for_the_first_and_sees_its_withdrawal(
    database_url: str, locked: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = make_settings(database_url)
    db = Database(settings)
    try:
        alice = await verified_customer(db, settings, deposit="1000.00")
        who = CustomerRef(alice.seq, alice.id)
        async with db.write() as session:  # 150.00: one 100.00 fits, two do not
            await controls.set_limits(
                session,
                alice.seq,
                limit_24h=150 * USDT,
                limit_30d=None,
                operator=None,
                now=utcnow(),
            )
        if not locked:
            monkeypatch.setattr(repository, "locked_controls", _without_the_lock)
        terms = service.WithdrawalTerms.from_settings(settings)

        async with db.write() as first:
            await _withdraw(first, terms, who)
            second = asyncio.create_task(request(db, terms, who))
            await asyncio.wait_for(wait_until_blocked(db), timeout=60)
            assert not second.done()
        outcome = await asyncio.wait_for(second, timeout=60)

        async with db.read() as session:
            used, _ = await repository.withdrawn_since(
                session, alice.seq, utcnow().replace(year=2000), controls.COUNTED_STATUSES
            )
        if locked:
            assert isinstance(outcome, ApiError)
            assert (outcome.status, outcome.code, outcome.param) == (
                403,
                "withdrawal_limit_exceeded",
                "amount",
            )
            assert outcome.message.endswith("you can withdraw 50.00 USDT more now.")
            assert used == 100 * USDT
        else:
            # What the lock prevents: both decided on the same stale sum.
            assert isinstance(outcome, Withdrawal)
            assert used == 200 * USDT
        assert await invariant_problems(db) == []
    finally:
        await db.dispose()
