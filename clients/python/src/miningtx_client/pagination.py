"""Cursor pages: iterate one page, or every entry across pages with `auto_paging_iter()`."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from typing import Generic, TypeVar

T = TypeVar("T")


@dataclass(frozen=True)
class Page(Generic[T]):
    """One page of a list; `next_page()` fetches the one after it with the same filters."""

    data: list[T]
    has_more: bool
    next_cursor: str | None
    _fetch: Callable[[str], Page[T]]

    def __iter__(self) -> Iterator[T]:
        return iter(self.data)

    def __len__(self) -> int:
        return len(self.data)

    def next_page(self) -> Page[T] | None:
        if not self.has_more or self.next_cursor is None:
            return None
        return self._fetch(self.next_cursor)

    def auto_paging_iter(self) -> Iterator[T]:
        """Every entry from this page on, fetching the next page when one runs out."""
        page: Page[T] | None = self
        while page is not None:
            yield from page.data
            page = page.next_page()


@dataclass(frozen=True)
class AsyncPage(Generic[T]):
    """The async client's page: `await page.next_page()`, or
    `async for entry in page.auto_paging_iter()`."""

    data: list[T]
    has_more: bool
    next_cursor: str | None
    _fetch: Callable[[str], Awaitable[AsyncPage[T]]]

    def __iter__(self) -> Iterator[T]:
        return iter(self.data)

    def __len__(self) -> int:
        return len(self.data)

    async def next_page(self) -> AsyncPage[T] | None:
        if not self.has_more or self.next_cursor is None:
            return None
        return await self._fetch(self.next_cursor)

    async def auto_paging_iter(self) -> AsyncIterator[T]:
        page: AsyncPage[T] | None = self
        while page is not None:
            for item in page.data:
                yield item
            page = await page.next_page()
