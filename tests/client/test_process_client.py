"""The typed client against a real `mtx serve`: every route, pages, errors, retries, webhooks."""

from __future__ import annotations

import asyncio
import re
import sys
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import httpx
import pytest

from miningtx.customers import kyc
from miningtx.kit.clock import utcnow
from miningtx_client import (
    AsyncClient,
    AuthenticationError,
    BadRequestError,
    Client,
    ConflictError,
    InsufficientBalanceError,
    NotFoundError,
    PermissionDeniedError,
    RetryPolicy,
    webhooks,
)
from tests.client.conftest import Platform
from tests.client.proxy import ForwardThenDrop, Refuse, flaky_proxy
from tests.factories import invariant_problems
from tests.servers import run_command
from tests.webhooks.receiver import Receiver

pytestmark = pytest.mark.slow

ADDRESS = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"
REQUEST_ID = re.compile(r"^req_[0-9A-Za-z]{20}$")
#: Fast retries: the tests wait for the policy, never for wall-clock luck.
LATE = timedelta(days=4)
QUICK = RetryPolicy(max_retries=2, initial_delay=0.01, max_delay=0.05)


def served_operations(base_url: str) -> set[tuple[str, str]]:
    spec = httpx.get(f"{base_url}/v1/openapi.json", timeout=10.0).json()
    return {
        (method.upper(), path)
        for path, methods in spec["paths"].items()
        if path.startswith("/v1/")
        for method in methods
    }


def route_of(path: str, templates: set[str]) -> str | None:
    # A literal path wins over a parameter that would match it too (/withdrawals/limits).
    for template in sorted(templates, key=lambda template: template.count("{")):
        if re.fullmatch(re.sub(r"\{[^/]+\}", "[^/]+", template), path):
            return template
    return None


