"""Dashboard and console accounts: sign-up, passwords, operators and TOTP two-factor.

No HTTP and no commit here, as in every service: the page's unit of work commits.
A customer is created by `customers.service.create_customer`, the same function the
CLI uses, so username, email and referral-code rules live in one place.
"""

from __future__ import annotations

import asyncio
import hmac
import re
from dataclasses import dataclass
from datetime import datetime

import pyotp
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import func, or_, select, update

from miningtx.audit import service as audit
from miningtx.audit.refs import OperatorRef
from miningtx.customers import service as customers
from miningtx.kit.db import ReadSession, WriteSession
from miningtx.kit.errors import ApiError, invalid
from miningtx.kit.ids import new_id
from miningtx.models import Customer, CustomerCredential, Operator, OperatorRole

PASSWORD_MIN_LENGTH = 10
PASSWORD_MAX_LENGTH = 256
OPERATOR_ROLES = tuple(role.value for role in OperatorRole)
TOTP_ISSUER = "MiningTX"
_TOTP_CODE = re.compile(r"^\d{6}$")

_hasher = PasswordHasher()
#: Verified against when the account does not exist, so timing does not reveal which exist.
_DUMMY_HASH = _hasher.hash("not-a-real-password-0")


def bad_credentials() -> ApiError:
    return ApiError(
        400,
        "invalid_credentials",
        "That email or username and password do not match.",
        param="password",
    )


def invalid_totp() -> ApiError:
    return ApiError(
        400,
        "invalid_totp",
        "That code is not valid. Enter the current 6-digit code.",
        param="totp_code",
    )


def totp_code_used() -> ApiError:
    return ApiError(
        400,
        "invalid_totp",
        "That code was already used. Wait for the next code and enter it.",
        param="totp_code",
    )


def totp_required() -> ApiError:
    return ApiError(
        400,
        "totp_required",
        "Enter the 6-digit code from your authenticator app.",
        param="totp_code",
    )


def weak_password() -> ApiError:
    return invalid(
        "password",
        f"Passwords are {PASSWORD_MIN_LENGTH}-{PASSWORD_MAX_LENGTH} characters.",
    )


#: What may carry a TOTP secret: a customer's credential or an operator.
TotpHolderRow = CustomerCredential | Operator


# --- passwords ---------------------------------------------------------------------------


def check_password_rules(password: str) -> None:
    if not PASSWORD_MIN_LENGTH <= len(password) <= PASSWORD_MAX_LENGTH:
        raise weak_password()


async def hash_password(password: str) -> str:
    """Argon2id hash. In a thread: hashing takes tens of milliseconds of CPU."""
    return await asyncio.to_thread(_hasher.hash, password)


async def password_matches(password_hash: str | None, password: str) -> bool:
    """True if `password` matches; with no hash, spends the same time and says False."""

    def verify() -> bool:
        try:
            return _hasher.verify(password_hash or _DUMMY_HASH, password) and (
                password_hash is not None
            )
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False

    return await asyncio.to_thread(verify)


# --- customers ---------------------------------------------------------------------------


async def sign_up(
    session: WriteSession,
    *,
    email: str,
    username: str,
    password: str,
    now: datetime,
    referral_code: str | None = None,
) -> Customer:
    """Create the customer as the API and CLI do, plus the password they sign in with."""
    check_password_rules(password)
    customer = await customers.create_customer(
        session,
        email=email,
        username=username,
        now=now,
        referral_code=referral_code or None,
    )
    session.add(
        CustomerCredential(
            customer_seq=customer.seq,
            password_hash=await hash_password(password),
            created_at=now,
            updated_at=now,
        )
    )
    await session.flush()
    return customer


@dataclass(frozen=True, slots=True)
class SignIn:
    """Who a right password belongs to, and whether a TOTP code is still owed."""

    seq: int
    totp_enabled: bool


async def authenticate_customer(
    session: ReadSession | WriteSession, identifier: str, password: str
) -> SignIn:
    """The customer whose email or username and password match; 400 otherwise."""
    identifier = identifier.strip()
    row = (
        await session.execute(
            select(Customer.seq, CustomerCredential.password_hash, CustomerCredential.totp_secret)
            .join(CustomerCredential, CustomerCredential.customer_seq == Customer.seq)
            .where(
                or_(
                    Customer.username == identifier.lower(),
                    func.lower(Customer.email) == identifier.lower(),
                )
            )
            .limit(1)
        )
    ).one_or_none()
    if not await password_matches(row.password_hash if row else None, password) or row is None:
        raise bad_credentials()
    return SignIn(row.seq, row.totp_secret is not None)


async def customer_credential(
    session: ReadSession | WriteSession, customer_seq: int, *, for_update: bool = False
) -> CustomerCredential:
    query = select(CustomerCredential).where(CustomerCredential.customer_seq == customer_seq)
    if for_update:
        query = query.with_for_update()
    return (await session.execute(query)).scalar_one()


async def set_customer_password(
    session: WriteSession, customer_seq: int, password: str, now: datetime
) -> None:
    """Give an existing customer (e.g. one made by the CLI) a dashboard password, or a new one."""
    check_password_rules(password)
    password_hash = await hash_password(password)
    credential = await session.get(CustomerCredential, customer_seq)
    if credential is None:
        session.add(
            CustomerCredential(
                customer_seq=customer_seq,
                password_hash=password_hash,
                created_at=now,
                updated_at=now,
            )
        )
    else:
        credential.password_hash = password_hash
        credential.updated_at = now
    await session.flush()


