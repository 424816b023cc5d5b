"""Background jobs of the staking domain: paying stakes at maturity."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from miningtx.worker import WorkerContext


async def complete_due_stakes(ctx: WorkerContext) -> int:
    """Pay every stake whose end_time has passed; returns how many were paid."""
    return 0
