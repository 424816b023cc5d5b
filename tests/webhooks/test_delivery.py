"""Delivery to a real local receiver: signed, at least once, retried, logged, never redirected."""

from __future__ import annotations

import json
from datetime import timedelta
from email.utils import format_datetime

import pytest
from sqlalchemy import update
from standardwebhooks.webhooks import Webhook

from miningtx.kit.clock import utcnow
from miningtx.models import WebhookDelivery, WebhookEndpoint
from miningtx.webhooks import signing, tasks, urls
from miningtx.webhooks.tasks import claim_due, record
from miningtx.webhooks.transport import CONCURRENCY, send, webhook_client
from tests.conftest import Env
from tests.factories import make_customer
from tests.webhooks.factories import (
    ENDPOINTS,
    add_endpoint,
    attempts,
    deliver,
    deliveries,
    emit,
    loopback_names_in_etc_hosts,
    make_due,
    stored_endpoint,
)
from tests.webhooks.receiver import Answer, Drop, Receiver, running_receiver

SECOND = timedelta(seconds=1)


async def test_every_event_arrives_signed_exactly_as_the_event_log_shows_it(
    hooks: Env, receiver: Receiver
) -> None:
    alice = await make_customer(hooks.db, hooks.settings)
    bob = await make_customer(hooks.db, hooks.settings)
    endpoint = await add_endpoint(hooks, alice, receiver.url, ["*"])
    rewards_only = await add_endpoint(hooks, alice, receiver.url + "/rewards", ["reward.credited"])
    sent = [
        await emit(hooks, alice, "deposit.confirmed", {"amount": "100.00", "network": "bsc"}),
        await emit(hooks, alice, "reward.credited", {"amount": "130.00", "contract": "Ultra"}),
        await emit(hooks, alice, "kyc.verified", {"bonus": "10.00", "note": "é ✓"}),
        await emit(hooks, alice, "withdrawal.processed", {"amount": "20.00"}),
    ]
    await emit(hooks, bob, "reward.credited")  # bob has no endpoint

    made = await deliver(hooks)
    idle = await deliver(hooks)

    assert (made, idle) == (5, 0)
    log = (await hooks.client.get("/v1/events", headers=alice.auth)).json()["data"]
    by_id = {event["id"]: event for event in log}
    everything = [r for r in receiver.received if r.path == "/hooks"]
    rewards = [r for r in receiver.received if r.path == "/hooks/rewards"]
    assert sorted(r.headers["webhook-id"] for r in everything) == sorted(sent)
    assert [r.headers["webhook-id"] for r in rewards] == [sent[1]]
    secrets = {"/hooks": endpoint["secret"], "/hooks/rewards": rewards_only["secret"]}
    for request in receiver.received:
        verified = Webhook(secrets[request.path]).verify(request.body, request.headers)
        assert verified == by_id[request.headers["webhook-id"]]
        assert request.body == json.dumps(verified, separators=(",", ":")).encode()
        assert request.headers["x-miningtx-signature"] == request.headers["webhook-signature"]
        assert request.headers["webhook-signature"].startswith("v1,")
        assert request.headers["content-type"] == "application/json"
        assert request.headers["user-agent"] == "MiningTX-Webhooks/1.0"
        assert abs(int(request.headers["webhook-timestamp"]) - utcnow().timestamp()) < 30
    with pytest.raises(Exception, match="signature"):
        Webhook(rewards_only["secret"]).verify(everything[0].body, everything[0].headers)
    rows = await deliveries(hooks)
    assert [(d.status, d.attempts, d.last_status_code) for d in rows] == [("delivered", 1, 200)] * 5
    assert all(d.delivered_at is not None for d in rows)
    logged = await attempts(hooks)
    assert sorted(a.delivery_seq for a in logged) == [d.seq for d in rows]
    assert all((a.status_code, a.error) == (200, None) and a.latency_ms >= 0 for a in logged)