# --- operators ---------------------------------------------------------------------------


def operator_exists() -> ApiError:
    return ApiError(409, "conflict", "An operator with that email exists.", param="email")


async def create_operator(
    session: WriteSession,
    *,
    email: str,
    role: str,
    password: str,
    now: datetime,
    created_by: OperatorRef | None,
) -> Operator:
    """A console account. Emails are compared without case; roles are admin or reviewer.
    Audited with `created_by` (None: made from the shell with no operator named, such as
    the first one)."""
    email = email.strip().lower()
    if len(email) > 254 or not customers.EMAIL.match(email):
        raise invalid("email", "That is not a valid email address.")
    if role not in OPERATOR_ROLES:
        raise invalid("role", "The role is admin or reviewer.")
    check_password_rules(password)
    if await session.scalar(select(Operator.seq).where(Operator.email == email)):
        raise operator_exists()
    operator = Operator(
        id=new_id("op"),
        email=email,
        role=OperatorRole(role),
        password_hash=await hash_password(password),
        created_at=now,
    )
    session.add(operator)
    await session.flush()
    await audit.record(
        session,
        actor=created_by,
        action="operator.created",
        target=operator.id,
        before=None,
        after={"email": operator.email, "role": operator.role.value},
        now=now,
    )
    return operator


async def reset_operator_password(
    session: WriteSession, *, email: str, role: str, password: str, now: datetime
) -> Operator:
    """The operator with `email`, created if missing, with `password` (demo data)."""
    existing = await session.scalar(select(Operator).where(Operator.email == email.lower()))
    if existing is None:
        return await create_operator(
            session, email=email, role=role, password=password, now=now, created_by=None
        )
    check_password_rules(password)
    existing.password_hash = await hash_password(password)
    await session.flush()
    return existing


async def authenticate_operator(
    session: ReadSession | WriteSession, email: str, password: str
) -> SignIn:
    """The enabled operator with this email and password; 400 otherwise."""
    operator = await session.scalar(
        select(Operator).where(
            Operator.email == email.strip().lower(), Operator.disabled_at.is_(None)
        )
    )
    hashed = operator.password_hash if operator else None
    if not await password_matches(hashed, password) or operator is None:
        raise ApiError(
            400, "invalid_credentials", "That email and password do not match.", param="password"
        )
    return SignIn(operator.seq, operator.totp_secret is not None)


async def operator_by_seq(
    session: ReadSession | WriteSession, seq: int, *, for_update: bool = False
) -> Operator:
    query = select(Operator).where(Operator.seq == seq)
    if for_update:
        query = query.with_for_update()
    return (await session.execute(query)).scalar_one()


# --- TOTP --------------------------------------------------------------------------------


def new_totp_secret() -> str:
    return pyotp.random_base32()


def totp_uri(secret: str, account: str) -> str:
    """The otpauth:// URI an authenticator app scans."""
    return pyotp.TOTP(secret).provisioning_uri(name=account, issuer_name=TOTP_ISSUER)


def matching_step(secret: str, code: str, now: datetime) -> int | None:
    """The time step `code` is valid for (this one or a neighbour, for clock drift), or None."""
    code = code.strip().replace(" ", "")
    if not _TOTP_CODE.match(code):
        return None
    totp = pyotp.TOTP(secret)
    current = totp.timecode(now)
    for offset in (0, -1, 1):
        if hmac.compare_digest(totp.at(now, counter_offset=offset), code):
            return current + offset
    return None


async def accept_totp(
    session: WriteSession, holder: TotpHolderRow, code: str, now: datetime
) -> None:
    """Check `code` against the holder's secret and burn its time step: no code works twice.

    Raises 400 `totp_required` for an empty code and `invalid_totp` for a wrong or used one.
    """
    if holder.totp_secret is None:
        return
    if not code.strip():
        raise totp_required()
    step = matching_step(holder.totp_secret, code, now)
    if step is None:
        raise invalid_totp()
    model = type(holder)
    key = (
        CustomerCredential.customer_seq == holder.customer_seq
        if isinstance(holder, CustomerCredential)
        else Operator.seq == holder.seq
    )
    # Conditional on the last step, so two requests racing with one code cannot both pass.
    burned = await session.execute(
        update(model)
        .where(key, or_(model.totp_last_step.is_(None), model.totp_last_step < step))
        .values(totp_last_step=step)
        .execution_options(synchronize_session=False)
    )
    if burned.rowcount != 1:  # type: ignore[attr-defined]  # DML results carry rowcount
        raise totp_code_used()
    holder.totp_last_step = step


async def enable_totp(
    session: WriteSession,
    holder: TotpHolderRow,
    secret: str,
    code: str,
    now: datetime,
) -> None:
    """Turn two-factor on with `secret`, once `code` proves the app holds it."""
    if not code.strip():
        raise totp_required()
    step = matching_step(secret, code, now)
    if step is None:
        raise invalid_totp()
    holder.totp_secret = secret
    holder.totp_last_step = step
    if isinstance(holder, CustomerCredential):
        holder.updated_at = now
    await session.flush()


async def disable_totp(
    session: WriteSession, holder: TotpHolderRow, code: str, now: datetime
) -> None:
    """Turn two-factor off; takes a current code, so a stolen session alone cannot."""
    await accept_totp(session, holder, code, now)
    holder.totp_secret = None
    holder.totp_last_step = None
    if isinstance(holder, CustomerCredential):
        holder.updated_at = now
    await session.flush()
