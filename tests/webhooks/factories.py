"""Webhook test helpers: endpoints through the API, events through the outbox, rounds."""

from __future__ import annotations

import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any, Protocol

from sqlalchemy import select, update

from miningtx.config import Settings
from miningtx.kit.clock import utcnow
from miningtx.kit.db import Database
from miningtx.kit.jobs import WorkerContext
from miningtx.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint
from miningtx.webhooks import outbox, urls
from miningtx.webhooks.tasks import deliver_due
from tests.conftest import Env
from tests.factories import CustomerWithKey

ENDPOINTS = "/v1/webhook_endpoints"


async def add_endpoint(
    env: Env, who: CustomerWithKey, url: str, events: list[str] | None = None
) -> dict[str, Any]:
    response = await env.client.post(
        ENDPOINTS, json={"url": url, "events": events or ["*"]}, headers=who.auth
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


class HasDatabase(Protocol):
    """A test platform (`Env`) or a server's seeding handle (`Seed`)."""

    @property
    def db(self) -> Database: ...


async def emit(
    env: HasDatabase,
    who: CustomerWithKey,
    event_type: str = "reward.credited",
    data: dict[str, Any] | None = None,
) -> str:
    """Record an event for `who` as the domain code would, in a transaction of its own."""
    async with env.db.write() as session:
        return await outbox.emit(
            session,
            customer_seq=who.seq,
            event_type=event_type,
            data=data or {"amount": "130.00", "contract": "Ultra Miner"},
            now=utcnow(),
            source_key=f"test:{uuid.uuid4().hex}",
        )


async def deliver(env: Env, settings: Settings | None = None) -> int:
    """One worker round of webhook deliveries."""
    return await deliver_due(WorkerContext(env.db, settings or env.settings))


async def make_due(env: Env) -> None:
    """Let every pending delivery fall due now instead of waiting for its backoff."""
    async with env.db.write() as session:
        await session.execute(
            update(WebhookDelivery)
            .where(WebhookDelivery.status == "pending")
            .values(next_attempt_at=utcnow() - timedelta(seconds=1))
        )


async def deliveries(env: Env) -> list[WebhookDelivery]:
    async with env.db.read() as session:
        return list(await session.scalars(select(WebhookDelivery).order_by(WebhookDelivery.seq)))


async def attempts(env: Env) -> list[WebhookAttempt]:
    async with env.db.read() as session:
        return list(await session.scalars(select(WebhookAttempt).order_by(WebhookAttempt.seq)))


async def stored_endpoint(env: Env, endpoint_id: str) -> WebhookEndpoint:
    async with env.db.read() as session:
        return (
            await session.execute(select(WebhookEndpoint).where(WebhookEndpoint.id == endpoint_id))
        ).scalar_one()


def loopback_names_in_etc_hosts() -> list[tuple[str, str]]:
    """(name, address) for each name /etc/hosts maps to loopback that is not a local name
    by definition (those are refused before any lookup), such as the machine's name."""
    found = []
    for line in Path("/etc/hosts").read_text().splitlines():
        address, *names = line.split("#")[0].split() or [""]
        parsed = urls.parse_address(address)
        if parsed is not None and parsed.is_loopback:
            found += [(name, address) for name in names if not urls.blocked_name(name)]
    return found
