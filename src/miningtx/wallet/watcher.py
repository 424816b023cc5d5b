"""The chain watcher: USDT deposits seen on-chain, credited once final.

A worker job. Per network, one worker at a time is the leader (a lease on the
network's `chain_cursors` row). Each round it reads the USDT Transfer logs from its
cursor (the first block not yet final) up to the head, in ranges of at most
`MTX_CHAIN_BLOCK_RANGE` blocks, and in one transaction:

- records each transfer to a customer's deposit address or to the operator's funding
  address as a `pending` deposit with its block and confirmations (except transfers
  from the network's cold address: internal movements of the platform's own USDT);
- deletes a pending deposit whose transfer is no longer in the blocks just read (its
  block left the chain in a reorg); one re-mined elsewhere is moved to its new block;
- settles each pending deposit whose block is final (`head - block + 1 >=
  confirmations`): credited once (`deposit.confirmed`), or `below_minimum`;
- moves the cursor to the first block that is not final yet.

The node is read outside any transaction; the write checks the lease is still ours
and the cursor still where we read from, so a stale leader changes nothing. The
unique (network, tx_hash, log_index) and the guarded `pending` transition keep a
transfer from ever being recorded or credited twice.
"""

from __future__ import annotations

import os
import secrets
import socket
from datetime import datetime, timedelta

import structlog
from sqlalchemy import delete, insert, select, update

from miningtx.config import Settings
from miningtx.kit.clock import utcnow
from miningtx.kit.db import Database, WriteSession
from miningtx.kit.ids import new_id
from miningtx.kit.testhooks import pause_here
from miningtx.models import (
    ChainCursor,
    Customer,
    Deposit,
    DepositAddress,
    DepositPurpose,
    DepositStatus,
)
from miningtx.wallet.chain import ChainClient, TransferLog, to_micro
from miningtx.wallet.service import settle_observed_deposit

log = structlog.get_logger(__name__)

#: How long a watcher stays the network's leader without renewing its lease.
LEASE = timedelta(seconds=30)
#: Test hook (sandbox only, `kit.testhooks`): freeze the watcher after it `read` a range's
#: transfers and before the one transaction that applies them, for a crash test to kill.
PAUSE_VARIABLE = "MTX_WATCHER_TEST_PAUSE"
#: This process's name in leases.
WATCHER_ID = f"{socket.gethostname()[:32]}:{os.getpid()}:{secrets.token_hex(4)}"


async def _claim(db: Database, client: ChainClient, head: int, me: str) -> int | None:
    """Become (or stay) the network's leader; the cursor's block, or None if another leads."""
    chain = client.chain
    now = utcnow()
    async with db.write() as session:
        exists = await session.scalar(
            select(ChainCursor.network).where(ChainCursor.network == chain.network)
        )
        if exists is None:
            start = chain.start_block
            if start is None:
                start = max(0, head - chain.confirmations + 1)
            await session.execute(
                insert(ChainCursor).values(network=chain.network, next_block=start, updated_at=now)
            )
        claimed = await session.scalar(
            update(ChainCursor)
            .where(
                ChainCursor.network == chain.network,
                (ChainCursor.leader.is_(None))
                | (ChainCursor.leader == me)
                | (ChainCursor.lease_until < now),
            )
            .values(leader=me, lease_until=now + LEASE)
            .returning(ChainCursor.next_block)
        )
    return None if claimed is None else int(claimed)


async def watch_network(
    db: Database, client: ChainClient, *, funding: str, settings: Settings
) -> int:
    """Read one range of blocks and apply it; returns changes (+1 while still behind)."""
    chain = client.chain
    head = await client.head()
    start = await _claim(db, client, head, WATCHER_ID)
    if start is None:
        return 0
    decimals = await client.decimals()
    end = min(head, start + chain.block_range - 1)
    logs = await client.transfer_logs(start, end) if start <= end else []
    final = await client.final_block(head)
    if logs:
        about = {"network": chain.network, "start": start, "end": end, "transfers": len(logs)}
        pause_here(PAUSE_VARIABLE, "read", settings, **about)
    async with db.write() as session:
        now = await db.clock.sync(session)
        still_ours = await session.scalar(
            update(ChainCursor)
            .where(
                ChainCursor.network == chain.network,
                ChainCursor.leader == WATCHER_ID,
                ChainCursor.next_block == start,
            )
            .values(lease_until=utcnow() + LEASE)
            .returning(ChainCursor.network)
        )
        if still_ours is None:
            return 0
        changed = await _apply(
            session,
            client,
            logs,
            decimals=decimals,
            funding=funding,
            window=(start, end, end == head),
            head=head,
            final=final,
            now=now,
        )
        next_block = max(start, min(end, final) + 1)
        if next_block != start:
            await session.execute(
                update(ChainCursor)
                .where(ChainCursor.network == chain.network)
                .values(next_block=next_block, updated_at=utcnow())
            )
    behind = 1 if end < head and end < final else 0
    return changed + behind


