"""What the customer pages share: acting as the signed-in customer, and reading a form with
the API's own request model, so a form and its API route accept exactly the same input."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from fastapi import Request
from pydantic import BaseModel, ValidationError

from miningtx.customers.service import Principal
from miningtx.dashboard.sessions import CustomerPrincipal
from miningtx.kit.db import Database
from miningtx.kit.errors import ApiError, invalid

M = TypeVar("M", bound=BaseModel)

#: Stands in for the API key in the `Principal` a service takes: dashboard requests are
#: authenticated by the session, and services only read the customer from it.
NO_KEY_SEQ = 0
NO_KEY_ID = "dashboard"


def acting_as(principal: CustomerPrincipal) -> Principal:
    """The service-layer principal of the signed-in customer."""
    return Principal(principal.customer_seq, principal.customer_id, NO_KEY_SEQ, NO_KEY_ID)


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
