"""The schema guard: no `mtx` command works on a database that is not at this release's
head, `/readyz` says 503 while it is not, and no operational failure prints a traceback."""

from __future__ import annotations

import asyncio
import enum
import sqlite3
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
import typer
from alembic import command
from typer.testing import CliRunner

from miningtx.app import create_app
from miningtx.cli import app as mtx_app
from miningtx.config import get_settings
from miningtx.kit.migrate import alembic_config, head_revision, upgrade
from tests.conftest import TEST_MNEMONIC, make_settings
from tests.databases import PG_ADMIN_DSN, pg_admin, pg_url
from tests.servers import MTX, free_port, run_command, server_environment

#: The revision before the head: a database one release behind.
PREVIOUS = "0009"
#: What a refusal looks like, for an empty database and one a release behind.
NO_SCHEMA = (
    f"error: database has no schema, this release needs {head_revision()}: run `mtx migrate`"
)
BEHIND = (
    f"error: database schema is at {PREVIOUS}, this release needs {head_revision()}: "
    "run `mtx migrate`"
)
#: The commands that run whatever the schema: the migrator, and one that opens no database.
WITHOUT_SCHEMA = {("migrate",), ("signer", "addresses")}
#: Enough for one `mtx` start on a machine shared with other test runs.
COMMAND_LIMIT = 180.0


@pytest.fixture
async def empty_postgres() -> AsyncIterator[str]:
    """A PostgreSQL database with nothing in it, as a new operator creates one."""
    name = f"mtx_guard_{uuid.uuid4().hex[:12]}"
    await pg_admin(f'CREATE DATABASE "{name}"')
    try:
        yield pg_url(name)
    finally:
        await pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(params=["sqlite", "postgresql"])
async def empty_database(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """An empty database on either engine."""
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'empty.db'}"
        return
    name = f"mtx_guard_{uuid.uuid4().hex[:12]}"
    await pg_admin(f'CREATE DATABASE "{name}"')
    try:
        yield pg_url(name)
    finally:
        await pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def downgrade(database_url: str, revision: str) -> None:
    command.downgrade(alembic_config(database_url), revision)


async def postgres_revision(database_url: str) -> str | None:
    """What alembic_version says, read beside the code under test (None: no such table)."""
    name = database_url.rsplit("/", 1)[1]
    connection = await asyncpg.connect(PG_ADMIN_DSN.rsplit("/", 1)[0] + f"/{name}")
    try:
        exists = await connection.fetchval("SELECT to_regclass('alembic_version') IS NOT NULL")
        if not exists:
            return None
        revision: str | None = await connection.fetchval("SELECT version_num FROM alembic_version")
        return revision
    finally:
        await connection.close()


def guard_environment(database_url: str) -> dict[str, str]:
    """A sandbox whose signer has keys and a node (nothing listens there: no node is needed)."""
    return server_environment(
        database_url,
        {"MTX_SIGNER_MNEMONIC": TEST_MNEMONIC, "MTX_CHAIN_BSC_RPC_URL": "http://127.0.0.1:9"},
    )


REFUSING_PROCESSES = [
    ("customers", "create", "--email", "new@example.com", "--username", "newcomer"),
    ("worker", "--once"),
    ("worker",),
    ("signer", "run", "--once"),
    ("serve", "--port", "0"),
]


async def refusals(database_url: str, folder: Path) -> list[tuple[int, str, str]]:
    environment = guard_environment(database_url)
    runs = (
        run_command(str(MTX), *argv, env=environment, cwd=folder, time_limit=COMMAND_LIMIT)
        for argv in REFUSING_PROCESSES
    )
    return await asyncio.gather(*runs)


@pytest.mark.timeout(600)
async def test_processes_refuse_an_empty_postgres_database(
    empty_postgres: str, tmp_path: Path
) -> None:
    results = await refusals(empty_postgres, tmp_path)

    for argv, (code, out, err) in zip(REFUSING_PROCESSES, results, strict=True):
        assert (code, err.strip()) == (1, NO_SCHEMA), (argv, out, err)
        assert "Traceback" not in out + err, argv
    assert await postgres_revision(empty_postgres) is None  # nothing migrated, nothing written


