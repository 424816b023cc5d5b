"""Fixtures of the client tests: one real `mtx serve` on SQLite, seeded and open for business."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.databases import SqliteTemplate
from tests.factories import CustomerWithKey, fund_pool, make_customer, open_for_business
from tests.servers import Seed, Server, seeding, serve
from tests.webhooks.receiver import Receiver, running_receiver

SERVER_ENV = {
    "MTX_WEBHOOKS_ALLOW_PRIVATE_TARGETS": "true",
    "MTX_WORKER_IN_PROCESS": "true",
    "MTX_WORKER_INTERVAL": "0.1",
    "MTX_RATE_LIMIT": "100000/minute",
}


@dataclass(frozen=True)
class Platform:
    server: Server
    seed: Seed

    async def customer(self, deposit: str | None = "5000.00") -> CustomerWithKey:
        return await make_customer(self.seed.db, self.seed.settings, deposit=deposit)


@pytest.fixture
async def platform(sqlite_template: SqliteTemplate, tmp_path: Path) -> AsyncIterator[Platform]:
    with sqlite_template.database(tmp_path) as url:
        async with seeding(url) as seed:
            await open_for_business(seed.db)
            await fund_pool(seed.db, "staking", "1000000.00")
            await fund_pool(seed.db, "bonus", "1000.00")
            async with serve(url, tmp_path / "server", env=SERVER_ENV) as server:
                yield Platform(server, seed)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with running_receiver() as running:
        yield running
