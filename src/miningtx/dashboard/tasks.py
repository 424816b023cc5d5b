"""Background job of the dashboard: expired sessions are deleted."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from miningtx.dashboard.sessions import purge_expired
from miningtx.kit.clock import utcnow

if TYPE_CHECKING:
    from miningtx.worker import WorkerContext

#: Seconds between purges in one worker process (an expired session is refused anyway).
PURGE_EVERY = 600.0
_last_purge = {"at": float("-inf")}


async def purge_expired_sessions(ctx: WorkerContext) -> int:
    """Delete expired dashboard and console sessions, at most every PURGE_EVERY seconds."""
    started = time.monotonic()
    if started - _last_purge["at"] < PURGE_EVERY:
        return 0
    _last_purge["at"] = started
    async with ctx.db.write() as session:
        return await purge_expired(session, utcnow())
