"""Running `mtx` in-process against a fresh SQLite file, and calling the API beside it."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner

from miningtx.app import create_app
from miningtx.cli import app
from miningtx.config import get_settings
from tests.conftest import TEST_XPUB

runner = CliRunner()


@pytest.fixture
def sqlite_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    path = tmp_path / "var" / "fresh" / "cli.db"  # folders that do not exist yet
    monkeypatch.setenv("MTX_DATABASE_URL", f"sqlite+aiosqlite:///{path}")
    monkeypatch.setenv("MTX_WALLET_XPUB", TEST_XPUB)
    get_settings.cache_clear()
    yield path
    get_settings.cache_clear()


def mtx(*args: str) -> dict[str, Any]:
    result = runner.invoke(app, [*args, "--json"])
    assert result.exit_code == 0, result.output
    data: dict[str, Any] = json.loads(result.stdout)
    return data


def mtx_fails(*args: str) -> str:
    result = runner.invoke(app, list(args))
    assert result.exit_code == 1, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    return lines[0]


async def balance_with(key: str) -> dict[str, Any]:
    app_ = create_app(get_settings())
    transport = httpx.ASGITransport(app=app_)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        response = await client.get("/v1/balance", headers={"Authorization": f"Bearer {key}"})
    await app_.state.db.dispose()
    assert response.status_code == 200
    body: dict[str, Any] = response.json()
    return body


async def api(
    key: str, method: str, path: str, body: dict[str, Any] | None = None
) -> httpx.Response:
    """One request to an in-process app on the CLI's database."""
    app_ = create_app(get_settings())
    transport = httpx.ASGITransport(app=app_)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        response = await client.request(
            method, path, json=body, headers={"Authorization": f"Bearer {key}"}
        )
    await app_.state.db.dispose()
    return response
