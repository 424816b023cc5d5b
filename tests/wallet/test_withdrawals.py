"""POST/GET /v1/withdrawals, cancel, and the operator's review: exact balances throughout."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from miningtx.kit.clock import utcnow
from miningtx.kit.db import WriteSession
from miningtx.kit.errors import ApiError
from miningtx.ledger.accounts import Platform, customer_available, treasury
from miningtx.models import Withdrawal
from miningtx.wallet import repository, service
from tests import factories
from tests.conftest import Env
from tests.factories import balances, invariant_problems, make_customer, simulate_all, simulate_none
from tests.wallet.factories import (
    ADDRESS,
    BAD_CHECKSUM,
    WITHDRAWALS,
    cancel,
    get_balance,
    operator,
    post_withdrawal,
    stored_withdrawal,
    verified_customer,
    verify_kyc,
    withdraw,
)

USDT = 1_000_000
FIELDS = {
    "id",
    "amount",
    "network",
    "status",
    "requested_at",
    "address",
    "fee",
    "net_amount",
    "tx_hash",
    "processed_at",
    "failure_reason",
}


def money(balance: dict[str, Any]) -> tuple[str, str]:
    return balance["available"], balance["pending_withdrawals"]


async def test_request_holds_the_amount_and_returns_the_documented_fields(env: Env) -> None:
    alice = await verified_customer(env.db, env.settings, deposit="1000.00")

    response = await post_withdrawal(env, alice, "500.00", "bsc", ADDRESS.lower())

    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == FIELDS
    assert body["id"].startswith("wd_")
    assert body["requested_at"].endswith("Z")
    assert {k: v for k, v in body.items() if k not in ("id", "requested_at")} == {
        "amount": "500.00",
        "network": "bsc",
        "status": "pending",
        "address": ADDRESS,
        "fee": "1.00",
        "net_amount": "499.00",
        "tx_hash": None,
        "processed_at": None,
        "failure_reason": None,
    }
    assert money(await get_balance(env, alice)) == ("500.00", "500.00")
    assert await balances(env.db, customer_available(alice.id), Platform.PENDING_WITHDRAWALS) == {
        customer_available(alice.id): 500 * USDT,
        Platform.PENDING_WITHDRAWALS: 500 * USDT,
    }
    fetched = await env.client.get(f"{WITHDRAWALS}/{body['id']}", headers=alice.auth)
    assert fetched.json() == body
    assert await invariant_problems(env.db) == []


@pytest.mark.parametrize(
    ("body", "param", "message"),
    [
        ({"amount": "50.00", "network": "bsc", "address": BAD_CHECKSUM}, "address", "EIP-55"),
        ({"amount": "50.00", "network": "bsc", "address": "0x" + "z" * 40}, "address", "40 hex"),
        ({"amount": "50.00", "network": "bsc", "address": ADDRESS[:-2]}, "address", "40 hex"),
        ({"amount": "50.00", "network": "bsc", "address": "0x" + "0" * 40}, "address", "zero"),
        ({"amount": "50.00", "network": "bsc", "address": 12345}, "address", ""),
        ({"amount": "50.00", "network": "ethereum", "address": ADDRESS}, "network", ""),
        ({"amount": "50.00", "address": ADDRESS}, "network", "Missing"),
        ({"amount": 50, "network": "bsc", "address": ADDRESS}, "amount", "strings"),
        ({"amount": "0", "network": "bsc", "address": ADDRESS}, "amount", "greater than zero"),
        ({"amount": "1.1234567", "network": "bsc", "address": ADDRESS}, "amount", ""),
        ({"amount": "50.00", "network": "bsc", "address": ADDRESS, "memo": "x"}, "memo", ""),
    ],
)
async def test_invalid_requests_are_400_with_param_and_change_nothing(
    env: Env, body: dict[str, Any], param: str, message: str
) -> None:
    bob = await verified_customer(env.db, env.settings, deposit="100.00")

    response = await env.client.post(WITHDRAWALS, json=body, headers=bob.auth)

    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert (error["code"], error["param"]) == ("invalid_request", param)
    assert message in error["message"]
    assert money(await get_balance(env, bob)) == ("100.00", "0.00")
    listed = (await env.client.get(WITHDRAWALS, headers=bob.auth)).json()
    assert listed == {"data": [], "has_more": False, "next_cursor": None}
    assert await invariant_problems(env.db) == []


async def test_below_minimum_kyc_and_balance_refusals(env: Env) -> None:
    carol = await make_customer(env.db, env.settings, deposit="100.00")

    below = await post_withdrawal(env, carol, "19.999999")
    unverified = await post_withdrawal(env, carol, "20.00")
    await verify_kyc(env.db, carol.seq)
    too_much = await post_withdrawal(env, carol, "100.000001")
    everything = await post_withdrawal(env, carol, "100.00")

    assert below.status_code == 400
    assert below.json()["error"]["code"] == "amount_below_minimum"
    assert below.json()["error"]["param"] == "amount"
    assert "20.00" in below.json()["error"]["message"]
    assert unverified.status_code == 403
    assert unverified.json()["error"]["code"] == "kyc_required"
    assert too_much.status_code == 402
    assert too_much.json()["error"]["code"] == "insufficient_balance"
    assert too_much.json()["error"]["message"] == "Your balance is too low for this withdrawal."
    assert everything.status_code == 200, everything.text
    assert money(await get_balance(env, carol)) == ("0.00", "100.00")
    assert await invariant_problems(env.db) == []


async def test_address_checks_come_before_the_minimum_and_kyc(env: Env) -> None:
    dave = await make_customer(env.db, env.settings)  # unverified, no funds

    bad_address = await post_withdrawal(env, dave, "1.00", "bsc", BAD_CHECKSUM)
    small = await post_withdrawal(env, dave, "1.00")

    assert (bad_address.status_code, bad_address.json()["error"]["param"]) == (400, "address")
    assert small.json()["error"]["code"] == "amount_below_minimum"
    assert await invariant_problems(env.db) == []


async def test_cancel_refunds_once_and_only_while_pending(env: Env) -> None:
    erin = await verified_customer(env.db, env.settings, deposit="300.00")
    wd = await withdraw(env, erin, "120.50", "polygon")

    first = await cancel(env, erin, wd["id"])
    second = await cancel(env, erin, wd["id"])

    assert first.status_code == 200, first.text
    assert first.json()["status"] == "cancelled"
    assert first.json()["id"] == wd["id"]
    assert second.status_code == 409
    assert second.json()["error"]["code"] == "conflict"
    assert "cancelled" in second.json()["error"]["message"]
    assert money(await get_balance(env, erin)) == ("300.00", "0.00")
    assert await balances(env.db, customer_available(erin.id), Platform.PENDING_WITHDRAWALS) == {
        customer_available(erin.id): 300 * USDT,
        Platform.PENDING_WITHDRAWALS: 0,
    }
    assert await invariant_problems(env.db) == []


async def test_cancel_of_unknown_or_someone_elses_withdrawal_is_404(env: Env) -> None:
    frank = await verified_customer(env.db, env.settings, deposit="100.00")
    gina = await verified_customer(env.db, env.settings)
    wd = await withdraw(env, frank, "50.00")

    for response in (
        await cancel(env, gina, wd["id"]),
        await cancel(env, gina, "wd_missing"),
        await env.client.get(f"{WITHDRAWALS}/{wd['id']}", headers=gina.auth),
        await env.client.get(f"{WITHDRAWALS}/wd_missing", headers=frank.auth),
    ):
        assert response.status_code == 404, response.text
        assert response.json()["error"]["code"] == "resource_missing"
    assert (await stored_withdrawal(env.db, wd["id"])).status == "pending"
    assert money(await get_balance(env, frank)) == ("50.00", "50.00")
    assert await invariant_problems(env.db) == []


async def test_reject_refunds_the_whole_amount(env: Env) -> None:
    hank = await verified_customer(env.db, env.settings, deposit="200.00")
    wd = await withdraw(env, hank, "200.00")

    rejected = await operator(
        env.db,
        lambda s: factories.reject_withdrawal(s, wd["id"], utcnow(), "address on a blocklist"),
    )

    assert (rejected.status, rejected.failure_reason) == ("rejected", "address on a blocklist")
    assert money(await get_balance(env, hank)) == ("200.00", "0.00")
    fetched = (await env.client.get(f"{WITHDRAWALS}/{wd['id']}", headers=hank.auth)).json()
    assert (fetched["status"], fetched["failure_reason"]) == ("rejected", "address on a blocklist")
    assert (await cancel(env, hank, wd["id"])).status_code == 409
    with pytest.raises(ApiError) as again:
        await operator(env.db, lambda s: factories.reject_withdrawal(s, wd["id"], utcnow()))
    assert (again.value.status, again.value.code) == (409, "conflict")
    assert "rejected" in again.value.message
    assert await balances(env.db, Platform.PENDING_WITHDRAWALS, Platform.FEES) == {
        Platform.PENDING_WITHDRAWALS: 0,
        Platform.FEES: 0,
    }
    assert await invariant_problems(env.db) == []


@pytest.mark.parametrize("network", ["bsc", "polygon"])
async def test_approve_on_the_simulated_chain_processes_and_settles(env: Env, network: str) -> None:
    ivy = await verified_customer(env.db, env.settings, deposit="1000.00")  # credited on bsc
    wd = await withdraw(env, ivy, "300.00", network)
    before = await balances(env.db, treasury(network))

    processed = await operator(
        env.db,
        lambda s: factories.approve_withdrawal(s, wd["id"], utcnow(), simulates=simulate_all),
    )

    assert processed.status == "processed"
    assert processed.tx_hash is not None
    assert processed.tx_hash.startswith("0x")
    assert len(processed.tx_hash) == 66
    int(processed.tx_hash, 16)
    fetched = (await env.client.get(f"{WITHDRAWALS}/{wd['id']}", headers=ivy.auth)).json()
    assert fetched["status"] == "processed"
    assert fetched["tx_hash"] == processed.tx_hash
    assert fetched["processed_at"] is not None
    assert (fetched["amount"], fetched["fee"], fetched["net_amount"]) == (
        "300.00",
        "1.00",
        "299.00",
    )
    assert money(await get_balance(env, ivy)) == ("700.00", "0.00")
    after = await balances(env.db, treasury(network), Platform.PENDING_WITHDRAWALS, Platform.FEES)
    assert after == {
        treasury(network): before[treasury(network)] + 299 * USDT,
        Platform.PENDING_WITHDRAWALS: 0,
        Platform.FEES: 1 * USDT,
    }
    late_cancel = await cancel(env, ivy, wd["id"])
    assert late_cancel.status_code == 409
    assert "processed" in late_cancel.json()["error"]["message"]
    with pytest.raises(ApiError) as twice:
        await operator(
            env.db,
            lambda s: factories.approve_withdrawal(s, wd["id"], utcnow(), simulates=simulate_all),
        )
    assert twice.value.status == 409
    assert await invariant_problems(env.db) == []


async def test_step_by_step_payout_and_failure_refund(env: Env) -> None:
    jack = await verified_customer(env.db, env.settings, deposit="500.00")
    sent = await withdraw(env, jack, "100.00")
    lost = await withdraw(env, jack, "150.00")
    tx_hash = "0x" + "ab" * 32

    approved = await operator(
        env.db,
        lambda s: factories.approve_withdrawal(s, sent["id"], utcnow(), simulates=simulate_none),
    )
    assert approved.status == "approved"
    assert (await cancel(env, jack, sent["id"])).status_code == 409
    with pytest.raises(ApiError) as not_broadcast:
        await operator(env.db, lambda s: service.settle_withdrawal(s, sent["id"], utcnow()))
    assert not_broadcast.value.status == 409
    assert "approved" in not_broadcast.value.message
    with pytest.raises(ApiError) as bad_hash:
        await operator(env.db, lambda s: service.mark_broadcast(s, sent["id"], "0x12", utcnow()))
    assert (bad_hash.value.status, bad_hash.value.param) == (400, "tx_hash")
    broadcast = await operator(
        env.db, lambda s: service.mark_broadcast(s, sent["id"], tx_hash, utcnow())
    )
    assert (broadcast.status, broadcast.tx_hash) == ("broadcast", tx_hash)
    assert money(await get_balance(env, jack)) == ("250.00", "250.00")
    settled = await operator(env.db, lambda s: service.settle_withdrawal(s, sent["id"], utcnow()))
    assert settled.status == "processed"

    await operator(
        env.db,
        lambda s: factories.approve_withdrawal(s, lost["id"], utcnow(), simulates=simulate_none),
    )
    failed = await operator(
        env.db, lambda s: service.fail_withdrawal(s, lost["id"], "nonce too low", utcnow())
    )
    assert (failed.status, failed.failure_reason) == ("failed", "nonce too low")
    with pytest.raises(ApiError) as refail:
        await operator(env.db, lambda s: service.fail_withdrawal(s, lost["id"], "again", utcnow()))
    assert refail.value.status == 409

    assert money(await get_balance(env, jack)) == ("400.00", "0.00")
    fetched = (await env.client.get(f"{WITHDRAWALS}/{lost['id']}", headers=jack.auth)).json()
    assert (fetched["status"], fetched["failure_reason"]) == ("failed", "nonce too low")
    assert await balances(
        env.db, customer_available(jack.id), Platform.PENDING_WITHDRAWALS, Platform.FEES
    ) == {
        customer_available(jack.id): 400 * USDT,
        Platform.PENDING_WITHDRAWALS: 0,
        Platform.FEES: 1 * USDT,
    }
    assert await invariant_problems(env.db) == []


async def test_operator_steps_on_unknown_ids_are_404(env: Env) -> None:
    steps = [
        lambda s: factories.approve_withdrawal(s, "wd_missing", utcnow(), simulates=simulate_all),
        lambda s: factories.reject_withdrawal(s, "wd_missing", utcnow()),
        lambda s: service.mark_broadcast(s, "wd_missing", "0x" + "0" * 64, utcnow()),
        lambda s: service.settle_withdrawal(s, "wd_missing", utcnow()),
        lambda s: service.fail_withdrawal(s, "wd_missing", "gone", utcnow()),
    ]
    for step in steps:
        with pytest.raises(ApiError) as missing:
            await operator(env.db, step)
        assert (missing.value.status, missing.value.code) == (404, "resource_missing")
    assert await invariant_problems(env.db) == []


async def test_review_queue_lists_oldest_first(env: Env) -> None:
    kate = await verified_customer(env.db, env.settings, deposit="500.00")
    first = await withdraw(env, kate, "50.00")
    second = await withdraw(env, kate, "60.00")
    third = await withdraw(env, kate, "70.00")
    await cancel(env, kate, second["id"])

    async with env.db.read() as session:
        pending = await repository.list_for_review(session)
        cancelled = await repository.list_for_review(session, "cancelled")
        limited = await repository.list_for_review(session, limit=1)

    assert [w.id for w in pending] == [first["id"], third["id"]]
    assert [w.id for w in cancelled] == [second["id"]]
    assert [w.id for w in limited] == [first["id"]]
    assert await invariant_problems(env.db) == []


async def test_list_filters_by_status_and_pages_newest_first(env: Env) -> None:
    liam = await verified_customer(env.db, env.settings, deposit="1000.00")
    ids = [(await withdraw(env, liam, f"{20 + i}.00"))["id"] for i in range(5)]
    await cancel(env, liam, ids[1])

    first = (await env.client.get(WITHDRAWALS, params={"limit": 3}, headers=liam.auth)).json()
    rest = (
        await env.client.get(
            WITHDRAWALS, params={"limit": 3, "cursor": first["next_cursor"]}, headers=liam.auth
        )
    ).json()
    pending = (
        await env.client.get(WITHDRAWALS, params={"status": "pending"}, headers=liam.auth)
    ).json()
    bad = await env.client.get(WITHDRAWALS, params={"status": "lost"}, headers=liam.auth)

    assert [w["id"] for w in first["data"]] == ids[:1:-1]
    assert first["has_more"] is True
    assert [w["id"] for w in rest["data"]] == [ids[1], ids[0]]
    assert (rest["has_more"], rest["next_cursor"]) == (False, None)
    assert [w["id"] for w in pending["data"]] == [ids[4], ids[3], ids[2], ids[0]]
    assert (bad.status_code, bad.json()["error"]["param"]) == (400, "status")
    # 20 + 21 + 22 + 23 + 24 requested, 21 cancelled.
    assert money(await get_balance(env, liam)) == ("911.00", "89.00")
    assert await invariant_problems(env.db) == []


async def test_an_idempotent_replay_makes_one_withdrawal(env: Env) -> None:
    mia = await verified_customer(env.db, env.settings, deposit="100.00")
    headers = {"Idempotency-Key": "withdraw-once"}

    first = await post_withdrawal(env, mia, "40.00", **headers)
    replay = await post_withdrawal(env, mia, "40.00", **headers)
    reused = await post_withdrawal(env, mia, "41.00", **headers)

    assert first.status_code == 200, first.text
    assert replay.status_code == 200
    assert replay.headers["idempotent-replayed"] == "true"
    assert replay.content == first.content
    assert reused.status_code == 409
    assert reused.json()["error"]["code"] == "idempotency_key_reused"
    listed = (await env.client.get(WITHDRAWALS, headers=mia.auth)).json()
    assert [w["id"] for w in listed["data"]] == [first.json()["id"]]
    assert money(await get_balance(env, mia)) == ("60.00", "40.00")
    assert await invariant_problems(env.db) == []


async def test_racing_cancel_reject_and_approve_refund_at_most_once(env: Env) -> None:
    """Each round, two customer cancels, a reject and an approve race: exactly one wins."""
    noah = await verified_customer(env.db, env.settings, deposit="1000.00")
    winners: list[str] = []
    refusals: list[int] = []

    async def decide(name: str, step: Callable[[WriteSession], Awaitable[Withdrawal]]) -> None:
        try:
            await operator(env.db, step)
        except ApiError as refused:
            refusals.append(refused.status)
        else:
            winners.append(name)

    async def customer_cancel(withdrawal_id: str) -> None:
        response = await cancel(env, noah, withdrawal_id)
        if response.status_code == 200:
            winners.append("cancel")
        else:
            refusals.append(response.status_code)

    async def reject(withdrawal_id: str) -> None:
        await decide("reject", lambda s: factories.reject_withdrawal(s, withdrawal_id, utcnow()))

    async def approve(withdrawal_id: str) -> None:
        await decide(
            "approve",
            lambda s: factories.approve_withdrawal(
                s, withdrawal_id, utcnow(), simulates=simulate_all
            ),
        )

    for _ in range(3):
        wd_id = (await withdraw(env, noah, "100.00"))["id"]
        await asyncio.gather(
            customer_cancel(wd_id), customer_cancel(wd_id), reject(wd_id), approve(wd_id)
        )

    assert len(winners) == 3, winners
    assert refusals == [409] * 9
    processed = winners.count("approve")
    assert await balances(
        env.db, customer_available(noah.id), Platform.PENDING_WITHDRAWALS, Platform.FEES
    ) == {
        customer_available(noah.id): (1000 - 100 * processed) * USDT,
        Platform.PENDING_WITHDRAWALS: 0,
        Platform.FEES: processed * USDT,
    }
    assert await invariant_problems(env.db) == []
