"""The unit of work behind every POST, with `Idempotency-Key` replays.

A POST with a key first claims it in a short transaction of its own. The effect
and the stored response then commit together in one transaction, so a crash can
never leave an effect without its response (or the reverse). A replay returns the
first status and body with ``Idempotent-Replayed: true``; the same key with a
different request is 409 ``idempotency_key_reused``; while the first request is
still running it is 409 ``conflict``. Keys live 24 hours.

A claim that has not answered within ``MTX_IDEMPOTENCY_STALE_SECONDS`` is presumed
dead and a retry takes it over. Each claim carries a random owner token; storing the
response (inside the effect's transaction) and releasing the key both match on it, so
a slow first request that was taken over rolls its effect back and never deletes the
new owner's claim: exactly one of them commits.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from fastapi import Request
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy import ColumnElement, and_, delete, select, update
from sqlalchemy.exc import IntegrityError

from miningtx.config import Settings
from miningtx.kit.clock import utcnow
from miningtx.kit.db import Database, WriteSession
from miningtx.kit.errors import ApiError
from miningtx.models import IdempotencyRecord, IdempotencyState

KEY_LIFETIME = timedelta(hours=24)
HEADER = "idempotency-key"


class Replay(Exception):
    """Raised instead of running a request whose key already has a stored response."""

    def __init__(self, status: int, body: str) -> None:
        super().__init__("idempotent replay")
        self.status = status
        self.body = body

    def response(self) -> JSONResponse:
        response = JSONResponse(json.loads(self.body), status_code=self.status)
        response.headers["Idempotent-Replayed"] = "true"
        return response


def key_reused() -> ApiError:
    return ApiError(
        409,
        "idempotency_key_reused",
        "This Idempotency-Key was already used with a different request.",
        param="Idempotency-Key",
    )


def in_flight() -> ApiError:
    return ApiError(
        409,
        "conflict",
        "A request with this Idempotency-Key is still in progress. Retry later.",
        param="Idempotency-Key",
    )


@dataclass(frozen=True)
class Claim:
    """An Idempotency-Key this request holds: its row and the owner token it wrote."""

    seq: int
    owner: str

    def held(self) -> ColumnElement[bool]:
        """The WHERE clause true only while this request still owns the claim."""
        return and_(
            IdempotencyRecord.seq == self.seq,
            IdempotencyRecord.owner == self.owner,
            IdempotencyRecord.state == IdempotencyState.IN_FLIGHT,
        )


class ClaimLost(Exception):
    """The claim was taken over by a retry while this request ran: roll its effect back."""


@dataclass
class Work:
    """What a POST handler gets: the write session and a way to answer."""

    session: WriteSession
    claim: Claim | None
    #: The deployment's time, read inside this transaction.
    now: datetime
    #: Whether `respond` stored the answer (a keyed request must, before it commits).
    responded: bool = False

    async def respond(self, status: int, model: BaseModel | dict[str, Any]) -> JSONResponse:
        """Render the response and, under a key, store it in this same transaction.

        The store is guarded by the owner token: if a retry took the claim over, nothing
        matches and `ClaimLost` rolls the whole effect back. On PostgreSQL the updated row
        stays locked until commit, so a takeover cannot slip in between; on SQLite the
        write lock serialises this transaction with every claim.
        """
        content = jsonable_encoder(model)
        if self.claim is not None:
            stored = await self.session.scalar(
                update(IdempotencyRecord)
                .where(self.claim.held())
                .values(
                    state=IdempotencyState.DONE,
                    response_status=status,
                    response_body=json.dumps(content),
                )
                .returning(IdempotencyRecord.seq)
            )
            if stored is None:
                raise ClaimLost()
        self.responded = True
        return JSONResponse(content, status_code=status)

    def check_responded(self) -> None:
        """A keyed effect may commit only together with its stored answer."""
        if self.claim is not None and not self.responded:
            raise RuntimeError("a keyed POST ended without Work.respond storing its answer")


def _fingerprint(request: Request, body: bytes) -> str:
    digest = hashlib.sha256()
    digest.update(request.method.encode() + b" " + request.url.path.encode() + b"\n")
    try:
        canonical = json.dumps(json.loads(body), sort_keys=True, separators=(",", ":")).encode()
    except ValueError:
        canonical = body
    digest.update(canonical)
    return digest.hexdigest()


async def _claim(
    db: Database,
    customer_seq: int,
    key: str,
    fingerprint: str,
    *,
    now: datetime,
    stale_after: timedelta,
) -> Claim:
    """Claim the key (or take over a stale claim) under a fresh owner token."""
    owner = secrets.token_hex(16)
    async with db.write() as session:
        record = await session.scalar(
            select(IdempotencyRecord)
            .where(IdempotencyRecord.customer_seq == customer_seq, IdempotencyRecord.key == key)
            .with_for_update()
        )
        if record is not None and record.created_at < now - KEY_LIFETIME:
            await session.delete(record)
            await session.flush()
            record = None
        if record is not None:
            if record.request_hash != fingerprint:
                raise key_reused()
            if record.state == IdempotencyState.DONE:
                assert record.response_status is not None
                assert record.response_body is not None
                raise Replay(record.response_status, record.response_body)
            if record.locked_at > now - stale_after:
                raise in_flight()
            record.locked_at = now
            record.owner = owner
            return Claim(record.seq, owner)
        record = IdempotencyRecord(
            customer_seq=customer_seq,
            key=key,
            request_hash=fingerprint,
            state=IdempotencyState.IN_FLIGHT,
            locked_at=now,
            created_at=now,
            owner=owner,
        )
        session.add(record)
        await session.flush()
        return Claim(record.seq, owner)


@asynccontextmanager
async def unit_of_work(request: Request, db: Database, customer_seq: int) -> AsyncIterator[Work]:
    """One write transaction for a POST, made idempotent when the request carries a key."""
    key = request.headers.get(HEADER)
    if key is None:
        async with db.write() as session:
            yield Work(session, None, await db.clock.sync(session))
        return
    if not 1 <= len(key) <= 255 or not key.isprintable():
        raise ApiError(
            400,
            "invalid_request",
            "Idempotency-Key must be 1-255 printable characters.",
            param="Idempotency-Key",
        )
    fingerprint = _fingerprint(request, await request.body())
    settings: Settings = request.app.state.settings
    stale_after = timedelta(seconds=settings.idempotency_stale_seconds)
    try:
        claim = await _claim(
            db, customer_seq, key, fingerprint, now=utcnow(), stale_after=stale_after
        )
    except IntegrityError:
        # Another request inserted the same key between our read and our insert.
        raise in_flight() from None
    try:
        async with db.write() as session:
            work = Work(session, claim, await db.clock.sync(session))
            yield work
            work.check_responded()
    except ClaimLost:
        raise await _answer_for_loser(db, claim) from None
    except ApiError as error:
        if error.status >= 500:
            await _release(db, claim)
        elif not await _store_error(db, claim, error, request):
            raise await _answer_for_loser(db, claim) from None
        raise
    except BaseException:
        await _release(db, claim)
        raise


async def _answer_for_loser(db: Database, claim: Claim) -> Replay | ApiError:
    """What a request whose claim was taken over answers: what a retry would get now,
    the new owner's stored response, or 409 ``conflict`` while it still runs."""
    async with db.read() as session:
        record = await session.get(IdempotencyRecord, claim.seq)
    if (
        record is not None
        and record.state == IdempotencyState.DONE
        and record.response_status is not None
        and record.response_body is not None
    ):
        return Replay(record.response_status, record.response_body)
    return in_flight()


async def _store_error(db: Database, claim: Claim, error: ApiError, request: Request) -> bool:
    """Store a refusal as the key's answer; False if the claim is no longer ours."""
    body = json.dumps(error.body(getattr(request.state, "request_id", None)))
    async with db.write() as session:
        stored = await session.scalar(
            update(IdempotencyRecord)
            .where(claim.held())
            .values(state=IdempotencyState.DONE, response_status=error.status, response_body=body)
            .returning(IdempotencyRecord.seq)
        )
    return stored is not None


async def _release(db: Database, claim: Claim) -> None:
    """Free the key for a retry, unless another request has taken the claim over or its
    response is stored (`held` matches only an `in_flight` claim): a commit whose answer
    was lost with the connection may have committed, and then a retry must replay that
    response, never run the effect a second time."""
    async with db.write() as session:
        await session.execute(delete(IdempotencyRecord).where(claim.held()))
