"""Settings: one nested model per network read from the flat MTX_CHAIN_<N>_* variables,
money parsed once at start-up, and each network's `min_deposit` the one value the API,
the dashboard and the sandbox deposit use (the watcher's side: tests/chain/test_deposits.py)."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from pydantic import ValidationError

from miningtx.app import create_app
from miningtx.config import NetworkSettings, Settings, settings_problems
from miningtx.dashboard.customer.wallet import NETWORK_LABELS
from miningtx.kit.db import Database
from miningtx.kit.networks import NETWORKS, parse_network
from miningtx.ledger.accounts import Platform, treasury
from tests.conftest import LIVE_REQUIREMENTS, TEST_XPUB, Env, make_settings
from tests.dashboard.customer_helpers import post_form, signed_in_customer
from tests.dashboard.web import field_error
from tests.factories import make_customer
from tests.servers import MTX, run_command, server_environment


def settings(**values: object) -> Settings:
    return Settings(_env_file=None, **values)  # type: ignore[arg-type]


@pytest.fixture
def no_mtx_environment(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    """The process environment without any MTX_ variable, so a test sets its own."""
    for name in list(os.environ):
        if name.upper().startswith("MTX_"):
            monkeypatch.delenv(name)
    return monkeypatch


def test_each_network_has_its_defaults_without_any_variable(
    no_mtx_environment: pytest.MonkeyPatch,
) -> None:
    loaded = settings()
    assert set(loaded.networks) == set(NETWORKS)
    bsc, polygon = loaded.network("bsc"), loaded.network("polygon")
    assert (bsc.chain_id, bsc.confirmations, bsc.min_deposit) == (56, 15, 10_000000)
    assert (polygon.chain_id, polygon.confirmations, polygon.min_deposit) == (137, 128, 10_000000)
    assert (bsc.finality, bsc.rpc_url, bsc.start_block) == ("confirmations", None, None)
    # No node: no chain settings, and the sandbox simulates the network.
    assert loaded.chain("bsc") is None
    assert loaded.chains() == []
    assert loaded.simulates("bsc")
    with pytest.raises(ValueError, match="unknown network 'eth'"):
        loaded.network("eth")


def test_the_flat_chain_variables_fill_the_nested_model(
    no_mtx_environment: pytest.MonkeyPatch,
) -> None:
    variables = {
        "MTX_CHAIN_BSC_RPC_URL": "http://127.0.0.1:8545",
        "MTX_CHAIN_BSC_CHAIN_ID": "97",
        "MTX_CHAIN_BSC_USDT_ADDRESS": "0x55d398326f99059fF775485246999027B3197955",
        "MTX_CHAIN_BSC_CONFIRMATIONS": "7",
        "MTX_CHAIN_BSC_FINALITY": "finalized",
        "MTX_CHAIN_BSC_MIN_DEPOSIT": "5.00",
        "MTX_CHAIN_BSC_START_BLOCK": "123",
        "MTX_CHAIN_BLOCK_RANGE": "50",
        "mtx_chain_polygon_min_deposit": "2.5",  # names are case-insensitive
    }
    for name, value in variables.items():
        no_mtx_environment.setenv(name, value)
    loaded = settings()
    chain = loaded.chain("bsc")
    assert chain is not None
    assert (chain.network, chain.rpc_url, chain.chain_id, chain.usdt_address) == (
        "bsc",
        "http://127.0.0.1:8545",
        97,
        "0x55d398326f99059fF775485246999027B3197955",
    )
    assert (chain.confirmations, chain.finality, chain.min_deposit) == (7, "finalized", 5_000000)
    assert (chain.start_block, chain.block_range) == (123, 50)
    assert loaded.network("polygon").min_deposit == 2_500000
    assert loaded.chain("polygon") is None
    assert not loaded.simulates("bsc")
    assert loaded.simulates("polygon")
    assert [c.network for c in loaded.chains()] == ["bsc"]


def test_the_env_file_works_and_the_environment_and_arguments_win(
    no_mtx_environment: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text(
        "MTX_CHAIN_BSC_MIN_DEPOSIT=3.00\n"
        "MTX_CHAIN_POLYGON_MIN_DEPOSIT=4.00\n"
        "MTX_CHAIN_POLYGON_CONFIRMATIONS=64\n"
        "MTX_WITHDRAWAL_MIN=30.00\n"
    )
    from_file = Settings(_env_file=env_file)
    assert from_file.network("bsc").min_deposit == 3_000000
    assert from_file.network("polygon").min_deposit == 4_000000
    assert from_file.network("polygon").confirmations == 64
    assert from_file.withdrawal_min == 30_000000

    no_mtx_environment.setenv("MTX_CHAIN_POLYGON_MIN_DEPOSIT", "6.00")
    overridden = Settings(_env_file=env_file, chain_bsc_min_deposit="1.00")
    assert overridden.network("bsc").min_deposit == 1_000000
    assert overridden.network("polygon").min_deposit == 6_000000
    assert overridden.network("polygon").confirmations == 64


def test_money_settings_are_micro_usdt_from_start_up() -> None:
    loaded = settings(
        withdrawal_min="25.5",
        withdrawal_fee="0.000001",
        sweep_threshold="100",
        chain_bsc_min_deposit="0.5",
    )
    assert (loaded.withdrawal_min, loaded.withdrawal_fee, loaded.sweep_threshold) == (
        25_500000,
        1,
        100_000000,
    )
    assert loaded.network("bsc").min_deposit == 500000
    defaults = settings()
    assert (defaults.withdrawal_min, defaults.withdrawal_fee, defaults.sweep_threshold) == (
        20_000000,
        1_000000,
        100_000000,
    )


@pytest.mark.parametrize(
    ("values", "variable"),
    [
        ({"withdrawal_min": "twenty"}, "MTX_WITHDRAWAL_MIN"),
        ({"withdrawal_fee": "-1"}, "MTX_WITHDRAWAL_FEE"),
        ({"sweep_threshold": "1.0000001"}, "MTX_SWEEP_THRESHOLD"),
        ({"chain_bsc_min_deposit": "5,00"}, "MTX_CHAIN_BSC_MIN_DEPOSIT"),
        ({"chain_polygon_min_deposit": ""}, "MTX_CHAIN_POLYGON_MIN_DEPOSIT"),
        ({"withdrawal_fee": "20.00"}, "MTX_WITHDRAWAL_FEE must be below MTX_WITHDRAWAL_MIN"),
    ],
)
def test_an_invalid_money_setting_fails_start_up_naming_its_variable(
    values: dict[str, str], variable: str
) -> None:
    with pytest.raises(ValidationError, match=variable):
        settings(**values)


def test_an_unknown_network_is_refused() -> None:
    with pytest.raises(ValidationError, match="'bsc' or 'polygon'"):
        settings(networks={"eth": {"chain_id": 1, "confirmations": 1}})
    with pytest.raises(ValueError, match="unknown network"):
        parse_network("eth")


def test_every_network_has_a_treasury_account_and_defaults() -> None:
    """The list of networks is kit/networks.NETWORKS; the ledger and settings follow it."""
    treasuries = {account for account in Platform if account.startswith("platform:treasury:")}
    assert treasuries == {treasury(network) for network in NETWORKS}
    assert all(isinstance(settings().network(n), NetworkSettings) for n in NETWORKS)
    assert set(NETWORK_LABELS) == set(NETWORKS)


# --- one min_deposit: the API and the dashboard say what the watcher credits by ----------


@pytest.fixture
async def five_dollar_minimum(database_url: str) -> AsyncIterator[Env]:
    """The platform with MTX_CHAIN_BSC_MIN_DEPOSIT=5.00 (polygon keeps the default) and no
    node configured, so the sandbox's simulated network stands in for both."""
    configured = make_settings(database_url, chain_bsc_min_deposit="5.00")
    app = create_app(configured)
    db: Database = app.state.db
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        yield Env(configured, db, client)
    await db.dispose()


