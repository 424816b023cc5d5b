"""What the sync and async clients share: the retry policy, requests and answers, no I/O."""

from __future__ import annotations

import random
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from email.utils import parsedate_to_datetime
from typing import Any, TypeVar

import httpx
from pydantic import BaseModel

from miningtx_client._version import __version__
from miningtx_client.errors import APIError, error_for

T = TypeVar("T", bound=BaseModel)

DEFAULT_BASE_URL = "https://api.miningtx.com"
DEFAULT_TIMEOUT = 30.0
DEFAULT_MAX_RETRIES = 2
USER_AGENT = f"miningtx-client-python/{__version__}"
#: Never wait longer than this between two attempts, whatever Retry-After asks.
MAX_RETRY_DELAY = 60.0
#: Answers worth another attempt. 409 only for `conflict` (the first attempt still runs).
RETRYABLE_STATUSES = frozenset({429, 500, 502, 503, 504})

Params = Mapping[str, str | int | None]


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff with jitter: 0.5 s, 1 s, 2 s ... capped, or the server's word."""

    max_retries: int = DEFAULT_MAX_RETRIES
    initial_delay: float = 0.5
    max_delay: float = 8.0

    def delay(self, attempt: int, response: httpx.Response | None) -> float:
        """Seconds to wait before attempt number `attempt + 1` (attempt counts from 0)."""
        if response is not None:
            asked = retry_after(response)
            if asked is not None:
                return min(asked, MAX_RETRY_DELAY)
        base: float = min(self.initial_delay * 2.0**attempt, self.max_delay)
        return base * (0.75 + random.random() / 4)  # jitter spreads clients apart


def retry_after(response: httpx.Response) -> float | None:
    """`Retry-After` in seconds (a number or an HTTP date), if present and sane."""
    value = response.headers.get("retry-after")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    date_header = response.headers.get("date")
    now = parsedate_to_datetime(date_header) if date_header else None
    if now is None:
        return None
    return max(0.0, (moment - now).total_seconds())


def should_retry(response: httpx.Response) -> bool:
    if response.status_code in RETRYABLE_STATUSES:
        return True
    if response.status_code == 409:
        return _error_code(response) == "conflict"  # the same key's first attempt is running
    return False


def _error_code(response: httpx.Response) -> str | None:
    try:
        body = response.json()
    except ValueError:
        return None
    detail = body.get("error") if isinstance(body, dict) else None
    code = detail.get("code") if isinstance(detail, dict) else None
    return code if isinstance(code, str) else None


def new_idempotency_key() -> str:
    """One key per logical POST, generated once and sent on every retry of it."""
    return f"mtxpy_{uuid.uuid4().hex}"


def headers_for(api_key: str, extra: Mapping[str, str] | None = None) -> dict[str, str]:
    headers = {
        "Authorization": f"Bearer {api_key}",
        "User-Agent": USER_AGENT,
        "Accept": "application/json",
    }
    headers.update(extra or {})
    return headers


def clean_params(params: Params | None) -> dict[str, str | int]:
    """Query parameters without the ones left at None."""
    return {name: value for name, value in (params or {}).items() if value is not None}


def json_body(body: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """A request body with Decimal amounts as the API's decimal strings."""
    if body is None:
        return None
    return {
        name: format(value, "f") if isinstance(value, Decimal) else value
        for name, value in body.items()
        if value is not None
    }


def raise_for_error(response: httpx.Response) -> None:
    if response.status_code < 400:
        return
    try:
        body: Any = response.json()
    except ValueError:
        body = response.text
    raise error_for(response.status_code, body, response.headers)


def parse(model: type[T], response: httpx.Response) -> T:
    raise_for_error(response)
    return model.model_validate(response.json())


def decode(response: httpx.Response) -> Any:
    raise_for_error(response)
    return response.json()


__all__ = [
    "DEFAULT_BASE_URL",
    "APIError",
    "RetryPolicy",
    "clean_params",
    "decode",
    "headers_for",
    "json_body",
    "new_idempotency_key",
    "parse",
    "should_retry",
]
