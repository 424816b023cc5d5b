"""Rolling 24 h / 30 d withdrawal limits, operator overrides, GET /v1/withdrawals/limits and
auto-approval: exact amounts, codes and messages, and the ledger after every refusal."""

from __future__ import annotations

from datetime import timedelta

import pytest

from miningtx.customers.refs import CustomerRef
from miningtx.kit.clock import utcnow
from miningtx.kit.errors import ApiError
from miningtx.ledger.accounts import Platform, customer_available, treasury
from miningtx.models import WithdrawalStatus
from miningtx.wallet import controls, service
from tests import factories
from tests.conftest import Env
from tests.factories import balances, invariant_problems, make_customer, simulate_none
from tests.staking.factories import parse_time
from tests.wallet.controls_helpers import (
    LIMITS,
    USDT,
    advance,
    controlled_env,
    ledger_of,
    refused,
)
from tests.wallet.factories import (
    ADDRESS,
    BAD_CHECKSUM,
    WITHDRAWALS,
    cancel,
    operator,
    post_withdrawal,
    stored_withdrawal,
    verified_customer,
    withdraw,
)

SMALL = {"withdrawal_limit_24h": "1000.00", "withdrawal_limit_30d": "1500.00"}


def window(limit: str, used: str, remaining: str, leaves: str | None = None) -> dict[str, object]:
    return {"limit": limit, "used": used, "remaining": remaining, "oldest_leaves_at": leaves}


async def test_limits_route_shows_the_defaults_and_what_is_left(env: Env) -> None:
    alice = await verified_customer(env.db, env.settings, deposit="20000.00")

    fresh = await env.client.get(LIMITS, headers=alice.auth)
    first = await withdraw(env, alice, "500.00")
    await withdraw(env, alice, "300.00")
    after = await env.client.get(LIMITS, headers=alice.auth)

    assert fresh.status_code == 200, fresh.text
    assert fresh.json() == {
        "currency": "USDT",
        "remaining": "10000.00",
        "rolling_24h": window("10000.00", "0.00", "10000.00"),
        "rolling_30d": window("100000.00", "0.00", "100000.00"),
        "custom": False,
    }
    body = after.json()
    requested = parse_time(first["requested_at"])
    assert parse_time(body["rolling_24h"]["oldest_leaves_at"]) == requested + timedelta(hours=24)
    assert parse_time(body["rolling_30d"]["oldest_leaves_at"]) == requested + timedelta(days=30)
    assert body["remaining"] == "9200.00"
    assert (body["rolling_24h"]["used"], body["rolling_24h"]["remaining"]) == ("800.00", "9200.00")
    assert (body["rolling_30d"]["used"], body["rolling_30d"]["remaining"]) == (
        "800.00",
        "99200.00",
    )
    # The route is not read as a withdrawal id, and ids still resolve.
    assert (await env.client.get(f"{WITHDRAWALS}/wd_missing", headers=alice.auth)).status_code == (
        404
    )
    got = await env.client.get(f"{WITHDRAWALS}/{first['id']}", headers=alice.auth)
    assert got.json()["id"] == first["id"]


async def test_a_withdrawal_crossing_the_24h_limit_is_refused_with_the_allowance(
    database_url: str,
) -> None:
    async with controlled_env(database_url, **SMALL) as env:
        alice = await verified_customer(env.db, env.settings, deposit="5000.00")
        await withdraw(env, alice, "600.00")
        before = await ledger_of(env, alice)

        response = await post_withdrawal(env, alice, "400.01")

        message = refused(response, 403, "withdrawal_limit_exceeded", "amount")
        assert message == (
            "This withdrawal would exceed your 24-hour withdrawal limit of 1000.00 USDT: "
            "you can withdraw 400.00 USDT more now."
        )
        assert await ledger_of(env, alice) == before
        exact = await withdraw(env, alice, "400.00")
        assert exact["status"] == "pending"
        last = refused(
            await post_withdrawal(env, alice, "20.00"), 403, "withdrawal_limit_exceeded", "amount"
        )
        assert last.endswith("you can withdraw 0.00 USDT more now.")
        assert await balances(
            env.db, customer_available(alice.id), Platform.PENDING_WITHDRAWALS
        ) == {customer_available(alice.id): 4000 * USDT, Platform.PENDING_WITHDRAWALS: 1000 * USDT}
        assert await invariant_problems(env.db) == []


