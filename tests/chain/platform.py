"""The platform wired to the anvil nodes: settings, an in-process API, and its jobs."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import httpx
from sqlalchemy import select

from miningtx.app import create_app
from miningtx.config import Settings
from miningtx.kit.clock import utcnow
from miningtx.kit.db import Database
from miningtx.kit.jobs import WorkerContext
from miningtx.models import Customer, Deposit, KycStatus
from miningtx.wallet.signer import Keys, Signer
from miningtx.wallet.tasks import watch_chains
from tests.chain.anvil import Chain
from tests.conftest import TEST_MNEMONIC, make_settings
from tests.factories import CustomerWithKey, make_customer

#: Blocks a deposit or payout needs in these tests (head - block + 1).
CONFIRMATIONS = 3


def chain_settings(database_url: str, bsc: Chain, polygon: Chain, **extra: Any) -> Settings:
    return make_settings(
        database_url,
        chain_bsc_rpc_url=bsc.node.rpc_url,
        chain_bsc_usdt_address=bsc.token.address,
        chain_bsc_confirmations=CONFIRMATIONS,
        chain_bsc_start_block=0,
        chain_polygon_rpc_url=polygon.node.rpc_url,
        chain_polygon_usdt_address=polygon.token.address,
        chain_polygon_confirmations=CONFIRMATIONS,
        chain_polygon_start_block=0,
        **extra,
    )


@dataclass
class Platform:
    settings: Settings
    db: Database
    client: httpx.AsyncClient
    bsc: Chain
    polygon: Chain

    def on(self, network: str) -> Chain:
        return self.bsc if network == "bsc" else self.polygon

    async def watch(self) -> int:
        """One round of the chain watcher job, as `mtx worker` runs it."""
        return await watch_chains(WorkerContext(self.db, self.settings))

    def signer(self) -> Signer:
        return Signer(self.db, self.settings, Keys(TEST_MNEMONIC))

    async def customer(self) -> CustomerWithKey:
        return await make_customer(self.db, self.settings)

    async def deposit_address(self, who: CustomerWithKey, network: str = "bsc") -> str:
        answer = await self.client.get(
            "/v1/deposits/address", params={"network": network}, headers=who.auth
        )
        assert answer.status_code == 200, answer.text
        address: str = answer.json()["address"]
        return address

    async def deposits(self, network: str | None = None) -> list[Deposit]:
        async with self.db.read() as session:
            query = select(Deposit).order_by(Deposit.seq)
            if network is not None:
                query = query.where(Deposit.network == network)
            return list(await session.scalars(query))

    async def verify_kyc(self, who: CustomerWithKey) -> None:
        async with self.db.write() as session:
            customer = await session.scalar(select(Customer).where(Customer.id == who.id))
            assert customer is not None
            customer.kyc_status = KycStatus.VERIFIED
            customer.kyc_bonus_credited = True
            customer.kyc_reviewed_at = utcnow()


@asynccontextmanager
async def running_platform(
    database_url: str, bsc: Chain, polygon: Chain, **extra: Any
) -> AsyncIterator[Platform]:
    settings = chain_settings(database_url, bsc, polygon, **extra)
    app = create_app(settings)
    db: Database = app.state.db
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        yield Platform(settings, db, client, bsc, polygon)
    await db.dispose()
