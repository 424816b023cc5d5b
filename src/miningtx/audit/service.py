"""The audit log: every operator action appended with who, when, what and the values it
changed. Rows are only ever inserted (`record`); the database refuses UPDATE and DELETE.

The domain service that performs an action calls `record` in the same transaction, so an
action and its audit row commit or roll back together, whichever adapter started it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select

from miningtx.audit.refs import OperatorRef
from miningtx.kit.clock import rfc3339
from miningtx.kit.db import ReadSession, WriteSession
from miningtx.kit.errors import ApiError, invalid
from miningtx.kit.ids import new_id
from miningtx.models import AuditEntry, Operator

#: Shown where an action was the platform's own (no operator).
SYSTEM = "system"
#: Most entries one listing returns.
MAX_LIMIT = 500


def unknown_operator(email: str) -> ApiError:
    return ApiError(
        400,
        "unknown_operator",
        f"No operator {email!r}: name an operator created with `mtx operators create`.",
        param="operator",
    )


def operator_disabled(email: str) -> ApiError:
    return ApiError(403, "operator_disabled", f"Operator {email} is disabled.", param="operator")


def same_operator(what: str) -> ApiError:
    """Four eyes: the second decision must come from someone else."""
    return ApiError(
        409,
        "same_operator",
        f"{what} needs a second operator: you cannot also make the second decision.",
    )


def ref_of(operator: Operator) -> OperatorRef:
    return OperatorRef(operator.seq, operator.id, operator.email)


async def operator_by_email(session: ReadSession | WriteSession, email: str) -> OperatorRef:
    """The enabled operator with this email (any case); 400 unknown_operator otherwise."""
    normalized = email.strip().lower()
    operator = await session.scalar(select(Operator).where(Operator.email == normalized))
    if operator is None:
        raise unknown_operator(email.strip())
    if operator.disabled_at is not None:
        raise operator_disabled(operator.email)
    return ref_of(operator)


async def record(
    session: WriteSession,
    *,
    actor: OperatorRef | None,
    action: str,
    target: str,
    before: dict[str, Any] | None,
    after: dict[str, Any] | None,
    now: datetime,
) -> AuditEntry:
    """Append one entry in the caller's transaction (`actor` None: the platform itself)."""
    entry = AuditEntry(
        id=new_id("aud"),
        operator_seq=actor.seq if actor else None,
        operator_email=actor.email if actor else None,
        action=action,
        target=target,
        before=before,
        after=after,
        created_at=now,
    )
    session.add(entry)
    await session.flush()
    return entry


@dataclass(frozen=True, slots=True)
class AuditFilter:
    """What a listing narrows to; None matches everything."""

    operator: str | None = None
    action: str | None = None
    target: str | None = None
    limit: int = 100


async def entries(session: ReadSession | WriteSession, where: AuditFilter) -> Sequence[AuditEntry]:
    """Entries newest first. `operator` is an email or "system"; `action` matches exactly
    or, ending in ".", as a prefix ("withdrawal." lists every withdrawal action)."""
    if not 1 <= where.limit <= MAX_LIMIT:
        raise invalid("limit", f"The limit is 1 to {MAX_LIMIT}.")
    query = select(AuditEntry).order_by(AuditEntry.seq.desc()).limit(where.limit)
    if where.operator:
        if where.operator.strip().lower() == SYSTEM:
            query = query.where(AuditEntry.operator_seq.is_(None))
        else:
            query = query.where(AuditEntry.operator_email == where.operator.strip().lower())
    if where.action:
        action = where.action.strip()
        query = query.where(
            AuditEntry.action.startswith(action, autoescape=True)
            if action.endswith(".")
            else AuditEntry.action == action
        )
    if where.target:
        query = query.where(AuditEntry.target == where.target.strip())
    return (await session.execute(query)).scalars().all()


def render_entry(entry: AuditEntry) -> dict[str, Any]:
    """The one rendering of an entry, for `mtx audit list --json` and the console."""
    return {
        "id": entry.id,
        "at": rfc3339(entry.created_at),
        "operator": entry.operator_email or SYSTEM,
        "action": entry.action,
        "target": entry.target,
        "before": entry.before,
        "after": entry.after,
    }
