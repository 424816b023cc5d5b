"""Pure ASGI middleware: request ids and access logs, auth plus rate limits, body limits.

Order, outermost first: RequestContext -> AuthRateLimit -> BodyLimit -> CatchAll -> app,
so every response, errors included, carries X-Request-Id and the X-RateLimit-* headers.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Awaitable, Callable
from typing import Any

import structlog
from sqlalchemy.exc import SQLAlchemyError
from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from miningtx.kit import metrics
from miningtx.kit.db import Reachability, is_unavailable
from miningtx.kit.errors import ApiError, service_unavailable
from miningtx.kit.ids import random_base62
from miningtx.kit.ratelimit import RateLimiter, Verdict

log = structlog.get_logger("miningtx.http")
_INCOMING_ID = re.compile(r"^[A-Za-z0-9._:-]{8,64}$")

#: Resolves a presented bearer token to an opaque principal with a `key_id`, or None.
Authenticate = Callable[[str], Awaitable[Any | None]]


def _state(scope: Scope) -> dict[str, Any]:
    state: dict[str, Any] = scope.setdefault("state", {})
    return state


async def send_error(scope: Scope, send: Send, error: ApiError) -> None:
    """Write `error` as the documented envelope straight from middleware."""
    body = json.dumps(error.body(_state(scope).get("request_id"))).encode()
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        *((k.lower().encode(), v.encode()) for k, v in error.headers.items()),
    ]
    await send({"type": "http.response.start", "status": error.status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def _route_template(scope: Scope) -> str:
    """The matched route's path template (bounded label values for metrics), or "unmatched"."""
    effective = scope.get("fastapi", {}).get("effective_route_context")
    path = getattr(effective, "path", None) or getattr(scope.get("route"), "path", None)
    return str(path) if path else "unmatched"


class RequestContextMiddleware:
    """Gives each request an id (X-Request-Id), binds it to logs, logs and measures it."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = Headers(scope=scope).get("x-request-id", "")
        request_id = incoming if _INCOMING_ID.match(incoming) else "req_" + random_base62(20)
        _state(scope)["request_id"] = request_id
        structlog.contextvars.bind_contextvars(request_id=request_id)
        started = time.perf_counter()
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                MutableHeaders(scope=message).append("X-Request-Id", request_id)
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            elapsed = time.perf_counter() - started
            template = _route_template(scope)
            metrics.observe(scope["method"], template, status, elapsed)
            log.info(
                "request",
                method=scope["method"],
                path=scope["path"],
                route=template,
                status=status,
                duration_ms=round(elapsed * 1000, 2),
            )
            structlog.contextvars.unbind_contextvars("request_id")


class AuthRateLimitMiddleware:
    """Resolves the API key once, then applies the per-key or per-IP limit.

    Requests with a valid key count against that key; all others count against the
    client IP. Every /v1 route except the OpenAPI document needs a valid key.
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        authenticate: Authenticate,
        limiter: RateLimiter,
        reachability: Reachability,
    ) -> None:
        self.app = app
        self.authenticate = authenticate
        self.limiter = limiter
        self.reachability = reachability

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        state = _state(scope)
        authorization = Headers(scope=scope).get("authorization")
        principal = None
        if authorization is None:
            state["auth_problem"] = "No API key provided. Send 'Authorization: Bearer <key>'."
        else:
            scheme, _, token = authorization.partition(" ")
            if scheme.lower() == "bearer" and token.strip():
                try:
                    principal = await self.authenticate(token.strip())
                except (SQLAlchemyError, OSError) as error:
                    if is_unavailable(error):
                        self.reachability.lost(error)  # one line per outage, not per request
                    else:
                        log.exception("authentication_unavailable")
                    await send_error(scope, send, service_unavailable())
                    return
            if principal is None:
                state["auth_problem"] = "The API key is invalid or has been revoked."
        state["principal"] = principal
        # Never fails: without Redis the limiter counts in this process (kit/ratelimit).
        if principal is not None:
            verdict = await self.limiter.hit(self.limiter.per_key, "key", principal.key_id)
        else:
            client = scope.get("client")
            verdict = await self.limiter.hit(
                self.limiter.per_ip, "ip", client[0] if client else "-"
            )

        async def send_with_limits(message: Message) -> None:
            if message["type"] == "http.response.start":
                message.setdefault("headers", [])
                message["headers"] = [*message["headers"], *verdict.headers()]
            await send(message)

        if not verdict.allowed:
            await send_error(scope, send_with_limits, self._too_many(verdict))
            return
        path: str = scope["path"]
        if principal is None and path.startswith("/v1/") and path != "/v1/openapi.json":
            await send_error(
                scope, send_with_limits, ApiError(401, "unauthorized", state["auth_problem"])
            )
            return
        await self.app(scope, receive, send_with_limits)

    @staticmethod
    def _too_many(verdict: Verdict) -> ApiError:
        return ApiError(
            429,
            "rate_limited",
            f"Too many requests: the limit is {verdict.limit} per window. Retry after the reset.",
            headers={"Retry-After": str(verdict.retry_after)},
        )


class BodyLimitMiddleware:
    """Reads request bodies up to `max_bytes`, refusing larger ones with 400 before any work."""

    def __init__(self, app: ASGIApp, *, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD", "OPTIONS", "DELETE"):
            await self.app(scope, receive, send)
            return
        too_large = ApiError(
            400,
            "invalid_request",
            f"Request bodies are limited to {self.max_bytes} bytes.",
            param="body",
        )
        declared = Headers(scope=scope).get("content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > self.max_bytes):
            await send_error(scope, send, too_large)
            return
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_bytes:
                await send_error(scope, send, too_large)
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        delivered = False

        async def replay() -> Message:
            nonlocal delivered
            if not delivered:
                delivered = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)


class CatchAllMiddleware:
    """Turns any unhandled exception into a 500 envelope; no trace or SQL reaches the client."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        except Exception:
            log.exception("unhandled_error", path=scope["path"])
            if not started:
                await send_error(
                    scope,
                    send,
                    ApiError(500, "internal_error", "Something went wrong on our side."),
                )
