"""The operator console's home. Its other pages (KYC queue, withdrawals, catalog, capacity
and pools, solvency, customers) live in modules of their own built on `console_pages()`."""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import Response

from miningtx.dashboard.deps import OperatorDep
from miningtx.dashboard.rendering import render
from miningtx.dashboard.routing import console_pages

router = console_pages()


@router.get("/console", name="console_home")
async def console_home(request: Request, operator: OperatorDep) -> Response:
    return await render(request, "console/home.html", {"operator": operator})