async def test_failed_attempts_are_retried_until_the_event_gets_through(
    hooks: Env, receiver: Receiver
) -> None:
    alice = await make_customer(hooks.db, hooks.settings)
    endpoint = await add_endpoint(hooks, alice, receiver.url)
    event_id = await emit(hooks, alice)
    receiver.then(Answer(500), Answer(200, delay=4.0), Drop(), Answer(200))

    started = utcnow()
    assert await deliver(hooks) == 1
    finished = utcnow()
    [after_first] = await deliveries(hooks)
    assert await deliver(hooks) == 0  # not due yet: backing off
    for _ in range(3):
        await make_due(hooks)
        assert await deliver(hooks) == 1

    # Backoff after the first failure: 1 to 30 s (full jitter over 30 s).
    assert started + SECOND <= after_first.next_attempt_at <= finished + 30 * SECOND
    assert after_first.status == "pending"
    assert (after_first.attempts, after_first.last_status_code) == (1, 500)
    assert len(receiver.received) == 4
    assert {r.headers["webhook-id"] for r in receiver.received} == {event_id}
    assert len({r.body for r in receiver.received}) == 1
    for request in receiver.received:
        Webhook(endpoint["secret"]).verify(request.body, request.headers)
    logged = await attempts(hooks)
    assert [(a.status_code, a.error) for a in logged] == [
        (500, None),
        (None, "timeout: no answer within 3 s"),
        (None, "connection dropped: Server disconnected without sending a response."),
        (200, None),
    ]
    assert 2900 <= logged[1].latency_ms < 15000
    [done] = await deliveries(hooks)
    assert (done.status, done.attempts, done.last_status_code, done.last_error) == (
        "delivered",
        4,
        200,
        None,
    )


async def test_410_gone_disables_the_endpoint_and_cancels_its_queue(
    hooks: Env, receiver: Receiver
) -> None:
    alice = await make_customer(hooks.db, hooks.settings)
    endpoint = await add_endpoint(hooks, alice, receiver.url)
    await emit(hooks, alice)
    await emit(hooks, alice)
    async with hooks.db.write() as session:  # the second one is backing off
        await session.execute(
            update(WebhookDelivery)
            .where(WebhookDelivery.seq == (await deliveries(hooks))[1].seq)
            .values(next_attempt_at=utcnow() + timedelta(hours=1))
        )
    receiver.then(Answer(410))

    assert await deliver(hooks) == 1
    await emit(hooks, alice)

    shown = (await hooks.client.get(f"{ENDPOINTS}/{endpoint['id']}", headers=alice.auth)).json()
    assert (shown["status"], shown["disabled_reason"]) == (
        "disabled",
        "The endpoint answered 410 Gone.",
    )
    rows = await deliveries(hooks)
    assert [(d.status, d.last_status_code) for d in rows] == [
        ("cancelled", 410),
        ("cancelled", None),
    ]
    await make_due(hooks)
    assert await deliver(hooks) == 0
    assert len(receiver.received) == 1


async def test_retry_after_is_honoured_within_the_retry_window(
    hooks: Env, receiver: Receiver
) -> None:
    alice = await make_customer(hooks.db, hooks.settings)
    await add_endpoint(hooks, alice, receiver.url)
    await emit(hooks, alice)
    in_five_minutes = format_datetime(utcnow() + timedelta(minutes=5), usegmt=True)
    receiver.then(
        Answer(503, {"Retry-After": "120"}),
        Answer(429, {"Retry-After": in_five_minutes}),
        Answer(429, {"Retry-After": str(10**7)}),
        Answer(500, {"Retry-After": "7200"}),  # only 429 and 503 are asked to wait
    )
    scheduled = []
    for _ in range(4):
        await make_due(hooks)
        before = utcnow()
        assert await deliver(hooks) == 1
        [row] = await deliveries(hooks)
        scheduled.append(row.next_attempt_at - before)

    window = timedelta(hours=hooks.settings.webhook_retry_window_hours)
    assert 118 * SECOND < scheduled[0] < 125 * SECOND
    assert 290 * SECOND < scheduled[1] < 305 * SECOND
    assert window - 60 * SECOND < scheduled[2] <= window  # capped at the window's end
    assert scheduled[3] <= 8 * 30 * SECOND  # backoff after the fourth attempt, not 2 hours
    assert row.status == "pending"


