"""Solvency at a glance: the report `mtx solvency` prints (liabilities against assets per
network, coverage, pools, problems) and, per network with a node, the chain reconciliation.
An unreachable node is shown as such; the ledger's figures still are."""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import Response

from miningtx.config import Settings
from miningtx.dashboard.deps import OperatorDep
from miningtx.dashboard.rendering import render
from miningtx.dashboard.routing import console_pages
from miningtx.kit.db import Database
from miningtx.solvency.service import solvency_report
from miningtx.wallet.chain import ChainError
from miningtx.wallet.reconcile import Custody, reconcile

router = console_pages()


@router.get("/console/solvency", name="console_solvency")
async def solvency(request: Request, operator: OperatorDep) -> Response:
    db: Database = request.app.state.db
    settings: Settings = request.app.state.settings
    async with db.snapshot() as session:
        report = await solvency_report(session)
    custody: list[Custody] = []
    chain_error: str | None = None
    if settings.chains():
        try:
            custody = await reconcile(db, settings)
        except ChainError as error:
            chain_error = str(error)
    mismatches = [problem for network in custody if (problem := network.problem())]
    return await render(
        request,
        "console/solvency.html",
        {
            "report": report,
            "problems": report.problems + mismatches,
            "custody": [network.as_dict() for network in custody],
            "chain_error": chain_error,
            "chains_configured": bool(settings.chains()),
        },
    )