async def test_the_api_reports_each_networks_configured_minimum(
    five_dollar_minimum: Env,
) -> None:
    env = five_dollar_minimum
    alice = await make_customer(env.db, env.settings)
    minimums = {}
    for network in NETWORKS:
        answer = await env.client.get(
            "/v1/deposits/address", params={"network": network}, headers=alice.auth
        )
        assert answer.status_code == 200, answer.text
        minimums[network] = answer.json()["min_deposit"]
    assert minimums == {"bsc": "5.00", "polygon": "10.00"}

    refused = await env.client.post(
        "/v1/test_helpers/deposits",
        json={"network": "bsc", "amount": "4.999999"},
        headers=alice.auth,
    )
    assert refused.status_code == 400
    assert refused.json()["error"]["code"] == "amount_below_minimum"
    assert refused.json()["error"]["message"] == "Deposits below 5.00 USDT are not credited."
    credited = await env.client.post(
        "/v1/test_helpers/deposits", json={"network": "bsc", "amount": "5.00"}, headers=alice.auth
    )
    assert credited.status_code == 200, credited.text
    on_polygon = await env.client.post(
        "/v1/test_helpers/deposits",
        json={"network": "polygon", "amount": "5.00"},
        headers=alice.auth,
    )
    assert on_polygon.status_code == 400


