"""Cincopa's real clients, replayed against the emulator on a loopback port.

Each test sends, byte for byte, the requests REAL-CLIENTS.md quotes for one client (S1 Strapi,
S2 Sanity, S3 Shopify, S4 ``cpUploadAPI``, S5 Moodle, S6 the gallery manager, S7 the Chrome
recorder, S8 Pipedream, S9 Joomla), in the client's order, and asserts the reply fields that
client reads. The requests go through a raw socket client (``tests/_rawhttp.py``): the request
target and headers are exactly the client's, built the way the client builds them (template
strings, ``encodeURIComponent``, PHP's ``urlencode``, axios's params). What differs, and only
because it must: the token values (the emulator's own; ``api_token=session`` of S6/S7, the web
UI's cookie session, is replaced by a token) and the host (``127.0.0.1:<port>``, not
``api.cincopa.com``).
"""

from __future__ import annotations

import re
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import anyio
import httpx
import pytest

from cincopa_async.testing import CincopaEmulator
from tests._rawhttp import CaptureHost, Message, raw_exchange, request_bytes
from tests._real_clients import (
    axios_query,
    csharp_iso_string,
    encode_uri_component,
    js_to_iso_string,
    php_urlencode,
    php_v3_expiry,
    v3_token,
)

pytestmark = pytest.mark.anyio

RID_REGEX = re.compile(r"new resource id (\d+) (.*)")  # S4: responseText.match(...)
HANG_GUARD = 60  # seconds; only turns a hang into a failure, never a timing assertion


class Wire:
    """Raw HTTP/1.1 to the emulator's loopback port; ``sent`` keeps every request's bytes."""

    def __init__(self, base_url: str) -> None:
        url = httpx.URL(base_url)
        self.host = url.host
        self.port = url.port or 80
        self.authority = f"{self.host}:{self.port}"
        self.sent: list[bytes] = []

    async def send(
        self,
        method: str,
        target: str,
        headers: list[tuple[str, str]] | None = None,
        body: bytes = b"",
    ) -> Message:
        data = request_bytes(method, target, self.authority, headers, body)
        self.sent.append(data)
        return await raw_exchange(self.host, self.port, data)

    async def get(self, target: str) -> Message:
        return await self.send("GET", target)

    async def post(self, target: str, headers: list[tuple[str, str]] | None = None) -> Message:
        return await self.send("POST", target, headers)

    def target(self, url: str) -> str:
        """The request target of an absolute URL the emulator handed out, as the text it is."""
        prefix = f"http://{self.authority}"
        assert url.startswith(prefix), url
        return url[len(prefix) :]


@pytest.fixture
async def wire(emu: CincopaEmulator) -> AsyncIterator[Wire]:
    async with emu.serve() as base_url:
        yield Wire(base_url)


def ok(reply: Message) -> dict[str, Any]:
    """The JSON of a 200 reply that says ``success: true`` (what every client checks first)."""
    assert reply.status == 200, (reply.status, reply.body[:300])
    body: dict[str, Any] = reply.json()
    assert body["success"] is True, body
    return body


