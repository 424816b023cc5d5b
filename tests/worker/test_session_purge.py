"""The worker's `sessions` job deletes expired dashboard sessions and keeps live ones."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from miningtx.dashboard import sessions, tasks
from miningtx.kit.clock import utcnow
from miningtx.kit.jobs import JobRunner, WorkerContext
from miningtx.models import PrincipalKind, WebSession
from tests.conftest import Env
from tests.factories import make_customer


async def test_expired_sessions_are_purged_once_per_interval(env: Env) -> None:
    alice = await make_customer(env.db, env.settings)
    bob = await make_customer(env.db, env.settings)
    long_ago = utcnow() - timedelta(days=2)
    async with env.db.write() as session:
        await sessions.start(
            session, PrincipalKind.CUSTOMER, alice.seq, awaiting_totp=False, now=long_ago
        )
        await sessions.start(
            session, PrincipalKind.CUSTOMER, bob.seq, awaiting_totp=False, now=utcnow()
        )
    # One worker's runner: the interval is counted per worker, from its first round.
    runner = JobRunner(WorkerContext(env.db, env.settings), [tasks.SESSIONS_JOB])

    async def purge_expired_sessions() -> int:
        return (await runner.run_round())["sessions"]

    assert await purge_expired_sessions() == 1
    async with env.db.write() as session:
        await sessions.start(
            session, PrincipalKind.CUSTOMER, alice.seq, awaiting_totp=False, now=long_ago
        )
    assert await purge_expired_sessions() == 0  # not again within PURGE_EVERY

    async with env.db.read() as reading:
        left = list(await reading.scalars(select(WebSession.expires_at)))
    assert len(left) == 2
    assert sum(1 for expires in left if expires > utcnow()) == 1
