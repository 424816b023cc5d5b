"""KYC rules: a customer submits, the operator decides, approval pays the welcome bonus once.

`unverified -> pending -> verified | rejected`, and `rejected -> pending` again. Every
transition is a guarded UPDATE on the current status, so two concurrent decisions (or
submissions) cannot both win; the bonus transfer's unique idempotency key is a second wall.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import select, update

from miningtx.audit import service as audit
from miningtx.audit.refs import OperatorRef
from miningtx.customers.service import get_customer
from miningtx.kit.db import WriteSession
from miningtx.kit.errors import ApiError, checked_reason, invalid
from miningtx.kit.money import format_amount
from miningtx.ledger import service as ledger
from miningtx.ledger.accounts import Platform, customer_available
from miningtx.models import Customer, KycStatus, TransferDirection, TransferKind
from miningtx.webhooks import outbox

#: The welcome bonus credited once, when KYC is verified: 10 USDT.
KYC_BONUS = 10_000_000
MINIMUM_AGE = 18
EARLIEST_BIRTH_DATE = date(1900, 1, 1)
#: Statuses from which a customer may submit (again).
SUBMITTABLE = (KycStatus.UNVERIFIED, KycStatus.REJECTED)

_ASSIGNED_COUNTRY_CODES = """
    AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO
    BQ BR BS BT BV BW BY BZ CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ
    DK DM DO DZ EC EE EG EH ER ES ET FI FJ FK FM FO FR GA GB GD GE GF GG GH GI GL GM GN GP
    GQ GR GS GT GU GW GY HK HM HN HR HT HU ID IE IL IM IN IO IQ IR IS IT JE JM JO JP KE KG
    KH KI KM KN KP KR KW KY KZ LA LB LC LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH MK ML
    MM MN MO MP MQ MR MS MT MU MV MW MX MY MZ NA NC NE NF NG NI NL NO NP NR NU NZ OM PA PE
    PF PG PH PK PL PM PN PR PS PT PW PY QA RE RO RS RU RW SA SB SC SD SE SG SH SI SJ SK SL
    SM SN SO SR SS ST SV SX SY SZ TC TD TF TG TH TJ TK TL TM TN TO TR TT TV TW TZ UA UG UM
    US UY UZ VA VC VE VG VI VN VU WF WS YE YT ZA ZM ZW
