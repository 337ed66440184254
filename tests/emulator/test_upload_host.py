"""The fake upload host: multipart, chunked (out of order), attachments, error replies."""

from __future__ import annotations

import httpx
import pytest

from cincopa_async.testing import CincopaEmulator
from tests.emulator._support import Api, rid_of, upload_raw

pytestmark = pytest.mark.anyio

FINAL_LINES = [
    "authentication ok",
    "file received ok",
    "reading metadata ok",
    "file stored ok",
    "creating resource ok",
]


async def test_upload_url_shape(api: Api, emu: CincopaEmulator) -> None:
    url = (await api("asset.get_upload_url"))["upload_url"]
    parsed = httpx.URL(url)
    assert parsed.scheme == "http"
    assert parsed.host == "cincopa.localhost"
    assert parsed.path == "/upload/post.jpg"
    assert parsed.params["uid"] == emu.account_id
    assert parsed.params["addtofid"] == "0"
    assert parsed.params["d"]
    assert parsed.params["hash"]


async def test_multipart_upload_into_gallery(
    emu: CincopaEmulator, api: Api, http: httpx.AsyncClient
) -> None:
    fid = (await api("gallery.create", name="G"))["fid"]
    url = (await api("asset.get_upload_url", fid=fid))["upload_url"]
    reply = await http.post(url, files={"file": ("Intro Clip.mp4", b"v" * 1000, "video/mp4")})
    lines = reply.text.splitlines()
    assert reply.status_code == 200
    assert lines[:5] == FINAL_LINES
    assert lines[5].startswith("new resource id ")
    assert lines[6] == "done."
    assert reply.text.endswith("\n")
    _, _, _, numeric, rid = lines[5].split()
    asset = emu.state.main.assets[rid]
    assert (asset.id, asset.filename, asset.filesize, asset.type) == (
        numeric,
        "Intro Clip.mp4",
        1000,
        "video",
    )
    items = (await api("gallery.get_items", fid=fid))["folder"]["items"]
    assert [i["rid"] for i in items] == [rid]
    assert emu.requests[-2].operation == "upload"


async def test_gallery_upload_url_from_list(api: Api, http: httpx.AsyncClient) -> None:
    fid = (await api("gallery.create", name="G"))["fid"]
    url = (await api("gallery.list"))["galleries"][0]["upload_url"]
    reply = await upload_raw(http, url, b"abc", "one%20shot.png")
    rid = rid_of(reply.text)
    items = (await api("gallery.get_items", fid=fid))["folder"]["items"]
    assert items[0]["rid"] == rid
    assert items[0]["filename"] == "one shot.png"


async def test_chunked_upload_out_of_order(
    emu: CincopaEmulator, api: Api, http: httpx.AsyncClient
) -> None:
    url = (await api("asset.get_upload_url"))["upload_url"]
    data = bytes(range(256)) * 40  # 10240 bytes
    chunks = [(start, data[start : start + 4096]) for start in range(0, len(data), 4096)]
    order = [chunks[2], chunks[0], chunks[1]]
    replies = []
    for start, piece in order:
        replies.append(
            await upload_raw(
                http, url, piece, "big.mov", start=start, total=len(data), unique_id="u1"
            )
        )
        if len(replies) == 2:
            session = emu.upload_sessions()[-1]
            assert session.received_ranges() == [(0, 4096), (8192, 10240)]
            assert session.missing_ranges() == [(4096, 8192)]
            assert not session.complete
    assert [r.text for r in replies[:2]] == ["authentication ok\nchunk done.\n"] * 2
    rid = rid_of(replies[2].text)
    assert emu.state.main.assets[rid].content == data
    assert emu.state.main.assets[rid].filesize == len(data)
    session = emu.upload_sessions()[-1]
    assert emu.upload_session(url, "big.mov", "u1") is session
    assert emu.upload_session(url, "big.mov") is None
    assert session.complete
    assert session.rid == rid
    chunk_log = [r.chunk for r in emu.requests if r.operation == "upload"]
    assert chunk_log == [(8192, 10240, 10240), (0, 4096, 10240), (4096, 8192, 10240)]


