"""Paged list operations: one awaitable that is also an async iterator over every item.

``await cp.asset.list(page=2)`` fetches that one page (an ``AssetList``);
``async for asset in cp.asset.list()`` walks every item of every page from the first (or from
``page=``), and ``async for reply in cp.asset.list().pages()`` walks the pages themselves.
Walking stops after the page whose number reaches the reply's ``pages_count``; when a reply has no
page total (absent or 0) it stops at the first empty page, or the first page shorter than its
``items_per_page``.

A walk fetches at most ``max_pages`` pages (``MAX_PAGES`` by default): a server whose pages never
end -- every page full, no page total or one it never reaches -- would otherwise be walked
forever. Past the limit the walk raises ``ResponseValidationError`` after yielding every page it
fetched; ``pages(max_pages=...)`` walks further (or less far).
"""

from __future__ import annotations

import operator
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable, Generator, Sequence
from typing import TYPE_CHECKING, Any, Final, Generic, TypeVar

from ._encode import is_count
from ._errors import CincopaValidationError, ResponseValidationError
from ._spec import PageLayout

__all__ = ["MAX_PAGES", "AsyncPager"]

#: The most pages one walk fetches by default: 2 million assets at 20 a page. Only a server whose
#: pages never end reaches it; ``pages(max_pages=...)`` changes it for one walk.
MAX_PAGES: Final = 100_000

ReplyT = TypeVar("ReplyT")
ItemT = TypeVar("ItemT")


class AsyncPager(Generic[ReplyT, ItemT]):
    """The result of a paged list method: await it for one page, iterate it for every item."""

    __slots__ = ("_fetch", "_get_info", "_get_items", "_info_path", "_operation", "_start_page")

    def __init__(
        self,
        fetch: Callable[[int | None], Awaitable[ReplyT]],
        layout: PageLayout,
        start_page: int | None,
        *,
        operation: str = "paging",
    ) -> None:
        self._fetch = fetch
        self._operation = operation
        self._info_path = layout.info
        self._get_items: Callable[[ReplyT], Sequence[ItemT]] = operator.attrgetter(layout.items)
        self._get_info: Callable[[ReplyT], Any] = operator.attrgetter(layout.info)
        self._start_page = start_page

    def __await__(self) -> Generator[Any, None, ReplyT]:
        return self._fetch(self._start_page).__await__()

    if not TYPE_CHECKING:  # a checker already rejects ``pager.items``: keep it doing so

        def __getattr__(self, name: str) -> Any:
            """A missing attribute is most often a forgotten ``await``: say so."""
            if name.startswith("_"):
                raise AttributeError(name)
            raise AttributeError(
                f"'AsyncPager' object has no attribute {name!r}: did you mean"
                f" `(await cp.<resource>.list(...)).{name}` (one page) or"
                " `async for item in cp.<resource>.list(...)` (every item)?",
                name=name,
                obj=self,
            )

    def __aiter__(self) -> AsyncIterator[ItemT]:
        return self._items()

    async def _items(self) -> AsyncIterator[ItemT]:
        async for reply in self.pages():
            for item in self._get_items(reply):
                yield item

    async def pages(self, *, max_pages: int = MAX_PAGES) -> AsyncGenerator[ReplyT, None]:
        """Every page from the start page on, one reply at a time, at most ``max_pages`` of them.

        Raises ``CincopaValidationError`` for a ``max_pages`` that is not an int >= 1 (before
        anything is sent), and ``ResponseValidationError`` when ``max_pages`` pages were fetched
        and the walk has not reached its end (after yielding them; no further page is fetched).
        """
        if not is_count(max_pages, 1):
            raise CincopaValidationError(
                [f"max_pages: must be an int >= 1, got {max_pages!r:.40}"],
                operation=self._operation,
            )
        page = self._start_page or 1
        fetched = 0
        while True:
            reply = await self._fetch(page)
            fetched += 1
            yield reply
            items = self._get_items(reply)
            info = self._get_info(reply)
            if not items:
                return
            pages_count = getattr(info, "pages_count", 0)
            if pages_count:
                if page >= pages_count:
                    return
            else:
                per_page = getattr(info, "items_per_page", 0)
                if per_page and len(items) < per_page:
                    return
            if fetched >= max_pages:
                problem = (
                    f"the pages did not end within max_pages={max_pages}: page {page} was not"
                    f" the last @ {self._info_path}"
                )
                raise ResponseValidationError(
                    f"{self._operation}: {problem}; stopped there (a larger max_pages walks"
                    " further)",
                    operation=self._operation,
                    url=None,
                    errors=[problem],
                )
            page += 1
