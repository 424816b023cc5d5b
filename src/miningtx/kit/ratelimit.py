"""Fixed-window rate limits per API key and per client IP, via the `limits` library.

In memory by default; in Redis when MTX_REDIS_URL is set, so every API process
shares one window per key.

While Redis is out of reach the API keeps answering: each process counts in its own
memory (the same limit per process, so at most N times the limit across N processes)
until Redis answers again. The switch is logged once each way
(`rate_limiter_redis_unavailable`, `rate_limiter_redis_available`) and shown by the
`mtx_ratelimit_redis_up` gauge. While on memory, one request per PROBE_INTERVAL tries
Redis again; Redis calls have short time limits, so a hung Redis delays a request by
at most REDIS_TIMEOUT.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass

import structlog
from limits import RateLimitItem, parse
from limits.aio.storage import MemoryStorage, RedisStorage
from limits.aio.strategies import FixedWindowRateLimiter
from limits.errors import StorageError
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff

from miningtx.config import Settings
from miningtx.kit import metrics

log = structlog.get_logger(__name__)

#: Seconds between two attempts to get back to Redis while counting in memory.
PROBE_INTERVAL = 2.0
#: Seconds a Redis connect or command may take before the request counts in memory.
REDIS_TIMEOUT = 0.5


@dataclass(frozen=True, slots=True)
class Verdict:
    allowed: bool
    limit: int
    remaining: int
    #: When the window resets, as unix time (float, exact).
    reset_time: float

    @property
    def reset_at(self) -> int:
        return math.ceil(self.reset_time)

    def headers(self) -> list[tuple[bytes, bytes]]:
        return [
            (b"x-ratelimit-limit", str(self.limit).encode()),
            (b"x-ratelimit-remaining", str(self.remaining).encode()),
            (b"x-ratelimit-reset", str(self.reset_at).encode()),
        ]

    @property
    def retry_after(self) -> int:
        return max(1, math.ceil(self.reset_time - time.time()))


class RateLimiter:
    def __init__(self, settings: Settings, monotonic: Callable[[], float] = time.monotonic) -> None:
        self._local = FixedWindowRateLimiter(MemoryStorage())
        self._shared: FixedWindowRateLimiter | None = None
        if settings.redis_url:
            storage = RedisStorage(
                "async+" + settings.redis_url,
                implementation="redispy",
                key_prefix="mtx",
                wrap_exceptions=True,
                socket_connect_timeout=REDIS_TIMEOUT,
                socket_timeout=REDIS_TIMEOUT,
                # One try: the fallback, not redis-py's backoff, is what keeps requests going.
                retry=Retry(NoBackoff(), 0),  # type: ignore[arg-type]  # passed to redis-py
            )
            self._shared = FixedWindowRateLimiter(storage)
            metrics.set_ratelimit_redis_up(up=True)
        self._monotonic = monotonic
        #: Whether the last Redis call answered; while False, requests count in memory.
        self.redis_up = True
        self._next_probe = 0.0
        self.per_key: RateLimitItem = parse(settings.rate_limit)
        self.per_ip: RateLimitItem = parse(settings.rate_limit_unauthenticated)

    async def hit(self, item: RateLimitItem, *identity: str) -> Verdict:
        """Count one request against `identity`: in Redis when configured and answering,
        else in this process's memory. Never raises for a missing Redis."""
        if self._shared is not None and self._try_redis():
            try:
                verdict = await self._count(self._shared, item, identity)
            except StorageError as error:
                self._redis_lost(error)
            else:
                self._redis_back()
                return verdict
        return await self._count(self._local, item, identity)

    def _try_redis(self) -> bool:
        if self.redis_up:
            return True
        now = self._monotonic()
        if now < self._next_probe:
            return False
        # Set before awaiting: of the requests arriving now, only this one probes.
        self._next_probe = now + PROBE_INTERVAL
        return True

    def _redis_lost(self, error: StorageError) -> None:
        self._next_probe = self._monotonic() + PROBE_INTERVAL
        if self.redis_up:
            self.redis_up = False
            metrics.set_ratelimit_redis_up(up=False)
            log.warning(
                "rate_limiter_redis_unavailable",
                error=type(error.storage_error).__name__,
                fallback="per-process limits in memory",
            )

    def _redis_back(self) -> None:
        if not self.redis_up:
            self.redis_up = True
            metrics.set_ratelimit_redis_up(up=True)
            log.warning("rate_limiter_redis_available")

    @staticmethod
    async def _count(
        limiter: FixedWindowRateLimiter, item: RateLimitItem, identity: tuple[str, ...]
    ) -> Verdict:
        allowed = await limiter.hit(item, *identity)
        stats = await limiter.get_window_stats(item, *identity)
        return Verdict(allowed, item.amount, max(0, stats.remaining), stats.reset_time)
