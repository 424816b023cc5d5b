"""Bearer-key authentication: resolved once per request by the middleware, read by routes."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPBearer

from miningtx.customers.service import (
    LAST_USED_RESOLUTION,
    Principal,
    resolve_api_key,
    touch_api_key,
)
from miningtx.kit.clock import utcnow
from miningtx.kit.db import Database
from miningtx.kit.errors import ApiError

#: Declares the bearer scheme in OpenAPI; the middleware does the actual check.
bearer_scheme = HTTPBearer(
    auto_error=False, description="Your secret API key: mtx_test_... or mtx_live_..."
)


class Authenticator:
    """Looks a presented key up and records its use at most once a minute."""

    def __init__(self, db: Database, key_prefix: str) -> None:
        self.db = db
        self.key_prefix = key_prefix

    async def __call__(self, secret: str) -> Principal | None:
        if not secret.startswith(self.key_prefix):
            return None  # a test key never works on a live deployment, nor the reverse
        async with self.db.read_engine.connect() as connection:
            found = await resolve_api_key(connection, secret)
        if found is None:
            return None
        principal, last_used_at = found
        now = utcnow()
        if last_used_at is None or now - last_used_at > LAST_USED_RESOLUTION:
            async with self.db.write() as session:
                await touch_api_key(session, principal.key_seq, now)
        return principal


async def current_principal(request: Request) -> Principal:
    principal: Principal | None = getattr(request.state, "principal", None)
    if principal is None:
        raise ApiError(
            401, "unauthorized", getattr(request.state, "auth_problem", "No API key provided.")
        )
    return principal


PrincipalDep = Annotated[Principal, Depends(current_principal)]
auth_dependencies = [Depends(bearer_scheme)]