async def test_the_dashboard_shows_and_applies_the_configured_minimum(
    five_dollar_minimum: Env,
) -> None:
    web = five_dollar_minimum
    await signed_in_customer(web)
    bsc = await web.client.get("/deposits?network=bsc")
    assert "Deposits below 5.00 USDT are recorded but not credited." in bsc.text
    assert "At least 5.00 USDT." in bsc.text
    polygon = await web.client.get("/deposits?network=polygon")
    assert "Deposits below 10.00 USDT are recorded but not credited." in polygon.text

    too_small = await post_form(
        web.client, "/deposits", "/deposits/sandbox", {"network": "bsc", "amount": "4.00"}
    )
    assert too_small.status_code == 400
    assert field_error(too_small, "amount") == "Deposits below 5.00 USDT are not credited."
    done = await post_form(
        web.client, "/deposits", "/deposits/sandbox", {"network": "bsc", "amount": "6.00"}
    )
    assert done.status_code == 303


def test_live_mode_refuses_private_webhook_targets_naming_the_variable() -> None:
    live = LIVE_REQUIREMENTS | {"mode": "live", "wallet_xpub": TEST_XPUB}

    with pytest.raises(ValidationError, match="MTX_WEBHOOKS_ALLOW_PRIVATE_TARGETS") as refused:
        settings(**live, webhooks_allow_private_targets=True)
    [problem] = settings_problems(refused.value)

    assert problem == (
        "live mode refuses MTX_WEBHOOKS_ALLOW_PRIVATE_TARGETS=true: webhooks would reach "
        "this network; unset it (development and tests only)"
    )
    assert not settings(**live).webhooks_allow_private_targets
    assert settings(webhooks_allow_private_targets=True).webhooks_allow_private_targets


async def test_a_live_process_with_private_webhook_targets_stops_with_one_line(
    tmp_path: Path,
) -> None:
    environment = server_environment(
        f"sqlite+aiosqlite:///{tmp_path / 'live.db'}",
        {
            "MTX_MODE": "live",
            "MTX_SECRET_KEY": str(LIVE_REQUIREMENTS["secret_key"]),
            "MTX_CHAIN_BSC_RPC_URL": str(LIVE_REQUIREMENTS["chain_bsc_rpc_url"]),
            "MTX_CHAIN_BSC_USDT_ADDRESS": str(LIVE_REQUIREMENTS["chain_bsc_usdt_address"]),
            "MTX_CHAIN_POLYGON_RPC_URL": str(LIVE_REQUIREMENTS["chain_polygon_rpc_url"]),
            "MTX_CHAIN_POLYGON_USDT_ADDRESS": str(LIVE_REQUIREMENTS["chain_polygon_usdt_address"]),
            "MTX_WEBHOOKS_ALLOW_PRIVATE_TARGETS": "true",
        },
    )

    code, out, err = await run_command(
        str(MTX), "serve", "--port", "9", env=environment, cwd=tmp_path, time_limit=60.0
    )

    assert (code, out) == (1, "")
    assert err.splitlines() == [
        "error: live mode refuses MTX_WEBHOOKS_ALLOW_PRIVATE_TARGETS=true: webhooks would "
        "reach this network; unset it (development and tests only)"
    ]
    assert not (tmp_path / "live.db").exists()  # refused before anything started