async def test_the_windows_roll_on_the_deployment_clock(database_url: str) -> None:
    async with controlled_env(database_url, **SMALL) as env:
        alice = await verified_customer(env.db, env.settings, deposit="5000.00")
        await withdraw(env, alice, "1000.00")
        refused(
            await post_withdrawal(env, alice, "20.00"), 403, "withdrawal_limit_exceeded", "amount"
        )

        await advance(env, alice, timedelta(hours=23, minutes=59))
        still = refused(
            await post_withdrawal(env, alice, "20.00"), 403, "withdrawal_limit_exceeded", "amount"
        )
        assert "24-hour" in still
        await advance(env, alice, timedelta(minutes=2))
        # The 24 h window has let the 1000.00 go; the 30 d window still holds it.
        before = await ledger_of(env, alice)
        month = refused(
            await post_withdrawal(env, alice, "500.01"), 403, "withdrawal_limit_exceeded", "amount"
        )
        assert month == (
            "This withdrawal would exceed your 30-day withdrawal limit of 1500.00 USDT: "
            "you can withdraw 500.00 USDT more now."
        )
        assert await ledger_of(env, alice) == before
        await withdraw(env, alice, "500.00")
        limits = (await env.client.get(LIMITS, headers=alice.auth)).json()
        assert (limits["remaining"], limits["rolling_24h"]["used"]) == ("0.00", "500.00")
        assert limits["rolling_30d"]["used"] == "1500.00"

        await advance(env, alice, timedelta(days=30))
        limits = (await env.client.get(LIMITS, headers=alice.auth)).json()
        assert limits["remaining"] == "1000.00"
        assert limits["rolling_30d"] == window("1500.00", "0.00", "1500.00")
        await withdraw(env, alice, "1000.00")
        assert await invariant_problems(env.db) == []


async def test_cancelled_rejected_and_failed_withdrawals_free_their_allowance(
    database_url: str,
) -> None:
    async with controlled_env(database_url, **SMALL) as env:
        alice = await verified_customer(env.db, env.settings, deposit="5000.00")
        cancelled = await withdraw(env, alice, "1000.00")
        assert (await cancel(env, alice, cancelled["id"])).status_code == 200
        rejected = await withdraw(env, alice, "1000.00")
        await operator(
            env.db, lambda s: factories.reject_withdrawal(s, rejected["id"], utcnow(), "no")
        )
        failed = await withdraw(env, alice, "1000.00")
        await operator(
            env.db,
            lambda s: factories.approve_withdrawal(
                s, failed["id"], utcnow(), simulates=simulate_none
            ),
        )
        await operator(env.db, lambda s: service.fail_withdrawal(s, failed["id"], "boom", utcnow()))
        approved = await withdraw(env, alice, "700.00")
        await operator(
            env.db,
            lambda s: factories.approve_withdrawal(
                s, approved["id"], utcnow(), simulates=simulate_none
            ),
        )

        limits = (await env.client.get(LIMITS, headers=alice.auth)).json()

        assert limits["rolling_24h"] == {
            **window("1000.00", "700.00", "300.00"),
            "oldest_leaves_at": limits["rolling_24h"]["oldest_leaves_at"],
        }
        assert parse_time(limits["rolling_24h"]["oldest_leaves_at"]) == parse_time(
            approved["requested_at"]
        ) + timedelta(hours=24)
        # An approved (not yet sent) withdrawal counts as one pending review does.
        refused(
            await post_withdrawal(env, alice, "300.01"), 403, "withdrawal_limit_exceeded", "amount"
        )
        await withdraw(env, alice, "300.00")
        assert await invariant_problems(env.db) == []


async def test_operator_overrides_replace_the_defaults_until_cleared(database_url: str) -> None:
    async with controlled_env(database_url, **SMALL) as env:
        alice = await verified_customer(env.db, env.settings, deposit="50000.00")
        bob = await verified_customer(env.db, env.settings, deposit="5000.00")
        async with env.db.write() as session:
            await controls.set_limits(
                session,
                alice.seq,
                limit_24h=20_000 * USDT,
                limit_30d=None,
                operator=None,
                now=utcnow(),
            )
        month = refused(
            await post_withdrawal(env, alice, "2000.00"), 403, "withdrawal_limit_exceeded", "amount"
        )
        assert "30-day withdrawal limit of 1500.00 USDT" in month
        async with env.db.write() as session:
            await controls.set_limits(
                session,
                alice.seq,
                limit_24h=None,
                limit_30d=30_000 * USDT,
                operator=None,
                now=utcnow(),
            )

        await withdraw(env, alice, "2000.00")
        alice_limits = (await env.client.get(LIMITS, headers=alice.auth)).json()
        bob_limits = (await env.client.get(LIMITS, headers=bob.auth)).json()
        assert alice_limits == {
            "currency": "USDT",
            "remaining": "18000.00",
            "rolling_24h": {
                **window("20000.00", "2000.00", "18000.00"),
                "oldest_leaves_at": alice_limits["rolling_24h"]["oldest_leaves_at"],
            },
            "rolling_30d": {
                **window("30000.00", "2000.00", "28000.00"),
                "oldest_leaves_at": alice_limits["rolling_30d"]["oldest_leaves_at"],
            },
            "custom": True,
        }
        assert bob_limits["custom"] is False
        assert bob_limits["remaining"] == "1000.00"

        async with env.db.write() as session:
            await controls.set_limits(
                session, bob.seq, limit_24h=0, limit_30d=None, operator=None, now=utcnow()
            )
        stopped = refused(
            await post_withdrawal(env, bob, "20.00"), 403, "withdrawal_limit_exceeded", "amount"
        )
        assert stopped.endswith("limit of 0.00 USDT: you can withdraw 0.00 USDT more now.")

        async with env.db.write() as session:
            await controls.clear_limits(session, alice.seq, operator=None, now=utcnow())
            await controls.clear_limits(session, bob.seq, operator=None, now=utcnow())
        cleared = (await env.client.get(LIMITS, headers=alice.auth)).json()
        assert (cleared["custom"], cleared["remaining"]) == (False, "0.00")
        assert (await env.client.get(LIMITS, headers=bob.auth)).json()["remaining"] == "1000.00"
        await withdraw(env, bob, "1000.00")
        with pytest.raises(ApiError, match="zero or more"):
            async with env.db.write() as session:
                await controls.set_limits(
                    session, bob.seq, limit_24h=-1, limit_30d=None, operator=None, now=utcnow()
                )


