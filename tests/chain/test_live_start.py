"""Live mode refuses to start without chain settings, the xpub and its own secret,
or against a node that is not the configured chain; `mtx signer addresses`."""

from __future__ import annotations

import json

import pytest
from pydantic import ValidationError

from miningtx.config import Settings
from miningtx.wallet.keys import funding_address, hot_wallet_address
from tests.chain.anvil import Chain
from tests.conftest import LIVE_REQUIREMENTS, TEST_MNEMONIC, TEST_XPUB
from tests.servers import MTX, run_command, server_environment

pytestmark = pytest.mark.slow


def live(**values: object) -> Settings:
    return Settings(_env_file=None, mode="live", **values)  # type: ignore[arg-type]


def test_live_settings_need_chains_xpub_and_a_secret() -> None:
    complete = LIVE_REQUIREMENTS | {"wallet_xpub": TEST_XPUB}
    assert live(**complete).chain("bsc") is not None

    without_chain = complete | {"chain_polygon_rpc_url": None}
    with pytest.raises(ValidationError, match="MTX_CHAIN_POLYGON_RPC_URL"):
        live(**without_chain)
    with pytest.raises(ValidationError, match="MTX_WALLET_XPUB"):
        live(**(complete | {"wallet_xpub": None}))
    with pytest.raises(ValidationError, match="MTX_SECRET_KEY"):
        live(**{k: v for k, v in complete.items() if k != "secret_key"})
    with pytest.raises(ValidationError, match="MTX_SECRET_KEY"):
        live(**(complete | {"secret_key": "short"}))


def live_environment(database_url: str, bsc: Chain, polygon: Chain, **extra: str) -> dict[str, str]:
    return server_environment(
        database_url,
        {
            "MTX_MODE": "live",
            "MTX_SECRET_KEY": str(LIVE_REQUIREMENTS["secret_key"]),
            "MTX_CHAIN_BSC_RPC_URL": bsc.node.rpc_url,
            "MTX_CHAIN_BSC_USDT_ADDRESS": bsc.token.address,
            "MTX_CHAIN_POLYGON_RPC_URL": polygon.node.rpc_url,
            "MTX_CHAIN_POLYGON_USDT_ADDRESS": polygon.token.address,
        }
        | extra,
    )


async def test_a_live_worker_checks_each_node_before_it_starts(
    database_url: str, bsc: Chain, polygon: Chain
) -> None:
    good = live_environment(database_url, bsc, polygon)
    code, out, err = await run_command(str(MTX), "worker", "--once", "--json", env=good)
    assert code == 0, err
    assert "chain" in json.loads(out)

    wrong_chain = live_environment(database_url, bsc, polygon, MTX_CHAIN_BSC_CHAIN_ID="1")
    code, _out, err = await run_command(str(MTX), "worker", "--once", env=wrong_chain)
    assert code == 1
    assert "is chain 56, not 1" in err

    no_token = live_environment(
        database_url, bsc, polygon, MTX_CHAIN_POLYGON_USDT_ADDRESS=bsc.node.accounts[2].address
    )
    code, _out, err = await run_command(str(MTX), "serve", "--port", "9", env=no_token)
    assert code == 1
    assert "no contract at" in err

    unreachable = live_environment(
        database_url,
        bsc,
        polygon,
        MTX_CHAIN_BSC_RPC_URL="http://127.0.0.1:9",
        MTX_SIGNER_MNEMONIC=TEST_MNEMONIC,
    )
    code, _out, err = await run_command(str(MTX), "signer", "run", "--once", env=unreachable)
    assert code == 1
    assert err.startswith("error: bsc:"), err
    assert TEST_MNEMONIC not in err


async def test_signer_addresses_prints_the_hot_wallet_and_funding_address(
    database_url: str,
) -> None:
    environment = server_environment(database_url, {})
    code, out, err = await run_command(str(MTX), "signer", "addresses", "--json", env=environment)
    assert code == 0, err
    expected = {"hot_wallet": hot_wallet_address(TEST_XPUB), "funding": funding_address(TEST_XPUB)}
    assert json.loads(out) == {"bsc": expected, "polygon": expected}
    assert expected["hot_wallet"] != expected["funding"]