async def test_every_route_through_the_sync_client(platform: Platform, receiver: Receiver) -> None:
    alice = await platform.customer(deposit="5000.00")
    called: set[tuple[str, str]] = set()
    operations = served_operations(platform.server.base_url)
    templates = {path for _, path in operations}

    def record(request: httpx.Request) -> None:
        template = route_of(request.url.path, templates)
        if template is not None:
            called.add((request.method, template))

    http = httpx.Client(timeout=30.0, event_hooks={"request": [record]})
    with Client(alice.key, base_url=platform.server.base_url, http_client=http) as client:
        account = client.account.retrieve()
        assert account.id == alice.id
        assert account.created_at.tzinfo is not None
        endpoint = client.webhook_endpoints.create(url=receiver.url, events=["*"])
        assert endpoint.secret.startswith("whsec_")
        assert client.webhook_endpoints.retrieve(endpoint.id).url == receiver.url
        assert [e.id for e in client.webhook_endpoints.list()] == [endpoint.id]

        pending = client.account.submit_kyc(
            full_name="Alice Example",
            date_of_birth=date(1990, 5, 17),
            country="GB",
            document_type="passport",
            document_number="AB1234567",
        )
        assert pending.kyc_status == "pending"
        with pytest.raises(PermissionDeniedError) as refused:
            client.withdrawals.create(amount="100.00", network="bsc", address=ADDRESS)
        assert refused.value.code == "kyc_required"
        async with platform.seed.db.write() as session:
            await kyc.approve_kyc(session, alice.id, utcnow(), operator=None)
        assert client.account.retrieve().kyc_bonus_credited is True

        balance = client.balance.retrieve()
        assert balance.available == Decimal("5010.00")  # the deposit and the KYC bonus
        deposit = client.test_helpers.create_deposit(network="bsc", amount=Decimal("250.50"))
        assert deposit.amount == Decimal("250.50")
        assert next(iter(client.deposits.list())).id == deposit.id
        address = client.deposits.address(network="polygon")
        assert address.network == "polygon"
        assert address.address.startswith("0x")

        catalog = client.contracts.list()
        starter = next(c for c in catalog if c.id == "starter")
        activation = client.contracts.activate(contract_id="starter")
        assert activation.price == starter.price
        assert client.activations.retrieve(activation.id).status == "active"
        assert [a.id for a in client.activations.list(status="active")] == [activation.id]

        plans = client.staking.plans()
        assert plans.min_amount <= Decimal("1000.00") <= plans.max_amount
        stake = client.staking.create_stake(amount="1000.00", days=30)
        assert stake.amount == Decimal("1000.00")
        assert client.staking.retrieve_stake(stake.id).status == "active"
        assert [s.id for s in client.staking.list_stakes(status="active")] == [stake.id]

        withdrawal = client.withdrawals.create(amount="100.00", network="bsc", address=ADDRESS)
        assert withdrawal.status == "pending"
        assert client.withdrawals.retrieve(withdrawal.id).amount == Decimal("100.00")
        cancelled = client.withdrawals.cancel(withdrawal.id)
        assert cancelled.status == "cancelled"
        assert [w.status for w in client.withdrawals.list(status="cancelled")] == ["cancelled"]
        limits = client.withdrawal_limits.retrieve()
        assert limits.rolling_24h.used == Decimal("0.00")  # the cancelled one does not count
        assert limits.remaining == limits.rolling_24h.limit

        saved = client.withdrawal_addresses.create(network="bsc", address=ADDRESS, label="mine")
        assert (saved.usable, saved.created_at.tzinfo is not None) == (False, True)
        assert [a.id for a in client.withdrawal_addresses.list()] == [saved.id]
        mode = client.withdrawal_addresses.update_settings(saved_addresses_only=True)
        assert (mode.saved_addresses_only, mode.turns_off_at) == (True, None)
        assert client.withdrawal_addresses.settings() == mode
        with pytest.raises(PermissionDeniedError) as cooling:
            client.withdrawals.create(amount="100.00", network="bsc", address=ADDRESS)
        assert (cooling.value.code, cooling.value.param) == ("address_not_allowed", "address")
        assert client.withdrawal_addresses.delete(saved.id).deleted is True

        clock = client.test_helpers.advance_clock(seconds=3 * 86400)
        assert clock.advanced_by == 3 * 86400
        rewards = list(client.rewards.list(limit=1).auto_paging_iter())
        assert len(rewards) >= 2
        assert {r.amount for r in rewards} == {starter.daily_reward}
        assert client.partners.retrieve().referral_code == alice.referral_code
        kinds = {t.type for t in client.transactions.list(limit=100).auto_paging_iter()}
        assert {"deposit", "bonus", "contract", "stake", "reward"} <= kinds

        events = list(client.events.list(limit=2).auto_paging_iter())
        assert "contract.activated" in {e.event for e in events}
        assert client.events.retrieve(events[0].id) == events[0]
        assert client.webhook_endpoints.delete(endpoint.id).deleted is True

        # Deliveries the worker made before the endpoint went: each verifies as a typed event.
        by_id = {e.id: e for e in events}
        delivered = await asyncio.to_thread(receiver.wait_for, 1, 20.0)
        assert delivered
        for request in receiver.received:
            event = webhooks.verify(
                request.body,
                request.headers,
                endpoint.secret,
                now=clock.now,
                tolerance=timedelta(days=4),
            )
            assert event == by_id[event.id]

    # A route new in the served document needs a client method (clients/python/src/
    # miningtx_client/_sync.py and _async.py) and a call above: see docs/architecture.md.
    assert operations - called == set(), "the client does not call these served routes"
    assert await invariant_problems(platform.seed.db) == []


async def test_transactions_page_across_pages_in_order(platform: Platform) -> None:
    alice = await platform.customer(deposit="10.00")
    with Client(alice.key, base_url=platform.server.base_url) as client:
        for tens in range(1, 8):
            client.test_helpers.create_deposit(network="bsc", amount=f"{tens}0.00")
        first = client.transactions.list(type="deposit", limit=3)
        assert len(first) == 3
        assert first.has_more is True
        assert first.next_cursor is not None
        everything = list(first.auto_paging_iter())
        amounts = [t.amount for t in everything]
        assert amounts == [Decimal(f"{n}0.00") for n in range(7, 0, -1)] + [Decimal("10.00")]
        assert len({t.id for t in everything}) == 8
        assert all(t.type == "deposit" and t.direction == "credit" for t in everything)
        assert list(client.transactions.list(type="reward").auto_paging_iter()) == []


