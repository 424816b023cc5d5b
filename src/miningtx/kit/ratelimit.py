"""Fixed-window rate limits per API key and per client IP, via the `limits` library.

In memory by default; in Redis when MTX_REDIS_URL is set, so every API process
shares one window per key.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

from limits import RateLimitItem, parse
from limits.aio.storage import MemoryStorage, RedisStorage, Storage
from limits.aio.strategies import FixedWindowRateLimiter

from miningtx.config import Settings


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
    def __init__(self, settings: Settings) -> None:
        self.storage: Storage
        if settings.redis_url:
            uri = "async+" + settings.redis_url
            self.storage = RedisStorage(
                uri, implementation="redispy", key_prefix="mtx", wrap_exceptions=True
            )
        else:
            self.storage = MemoryStorage()
        self._limiter = FixedWindowRateLimiter(self.storage)
        self.per_key: RateLimitItem = parse(settings.rate_limit)
        self.per_ip: RateLimitItem = parse(settings.rate_limit_unauthenticated)

    async def hit(self, item: RateLimitItem, *identity: str) -> Verdict:
        allowed = await self._limiter.hit(item, *identity)
        stats = await self._limiter.get_window_stats(item, *identity)
        return Verdict(allowed, item.amount, max(0, stats.remaining), stats.reset_time)
