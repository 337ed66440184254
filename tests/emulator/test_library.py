"""Assets and galleries: paging, search and filters, metadata, items, master/linked rules."""

from __future__ import annotations

import httpx
import pytest

from cincopa_async.testing import CincopaEmulator
from tests.emulator._support import Api, rid_of

pytestmark = pytest.mark.anyio


async def _upload(http: httpx.AsyncClient, api: Api, name: str, fid: str | None = None) -> str:
    params = {"fid": fid} if fid else {}
    url = (await api("asset.get_upload_url", **params))["upload_url"]
    reply = await http.post(url, files={"file": (name, b"x" * 10, "application/octet-stream")})
    return rid_of(reply.text)


async def test_asset_list_paging(http: httpx.AsyncClient, api: Api) -> None:
    rids = [await _upload(http, api, f"clip{i:02}.mp4") for i in range(45)]
    first = await api("asset.list")
    assert first["items_data"] == {
        "page": 1,
        "items_per_page": 20,
        "items_count": 45,
        "pages_count": 3,
    }
    assert [a["rid"] for a in first["items"]] == rids[::-1][:20]
    seen: list[str] = []
    page = 1
    while True:
        reply = await api("asset.list", page=page, items_per_page=10)
        seen += [a["rid"] for a in reply["items"]]
        if reply["items_data"]["page"] >= reply["items_data"]["pages_count"]:
            break
        page += 1
    assert seen == rids[::-1]
    capped = await api("asset.list", items_per_page=500)
    assert capped["items_data"]["items_per_page"] == 100
    assert len(capped["items"]) == 45
    past = await api("asset.list", page=9)
    assert past["items"] == []
    assert (await api("asset.list", page=0))["success"] is False


async def test_asset_search_and_filters(http: httpx.AsyncClient, api: Api) -> None:
    intro = await _upload(http, api, "intro.mp4")
    logo = await _upload(http, api, "logo.png")
    song = await _upload(http, api, "song.mp3")
    await api("asset.set_meta", rid=intro, caption="Welcome", tags="promo,2025", reference_id="s")
    await api("asset.set_meta", rid=logo, description="The company LOGO", tags="brand")
    await api("asset.set_meta", rid=song, tags="promo", reference_id="s")

    async def rids(**params: str) -> set[str]:
        return {a["rid"] for a in (await api("asset.list", **params))["items"]}

    assert await rids(search="welcome") == {intro}
    assert await rids(search="logo") == {logo}
    assert await rids(search="tag=promo") == {intro, song}
    assert await rids(rid=f"{intro},{song}") == {intro, song}
    assert await rids(reference_id="s") == {intro, song}
    assert await rids(tag="promo") == {intro, song}
    assert await rids(type="video,image") == {intro, logo}
    assert await rids(type="music", tag="promo") == {song}
    assert await rids(search="nothing-matches") == set()
    cloud = await api("asset.get_tags")
    assert cloud["tag_cloud"] == {"promo": 2, "2025": 1, "brand": 1}
    one = (await api("asset.list", rid=intro))["items"][0]
    assert one["caption"] == "Welcome"
    assert one["tags"] == "promo,2025"
    assert one["type"] == "video"
    assert one["filesize"] == 10
    assert set(one["versions"]) >= {"original", "mp4_hd"}
    original = await http.get(one["versions"]["original"]["url"])
    assert original.content == b"x" * 10


async def test_set_meta_only_changes_given_fields(http: httpx.AsyncClient, api: Api) -> None:
    rid = await _upload(http, api, "a.jpg")
    await api("asset.set_meta", rid=rid, caption="A", description="first")
    before = (await api("asset.list", rid=rid))["items"][0]
    await api("asset.set_meta", rid=rid, description="second")
    after = (await api("asset.list", rid=rid))["items"][0]
    assert after["caption"] == "A"
    assert after["description"] == "second"
    assert after["modified"] >= before["modified"]
    assert (await api("asset.set_meta", rid="missing"))["success"] is False
    assert (await api("asset.resync", rid=rid))["success"] is True


async def test_gallery_items_order_and_positions(http: httpx.AsyncClient, api: Api) -> None:
    fid = (await api("gallery.create", name="G", _method="POST"))["fid"]
    a, b, c = [await _upload(http, api, f"{n}.jpg") for n in "abc"]
    assert (await api("gallery.add_item", fid=fid, rid=f"{a},{b}"))["success"] is True
    await api("gallery.add_item", fid=fid, rid=c, insert_position="top")
    await api("gallery.add_item", fid=fid, rid=a)  # already there: keeps its place
    items = await api("gallery.get_items", fid=fid)
    assert [i["rid"] for i in items["folder"]["items"]] == [c, a, b]
    assert items["folder"]["items_data"]["pages_count"] == 1
    assert items["claimed"] == "yes"
    paged = await api("gallery.get_items", fid=fid, items_per_page=2, page=2)
    assert [i["rid"] for i in paged["folder"]["items"]] == [b]
    assert (await api("gallery.add_item", fid=fid, rid="nope"))["success"] is False
    assert (await api("gallery.remove_item", fid=fid, rid=a))["success"] is True
    assert (await api("gallery.remove_item", fid=fid, rid=a))["success"] is False
    items = await api("gallery.get_items", fid=fid)
    assert [i["rid"] for i in items["folder"]["items"]] == [c, b]
    assert (await api("asset.list", rid=a))["items"], "removing keeps the asset"