def date_now() -> str:
    """JavaScript's ``Date.now()``, as text."""
    return str(time.time_ns() // 1_000_000)


async def cp_upload_api(
    wire: Wire,
    upload_url: str,
    name: str,
    data: bytes,
    *,
    chunk_size: str | None = None,
    temp_chunks: bool = False,
) -> tuple[str, str]:
    """``cpUploadAPI._upload`` (S4), chunk after chunk: returns ``(reply text, rid)``.

    ``chunk_size`` is the option as given (``parseFloat(options.chunk_size)*1000*1024``, else
    50,000 KiB), capped at the file size. ``temp_chunks``: the file is a ``tempChunk`` (still
    growing) until its last chunk, so only that one carries ``/<size>``.
    """
    size = int(float(chunk_size) * 1000 * 1024) if chunk_size else 1024 * 50000
    size = min(size, len(data))
    unique_id = date_now()  # random__number, kept on the File
    start, reply = 0, None
    while start < len(data):
        end = min(start + size, len(data))
        last = end == len(data)
        total = "" if temp_chunks and not last else f"/{len(data)}"
        reply = await wire.send(
            "POST",
            wire.target(upload_url),
            [
                ("Content-Type", "multipart/form-data"),
                ("X-FILE-NAME", encode_uri_component(name)),
                ("Content-Range", f"bytes {start}-{end}{total}"),
                ("unique-id", unique_id),
            ],
            data[start:end],
        )
        assert reply.status == 200
        assert "error" not in reply.text  # if (responseText.indexOf('error') > -1) onUploadError
        start = end
    assert reply is not None
    match = RID_REGEX.search(reply.text)
    assert match is not None, reply.text
    return reply.text, match.group(2)


# -- S4 cpUploadAPI (the uploader S1, S2, S3 load) -----------------------------------------------


async def test_s4_cpuploadapi_chunks_and_single_shot(emu: CincopaEmulator, wire: Wire) -> None:
    """Sequential chunks with ``bytes s-e/total``, and a small file as one ranged POST."""
    token = emu.create_token()
    upload_url = ok(await wire.get(f"/v2/asset.get_upload_url.json?api_token={token}"))[
        "upload_url"
    ]
    data = bytes(range(256)) * 1000  # 256,000 bytes: chunks of 102,400 (chunk_size "0.1")
    name = "Lecture 1 (draft) «final» über+100%.mp4"
    text, rid = await cp_upload_api(wire, upload_url, name, data, chunk_size="0.1")
    assert text.splitlines()[-1] == "done."
    uploads = [r for r in emu.requests if r.operation == "upload"]
    assert [r.chunk for r in uploads] == [
        (0, 102400, 256000),
        (102400, 204800, 256000),
        (204800, 256000, 256000),
    ]
    assert uploads[0].headers["x-file-name"] == encode_uri_component(name)
    assert emu.state.main.assets[rid].filename == name
    assert emu.state.main.assets[rid].content == data

    small = b"tiny image bytes"
    _, small_rid = await cp_upload_api(wire, upload_url, "a.png", small)
    assert [r.chunk for r in emu.requests if r.operation == "upload"][-1] == (0, 16, 16)
    assert emu.state.main.assets[small_rid].content == small


async def test_s4_temp_chunks_name_the_total_only_at_the_end(
    emu: CincopaEmulator, wire: Wire
) -> None:
    """cpUploadAPI's tempChunk mode: ``bytes s-e`` until the last chunk, ``/size`` on it."""
    token = emu.create_token()
    upload_url = ok(await wire.get(f"/v2/asset.get_upload_url.json?api_token={token}"))[
        "upload_url"
    ]
    data = bytes(300_000)
    _, rid = await cp_upload_api(
        wire, upload_url, "live.webm", data, chunk_size="0.1", temp_chunks=True
    )
    chunks = [r.chunk for r in emu.requests if r.operation == "upload"]
    assert chunks == [(0, 102400, None), (102400, 204800, None), (204800, 300000, 300000)]
    assert emu.state.main.assets[rid].filesize == 300_000


# -- S1 Strapi ------------------------------------------------------------------------------------


async def test_s1_strapi(emu: CincopaEmulator, wire: Wire) -> None:
    """Upload URL, upload, reference_id, the library pages and filters, delete; the temporary
    tokens of before v3 (``token.get_temp``) and of v3 (7 digits, ``!i``)."""
    token = emu.create_token()
    upload_url = ok(await wire.get(f"/v2/asset.get_upload_url.json?api_token={token}"))[
        "upload_url"
    ]
    assert upload_url.startswith(f"http://{wire.authority}/upload/post.jpg?uid=")
    for name in ("one.jpg", "two.mp4", "three.png"):
        _, rid = await cp_upload_api(wire, upload_url, name, b"bytes of " + name.encode())
        ok(
            await wire.get(
                f"/v2/asset.set_meta.json?api_token={token}&rid={rid}&reference_id=strapi"
            )
        )
    ok(await wire.get(f"/v2/asset.set_meta.json?api_token={token}&rid={rid}&tags=spring"))

    page, pages = 1, []
    while True:  # if(result?.items_data.page < result?.items_data.pages_count) next page
        target = f"/v2/asset.list.json?api_token={token}&items_per_page=2&page={page}"
        result = ok(await wire.get(target))
        pages.append(result["items"])
        if not result["items_data"]["page"] < result["items_data"]["pages_count"]:
            break
        page += 1
    assert [len(items) for items in pages] == [2, 1]
    for asset in [a for items in pages for a in items]:  # asset-item.jsx
        assert asset["caption"] or asset["filename"]
        assert datetime.fromisoformat(asset["uploaded"].replace("Z", "+00:00"))
        assert asset["thumbnail"]["url"].startswith("http")
        if asset["type"] in ("image", "video"):
            for version in ("jpg_100x75", "jpg_200x150", "jpg_600x450", "jpg_1200x900"):
                assert asset["versions"][version]["url"].startswith("http")
        assert asset["reference_id"] == "strapi"
    for query, count in ((f"&rid={rid}", 1), ("&search=two", 1), ("&tag=spring", 1)):
        result = ok(
            await wire.get(f"/v2/asset.list.json?api_token={token}&items_per_page=50&page=1{query}")
        )
        assert len(result["items"]) == count, query
    ok(await wire.get(f"/v2/asset.delete.json?api_token={token}&rid={rid}"))
    assert rid not in emu.state.main.assets

    # history: ttl=600 and, for a 127.0.0.1 client, an empty sourceip part (the trailing '&')
    reply = await wire.get(f"/v2/token.get_temp.json?api_token={token}&ttl=600&")
    body = reply.json()
    assert body["success"] is True
    temp = body["token"]
    ok(await wire.get(f"/v2/asset.get_upload_url.json?api_token={temp}"))

    # v3: (apiToken, new Date(Date.now() + 10 * 60 * 1000), null, null, null, ip-or-null)
    expires = datetime.now(UTC) + timedelta(minutes=10)
    for segments in ("", "!i127.0.0.1"):
        v3 = v3_token(token, csharp_iso_string(expires) + segments)
        ok(await wire.get(f"/v2/asset.get_upload_url.json?api_token={v3}"))
    elsewhere = v3_token(token, csharp_iso_string(expires) + "!i203.0.113.9")
    assert (await wire.get(f"/v2/ping.json?api_token={elsewhere}")).status == 403


# -- S2 Sanity ------------------------------------------------------------------------------------


async def test_s2_sanity(emu: CincopaEmulator, wire: Wire) -> None:
    """SetAssetData's URLSearchParams, SyncAssetData's read of items[0], the by-title search."""
    token = emu.create_token()
    upload_url = ok(await wire.get(f"/v2/asset.get_upload_url.json?api_token={token}"))[
        "upload_url"
    ]
    _, rid = await cp_upload_api(wire, upload_url, "clip.mov", b"movie")
    fields = {
        "caption": "A caption & more",
        "description": "Short",
        "long_description": "Long: 100% true",
        "related_link_text": "Site",
        "related_link_url": "https://example.com/a?b=c",
        "reference_id": "sanity",
    }
    # new URLSearchParams({api_token, rid}) + the fields: form encoding, spaces as '+'
    query = "&".join(
        f"{k}={php_urlencode(v).replace('%7E', '~').replace('%2A', '*')}"
        for k, v in {"api_token": token, "rid": rid, **fields}.items()
    )
    ok(await wire.get(f"/v2/asset.set_meta.json?{query}"))
    result = ok(await wire.get(f"/v2/asset.list.json?api_token={token}&rid={rid}"))
    asset = result["items"][0]
    assert {k: asset[k] for k in fields} == fields
    assert asset["rid"] == rid
    assert asset["type"] == "video"
    assert datetime.fromisoformat(asset["modified"].replace("Z", "+00:00"))
    result = ok(await wire.get(f"/v2/asset.list.json?api_token={token}&details=clip"))
    assert "items" in result


# -- S3 Shopify -----------------------------------------------------------------------------------


async def test_s3_shopify_uses_a_three_digit_v3_token_for_every_call(
    emu: CincopaEmulator, wire: Wire
) -> None:
    """``expire.toISOString()``: 3 fractional digits; upload, reference_id, duration."""
    parent = emu.create_token()
    payload = js_to_iso_string(datetime.now(UTC) + timedelta(hours=1))
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", payload)
    token = v3_token(parent, payload)  # cincopaTempToken
    upload_url = ok(await wire.get(f"/v2/asset.get_upload_url.json?api_token={token}"))[
        "upload_url"
    ]
    _, rid = await cp_upload_api(wire, upload_url, "product.mp4", b"video bytes")
    ok(await wire.get(f"/v2/asset.set_meta.json?api_token={token}&rid={rid}&reference_id=shopify"))
    result = ok(await wire.get(f"/v2/asset.list.json?api_token={token}&details=product"))
    asset = next(a for a in result["items"] if a["rid"] == rid)
    assert asset["reference_id"] == "shopify"
    # if ((asset?.type === 'video' || ...) && asset?.exif?.duration) asset.exif.duration.split(':')
    assert asset["type"] == "video"
    assert len(asset["exif"]["duration"].split(":")) == 3


# -- S5 Moodle ------------------------------------------------------------------------------------


async def test_s5_moodle_sub_account_token_gallery_and_grader(
    emu: CincopaEmulator, wire: Wire
) -> None:
    """The plugin's set-up (ping, sub-account, its token), the student's upload widget with a
    v3 token (7 digits, ``!d``), its gallery by rrid, and the grader's recording: uploaded,
    captioned, deleted by the numeric id of the host's reply, the gallery deleted with it."""
    default_token = emu.create_token()
    accid = ok(await wire.get(f"/v2/ping.json?api_token={default_token}"))["accid"]
    assert accid == emu.account_id
    subs = ok(await wire.get(f"/v2/account.list_sub.json?api_token={default_token}"))
    assert subs["sub_accounts"] == []
    name = "Moodle Course 12"
    added = ok(
        await wire.get(
            f"/v2/account.add_sub.json?api_token={default_token}&name={php_urlencode(name)}"
        )
    )
    sub = added["new_sub_account_uid"]
    subs = ok(await wire.get(f"/v2/account.list_sub.json?api_token={default_token}"))
    assert [(s["account_name"], s["uid"]) for s in subs["sub_accounts"]] == [(name, sub)]
    again = (
        await wire.get(
            f"/v2/account.add_sub.json?api_token={default_token}&name={php_urlencode(name)}"
        )
    ).json()
    assert again["success"] is False
    assert again["message"]
    listed = ok(await wire.get(f"/v2/token.list.json?api_token={default_token}&sub_account={sub}"))
    assert listed["tokens"] == []
    create = (
        f"/v2/token.create.json?api_token={default_token}&name=moodle_course_12_token"
        f"&permissions=asset.*|gallery.*&sub_account={sub}"
    )
    course_token = ok(await wire.get(create))["api_token"]
    assert b"&permissions=asset.*|gallery.*&" in wire.sent[-1]  # unescaped, as PHP sends it
    listed = ok(await wire.get(f"/v2/token.list.json?api_token={default_token}&sub_account={sub}"))
    assert [(t["permissions"], t["api_token"]) for t in listed["tokens"]] == [
        ("asset.*|gallery.*", course_token)
    ]

    # createSelfGeneratedTempTokenV3getTempAPIKeyV2($token, new DateTime('+2 hour'), null, null,
    # null, $studentgallery), $studentgallery = "assign:" . $cmid . ":" . $userid
    rrid = "assign:7:42"
    expires = datetime.now(UTC) + timedelta(hours=2)
    v3 = v3_token(course_token, php_v3_expiry(expires) + f"!d{rrid}")
    iframe = await wire.get(
        f"/v2/upload.iframe?api_token={v3}&rrid={rrid}&disable_mobile_app=true"
        "&disable-undo=true&view=list&allow=all&allowExtensions=all&disable_href=true"
    )
    assert iframe.status == 200
    assert (iframe.header("content-type") or "").startswith("text/html")
    found = ok(
        await wire.get(f"/v2/gallery.list.json?api_token={course_token}&search=caption=rrid:{rrid}")
    )
    fid = found["galleries"][0]["fid"]  # $getres->galleries[0]->fid
    items = ok(await wire.get(f"/v2/gallery.get_items.json?api_token={course_token}&fid={fid}"))
    assert items["folder"]["items_data"]["items_count"] == 0

    # the grader's recording: gallery.args.upload_url.replace("&addtofid=*", "&addtofid=")
    upload_url = found["galleries"][0]["upload_url"].replace("&addtofid=*", "&addtofid=")
    server_data, rid = await cp_upload_api(wire, upload_url, "grade.webm", b"recording")
    items = ok(await wire.get(f"/v2/gallery.get_items.json?api_token={course_token}&fid={fid}"))
    assert items["folder"]["items_data"]["items_count"] == 1
    caption = f"Teacher grade recording {date_now()}"
    wire_caption = caption.replace(" ", "%20")  # a browser fetch: the URL parser sends %20
    ok(await wire.get(f"/v2/asset.set_meta.json?api_token={v3}&rid={rid}&caption={wire_caption}"))
    assert emu.state.accounts[sub].assets[rid].caption == caption
    numeric = server_data.split("\n")[5].split(" ")[3]  # var rid = serverData.split(...)
    assert numeric == emu.state.accounts[sub].assets[rid].id
    ok(await wire.get(f"/v2/asset.delete.json?api_token={v3}&rid={numeric}"))
    assert rid not in emu.state.accounts[sub].assets
    ok(
        await wire.get(
            f"/v2/gallery.delete.json?api_token={course_token}&fid={fid}&delete_assets=yes"
        )
    )
    assert fid not in emu.state.accounts[sub].galleries


# -- S6 gallery manager ---------------------------------------------------------------------------


async def test_s6_gallery_manager_duplicates_and_links(emu: CincopaEmulator, wire: Wire) -> None:
    """``gallery.create`` with template/copy_args/copy_items (``{success, fid}``), then
    ``gallery.set_master`` to make a master and to link a gallery to it."""
    token = emu.create_token()  # S6 sends api_token=session (the web UI's cookie session)
    source = ok(await wire.get(f"/v2/gallery.create.json?api_token={token}&name=Source"))["fid"]
    copy = (
        f"/v2/gallery.create.json?api_token={token}&template={source}"
        f"&name=duplicate of Source&copy_args={source}&copy_items={source}"
    )
    reply = await wire.get(copy.replace(" ", "%20"))
    body = ok(reply)
    duplicate = body["fid"]  # const { success, newFid = fid }
    assert duplicate != source
    ok(await wire.get(f"/v2/gallery.set_master.json?api_token={token}&master={source}"))
    ok(
        await wire.get(
            f"/v2/gallery.set_master.json?api_token={token}&fid={duplicate}&master={source}"
        )
    )
    assert emu.state.main.galleries[duplicate].master == source


# -- S7 the Chrome recorder -----------------------------------------------------------------------


async def test_s7_recorder_streams_chunks_then_tags_lists_and_deletes(
    emu: CincopaEmulator, wire: Wire
) -> None:
    """ChunkedUploader: 100 KiB chunks, no unique-id, ``/size`` only on the last, each reply
    must say ``done``; ``addtofid=0`` rewritten into the gallery; then the extension's calls
    with ``cache=never`` (reads by GET, set_meta and the tag search by POST without a body)."""
    token = emu.create_token()  # the extension sends api_token=session
    tags = ok(await wire.get(f"/v2/asset.get_tags.json?cache=never&api_token={token}"))
    assert tags["tag_cloud"] == {}
    fid = ok(await wire.get(f"/v2/gallery.create.json?api_token={token}&name=Recordings"))["fid"]
    galleries = ok(await wire.get(f"/v2/gallery.list.json?api_token={token}&page="))
    assert [g["fid"] for g in galleries["galleries"]] == [fid]
    upload_url = ok(await wire.get(f"/v2/asset.get_upload_url.json?api_token={token}"))[
        "upload_url"
    ]
    assert "addtofid=0" in upload_url
    upload_url = upload_url.replace("addtofid=0", "addtofid=" + fid)

    data = bytes(range(250)) * 1000  # 250,000 bytes: 102,400 + 102,400 + 45,200
    chunk_size = 1024 * 100
    file_name = "Screen Recording 2025-12-01 at 10.15.00.webm"
    replies = []
    for start in range(0, len(data), chunk_size):
        end = min(start + chunk_size, len(data))
        is_last = end == len(data)
        reply = await wire.send(
            "POST",
            wire.target(upload_url),
            [
                ("Content-Type", "multipart/form-data"),
                ("X-FILE-NAME", encode_uri_component(file_name)),
                ("Content-Range", f"bytes {start}-{end}" + (f"/{len(data)}" if is_last else "")),
            ],
            data[start:end],
        )
        assert "done" in reply.text.lower()  # the chunk was accepted
        assert "out of assets quota" not in reply.text
        replies.append(reply.text)
    match = RID_REGEX.search(replies[-1])
    assert match is not None
    rid = match.group(2)
    assert emu.state.main.assets[rid].content == data
    assert emu.state.main.galleries[fid].items == [rid]
    assert [r.chunk for r in emu.requests if r.operation == "upload"] == [
        (0, 102400, None),
        (102400, 204800, None),
        (204800, 250000, 250000),
    ]

    caption, description = "Demo%20take", "First%20try"
    set_meta = (
        f"/v2/asset.set_meta.json?cache=never&api_token={token}&rid={rid}"
        f"&caption={caption}&description={description}&tags=demo"
    )
    ok(await wire.post(set_meta))
    listed = ok(
        await wire.post(
            f"/v2/asset.list.json?cache=never&api_token={token}&type=video&search=tag=demo"
        )
    )
    [item] = listed["items"]
    assert (item["caption"], item["description"], item["tags"]) == (
        "Demo take",
        "First try",
        "demo",
    )
    assert len(item["exif"]["duration"].split(":")) == 3
    assert item["exif"]["width"].isdigit()
    assert item["exif"]["height"].isdigit()
    assert item["thumbnail"]["url"].startswith("http")
    assert item["versions"]["mp4_hd"]["url"].startswith("http")
    assert item["versions"]["jpg_sb_200x150"]["url"].startswith("http")
    assert item["id"] == emu.state.main.assets[rid].id
    bogus = (await wire.get(f"/v2/asset.list.json?cache=sometimes&api_token={token}")).json()
    assert bogus["success"] is False

    res = (await wire.get(f"/v2/asset.delete.json?api_token={token}&rid={rid}")).json()
    assert res["success"] is True  # res?.response?.success
    res = (await wire.get(f"/v2/asset.delete.json?api_token={token}&rid={rid}")).json()
    assert res["success"] is False  # else res?.response?.message
    assert res["message"]
    res = (await wire.get(f"/v2/gallery.delete.json?api_token={token}&fid={fid}")).json()
    assert res["success"] is True


# -- S8 Pipedream ---------------------------------------------------------------------------------

PIPEDREAM_EVENTS = (  # components/cincopa/common/events.mjs
    "gallery.*",
    "gallery.created",
    "gallery.updated",
    "gallery.deleted",
    "gallery.claim",
    "gallery.sync",
    "gallery.synced",
    "asset.*",
    "asset.uploaded",
    "asset.synced",
    "account.*",
    "analytics.*",
    "leads.*",
)


async def test_s8_pipedream_actions_and_webhook_sources(emu: CincopaEmulator, wire: Wire) -> None:
    """Every action is a GET with ``{...params, api_token}`` in the query; the webhook sources
    register with a uuid ``security_key`` and read the delivered body without checking any
    signature."""
    api_token = emu.create_token()
    received: list[Message] = []
    delivered = anyio.Event()

    async def source(request: Message) -> tuple[int, str, bytes]:  # run({ body }): 200
        received.append(request)
        delivered.set()
        return 200, "text/plain", b""

    receiver = CaptureHost(source)

    async def action(operation: str, params: dict[str, object]) -> dict[str, Any]:
        query = axios_query({**params, "api_token": api_token})
        return ok(await wire.get(f"/v2/{operation}.json?{query}"))

    async with receiver.running():
        hook_url = f"{receiver.base}/pipedream/hook"
        for events in ("gallery.created", "asset.uploaded"):
            await action(
                "webhook.set",
                {
                    "hook_url": hook_url if events == "gallery.created" else hook_url + "/a",
                    "security_key": "4b2f6f5e-1d8a-4c35-9f0e-2a7d2b0c9e11",  # uuid()
                    "events": events,
                },
            )
        fid = (await action("gallery.create", {"name": "Pipedream: a, b", "description": None}))[
            "fid"
        ]
        with anyio.fail_after(HANG_GUARD):
            await delivered.wait()
        [created] = received
        assert created.json()["event"] == "gallery.created"
        assert (created.json()["fid"], created.json()["name"]) == (fid, "Pipedream: a, b")
        assert b"name=Pipedream:+a,+b&" in wire.sent[-1]  # axios's encoding of the value

        delivered = anyio.Event()
        url = emu.add_file("clip one.mp4", b"imported bytes")
        started = await action("asset.upload_from_url", {"input": url, "fid": fid, "type": None})
        status_id = started["status_id"]
        await emu.wait_idle(limit=HANG_GUARD)
        status = await action("asset.upload_from_url_get_status", {"status_id": status_id})
        rid = status["resid"]
        with anyio.fail_after(HANG_GUARD):
            await delivered.wait()
        uploaded = next(r.json() for r in received if r.json()["event"] == "asset.uploaded")
        assert (uploaded["id"], uploaded["filename"]) == (
            emu.state.main.assets[rid].id,
            "clip one.mp4",
        )
        assert datetime.fromisoformat(uploaded["modified"].replace("Z", "+00:00"))

        other = (await action("gallery.create", {"name": "second"}))["fid"]
        await action(
            "gallery.add_item", {"fid": other, "rid": ",".join([rid]), "insert_position": "top"}
        )
        galleries = (await action("gallery.list", {"page": 0 + 1}))["galleries"]
        assert {(g["fid"], g["name"]) for g in galleries} == {
            (fid, "Pipedream: a, b"),
            (other, "second"),
        }
        items = (await action("asset.list", {"search": "clip one", "page": 1}))["items"]
        assert [(i["rid"], i["filename"]) for i in items] == [(rid, "clip one.mp4")]
        await action("webhook.delete", {"hook_url": hook_url})
        await action("webhook.delete", {"hook_url": hook_url + "/a"})
        assert (await action("webhook.list", {}))["webhooks"] == []

    for index, event in enumerate(PIPEDREAM_EVENTS):  # a source may register any of them
        params = {"hook_url": f"https://example.com/s{index}", "security_key": "k", "events": event}
        await action("webhook.set", params)
    registered = (await action("webhook.list", {}))["webhooks"]
    assert [h["events"] for h in registered] == list(PIPEDREAM_EVENTS)


# -- S9 Joomla ------------------------------------------------------------------------------------


async def test_s9_joomla_posts_with_an_empty_body(emu: CincopaEmulator, wire: Wire) -> None:
    """``$http->post($url, '')`` on the list operations; reads counts, names and renditions."""
    token = emu.create_token()
    fid = ok(await wire.get(f"/v2/gallery.create.json?api_token={token}&name=Lessons"))["fid"]
    gallery = ok(await wire.get(f"/v2/gallery.list.json?api_token={token}"))["galleries"][0]
    _, rid = await cp_upload_api(wire, gallery["upload_url"], "lesson.mp4", b"mp4")
    galleries = ok(await wire.post(f"/v2/gallery.list.json?api_token={token}&items_per_page=10"))
    assert galleries["items_data"]["items_count"] == 1
    assert [(g["fid"], g["name"], g["description"]) for g in galleries["galleries"]] == [
        (fid, "Lessons", "")
    ]
    assert ok(await wire.post(f"/v2/gallery.list.json?api_token={token}&items_per_page=10&page=1"))
    assert ok(await wire.post(f"/v2/gallery.list.json?api_token={token}&search=Less"))["galleries"]
    folder = ok(await wire.post(f"/v2/gallery.get_items.json?api_token={token}&fid={fid}"))[
        "folder"
    ]
    assert folder["items_data"]["items_count"] == 1
    item = folder["items"][0]
    assert item["versions"]["original"]["url"].startswith("http")
    assert item["versions"]["jpg_600x450"]["url"].startswith("http")
    assert (item["filename"], item["description"]) == ("lesson.mp4", "")
    assert item["thumbnail"]["url"].startswith("http")
    found = ok(await wire.post(f"/v2/asset.list.json?api_token={token}&search=lesson"))
    assert [a["rid"] for a in found["items"]] == [rid]
