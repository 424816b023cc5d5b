"""/static: the dashboard's CSS and the vendored htmx, cached for long when versioned."""

from __future__ import annotations

import os

from starlette.responses import Response
from starlette.staticfiles import StaticFiles
from starlette.types import Scope

from miningtx.dashboard.rendering import STATIC

#: `static_url()` adds ?v=<content hash>, so a versioned URL never changes content.
IMMUTABLE = "public, max-age=31536000, immutable"


class StaticAssets(StaticFiles):
    def __init__(self) -> None:
        super().__init__(directory=STATIC)

    def file_response(
        self,
        full_path: str | os.PathLike[str],
        stat_result: os.stat_result,
        scope: Scope,
        status_code: int = 200,
    ) -> Response:
        response = super().file_response(full_path, stat_result, scope, status_code)
        if b"v=" in scope.get("query_string", b""):
            response.headers["Cache-Control"] = IMMUTABLE
        response.headers["X-Content-Type-Options"] = "nosniff"
        return response
