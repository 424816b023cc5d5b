"""PostgreSQL restarts under load: `mtx serve --workers 2` and `mtx worker` on a cluster of
the test's own, while clients activate, stake and withdraw with Idempotency-Keys.

During the outage the API answers 503 `service_unavailable` at once (never 500, never a
hang); afterwards it answers 200 again without a restart and the worker goes on paying.
Every 200 has exactly one effect in the database, no 503 has any (and its retry with the
same key runs the request once), and the books balance.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from miningtx.ledger.accounts import customer_available
from miningtx.models import Activation, IdempotencyRecord, Stake, Withdrawal
from tests import servers
from tests.factories import CustomerWithKey, balances, open_for_business
from tests.faults.services import postgres_cluster
from tests.servers import MTX, Seed, run_command, seeding, serve, server_environment, stop
from tests.staking.factories import open_staking
from tests.wallet.factories import ADDRESS, verified_customer
from tests.worker.helpers import move_clock

pytestmark = pytest.mark.slow

#: No request may take longer than this, outage or not.
REQUEST_LIMIT = 10.0
#: Seconds any one wait of the test may take.
DEADLINE = 90.0
CLIENTS_PER_CUSTOMER = 2
DEPOSIT = 100_000_000_000  # 100,000.00 USDT each: no request is ever short of funds
OPS: dict[str, tuple[str, dict[str, Any], int]] = {
    "activation": ("/v1/contracts/activate", {"contract_id": "starter"}, 200_000_000),
    "stake": ("/v1/staking/stakes", {"amount": "100.00", "days": 30}, 100_000_000),
    "withdrawal": (
        "/v1/withdrawals",
        {"amount": "20.00", "network": "bsc", "address": ADDRESS},
        20_000_000,
    ),
}
TABLES: dict[str, type[Activation] | type[Stake] | type[Withdrawal]] = {
    "activation": Activation,
    "stake": Stake,
    "withdrawal": Withdrawal,
}


@dataclass
class Outcome:
    """One POST as its client saw it."""

    kind: str
    customer: CustomerWithKey
    key: str
    status: int | None  # None: no answer within REQUEST_LIMIT
    body: dict[str, Any]
    headers: httpx.Headers | None
    seconds: float


async def post(client: httpx.AsyncClient, who: CustomerWithKey, kind: str, key: str) -> Outcome:
    path, body, _price = OPS[kind]
    started = time.monotonic()
    try:
        response = await client.post(path, json=body, headers={**who.auth, "Idempotency-Key": key})
    except httpx.TimeoutException:
        return Outcome(kind, who, key, None, {}, None, time.monotonic() - started)
    return Outcome(
        kind,
        who,
        key,
        response.status_code,
        response.json(),
        response.headers,
        time.monotonic() - started,
    )


async def client_loop(
    base_url: str,
    who: CustomerWithKey,
    offset: int,
    stop_load: asyncio.Event,
    outcomes: list[Outcome],
) -> None:
    """Activation, stake, withdrawal, in turn, each with a key of its own, until told to stop."""
    kinds = list(OPS)
    async with httpx.AsyncClient(base_url=base_url, timeout=REQUEST_LIMIT) as client:
        n = offset
        while not stop_load.is_set():
            outcomes.append(await post(client, who, kinds[n % len(kinds)], str(uuid.uuid4())))
            n += 1
            await asyncio.sleep(0.02)  # a 503 comes back at once: keep the CPUs for the servers


async def until(what: str, condition: Callable[[], bool]) -> None:
    deadline = time.monotonic() + DEADLINE
    while not condition():
        assert time.monotonic() < deadline, f"gave up waiting for {what}"
        await asyncio.sleep(0.05)


def events(log_text: str, name: str) -> int:
    count = 0
    for line in log_text.splitlines():
        try:
            record = json.loads(line)
        except ValueError:
            continue
        count += isinstance(record, dict) and record.get("event") == name
    return count


def counted(outcomes: list[Outcome], status: int, since: int = 0) -> Callable[[], bool]:
    """At least 10 outcomes with `status` from index `since` on, of every kind."""

    def enough() -> bool:
        seen = [o.kind for o in outcomes[since:] if o.status == status]
        return len(seen) >= 10 and set(seen) == set(OPS)

    return enough


async def effects(seed: Seed, customers: list[CustomerWithKey]) -> dict[str, list[str]]:
    """Every activation, stake and withdrawal id of these customers in the database."""
    seqs = [c.seq for c in customers]
    found: dict[str, list[str]] = {}
    async with seed.db.read() as session:
        for kind, table in TABLES.items():
            rows = await session.scalars(select(table.id).where(table.customer_seq.in_(seqs)))
            found[kind] = sorted(rows)
    return found


def answered(outcomes: list[Outcome]) -> dict[str, list[str]]:
    """The ids of what every 200 answer says was done (a replay names its first answer's)."""
    ids: dict[str, set[str]] = {kind: set() for kind in OPS}
    for outcome in outcomes:
        if outcome.status == 200:
            ids[outcome.kind].add(outcome.body["id"])
    return {kind: sorted(found) for kind, found in ids.items()}


async def stored_keys(seed: Seed) -> dict[str, IdempotencyRecord]:
    async with seed.db.read() as session:
        return {r.key: r for r in await session.scalars(select(IdempotencyRecord))}


async def assert_books_balance(seed: Seed, url: str) -> None:
    environment = server_environment(url, {})
    for command in (("ledger", "check"), ("solvency",)):
        code, out, err = await run_command(str(MTX), *command, env=environment, time_limit=60)
        assert code == 0, (command, out, err)


@pytest.mark.timeout(600)
async def test_a_postgresql_restart_under_load_costs_503s_and_nothing_else(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Two API processes importing the app on a machine shared by several test runs can
    # take longer than the usual start-up wait.
    monkeypatch.setattr(servers, "STARTUP_TIMEOUT", 180.0)
    async with postgres_cluster() as cluster:
        url = await cluster.create_database("mtx")
        async with seeding(url) as seed:
            await open_for_business(seed.db)
            await open_staking(seed.db)
            customers = [
                await verified_customer(seed.db, seed.settings, deposit="100000.00")
                for _ in range(3)
            ]
            worker_log = tmp_path / "worker.log"
            with worker_log.open("wb") as log:
                worker = await asyncio.create_subprocess_exec(
                    str(MTX),
                    "worker",
                    cwd=tmp_path,
                    env=server_environment(url, {}),
                    stdin=asyncio.subprocess.DEVNULL,
                    stdout=log,
                    stderr=log,
                    start_new_session=True,
                )
            try:
                async with serve(url, tmp_path / "api", args=["--workers", "2"]) as server:
                    outcomes: list[Outcome] = []
                    stop_load = asyncio.Event()
                    load = [
                        asyncio.create_task(
                            client_loop(server.base_url, who, n, stop_load, outcomes)
                        )
                        for who in customers
                        for n in range(CLIENTS_PER_CUSTOMER)
                    ]
                    try:
                        await until("200s before the outage", counted(outcomes, 200))
                        await cluster.stop("fast")
                        down_from = len(outcomes)
                        await until("503s of every kind", counted(outcomes, 503, down_from))
                        # The worker met the outage too (observed, not assumed), and lives on.
                        await until(
                            "the worker's outage line",
                            lambda: events(worker_log.read_text(), "database_unavailable") > 0,
                        )
                        assert worker.returncode is None
                        await cluster.start()
                        up_from = len(outcomes)
                        await until("200s after the restart", counted(outcomes, 200, up_from))
                    finally:
                        stop_load.set()
                        await asyncio.wait_for(asyncio.gather(*load), DEADLINE)

                    # Every request answered, in time, with 200 or 503: no 500, no hang.
                    statuses = {o.status for o in outcomes}
                    assert statuses == {200, 503}, sorted(map(str, statuses))
                    slowest = max(o.seconds for o in outcomes)
                    assert slowest < REQUEST_LIMIT, slowest
                    refused = [o for o in outcomes if o.status == 503]
                    for outcome in refused:
                        assert outcome.body["error"]["code"] == "service_unavailable"
                        assert outcome.headers is not None
                        assert (
                            outcome.body["error"]["request_id"] == outcome.headers["x-request-id"]
                        )
                    assert "Traceback" not in server.log()
                    assert events(server.log(), "unhandled_error") == 0
                    # One line per API process that met the outage, not one per request.
                    assert 1 <= events(server.log(), "database_unavailable") <= 2

                    # 200 <=> exactly one effect; a 503 has none (its key stored no answer).
                    assert await effects(seed, customers) == answered(outcomes)
                    keys = await stored_keys(seed)
                    for outcome in outcomes:
                        record = keys.get(outcome.key)
                        if outcome.status == 200:
                            assert record is not None
                            assert record.response_status == 200
                            assert json.loads(record.response_body or "{}") == outcome.body
                        else:
                            assert record is None or record.response_status is None, outcome
                    for who in customers:
                        spent = sum(
                            OPS[o.kind][2]
                            for o in outcomes
                            if o.customer == who and o.status == 200
                        )
                        available = customer_available(who.id)
                        assert await balances(seed.db, available) == {available: DEPOSIT - spent}

                    # A client retries each 503 with its key: it runs once, or (a claim the
                    # outage left behind, under a minute old) is 409 conflict; never a replay.
                    async with httpx.AsyncClient(
                        base_url=server.base_url, timeout=REQUEST_LIMIT
                    ) as client:
                        retries = [await post(client, o.customer, o.kind, o.key) for o in refused]
                    for retry in retries:
                        assert retry.status in (200, 409), retry
                        assert retry.headers is not None
                        assert "idempotent-replayed" not in retry.headers, retry
                        if retry.status == 409:
                            assert retry.body["error"]["code"] == "conflict"
                    assert any(r.status == 200 for r in retries)
                    assert await effects(seed, customers) == answered(outcomes + retries)

                # The worker resumed: with the clock two days on, it pays every contract sold.
                await until(
                    "the worker's recovery line",
                    lambda: events(worker_log.read_text(), "database_available") > 0,
                )
                await move_clock(seed.db, 2 * 86_400)

                async def unpaid() -> int:
                    async with seed.db.read() as session:
                        rows = await session.scalars(
                            select(Activation.id).where(Activation.rewards_paid == 0)
                        )
                        return len(list(rows))

                deadline = time.monotonic() + DEADLINE
                while await unpaid():
                    assert time.monotonic() < deadline, "the worker did not pay after the restart"
                    assert worker.returncode is None, worker_log.read_text()
                    await asyncio.sleep(0.2)
                text = worker_log.read_text()
                assert worker.returncode is None
                assert events(text, "database_unavailable") == 1, text
                assert events(text, "database_available") == 1, text
                assert events(text, "worker_job_failed") == 0, text
            finally:
                await stop(worker)
            await assert_books_balance(seed, url)
