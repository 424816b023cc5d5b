"""Background job of the wallet domain: the chain watcher, one round per network."""

from __future__ import annotations

import structlog

from miningtx.kit.jobs import JobSpec, WorkerContext
from miningtx.wallet.chain import ChainError, open_chain
from miningtx.wallet.keys import funding_address, resolve_wallet_xpub
from miningtx.wallet.watcher import watch_network

log = structlog.get_logger(__name__)


async def watch_chains(ctx: WorkerContext) -> int:
    """One round of every configured network's watcher; returns how much changed."""
    chains = ctx.settings.chains()
    if not chains:
        return 0
    funding = funding_address(resolve_wallet_xpub(ctx.settings))
    changed = 0
    for chain in chains:
        try:
            async with open_chain(chain) as client:
                changed += await watch_network(
                    ctx.db, client, funding=funding, settings=ctx.settings
                )
        except ChainError as error:  # the node is retried next round; other networks go on
            log.warning("chain_unreachable", network=chain.network, error=str(error))
    return changed


#: Runs every round: each network's leader follows its chain head.
CHAIN_JOB = JobSpec("chain", watch_chains)