async def test_a_delivery_gives_up_after_the_retry_window(hooks: Env) -> None:
    alice = await make_customer(hooks.db, hooks.settings)
    with running_receiver() as dead, running_receiver() as flaky:
        dead.default = Answer(500)
        hopeless = await add_endpoint(hooks, alice, dead.url)
        survivor = await add_endpoint(hooks, alice, flaky.url)
        await emit(hooks, alice)
        flaky.then(Answer(500))
        assert await deliver(hooks) == 2  # the first event fails at both
        await emit(hooks, alice)
        assert await deliver(hooks) == 2  # the second reaches the flaky one only
        first_event = [d.seq for d in await deliveries(hooks)][:2]
        # Three days pass for the first event without success: its last retry is due.
        async with hooks.db.write() as session:
            await session.execute(
                update(WebhookDelivery)
                .where(WebhookDelivery.seq.in_(first_event))
                .values(created_at=utcnow() - timedelta(hours=73), next_attempt_at=utcnow())
            )
        flaky.then(Answer(500))
        assert await deliver(hooks) == 2

    rows = await deliveries(hooks)
    assert [(d.status, d.attempts, d.last_status_code) for d in rows] == [
        ("failed", 2, 500),  # gave up at the endpoint that never answered 2xx
        ("failed", 2, 500),  # gave up too, though that endpoint delivered something meanwhile
        ("cancelled", 1, 500),  # the dead endpoint is disabled: its queue is cancelled
        ("delivered", 1, 200),
    ]
    dead_endpoint = await stored_endpoint(hooks, hopeless["id"])
    assert (dead_endpoint.status, dead_endpoint.disabled_reason) == (
        "disabled",
        "No delivery succeeded for 72 hours.",
    )
    assert (await stored_endpoint(hooks, survivor["id"])).status == "enabled"
    assert len(dead.received) == 3


async def test_redirects_are_not_followed(hooks: Env, receiver: Receiver) -> None:
    alice = await make_customer(hooks.db, hooks.settings)
    await add_endpoint(hooks, alice, receiver.url)
    await emit(hooks, alice)
    elsewhere = f"http://127.0.0.1:{receiver.port}/elsewhere"
    receiver.then(Answer(307, {"Location": elsewhere}))

    assert await deliver(hooks) == 1

    assert [r.path for r in receiver.received] == ["/hooks"]
    [attempt] = await attempts(hooks)
    assert (attempt.status_code, attempt.error) == (307, f"redirect to {elsewhere} not followed")
    [row] = await deliveries(hooks)
    assert (row.status, row.last_status_code) == ("pending", 307)


async def test_private_targets_are_refused_again_at_delivery(
    hooks: Env, receiver: Receiver
) -> None:
    alice = await make_customer(hooks.db, hooks.settings)
    await add_endpoint(hooks, alice, receiver.url)  # allowed when it was created
    await emit(hooks, alice)
    strict = hooks.settings.model_copy(update={"webhooks_allow_private_targets": False})

    assert await deliver(hooks, strict) == 1

    assert receiver.received == []
    [attempt] = await attempts(hooks)
    assert attempt.status_code is None
    assert attempt.error == "refused: The URL points at a non-public address (127.0.0.1)."
    [row] = await deliveries(hooks)
    assert (row.status, row.attempts, row.last_error) == ("pending", 1, attempt.error)
    assert row.next_attempt_at > utcnow()