async def _apply(
    session: WriteSession,
    client: ChainClient,
    logs: list[TransferLog],
    *,
    decimals: int,
    funding: str,
    window: tuple[int, int, bool],
    head: int,
    final: int,
    now: datetime,
) -> int:
    chain = client.chain
    start, end, to_head = window
    recipients = {entry.recipient for entry in logs}
    owners: dict[str, tuple[int, str]] = {}
    if recipients:
        rows = await session.execute(
            select(DepositAddress.address, DepositAddress.customer_seq, Customer.id)
            .join(Customer, Customer.seq == DepositAddress.customer_seq)
            .where(DepositAddress.address.in_(recipients))
        )
        owners = {row.address: (row.customer_seq, row.id) for row in rows}
    # A transfer from the cold address (a refill the operator signed elsewhere) moves the
    # platform's own USDT between its tiers: never a deposit, wherever it lands.
    ours = [
        entry
        for entry in logs
        if (entry.recipient in owners or entry.recipient == funding)
        and entry.sender != chain.cold_address
    ]
    # Every pending deposit the blocks just read must show again; the rest left the chain.
    window_query = select(Deposit).where(
        Deposit.network == chain.network,
        Deposit.status == DepositStatus.PENDING,
        Deposit.block_number >= start,
    )
    if not to_head:
        window_query = window_query.where(Deposit.block_number <= end)
    pending = {(d.tx_hash, d.log_index): d for d in await session.scalars(window_query)}
    changed = 0
    seen: dict[tuple[str | None, int | None], Deposit] = {}
    for entry in ours:
        key: tuple[str | None, int | None] = (entry.tx_hash, entry.log_index)
        existing = pending.get(key)
        if existing is None:
            existing = await session.scalar(
                select(Deposit).where(
                    Deposit.network == chain.network,
                    Deposit.tx_hash == entry.tx_hash,
                    Deposit.log_index == entry.log_index,
                )
            )
            if existing is not None:
                continue  # settled already (the window starts at the first block not final)
            owner = owners.get(entry.recipient)
            existing = Deposit(
                id=new_id("dep"),
                customer_seq=owner[0] if owner else None,
                purpose=DepositPurpose.CUSTOMER if owner else DepositPurpose.FUNDING,
                network=chain.network,
                amount=to_micro(entry.raw_amount, decimals),
                raw_amount=str(entry.raw_amount),
                status=DepositStatus.PENDING,
                tx_hash=entry.tx_hash,
                log_index=entry.log_index,
                block_number=entry.block_number,
                block_hash=entry.block_hash,
                address=entry.recipient,
                confirmations=max(0, head - entry.block_number + 1),
                created_at=now,
            )
            session.add(existing)
            changed += 1
            log.info(
                "deposit_seen",
                network=chain.network,
                deposit=existing.id,
                tx_hash=entry.tx_hash,
                block=entry.block_number,
            )
        elif existing.block_hash != entry.block_hash:
            existing.block_number = entry.block_number
            existing.block_hash = entry.block_hash
            changed += 1
        existing.confirmations = max(0, head - entry.block_number + 1)
        seen[key] = existing
    gone = [d.seq for key, d in pending.items() if key not in seen]
    if gone:
        await session.execute(delete(Deposit).where(Deposit.seq.in_(gone)))
        log.warning("deposits_dropped_by_reorg", network=chain.network, count=len(gone))
        changed += len(gone)
    await session.flush()
    for deposit in seen.values():
        if deposit.block_number is None or deposit.block_number > final:
            continue
        owner_id = None
        if deposit.customer_seq is not None:
            owner_id = owners[deposit.address or ""][1]
        settled = await settle_observed_deposit(
            session,
            deposit,
            customer_id=owner_id,
            confirmations=deposit.confirmations,
            min_deposit=chain.min_deposit,
            now=now,
        )
        if settled is not None:
            changed += 1
            log.info(
                "deposit_settled",
                network=chain.network,
                deposit=settled.id,
                status=settled.status,
                amount=settled.amount,
            )
    return changed
