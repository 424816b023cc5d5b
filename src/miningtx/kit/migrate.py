"""Run the Alembic migrations from code (`mtx migrate`, tests, the embedded default), and
the schema guard: no process works on a database whose schema is not this release's head.

`ensure_schema` is what every `mtx` command (but `mtx migrate`) runs first; `/readyz`
asks `stored_revision` and `schema_problem` on every call instead.
"""

from __future__ import annotations

import asyncio
from functools import lru_cache
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import text
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine
from sqlalchemy.pool import NullPool

from miningtx.kit.errors import OperationalFailure

MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"
#: Seconds the guard waits for a PostgreSQL connection before calling the database unreachable.
CONNECT_TIMEOUT = 10.0


class SchemaNotAtHead(OperationalFailure):
    """The database's schema is behind this release (or from a newer one)."""


class DatabaseUnreachable(OperationalFailure):
    """No connection to the configured database could be opened."""


def alembic_config(database_url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    return config


def _sqlite_folder(database_url: str) -> None:
    """On SQLite, create the database file's folder, so a fresh checkout works."""
    if database_url.startswith("sqlite") and ":///" in database_url:
        path = database_url.split(":///", 1)[1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)


def upgrade(database_url: str, revision: str = "head") -> None:
    """Bring the schema to `revision`. Synchronous: it runs its own event loop."""
    _sqlite_folder(database_url)
    command.upgrade(alembic_config(database_url), revision)


@lru_cache(maxsize=1)
def _script() -> ScriptDirectory:
    return ScriptDirectory(str(MIGRATIONS))


@lru_cache(maxsize=1)
def head_revision() -> str:
    """The revision this release's code expects (read from the migration files once)."""
    head = _script().get_current_head()
    assert head is not None, "the release ships no migrations"
    return head


@lru_cache(maxsize=1)
def known_revisions() -> frozenset[str]:
    return frozenset(script.revision for script in _script().walk_revisions())


def schema_problem(revision: str | None) -> str | None:
    """The one line saying what is wrong with a database at `revision`; None at the head."""
    head = head_revision()
    if revision == head:
        return None
    if revision is None:
        return f"database has no schema, this release needs {head}: run `mtx migrate`"
    if revision in known_revisions():
        return f"database schema is at {revision}, this release needs {head}: run `mtx migrate`"
    return (
        f"database schema is at {revision}, which this release does not know (it needs "
        f"{head}): a newer release migrated it; run that release"
    )


def database_location(database_url: str) -> str:
    """Where the database is, for an operator's eyes: host, port and name, never a password."""
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite":
        return f"the SQLite file {url.database}"
    port = f":{url.port}" if url.port else ""
    return f"{url.host or 'localhost'}{port}/{url.database or ''}"


async def stored_revision(session: AsyncSession) -> str | None:
    """The revision recorded in the database: one small query (it raises without a schema)."""
    result = await session.execute(text("SELECT version_num FROM alembic_version"))
    revision: str | None = result.scalar_one_or_none()
    return revision


def _current_revision(connection: Connection) -> str | None:
    return MigrationContext.configure(connection).get_current_revision()


async def database_revision(database_url: str) -> str | None:
    """The database's revision (None when it has no schema), or DatabaseUnreachable."""
    postgres = not database_url.startswith("sqlite")
    engine = create_async_engine(
        database_url,
        poolclass=NullPool,
        connect_args={"timeout": CONNECT_TIMEOUT} if postgres else {},
    )
    try:
        try:
            _sqlite_folder(database_url)
            connection = await engine.connect()
        # Refused, unknown host, bad password, no such database, a folder we may not write:
        # each is the operator's to fix, and each surfaces as one of these.
        except (OSError, SQLAlchemyError) as error:
            raise DatabaseUnreachable(_unreachable(database_url, error)) from error
        try:
            return await connection.run_sync(_current_revision)
        finally:
            await connection.close()
    finally:
        await engine.dispose()


def _unreachable(database_url: str, error: BaseException) -> str:
    cause = getattr(error, "orig", None) or error
    reason = (str(cause).strip().splitlines() or [type(cause).__name__])[0]
    password = make_url(database_url).password
    if password:
        reason = reason.replace(str(password), "***")
    return (
        f"cannot reach the database at {database_location(database_url)} ({reason}): "
        "check MTX_DATABASE_URL and that the database server is running"
    )


def migrate_to_head(database_url: str) -> None:
    """`mtx migrate`: bring the database to the head; DatabaseUnreachable if it cannot be
    reached, SchemaNotAtHead if a newer release migrated it (Alembic cannot go from there)."""
    revision = asyncio.run(database_revision(database_url))
    if revision is not None and revision not in known_revisions():
        raise SchemaNotAtHead(schema_problem(revision) or revision)
    upgrade(database_url)


_at_head: set[str] = set()


def ensure_schema(database_url: str) -> None:
    """Refuse to go on unless the database is at this release's head.

    On SQLite (the embedded default) a schema that is missing or behind is brought up to
    date instead. Checked once per process and database: later calls cost nothing.
    Raises SchemaNotAtHead or DatabaseUnreachable, whose message is the operator's line.
    """
    if database_url in _at_head:
        return
    revision = asyncio.run(database_revision(database_url))
    problem = schema_problem(revision)
    behind = revision is None or revision in known_revisions()
    if problem is not None and behind and database_url.startswith("sqlite"):
        upgrade(database_url)
        problem = None
    if problem is not None:
        raise SchemaNotAtHead(problem)
    _at_head.add(database_url)
