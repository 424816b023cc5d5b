"""What the console's forms share: reading typed amounts and decimals into the units the
services take, and showing a service's refusal beside the form field that caused it."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse

from miningtx.dashboard.rendering import render_refused
from miningtx.kit.errors import ApiError, invalid
from miningtx.kit.money import AmountError, parse_amount, parse_decimal


def amount_field(param: str, text: str) -> int:
    """A USDT amount typed into field `param`, in micro-USDT; 400 beside that field."""
    try:
        return parse_amount(text.strip())
    except AmountError as error:
        raise invalid(param, str(error)) from None


def decimal_field(param: str, text: str, scale: int) -> int:
    """A non-negative decimal with at most `scale` decimals typed into field `param`."""
    try:
        return parse_decimal(text, scale)
    except AmountError:
        raise invalid(
            param, f"Enter a number with at most {scale} decimals, such as 1.5."
        ) from None


def whole_field(param: str, text: str) -> int:
    """A whole number typed into field `param`."""
    text = text.strip()
    if not text.isdigit() or len(text) > 9:
        raise invalid(param, "Enter a whole number.")
    return int(text)


async def refused(
    request: Request,
    template: str,
    error: ApiError,
    *,
    fields: Collection[str],
    context: Mapping[str, Any],
    values: Mapping[str, Any] | None = None,
    renamed: Mapping[str, str] | None = None,
) -> HTMLResponse:
    """`render_refused`, after naming the service's `param` as the form names its field
    (the service speaks of `hash_mths`, the form asks for TH/s in `hash_ths`)."""
    if error.param is not None and renamed and error.param in renamed:
        error = ApiError(
            error.status,
            error.code,
            error.message,
            param=renamed[error.param],
            headers=error.headers,
        )
    return await render_refused(
        request, template, error, fields=fields, values=values, context=context
    )
