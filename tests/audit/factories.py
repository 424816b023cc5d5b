"""Audit helpers: the log as a test reads it."""

from __future__ import annotations

from typing import Any

from miningtx.audit import service as audit
from miningtx.kit.db import Database


async def log(db: Database, **where: Any) -> list[dict[str, Any]]:
    """Audit entries (rendered), oldest first, narrowed like `mtx audit list`."""
    async with db.read() as session:
        found = await audit.entries(session, audit.AuditFilter(**where))
    return [audit.render_entry(entry) for entry in reversed(found)]


async def actions(db: Database, target: str | None = None) -> list[tuple[str, str]]:
    """(operator, action) of each entry, oldest first."""
    return [(e["operator"], e["action"]) for e in await log(db, target=target)]
