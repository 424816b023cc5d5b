"""Chain fixtures: one anvil per network for the session, each test on a clean chain.

`bsc_node` / `polygon_node` start the node and deploy the token once per session (only
when a test asks for that network). `bsc` / `polygon` hand the same chain to one test and
put it back afterwards (snapshot and revert: blocks, balances, nonces, pending pool,
automine and impersonation), so every test starts at the same height with no token
balances. `chain` runs a test once per network.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator

import pytest

from tests.chain.anvil import Chain, anvil_binary, deploy_token, running_anvil

BSC_CHAIN_ID = 56
POLYGON_CHAIN_ID = 137
#: USDT's decimals on each network (Binance-Peg BSC-USD and Polygon PoS USDT).
BSC_DECIMALS = 18
POLYGON_DECIMALS = 6


def require_anvil() -> None:
    """Fail in CI, skip locally, when the npm-installed anvil is missing."""
    binary = anvil_binary()
    if binary.exists():
        return
    message = f"{binary} is missing: run `npm install` in the repository root (`make test` does)"
    if os.environ.get("CI") == "true":
        pytest.fail(message)
    pytest.skip(message)


@pytest.fixture(scope="session")
async def bsc_node() -> AsyncIterator[Chain]:
    """BSC-like anvil (chain id 56) with an 18-decimal USDT, shared by the session."""
    require_anvil()
    async with running_anvil(BSC_CHAIN_ID) as node:
        yield Chain(node, await deploy_token(node, BSC_DECIMALS))


@pytest.fixture(scope="session")
async def polygon_node() -> AsyncIterator[Chain]:
    """Polygon-like anvil (chain id 137) with a 6-decimal USDT, shared by the session."""
    require_anvil()
    async with running_anvil(POLYGON_CHAIN_ID) as node:
        yield Chain(node, await deploy_token(node, POLYGON_DECIMALS))


@pytest.fixture
async def bsc(bsc_node: Chain) -> AsyncIterator[Chain]:
    """The BSC chain for one test, reverted to its post-deployment state afterwards."""
    async with bsc_node.node.isolated():
        yield bsc_node


@pytest.fixture
async def polygon(polygon_node: Chain) -> AsyncIterator[Chain]:
    """The Polygon chain for one test, reverted to its post-deployment state afterwards."""
    async with polygon_node.node.isolated():
        yield polygon_node


@pytest.fixture(params=["bsc", "polygon"])
def chain(request: pytest.FixtureRequest) -> Chain:
    """Each network in turn (test ids `[bsc]`, `[polygon]`), isolated like `bsc`/`polygon`."""
    network: Chain = request.getfixturevalue(request.param)
    return network
