"""Customer and API key rules: sign-up, keys shown once, revocation, authentication."""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import bindparam, func, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from miningtx.customers.refs import CustomerRef
from miningtx.kit.db import ReadSession, WriteSession
from miningtx.kit.errors import ApiError, invalid
from miningtx.kit.ids import hash_secret, new_id, random_base62
from miningtx.ledger import service as ledger
from miningtx.ledger.accounts import CUSTOMER_AVAILABLE, customer_available
from miningtx.models import ApiKey, Customer, KycStatus

USERNAME = re.compile(r"^[a-z0-9_]{3,32}$")
EMAIL = re.compile(r"^[^@\s]{1,64}@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$")
KEY_RANDOM_LENGTH = 32
KEY_PATTERN = re.compile(r"^mtx_(test|live)_[0-9A-Za-z]{32,64}$")
#: last_used_at is written at most this often per key, so reads stay reads.
LAST_USED_RESOLUTION = timedelta(seconds=60)


def username_taken() -> ApiError:
    return ApiError(409, "conflict", "That username is already taken.", param="username")


def email_taken() -> ApiError:
    return ApiError(409, "conflict", "That email is already registered.", param="email")


def unknown_referral_code() -> ApiError:
    return ApiError(
        400, "invalid_referral_code", "No customer has that referral code.", param="referral_code"
    )


@dataclass(frozen=True, slots=True)
class Principal:
    """Who an API request acts for: the customer behind a valid, unrevoked API key."""

    customer: CustomerRef
    key_seq: int
    #: The key's public id: globally unique, so it names the key's shared rate-limit window.
    key_id: str

    @property
    def customer_seq(self) -> int:
        return self.customer.seq

    @property
    def customer_id(self) -> str:
        return self.customer.id


async def create_customer(
    session: WriteSession,
    *,
    email: str,
    username: str,
    now: datetime,
    referral_code: str | None = None,
) -> Customer:
    """Create a customer with their available-balance account and a referral code."""
    username = username.strip().lower()
    email = email.strip()
    if not USERNAME.match(username):
        raise invalid("username", "Usernames are 3-32 characters of a-z, 0-9 and _.")
    if len(email) > 254 or not EMAIL.match(email):
        raise invalid("email", "That is not a valid email address.")
    if await session.scalar(select(Customer.seq).where(Customer.username == username)):
        raise username_taken()
    if await session.scalar(
        select(Customer.seq).where(func.lower(Customer.email) == email.lower())
    ):
        raise email_taken()
    referrer_seq = None
    if referral_code:
        referrer_seq = await session.scalar(
            select(Customer.seq).where(Customer.referral_code == referral_code.strip().upper())
        )
        if referrer_seq is None:
            raise unknown_referral_code()
    customer = Customer(
        id=new_id("usr"),
        username=username,
        email=email,
        referral_code=await _free_referral_code(session, username),
        referred_by_seq=referrer_seq,
        kyc_status=KycStatus.UNVERIFIED,
        kyc_bonus_credited=False,
        total_rewards=0,
        created_at=now,
    )
    session.add(customer)
    await session.flush()
    await ledger.open_account(
        session, customer_available(customer.id), CUSTOMER_AVAILABLE, customer.seq
    )
    return customer


async def _free_referral_code(session: WriteSession, username: str) -> str:
    stem = re.sub(r"[^A-Z0-9]", "", username.upper())[:12] or "MTX"
    for _ in range(20):
        code = f"{stem}{secrets.randbelow(90) + 10}"
        if not await session.scalar(select(Customer.seq).where(Customer.referral_code == code)):
            return code
    return f"{stem}{random_base62(6).upper()}"


async def get_customer(session: ReadSession | WriteSession, customer_id: str) -> Customer:
    customer = await session.scalar(select(Customer).where(Customer.id == customer_id))
    if customer is None:
        raise ApiError(404, "resource_missing", f"No customer {customer_id}.")
    return customer


async def create_api_key(
    session: WriteSession,
    customer: Customer,
    *,
    prefix: str,
    now: datetime,
    name: str | None = None,
) -> tuple[ApiKey, str]:
    """Issue a key; the secret is returned here once and only its hash is stored."""
    secret = prefix + random_base62(KEY_RANDOM_LENGTH)
    key = ApiKey(
        id=new_id("key"),
        customer_seq=customer.seq,
        key_hash=hash_secret(secret),
        display_prefix=secret[: len(prefix) + 4],
        name=name,
        created_at=now,
    )
    session.add(key)
    await session.flush()
    return key, secret


async def revoke_api_key(session: WriteSession, key_id: str, now: datetime) -> ApiKey:
    key = await session.scalar(select(ApiKey).where(ApiKey.id == key_id))
    if key is None:
        raise ApiError(404, "resource_missing", f"No API key {key_id}.")
    if key.revoked_at is None:
        key.revoked_at = now
    return key


#: Built once: this lookup runs on every authenticated request.
_KEY_LOOKUP = (
    select(
        ApiKey.seq,
        ApiKey.id.label("key_id"),
        ApiKey.last_used_at,
        Customer.seq.label("customer_seq"),
        Customer.id,
    )
    .join(Customer, Customer.seq == ApiKey.customer_seq)
    .where(ApiKey.key_hash == bindparam("key_hash"), ApiKey.revoked_at.is_(None))
)


async def resolve_api_key(
    connection: AsyncConnection, secret: str
) -> tuple[Principal, datetime | None] | None:
    """The principal for a presented key and when it was last used, or None if not valid.

    Takes a bare connection rather than a session: it is the hottest query there is.
    """
    if not KEY_PATTERN.match(secret):
        return None
    row = (await connection.execute(_KEY_LOOKUP, {"key_hash": hash_secret(secret)})).one_or_none()
    if row is None:
        return None
    return Principal(CustomerRef(row.customer_seq, row.id), row.seq, row.key_id), row.last_used_at


async def touch_api_key(session: WriteSession, key_seq: int, now: datetime) -> None:
    """Record use of a key, at most once per LAST_USED_RESOLUTION."""
    await session.execute(
        update(ApiKey)
        .where(
            ApiKey.seq == key_seq,
            (ApiKey.last_used_at.is_(None)) | (ApiKey.last_used_at < now - LAST_USED_RESOLUTION),
        )
        .values(last_used_at=now)
    )


async def revoke_customer_api_key(
    session: WriteSession, customer_seq: int, key_id: str, now: datetime
) -> ApiKey:
    """Revoke one of the customer's own keys (the dashboard); 404 for anyone else's."""
    owner = await session.scalar(select(ApiKey.customer_seq).where(ApiKey.id == key_id))
    if owner != customer_seq:
        raise ApiError(404, "resource_missing", f"No API key {key_id}.", param="key_id")
    return await revoke_api_key(session, key_id, now)