"""
#: ISO 3166-1 alpha-2: the 249 officially assigned codes.
COUNTRIES = frozenset(_ASSIGNED_COUNTRY_CODES.split())


def already_pending() -> ApiError:
    return ApiError(409, "conflict", "Your KYC is already under review.")


def already_verified() -> ApiError:
    return ApiError(409, "conflict", "Your KYC is already verified.")


def not_pending(customer: Customer) -> ApiError:
    return ApiError(
        409,
        "conflict",
        f"Customer {customer.id} has no KYC awaiting review (status {customer.kyc_status}).",
    )


def bonus_budget_exhausted(budget: int) -> ApiError:
    return ApiError(
        409,
        "budget_exhausted",
        f"The bonus budget holds {format_amount(budget)} USDT, less than the "
        f"{format_amount(KYC_BONUS)} USDT welcome bonus; fund it (mtx pools fund bonus) "
        "and approve again.",
    )


@dataclass(frozen=True, slots=True)
class KycDecision:
    """What an approval did: `bonus_paid` only the first time, `already_verified` after."""

    customer: Customer
    bonus_paid: bool
    already_verified: bool


def age_on(birth: date, day: date) -> int:
    """Whole years from `birth` to `day` (someone born on 29 February ages on 1 March)."""
    return day.year - birth.year - ((day.month, day.day) < (birth.month, birth.day))


async def submit_kyc(
    session: WriteSession,
    customer_seq: int,
    *,
    full_name: str,
    date_of_birth: date,
    country: str,
    document_type: str,
    document_number: str,
    now: datetime,
) -> Customer:
    """Record the customer's identity details and put them up for review (`pending`).

    Allowed from `unverified` and `rejected`; 409 `conflict` while pending or once verified.
    """
    if date_of_birth < EARLIEST_BIRTH_DATE:
        raise invalid("date_of_birth", "Dates of birth before 1900-01-01 are not accepted.")
    if age_on(date_of_birth, now.date()) < MINIMUM_AGE:
        raise invalid("date_of_birth", f"You must be at least {MINIMUM_AGE} years old.")
    if country not in COUNTRIES:
        raise invalid("country", f"{country} is not an ISO 3166-1 alpha-2 country code.")
    details: dict[str, Any] = {
        "full_name": full_name,
        "date_of_birth": date_of_birth.isoformat(),
        "country": country,
        "document_type": document_type,
        "document_number": document_number,
    }
    submitted = await session.execute(
        update(Customer)
        .where(Customer.seq == customer_seq, Customer.kyc_status.in_(SUBMITTABLE))
        .values(
            kyc_status=KycStatus.PENDING,
            kyc_details=details,
            kyc_submitted_at=now,
            kyc_reviewed_at=None,
            kyc_rejection_reason=None,
        )
        .returning(Customer.seq)
        .execution_options(synchronize_session=False)
    )
    won = submitted.first() is not None
    customer = await _reload(session, customer_seq)
    if not won:
        raise already_pending() if customer.kyc_status == KycStatus.PENDING else already_verified()
    return customer


async def approve_kyc(
    session: WriteSession, customer_id: str, now: datetime, *, operator: OperatorRef | None
) -> KycDecision:
    """Verify a pending KYC and credit the welcome bonus from the bonus budget, once;
    `operator` (None: the platform itself, e.g. demo data) is written to the audit log.

    Approving a verified customer again pays nothing and records nothing. A bonus budget
    that cannot cover the bonus raises 409 `budget_exhausted` and leaves the KYC pending:
    nothing moves.
    """
    customer = await get_customer(session, customer_id)
    # A savepoint: even a caller that swallows the refusal and commits cannot keep a
    # verified status whose bonus was never paid.
    async with session.begin_nested():
        verified = await session.execute(
            update(Customer)
            .where(Customer.seq == customer.seq, Customer.kyc_status == KycStatus.PENDING)
            .values(
                kyc_status=KycStatus.VERIFIED,
                kyc_bonus_credited=True,
                kyc_reviewed_at=now,
                kyc_rejection_reason=None,
            )
            .returning(Customer.seq)
            .execution_options(synchronize_session=False)
        )
        if verified.first() is not None:
            try:
                await ledger.post(session, [_bonus_leg(customer)], now)
            except ledger.InsufficientFunds:
                budget = (await ledger.balances(session, [Platform.BONUS]))[Platform.BONUS]
                raise bonus_budget_exhausted(budget) from None
            await outbox.emit(
                session,
                customer_seq=customer.seq,
                event_type="kyc.verified",
                data={
                    "customer": customer.id,
                    "kyc_status": KycStatus.VERIFIED,
                    "bonus": format_amount(KYC_BONUS),
                },
                now=now,
                source_key=f"{customer.id}:kyc_verified",
            )
            await audit.record(
                session,
                actor=operator,
                action="kyc.approved",
                target=customer.id,
                before={"kyc_status": KycStatus.PENDING.value},
                after={"kyc_status": KycStatus.VERIFIED.value, "bonus": format_amount(KYC_BONUS)},
                now=now,
            )
            return KycDecision(await _reload(session, customer.seq), True, False)
    customer = await _reload(session, customer.seq)
    if customer.kyc_status == KycStatus.VERIFIED:
        return KycDecision(customer, bonus_paid=False, already_verified=True)
    raise not_pending(customer)


async def reject_kyc(
    session: WriteSession,
    customer_id: str,
    now: datetime,
    reason: str | None = None,
    *,
    operator: OperatorRef | None,
) -> Customer:
    """Reject a pending KYC; the customer may then submit again."""
    reason = checked_reason(reason)
    customer = await get_customer(session, customer_id)
    rejected = await session.execute(
        update(Customer)
        .where(Customer.seq == customer.seq, Customer.kyc_status == KycStatus.PENDING)
        .values(kyc_status=KycStatus.REJECTED, kyc_reviewed_at=now, kyc_rejection_reason=reason)
        .returning(Customer.seq)
        .execution_options(synchronize_session=False)
    )
    won = rejected.first() is not None
    customer = await _reload(session, customer.seq)
    if not won:
        raise not_pending(customer)
    await audit.record(
        session,
        actor=operator,
        action="kyc.rejected",
        target=customer.id,
        before={"kyc_status": KycStatus.PENDING.value},
        after={"kyc_status": KycStatus.REJECTED.value, "reason": reason},
        now=now,
    )
    return customer


def _bonus_leg(customer: Customer) -> ledger.Leg:
    return ledger.Leg(
        debit=Platform.BONUS,
        credit=customer_available(customer.id),
        amount=KYC_BONUS,
        kind=TransferKind.BONUS,
        idempotency_key=f"{customer.id}:kyc_bonus",
        customer_seq=customer.seq,
        direction=TransferDirection.CREDIT,
        reference=customer.id,
    )


async def _reload(session: WriteSession, customer_seq: int) -> Customer:
    """The customer row as the database now holds it, replacing any stale copy in the session."""
    return (
        await session.execute(
            select(Customer)
            .where(Customer.seq == customer_seq)
            .execution_options(populate_existing=True)
        )
    ).scalar_one()
