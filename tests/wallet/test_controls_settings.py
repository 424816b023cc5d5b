"""The withdrawal-control settings: USDT amounts parsed once at start-up from the
environment, auto-approval off unless set, the address delay as seconds or ISO 8601."""

from __future__ import annotations

import os
from datetime import timedelta

import pytest
from pydantic import ValidationError

from miningtx.config import Settings
from miningtx.wallet.controls import ControlTerms


@pytest.fixture(autouse=True)
def no_mtx_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.upper().startswith("MTX_"):
            monkeypatch.delenv(name)


def test_defaults_are_documented_and_auto_approval_is_off() -> None:
    terms = ControlTerms.from_settings(Settings(_env_file=None))

    assert terms == ControlTerms(
        limit_24h=10_000_000_000,
        limit_30d=100_000_000_000,
        auto_approve_max=None,
        address_delay=timedelta(hours=24),
    )
    assert terms.auto_approves(1) is False


def test_the_environment_sets_them(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MTX_WITHDRAWAL_LIMIT_24H", "2500.50")
    monkeypatch.setenv("MTX_WITHDRAWAL_LIMIT_30D", "0")
    monkeypatch.setenv("MTX_WITHDRAWAL_AUTO_APPROVE_MAX", "100.000001")
    monkeypatch.setenv("MTX_WITHDRAWAL_ADDRESS_DELAY", "PT2H30M")

    terms = ControlTerms.from_settings(Settings(_env_file=None))

    assert (terms.limit_24h, terms.limit_30d) == (2_500_500_000, 0)
    assert terms.auto_approve_max == 100_000_001
    assert terms.auto_approves(100_000_001) is True
    assert terms.auto_approves(100_000_002) is False
    assert terms.address_delay == timedelta(hours=2, minutes=30)


def test_an_empty_auto_approve_max_is_off_and_seconds_are_a_delay(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("MTX_WITHDRAWAL_AUTO_APPROVE_MAX", "")
    monkeypatch.setenv("MTX_WITHDRAWAL_ADDRESS_DELAY", "60")

    loaded = Settings(_env_file=None)

    assert loaded.withdrawal_auto_approve_max is None
    assert loaded.withdrawal_address_delay == timedelta(minutes=1)


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("MTX_WITHDRAWAL_LIMIT_24H", "ten", "MTX_WITHDRAWAL_LIMIT_24H must be a USDT amount"),
        ("MTX_WITHDRAWAL_LIMIT_30D", "-1", "MTX_WITHDRAWAL_LIMIT_30D must be a USDT amount"),
        (
            "MTX_WITHDRAWAL_AUTO_APPROVE_MAX",
            "1.0000001",
            "MTX_WITHDRAWAL_AUTO_APPROVE_MAX must be a USDT amount",
        ),
        ("MTX_WITHDRAWAL_ADDRESS_DELAY", "-60", "MTX_WITHDRAWAL_ADDRESS_DELAY must not be"),
        ("MTX_WITHDRAWAL_ADDRESS_DELAY", "tomorrow", "MTX_WITHDRAWAL_ADDRESS_DELAY must be sec"),
    ],
)
def test_bad_values_stop_start_up_naming_the_variable(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str, message: str
) -> None:
    monkeypatch.setenv(variable, value)

    with pytest.raises(ValidationError, match=message):
        Settings(_env_file=None)