async def test_refusals_come_in_the_documented_order(database_url: str) -> None:
    async with controlled_env(database_url, withdrawal_limit_24h="100.00") as env:
        unverified = await make_customer(env.db, env.settings, deposit="50.00")
        alice = await verified_customer(env.db, env.settings, deposit="50.00")
        before = await ledger_of(env, alice)

        # Address (400) before the minimum, the minimum before KYC, KYC before the limit,
        # the limit before the balance (402).
        refused(
            await post_withdrawal(env, unverified, "5.00", "bsc", BAD_CHECKSUM),
            400,
            "invalid_request",
            "address",
        )
        refused(
            await post_withdrawal(env, unverified, "5.00"), 400, "amount_below_minimum", "amount"
        )
        kyc = await post_withdrawal(env, unverified, "500.00")
        assert kyc.status_code == 403
        assert kyc.json()["error"]["code"] == "kyc_required"
        refused(
            await post_withdrawal(env, alice, "500.00"), 403, "withdrawal_limit_exceeded", "amount"
        )
        short = await post_withdrawal(env, alice, "100.00")
        assert short.status_code == 402
        assert short.json()["error"]["code"] == "insufficient_balance"
        assert await ledger_of(env, alice) == before


async def test_auto_approval_sends_small_withdrawals_without_an_operator(
    database_url: str,
) -> None:
    async with controlled_env(
        database_url, withdrawal_auto_approve_max="100.00", withdrawal_limit_24h="250.00"
    ) as env:
        alice = await verified_customer(env.db, env.settings, deposit="1000.00")

        small = await withdraw(env, alice, "100.00")
        large = await withdraw(env, alice, "100.01")
        over_limit = await post_withdrawal(env, alice, "50.00")

        # Sandbox with the simulated network: approved, sent and settled at once.
        assert small["status"] == "processed"
        assert small["tx_hash"] is not None
        assert large["status"] == "pending"
        refused(over_limit, 403, "withdrawal_limit_exceeded", "amount")
        assert (await stored_withdrawal(env.db, small["id"])).decided_at is not None
        assert await balances(
            env.db,
            customer_available(alice.id),
            Platform.PENDING_WITHDRAWALS,
            Platform.FEES,
            treasury("bsc"),
        ) == {
            customer_available(alice.id): 799_990_000,
            Platform.PENDING_WITHDRAWALS: 100_010_000,
            Platform.FEES: 1 * USDT,
            # The deposit came from the treasury; 99.00 left it again on the payout.
            treasury("bsc"): -1000 * USDT + 99 * USDT,
        }
        limits = (await env.client.get(LIMITS, headers=alice.auth)).json()
        assert limits["rolling_24h"]["used"] == "200.01"  # a processed withdrawal counts
        assert await invariant_problems(env.db) == []


async def test_auto_approval_on_a_real_network_leaves_it_approved_for_the_signer(
    database_url: str,
) -> None:
    async with controlled_env(database_url, withdrawal_auto_approve_max="100.00") as env:
        alice = await verified_customer(env.db, env.settings, deposit="1000.00")
        async with env.db.write() as session:
            withdrawal = await service.request_withdrawal(
                session,
                CustomerRef(alice.seq, alice.id),
                amount=50 * USDT,
                network="polygon",
                address=ADDRESS,
                terms=service.WithdrawalTerms.from_settings(env.settings),
                now=utcnow(),
                simulates=simulate_none,
            )
        assert withdrawal.status == WithdrawalStatus.APPROVED
        assert withdrawal.tx_hash is None
        assert await balances(env.db, Platform.PENDING_WITHDRAWALS) == {
            Platform.PENDING_WITHDRAWALS: 50 * USDT
        }


async def test_without_the_setting_every_withdrawal_waits_for_review(env: Env) -> None:
    assert env.settings.withdrawal_auto_approve_max is None
    alice = await verified_customer(env.db, env.settings, deposit="1000.00")

    body = await withdraw(env, alice, "20.00")

    assert body["status"] == "pending"


async def test_auto_approval_needs_verified_kyc(database_url: str) -> None:
    async with controlled_env(database_url, withdrawal_auto_approve_max="100.00") as env:
        bob = await make_customer(env.db, env.settings, deposit="1000.00")
        before = await ledger_of(env, bob)

        response = await post_withdrawal(env, bob, "50.00")

        assert response.status_code == 403
        assert response.json()["error"]["code"] == "kyc_required"
        assert await ledger_of(env, bob) == before
