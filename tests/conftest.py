"""Fixtures: every test that takes `env` runs once on SQLite and once on PostgreSQL.

PostgreSQL and Redis are required: a test that needs them fails (never skips) when
they are missing, in CI and locally alike.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from miningtx.app import create_app
from miningtx.config import Settings
from miningtx.kit.db import Database
from tests.databases import PostgresTemplate, SqliteTemplate, pg_url

#: Fixtures shared by the CLI tests (`sqlite_env`).
pytest_plugins = ["tests.operator_cli"]


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> SqliteTemplate:
    return SqliteTemplate(tmp_path_factory.mktemp("sqlite-template"))


@pytest.fixture(scope="session")
def postgres_templates() -> Iterator[PostgresTemplate]:
    """A template database, migrated on first use by a PostgreSQL test and dropped at the end."""
    template = PostgresTemplate()
    yield template
    template.drop_template()


@pytest.fixture(params=["sqlite", "postgresql"])
async def database_url(
    request: pytest.FixtureRequest,
    tmp_path: Path,
    sqlite_template: SqliteTemplate,
    postgres_templates: PostgresTemplate,
) -> AsyncIterator[str]:
    """A fresh, migrated database for one test."""
    if request.param == "sqlite":
        with sqlite_template.database(tmp_path) as url:
            yield url
        return
    name = await postgres_templates.new_database()
    try:
        yield pg_url(name)
    finally:
        await PostgresTemplate.drop(name)


#: The public BIP-39 test mnemonic (Hardhat's and anvil's default). Never for real funds.
TEST_MNEMONIC = "test test test test test test test test test test test junk"
#: Its account-level extended public key, m/44'/60'/0': test deposit addresses derive from it.
TEST_XPUB = (
    "xpub6Ce9NcJvTk36xtLSrJLZqE7wtgA5deCeYs7rSQtreh4cj6ByPtrg9sD7"
    "V2FNFLPnf8heNP3FGkeV9qwfzvZNSd54JoNXVsXFYSYwHsnJxqP"
)


#: What a live deployment must configure besides the xpub (tests only; nothing real).
LIVE_REQUIREMENTS: dict[str, Any] = {
    "secret_key": "live-test-secret-" + "x" * 32,
    # Nothing listens there: live tests that need a node start anvil themselves.
    "chain_bsc_rpc_url": "http://127.0.0.1:9",
    "chain_bsc_usdt_address": "0x55d398326f99059fF775485246999027B3197955",
    "chain_polygon_rpc_url": "http://127.0.0.1:9",
    "chain_polygon_usdt_address": "0xc2132D05D31c914a87C6611C10748AEb04B58e8F",
}


def make_settings(database_url: str, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "database_url": database_url,
        "wallet_xpub": TEST_XPUB,
        "rate_limit": "120/minute",
        "rate_limit_unauthenticated": "100000/minute",
        "log_json": True,
        "log_level": "WARNING",
        # Tests drive the jobs themselves; a background round would race their assertions.
        "worker_in_process": False,
    }
    values.update(overrides)
    if values.get("mode") == "live":
        values.update(LIVE_REQUIREMENTS | overrides)
    return Settings(_env_file=None, **values)


@dataclass
class Env:
    """One test's platform: settings, database handle and an in-process API client."""

    settings: Settings
    db: Database
    client: httpx.AsyncClient


@asynccontextmanager
async def open_env(database_url: str, **overrides: Any) -> AsyncIterator[Env]:
    """The platform in-process on `database_url`, with `overrides` to its settings."""
    settings = make_settings(database_url, **overrides)
    app = create_app(settings)
    db: Database = app.state.db
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        yield Env(settings, db, client)
    await db.dispose()


@pytest.fixture
async def env(database_url: str) -> AsyncIterator[Env]:
    async with open_env(database_url) as platform:
        yield platform
