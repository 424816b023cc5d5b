"""Data the console tests review, made through the services: a pending KYC, a pending
withdrawal, an operator signed in to an in-process client."""

from __future__ import annotations

from datetime import date

import httpx

from miningtx.config import Settings
from miningtx.customers import kyc
from miningtx.customers.refs import CustomerRef
from miningtx.kit.clock import utcnow
from miningtx.kit.db import Database
from miningtx.kit.money import parse_amount
from miningtx.wallet import service as wallet
from tests.dashboard.factories import WebOperator, make_operator
from tests.dashboard.web import sign_in
from tests.wallet.factories import ADDRESS, verify_kyc


async def submit_kyc(db: Database, customer_seq: int) -> None:
    """The customer's KYC submitted, as POST /v1/account/kyc does: status `pending`."""
    async with db.write() as session:
        await kyc.submit_kyc(
            session,
            customer_seq,
            full_name="Ada Lovelace",
            date_of_birth=date(1990, 12, 10),
            country="GB",
            document_type="passport",
            document_number="P1234567",
            now=utcnow(),
        )


async def deposit(db: Database, customer_seq: int, customer_id: str, amount: str) -> None:
    async with db.write() as session:
        await wallet.credit_deposit(
            session,
            customer_seq=customer_seq,
            customer_id=customer_id,
            network="bsc",
            amount=parse_amount(amount),
            now=utcnow(),
        )


async def pending_withdrawal(
    db: Database, settings: Settings, customer_seq: int, customer_id: str, amount: str
) -> str:
    """A verified customer's withdrawal request to the bsc network, awaiting review."""
    await verify_kyc(db, customer_seq)
    async with db.write() as session:
        withdrawal = await wallet.request_withdrawal(
            session,
            CustomerRef(customer_seq, customer_id),
            amount=parse_amount(amount),
            network="bsc",
            address=ADDRESS,
            terms=wallet.WithdrawalTerms.from_settings(settings),
            now=utcnow(),
            simulates=settings.simulates,
        )
        return withdrawal.id


async def signed_in_operator(
    db: Database, client: httpx.AsyncClient, role: str = "admin"
) -> WebOperator:
    operator = await make_operator(db, role=role)
    response = await sign_in(client, operator.email, operator.password, console=True)
    assert response.status_code == 303, response.text
    return operator
