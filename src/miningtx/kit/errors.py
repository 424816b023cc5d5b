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


#: Reasons an operator gives (a KYC rejection, a refused or failed withdrawal) fit this column.
REASON_MAX_LENGTH = 200


def checked_reason(reason: str | None) -> str | None:
    """An operator's stated reason, stripped, or None when blank; 400 (param reason) if unfit."""
    reason = (reason or "").strip() or None
    if reason is not None and (len(reason) > REASON_MAX_LENGTH or not reason.isprintable()):
        raise invalid("reason", f"Reasons are at most {REASON_MAX_LENGTH} printable characters.")
    return reason


def service_unavailable() -> ApiError:
    """503: a dependency (the database) is out of reach; nothing was done, retry shortly."""
    return ApiError(
        503,
        "service_unavailable",
        "The service is briefly unavailable; retry shortly.",
        headers={"Retry-After": "1"},
    )


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


class OperationalFailure(Exception):
    """A failure the operator fixes outside the code (the schema behind, the database or a
    node out of reach): its message is one line saying what to check or run."""
