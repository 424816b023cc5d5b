"""Real databases for tests: schema built once by the migrations, copied per test.

SQLite: the migrated file is copied. PostgreSQL: each test gets a database created
from a migrated template database, dropped afterwards. Names are unique per run.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

import asyncpg
from sqlalchemy import text

from miningtx.kit.db import Database
from miningtx.kit.migrate import upgrade

PG_ADMIN_DSN = os.environ.get("MTX_TEST_PG_DSN", "postgresql://postgres@127.0.0.1:5432/postgres")
PG_HOST = PG_ADMIN_DSN.rsplit("/", 1)[0].replace("postgresql://", "")
REDIS_URL = os.environ.get("MTX_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


def pg_url(name: str) -> str:
    return f"postgresql+asyncpg://{PG_HOST}/{name}"


async def pg_admin(sql: str) -> None:
    connection = await asyncpg.connect(PG_ADMIN_DSN)
    try:
        await connection.execute(sql)
    finally:
        await connection.close()


class SqliteTemplate:
    def __init__(self, folder: Path) -> None:
        self.path = folder / "template.db"
        upgrade(f"sqlite+aiosqlite:///{self.path}")

    @contextmanager
    def database(self, folder: Path) -> Iterator[str]:
        target = folder / f"test-{uuid.uuid4().hex[:8]}.db"
        shutil.copyfile(self.path, target)
        yield f"sqlite+aiosqlite:///{target}"


class PostgresTemplate:
    """Creates (once, lazily) a migrated template database and clones it per test."""

    def __init__(self) -> None:
        self.name = f"mtx_tpl_{uuid.uuid4().hex[:10]}"
        self._ready = False

    async def _ensure(self) -> None:
        if self._ready:
            return
        await pg_admin(f'CREATE DATABASE "{self.name}"')
        # Alembic runs its own event loop, so it gets a thread of its own.
        await asyncio.to_thread(upgrade, pg_url(self.name))
        self._ready = True

    async def new_database(self) -> str:
        await self._ensure()
        name = f"mtx_t_{uuid.uuid4().hex[:12]}"
        await pg_admin(f'CREATE DATABASE "{name}" TEMPLATE "{self.name}"')
        return name

    @staticmethod
    async def drop(name: str) -> None:
        await pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def drop_template(self) -> None:
        if self._ready:
            with ThreadPoolExecutor(1) as pool:
                pool.submit(asyncio.run, self.drop(self.name)).result()


async def wait_until_blocked(db: Database) -> None:
    """Until another connection of this database waits on a row lock (no sleeping guess)."""
    query = text(
        "SELECT count(*) FROM pg_stat_activity "
        "WHERE datname = current_database() AND wait_event_type = 'Lock'"
    )
    while True:
        async with db.read() as session:
            if (await session.execute(query)).scalar_one() > 0:
                return
        await asyncio.sleep(0.01)
