"""Exceptions: one per documented status, each carrying status, code, param and request id."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


class MiningTXError(Exception):
    """Base of every exception this client raises."""


class APIConnectionError(MiningTXError):
    """The request never got an answer (refused, reset, timed out), after every retry."""


class APIError(MiningTXError):
    """The API answered with an error status and the documented envelope."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        *,
        param: str | None = None,
        request_id: str | None = None,
        headers: Mapping[str, str] | None = None,
        body: Any = None,
    ) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.param = param
        self.request_id = request_id
        self.headers = {name.lower(): value for name, value in (headers or {}).items()}
        self.body = body


class BadRequestError(APIError):
    """400: a parameter is missing or invalid (`param` names it)."""


class AuthenticationError(APIError):
    """401: the API key is missing, invalid or revoked."""


class InsufficientBalanceError(APIError):
    """402: the balance is too low for the requested action."""


class PermissionDeniedError(APIError):
    """403: the account may not do this (for example a withdrawal before KYC)."""


class NotFoundError(APIError):
    """404: no such object (or route)."""


class ConflictError(APIError):
    """409: the request conflicts with the object's state or an Idempotency-Key."""


class RateLimitError(APIError):
    """429: too many requests; `retry_after` is the server's `Retry-After`, in seconds."""

    @property
    def retry_after(self) -> float | None:
        value = self.headers.get("retry-after")
        try:
            return float(value) if value is not None else None
        except ValueError:
            return None


class ServerError(APIError):
    """5xx: the server failed; retried automatically before this is raised."""


_BY_STATUS: dict[int, type[APIError]] = {
    400: BadRequestError,
    401: AuthenticationError,
    402: InsufficientBalanceError,
    403: PermissionDeniedError,
    404: NotFoundError,
    409: ConflictError,
    429: RateLimitError,
}


def error_for(status: int, body: Any, headers: Mapping[str, str]) -> APIError:
    """The exception for an error answer, from its `{"error": {...}}` envelope if it has one."""
    detail = body.get("error") if isinstance(body, dict) else None
    if not isinstance(detail, dict):
        detail = {}
    code = str(detail.get("code") or f"http_{status}")
    message = str(detail.get("message") or f"HTTP {status}")
    param = detail.get("param")
    request_id = detail.get("request_id") or headers.get("x-request-id")
    kind = _BY_STATUS.get(status, ServerError if status >= 500 else APIError)
    return kind(
        status,
        code,
        message,
        param=str(param) if param is not None else None,
        request_id=str(request_id) if request_id is not None else None,
        headers=headers,
        body=body,
    )
