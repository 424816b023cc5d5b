"""API keys: format, stored only as a hash, several per customer, revocable, last use tracked."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select, text

from miningtx.customers import service as customers
from miningtx.kit.clock import utcnow
from miningtx.kit.errors import ApiError
from miningtx.models import ApiKey
from tests.conftest import Env
from tests.factories import make_customer


async def test_keys_have_the_documented_form_and_only_a_hash_is_stored(env: Env) -> None:
    alice = await make_customer(env.db, env.settings)

    assert re.fullmatch(r"mtx_test_[0-9A-Za-z]{32}", alice.key)
    async with env.db.read() as session:
        key = (await session.execute(select(ApiKey).where(ApiKey.id == alice.key_id))).scalar_one()
        dump = " ".join(
            str(value)
            for row in (await session.execute(text("SELECT * FROM api_keys"))).all()
            for value in row
        )
    assert alice.key not in dump
    assert alice.key[9:] not in dump
    assert key.display_prefix == alice.key[:13]
    assert len(key.key_hash) == 64


async def test_last_used_at_is_tracked(env: Env) -> None:
    alice = await make_customer(env.db, env.settings)
    async with env.db.read() as session:
        before = await session.scalar(select(ApiKey.last_used_at).where(ApiKey.id == alice.key_id))

    await env.client.get("/v1/account", headers=alice.auth)

    async with env.db.read() as session:
        after = await session.scalar(select(ApiKey.last_used_at).where(ApiKey.id == alice.key_id))
    assert before is None
    assert after is not None
    assert abs((utcnow() - after).total_seconds()) < 30


async def test_several_keys_work_and_revoking_one_stops_only_it(env: Env) -> None:
    alice = await make_customer(env.db, env.settings)
    async with env.db.write() as session:
        customer = await customers.get_customer(session, alice.id)
        _, second = await customers.create_api_key(
            session, customer, prefix=env.settings.key_prefix, now=utcnow()
        )

    assert (
        await env.client.get("/v1/balance", headers={"Authorization": f"Bearer {second}"})
    ).status_code == 200
    async with env.db.write() as session:
        await customers.revoke_api_key(session, alice.key_id, utcnow())

    revoked = await env.client.get("/v1/balance", headers=alice.auth)
    still = await env.client.get("/v1/balance", headers={"Authorization": f"Bearer {second}"})
    assert revoked.status_code == 401
    assert revoked.json()["error"]["code"] == "unauthorized"
    assert still.status_code == 200


async def test_customer_creation_validates_and_refuses_duplicates(env: Env) -> None:
    alice = await make_customer(env.db, env.settings)
    async with env.db.read() as session:
        existing = await customers.get_customer(session, alice.id)
    cases = [
        ({"email": "x@example.com", "username": "A!"}, 400, "username"),
        ({"email": "nope", "username": "valid_name"}, 400, "email"),
        ({"email": "y@example.com", "username": existing.username}, 409, "username"),
        ({"email": existing.email.upper(), "username": "fresh_name"}, 409, "email"),
        (
            {"email": "z@example.com", "username": "fresh_two", "referral_code": "NOPE00"},
            400,
            "referral_code",
        ),
    ]
    for kwargs, status, param in cases:
        with pytest.raises(ApiError) as refused:
            async with env.db.write() as session:
                await customers.create_customer(session, now=utcnow(), **kwargs)
        assert (refused.value.status, refused.value.param) == (status, param)


async def test_referral_code_links_the_referrer(env: Env) -> None:
    alice = await make_customer(env.db, env.settings)
    bob = await make_customer(env.db, env.settings, referral_code=alice.referral_code.lower())

    async with env.db.read() as session:
        referred = await customers.get_customer(session, bob.id)
        referrer = await customers.get_customer(session, alice.id)
    assert referred.referred_by_seq == referrer.seq
    assert re.fullmatch(r"[A-Z0-9]{3,14}\d\d|[A-Z0-9]+", alice.referral_code)