@pytest.mark.timeout(600)
async def test_processes_refuse_a_postgres_database_a_release_behind(
    empty_postgres: str, tmp_path: Path
) -> None:
    await asyncio.to_thread(upgrade, empty_postgres)
    await asyncio.to_thread(downgrade, empty_postgres, PREVIOUS)

    results = await refusals(empty_postgres, tmp_path)

    for argv, (code, out, err) in zip(REFUSING_PROCESSES, results, strict=True):
        assert (code, err.strip()) == (1, BEHIND), (argv, out, err)
        assert "Traceback" not in out + err, argv
    assert await postgres_revision(empty_postgres) == PREVIOUS
    connection = await asyncpg.connect(
        PG_ADMIN_DSN.rsplit("/", 1)[0] + "/" + empty_postgres.rsplit("/", 1)[1]
    )
    try:
        assert await connection.fetchval("SELECT count(*) FROM customers") == 0
    finally:
        await connection.close()


@pytest.mark.timeout(300)
async def test_sqlite_is_brought_up_to_date_but_a_newer_schema_is_refused(tmp_path: Path) -> None:
    """The embedded default migrates itself; a file a newer release migrated it cannot."""
    path = tmp_path / "var" / "miningtx.db"
    url = f"sqlite+aiosqlite:///{path}"
    await asyncio.to_thread(upgrade, url)
    await asyncio.to_thread(downgrade, url, PREVIOUS)
    environment = guard_environment(url)
    argv = ("customers", "create", "--email", "old@example.com", "--username", "oldtimer")

    code, out, err = await run_command(str(MTX), *argv, "--json", env=environment, cwd=tmp_path)
    assert code == 0, err
    assert '"username": "oldtimer"' in out
    with sqlite3.connect(path) as connection:
        assert connection.execute("SELECT version_num FROM alembic_version").fetchall() == [
            (head_revision(),)
        ]
        connection.execute("UPDATE alembic_version SET version_num = '0099_from_the_future'")

    newer = (
        "error: database schema is at 0099_from_the_future, which this release does not "
        f"know (it needs {head_revision()}): a newer release migrated it; run that release"
    )
    for args in (argv, ("migrate",)):
        code, out, err = await run_command(str(MTX), *args, env=environment, cwd=tmp_path)
        assert (code, err.strip()) == (1, newer), (args, out, err)
        assert "Traceback" not in out + err


@pytest.mark.timeout(300)
async def test_readyz_is_503_until_the_schema_is_at_the_head(
    empty_database: str, tmp_path: Path
) -> None:
    """An app already running beside an operator's `mtx migrate` turns ready, no restart."""
    app = create_app(make_settings(empty_database))
    environment = guard_environment(empty_database)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        empty = await client.get("/readyz")
        code, _out, err = await run_command(
            str(MTX), "migrate", env=environment, cwd=tmp_path, time_limit=COMMAND_LIMIT
        )
        assert code == 0, err
        migrated = await client.get("/readyz")
        await asyncio.to_thread(downgrade, empty_database, PREVIOUS)
        behind = await client.get("/readyz")
        code, _out, err = await run_command(
            str(MTX), "migrate", env=environment, cwd=tmp_path, time_limit=COMMAND_LIMIT
        )
        assert code == 0, err
        again = await client.get("/readyz")
    await app.state.db.dispose()

    assert (empty.status_code, empty.json()) == (503, {"status": "unavailable"})
    assert (migrated.status_code, migrated.json()) == (200, {"status": "ok"})
    assert (behind.status_code, behind.json()) == (503, {"status": "unavailable"})
    assert (again.status_code, again.json()) == (200, {"status": "ok"})


