"""Background job of the dashboard: expired sessions are deleted."""

from __future__ import annotations

from miningtx.dashboard.sessions import purge_expired
from miningtx.kit.clock import utcnow
from miningtx.kit.jobs import JobSpec, WorkerContext

#: Seconds between purges in one worker process (an expired session is refused anyway).
PURGE_EVERY = 600.0


async def purge_expired_sessions(ctx: WorkerContext) -> int:
    """Delete expired dashboard and console sessions; returns how many."""
    async with ctx.db.write() as session:
        return await purge_expired(session, utcnow())


SESSIONS_JOB = JobSpec("sessions", purge_expired_sessions, every=PURGE_EVERY)
