"""Delivering queued webhook events: claim, sign, send, record.

At least once, from any number of workers:

1. **Claim** up to `webhook_batch_size` due deliveries in one short transaction
   (`FOR UPDATE SKIP LOCKED` on PostgreSQL; SQLite's single writer serialises),
   counting the attempt and pushing `next_attempt_at` out by a lease. A worker killed
   mid-round leaves claims that simply fall due again when the lease ends.
2. **Send** outside any transaction, at most `CONCURRENCY` at a time: the same bytes
   on every attempt, signed per Standard Webhooks with the time of this attempt.
   Every attempt re-checks the target's addresses and connects only to those.
3. **Record** each result as soon as it comes, in a short transaction (results that
   arrive while one is being written share the next: group commit), each guarded by
   its claim (`attempts` and `pending`), so a worker whose lease ran out cannot
   overwrite a newer result.

2xx delivers; 410 disables the endpoint; anything else (other statuses, redirects,
timeouts, refused targets, dropped connections) retries with exponential backoff
and full jitter, or after `Retry-After` on 429/503, until `webhook_retry_window_hours`
after the delivery was queued; then it has failed.
"""

from __future__ import annotations

import asyncio
import contextvars
import email.utils
import functools
import json
import math
import random
import ssl
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import httpcore
import httpx
import structlog
from sqlalchemy import ColumnElement, and_, bindparam, exists, insert, select, update
from standardwebhooks.webhooks import Webhook

from miningtx.config import Settings
from miningtx.kit.clock import utcnow
from miningtx.kit.db import Database, WriteSession
from miningtx.models import Event, WebhookAttempt, WebhookDelivery, WebhookEndpoint
from miningtx.webhooks import service, urls
from miningtx.webhooks.outbox import payload

if TYPE_CHECKING:
    from miningtx.worker import WorkerContext

log = structlog.get_logger(__name__)

USER_AGENT = "MiningTX-Webhooks/1.0"
#: Requests in flight at once per worker round.
CONCURRENCY = 10
#: Exponential backoff: up to 30 s after the first failure, doubling, at most 6 hours.
BACKOFF_BASE = 30.0
BACKOFF_CAP = 6 * 3600.0
#: Never retry sooner than this, even when the receiver asks for `Retry-After: 0`.
MIN_RETRY_DELAY = 1.0
#: Statuses whose `Retry-After` we honour.
RETRY_AFTER_STATUSES = frozenset({429, 503})
#: Response bytes read (and thrown away) so the connection can be reused; more is not read.
RESPONSE_READ_LIMIT = 64 * 1024
#: Text columns (`last_error`, `webhook_attempts.error`, `disabled_reason`) hold 200.
ERROR_LENGTH = 200
#: Added to the time a round may take, so a live claim never expires under its worker.
LEASE_MARGIN = timedelta(minutes=2)

#: The vetted addresses per host for the delivery running in this task; None: no pinning.
_pinned: contextvars.ContextVar[Mapping[str, Sequence[str]] | None] = contextvars.ContextVar(
    "webhook_pinned_addresses", default=None
)


class _PinnedBackend(httpcore.AsyncNetworkBackend):
    """Connects to the addresses the delivery vetted instead of resolving the host again,
    so DNS cannot change between the check and the connection (rebinding)."""

    def __init__(self) -> None:
        self._inner = httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,  # noqa: ASYNC109  # httpcore's interface
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        pins = _pinned.get()
        if pins is None:
            return await self._inner.connect_tcp(host, port, timeout, local_address, socket_options)
        addresses = pins.get(host)
        if not addresses:
            raise httpcore.ConnectError(f"no vetted address for {host}")
        failure: Exception | None = None
        for address in addresses:
            try:
                return await self._inner.connect_tcp(
                    address, port, timeout, local_address, socket_options
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as error:
                failure = error
        assert failure is not None
        raise failure

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,  # noqa: ASYNC109  # httpcore's interface
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        raise httpcore.ConnectError("webhooks are never sent to a unix socket")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


class PinnedTransport(httpx.AsyncHTTPTransport):
    """httpx's transport with a connection pool that connects through `_PinnedBackend`."""

    def __init__(self, ssl_context: ssl.SSLContext, limits: httpx.Limits) -> None:
        super().__init__(verify=ssl_context, limits=limits, trust_env=False)
        # httpx has no option for the network backend; the pool it built is replaced by the
        # same pool with ours (httpx maps the pool's errors to its own exceptions as usual).
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=ssl_context,
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            network_backend=_PinnedBackend(),
        )


