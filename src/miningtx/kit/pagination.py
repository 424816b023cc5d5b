"""Opaque keyset cursors and the list envelope.

A cursor names the last row a page returned (its sequence number); the next page
starts strictly after it, so rows inserted meanwhile never shift or repeat a page.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Annotated, Generic, TypeVar

from fastapi import Query

from miningtx.kit.errors import invalid

T = TypeVar("T")
_PREFIX = "cur_"


def encode_cursor(seq: int) -> str:
    raw = f"v1:{seq}".encode()
    return _PREFIX + base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> int:
    """The sequence number inside `cursor`, or a 400 naming the `cursor` parameter."""
    if not cursor.startswith(_PREFIX) or len(cursor) > 64:
        raise invalid("cursor", "The cursor is not one this API returned.")
    body = cursor[len(_PREFIX) :]
    try:
        text = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise invalid("cursor", "The cursor is not one this API returned.") from None
    version, _, number = text.partition(":")
    if version != "v1" or not number.isdigit() or len(number) > 18:
        raise invalid("cursor", "The cursor is not one this API returned.")
    return int(number)


@dataclass(frozen=True, slots=True)
class PageRequest:
    limit: int
    after_seq: int | None


async def page_request(
    limit: Annotated[
        int, Query(ge=1, le=100, description="Entries per page (default 30, max 100).")
    ] = 30,
    cursor: Annotated[
        str | None, Query(description="Pagination cursor from a previous response.")
    ] = None,
) -> PageRequest:
    """FastAPI dependency for the `limit` and `cursor` query parameters."""
    return PageRequest(limit=limit, after_seq=decode_cursor(cursor) if cursor else None)


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    items: Sequence[T]
    has_more: bool
    next_cursor: str | None


def make_page(rows: Sequence[tuple[int, T]], limit: int) -> Page[T]:
    """Build a page from up to limit+1 (seq, item) rows fetched newest first."""
    has_more = len(rows) > limit
    kept = rows[:limit]
    return Page(
        items=[item for _, item in kept],
        has_more=has_more,
        next_cursor=encode_cursor(kept[-1][0]) if has_more and kept else None,
    )