async def test_errors_carry_status_code_param_and_request_id(platform: Platform) -> None:
    alice = await platform.customer(deposit="50.00")
    with Client(alice.key, base_url=platform.server.base_url, retry=QUICK) as client:
        with pytest.raises(NotFoundError) as missing:
            client.withdrawals.retrieve("wd_doesnotexist")
        with pytest.raises(InsufficientBalanceError) as poor:
            client.contracts.activate(contract_id="quantum")
        with pytest.raises(BadRequestError) as bad:
            client.test_helpers.create_deposit(network="bsc", amount="1.1234567")
    assert (missing.value.status, missing.value.code) == (404, "resource_missing")
    assert (poor.value.status, poor.value.code) == (402, "insufficient_balance")
    assert (bad.value.status, bad.value.code, bad.value.param) == (400, "invalid_request", "amount")
    for error in (missing.value, poor.value, bad.value):
        assert error.request_id is not None
        assert REQUEST_ID.match(error.request_id)
    stranger = Client("mtx_test_" + "A" * 32, base_url=platform.server.base_url)
    with stranger, pytest.raises(AuthenticationError) as unauthorized:
        stranger.balance.retrieve()
    assert (unauthorized.value.status, unauthorized.value.code) == (401, "unauthorized")


async def test_a_dropped_post_is_retried_with_its_key_and_has_one_effect(
    platform: Platform,
) -> None:
    alice = await platform.customer(deposit="1000.00")
    with flaky_proxy(platform.server.base_url) as proxy:
        proxy.then(ForwardThenDrop())  # the server activates, the client sees a reset
        with Client(alice.key, base_url=proxy.base_url, retry=QUICK) as client:
            activation = client.contracts.activate(contract_id="starter")
            balance = client.balance.retrieve()
            activations = list(client.activations.list().auto_paging_iter())
    posts = [s for s in proxy.seen if s.method == "POST"]
    assert len(posts) == 2
    assert posts[0].idempotency_key is not None
    assert posts[0].idempotency_key == posts[1].idempotency_key
    assert [a.id for a in activations] == [activation.id]  # one effect
    assert balance.available == Decimal("1000.00") - activation.price
    assert balance.in_contracts == activation.price
    assert await invariant_problems(platform.seed.db) == []


async def test_async_client_retries_429_and_5xx_and_pages(platform: Platform) -> None:
    alice = await platform.customer(deposit="100.00")
    with flaky_proxy(platform.server.base_url) as proxy:
        proxy.then(Refuse(429, {"Retry-After": "0"}), Refuse(503))
        async with AsyncClient(alice.key, base_url=proxy.base_url, retry=QUICK) as client:
            deposit = await client.test_helpers.create_deposit(network="bsc", amount="15.00")
            page = await client.transactions.list(limit=1)
            seen = [t.id async for t in page.auto_paging_iter()]
            balance = await client.balance.retrieve()
            with pytest.raises(ConflictError) as reused:
                await client.test_helpers.create_deposit(
                    network="bsc", amount="16.00", idempotency_key=proxy.seen[0].idempotency_key
                )
    posts = [s for s in proxy.seen if s.method == "POST"]
    assert len({p.idempotency_key for p in posts[:3]}) == 1  # 429, 503, then the real one
    assert deposit.amount == Decimal("15.00")
    assert len(seen) == 2
    assert balance.available == Decimal("115.00")
    assert reused.value.code == "idempotency_key_reused"
    assert reused.value.param == "Idempotency-Key"


QUICKSTART = Path(__file__).parents[2] / "clients" / "python" / "examples" / "quickstart.py"
PLACEHOLDER_KEY = '"mtx_test_..."'
DOCUMENTED_URL = '"http://127.0.0.1:8000"'


def test_the_readmes_show_the_quickstart_sample_verbatim() -> None:
    sample = QUICKSTART.read_text()
    for readme in (QUICKSTART.parents[1] / "README.md", QUICKSTART.parents[3] / "README.md"):
        assert f"```python\n{sample}```" in readme.read_text(), readme


async def test_the_quickstart_runs_unchanged_but_for_the_key(platform: Platform) -> None:
    alice = await platform.customer(deposit="2480.75")
    code = QUICKSTART.read_text()
    assert code.count(PLACEHOLDER_KEY) == 1
    assert code.count(DOCUMENTED_URL) == 1
    # The documented port is make run's; this server listens on a free one.
    code = code.replace(PLACEHOLDER_KEY, f'"{alice.key}"').replace(
        DOCUMENTED_URL, f'"{platform.server.base_url}"'
    )

    status, out, err = await run_command(sys.executable, "-c", code, time_limit=60.0)

    assert status == 0, err
    assert out.splitlines()[0] == "available: 2480.75 USDT"
    assert "starter Starter Miner" in out
