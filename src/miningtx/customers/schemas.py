"""Request and response bodies of the account, KYC, balance and transactions routes."""

from __future__ import annotations

import re
from datetime import date
from typing import TYPE_CHECKING, Annotated, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    WithJsonSchema,
)
from pydantic_core import PydanticCustomError

from miningtx.customers.kyc import COUNTRIES
from miningtx.kit.clock import Timestamp
from miningtx.kit.enums import ApiEnum, OneOf
from miningtx.kit.money import AmountOut
from miningtx.models import KycStatus, TransferDirection, TransferKind

#: The ledger kinds a customer sees in their history, in the documented order; the other
#: kinds move platform money only.
TRANSACTION_TYPES = (
    TransferKind.DEPOSIT,
    TransferKind.WITHDRAWAL,
    TransferKind.REWARD,
    TransferKind.CONTRACT,
    TransferKind.STAKE,
    TransferKind.STAKE_PAYOUT,
    TransferKind.BONUS,
    TransferKind.PARTNER_REWARD,
    TransferKind.ADJUSTMENT,
)
# The type checker sees the enum, pydantic only these of its values (see kit/enums).
if TYPE_CHECKING:
    TransactionType = TransferKind
else:
    TransactionType = Annotated[str, OneOf(TransferKind, TRANSACTION_TYPES)]


class AccountOut(BaseModel):
    id: str = Field(examples=["usr_8Kd2..."])
    username: str = Field(examples=["satoshi"])
    email: str = Field(examples=["sat@example.com"])
    kyc_status: ApiEnum[KycStatus]
    kyc_bonus_credited: bool
    referral_code: str = Field(examples=["SATOSHI16"])
    created_at: Timestamp


class BalanceOut(BaseModel):
    currency: Literal["USDT"] = "USDT"
    available: AmountOut
    in_contracts: AmountOut = Field(description="Price sum of your active mining contracts.")
    total_rewards: AmountOut = Field(description="All mining rewards credited to you so far.")
    in_stakes: AmountOut = Field(description="Amounts locked in your active stakes.")
    pending_withdrawals: AmountOut = Field(
        description="Withdrawals requested but not yet sent on-chain."
    )


class TransactionOut(BaseModel):
    id: str = Field(examples=["tx_1a..."])
    type: TransactionType
    amount: AmountOut = Field(description="Always positive; `direction` says which way it moved.")
    direction: ApiEnum[TransferDirection]
    date: date
    created_at: Timestamp
    reference: str | None = Field(description="The object behind it, such as a ct_ or dep_ id.")


class TransactionsOut(BaseModel):
    data: list[TransactionOut]
    has_more: bool
    next_cursor: str | None


DocumentType = Literal["passport", "national_id", "driving_licence"]
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_COUNTRY = re.compile(r"^[A-Z]{2}$")
_DOCUMENT_NUMBER = re.compile(r"^[A-Z0-9-]{4,32}$")


def _printable(value: str) -> str:
    if not value.isprintable():
        raise PydanticCustomError("printable", "Names may not contain control characters.")
    return value


def _iso_date(value: object) -> date:
    """Only a "YYYY-MM-DD" string: no timestamps, no datetimes, no numbers."""
    if not isinstance(value, str) or not _ISO_DATE.match(value):
        raise PydanticCustomError("iso_date", "Dates must be strings of the form YYYY-MM-DD.")
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise PydanticCustomError("iso_date", "That is not a calendar date.") from None


def _country(value: str) -> str:
    if not _COUNTRY.match(value):
        raise PydanticCustomError(
            "country", "Countries are ISO 3166-1 alpha-2 codes of two uppercase letters, like JP."
        )
    return value


def _document_number(value: str) -> str:
    if not _DOCUMENT_NUMBER.match(value):
        raise PydanticCustomError(
            "document_number", "Document numbers are 4-32 characters of A-Z, 0-9 and -."
        )
    return value


class KycIn(BaseModel):
    """The identity details a customer submits for review."""

    model_config = ConfigDict(extra="forbid")

    full_name: Annotated[
        str,
        StringConstraints(strip_whitespace=True, min_length=2, max_length=100),
        AfterValidator(_printable),
    ] = Field(examples=["Satoshi Nakamoto"])
    date_of_birth: Annotated[
        date,
        BeforeValidator(_iso_date),
        WithJsonSchema({"type": "string", "format": "date", "examples": ["1975-04-05"]}),
    ] = Field(description="YYYY-MM-DD; you must be at least 18.")
    country: Annotated[str, AfterValidator(_country)] = Field(
        description="ISO 3166-1 alpha-2 code.",
        examples=["JP"],
        json_schema_extra={
            "pattern": _COUNTRY.pattern,
            "enum": [*sorted(COUNTRIES)],  # what kyc.submit_kyc accepts
        },
    )
    document_type: DocumentType
    document_number: Annotated[str, AfterValidator(_document_number)] = Field(
        examples=["TK1234567"], json_schema_extra={"pattern": _DOCUMENT_NUMBER.pattern}
    )
