"""The one error type the API raises and the envelope it renders to."""

from __future__ import annotations

from pydantic import BaseModel


class ApiError(Exception):
    """A failure the caller can act on: an HTTP status, a stable snake_case code, a message."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        *,
        param: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.param = param
        self.headers = headers or {}

    def body(self, request_id: str | None) -> dict[str, object]:
        error: dict[str, object] = {"code": self.code, "message": self.message}
        if self.param is not None:
            error["param"] = self.param
        if request_id is not None:
            error["request_id"] = request_id
        return {"error": error}


def invalid(param: str, message: str) -> ApiError:
    return ApiError(400, "invalid_request", message, param=param)


def not_found(what: str, param: str | None = None) -> ApiError:
    return ApiError(404, "resource_missing", f"No such {what}.", param=param)


class ErrorDetail(BaseModel):
    code: str
    message: str
    param: str | None = None
    request_id: str | None = None


class ErrorEnvelope(BaseModel):
    """The documented error body: {"error": {"code", "message", "param"?, "request_id"}}."""

    error: ErrorDetail
