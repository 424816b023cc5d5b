"""Delivering queued webhook events: claim, sign, send, record."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from miningtx.worker import WorkerContext


async def deliver_due(ctx: WorkerContext) -> int:
    """Attempt every delivery that is due; returns how many attempts were made."""
    return 0
