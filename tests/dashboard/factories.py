"""Dashboard accounts made directly through the services: customers who can sign in, operators."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from miningtx.dashboard import service
from miningtx.kit.clock import utcnow
from miningtx.kit.db import Database

PASSWORD = "correct horse battery staple"


@dataclass(frozen=True)
class WebCustomer:
    id: str
    seq: int
    username: str
    email: str
    password: str
    referral_code: str


async def make_web_customer(
    db: Database, *, password: str = PASSWORD, referral_code: str | None = None
) -> WebCustomer:
    """A customer with a dashboard password, made by the sign-up service."""
    tag = uuid.uuid4().hex[:10]
    async with db.write() as session:
        customer = await service.sign_up(
            session,
            email=f"w{tag}@example.com",
            username=f"w{tag}",
            password=password,
            referral_code=referral_code,
            now=utcnow(),
        )
        return WebCustomer(
            customer.id,
            customer.seq,
            customer.username,
            customer.email,
            password,
            customer.referral_code,
        )


@dataclass(frozen=True)
class WebOperator:
    id: str
    seq: int
    email: str
    role: str
    password: str


async def make_operator(
    db: Database, *, role: str = "admin", password: str = PASSWORD
) -> WebOperator:
    email = f"op{uuid.uuid4().hex[:10]}@example.com"
    async with db.write() as session:
        operator = await service.create_operator(
            session, email=email, role=role, password=password, now=utcnow(), created_by=None
        )
        return WebOperator(operator.id, operator.seq, operator.email, operator.role, password)