async def test_upload_into_gallery_and_delete_with_assets(
    http: httpx.AsyncClient, api: Api
) -> None:
    keep = (await api("gallery.create", name="keep"))["fid"]
    drop = (await api("gallery.create", name="drop"))["fid"]
    in_drop = await _upload(http, api, "x.mp4", fid=drop)
    in_keep = await _upload(http, api, "y.mp4", fid=keep)
    await api("gallery.add_item", fid=keep, rid=in_drop)
    assert (await api("gallery.delete", fid=keep))["success"] is True
    assert (await api("asset.list", rid=in_keep))["items"], "assets stay by default"
    assert (await api("gallery.delete", fid=drop, delete_assets="yes"))["success"] is True
    assert (await api("asset.list", rid=in_drop))["items"] == []
    assert (await api("gallery.get_items", fid=drop))["success"] is False


async def test_delete_asset_removes_it_from_galleries(http: httpx.AsyncClient, api: Api) -> None:
    fid = (await api("gallery.create", name="G"))["fid"]
    rid = await _upload(http, api, "z.png", fid=fid)
    assert (await api("asset.delete", rid=rid))["success"] is True
    assert (await api("gallery.get_items", fid=fid))["folder"]["items"] == []
    assert (await api("asset.delete", rid=rid))["success"] is False


async def test_gallery_list_search_tags_and_paging(api: Api) -> None:
    fids = [(await api("gallery.create", name=f"Gallery {i}"))["fid"] for i in range(25)]
    await api("gallery.set_meta", fid=fids[0], name="Product videos", tags="promo,spring")
    await api("gallery.set_meta", fid=fids[1], description="about products", tags="promo")
    await api("gallery.set_meta", fid=fids[2], tags="archive,promo")
    first = await api("gallery.list")
    assert first["items_data"] == {
        "page": 1,
        "items_per_page": 20,
        "items_count": 25,
        "page_count": 2,
    }
    assert first["workspace"] == "default"
    assert first["tag_cloud"] == {"promo": 3, "spring": 1, "archive": 1}
    assert first["galleries"][0]["fid"] == fids[-1]
    assert "upload_url" in first["galleries"][0]

    async def found(**params: str) -> set[str]:
        return {g["fid"] for g in (await api("gallery.list", **params))["galleries"]}

    assert await found(search="caption=product videos") == {fids[0]}
    assert await found(search="product") == {fids[0], fids[1]}
    assert await found(filter_tags="promo") == {fids[0], fids[1], fids[2]}
    assert await found(filter_tags="promo,-archive") == {fids[0], fids[1]}
    assert await found(search="tag=spring") == {fids[0]}


async def test_master_and_linked_rules(emu: CincopaEmulator, api: Api) -> None:
    master = (await api("gallery.create", name="Master", template="/t/a"))["fid"]
    plain = (await api("gallery.create", name="Plain"))["fid"]
    assert (await api("gallery.set_master", master=plain, fid=master))["success"] is False
    assert (await api("gallery.set_master", master=master))["success"] is True
    assert (await api("gallery.set_master", master=master))["success"] is True  # idempotent
    assert (await api("gallery.set_master", master=master, fid=plain))["success"] is True
    assert emu.state.main.galleries[plain].master == master
    assert emu.state.main.galleries[plain].template == "/t/a"
    assert (await api("gallery.set_master", master=master, fid=master))["success"] is False
    assert (await api("gallery.set_master", master=plain))["success"] is False  # linked
    linked = await api("gallery.create", name="Linked", master=master)
    assert emu.state.main.galleries[linked["fid"]].master == master
    assert (await api("gallery.create", name="Bad", master=plain))["success"] is False
    other = (await api("gallery.create", name="Other master"))["fid"]
    await api("gallery.set_master", master=other)
    assert (await api("gallery.set_master", master=other, fid=master))["success"] is False
    refused = await api("gallery.delete", fid=master)
    assert refused["success"] is False
    assert "master" in refused["message"]
    assert (await api("gallery.delete", fid=plain))["success"] is True


async def test_gallery_create_copies(http: httpx.AsyncClient, api: Api) -> None:
    source = (await api("gallery.create", name="Src"))["fid"]
    rid = await _upload(http, api, "a.jpg", fid=source)
    copy = await api("gallery.create", name="Copy", copy_items=source, copy_args=source)
    items = await api("gallery.get_items", fid=copy["fid"])
    assert [i["rid"] for i in items["folder"]["items"]] == [rid]
    assert (await api("gallery.create", name="x", copy_items="nope"))["success"] is False


async def test_live_streams(api: Api) -> None:
    sid = (await api("live.create", name="Show"))["id"]
    assert (await api("live.start", id=sid))["success"] is True
    streams = (await api("live.list"))["live_streams"]
    assert [(s["id"], s["status"]) for s in streams] == [(sid, "live")]
    await api("live.stop", id=sid)
    await api("live.reset", id=sid)
    assert (await api("live.list"))["live_streams"][0]["status"] == "idle"
    assert (await api("live.delete", id=sid))["success"] is True
    assert (await api("live.start", id=sid))["success"] is False


async def test_download_and_upload_token(api: Api) -> None:
    fid = (await api("gallery.create", name="G"))["fid"]
    assert (await api("gallery.download", fid=fid))["url"].endswith(f"/download/{fid}.zip")
    invite = await api("upload.get_upload_token", fid=fid)
    assert invite["token"]
    assert f"addtofid={fid}" in invite["upload_url"]
