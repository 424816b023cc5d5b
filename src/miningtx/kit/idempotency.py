"""The unit of work behind every POST, with `Idempotency-Key` replays.

A POST with a key first claims it in a short transaction of its own. The effect
and the stored response then commit together in one transaction, so a crash can
never leave an effect without its response (or the reverse). A replay returns the
first status and body with ``Idempotent-Replayed: true``; the same key with a
different request is 409 ``idempotency_key_reused``; while the first request is
still running it is 409 ``conflict``. Keys live 24 hours.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from fastapi import Request
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError

from miningtx.kit.clock import utcnow
from miningtx.kit.db import Database, WriteSession
from miningtx.kit.errors import ApiError
from miningtx.models import IdempotencyRecord, IdempotencyState

KEY_LIFETIME = timedelta(hours=24)
#: A claim older than this belongs to a request that died; its effect never committed.
STALE_CLAIM = timedelta(seconds=60)
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


@dataclass
class Work:
    """What a POST handler gets: the write session and a way to answer."""

    session: WriteSession
    record_seq: int | None
    #: The deployment's time, read inside this transaction.
    now: datetime

    async def respond(self, status: int, model: BaseModel | dict[str, Any]) -> JSONResponse:
        """Render the response and, under a key, store it in this same transaction."""
        content = jsonable_encoder(model)
        if self.record_seq is not None:
            await self.session.execute(
                update(IdempotencyRecord)
                .where(IdempotencyRecord.seq == self.record_seq)
                .values(
                    state=IdempotencyState.DONE,
                    response_status=status,
                    response_body=json.dumps(content),
                )
            )
        return JSONResponse(content, status_code=status)


def _fingerprint(request: Request, body: bytes) -> str:
    digest = hashlib.sha256()
    digest.update(request.method.encode() + b" " + request.url.path.encode() + b"\n")
    try:
        canonical = json.dumps(json.loads(body), sort_keys=True, separators=(",", ":")).encode()
    except ValueError:
        canonical = body
    digest.update(canonical)
    return digest.hexdigest()


async def _claim(db: Database, customer_seq: int, key: str, fingerprint: str, now: datetime) -> int:
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
            if record.locked_at > now - STALE_CLAIM:
                raise in_flight()
            record.locked_at = now
            return record.seq
        record = IdempotencyRecord(
            customer_seq=customer_seq,
            key=key,
            request_hash=fingerprint,
            state=IdempotencyState.IN_FLIGHT,
            locked_at=now,
            created_at=now,
        )
        session.add(record)
        await session.flush()
        return record.seq


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
    try:
        record_seq = await _claim(db, customer_seq, key, fingerprint, utcnow())
    except IntegrityError:
        # Another request inserted the same key between our read and our insert.
        raise in_flight() from None
    try:
        async with db.write() as session:
            yield Work(session, record_seq, await db.clock.sync(session))
    except ApiError as error:
        if error.status >= 500:
            await _release(db, record_seq)
        else:
            await _store_error(db, record_seq, error, request)
        raise
    except BaseException:
        await _release(db, record_seq)
        raise


async def _store_error(db: Database, record_seq: int, error: ApiError, request: Request) -> None:
    body = json.dumps(error.body(getattr(request.state, "request_id", None)))
    async with db.write() as session:
        await session.execute(
            update(IdempotencyRecord)
            .where(IdempotencyRecord.seq == record_seq)
            .values(state=IdempotencyState.DONE, response_status=error.status, response_body=body)
        )


async def _release(db: Database, record_seq: int) -> None:
    """Hand the key back after a failure, unless its response is stored: a commit whose
    answer was lost with the connection may have committed, and then a retry must replay
    that response, never run the effect a second time."""
    async with db.write() as session:
        await session.execute(
            delete(IdempotencyRecord).where(
                IdempotencyRecord.seq == record_seq,
                IdempotencyRecord.state == IdempotencyState.IN_FLIGHT,
            )
        )