@pytest.mark.timeout(300)
async def test_an_unreachable_database_is_one_line_and_debug_shows_the_traceback(
    tmp_path: Path,
) -> None:
    port = free_port()  # closed: nothing listens there
    url = f"postgresql+asyncpg://operator:hunter2secret@127.0.0.1:{port}/miningtx"
    environment = guard_environment(url)
    argv = ("keys", "revoke", "key_x")

    plain, debug, variable, migrate = await asyncio.gather(
        run_command(str(MTX), *argv, env=environment, cwd=tmp_path, time_limit=COMMAND_LIMIT),
        run_command(
            str(MTX), "--debug", *argv, env=environment, cwd=tmp_path, time_limit=COMMAND_LIMIT
        ),
        run_command(
            str(MTX),
            *argv,
            env=environment | {"MTX_DEBUG": "1"},
            cwd=tmp_path,
            time_limit=COMMAND_LIMIT,
        ),
        run_command(str(MTX), "migrate", env=environment, cwd=tmp_path, time_limit=COMMAND_LIMIT),
    )

    for code, out, err in (plain, migrate):
        assert code == 1
        assert out == ""
        lines = err.strip().splitlines()
        assert len(lines) == 1, err
        assert lines[0].startswith(
            f"error: cannot reach the database at 127.0.0.1:{port}/miningtx "
        )
        assert lines[0].endswith(
            "check MTX_DATABASE_URL and that the database server is running"
        ), lines[0]
        assert "hunter2secret" not in err
    for code, _out, err in (debug, variable):
        assert code == 1
        assert "Traceback" in err
        assert "DatabaseUnreachable" in err
        assert "hunter2secret" not in err  # a traceback shows no locals


# Typer carries its own copy of Click, so its commands are recognised by shape, not class.
def _leaf_commands(group: Any, path: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
    for name, sub in group.commands.items():
        if hasattr(sub, "commands"):
            yield from _leaf_commands(sub, (*path, name))
        else:
            yield (*path, name)


def _arguments(command: Any) -> list[str]:
    """Values for a command's required parameters that pass its own parsing."""
    args: list[str] = []
    for param in command.params:
        if not param.required:
            continue
        annotation = param.type_descriptor.annotation
        is_enum = isinstance(annotation, type) and issubclass(annotation, enum.Enum)
        value = str(next(iter(annotation)).value) if is_enum else "1"
        if param.opts[0].startswith("-"):
            args.extend([param.opts[0], value])
        else:
            args.append(value)
    return args


@pytest.fixture
def cli_on(monkeypatch: pytest.MonkeyPatch) -> Iterator[pytest.MonkeyPatch]:
    yield monkeypatch
    get_settings.cache_clear()


@pytest.mark.timeout(300)
async def test_every_command_that_opens_the_database_refuses(
    empty_postgres: str, cli_on: pytest.MonkeyPatch
) -> None:
    for name, value in guard_environment(empty_postgres).items():
        if name.startswith("MTX_"):
            cli_on.setenv(name, value)
    get_settings.cache_clear()
    root: Any = typer.main.get_command(mtx_app)
    runner = CliRunner()
    commands = sorted(_leaf_commands(root))
    guarded = [path for path in commands if path not in WITHOUT_SCHEMA]

    def invoke(path: tuple[str, ...]) -> tuple[int, str]:
        leaf = root
        for name in path:
            leaf = leaf.commands[name]
        result = runner.invoke(mtx_app, [*path, *_arguments(leaf)])
        return result.exit_code, result.stderr.strip()

    outcomes = await asyncio.to_thread(lambda: {path: invoke(path) for path in guarded})

    assert len(guarded) > 30  # the tree was walked, not an empty group
    assert set(commands) >= WITHOUT_SCHEMA
    refused = {path: outcome for path, outcome in outcomes.items() if outcome == (1, NO_SCHEMA)}
    assert refused == outcomes, {p: o for p, o in outcomes.items() if p not in refused}
    assert await postgres_revision(empty_postgres) is None

    # The exempt command that opens no database works with none reachable at all.
    cli_on.setenv("MTX_DATABASE_URL", f"postgresql+asyncpg://postgres@127.0.0.1:{free_port()}/x")
    get_settings.cache_clear()
    addresses = await asyncio.to_thread(runner.invoke, mtx_app, ["signer", "addresses"])
    assert addresses.exit_code == 0, addresses.output
