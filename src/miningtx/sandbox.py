"""Sandbox-only: move the deployment's clock so time-driven things happen now."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, StrictInt

from miningtx.customers.auth import PrincipalDep, auth_dependencies
from miningtx.kit.clock import Timestamp
from miningtx.kit.deps import DatabaseDep
from miningtx.kit.idempotency import unit_of_work
from miningtx.kit.jobs import WorkerContext
from miningtx.worker import run_time_jobs

#: The longest single step: a little over a year, enough to run any contract or stake out.
MAX_ADVANCE_SECONDS = 400 * 86_400

router = APIRouter(tags=["Sandbox test helpers"], dependencies=auth_dependencies)


class ClockAdvanceIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    seconds: Annotated[StrictInt, Field(ge=1, le=MAX_ADVANCE_SECONDS, examples=[86_400])]


class ClockOut(BaseModel):
    now: Timestamp
    advanced_by: int = Field(description="Seconds this call moved the clock forward.")


@router.post(
    "/test_helpers/clock/advance",
    summary="Sandbox only: move the deployment's clock forward",
    response_model=ClockOut,
)
async def advance_clock(
    body: ClockAdvanceIn, request: Request, principal: PrincipalDep, db: DatabaseDep
) -> JSONResponse:
    """Moves the clock of the whole sandbox deployment forward by `seconds`, then credits
    every reward, stake payout and expiry that has fallen due before it answers.
    Webhooks for them are delivered by the worker, as usual."""
    async with unit_of_work(request, db, principal.customer_seq) as work:
        now = await db.clock.advance(work.session, body.seconds)
        response = await work.respond(200, ClockOut(now=now, advanced_by=body.seconds))
    await run_time_jobs(WorkerContext(db, request.app.state.settings))
    return response
