"""`--operator EMAIL` on every deciding command, four eyes and adjustments from the CLI,
and `mtx audit list`."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from miningtx.config import get_settings
from tests.operator_cli import api, mtx, mtx_fails

ADDRESS = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"
KYC = {
    "full_name": "Satoshi Nakamoto",
    "date_of_birth": "1975-04-05",
    "country": "JP",
    "document_type": "passport",
    "document_number": "TK1234567",
}
ANN, BEN = "ann@example.com", "ben@example.com"


def call(key: str, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
    response = asyncio.run(api(key, method, path, body))
    assert response.status_code == 200, response.text
    return response.json()


@pytest.fixture
def operators(sqlite_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MTX_WITHDRAWAL_FOUR_EYES_ABOVE", "1000.00")
    get_settings.cache_clear()
    mtx("operators", "create", "--email", ANN, "--role", "admin")
    mtx("operators", "create", "--email", BEN, "--role", "reviewer", "--operator", ANN)


def customer(name: str, deposit: str | None = None) -> tuple[str, str]:
    made = mtx("customers", "create", "--email", f"{name}@example.com", "--username", name)
    key = mtx("keys", "create", "--customer", made["id"])["key"]
    if deposit:
        call(key, "POST", "/v1/test_helpers/deposits", {"network": "bsc", "amount": deposit})
    return made["id"], key


@pytest.mark.parametrize(
    "command",
    [
        ("withdrawals", "approve", "wd_x"),
        ("withdrawals", "reject", "wd_x"),
        ("kyc", "approve", "usr_x"),
        ("kyc", "reject", "usr_x"),
        ("adjustments", "approve", "adj_x"),
        ("adjustments", "reject", "adj_x"),
        (
            "adjustments",
            "propose",
            "usr_x",
            "--direction",
            "credit",
            "--amount",
            "1",
            "--category",
            "goodwill",
            "--reason",
            "r",
        ),
    ],
)
def test_deciding_commands_need_a_known_operator(operators: None, command: tuple[str, ...]) -> None:
    missing = mtx_fails(*command)
    unknown = mtx_fails(*command, "--operator", "nobody@example.com")

    assert missing == (
        "error: --operator EMAIL is required: name the operator who takes this decision"
    )
    assert unknown == (
        "error: No operator 'nobody@example.com': name an operator created with "
        "`mtx operators create`."
    )


def test_four_eyes_from_the_cli_and_the_audit_list(operators: None) -> None:
    customer_id, key = customer("satoshi", "5000.00")
    mtx("pools", "fund", "bonus", "--amount", "10.00", "--operator", ANN)
    call(key, "POST", "/v1/account/kyc", KYC)
    mtx("kyc", "approve", customer_id, "--operator", BEN)
    big = call(
        key, "POST", "/v1/withdrawals", {"amount": "2000.00", "network": "bsc", "address": ADDRESS}
    )

    first = mtx("withdrawals", "approve", big["id"], "--operator", ANN)
    twice = mtx_fails("withdrawals", "approve", big["id"], "--operator", ANN)
    [waiting] = mtx("withdrawals", "list")["withdrawals"]
    second = mtx("withdrawals", "approve", big["id"], "--operator", BEN)
    entries = mtx("audit", "list", "--target", big["id"])["entries"]
    everything = mtx("audit", "list")["entries"]
    by_ben = mtx("audit", "list", "--operator", BEN, "--action", "withdrawal.")["entries"]

    assert (first["status"], first["approvals"], first["approvals_required"]) == ("pending", 1, 2)
    assert first["approved_by"] == [ANN]
    assert (waiting["id"], waiting["approvals"], waiting["approvals_required"]) == (big["id"], 1, 2)
    assert twice.startswith("error: Withdrawal ")
    assert "needs a second operator" in twice
    assert (second["status"], second["approvals"], second["approved_by"]) == (
        "processed",
        2,
        [ANN, BEN],
    )
    assert [(e["operator"], e["action"]) for e in entries] == [
        (BEN, "withdrawal.approved"),
        (ANN, "withdrawal.approval_recorded"),
    ]
    assert [e["action"] for e in everything] == [
        "withdrawal.approved",
        "withdrawal.approval_recorded",
        "kyc.approved",
        "pool.funded",
        "operator.created",
        "operator.created",
    ]
    assert [e["operator"] for e in everything[-2:]] == [ANN, "system"]
    assert [e["action"] for e in by_ben] == ["withdrawal.approved"]


def test_adjustments_from_the_cli(operators: None) -> None:
    customer_id, key = customer("hal", "20.00")
    mtx("pools", "fund", "adjustments", "--amount", "5.00", "--operator", ANN)
    proposed = mtx(
        "adjustments",
        "propose",
        customer_id,
        "--direction",
        "credit",
        "--amount",
        "5.00",
        "--category",
        "fee_refund",
        "--reason",
        "fee charged twice",
        "--operator",
        ANN,
    )
    own = mtx_fails("adjustments", "approve", proposed["id"], "--operator", ANN)
    pending = mtx("adjustments", "list", "--status", "proposed")["adjustments"]
    approved = mtx("adjustments", "approve", proposed["id"], "--operator", BEN)
    debit = mtx(
        "adjustments",
        "propose",
        customer_id,
        "--direction",
        "debit",
        "--amount",
        "25.01",
        "--category",
        "chargeback",
        "--reason",
        "card chargeback",
        "--operator",
        BEN,
    )
    overdraft = mtx_fails("adjustments", "approve", debit["id"], "--operator", ANN)
    rejected = mtx("adjustments", "reject", debit["id"], "--operator", ANN, "--reason", "too much")
    balance = call(key, "GET", "/v1/balance")
    history = call(key, "GET", "/v1/transactions?type=adjustment")["data"]

    assert (proposed["status"], proposed["proposed_by"]) == ("proposed", ANN)
    assert "needs a second operator" in own
    assert [a["id"] for a in pending] == [proposed["id"]]
    assert (approved["status"], approved["decided_by"]) == ("approved", BEN)
    assert "never overdraws" in overdraft
    assert (rejected["status"], rejected["rejection_reason"]) == ("rejected", "too much")
    assert balance["available"] == "25.00"
    assert [(t["type"], t["amount"], t["direction"]) for t in history] == [
        ("adjustment", "5.00", "credit")
    ]
    assert mtx("ledger", "check")["ok"] is True
    assert mtx_fails("adjustments", "list", "--status", "bogus").startswith("error: Choose one of")
