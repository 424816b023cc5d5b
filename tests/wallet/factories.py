"""Wallet-only helpers: verified customers, withdrawals over HTTP, operator steps, balances."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import httpx
from sqlalchemy import update

from miningtx.config import Settings
from miningtx.kit.db import Database, WriteSession
from miningtx.models import Customer, Withdrawal
from miningtx.wallet import repository
from tests.conftest import Env
from tests.factories import CustomerWithKey, make_customer

WITHDRAWALS = "/v1/withdrawals"
#: The EIP-55 specification's own example: a valid, checksummed address.
ADDRESS = "0x52908400098527886E0F7030069857D2E4169EE7"
#: ADDRESS with the case of one letter flipped: its checksum no longer holds.
BAD_CHECKSUM = "0x52908400098527886e0F7030069857D2E4169EE7"


async def verify_kyc(db: Database, customer_seq: int) -> None:
    """Mark a customer's KYC verified directly (no bonus: the KYC rules are tested elsewhere)."""
    async with db.write() as session:
        await session.execute(
            update(Customer).where(Customer.seq == customer_seq).values(kyc_status="verified")
        )


async def verified_customer(
    db: Database, settings: Settings, deposit: str | None = None
) -> CustomerWithKey:
    customer = await make_customer(db, settings, deposit=deposit)
    await verify_kyc(db, customer.seq)
    return customer


async def post_withdrawal(
    env: Env,
    who: CustomerWithKey,
    amount: Any,
    network: Any = "bsc",
    address: Any = ADDRESS,
    **headers: str,
) -> httpx.Response:
    return await env.client.post(
        WITHDRAWALS,
        json={"amount": amount, "network": network, "address": address},
        headers={**who.auth, **headers},
    )


async def withdraw(
    env: Env, who: CustomerWithKey, amount: str, network: str = "bsc"
) -> dict[str, Any]:
    """Request a withdrawal that must succeed and return its body."""
    response = await post_withdrawal(env, who, amount, network)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def cancel(env: Env, who: CustomerWithKey, withdrawal_id: str) -> httpx.Response:
    return await env.client.post(f"{WITHDRAWALS}/{withdrawal_id}/cancel", headers=who.auth)


async def get_balance(env: Env, who: CustomerWithKey) -> dict[str, Any]:
    response = await env.client.get("/v1/balance", headers=who.auth)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def operator(
    db: Database, step: Callable[[WriteSession], Awaitable[Withdrawal]]
) -> Withdrawal:
    """Run one operator step (approve, reject, ...) in its own unit of work, as the CLI does."""
    async with db.write() as session:
        return await step(session)


async def stored_withdrawal(db: Database, withdrawal_id: str) -> Withdrawal:
    async with db.read() as session:
        found = await repository.find_withdrawal(session, withdrawal_id)
    assert found is not None, withdrawal_id
    return found
