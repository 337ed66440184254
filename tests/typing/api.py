"""Type-checked by mypy and pyright (``nox -s typing``), never executed: the public API's types
are pinned."""

from __future__ import annotations

from typing import assert_type

from cincopa_async import (
    Ack,
    Asset,
    AssetList,
    AsyncCincopa,
    AsyncPager,
    Gallery,
    GalleryList,
    ImportStatus,
    Ping,
    RateLimitError,
)


async def public_types() -> None:
    async with AsyncCincopa("token") as cp:
        assert_type(cp, AsyncCincopa)
        assert_type(await cp.ping(), Ping)
        assert_type(cp.asset.list(type=["video"]), AsyncPager[AssetList, Asset])
        assert_type(await cp.asset.list(), AssetList)
        async for asset in cp.asset.list():
            assert_type(asset, Asset)
        async for gallery in cp.gallery.list():
            assert_type(gallery, Gallery)
        assert_type(await cp.gallery.list(), GalleryList)
        assert_type(await cp.asset.set_meta(rid="R", tags=["a", "b"]), Ack)
        assert_type(await cp.portal.rename(from_="old", to="new"), Ack)
        assert_type(await cp.asset.upload_from_url_get_status(status_id="S"), ImportStatus)
        assert_type(cp.upload.iframe(fid="F"), str)
        assert_type(cp.with_options(max_retries=0), AsyncCincopa)
        try:
            await cp.gallery.delete(fid="F", delete_assets=True)
        except RateLimitError as error:
            assert_type(error.retry_after, float | None)


async def rejected_by_mypy(cp: AsyncCincopa) -> None:
    await cp.asset.set_meta(rid=1)  # type: ignore[arg-type]
    await cp.gallery.add_item(fid="F", rid=["R"], insert_position="middle")  # type: ignore[arg-type]
    await cp.asset.list("positional")  # type: ignore[call-arg]