async def test_same_name_uploads_kept_apart_by_unique_id(
    emu: CincopaEmulator, api: Api, http: httpx.AsyncClient
) -> None:
    url = (await api("asset.get_upload_url"))["upload_url"]
    await upload_raw(http, url, b"AA", "f.bin", start=0, total=4, unique_id="one")
    await upload_raw(http, url, b"bb", "f.bin", start=0, total=4, unique_id="two")
    done_one = await upload_raw(http, url, b"AA", "f.bin", start=2, total=4, unique_id="one")
    done_two = await upload_raw(http, url, b"bb", "f.bin", start=2, total=4, unique_id="two")
    assets = emu.state.main.assets
    assert assets[rid_of(done_one.text)].content == b"AAAA"
    assert assets[rid_of(done_two.text)].content == b"bbbb"


@pytest.mark.parametrize(
    "content_range",
    ["bytes 0-10/5", "bytes 5-5/10", "bytes 0-3/10", "chars 0-4/4", "bytes x-y/z"],
)
async def test_bad_content_range(api: Api, http: httpx.AsyncClient, content_range: str) -> None:
    url = (await api("asset.get_upload_url"))["upload_url"]
    reply = await http.post(
        url, content=b"abcd", headers={"X-File-Name": "a.bin", "Content-Range": content_range}
    )
    assert "error" in reply.text


async def test_error_replies(emu: CincopaEmulator, api: Api, http: httpx.AsyncClient) -> None:
    url = httpx.URL((await api("asset.get_upload_url", ttl=60))["upload_url"])
    tampered = url.copy_set_param("hash", "0" * 32)
    assert "error" in (await upload_raw(http, str(tampered), b"x", "a.jpg")).text
    wrong_uid = url.copy_set_param("uid", "1111111")
    assert "error" in (await upload_raw(http, str(wrong_uid), b"x", "a.jpg")).text
    bad_fid = url.copy_set_param("addtofid", "nope")
    assert "error" in (await upload_raw(http, str(bad_fid), b"x", "a.jpg")).text
    no_name = await http.post(str(url), content=b"x")
    assert "error" in no_name.text
    empty_form = await http.post(str(url), data={"a": "b"}, files={"x": ("", b"")})
    assert empty_form.status_code == 200
    emu.advance_clock(61)
    expired = await upload_raw(http, str(url), b"x", "a.jpg")
    assert "error" in expired.text
    assert "expired" in expired.text
    assert (await http.get(str(url))).status_code == 405


async def test_source_ip_restriction(api: Api, http: httpx.AsyncClient) -> None:
    url = (await api("asset.get_upload_url", sourceip="10.1.1.1"))["upload_url"]
    assert "error" in (await upload_raw(http, url, b"x", "a.jpg")).text
    local = (await api("asset.get_upload_url", sourceip="127.0.0.1"))["upload_url"]
    assert "done." in (await upload_raw(http, local, b"x", "a.jpg")).text


async def test_attach_thumbnail_to_asset(
    emu: CincopaEmulator, api: Api, http: httpx.AsyncClient
) -> None:
    url = (await api("asset.get_upload_url"))["upload_url"]
    rid = rid_of((await upload_raw(http, url, b"video", "v.mp4")).text)
    assert (await api("asset.get_upload_url", rid=rid))["success"] is False  # type needed
    attach = (await api("asset.get_upload_url", rid=rid, type="thumb"))["upload_url"]
    reply = await upload_raw(http, attach, b"jpeg", "poster.jpg")
    assert rid_of(reply.text) == rid
    asset = (await api("asset.list", rid=rid))["items"][0]
    assert asset["thumbnail"]["url"].endswith("/thumb/poster.jpg")
    assert (await http.get(asset["thumbnail"]["url"])).content == b"jpeg"
    assert len(emu.state.main.assets) == 1


async def streaming_post(
    http: httpx.AsyncClient, url: str, data: bytes, start: int, total: int | None, **headers: str
) -> httpx.Response:
    """A chunk as Cincopa's recorder sends it (S7): no total but on the last, no unique-id."""
    content_range = f"bytes {start}-{start + len(data)}" + (f"/{total}" if total else "")
    return await http.post(
        url,
        content=data,
        headers={
            "Content-Type": "multipart/form-data",
            "X-FILE-NAME": "rec%20ord.webm",
            "Content-Range": content_range,
            **headers,
        },
    )


