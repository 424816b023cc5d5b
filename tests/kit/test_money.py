"""Amount parsing and rendering: the only conversion between strings and micro-USDT."""

from __future__ import annotations

import pytest

from miningtx.kit.money import AmountError, format_amount, format_decimal, parse_amount


@pytest.mark.parametrize(
    ("text", "units"),
    [
        ("1", 1_000_000),
        ("10.00", 10_000_000),
        ("2480.75", 2_480_750_000),
        ("0.000001", 1),
        ("10.123456", 10_123_456),
        ("1000000000", 1_000_000_000_000_000),
    ],
)
def test_parse_amount_accepts_decimal_strings(text: str, units: int) -> None:
    assert parse_amount(text) == units


@pytest.mark.parametrize(
    "value",
    [
        100,
        1.5,
        None,
        "-1",
        "0",
        "0.000000",
        "1e3",
        "NaN",
        "Infinity",
        "1.1234567",
        "1000000000.000001",
        "1000000000000000",
        " 1",
        "1.",
        ".5",
        "01",
        "+1",
        "1,5",
        "",
    ],
)
def test_parse_amount_refuses_everything_else(value: object) -> None:
    with pytest.raises(AmountError):
        parse_amount(value)


@pytest.mark.parametrize(
    ("units", "text"),
    [
        (0, "0.00"),
        (10_000_000, "10.00"),
        (10_500_000, "10.50"),
        (10_123_456, "10.123456"),
        (6_670_000, "6.67"),
        (1, "0.000001"),
        (-2_600_000_000, "-2600.00"),
    ],
)
def test_format_amount_keeps_two_to_six_decimals(units: int, text: str) -> None:
    assert format_amount(units) == text


def test_format_decimal_drops_trailing_zeros() -> None:
    assert format_decimal(2_800, 3) == "2.8"
    assert format_decimal(98_000, 3) == "98"
    assert format_decimal(36_400, 3) == "36.4"
