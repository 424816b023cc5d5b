"""Operator review from the CLI: KYC, withdrawals, staking plans and the solvency report."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from miningtx.cli import app as cli
from miningtx.config import get_settings
from miningtx.kit.clock import utcnow
from miningtx.kit.db import Database
from miningtx.wallet import service as wallet
from miningtx.wallet.custody import WAITING_FOR_USDT
from tests.operator_cli import api, mtx, mtx_fails, runner

KYC = {
    "full_name": "Satoshi Nakamoto",
    "date_of_birth": "1975-04-05",
    "country": "JP",
    "document_type": "passport",
    "document_number": "TK1234567",
}
ADDRESS = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"
#: The operator every decision below is taken by (`--operator`).
OPS = "ops@example.com"


@pytest.fixture(autouse=True)
def operator_account(sqlite_env: Path) -> None:
    mtx("operators", "create", "--email", OPS, "--role", "reviewer")


def call(key: str, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
    response = asyncio.run(api(key, method, path, body))
    assert response.status_code == 200, response.text
    return response.json()


def withdraw(key: str, amount: str, network: str = "bsc") -> Any:
    body = {"amount": amount, "network": network, "address": ADDRESS}
    return call(key, "POST", "/v1/withdrawals", body)


def new_customer(name: str) -> tuple[str, str]:
    customer = mtx("customers", "create", "--email", f"{name}@example.com", "--username", name)
    key = mtx("keys", "create", "--customer", customer["id"])
    return customer["id"], key["key"]


def verified_customer(name: str, deposit: str) -> tuple[str, str]:
    customer_id, key = new_customer(name)
    call(key, "POST", "/v1/test_helpers/deposits", {"network": "bsc", "amount": deposit})
    call(key, "POST", "/v1/account/kyc", KYC)
    mtx("kyc", "approve", customer_id, "--operator", OPS)
    return customer_id, key


def test_kyc_approval_pays_the_bonus_once_and_refuses_an_unfunded_budget(
    sqlite_env: Path,
) -> None:
    customer_id, key = new_customer("satoshi")
    call(key, "POST", "/v1/account/kyc", KYC)

    pending = mtx("kyc", "list")["pending"]
    unfunded = mtx_fails("kyc", "approve", customer_id, "--operator", OPS)
    still_pending = call(key, "GET", "/v1/account")["kyc_status"]
    mtx("pools", "fund", "bonus", "--amount", "25.00")
    approved = mtx("kyc", "approve", customer_id, "--operator", OPS)
    again = mtx("kyc", "approve", customer_id, "--operator", OPS)

    assert [p["id"] for p in pending] == [customer_id]
    assert pending[0]["kyc_details"]["country"] == "JP"
    assert "bonus budget" in unfunded
    assert still_pending == "pending"
    assert approved["kyc_status"] == "verified"
    assert (approved["bonus_paid"], approved["already_verified"]) == (True, False)
    assert (again["bonus_paid"], again["already_verified"]) == (False, True)
    assert call(key, "GET", "/v1/balance")["available"] == "10.00"
    assert mtx("kyc", "list")["pending"] == []
    assert mtx("solvency")["pools"]["bonus_budget"] == "15.00"
    assert "error:" in mtx_fails("kyc", "reject", customer_id, "--operator", OPS)
    assert "error:" in mtx_fails("kyc", "approve", "usr_missing", "--operator", OPS)


def test_kyc_rejection_lets_the_customer_submit_again(sqlite_env: Path) -> None:
    customer_id, key = new_customer("hal")
    call(key, "POST", "/v1/account/kyc", KYC)

    rejected = mtx(
        "kyc", "reject", customer_id, "--reason", "document unreadable", "--operator", OPS
    )
    resubmitted = call(key, "POST", "/v1/account/kyc", KYC)

    assert rejected["kyc_status"] == "rejected"
    assert resubmitted["kyc_status"] == "pending"


def test_withdrawal_review_sends_or_returns_the_funds(sqlite_env: Path) -> None:
    mtx("pools", "fund", "bonus", "--amount", "10.00")
    _, key = verified_customer("nick", "1000.00")
    first = withdraw(key, "300.00")
    second = withdraw(key, "200.00", "polygon")

    queue = mtx("withdrawals", "list")["withdrawals"]
    # An operator's terminal, wide enough for every column (a test's console is 80 wide).
    table = runner.invoke(cli, ["withdrawals", "list"], env={"COLUMNS": "160"})
    held = call(key, "GET", "/v1/balance")
    approved = mtx("withdrawals", "approve", first["id"], "--operator", OPS)
    rejected = mtx(
        "withdrawals",
        "reject",
        second["id"],
        "--reason",
        "address on a blocklist",
        "--operator",
        OPS,
    )
    after = call(key, "GET", "/v1/balance")
    report = mtx("solvency")

    assert [w["id"] for w in queue] == [first["id"], second["id"]]
    # Every column has its header: the request time is the seventh, the approvals last.
    header = next(line for line in table.stdout.splitlines() if " id " in line)
    assert [cell.strip() for cell in header.strip("┃ ").split("┃")] == [
        "id",
        "status",
        "amount",
        "fee",
        "network",
        "address",
        "requested",
        "approvals",
    ]
    assert (held["available"], held["pending_withdrawals"]) == ("510.00", "500.00")
    # Sandbox: the simulated network sends an approved withdrawal at once.
    assert approved["status"] == "processed"
    assert approved["tx_hash"].startswith("0x")
    assert len(approved["tx_hash"]) == 66
    assert (approved["amount"], approved["fee"], approved["net_amount"]) == (
        "300.00",
        "1.00",
        "299.00",
    )
    assert rejected["status"] == "rejected"
    assert (after["available"], after["pending_withdrawals"]) == ("710.00", "0.00")
    assert call(key, "GET", f"/v1/withdrawals/{first['id']}")["status"] == "processed"
    assert report["earnings"]["fees"] == "1.00"
    # 1000.00 deposited and 10.00 funded on bsc, 299.00 sent from it.
    assert report["assets"] == {"bsc": "711.00", "polygon": "0.00"}
    assert "error:" in mtx_fails("withdrawals", "approve", second["id"], "--operator", OPS)
    assert "error:" in mtx_fails("withdrawals", "reject", "wd_missing", "--operator", OPS)


def test_staking_plans_are_operator_settings(sqlite_env: Path) -> None:
    mtx("pools", "fund", "staking", "--amount", "100000.00")
    _, key = new_customer("adam")
    call(key, "POST", "/v1/test_helpers/deposits", {"network": "bsc", "amount": "1000.00"})

    shown = mtx("catalog", "staking", "show")
    with_point = mtx("catalog", "staking", "set-plan", "90", "150.5")
    stake = call(key, "POST", "/v1/staking/stakes", {"amount": "1000.00", "days": 90})
    limits = mtx("catalog", "staking", "limits", "--min", "50.00", "--max", "1000.00")
    without_point = mtx("catalog", "staking", "remove-plan", "90")

    assert shown == {
        "min_amount": "100.00",
        "max_amount": "50000.00",
        "plans": [
            {"days": 30, "roi_percent": "60"},
            {"days": 180, "roi_percent": "420"},
            {"days": 365, "roi_percent": "1000"},
        ],
    }
    assert {"days": 90, "roi_percent": "150.5"} in with_point["plans"]
    assert (stake["roi_percent"], stake["payout"]) == ("150.5", "2505.00")
    assert (limits["min_amount"], limits["max_amount"]) == ("50.00", "1000.00")
    assert without_point["plans"] == shown["plans"]
    assert call(key, "GET", "/v1/staking/plans")["min_amount"] == "50.00"
    assert "error:" in mtx_fails("catalog", "staking", "remove-plan", "30")
    assert "error:" in mtx_fails("catalog", "staking", "limits", "--min", "2000.00")


def test_solvency_reports_liabilities_assets_and_coverage(sqlite_env: Path) -> None:
    mtx("pools", "fund", "rewards", "--amount", "100000.00")
    mtx("pools", "fund", "staking", "--amount", "10000.00")
    mtx("pools", "fund", "bonus", "--amount", "10.00")
    mtx("capacity", "set", "100")
    _, key = verified_customer("ada", "5000.00")
    call(key, "POST", "/v1/contracts/activate", {"contract_id": "ultra"})
    call(key, "POST", "/v1/staking/stakes", {"amount": "1000.00", "days": 180})
    withdraw(key, "100.00")

    report = mtx("solvency")
    empty_plain = runner.invoke(cli, ["solvency"])

    # available = 5000 + 10 bonus - 2600 contract - 1000 stake - 100 withdrawal
    assert report["liabilities"] == {
        "customers_available": "1310.00",
        "in_stakes": "1000.00",
        "pending_withdrawals": "100.00",
        "promised_rewards": "47450.00",  # 130.00 x 365
        "promised_yields": "4200.00",
    }
    assert report["total_liabilities"] == "54060.00"
    assert report["assets"] == {"bsc": "115010.00", "polygon": "0.00"}
    assert report["total_assets"] == "115010.00"
    assert report["coverage_ratio"] == "2.1274"  # 115010 / 54060, truncated
    assert report["pools"] == {
        "reward_pool": "52550.00",
        "staking_pool": "5800.00",
        "bonus_budget": "0.00",
        "partner_budget": "0.00",
        "adjustment_budget": "0.00",
    }
    assert report["earnings"] == {"sales": "2600.00", "fees": "0.00"}
    assert (report["ok"], report["problems"]) == (True, [])
    assert empty_plain.exit_code == 0
    assert "Coverage ratio" in empty_plain.stdout


def test_solvency_fails_loudly_when_the_books_break(sqlite_env: Path) -> None:
    _, key = new_customer("eve")
    call(key, "POST", "/v1/test_helpers/deposits", {"network": "bsc", "amount": "50.00"})
    with sqlite3.connect(sqlite_env) as connection:
        connection.execute(
            "UPDATE ledger_accounts SET balance = balance + 1 WHERE code = 'platform:stakes_locked'"
        )

    result = runner.invoke(cli, ["solvency", "--json"])

    assert result.exit_code == 1
    assert "platform:stakes_locked" in result.stdout
    assert '"ok": false' in result.stdout


def test_a_withdrawal_waiting_for_hot_wallet_funds_is_listed_as_such(sqlite_env: Path) -> None:
    mtx("pools", "fund", "bonus", "--amount", "10.00")
    _, key = verified_customer("wanda", "1000.00")
    waiting = withdraw(key, "300.00")
    with sqlite3.connect(sqlite_env) as connection:  # approved, as the signer finds it
        connection.execute(
            "UPDATE withdrawals SET status = 'approved' WHERE id = ?", (waiting["id"],)
        )

    async def mark() -> None:
        db = Database(get_settings())
        async with db.write() as session:
            await wallet.mark_waiting(session, waiting["id"], WAITING_FOR_USDT, utcnow())
        await db.dispose()

    asyncio.run(mark())
    [listed] = mtx("withdrawals", "list", "--status", "approved")["withdrawals"]
    table = runner.invoke(
        cli, ["withdrawals", "list", "--status", "approved"], env={"COLUMNS": "300"}
    )
    status = {entry["network"]: entry for entry in mtx("wallets", "status")["networks"]}

    assert listed["status"] == "approved"
    assert listed["waiting_reason"] == WAITING_FOR_USDT
    assert listed["waiting_since"].endswith("Z")
    assert "waiting for hot wallet funds since" in table.stdout
    assert call(key, "GET", f"/v1/withdrawals/{waiting['id']}")["status"] == "approved"
    # No node configured: no balances, but the waiting withdrawals are counted.
    assert status["bsc"]["node"] is False
    assert status["bsc"]["balances"] is None
    assert (status["bsc"]["waiting_withdrawals"], status["bsc"]["waiting_needed"]) == (1, "299.00")
    assert (status["polygon"]["waiting_withdrawals"], status["polygon"]["waiting_needed"]) == (
        0,
        "0.00",
    )