@functools.cache
def _ssl_context() -> ssl.SSLContext:
    """One verifying TLS context per process: loading the CA bundle takes milliseconds."""
    return httpx.create_ssl_context()


def timeouts(settings: Settings) -> httpx.Timeout:
    return httpx.Timeout(
        connect=settings.webhook_connect_timeout,
        read=settings.webhook_read_timeout,
        write=settings.webhook_read_timeout,
        pool=settings.webhook_connect_timeout,
    )


def attempt_deadline(settings: Settings) -> float:
    """Seconds one attempt may take in all: resolving, connecting, sending, answering."""
    return 2 * settings.webhook_connect_timeout + 2 * settings.webhook_read_timeout + 1.0


def lease(settings: Settings) -> timedelta:
    """How long a claim is held: a whole round of waves of attempts, plus a margin."""
    waves = math.ceil(settings.webhook_batch_size / CONCURRENCY)
    return timedelta(seconds=waves * attempt_deadline(settings)) + LEASE_MARGIN


def webhook_client(settings: Settings) -> httpx.AsyncClient:
    """The client deliveries are sent with: no redirects, no proxies from the environment,
    short timeouts, connections only to vetted addresses."""
    return httpx.AsyncClient(
        transport=PinnedTransport(
            _ssl_context(),
            httpx.Limits(max_connections=CONCURRENCY, max_keepalive_connections=CONCURRENCY),
        ),
        follow_redirects=False,
        timeout=timeouts(settings),
        trust_env=False,
    )


def signed_headers(secret: str, event_id: str, body: str, moment: datetime) -> dict[str, str]:
    """Standard Webhooks headers for one attempt; `X-MiningTX-Signature` repeats the signature."""
    timestamp = int(moment.timestamp())
    signature = Webhook(secret).sign(event_id, datetime.fromtimestamp(timestamp, UTC), body)
    return {
        "content-type": "application/json",
        "user-agent": USER_AGENT,
        "webhook-id": event_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": signature,
        "x-miningtx-signature": signature,
    }


def backoff_delay(attempts: int) -> float:
    """Seconds before retrying after failed attempt number `attempts` (1-based): full jitter
    over an exponentially growing ceiling, so failing receivers are not hit in lockstep."""
    ceiling = min(BACKOFF_CAP, BACKOFF_BASE * 2.0 ** min(attempts - 1, 32))
    return max(MIN_RETRY_DELAY, random.uniform(0.0, ceiling))


def retry_after_seconds(value: str | None, now: datetime) -> float | None:
    """A `Retry-After` header (seconds or an HTTP date) as seconds from `now`, if valid."""
    if value is None:
        return None
    value = value.strip()
    if value.isdigit():
        return float(min(int(value), 10**9))
    try:
        moment = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return max(0.0, (moment - now).total_seconds())


@dataclass(frozen=True, slots=True)
class Claim:
    """A delivery this worker claimed, with everything needed to send it."""

    seq: int
    #: The attempt number this claim is; also its guard when recording the result.
    attempts: int
    created_at: datetime
    endpoint_seq: int
    endpoint_id: str
    url: str
    secret: str
    event_id: str
    event_type: str
    #: The JSON body: rendered from the stored event, so identical on every attempt.
    body: str


