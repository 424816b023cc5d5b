"""Database engines and the two session types.

A ``ReadSession`` never writes; it runs in autocommit, so each statement sees its
own snapshot and no BEGIN/COMMIT round trips are spent. A ``WriteSession`` is one
unit of work that the request or job boundary commits. On SQLite every write
transaction starts with ``BEGIN IMMEDIATE`` and a process holds at most one write
connection, so write transactions cannot interleave; WAL lets reads go on beside
them.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy import event
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from miningtx.config import Settings
from miningtx.kit.clock import DeploymentClock


class ReadSession(AsyncSession):
    """A session for queries only; a function taking one promises not to write."""


class WriteSession(AsyncSession):
    """A session inside a write transaction; its owner commits it, services never do."""


def _sqlite_engine(url: str, *, begin: str | None, pool_size: int) -> AsyncEngine:
    engine = create_async_engine(
        url,
        pool_size=pool_size,
        max_overflow=0,
        pool_timeout=300,
        # Autocommit readers have nothing to roll back when handed back to the pool.
        pool_reset_on_return="rollback" if begin is not None else None,
    )

    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Take transaction control away from the driver so our BEGIN is the one that runs.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        for pragma in (
            "PRAGMA journal_mode=WAL",
            "PRAGMA busy_timeout=60000",
            "PRAGMA foreign_keys=ON",
            "PRAGMA synchronous=NORMAL",
        ):
            cursor.execute(pragma)
        cursor.close()

    if begin is not None:

        @event.listens_for(engine.sync_engine, "begin")
        def _on_begin(connection: Any) -> None:
            connection.exec_driver_sql(begin)

    return engine


class Database:
    """Owns the engines of one process and hands out read and write sessions."""

    def __init__(self, settings: Settings) -> None:
        self.url = settings.database_url
        #: The deployment's business clock; movable only in sandbox mode.
        self.clock = DeploymentClock(movable=settings.sandbox, cutoff=settings.daily_cutoff)
        self.is_sqlite = settings.is_sqlite
        if self.is_sqlite:
            path = settings.sqlite_path()
            if path is not None:
                path.parent.mkdir(parents=True, exist_ok=True)
            self.write_engine = _sqlite_engine(self.url, begin="BEGIN IMMEDIATE", pool_size=1)
            # Reads run in autocommit, as on PostgreSQL: each statement its own snapshot.
            self.read_engine = _sqlite_engine(self.url, begin=None, pool_size=8)
        else:
            self.write_engine = create_async_engine(
                self.url,
                pool_size=settings.db_pool_size,
                max_overflow=settings.db_pool_size,
                pool_timeout=60,
                # Autocommit reads have nothing to roll back: skip that round trip.
                skip_autocommit_rollback=True,
            )
            # Reads skip BEGIN/COMMIT: two fewer round trips, each statement its own snapshot.
            self.read_engine = self.write_engine.execution_options(isolation_level="AUTOCOMMIT")
        self._read = async_sessionmaker(
            self.read_engine, class_=ReadSession, expire_on_commit=False, autoflush=False
        )
        self._write = async_sessionmaker(
            self.write_engine, class_=WriteSession, expire_on_commit=False, autoflush=True
        )
        # SQLite: the writer's BEGIN IMMEDIATE holds writers off for the few statements of a
        # report. PostgreSQL: a read-only REPEATABLE READ transaction, one snapshot throughout.
        snapshot_engine = (
            self.write_engine
            if self.is_sqlite
            else self.write_engine.execution_options(
                isolation_level="REPEATABLE READ", postgresql_readonly=True
            )
        )
        self._snapshot = async_sessionmaker(
            snapshot_engine, class_=ReadSession, expire_on_commit=False, autoflush=False
        )

    @asynccontextmanager
    async def read(self) -> AsyncIterator[ReadSession]:
        async with self._read() as session, session.begin():
            yield session

    @asynccontextmanager
    async def write(self) -> AsyncIterator[WriteSession]:
        """One unit of work: commits when the block ends, rolls back if it raises."""
        async with self._write() as session, session.begin():
            yield session

    @asynccontextmanager
    async def snapshot(self) -> AsyncIterator[ReadSession]:
        """Several queries that all see one consistent state (reports, invariant checks)."""
        async with self._snapshot() as session, session.begin():
            yield session

    async def dispose(self) -> None:
        await self.write_engine.dispose()
        if self.is_sqlite:
            await self.read_engine.dispose()
