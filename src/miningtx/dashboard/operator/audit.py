"""The audit log: every operator action, newest first, filtered by operator, action and
target, by the same query as `mtx audit list`. Both roles may read it; nobody edits it."""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import Response

from miningtx.audit import service as audit
from miningtx.dashboard.deps import OperatorDep
from miningtx.dashboard.rendering import render
from miningtx.dashboard.routing import console_pages
from miningtx.kit.deps import ReadDep
from miningtx.kit.errors import invalid

router = console_pages()
PAGE = "/console/audit"


@router.get(PAGE, name="console_audit")
async def audit_log(
    request: Request,
    *,
    operator: OperatorDep,
    session: ReadDep,
    operator_email: str = "",
    action: str = "",
    target: str = "",
    limit: str = "100",
) -> Response:
    if not limit.strip().isdigit():
        raise invalid("limit", f"The limit is 1 to {audit.MAX_LIMIT}.")
    where = audit.AuditFilter(
        operator=operator_email.strip() or None,
        action=action.strip() or None,
        target=target.strip() or None,
        limit=int(limit),
    )
    found = [audit.render_entry(e) for e in await audit.entries(session, where)]
    return await render(
        request,
        "console/audit.html",
        {"entries": found},
        values={
            "operator_email": operator_email,
            "action": action,
            "target": target,
            "limit": limit,
        },
    )
