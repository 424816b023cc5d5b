"""Driving the pages in-process with httpx: CSRF tokens, form posts, signing in."""

from __future__ import annotations

import html
import re
from datetime import datetime, tzinfo
from typing import Any

import httpx

_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_of(page: httpx.Response) -> str:
    """The CSRF token of the first form on a rendered page."""
    match = _CSRF.search(page.text)
    assert match is not None, f"no CSRF token on the page:\n{page.text[:2000]}"
    return html.unescape(match.group(1))


def field_error(page: httpx.Response, name: str) -> str | None:
    """The error shown beside field `name`, checking it is tied to the input for screen readers."""
    match = re.search(rf'<p class="field-error" id="f-{name}-error">([^<]*)</p>', page.text)
    if match is None:
        return None
    input_tag = re.search(rf'<(?:input|select)[^>]*id="f-{name}"[^>]*>', page.text)
    assert input_tag is not None
    assert f"f-{name}-error" in input_tag.group(0), "the error is not in aria-describedby"
    assert 'aria-invalid="true"' in input_tag.group(0)
    return html.unescape(match.group(1))


async def submit(
    client: httpx.AsyncClient, page_path: str, action: str, data: dict[str, str]
) -> httpx.Response:
    """Open `page_path`, then post `data` to `action` with the page's CSRF token."""
    page = await client.get(page_path)
    assert page.status_code == 200, page.text
    return await client.post(action, data={"csrf_token": csrf_of(page), **data})


async def sign_in(
    client: httpx.AsyncClient, identifier: str, password: str, *, console: bool = False
) -> httpx.Response:
    if console:
        return await submit(
            client, "/console/login", "/console/login", {"email": identifier, "password": password}
        )
    return await submit(
        client, "/login", "/login", {"identifier": identifier, "password": password}
    )


class TotpClock:
    """Stands in for `datetime` inside `kit.clock`, so every `utcnow()` (the in-process
    site's and the test's alike) reads `moment`; everything else is `datetime`'s own."""

    def __init__(self, moment: datetime) -> None:
        self.moment = moment

    def now(self, tz: tzinfo | None = None) -> datetime:
        return self.moment.astimezone(tz) if tz is not None else self.moment

    def __getattr__(self, name: str) -> Any:
        return getattr(datetime, name)
