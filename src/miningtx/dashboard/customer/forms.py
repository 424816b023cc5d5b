"""What the customer pages share: reading a form with the API's own request model, so a form
and its API route accept exactly the same input. (Services act for `CustomerPrincipal.customer`.)"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from fastapi import Request
from pydantic import BaseModel, ValidationError

from miningtx.kit.db import Database
from miningtx.kit.errors import ApiError, invalid

M = TypeVar("M", bound=BaseModel)


def parse_form(model: type[M], data: Mapping[str, Any]) -> M:
    """`data` validated by the API's request `model`; the first problem as a 400 naming
    its field, so the page shows it beside that field."""
    try:
        return model.model_validate(dict(data))
    except ValidationError as error:
        first = error.errors()[0]
        location = [str(part) for part in first.get("loc", ())]
        field = location[0] if location else None
        message = str(first.get("msg", "This value is not valid."))
        if first.get("type") == "missing":
            message = "This field is required."
        raise ApiError(400, "invalid_request", message, param=field) from None


def parse_days(text: str) -> int:
    """A whole number of days typed into a form."""
    text = text.strip()
    if not text.isdigit() or len(text) > 4:
        raise invalid("days", "Enter a whole number of days.")
    return int(text)


def database(request: Request) -> Database:
    db: Database = request.app.state.db
    return db


def progress_percent(done: float, whole: float) -> int:
    """How far along something is, 0-100, for a progress bar."""
    if whole <= 0:
        return 100
    return max(0, min(100, int(done * 100 // whole)))
