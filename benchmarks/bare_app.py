"""The baseline for GET /v1/balance: a bare FastAPI app whose one endpoint runs one query.

The query is the same SQL the balance route sends (one round trip joining the
customer's available account, their reward total and the price sum of their active
contracts), run with the plain driver: an asyncpg pool on PostgreSQL, a small pool of
aiosqlite connections on SQLite. No auth, rate limit, middleware, ORM or logging, so
the ratio against it is what the platform adds on top of "one query over HTTP".

Served by uvicorn like `mtx serve`: one process, configured by environment variables
(BENCH_BARE_DATABASE is ``postgresql://...`` or ``sqlite:///PATH``).
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any, Protocol

import aiosqlite
import asyncpg
from fastapi import FastAPI, HTTPException, Query

from miningtx.kit.money import format_amount

#: The balance route's query, written out (see miningtx.customers.repository.balance).
BALANCE_SQL = """
SELECT ledger_accounts.balance, customers.total_rewards,
       (SELECT coalesce(sum(contract_activations.price), 0)
          FROM contract_activations
         WHERE contract_activations.customer_seq = {p1}
           AND contract_activations.status = 'active') AS in_contracts
  FROM ledger_accounts JOIN customers ON customers.seq = ledger_accounts.customer_seq
 WHERE ledger_accounts.customer_seq = {p1} AND ledger_accounts.kind = 'customer_available'
"""


class BalanceSource(Protocol):
    async def fetch(self, customer_seq: int) -> tuple[int, int, int] | None: ...

    async def close(self) -> None: ...


class PostgresSource:
    def __init__(self, pool: Any) -> None:
        self.pool = pool
        self.sql = BALANCE_SQL.format(p1="$1")

    @classmethod
    async def open(cls, dsn: str, size: int) -> PostgresSource:
        return cls(await asyncpg.create_pool(dsn, min_size=size, max_size=size))

    async def fetch(self, customer_seq: int) -> tuple[int, int, int] | None:
        row = await self.pool.fetchrow(self.sql, customer_seq)
        # sum() of a BIGINT is NUMERIC in PostgreSQL, so the third column arrives as a Decimal.
        return None if row is None else (row[0], row[1], int(row[2]))

    async def close(self) -> None:
        await self.pool.close()


class SqliteSource:
    """A fixed set of aiosqlite connections handed out through a queue."""

    def __init__(self, connections: list[aiosqlite.Connection]) -> None:
        self.connections = connections
        self.idle: asyncio.Queue[aiosqlite.Connection] = asyncio.Queue()
        for connection in connections:
            self.idle.put_nowait(connection)
        self.sql = BALANCE_SQL.format(p1="?1")

    @classmethod
    async def open(cls, path: str, size: int) -> SqliteSource:
        connections = []
        for _ in range(size):
            connection = await aiosqlite.connect(path)
            await connection.execute("PRAGMA busy_timeout=60000")
            connections.append(connection)
        return cls(connections)

    async def fetch(self, customer_seq: int) -> tuple[int, int, int] | None:
        connection = await self.idle.get()
        try:
            async with connection.execute(self.sql, (customer_seq,)) as cursor:
                row = await cursor.fetchone()
        finally:
            self.idle.put_nowait(connection)
        return None if row is None else (row[0], row[1], row[2])

    async def close(self) -> None:
        for connection in self.connections:
            await connection.close()


async def open_source(database: str, size: int) -> BalanceSource:
    if database.startswith("postgresql://"):
        return await PostgresSource.open(database, size)
    if database.startswith("sqlite:///"):
        return await SqliteSource.open(database.removeprefix("sqlite:///"), size)
    raise ValueError(f"BENCH_BARE_DATABASE must be postgresql://... or sqlite:///PATH: {database}")


def create_app() -> FastAPI:
    database = os.environ["BENCH_BARE_DATABASE"]
    size = int(os.environ.get("BENCH_BARE_POOL_SIZE", "10"))
    sources: list[BalanceSource] = []

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        sources.append(await open_source(database, size))
        yield
        await sources[0].close()

    app = FastAPI(lifespan=lifespan, openapi_url=None, docs_url=None, redoc_url=None)

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/balance")
    async def balance(customer: int = Query()) -> dict[str, str]:
        row = await sources[0].fetch(customer)
        if row is None:
            raise HTTPException(404, "no such customer")
        available, total_rewards, in_contracts = row
        return {
            "available": format_amount(available),
            "in_contracts": format_amount(in_contracts),
            "total_rewards": format_amount(total_rewards),
        }

    return app
