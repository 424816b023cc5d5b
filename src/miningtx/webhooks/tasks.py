"""The webhook delivery job: claim due deliveries, send them, record the results.

At least once, from any number of workers:

1. **Claim** up to `webhook_batch_size` due deliveries in one short transaction
   (`FOR UPDATE SKIP LOCKED` on PostgreSQL; SQLite's single writer serialises),
   counting the attempt and pushing `next_attempt_at` out by a lease. A worker killed
   mid-round leaves claims that simply fall due again when the lease ends.
2. **Send** outside any transaction (`transport.send`), at most `CONCURRENCY` at a
   time: the same bytes on every attempt, signed per Standard Webhooks with the time of
   this attempt, connecting only to the addresses vetted for it.
3. **Record** each result as soon as it comes (`service.record_results`), in a short
   transaction (results that arrive while one is being written share the next: group
   commit), each guarded by its claim (`attempts` and `pending`), so a worker whose
   lease ran out cannot overwrite a newer result.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import httpx
import structlog

from miningtx.config import Settings
from miningtx.kit.clock import utcnow
from miningtx.kit.db import Database
from miningtx.kit.jobs import JobSpec, WorkerContext
from miningtx.webhooks import repository, service
from miningtx.webhooks.attempts import Claim, Outcome
from miningtx.webhooks.retries import backoff_delay
from miningtx.webhooks.transport import CONCURRENCY, attempt_deadline, send, webhook_client

log = structlog.get_logger(__name__)

#: Added to the time a round may take, so a live claim never expires under its worker.
LEASE_MARGIN = timedelta(minutes=2)


def lease(settings: Settings) -> timedelta:
    """How long a claim is held: a whole round of waves of attempts, plus a margin."""
    waves = math.ceil(settings.webhook_batch_size / CONCURRENCY)
    return timedelta(seconds=waves * attempt_deadline(settings)) + LEASE_MARGIN


async def claim_due(db: Database, settings: Settings, now: datetime) -> list[Claim]:
    """Claim up to a batch of due deliveries for this worker, in one short transaction.

    Deliveries whose endpoint is no longer enabled are cancelled instead of claimed. An
    idle round only reads: on SQLite it must not take the single writer every second.
    """
    async with db.read() as session:
        if not await repository.any_due(session, now):
            return []
    async with db.write() as session:
        return await repository.claim_due(
            session,
            now,
            limit=settings.webhook_batch_size,
            lease_until=now + lease(settings),
            skip_locked=not db.is_sqlite,
        )


async def record(db: Database, claim: Claim, outcome: Outcome, settings: Settings) -> str:
    """Log the attempt and move the delivery on; returns the delivery's new status, or
    "stale" when another worker has claimed it since (its result is then kept)."""
    [status] = await record_many(db, [(claim, outcome)], settings)
    return status


async def record_many(
    db: Database, results: Sequence[tuple[Claim, Outcome]], settings: Settings
) -> list[str]:
    """`record` for several results in one transaction, each guarded by its own claim."""
    now = utcnow()
    async with db.write() as session:
        return await service.record_results(session, results, settings, now)


async def release(db: Database, claim: Claim, when: datetime) -> None:
    """Hand an unsent claim back (uncounted), due again at `when`."""
    async with db.write() as session:
        await repository.release_claim(session, claim, when)


class _Recorder:
    """Writes results as they come, in as few transactions as keep up (group commit).

    A result is written as soon as no other write is running; results that arrive
    meanwhile go together into the next transaction.
    """

    def __init__(self, db: Database, settings: Settings) -> None:
        self.db = db
        self.settings = settings
        self.waiting: list[tuple[Claim, Outcome]] = []
        self.writing = asyncio.Lock()

    async def add(self, claim: Claim, outcome: Outcome) -> None:
        self.waiting.append((claim, outcome))
        async with self.writing:
            batch, self.waiting = self.waiting, []
            if not batch:
                return  # another task wrote ours with its own
            try:
                await record_many(self.db, batch, self.settings)
            except Exception:  # the claims expire and these deliveries are simply sent again
                log.exception("webhook_results_not_recorded", deliveries=[c.seq for c, _ in batch])


@dataclass
class _Round:
    """One worker round: its claims' time budget and the endpoints found unreachable."""

    db: Database
    settings: Settings
    client: httpx.AsyncClient
    recorder: _Recorder
    #: perf_counter() after which an unsent claim may have expired: it is handed back.
    send_before: float
    gate: asyncio.Semaphore = field(default_factory=lambda: asyncio.Semaphore(CONCURRENCY))
    #: Endpoint seq -> when its deliveries are due again, once one attempt found it unreachable.
    unreachable: dict[int, datetime] = field(default_factory=dict)
    #: Endpoints that answered 410 in this round: what they still have is being cancelled.
    gone: set[int] = field(default_factory=set)

    async def deliver(self, claim: Claim) -> int:
        """Send one claim and record the result; 1 if an attempt was made, else 0."""
        attempted = 0
        try:
            async with self.gate:
                if claim.endpoint_seq in self.gone:
                    return 0
                skip_until = self.unreachable.get(claim.endpoint_seq)
                if skip_until is None and time.perf_counter() > self.send_before:
                    skip_until = utcnow()
                if skip_until is not None:
                    # A dead endpoint costs one timeout per round, not one per delivery.
                    await release(self.db, claim, skip_until)
                    return 0
                outcome = await send(self.client, claim, self.settings)
                attempted = 1
                if outcome.unreachable:
                    wait = timedelta(seconds=backoff_delay(claim.attempts))
                    self.unreachable.setdefault(claim.endpoint_seq, utcnow() + wait)
                if outcome.gone:
                    self.gone.add(claim.endpoint_seq)
            await self.recorder.add(claim, outcome)
        except Exception:  # one bad delivery must not stop the round; its lease retries it
            log.exception(
                "webhook_delivery_error", endpoint=claim.endpoint_id, event_id=claim.event_id
            )
        return attempted


async def deliver_due(ctx: WorkerContext) -> int:
    """Attempt every delivery that is due (one batch); returns how many attempts were made."""
    settings = ctx.settings
    claims = await claim_due(ctx.db, settings, utcnow())
    if not claims:
        return 0
    # Past this point an unsent claim's lease could end before its attempt does.
    budget = lease(settings).total_seconds() - attempt_deadline(settings)
    async with webhook_client(settings) as client:
        recorder = _Recorder(ctx.db, settings)
        work = _Round(ctx.db, settings, client, recorder, time.perf_counter() + budget)
        done = await asyncio.gather(*(work.deliver(claim) for claim in claims))
    return sum(done)


#: Runs every round: an idle round is one read of the due index.
WEBHOOKS_JOB = JobSpec("webhooks", deliver_due)
