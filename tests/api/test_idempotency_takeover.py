"""A stale Idempotency-Key claim taken over by a retry: exactly one of the two commits.

Request A claims a key and is held (after its claim, or inside its effect transaction
before it stores the answer) past `MTX_IDEMPOTENCY_STALE_SECONDS`; retry B with the
same key takes the claim over. Whatever order they finish in, one deposit, activation
or withdrawal exists, the ledger counts it once, and A's release never frees B's claim.
Both requests run concurrently on one in-process app; every wait is on observed state
(a gate reached, the claim's row rewritten), bounded by a timeout.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import httpx
import pytest
from pydantic import ValidationError
from sqlalchemy import func, select

from miningtx.config import Settings
from miningtx.kit import idempotency
from miningtx.kit.clock import utcnow
from miningtx.kit.db import Database
from miningtx.ledger.accounts import customer_available
from miningtx.models import Activation, Deposit, IdempotencyRecord, IdempotencyState, Withdrawal
from tests.conftest import Env, open_env
from tests.databases import PostgresTemplate, pg_url
from tests.factories import CustomerWithKey, balances, invariant_problems, open_for_business
from tests.wallet.factories import ADDRESS, verified_customer

USDT = 1_000_000
STALE_SECONDS = 1.0
#: Bound on every wait of these tests (the shared machine is slow, never this slow).
WAIT = 120.0


@dataclass
class Gate:
    """Holds one request at a hook until released; `fail` makes it raise there instead."""

    hold: bool = True
    fail: bool = False
    reached: asyncio.Event = field(default_factory=asyncio.Event)
    released: asyncio.Event = field(default_factory=asyncio.Event)

    async def pass_through(self) -> None:
        self.reached.set()
        if self.hold:
            await self.released.wait()
        if self.fail:
            raise RuntimeError("request crashed inside its effect (test gate)")


@dataclass
class Gates:
    """Gates for successive calls of the two hooks; a call without a gate runs freely."""

    after_claim: list[Gate | None] = field(default_factory=list)
    before_store: list[Gate | None] = field(default_factory=list)


@pytest.fixture
def gates(monkeypatch: pytest.MonkeyPatch) -> Gates:
    """Hooks on `kit.idempotency`: after a claim commits, and inside the effect
    transaction after the effect ran but before the answer is stored."""
    found = Gates()
    claim = idempotency._claim
    respond = idempotency.Work.respond

    async def gated_claim(*args: Any, **kwargs: Any) -> idempotency.Claim:
        claimed = await claim(*args, **kwargs)
        gate = found.after_claim.pop(0) if found.after_claim else None
        if gate is not None:
            await gate.pass_through()
        return claimed

    async def gated_respond(work: idempotency.Work, *args: Any, **kwargs: Any) -> Any:
        gate = found.before_store.pop(0) if found.before_store else None
        if gate is not None:
            await gate.pass_through()
        return await respond(work, *args, **kwargs)

    monkeypatch.setattr(idempotency, "_claim", gated_claim)
    monkeypatch.setattr(idempotency.Work, "respond", gated_respond)
    return found


@pytest.fixture
async def stale_env(database_url: str) -> AsyncIterator[Env]:
    """The platform on both engines, claims stale after one second."""
    async with open_env(database_url, idempotency_stale_seconds=STALE_SECONDS) as env:
        yield env


@pytest.fixture
async def pg_stale_env(postgres_templates: PostgresTemplate) -> AsyncIterator[Env]:
    """PostgreSQL only: there a request can be held inside its effect transaction while
    a retry claims the key (SQLite's single writer makes the retry wait for it)."""
    name = await postgres_templates.new_database()
    try:
        async with open_env(pg_url(name), idempotency_stale_seconds=STALE_SECONDS) as env:
            yield env
    finally:
        await PostgresTemplate.drop(name)


@dataclass(frozen=True)
class Operation:
    """One money-moving POST, and how to count its effect."""

    path: str
    body: dict[str, str]
    model: Any
    #: The customer's available balance before, in USDT, and the change one effect makes.
    funded: str | None
    change: int


OPERATIONS = {
    "deposit": Operation(
        "/v1/test_helpers/deposits", {"network": "bsc", "amount": "25.00"}, Deposit, None, 25
    ),
    "activation": Operation(
        "/v1/contracts/activate", {"contract_id": "starter"}, Activation, "1000.00", -200
    ),
    "withdrawal": Operation(
        "/v1/withdrawals",
        {"amount": "300.00", "network": "bsc", "address": ADDRESS},
        Withdrawal,
        "1000.00",
        -300,
    ),
}


async def _customer(env: Env, operation: Operation) -> CustomerWithKey:
    await open_for_business(env.db)
    return await verified_customer(env.db, env.settings, deposit=operation.funded)


async def _claim_row(db: Database, key: str) -> IdempotencyRecord | None:
    async with db.read() as session:
        return await session.scalar(select(IdempotencyRecord).where(IdempotencyRecord.key == key))


async def _wait_for(check: Callable[[], Awaitable[bool]]) -> None:
    """Poll another connection's view of the database (the state is in a table)."""
    async with asyncio.timeout(WAIT):
        while True:
            if await check():
                return
            await asyncio.sleep(0.02)


async def _wait_until_stale(db: Database, key: str) -> str:
    """Wait out the stale interval from the claim's own `locked_at`; its owner token."""
    row = await _claim_row(db, key)
    assert row is not None
    assert row.state == IdempotencyState.IN_FLIGHT
    assert row.owner is not None
    remaining = row.locked_at + timedelta(seconds=STALE_SECONDS) - utcnow()
    await asyncio.sleep(max(remaining.total_seconds(), 0) + 0.05)
    return row.owner


async def _taken_over_from(db: Database, key: str, owner: str) -> str:
    """Wait until another request has committed its takeover of the claim; its owner."""
    seen: list[str] = []

    async def rewritten() -> bool:
        row = await _claim_row(db, key)
        if row is not None and row.owner not in (None, owner):
            seen.append(row.owner)
            return True
        return False

    await _wait_for(rewritten)
    return seen[-1]


async def _assert_one_effect(env: Env, who: CustomerWithKey, operation: Operation) -> None:
    async with env.db.read() as session:
        count = await session.scalar(
            select(func.count())
            .select_from(operation.model)
            .where(operation.model.customer_seq == who.seq)
        )
    before = 0 if operation.funded is None else int(operation.funded.split(".")[0])
    assert count == 1
    available = customer_available(who.id)
    assert await balances(env.db, available) == {available: (before + operation.change) * USDT}
    assert await invariant_problems(env.db) == []


def _post(
    env: Env, who: CustomerWithKey, operation: Operation, key: str
) -> asyncio.Task[httpx.Response]:
    return asyncio.create_task(
        env.client.post(
            operation.path, json=operation.body, headers={**who.auth, "Idempotency-Key": key}
        )
    )


@pytest.mark.timeout(600)
@pytest.mark.parametrize("name", list(OPERATIONS))
async def test_a_request_taken_over_after_its_claim_rolls_back_and_replays_the_winner(
    stale_env: Env, gates: Gates, name: str
) -> None:
    env, operation, key = stale_env, OPERATIONS[name], f"takeover-{name}"
    who = await _customer(env, operation)
    held = Gate()
    gates.after_claim.append(held)

    first = _post(env, who, operation, key)
    await asyncio.wait_for(held.reached.wait(), WAIT)
    first_owner = await _wait_until_stale(env.db, key)
    retry = await asyncio.wait_for(_post(env, who, operation, key), WAIT)
    held.released.set()
    loser = await asyncio.wait_for(first, WAIT)

    await _assert_one_effect(env, who, operation)
    assert retry.status_code == 200, retry.text
    assert "idempotent-replayed" not in retry.headers
    # A ran its effect after B committed: it rolled back and answers what B stored.
    assert loser.status_code == 200, loser.text
    assert loser.headers["idempotent-replayed"] == "true"
    assert loser.json() == retry.json()
    row = await _claim_row(env.db, key)
    assert row is not None
    assert row.state == IdempotencyState.DONE
    assert row.owner not in (None, first_owner)


@pytest.mark.timeout(600)
@pytest.mark.parametrize("name", list(OPERATIONS))
async def test_a_request_taken_over_by_a_retry_still_running_rolls_back(
    stale_env: Env, gates: Gates, name: str
) -> None:
    env, operation, key = stale_env, OPERATIONS[name], f"running-{name}"
    who = await _customer(env, operation)
    first_held, retry_held = Gate(), Gate()
    gates.after_claim.extend([first_held, retry_held])

    first = _post(env, who, operation, key)
    await asyncio.wait_for(first_held.reached.wait(), WAIT)
    first_owner = await _wait_until_stale(env.db, key)
    retry = _post(env, who, operation, key)
    await asyncio.wait_for(retry_held.reached.wait(), WAIT)
    retry_owner = await _taken_over_from(env.db, key, first_owner)
    # A runs its whole effect while B holds the claim: only the owner token tells them apart.
    first_held.released.set()
    loser = await asyncio.wait_for(first, WAIT)
    retry_held.released.set()
    winner = await asyncio.wait_for(retry, WAIT)

    await _assert_one_effect(env, who, operation)
    assert loser.status_code == 409, loser.text
    assert loser.json()["error"]["code"] == "conflict"
    assert winner.status_code == 200, winner.text
    assert "idempotent-replayed" not in winner.headers
    row = await _claim_row(env.db, key)
    assert row is not None
    assert (row.state, row.owner) == (IdempotencyState.DONE, retry_owner)


@pytest.mark.timeout(600)
@pytest.mark.parametrize("name", list(OPERATIONS))
async def test_a_request_taken_over_inside_its_effect_rolls_back(
    pg_stale_env: Env, gates: Gates, name: str
) -> None:
    env, operation, key = pg_stale_env, OPERATIONS[name], f"in-effect-{name}"
    who = await _customer(env, operation)
    first_held, retry_held = Gate(), Gate()
    gates.before_store.extend([first_held, retry_held])

    first = _post(env, who, operation, key)
    # A has run its effect in its open transaction and is about to store its answer.
    await asyncio.wait_for(first_held.reached.wait(), WAIT)
    first_owner = await _wait_until_stale(env.db, key)
    retry = _post(env, who, operation, key)
    retry_owner = await _taken_over_from(env.db, key, first_owner)
    first_held.released.set()
    loser = await asyncio.wait_for(first, WAIT)
    # B may have waited on A's row locks; it reaches its own store only now.
    await asyncio.wait_for(retry_held.reached.wait(), WAIT)
    retry_held.released.set()
    winner = await asyncio.wait_for(retry, WAIT)
    again = await env.client.post(
        operation.path, json=operation.body, headers={**who.auth, "Idempotency-Key": key}
    )

    await _assert_one_effect(env, who, operation)
    assert loser.status_code == 409, loser.text
    assert loser.json()["error"]["code"] == "conflict"
    assert winner.status_code == 200, winner.text
    assert again.headers["idempotent-replayed"] == "true"
    assert again.json() == winner.json()
    row = await _claim_row(env.db, key)
    assert row is not None
    assert (row.state, row.owner) == (IdempotencyState.DONE, retry_owner)


@pytest.mark.timeout(600)
async def test_a_crashed_request_never_releases_the_claim_a_retry_took_over(
    stale_env: Env, gates: Gates
) -> None:
    env, operation, key = stale_env, OPERATIONS["deposit"], "release"
    who = await _customer(env, operation)
    first_held, retry_held = Gate(), Gate()
    gates.after_claim.extend([first_held, retry_held])
    gates.before_store.append(Gate(hold=False, fail=True))

    first = _post(env, who, operation, key)
    await asyncio.wait_for(first_held.reached.wait(), WAIT)
    first_owner = await _wait_until_stale(env.db, key)
    retry = _post(env, who, operation, key)
    await asyncio.wait_for(retry_held.reached.wait(), WAIT)
    retry_owner = await _taken_over_from(env.db, key, first_owner)
    first_held.released.set()
    crashed = await asyncio.wait_for(first, WAIT)
    after_crash = await _claim_row(env.db, key)
    retry_held.released.set()
    winner = await asyncio.wait_for(retry, WAIT)

    await _assert_one_effect(env, who, operation)
    assert crashed.status_code == 500
    assert after_crash is not None
    assert (after_crash.state, after_crash.owner) == (IdempotencyState.IN_FLIGHT, retry_owner)
    assert winner.status_code == 200, winner.text


def test_the_stale_interval_is_read_from_the_environment_and_must_be_positive(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("MTX_IDEMPOTENCY_STALE_SECONDS", "2.5")
    assert Settings(_env_file=None).idempotency_stale_seconds == 2.5
    monkeypatch.setenv("MTX_IDEMPOTENCY_STALE_SECONDS", "0")
    with pytest.raises(ValidationError, match="idempotency_stale_seconds"):
        Settings(_env_file=None)
    monkeypatch.delenv("MTX_IDEMPOTENCY_STALE_SECONDS")
    assert Settings(_env_file=None).idempotency_stale_seconds == 60