@pytest.mark.parametrize("unique_id", [None, "1733091919774"])
async def test_streaming_chunks_complete_with_the_one_that_names_the_total(
    emu: CincopaEmulator, api: Api, http: httpx.AsyncClient, unique_id: str | None
) -> None:
    """``bytes s-e`` with no total until the last chunk (S7; S4's tempChunk mode), with or
    without unique-id: stored as they come, the file made when the total arrives."""
    url = (await api("asset.get_upload_url"))["upload_url"]
    data = bytes(range(256)) * 10
    extra = {"unique-id": unique_id} if unique_id else {}
    first = await streaming_post(http, url, data[:1000], 0, None, **extra)
    second = await streaming_post(http, url, data[1000:2000], 1000, None, **extra)
    assert first.text == second.text == "authentication ok\nchunk done.\n"
    [session] = emu.upload_sessions()
    assert session.total is None
    assert session.received_ranges() == [(0, 2000)]
    last = await streaming_post(http, url, data[2000:], 2000, len(data), **extra)
    rid = rid_of(last.text)
    assert emu.state.main.assets[rid].content == data
    assert emu.state.main.assets[rid].filename == "rec ord.webm"
    chunk_log = [r.chunk for r in emu.requests if r.operation == "upload"]
    assert chunk_log == [(0, 1000, None), (1000, 2000, None), (2000, 2560, 2560)]


async def test_streaming_last_chunk_waits_for_a_missing_one(
    emu: CincopaEmulator, api: Api, http: httpx.AsyncClient
) -> None:
    """The last chunk arriving before an earlier one (a retried chunk): complete when it comes."""
    url = (await api("asset.get_upload_url"))["upload_url"]
    await streaming_post(http, url, b"a" * 10, 0, None)
    early = await streaming_post(http, url, b"c" * 10, 20, 30)
    assert early.text == "authentication ok\nchunk done.\n"
    late = await streaming_post(http, url, b"b" * 10, 10, None)
    assert emu.state.main.assets[rid_of(late.text)].content == b"a" * 10 + b"b" * 10 + b"c" * 10


async def test_streaming_total_below_what_arrived_is_an_error(
    api: Api, http: httpx.AsyncClient
) -> None:
    url = (await api("asset.get_upload_url"))["upload_url"]
    await streaming_post(http, url, b"a" * 10, 0, None)
    await streaming_post(http, url, b"b" * 10, 10, None)
    assert "error" in (await streaming_post(http, url, b"c" * 5, 5, 15)).text
    assert "error" in (await streaming_post(http, url, b"x", 40, 30)).text  # end beyond total


async def test_numeric_asset_id_works_wherever_a_rid_is_taken(
    emu: CincopaEmulator, api: Api, http: httpx.AsyncClient
) -> None:
    """Moodle (S5) deletes by the numeric id of the host's reply; the emulator takes it as a rid
    everywhere (live behaviour unverified)."""
    url = (await api("asset.get_upload_url"))["upload_url"]
    rid = rid_of((await upload_raw(http, url, b"v", "v.mp4", start=0, total=1)).text)
    numeric = emu.state.main.assets[rid].id
    assert numeric.isdigit()
    assert (await api("asset.list", rid=numeric))["items"][0]["rid"] == rid
    assert (await api("asset.set_meta", rid=numeric, caption="by id"))["success"] is True
    fid = (await api("gallery.create", name="G"))["fid"]
    assert (await api("gallery.add_item", fid=fid, rid=f"{numeric},{rid}"))["success"] is True
    items = (await api("gallery.get_items", fid=fid))["folder"]["items"]
    assert [(i["rid"], i["caption"]) for i in items] == [(rid, "by id")]
    assert (await api("gallery.remove_item", fid=fid, rid=numeric))["success"] is True
    thumb_url = (await api("asset.get_upload_url", rid=numeric, type="thumb"))["upload_url"]
    assert rid_of((await upload_raw(http, thumb_url, b"j", "t.jpg")).text) == rid
    temp = (await api("token.get_temp", rid=rid))["token"]
    assert (await api("asset.list", _token=temp, rid=numeric))["items"][0]["rid"] == rid
    assert (await api("asset.delete", rid=numeric))["success"] is True
    assert emu.state.main.assets == {}
    assert (await api("asset.delete", rid=numeric))["success"] is False
