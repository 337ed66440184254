"""Paged list operations: await for one page, async-iterate for every item."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from .conftest import MakeClient

pytestmark = pytest.mark.anyio


def asset_pages(total: int, per_page: int, *, with_total: bool = True):  # type: ignore[no-untyped-def]  # test helper
    def handler(request: httpx.Request) -> httpx.Response:
        page = int(request.url.params.get("page", "1"))
        start = (page - 1) * per_page
        rids = [f"R{index}" for index in range(start, min(start + per_page, total))]
        info: dict[str, Any] = {"page": page, "items_per_page": per_page, "items_count": total}
        if with_total:
            info["pages_count"] = max(1, -(-total // per_page))
        return httpx.Response(
            200, json={"success": True, "items": [{"rid": r} for r in rids], "items_data": info}
        )

    return handler


async def test_await_gives_one_page(make_client: MakeClient) -> None:
    """``await cp.asset.list(page=2)`` is that one page."""
    client, recorder = make_client(asset_pages(25, 10))
    async with client:
        page = await client.asset.list(page=2, items_per_page=10)
    assert [a.rid for a in page.items] == [f"R{i}" for i in range(10, 20)]
    assert page.items_data.pages_count == 3
    assert len(recorder.requests) == 1


async def test_async_for_walks_every_page_and_stops(make_client: MakeClient) -> None:
    """Iteration yields every item once and stops on the last page (no extra request)."""
    client, recorder = make_client(asset_pages(25, 10))
    async with client:
        rids = [asset.rid async for asset in client.asset.list(items_per_page=10, type=["video"])]
    assert rids == [f"R{i}" for i in range(25)]
    assert [r.url.params["page"] for r in recorder.requests] == ["1", "2", "3"]
    assert all(r.url.params["type"] == "video" for r in recorder.requests)


async def test_iteration_starts_at_the_given_page(make_client: MakeClient) -> None:
    client, recorder = make_client(asset_pages(25, 10))
    async with client:
        rids = [asset.rid async for asset in client.asset.list(page=3, items_per_page=10)]
    assert rids == ["R20", "R21", "R22", "R23", "R24"]
    assert len(recorder.requests) == 1


async def test_without_a_page_total_it_stops_at_a_short_page(make_client: MakeClient) -> None:
    """No pages_count in the reply: stop after the first page shorter than items_per_page."""
    client, recorder = make_client(asset_pages(20, 10, with_total=False))
    async with client:
        rids = [asset.rid async for asset in client.asset.list(items_per_page=10)]
    assert len(rids) == 20
    assert len(recorder.requests) == 3  # the third page is empty


async def test_empty_library(make_client: MakeClient) -> None:
    client, recorder = make_client(asset_pages(0, 10))
    async with client:
        assert [a async for a in client.asset.list()] == []
    assert len(recorder.requests) == 1


async def test_gallery_list_reads_page_count(make_client: MakeClient) -> None:
    """gallery.list says ``page_count``; walking still stops on the last page."""

    def handler(request: httpx.Request) -> httpx.Response:
        page = int(request.url.params["page"])
        return httpx.Response(
            200,
            json={
                "success": True,
                "galleries": [{"fid": f"G{page}a"}, {"fid": f"G{page}b"}],
                "items_data": {"page": page, "items_per_page": 2, "page_count": 2},
            },
        )

    client, recorder = make_client(handler)
    async with client:
        fids = [g.fid async for g in client.gallery.list()]
    assert fids == ["G1a", "G1b", "G2a", "G2b"]
    assert len(recorder.requests) == 2


async def test_gallery_items_live_inside_folder(make_client: MakeClient) -> None:
    """gallery.get_items keeps items and paging info inside ``folder``."""

    def handler(request: httpx.Request) -> httpx.Response:
        page = int(request.url.params["page"])
        return httpx.Response(
            200,
            json={
                "success": True,
                "fid": "G1",
                "folder": {
                    "items": [{"rid": f"P{page}"}],
                    "items_data": {"page": page, "items_per_page": 1, "pages_count": 3},
                },
            },
        )

    client, recorder = make_client(handler)
    async with client:
        rids = [a.rid async for a in client.gallery.get_items(fid="G1")]
        pages = [p.folder.items_data.page async for p in client.gallery.get_items(fid="G1").pages()]
    assert rids == ["P1", "P2", "P3"]
    assert pages == [1, 2, 3]
    assert all(r.url.params["fid"] == "G1" for r in recorder.requests)


async def test_a_forgotten_await_says_what_was_meant(make_client: MakeClient) -> None:
    """``cp.asset.list().items`` (no await) names the two ways to use a pager, and sends nothing."""
    client, recorder = make_client(asset_pages(5, 10))
    async with client:
        pager: Any = client.asset.list()
        with pytest.raises(AttributeError, match=r"did you mean `\(await .*\)\.items`") as caught:
            _ = pager.items
        assert "async for item in" in str(caught.value)
        assert caught.value.name == "items"
        with pytest.raises(AttributeError, match=r"^_private$"):
            _ = pager._private
        assert not hasattr(pager, "items_data")
    assert recorder.requests == []


def full_pages_forever(request: httpx.Request) -> httpx.Response:
    """A server whose pages never end: every page full, no page total."""
    page = int(request.url.params["page"])
    items = [{"rid": f"R{page}-{index}"} for index in range(2)]
    info = {"page": page, "items_per_page": 2, "items_count": 0}
    return httpx.Response(200, json={"success": True, "items": items, "items_data": info})


async def test_pages_that_never_end_stop_at_max_pages_with_an_error(
    make_client: MakeClient,
) -> None:
    """Every page yielded up to ``max_pages``, then a typed error; no page past it is fetched."""
    from cincopa_async import ResponseValidationError

    client, recorder = make_client(full_pages_forever)
    seen: list[int] = []

    async def walk() -> None:
        async for reply in client.asset.list(items_per_page=2).pages(max_pages=3):
            seen.append(reply.items_data.page)

    async with client:
        with pytest.raises(ResponseValidationError) as caught:
            await walk()
    assert seen == [1, 2, 3]
    assert len(recorder.requests) == 3
    assert caught.value.operation == "asset.list"
    assert "max_pages=3" in str(caught.value)
    assert caught.value.errors == (
        "the pages did not end within max_pages=3: page 3 was not the last @ items_data",
    )


async def test_a_walk_that_ends_at_max_pages_is_no_error(make_client: MakeClient) -> None:
    client, recorder = make_client(asset_pages(6, 2))  # exactly 3 pages
    async with client:
        pages = [p async for p in client.asset.list(items_per_page=2).pages(max_pages=3)]
    assert len(pages) == len(recorder.requests) == 3


async def test_max_pages_is_validated_before_anything_is_sent(make_client: MakeClient) -> None:
    from cincopa_async import CincopaValidationError
    from cincopa_async._paging import MAX_PAGES

    assert MAX_PAGES >= 100_000  # 2 million assets at 20 a page: only a broken server gets there
    client, recorder = make_client(full_pages_forever)
    async with client:
        for bad in (0, -1, True, 2.5, "3"):
            pages = client.asset.list().pages(max_pages=bad)  # type: ignore[arg-type]  # wrong on purpose
            with pytest.raises(CincopaValidationError, match="max_pages"):
                await anext(pages)
    assert recorder.requests == []
