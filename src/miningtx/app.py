"""Builds the FastAPI application: routers, middleware, error handlers, OpenAPI."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.openapi.utils import get_openapi
from fastapi.responses import HTMLResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from sqlalchemy.exc import SQLAlchemyError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match, Mount
from swagger_ui_bundle import swagger_ui_path

from miningtx import __version__
from miningtx.config import Settings, get_settings
from miningtx.customers.auth import Authenticator
from miningtx.customers.endpoints import router as customers_router
from miningtx.dashboard import router as dashboard_router
from miningtx.dashboard.rendering import render_error
from miningtx.kit import metrics
from miningtx.kit.db import Database, is_unavailable
from miningtx.kit.errors import ApiError, ErrorEnvelope, service_unavailable
from miningtx.kit.idempotency import Replay
from miningtx.kit.jobs import WorkerContext
from miningtx.kit.logging import configure_logging
from miningtx.kit.middleware import (
    AuthRateLimitMiddleware,
    BodyLimitMiddleware,
    CatchAllMiddleware,
    RequestContextMiddleware,
)
from miningtx.kit.migrate import schema_problem, stored_revision
from miningtx.kit.ratelimit import RateLimiter
from miningtx.mining.endpoints import router as mining_router
from miningtx.partners.endpoints import router as partners_router
from miningtx.sandbox import router as sandbox_router
from miningtx.staking.endpoints import router as staking_router
from miningtx.wallet import custody
from miningtx.wallet.endpoints import router as wallet_router
from miningtx.wallet.endpoints import test_helpers
from miningtx.wallet.keys import resolve_wallet_xpub
from miningtx.webhooks.endpoints import router as webhooks_router
from miningtx.worker import run_forever

log = structlog.get_logger(__name__)

DESCRIPTION = """A simple REST API to read balances, manage mining contracts, track rewards,
request withdrawals and monitor partner earnings. All monetary amounts are USDT,
as strings with up to 6 decimals. Authenticate with `Authorization: Bearer <key>`."""

ERROR_STATUSES = {
    400: "Bad request: invalid parameters (`invalid_request` with `param`)",
    401: "Missing or invalid API key (`unauthorized`)",
    429: "Too many requests (`rate_limited`); see Retry-After",
    500: "Internal server error (`internal_error`)",
    503: "Briefly unavailable (`service_unavailable`); retry, a POST with its Idempotency-Key",
}


def _error_response(request: Request, error: ApiError) -> JSONResponse:
    return JSONResponse(
        error.body(getattr(request.state, "request_id", None)),
        status_code=error.status,
        headers=error.headers or None,
    )


def _param_of(location: tuple[int | str, ...]) -> str | None:
    parts = (
        [str(p) for p in location[1:]]
        if location and location[0] in ("body", "query", "path", "header")
        else [str(p) for p in location]
    )
    return ".".join(parts) or (str(location[0]) if location else None)


async def _on_api_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ApiError)
    return _error_response(request, exc)


async def _on_database_error(request: Request, exc: Exception) -> JSONResponse:
    """The database went away mid-request: 503, and the transaction never committed (a
    commit that fails raises here instead of answering 200). Anything else stays a 500."""
    if not is_unavailable(exc):
        raise exc
    db: Database = request.app.state.db
    db.reachability.lost(exc)
    return _error_response(request, service_unavailable())


async def _on_validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    first = exc.errors()[0] if exc.errors() else {"loc": ("body",), "msg": "Invalid request."}
    location = tuple(first.get("loc", ("body",)))
    message = str(first.get("msg", "Invalid request."))
    if first.get("type") == "json_invalid":
        message = "The request body is not valid JSON."
        location = ("body",)
    elif first.get("type") == "extra_forbidden":
        message = f"Unknown parameter: {location[-1]}."
    elif location == ("body",) and first.get("type") in ("model_attributes_type", "dict_type"):
        message = "The request body must be a JSON object sent with Content-Type: application/json."
    elif first.get("type") == "missing":
        message = f"Missing required parameter: {location[-1]}."
    return _error_response(
        request, ApiError(400, "invalid_request", message, param=_param_of(location))
    )


async def _on_http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    if exc.status_code == 404 and _wants_page(request):
        # A browser on a dashboard or console address gets a page, not the API's JSON.
        return await render_error(request, 404, "There is no such page.")
    codes = {404: "not_found", 405: "method_not_allowed"}
    message = "No such route." if exc.status_code == 404 else str(exc.detail)
    # RFC 9110: a 405 lists in `Allow` every method of the path, across all its routes
    # (Starlette's own header names only the first route that matched the path).
    headers = dict(exc.headers) if exc.headers else None
    if exc.status_code == 405:
        headers = {"Allow": _allowed_methods(request) or (headers or {}).get("Allow", "")}
    code = codes.get(exc.status_code, "invalid_request")
    error = ApiError(exc.status_code, code, message, headers=headers)
    return _error_response(request, error)


_METHODS = ("DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT")


def _allowed_methods(request: Request) -> str:
    """The methods served at this path, across all its routes.

    A path the API document describes answers with the document's methods for it, a
    literal path winning over a parameter that would match it too
    (`/v1/withdrawal_addresses/settings` is not the address `settings`); any other path
    asks each route whether it would fully match the request under each method.
    """
    path = request.url.path
    documented: dict[str, Any] = request.app.openapi().get("paths", {})
    templates = sorted(documented, key=lambda template: template.count("{"))
    for template in templates:
        if re.fullmatch(re.sub(r"\{[^/]+\}", "[^/]+", template), path):
            methods = {method.upper() for method in documented[template]}
            return ", ".join(sorted(methods & set(_METHODS)))
    allowed = {
        method
        for method in _METHODS
        for route in request.app.router.routes
        if not isinstance(route, Mount)
        and route.matches({**request.scope, "method": method})[0] is Match.FULL
    }
    return ", ".join(sorted(allowed))


def _wants_page(request: Request) -> bool:
    path = request.url.path
    return not path.startswith(
        ("/v1/", "/docs", "/static/")
    ) and "text/html" in request.headers.get("accept", "")


async def _on_replay(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, Replay)
    return exc.response()


def _openapi(app: FastAPI) -> dict[str, Any]:
    """OpenAPI 3.1 with the documented error envelope instead of FastAPI's 422."""
    if app.openapi_schema:
        return app.openapi_schema
    schema = get_openapi(
        title=app.title, version=app.version, description=app.description, routes=app.routes
    )
    schema["servers"] = [{"url": "/"}]
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    components["ErrorEnvelope"] = ErrorEnvelope.model_json_schema(
        ref_template="#/components/schemas/{model}"
    )
    for defs_name, definition in components["ErrorEnvelope"].pop("$defs", {}).items():
        components[defs_name] = definition
    for name in ("HTTPValidationError", "ValidationError"):
        components.pop(name, None)
    envelope = {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorEnvelope"}}}
    extra = {402: "Insufficient balance", 403: "Forbidden", 404: "Not found", 409: "Conflict"}
    for path, methods in schema.get("paths", {}).items():
        for method, operation in methods.items():
            responses = operation.setdefault("responses", {})
            responses.pop("422", None)
            for status, text_ in ERROR_STATUSES.items():
                if status == 401 and not path.startswith("/v1/"):
                    continue
                responses.setdefault(str(status), {"description": text_, "content": envelope})
            if method == "post":
                _declare_post_conventions(operation, envelope)
            for status_str, response in list(responses.items()):
                if int(status_str) in extra and not response.get("content"):
                    responses[status_str] = {
                        "description": extra[int(status_str)],
                        "content": envelope,
                    }
            for parameter in operation.get("parameters", []):
                if parameter["name"] == "cursor" and parameter["in"] == "query":
                    parameter["schema"] = CURSOR_SCHEMA
    _declare_operational_routes(schema["paths"])
    app.openapi_schema = schema
    return schema


#: What kit.pagination.decode_cursor can accept (empty means the first page).
CURSOR_SCHEMA = {
    "type": "string",
    "maxLength": 64,
    "pattern": "^(cur_[A-Za-z0-9_-]+)?$",
    "description": "Pagination cursor from a previous response's `next_cursor`.",
}


def _declare_post_conventions(operation: dict[str, Any], envelope: dict[str, Any]) -> None:
    """Every POST runs in kit.idempotency.unit_of_work: an optional key, 409 on reuse."""
    operation.setdefault("parameters", []).append(
        {
            "name": "Idempotency-Key",
            "in": "header",
            "required": False,
            "description": "Retry safely: the same key replays the first answer for 24 hours.",
            "schema": {"type": "string", "minLength": 1, "maxLength": 255},
        }
    )
    conflict = "Conflict (`conflict`, `idempotency_key_reused`)"
    operation["responses"].setdefault("409", {"description": conflict, "content": envelope})


def _declare_operational_routes(paths: dict[str, Any]) -> None:
    """/metrics answers Prometheus text; /readyz says 503 while the database is away."""
    if "/metrics" in paths:
        paths["/metrics"]["get"]["responses"]["200"] = {
            "description": "Prometheus text exposition format",
            "content": {"text/plain": {"schema": {"type": "string"}}},
        }
    if "/readyz" in paths:
        status = {
            "type": "object",
            "required": ["status"],
            "properties": {"status": {"type": "string", "enum": ["ok", "unavailable"]}},
        }
        content = {"application/json": {"schema": status}}
        responses = paths["/readyz"]["get"]["responses"]
        responses["200"] = {"description": "Ready", "content": content}
        responses["503"] = {
            "description": "The database does not answer, or its schema is not at the head",
            "content": content,
        }


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    configure_logging(settings.log_level, json=settings.log_json)
    db = Database(settings)
    limiter = RateLimiter(settings)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        if not settings.runs_worker_in_process:
            yield
            await db.dispose()
            return
        # The embedded default runs the background jobs beside the API, in this process.
        stop = asyncio.Event()
        ctx = WorkerContext(db, settings)
        task = asyncio.create_task(run_forever(ctx, stop))
        try:
            yield
        finally:
            stop.set()
            await task
            await db.dispose()

    app = FastAPI(
        title="MiningTX API",
        version=__version__,
        description=DESCRIPTION,
        openapi_url="/v1/openapi.json",
        docs_url=None,
        redoc_url=None,
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.db = db
    app.state.limiter = limiter
    # Deposit addresses derive from this; a bad key stops start-up here, not at first use.
    app.state.wallet_xpub = resolve_wallet_xpub(settings)

    app.include_router(customers_router, prefix="/v1")
    app.include_router(mining_router, prefix="/v1")
    app.include_router(staking_router, prefix="/v1")
    app.include_router(wallet_router, prefix="/v1")
    app.include_router(partners_router, prefix="/v1")
    app.include_router(webhooks_router, prefix="/v1")
    if settings.sandbox:
        app.include_router(test_helpers, prefix="/v1")
        app.include_router(sandbox_router, prefix="/v1")
    app.include_router(dashboard_router)
    _add_operational_routes(app, db)
    _add_docs(app)

    app.add_exception_handler(ApiError, _on_api_error)
    app.add_exception_handler(RequestValidationError, _on_validation_error)
    app.add_exception_handler(StarletteHTTPException, _on_http_error)
    app.add_exception_handler(Replay, _on_replay)
    app.add_exception_handler(SQLAlchemyError, _on_database_error)
    app.add_exception_handler(OSError, _on_database_error)

    # Added innermost first: the last one added wraps all the others.
    app.add_middleware(CatchAllMiddleware)
    app.add_middleware(BodyLimitMiddleware, max_bytes=settings.max_body_bytes)
    app.add_middleware(
        AuthRateLimitMiddleware,
        authenticate=Authenticator(db, settings.key_prefix),
        limiter=limiter,
        reachability=db.reachability,
    )
    app.add_middleware(RequestContextMiddleware)
    app.openapi = lambda: _openapi(app)  # type: ignore[method-assign]
    return app


def _add_docs(app: FastAPI) -> None:
    """Swagger UI at /docs from the bundled assets: no CDN, so it works offline."""
    app.mount("/docs/static", StaticFiles(directory=swagger_ui_path), name="swagger-ui")

    @app.get("/docs", include_in_schema=False)
    async def docs() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url="/v1/openapi.json",
            title="MiningTX API reference",
            swagger_js_url="/docs/static/swagger-ui-bundle.js",
            swagger_css_url="/docs/static/swagger-ui.css",
            swagger_favicon_url="/docs/static/favicon-32x32.png",
        )


def _add_operational_routes(app: FastAPI, db: Database) -> None:
    @app.get("/healthz", tags=["Operations"], summary="Liveness")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    reported: list[str | None] = [None]  # the schema problem last logged, so it is logged once

    @app.get(
        "/readyz",
        tags=["Operations"],
        summary="Readiness: the database answers, its schema at this release's head",
    )
    async def readyz() -> JSONResponse:
        try:
            async with db.read() as session:
                problem = schema_problem(await stored_revision(session))
        except Exception:  # noqa: BLE001  # any failure to read the schema means not ready
            # No schema at all (the version table is missing) reads the same as no database.
            return JSONResponse({"status": "unavailable"}, status_code=503)
        if problem != reported[0]:
            reported[0] = problem
            if problem is not None:
                log.warning("schema_not_at_head", detail=problem)
        if problem is not None:
            return JSONResponse({"status": "unavailable"}, status_code=503)
        return JSONResponse({"status": "ok"})

    @app.get("/metrics", tags=["Operations"], summary="Prometheus metrics")
    async def prometheus() -> Response:
        body, content_type = metrics.render()
        # The signer serves no HTTP: its last look at each hot wallet is in the database.
        # Without a database the process's own metrics still answer; the hot-wallet
        # gauges are left out (a scrape then shows them absent, not stale).
        try:
            async with db.read() as session:
                body += custody.metrics_text(await custody.observations(session))
        except SQLAlchemyError as error:
            log.warning("metrics_hot_wallets_unavailable", error=type(error).__name__)
        return Response(body, media_type=content_type)