async def test_numeric_and_mapped_forms_of_loopback_are_refused_again_at_delivery(
    hooks: Env, receiver: Receiver
) -> None:
    port = receiver.port
    # host as written -> the address the refusal names (the fake DNS knows none of them)
    forms = {
        f"http://2130706433:{port}/hooks": "127.0.0.1",
        f"http://0x7f000001:{port}/hooks": "127.0.0.1",
        f"http://127.1:{port}/hooks": "127.0.0.1",
        f"http://0:{port}/hooks": "0.0.0.0",  # noqa: S104  # an address refused, not bound
        f"http://[::ffff:127.0.0.1]:{port}/hooks": "::ffff:7f00:1",
    }
    alice = await make_customer(hooks.db, hooks.settings)
    created = {url: await add_endpoint(hooks, alice, url) for url in forms}  # allowed then
    # A dotted quad with an octal part cannot even be created; say one was stored earlier.
    octal = f"http://0177.0.0.1:{port}/hooks"
    async with hooks.db.write() as session:
        await session.execute(
            update(WebhookEndpoint)
            .where(WebhookEndpoint.id == created[f"http://127.1:{port}/hooks"]["id"])
            .values(url=octal)
        )
    await emit(hooks, alice)
    strict = hooks.settings.model_copy(update={"webhooks_allow_private_targets": False})

    assert await deliver(hooks, strict) == len(forms)

    endpoint_url = {
        (await stored_endpoint(hooks, endpoint["id"])).seq: url for url, endpoint in created.items()
    }
    errors = {endpoint_url[row.endpoint_seq]: row.last_error for row in await deliveries(hooks)}
    expected = {
        url: f"refused: The URL points at a non-public address ({address})."
        for url, address in forms.items()
    } | {f"http://127.1:{port}/hooks": "refused: The URL is not valid."}
    assert errors == expected
    assert receiver.received == []
    assert all(row.status == "pending" for row in await deliveries(hooks))


