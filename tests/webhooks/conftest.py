"""Fixtures of the webhook tests: a local receiver, a fake resolver, a permissive platform."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest

from miningtx.app import create_app
from miningtx.kit.db import Database
from miningtx.webhooks import urls
from tests.conftest import Env, make_settings
from tests.webhooks.receiver import Receiver, running_receiver


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with running_receiver() as running:
        yield running


@pytest.fixture(autouse=True)
def dns(monkeypatch: pytest.MonkeyPatch) -> dict[str, list[str]]:
    """Host name -> addresses, instead of real DNS: tests never reach the network."""
    names: dict[str, list[str]] = {}

    async def resolve(host: str, port: int) -> list[str]:
        if host not in names:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return names[host]

    monkeypatch.setattr(urls, "resolve", resolve)
    return names


@pytest.fixture
async def hooks(database_url: str) -> AsyncIterator[Env]:
    """A platform whose endpoints may point at this machine (the receiver), with timeouts
    short enough that a receiver that hangs costs 3 s, long enough that one answering on a
    busy machine is never taken for a hang."""
    settings = make_settings(
        database_url,
        webhooks_allow_private_targets=True,
        webhook_connect_timeout=2.0,
        webhook_read_timeout=3.0,
    )
    app = create_app(settings)
    db: Database = app.state.db
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        yield Env(settings, db, client)
    await db.dispose()
