"""The one place amounts are parsed and rendered.

Inside the platform every amount is an int of micro-USDT (0.000001 USDT). Amounts
enter and leave the API as decimal strings; nothing else converts them.
"""

from __future__ import annotations

import re
from typing import Annotated, Any

from pydantic import PlainSerializer, PlainValidator, WithJsonSchema
from pydantic_core import PydanticCustomError

UNITS_PER_USDT = 1_000_000
DECIMALS = 6
#: The largest single amount the API accepts (1,000,000,000 USDT).
MAX_AMOUNT = 1_000_000_000 * UNITS_PER_USDT

_AMOUNT = re.compile(r"^(0|[1-9]\d{0,17})(?:\.(\d{1,6}))?$")


class AmountError(ValueError):
    """An input amount that is not a positive decimal string with up to 6 decimals."""


def parse_amount(text: object) -> int:
    """Parse a positive decimal string such as "1000.50" into micro-USDT.

    Refuses non-strings, signs, exponents, NaN, zero, more than 6 decimals and
    anything above MAX_AMOUNT.
    """
    if not isinstance(text, str):
        raise AmountError('Amounts must be JSON strings such as "100.00".')
    match = _AMOUNT.match(text)
    if match is None:
        raise AmountError(
            'Amounts must be positive decimal strings with at most 6 decimals, such as "100.00".'
        )
    whole, fraction = match.group(1), match.group(2) or ""
    units = int(whole) * UNITS_PER_USDT + int(fraction.ljust(DECIMALS, "0"))
    if units == 0:
        raise AmountError("Amounts must be greater than zero.")
    if units > MAX_AMOUNT:
        raise AmountError("Amounts must not exceed 1000000000 USDT.")
    return units


def format_amount(units: int) -> str:
    """Render micro-USDT with at least 2 and at most 6 decimals: 10.00, 10.5 -> 10.50, 1.123456."""
    sign = "-" if units < 0 else ""
    whole, fraction = divmod(abs(units), UNITS_PER_USDT)
    digits = f"{fraction:06d}".rstrip("0").ljust(2, "0")
    return f"{sign}{whole}.{digits}"


def _validate(value: Any) -> int:
    try:
        return parse_amount(value)
    except AmountError as exc:
        raise PydanticCustomError("invalid_amount", str(exc)) from exc


#: Exactly what parse_amount accepts, for the OpenAPI document: no leading zeros, at most
#: 6 decimals, more than zero and at most MAX_AMOUNT (1000000000 USDT).
AMOUNT_PATTERN = (
    r"^(?:[1-9]\d{0,8}(?:\.\d{1,6})?|1000000000(?:\.0{1,6})?"
    r"|0\.(?:[1-9]\d{0,5}|0[1-9]\d{0,4}|00[1-9]\d{0,3}|000[1-9]\d{0,2}|0000[1-9]\d?|00000[1-9]))$"
)

#: A request field holding an amount: a string on the wire, micro-USDT in Python.
AmountIn = Annotated[
    int,
    PlainValidator(_validate),
    WithJsonSchema(
        {"type": "string", "pattern": AMOUNT_PATTERN, "examples": ["100.00"]},
        mode="validation",
    ),
]

#: A response field holding micro-USDT, rendered as a decimal string.
AmountOut = Annotated[
    int,
    PlainSerializer(format_amount, return_type=str),
    WithJsonSchema({"type": "string", "examples": ["2480.75"]}, mode="serialization"),
]


def format_decimal(value: int, scale: int) -> str:
    """Render an integer of 10**-scale units without trailing zeros: (2800, 3) -> "2.8"."""
    whole, fraction = divmod(value, 10**scale)
    digits = f"{fraction:0{scale}d}".rstrip("0")
    return f"{whole}.{digits}" if digits else str(whole)


def parse_decimal(text: str, scale: int) -> int:
    """Parse a non-negative decimal with at most `scale` decimals into an integer of units."""
    match = re.fullmatch(rf"(\d{{1,15}})(?:\.(\d{{1,{scale}}}))?", text.strip())
    if match is None:
        raise AmountError(f"{text!r} is not a decimal with at most {scale} decimals")
    whole, fraction = int(match.group(1)), str(match.group(2) or "")
    units: int = whole * 10**scale + int(fraction.ljust(scale, "0"))
    return units
