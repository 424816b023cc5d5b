"""The operator CLI: --json output, one-line errors, and effects on the ledger."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from miningtx.cli import app
from miningtx.config import get_settings
from miningtx.dashboard import service as dashboard
from miningtx.kit.db import Database
from miningtx.models import Customer, Operator
from tests.conftest import TEST_XPUB
from tests.operator_cli import balance_with, mtx, mtx_fails, runner


def test_customers_and_keys(sqlite_env: Path) -> None:
    customer = mtx("customers", "create", "--email", "sat@example.com", "--username", "satoshi")
    referred = mtx(
        "customers",
        "create",
        "--email",
        "hal@example.com",
        "--username",
        "hal",
        "--referral-code",
        customer["referral_code"],
    )
    key = mtx("keys", "create", "--customer", customer["id"])
    revoked = mtx("keys", "revoke", key["id"])

    assert customer["id"].startswith("usr_")
    assert customer["username"] == "satoshi"
    assert customer["referral_code"].startswith("SATOSHI")
    assert referred["id"].startswith("usr_")
    assert key["key"].startswith("mtx_test_")
    assert key["customer"] == customer["id"]
    assert revoked["id"] == key["id"]
    assert mtx_fails("keys", "create", "--customer", "usr_missing").startswith("error: ")
    assert "taken" in mtx_fails(
        "customers", "create", "--email", "x@example.com", "--username", "satoshi"
    )


def test_catalog_capacity_and_pools(sqlite_env: Path) -> None:
    catalog = mtx("catalog", "show")
    changed = mtx("catalog", "set", "ultra", "--price", "2500.00", "--duration-days", "180")
    created = mtx(
        "catalog",
        "set",
        "mega",
        "--create",
        "--name",
        "Mega Miner",
        "--price",
        "10000",
        "--hash-ths",
        "150.5",
        "--daily-reward",
        "600.123456",
    )
    capacity = mtx("capacity", "set", "1234.5")
    funded = mtx("pools", "fund", "rewards", "--amount", "1000.50")
    funded_again = mtx("pools", "fund", "rewards", "--amount", "0.000001")
    check = mtx("ledger", "check")

    assert [c["id"] for c in catalog["contracts"]] == ["starter", "ultra", "quantum"]
    assert changed["price"] == "2500.00"
    assert changed["duration_days"] == 180
    assert created["hash_ths"] == "150.5"
    assert created["daily_reward"] == "600.123456"
    assert capacity == {"capacity_ths": "1234.5", "sold_ths": "0"}
    assert funded["balance"] == "1000.50"
    assert funded_again["balance"] == "1000.500001"
    assert check == {"ok": True, "problems": []}
    assert "unknown pool" in mtx_fails("pools", "fund", "gold", "--amount", "1")
    assert "error:" in mtx_fails("pools", "fund", "rewards", "--amount", "-1")
    assert "error:" in mtx_fails("catalog", "set", "nothing", "--price", "1")


def test_demo_prints_a_working_key_and_is_rerunnable(sqlite_env: Path) -> None:
    first = mtx("demo")
    second = mtx("demo")

    assert first["created"] is True
    assert second["created"] is False
    assert second["customer"] == first["customer"]
    assert first["api_key"] != second["api_key"]
    assert first["curl"] == (
        f'curl http://127.0.0.1:8000/v1/balance -H "Authorization: Bearer {first["api_key"]}"'
    )
    assert mtx("ledger", "check")["ok"] is True
    # Five weeks of history (tests/test_demo.py takes it apart); a rerun adds nothing.
    assert asyncio.run(balance_with(second["api_key"])) == {
        "currency": "USDT",
        "available": "11738.78",
        "in_contracts": "2800.00",
        "total_rewards": "4646.78",
        "in_stakes": "2000.00",
        "pending_withdrawals": "0.00",
    }
    plain = runner.invoke(app, ["demo"])
    assert "DEMO ONLY" in plain.stdout
    assert "curl http://127.0.0.1:8000/v1/balance" in plain.stdout
    assert "Dashboard: http://127.0.0.1:8000/login" in plain.stdout
    # Each run issues fresh dashboard and console passwords; the latest ones sign in.
    third = mtx("demo")
    assert third["dashboard"]["password"] != second["dashboard"]["password"]
    assert asyncio.run(demo_sign_ins(third)) == (first["customer"], "admin")


async def demo_sign_ins(demo: dict[str, Any]) -> tuple[str, str]:
    db = Database(get_settings())
    try:
        async with db.read() as session:
            customer = await dashboard.authenticate_customer(
                session, demo["dashboard"]["username"], demo["dashboard"]["password"]
            )
            operator = await dashboard.authenticate_operator(
                session, demo["console"]["email"], demo["console"]["password"]
            )
            customer_id = await session.scalar(
                select(Customer.id).where(Customer.seq == customer.seq)
            )
            role = await session.scalar(select(Operator.role).where(Operator.seq == operator.seq))
    finally:
        await db.dispose()
    return str(customer_id), str(role)


def test_live_mode_refuses_sandbox_only_commands(
    sqlite_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MTX_MODE", "live")
    monkeypatch.setenv("MTX_SECRET_KEY", "live-test-secret-" + "x" * 32)
    monkeypatch.setenv("MTX_CHAIN_BSC_RPC_URL", "http://127.0.0.1:9")
    monkeypatch.setenv("MTX_CHAIN_BSC_USDT_ADDRESS", "0x55d398326f99059fF775485246999027B3197955")
    monkeypatch.setenv("MTX_CHAIN_POLYGON_RPC_URL", "http://127.0.0.1:9")
    monkeypatch.setenv(
        "MTX_CHAIN_POLYGON_USDT_ADDRESS", "0xc2132D05D31c914a87C6611C10748AEb04B58e8F"
    )
    monkeypatch.setenv("MTX_WALLET_XPUB", TEST_XPUB)
    get_settings.cache_clear()

    customer = mtx("customers", "create", "--email", "l@example.com", "--username", "live_one")
    key = mtx("keys", "create", "--customer", customer["id"])

    assert key["key"].startswith("mtx_live_")
    assert "Live mode funds pools only" in mtx_fails("pools", "fund", "rewards", "--amount", "100")
    assert "sandbox" in mtx_fails("demo")


def test_catalog_set_refuses_what_the_console_refuses(sqlite_env: Path) -> None:
    too_long = mtx_fails("catalog", "set", "ultra", "--name", "x" * 65)
    too_many_days = mtx_fails("catalog", "set", "ultra", "--duration-days", "3651")
    no_days = mtx_fails("catalog", "set", "ultra", "--duration-days", "0")

    # The same sentences the console shows beside the fields: one rule, in the service.
    assert too_long == "error: Names are at most 64 characters."
    assert too_many_days == "error: Durations are 1 to 3650 days."
    assert no_days == "error: Durations are 1 to 3650 days."
    assert mtx("catalog", "set", "ultra", "--duration-days", "3650")["duration_days"] == 3650