@dataclass(frozen=True, slots=True)
class Outcome:
    """What one attempt got back."""

    attempted_at: datetime
    latency_ms: int
    status_code: int | None = None
    error: str | None = None
    retry_after: float | None = None
    #: The endpoint could not be reached at all (refused, resolved nowhere, timed out).
    unreachable: bool = False

    @property
    def delivered(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300

    @property
    def gone(self) -> bool:
        return self.status_code == 410


def render_body(event: Event) -> str:
    """The exact request body of an event: compact JSON of `outbox.payload`."""
    return json.dumps(payload(event), separators=(",", ":"))


async def claim_due(db: Database, settings: Settings, now: datetime) -> list[Claim]:
    """Claim up to a batch of due deliveries for this worker, in one short transaction.

    Deliveries whose endpoint is no longer enabled are cancelled instead of claimed. An
    idle round only reads: on SQLite it must not take the single writer every second.
    """
    async with db.read() as session:
        if await session.scalar(_ANY_DUE, {"now": now}) is None:
            return []
    async with db.write() as session:
        due = (
            select(WebhookDelivery.seq)
            .where(WebhookDelivery.status == "pending", WebhookDelivery.next_attempt_at <= now)
            .order_by(WebhookDelivery.next_attempt_at, WebhookDelivery.seq)
            .limit(settings.webhook_batch_size)
        )
        if not db.is_sqlite:
            # Workers racing for the same rows each take different ones instead of waiting.
            due = due.with_for_update(skip_locked=True)
        seqs = list(await session.scalars(due))
        if not seqs:
            return []
        await session.execute(
            update(WebhookDelivery)
            .where(WebhookDelivery.seq.in_(seqs))
            .values(attempts=WebhookDelivery.attempts + 1, next_attempt_at=now + lease(settings))
            .execution_options(synchronize_session=False)
        )
        rows = await session.execute(
            select(
                WebhookDelivery.seq,
                WebhookDelivery.attempts,
                WebhookDelivery.created_at,
                WebhookEndpoint.seq,
                WebhookEndpoint.id,
                WebhookEndpoint.url,
                WebhookEndpoint.secret,
                WebhookEndpoint.status,
                Event,
            )
            .join(WebhookEndpoint, WebhookEndpoint.seq == WebhookDelivery.endpoint_seq)
            .join(Event, Event.seq == WebhookDelivery.event_seq)
            .where(WebhookDelivery.seq.in_(seqs))
            .order_by(WebhookDelivery.next_attempt_at, WebhookDelivery.seq)
        )
        claims: list[Claim] = []
        orphaned: list[int] = []
        for seq, attempts, created_at, ep_seq, ep_id, url, secret, status, event in rows:
            if status != "enabled":
                orphaned.append(seq)  # queued by a transaction that raced the endpoint's end
                continue
            claims.append(
                Claim(
                    seq=seq,
                    attempts=attempts,
                    created_at=created_at,
                    endpoint_seq=ep_seq,
                    endpoint_id=ep_id,
                    url=url,
                    secret=secret,
                    event_id=event.id,
                    event_type=event.type,
                    body=render_body(event),
                )
            )
        if orphaned:
            await session.execute(
                update(WebhookDelivery)
                .where(WebhookDelivery.seq.in_(orphaned))
                .values(status="cancelled")
                .execution_options(synchronize_session=False)
            )
        return claims


_ANY_DUE = (
    select(WebhookDelivery.seq)
    .where(
        WebhookDelivery.status == "pending",
        WebhookDelivery.next_attempt_at
        <= bindparam("now", type_=WebhookDelivery.next_attempt_at.type),
    )
    .limit(1)
)


def _clip(text: str) -> str:
    return text if len(text) <= ERROR_LENGTH else text[: ERROR_LENGTH - 3] + "..."


def _elapsed_ms(started: float) -> int:
    return round((time.perf_counter() - started) * 1000)


async def send(client: httpx.AsyncClient, claim: Claim, settings: Settings) -> Outcome:
    """Make one attempt to deliver `claim`; never raises for anything the receiver does."""
    attempted_at = utcnow()
    started = time.perf_counter()
    try:
        async with asyncio.timeout(attempt_deadline(settings)):
            target = await urls.vet(
                claim.url, settings, resolve_timeout=settings.webhook_connect_timeout
            )
            headers = signed_headers(claim.secret, claim.event_id, claim.body, attempted_at)
            token = _pinned.set({target.host: target.addresses} if target.addresses else None)
            try:
                async with client.stream(
                    "POST", claim.url, content=claim.body.encode(), headers=headers
                ) as response:
                    read = 0
                    async for chunk in response.aiter_raw():
                        read += len(chunk)
                        if read >= RESPONSE_READ_LIMIT:
                            break
            finally:
                _pinned.reset(token)
    except (urls.UnsafeUrl, httpx.HTTPError, TimeoutError) as error:
        text, unreachable = _describe(error, settings)
        return Outcome(
            attempted_at=attempted_at,
            latency_ms=_elapsed_ms(started),
            error=_clip(text),
            unreachable=unreachable,
        )
    except Exception as error:  # a bug or something exotic: logged, then retried as a failure
        log.exception("webhook_attempt_error", endpoint=claim.endpoint_id, event_id=claim.event_id)
        return Outcome(
            attempted_at=attempted_at,
            latency_ms=_elapsed_ms(started),
            error=_clip(f"internal error: {type(error).__name__}"),
        )
    status = response.status_code
    error_text = None
    if 300 <= status < 400:
        error_text = f"redirect to {response.headers.get('location', '?')} not followed"
    retry_after = (
        retry_after_seconds(response.headers.get("retry-after"), attempted_at)
        if status in RETRY_AFTER_STATUSES
        else None
    )
    return Outcome(
        attempted_at=attempted_at,
        latency_ms=_elapsed_ms(started),
        status_code=status,
        error=_clip(error_text) if error_text else None,
        retry_after=retry_after,
    )


def _describe(error: Exception, settings: Settings) -> tuple[str, bool]:
    """The attempt log's text for a failure without an answer, and whether it means the
    endpoint cannot be reached (its other deliveries then wait instead of piling up)."""
    if isinstance(error, urls.UnsafeUrl):
        text = f"refused: {error}"
    elif isinstance(error, httpx.ConnectTimeout):
        text = f"timeout: could not connect within {settings.webhook_connect_timeout:g} s"
    elif isinstance(error, httpx.ReadTimeout):
        text = f"timeout: no answer within {settings.webhook_read_timeout:g} s"
    elif isinstance(error, httpx.TimeoutException):
        text = f"timeout: {type(error).__name__}"
    elif isinstance(error, TimeoutError):
        text = f"timeout: no complete answer within {attempt_deadline(settings):g} s"
    elif isinstance(error, httpx.ConnectError):
        text = f"connection failed: {error}"
    elif isinstance(error, httpx.RemoteProtocolError):
        text = f"connection dropped: {error}"
    else:
        text = f"{type(error).__name__}: {error}"
    unreachable = isinstance(
        error, urls.UnsafeUrl | httpx.TimeoutException | TimeoutError | httpx.ConnectError
    )
    return text, unreachable


def next_attempt_at(
    claim: Claim, outcome: Outcome, settings: Settings, now: datetime
) -> datetime | None:
    """When to retry a failed attempt, or None when the retry window is over (give up).

    The last retry happens at the window's end at the latest, however long the backoff
    or `Retry-After`.
    """
    window_end = claim.created_at + timedelta(hours=settings.webhook_retry_window_hours)
    if now >= window_end:
        return None
    delay = (
        outcome.retry_after if outcome.retry_after is not None else backoff_delay(claim.attempts)
    )
    return min(now + timedelta(seconds=max(MIN_RETRY_DELAY, delay)), window_end)


def _claimed(seq: Any, attempts: Any) -> tuple[ColumnElement[bool], ...]:
    """The guard of every result: the delivery is still pending under this claim."""
    return (
        WebhookDelivery.seq == seq,
        WebhookDelivery.attempts == attempts,
        WebhookDelivery.status == "pending",
    )


#: Delivered results are written with one executemany: the common case, kept cheap.
_MARK_DELIVERED = (
    update(WebhookDelivery)
    .where(*_claimed(bindparam("b_seq"), bindparam("b_attempts")))
    .values(
        status="delivered",
        delivered_at=bindparam("b_now"),
        last_status_code=bindparam("b_status_code"),
        last_error=None,
    )
)


async def record(db: Database, claim: Claim, outcome: Outcome, settings: Settings) -> str:
    """Log the attempt and move the delivery on; returns the delivery's new status, or
    "stale" when another worker has claimed it since (its result is then kept)."""
    [status] = await record_many(db, [(claim, outcome)], settings)
    return status


async def record_many(
    db: Database, results: Sequence[tuple[Claim, Outcome]], settings: Settings
) -> list[str]:
    """`record` for several results in one transaction, each guarded by its own claim.

    The status of a delivered result reads "delivered" even if its claim had expired:
    the guard keeps the newer result, only the log line cannot tell.
    """
    now = utcnow()
    statuses: list[str] = []
    async with db.write() as session:
        connection = await session.connection()
        await connection.execute(
            insert(WebhookAttempt),
            [
                {
                    "delivery_seq": claim.seq,
                    "attempted_at": outcome.attempted_at,
                    "status_code": outcome.status_code,
                    "latency_ms": outcome.latency_ms,
                    "error": outcome.error,
                }
                for claim, outcome in results
            ],
        )
        delivered = [
            {
                "b_seq": claim.seq,
                "b_attempts": claim.attempts,
                "b_now": now,
                "b_status_code": outcome.status_code,
            }
            for claim, outcome in results
            if outcome.delivered
        ]
        if delivered:
            await connection.execute(_MARK_DELIVERED, delivered)
        for claim, outcome in results:
            if outcome.delivered:
                statuses.append("delivered")
                _log_result(claim, outcome, "delivered", None)
            else:
                statuses.append(await _record_failure(session, claim, outcome, settings, now))
    return statuses


async def _record_failure(
    session: WriteSession, claim: Claim, outcome: Outcome, settings: Settings, now: datetime
) -> str:
    """Schedule the retry, give up, or (410) cancel and disable; "stale" if not ours."""
    values: dict[str, object] = {
        "last_status_code": outcome.status_code,
        "last_error": outcome.error,
    }
    retry_at = None
    if outcome.gone:
        values["status"] = "cancelled"
    else:
        retry_at = next_attempt_at(claim, outcome, settings, now)
        values |= {"status": "failed"} if retry_at is None else {"next_attempt_at": retry_at}
    matched = (
        await session.execute(
            update(WebhookDelivery)
            .where(*_claimed(claim.seq, claim.attempts))
            .values(**values)
            .returning(WebhookDelivery.seq)
            .execution_options(synchronize_session=False)
        )
    ).first()
    if matched is None:
        return "stale"
    if outcome.gone:
        await _disable(session, claim, "The endpoint answered 410 Gone.")
    elif retry_at is None:
        await _disable_if_dead(session, claim, settings)
    status = str(values.get("status", "pending"))
    _log_result(claim, outcome, status, retry_at)
    return status


async def _disable(session: WriteSession, claim: Claim, reason: str) -> None:
    if await service.disable_endpoint(session, claim.endpoint_seq, reason):
        log.warning("webhook_endpoint_disabled", endpoint=claim.endpoint_id, reason=reason)


async def _disable_if_dead(session: WriteSession, claim: Claim, settings: Settings) -> None:
    """Disable the endpoint when nothing at all reached it during the whole retry window."""
    succeeded = await session.scalar(
        select(
            exists().where(
                and_(
                    WebhookDelivery.endpoint_seq == claim.endpoint_seq,
                    WebhookDelivery.status == "delivered",
                    WebhookDelivery.delivered_at >= claim.created_at,
                )
            )
        )
    )
    if not succeeded:
        hours = f"{settings.webhook_retry_window_hours:g}"
        await _disable(session, claim, f"No delivery succeeded for {hours} hours.")


def _log_result(claim: Claim, outcome: Outcome, status: str, retry_at: datetime | None) -> None:
    fields = {
        "endpoint": claim.endpoint_id,
        "event_id": claim.event_id,
        "attempt": claim.attempts,
        "status_code": outcome.status_code,
        "latency_ms": outcome.latency_ms,
    }
    if status == "delivered":
        log.info("webhook_delivered", **fields)
    elif status == "failed":
        log.warning("webhook_delivery_failed", error=outcome.error, **fields)
    else:
        log.info(
            "webhook_attempt_failed",
            error=outcome.error,
            next_attempt_at=retry_at.isoformat() if retry_at else None,
            **fields,
        )


async def release(db: Database, claim: Claim, when: datetime) -> None:
    """Hand an unsent claim back (uncounted), due again at `when`."""
    async with db.write() as session:
        await session.execute(
            update(WebhookDelivery)
            .where(*_claimed(claim.seq, claim.attempts))
            .values(attempts=WebhookDelivery.attempts - 1, next_attempt_at=when)
            .execution_options(synchronize_session=False)
        )


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