async def test_a_name_the_real_resolver_maps_to_loopback_is_refused_at_delivery(
    hooks: Env, receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.undo()  # the real getaddrinfo, answered from /etc/hosts: no network
    [(name, address), *_] = loopback_names_in_etc_hosts()
    alice = await make_customer(hooks.db, hooks.settings)
    await add_endpoint(hooks, alice, f"http://{name}:{receiver.port}/hooks")
    await emit(hooks, alice)
    strict = hooks.settings.model_copy(update={"webhooks_allow_private_targets": False})

    assert await deliver(hooks) == 1  # allowed: the name really reaches this machine
    assert len(receiver.received) == 1
    await emit(hooks, alice)
    assert await deliver(hooks, strict) == 1

    assert len(receiver.received) == 1
    assert (await attempts(hooks))[-1].error == (
        f"refused: The host {name} resolves to a non-public address ({address})."
    )


async def test_a_delivery_connects_to_the_address_it_vetted_not_to_a_second_lookup(
    hooks: Env, receiver: Receiver, dns: dict[str, list[str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    alice = await make_customer(hooks.db, hooks.settings)
    url = f"http://hooks.example.test:{receiver.port}/hooks"
    endpoint = await add_endpoint(hooks, alice, url)
    event_id = await emit(hooks, alice)
    strict = hooks.settings.model_copy(update={"webhooks_allow_private_targets": False})
    # Pretend loopback is the public internet, so the vetted address is the receiver's.
    public = urls.is_public_address
    monkeypatch.setattr(urls, "is_public_address", lambda address: str(address) == "127.0.0.1")
    dns["hooks.example.test"] = ["127.0.0.1"]

    assert await deliver(hooks, strict) == 1  # no system DNS knows hooks.example.test

    [request] = receiver.received
    assert request.headers["host"] == f"hooks.example.test:{receiver.port}"
    assert request.headers["webhook-id"] == event_id
    Webhook(endpoint["secret"]).verify(request.body, request.headers)
    # The name now rebinds to a private address: refused before any connection.
    monkeypatch.setattr(urls, "is_public_address", public)
    dns["hooks.example.test"] = ["10.0.0.1"]
    await emit(hooks, alice)
    assert await deliver(hooks, strict) == 1
    assert len(receiver.received) == 1
    assert (await attempts(hooks))[-1].error == (
        "refused: The host hooks.example.test resolves to a non-public address (10.0.0.1)."
    )


async def test_an_unreachable_endpoint_costs_one_wave_per_round_and_never_crashes_it(
    hooks: Env,
) -> None:
    alice = await make_customer(hooks.db, hooks.settings)
    with running_receiver() as gone_soon:
        url = gone_soon.url
    await add_endpoint(hooks, alice, url)  # nothing listens there any more
    for _ in range(CONCURRENCY + 2):
        await emit(hooks, alice)

    assert await deliver(hooks) == CONCURRENCY

    logged = await attempts(hooks)
    assert len(logged) == CONCURRENCY
    assert all(a.status_code is None for a in logged)
    assert all((a.error or "").startswith("connection failed") for a in logged)
    rows = await deliveries(hooks)
    assert sorted(d.attempts for d in rows) == [0, 0] + [1] * CONCURRENCY
    assert all(d.status == "pending" and d.next_attempt_at > utcnow() for d in rows)


async def test_a_worker_whose_claim_expired_cannot_overwrite_the_newer_result(
    hooks: Env, receiver: Receiver
) -> None:
    alice = await make_customer(hooks.db, hooks.settings)
    await add_endpoint(hooks, alice, receiver.url)
    await emit(hooks, alice)
    receiver.then(Answer(500))
    [stale] = await claim_due(hooks.db, hooks.settings, utcnow())
    async with webhook_client(hooks.settings) as client:
        late = await send(client, stale, hooks.settings)
    # Its lease ran out (the worker hung): another worker claims and delivers it.
    await make_due(hooks)
    assert await deliver(hooks) == 1

    assert await record(hooks.db, stale, late, hooks.settings) == "stale"

    [row] = await deliveries(hooks)
    assert (row.status, row.attempts, row.last_status_code) == ("delivered", 2, 200)
    assert [a.status_code for a in await attempts(hooks)] == [200, 500]  # both were made
    assert len(receiver.received) == 2


async def test_a_claim_holds_the_delivery_for_its_lease(hooks: Env, receiver: Receiver) -> None:
    alice = await make_customer(hooks.db, hooks.settings)
    await add_endpoint(hooks, alice, receiver.url)
    await emit(hooks, alice)

    claimed = await claim_due(hooks.db, hooks.settings, utcnow())
    again = await claim_due(hooks.db, hooks.settings, utcnow())

    assert len(claimed) == 1
    assert again == []
    [row] = await deliveries(hooks)
    assert row.next_attempt_at > utcnow() + tasks.LEASE_MARGIN
    assert row.attempts == 1


async def test_pending_deliveries_of_a_deleted_endpoint_are_cancelled_not_sent(
    hooks: Env, receiver: Receiver
) -> None:
    alice = await make_customer(hooks.db, hooks.settings)
    endpoint = await add_endpoint(hooks, alice, receiver.url)
    await emit(hooks, alice)
    await hooks.client.delete(f"{ENDPOINTS}/{endpoint['id']}", headers=alice.auth)
    # A fan-out that raced the deletion left a pending delivery behind.
    async with hooks.db.write() as session:
        await session.execute(update(WebhookDelivery).values(status="pending"))

    assert await deliver(hooks) == 0

    assert receiver.received == []
    assert [d.status for d in await deliveries(hooks)] == ["cancelled"]


async def test_nothing_more_is_sent_to_an_endpoint_once_it_answered_410(
    hooks: Env, receiver: Receiver
) -> None:
    alice = await make_customer(hooks.db, hooks.settings)
    await add_endpoint(hooks, alice, receiver.url)
    for _ in range(CONCURRENCY + 3):
        await emit(hooks, alice)
    receiver.default = Answer(410)

    assert await deliver(hooks) == CONCURRENCY  # the first wave was in flight already

    assert len(receiver.received) == CONCURRENCY
    assert {d.status for d in await deliveries(hooks)} == {"cancelled"}


async def test_an_unexpected_error_is_logged_as_a_failed_attempt(
    hooks: Env, receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    alice = await make_customer(hooks.db, hooks.settings)
    await add_endpoint(hooks, alice, receiver.url)
    await emit(hooks, alice)

    def broken(*_: object) -> dict[str, str]:
        raise RuntimeError("a bug")

    monkeypatch.setattr(signing, "signed_headers", broken)

    assert await deliver(hooks) == 1

    [attempt] = await attempts(hooks)
    assert (attempt.status_code, attempt.error) == (None, "internal error: RuntimeError")
    [row] = await deliveries(hooks)
    assert (row.status, row.attempts) == ("pending", 1)
    assert receiver.received == []
