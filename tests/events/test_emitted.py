"""Every change that reports an event writes it in its own transaction, shaped as the API
renders the object, and queues it for exactly the subscribed, enabled endpoints."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from miningtx.customers import kyc
from miningtx.kit.clock import utcnow
from miningtx.kit.ids import new_id
from miningtx.models import Event, WebhookDelivery, WebhookEndpoint, WebhookSubscription
from miningtx.wallet import service as wallet
from tests import factories
from tests.conftest import Env
from tests.factories import fund_pool, make_customer, open_for_business, simulate_all, simulate_none
from tests.wallet.factories import ADDRESS, operator, verified_customer, withdraw


async def events_of(env: Env, customer_seq: int) -> list[Event]:
    async with env.db.read() as session:
        rows = await session.scalars(
            select(Event).where(Event.customer_seq == customer_seq).order_by(Event.seq)
        )
        return list(rows)


async def only_event(env: Env, customer_seq: int, event_type: str) -> dict[str, Any]:
    found = [e for e in await events_of(env, customer_seq) if e.type == event_type]
    assert len(found) == 1, [e.type for e in found]
    assert found[0].id.startswith("evt_")
    return found[0].data


async def test_a_test_deposit_emits_deposit_confirmed_with_the_deposit_object(env: Env) -> None:
    alice = await make_customer(env.db, env.settings)

    response = await env.client.post(
        "/v1/test_helpers/deposits",
        json={"network": "polygon", "amount": "250.50"},
        headers=alice.auth,
    )

    assert response.status_code == 200, response.text
    assert await only_event(env, alice.seq, "deposit.confirmed") == response.json()


async def test_activation_emits_contract_activated_and_a_refusal_emits_nothing(env: Env) -> None:
    await open_for_business(env.db)
    alice = await make_customer(env.db, env.settings, deposit="600.00")

    bought = await env.client.post(
        "/v1/contracts/activate", json={"contract_id": "starter"}, headers=alice.auth
    )
    refused = await env.client.post(
        "/v1/contracts/activate", json={"contract_id": "ultra"}, headers=alice.auth
    )

    assert bought.status_code == 200, bought.text
    assert refused.status_code == 402, refused.text
    assert await only_event(env, alice.seq, "contract.activated") == bought.json()


async def test_kyc_approval_emits_kyc_verified_once(env: Env) -> None:
    await fund_pool(env.db, "bonus", "100.00")
    alice = await make_customer(env.db, env.settings)
    submitted = await env.client.post(
        "/v1/account/kyc",
        json={
            "full_name": "Alice Example",
            "date_of_birth": "1990-01-01",
            "country": "DE",
            "document_type": "passport",
            "document_number": "C01X00T47",
        },
        headers=alice.auth,
    )
    assert submitted.status_code == 200, submitted.text

    for _ in range(2):
        async with env.db.write() as session:
            await kyc.approve_kyc(session, alice.id, utcnow(), operator=None)

    assert await only_event(env, alice.seq, "kyc.verified") == {
        "customer": alice.id,
        "kyc_status": "verified",
        "bonus": "10.00",
    }


async def test_processed_and_failed_withdrawals_emit_their_events(env: Env) -> None:
    alice = await verified_customer(env.db, env.settings, deposit="1000.00")
    sent = await withdraw(env, alice, "100.00")
    lost = await withdraw(env, alice, "50.00", "polygon")

    await operator(
        env.db,
        lambda s: factories.approve_withdrawal(s, sent["id"], utcnow(), simulates=simulate_all),
    )
    await operator(
        env.db,
        lambda s: factories.approve_withdrawal(s, lost["id"], utcnow(), simulates=simulate_none),
    )
    await operator(
        env.db, lambda s: wallet.fail_withdrawal(s, lost["id"], "node rejected it", utcnow())
    )

    processed = await only_event(env, alice.seq, "withdrawal.processed")
    failed = await only_event(env, alice.seq, "withdrawal.failed")
    for data, withdrawal_id in ((processed, sent["id"]), (failed, lost["id"])):
        shown = await env.client.get(f"/v1/withdrawals/{withdrawal_id}", headers=alice.auth)
        assert data == shown.json()
    assert processed["status"] == "processed"
    assert processed["net_amount"] == "99.00"
    assert processed["address"] == ADDRESS
    assert failed["status"] == "failed"
    assert failed["failure_reason"] == "node rejected it"


async def add_endpoint(env: Env, customer_seq: int, *types: str, status: str = "enabled") -> int:
    async with env.db.write() as session:
        endpoint = WebhookEndpoint(
            id=new_id("we"),
            customer_seq=customer_seq,
            url="https://hooks.example.com/mtx",
            secret="whsec_dGVzdA==",
            status=status,
            created_at=utcnow(),
        )
        session.add(endpoint)
        await session.flush()
        session.add_all(WebhookSubscription(endpoint_seq=endpoint.seq, event_type=t) for t in types)
        return endpoint.seq


async def test_events_are_queued_for_subscribed_enabled_endpoints_only(env: Env) -> None:
    alice = await make_customer(env.db, env.settings)
    bob = await make_customer(env.db, env.settings)
    deposits_only = await add_endpoint(env, alice.seq, "deposit.confirmed")
    everything = await add_endpoint(env, alice.seq, "*", "deposit.confirmed")
    other_type = await add_endpoint(env, alice.seq, "reward.credited", "kyc.verified", "x.y")
    disabled = await add_endpoint(env, alice.seq, "*", status="disabled")
    bobs = await add_endpoint(env, bob.seq, "*", "reward.credited", "kyc.verified", "a.b")

    response = await env.client.post(
        "/v1/test_helpers/deposits", json={"network": "bsc", "amount": "20.00"}, headers=alice.auth
    )
    assert response.status_code == 200, response.text

    async with env.db.read() as session:
        queued = (
            await session.execute(select(WebhookDelivery.endpoint_seq, WebhookDelivery.status))
        ).all()
    # One delivery each, even for the endpoint that names the type and `*` together.
    assert sorted(queued) == sorted([(deposits_only, "pending"), (everything, "pending")])
    assert {other_type, disabled, bobs}.isdisjoint(seq for seq, _ in queued)
