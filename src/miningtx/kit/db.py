"""Database engines and the two session types.

A ``ReadSession`` never writes; it runs in autocommit, so each statement sees its
own snapshot and no BEGIN/COMMIT round trips are spent. A ``WriteSession`` is one
unit of work that the request or job boundary commits. On SQLite every write
transaction starts with ``BEGIN IMMEDIATE`` and a process holds at most one write
connection, so write transactions cannot interleave; WAL lets reads go on beside
them.

On PostgreSQL a lost server is an outage to wait out, not a crash: connections are
pinged when taken from the pool (stale ones after a restart are replaced without an
error), connecting and each statement have time limits so nothing hangs, and
`is_unavailable` tells such failures from bugs so that the API answers 503 and a job
retries next round. `Reachability` logs each change of state once per process.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import structlog
from sqlalchemy import event
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from miningtx.config import Settings
from miningtx.kit.clock import DeploymentClock

log = structlog.get_logger(__name__)

#: SQLSTATEs saying the server is unreachable, going away or not taking connections yet
#: (class 08 connection exceptions, too many connections, admin/crash shutdown, starting up).
_UNAVAILABLE_SQLSTATES = ("08", "53300", "57P01", "57P02", "57P03")


def is_unavailable(error: BaseException) -> bool:
    """True when `error` means the database could not be reached or went away mid-request
    (retrying once it is back may succeed), False for anything a retry would repeat."""
    current: BaseException | None = error
    for _depth in range(8):  # the driver's error, SQLAlchemy's wrapper and their causes
        if current is None:
            return False
        # Refused, reset, or a connect/statement time limit (TimeoutError is an OSError);
        # a pool with no free connection in time is the same outage seen from the queue.
        if isinstance(current, OSError | PoolTimeoutError):
            return True
        if isinstance(current, DBAPIError) and current.connection_invalidated:
            return True
        sqlstate = getattr(current, "sqlstate", None)
        if isinstance(sqlstate, str) and sqlstate.startswith(_UNAVAILABLE_SQLSTATES):
            return True
        current = current.__cause__
    return False


class Reachability:
    """Whether this process last found its database reachable; each change is logged once,
    so an outage is one line however many requests or job rounds ran into it."""

    def __init__(self) -> None:
        self.reachable = True

    def lost(self, error: BaseException) -> None:
        if self.reachable:
            self.reachable = False
            log.warning("database_unavailable", error=type(error).__name__)

    def regained(self) -> None:
        if not self.reachable:
            self.reachable = True
            log.warning("database_available")


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
                # After a server restart every pooled connection is dead: a ping on checkout
                # replaces it, instead of failing the first request on each one.
                pool_pre_ping=True,
                connect_args={
                    "timeout": settings.db_connect_timeout,
                    "command_timeout": settings.db_command_timeout or None,
                },
                # Autocommit reads have nothing to roll back: skip that round trip.
                skip_autocommit_rollback=True,
            )
            # Reads skip BEGIN/COMMIT: two fewer round trips, each statement its own snapshot.
            self.read_engine = self.write_engine.execution_options(isolation_level="AUTOCOMMIT")
        self.reachability = Reachability()
        # A new connection after an outage is the sign the database is back (PostgreSQL's
        # read engine shares the write engine's pool; SQLite's has a pool of its own).
        for engine in [self.write_engine, *([self.read_engine] if self.is_sqlite else [])]:
            event.listen(engine.sync_engine, "connect", self._on_connect)
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

    def _on_connect(self, _dbapi_connection: Any, _record: Any) -> None:
        self.reachability.regained()

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
