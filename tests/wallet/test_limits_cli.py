"""`mtx customers limits show|set|clear`: --json output, one-line errors, and the API
seeing the result (the limits' effect on requests: tests/wallet/test_limits.py)."""

from __future__ import annotations

import asyncio
from pathlib import Path

from miningtx.cli import app
from tests.operator_cli import api, mtx, mtx_fails, runner


def test_operator_sets_shows_and_clears_a_customers_limits(sqlite_env: Path) -> None:
    customer = mtx("customers", "create", "--email", "lim@example.com", "--username", "limits")
    key = mtx("keys", "create", "--customer", customer["id"])["key"]

    shown = mtx("customers", "limits", "show", customer["id"])
    day = mtx("customers", "limits", "set", customer["id"], "--24h", "150.50")
    both = mtx("customers", "limits", "set", customer["id"], "--30d", "0")
    cleared = mtx("customers", "limits", "clear", customer["id"])

    assert shown == {
        "customer": customer["id"],
        "custom": False,
        "remaining": "10000.00",
        "rolling_24h": {
            "limit": "10000.00",
            "used": "0.00",
            "remaining": "10000.00",
            "oldest_leaves_at": None,
        },
        "rolling_30d": {
            "limit": "100000.00",
            "used": "0.00",
            "remaining": "100000.00",
            "oldest_leaves_at": None,
        },
    }
    assert (day["custom"], day["remaining"], day["rolling_24h"]["limit"]) == (
        True,
        "150.50",
        "150.50",
    )
    assert (both["rolling_24h"]["limit"], both["rolling_30d"]["limit"]) == ("150.50", "0.00")
    assert both["remaining"] == "0.00"
    assert cleared == shown
    limits = asyncio.run(api(key, "GET", "/v1/withdrawals/limits"))
    assert limits.json()["custom"] is False

    text = runner.invoke(app, ["customers", "limits", "show", customer["id"]])
    assert text.exit_code == 0
    assert "10000.00 USDT can be withdrawn now" in text.stdout
    assert mtx_fails("customers", "limits", "set", customer["id"]) == (
        "error: give --24h, --30d or both"
    )
    assert mtx_fails("customers", "limits", "set", customer["id"], "--24h", "-5").startswith(
        "error: limits are USDT amounts"
    )
    assert mtx_fails("customers", "limits", "set", customer["id"], "--24h", "1.1234567").startswith(
        "error: limits are USDT amounts"
    )
    assert mtx_fails("customers", "limits", "show", "usr_missing") == (
        "error: No customer usr_missing."
    )
