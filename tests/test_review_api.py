"""Adversarial review against REAL-CLIENTS.md: what Cincopa's own and third-party clients send to
and read from the live API, fed through the SDK's wire and structuring paths.

Each test quotes the client (by its S-number in REAL-CLIENTS.md) whose behaviour it pins.
"""

from __future__ import annotations

from urllib.parse import parse_qsl, urlsplit

import httpx
import pytest

from cincopa_async import APIResponseError, AsyncCincopa, AuthenticationError
from cincopa_async._spec import ENDPOINTS_BY_NAME

from ._raw_server import http_reply, raw_server
from .conftest import TOKEN, MakeClient

pytestmark = pytest.mark.anyio


# -- gallery.get_items: ``claimed`` ------------------------------------------------------------


@pytest.mark.parametrize("claimed", ["yes", "1", "2025-04-23T10:15:00Z", "A4KANh__rQ_m", "claimed"])
async def test_gallery_get_items_reads_claimed_as_the_text_open_connector_reads(
    make_client: MakeClient, claimed: str
) -> None:
    """S10 reads ``claimed`` with ``requireProviderString(body.claimed, "claimed")``: a
    non-empty string of unknown vocabulary, not a yes/no flag. Whatever text it is, the gallery's
    items (what S5 and S9 read, ``folder.items_data.items_count``) must still come back."""
    reply = {
        "success": True,
        "runtime": 3.1,
        "fid": "A4KANh__rQ_m",
        "upload_url": "https://mediaupload.cincopa.com/post.jpg?uid=1&d=x&hash=y&addtofid=A4",
        "claimed": claimed,
        "spfid": "sp1",
        "folder": {
            "items": [{"rid": "AEyCfY7ET4hA", "filename": "a.mp4"}],
            "items_data": {"page": 1, "items_per_page": 20, "items_count": 1, "pages_count": 1},
        },
    }
    cp, _ = make_client(lambda request: httpx.Response(200, json=reply))
    async with cp:
        items = await cp.gallery.get_items(fid="A4KANh__rQ_m")
    assert items.claimed == claimed
    assert items.folder.items_data.items_count == 1
    assert [asset.rid for asset in items.folder.items] == ["AEyCfY7ET4hA"]


# -- error shapes --------------------------------------------------------------------------


async def test_an_error_object_gives_its_message(make_client: MakeClient) -> None:
    """S9 (techjoomla) falls back to ``$var['error']['message']``: ``error`` may be an object
    holding ``message``. The SDK's ``.message`` is that text, not the object's repr."""
    body = {"success": False, "error": {"code": 17, "message": "gallery not found"}}
    cp, _ = make_client(lambda request: httpx.Response(200, json=body))
    async with cp:
        with pytest.raises(APIResponseError) as caught:
            await cp.gallery.get_items(fid="nope")
    assert caught.value.message == "gallery not found"
    assert str(caught.value) == "gallery.get_items: gallery not found"


async def test_an_error_string_and_a_message_still_read_as_before(make_client: MakeClient) -> None:
    """S10: ``optionalString(body?.message) ?? optionalString(body?.error)``."""
    bodies = [
        {"success": False, "message": "bad fid", "error": {"message": "other"}},
        {"success": False, "error": "bad fid"},
    ]
    for body in bodies:
        cp, _ = make_client(lambda request, body=body: httpx.Response(200, json=body))
        async with cp:
            with pytest.raises(APIResponseError) as caught:
                await cp.gallery.get_items(fid="nope")
        assert caught.value.message == "bad fid"


async def test_an_error_object_on_a_403_gives_its_message(make_client: MakeClient) -> None:
    """The same ``error.message`` object on an HTTP error reply (S10 maps 403 to unauthorized)."""
    body = {"success": False, "error": {"message": "invalid api_token"}}
    cp, _ = make_client(lambda request: httpx.Response(403, json=body))
    async with cp:
        with pytest.raises(AuthenticationError) as caught:
            await cp.ping()
    assert "invalid api_token" in str(caught.value)
    assert "{" not in str(caught.value).split("(")[0]


# -- upload.iframe: flags ------------------------------------------------------------------


def test_iframe_flags_travel_as_cincopas_own_plugin_sends_them() -> None:
    """S5 builds ``upload.iframe?...&disable_mobile_app=true&disable-undo=true...``, adding
    ``&disable_href=true`` when wanted: a flag is ``true`` or absent, never ``false`` (whether
    the widget reads ``false`` as off or, by its presence, as on is unknown). A flag set False
    is left out: the widget's default."""
    cp = AsyncCincopa(TOKEN)
    url = cp.upload.iframe(
        rrid="assign:7:42",
        disable_mobile_app=True,
        disable_undo=True,
        disable_href=False,
        view="large",
        allow="all",
        allowExtensions="all",
    )
    query = dict(parse_qsl(urlsplit(url).query))
    assert query["disable_mobile_app"] == "true"
    assert query["disable-undo"] == "true"
    assert "disable_href" not in query
    assert "false" not in query.values()


# -- the wire form of a POST ---------------------------------------------------------------


async def test_a_post_without_a_body_declares_no_content_type(anyio_backend: str) -> None:
    """Parameters travel in the query; a POST has an empty body (REFERENCE.md section 1; S9
    ``$http->post($url, '')``). No client labels that empty body ``application/octet-stream``,
    and the trio route (httpcore) sends no Content-Type at all: the asyncio route (aiohttp,
    which adds one of its own to a POST) must send the same request."""
    with raw_server(lambda request, number: http_reply(b'{"success": true}')) as server:
        async with AsyncCincopa(TOKEN, base_url=server.base_url, max_retries=0) as cp:
            await cp.asset.delete(rid="AEyCfY7ET4hA")
            await cp.gallery.add_item(fid="A4KANh__rQ_m", rid=["AEyCfY7ET4hA"])
    assert [request.line.split(" ")[0] for request in server.requests] == ["POST", "POST"]
    for request in server.requests:
        assert "content-type" not in request.header_names
        assert request.headers["content-length"] == "0"
        assert request.body == b""


# -- asset.upload_from_url_get_status: progress ----------------------------------------------


@pytest.mark.parametrize(
    ("wire", "expected"), [("45.5", 45.5), (12.75, 12.75), ("7", 7.0), (100, 100.0)]
)
async def test_an_import_status_takes_a_fractional_progress(
    make_client: MakeClient, wire: object, expected: float
) -> None:
    """S11 reads ``progress: z.union([z.string(), z.number()])``: a percentage (0-100) as text or
    as any JSON number, a fraction included. A fractional one must not make the poll a
    ``ResponseValidationError`` (``import_url`` then polls on until its timeout and aborts a job
    that was running fine)."""
    reply = {
        "success": True,
        "status": "inprogress",
        "progress": wire,
        "progress_bytes": "4550",
        "file_size_bytes": "10000",
        "resid": "",
    }
    cp, _ = make_client(lambda request: httpx.Response(200, json=reply))
    async with cp:
        status = await cp.asset.upload_from_url_get_status(status_id="0123abcd")
    assert status.progress == expected
    assert (status.progress_bytes, status.file_size_bytes) == (4550, 10000)


# -- facts REFERENCE.md marks as assumed ---------------------------------------------------

ASSUMED_PARAMS = [
    # section 11 question 12: "how multiple events are encoded (assumed CSV)"
    ("webhook.set", "events"),
    # question 15: "gallery.delete default for delete_assets (assumed no)"
    ("gallery.delete", "delete_assets"),
    # section 1: "cache=never ... to bypass caching (code; semantics inferred)"
    ("asset.list", "cache"),
    ("asset.get_tags", "cache"),
    ("asset.set_meta", "cache"),
]


@pytest.mark.parametrize(("operation", "wire"), ASSUMED_PARAMS)
def test_an_assumed_fact_is_said_to_be_inferred_where_the_user_reads_it(
    operation: str, wire: str
) -> None:
    """Every fact REFERENCE.md marks as assumed or inferred says so in the generated method's
    docstring (from the one place it is kept: the parameter's entry in ``_spec``)."""
    endpoint = ENDPOINTS_BY_NAME[operation]
    [param] = [param for param in endpoint.params if param.wire == wire]
    assert "inferred" in param.doc
    cp = AsyncCincopa(TOKEN)
    method = getattr(getattr(cp, endpoint.resource), endpoint.action)
    assert " ".join(param.doc.split()) in " ".join((method.__doc__ or "").split())


def test_webhook_set_says_its_upsert_is_inferred() -> None:
    """Question 12: "whether webhook.set upserts by URL (assumed yes)"."""
    assert "inferred" in ENDPOINTS_BY_NAME["webhook.set"].summary


# -- uploads: the gallery an upload goes to ------------------------------------------------

HOST_DONE = (
    "authentication ok\nfile received ok\nreading metadata ok\nfile stored ok\n"
    "creating resource ok\nnew resource id 196481794 AEyCfY7ET4hA\ndone.\n"
)


@pytest.mark.parametrize("placeholder", ["addtofid=0", "addtofid=*", "addtofid="])
async def test_an_upload_into_a_gallery_names_it_in_the_upload_url(
    make_client: MakeClient, placeholder: str
) -> None:
    """Cincopa's own code puts an upload into a gallery through the upload URL's ``addtofid``:
    S7 ``upload_url.replace("addtofid=0", "addtofid=" + fid)``, S5 ``.replace("&addtofid=*",
    "&addtofid=")``. ``asset.get_upload_url``'s ``fid`` is documented only (no client sends it):
    where the URL it gives still carries the no-gallery placeholder, the SDK names the gallery
    there, as S7 does, rather than upload the file outside it without a word."""
    posts: list[httpx.URL] = []

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/post.jpg"):
            posts.append(request.url)
            return httpx.Response(200, text=HOST_DONE)
        operation = request.url.path.rsplit("/", 1)[-1].removesuffix(".json")
        if operation == "asset.get_upload_url":
            url = f"https://mediaupload.cincopa.com/post.jpg?uid=1234567&d=AAA&hash=h4sh&{placeholder}"
            return httpx.Response(200, json={"success": True, "upload_url": url})
        if operation == "asset.list":
            asset = {"rid": "AEyCfY7ET4hA", "id": "196481794", "filename": "u.bin"}
            return httpx.Response(200, json={"success": True, "items": [asset]})
        return httpx.Response(200, json={"success": True})

    cp, _ = make_client(handler)
    async with cp:
        asset = await cp.upload_file(b"abc", filename="u.bin", gallery="A4KANh__rQ_m")
    assert asset.rid == "AEyCfY7ET4hA"
    [post] = posts
    assert post.params["addtofid"] == "A4KANh__rQ_m"
    assert (post.params["uid"], post.params["d"], post.params["hash"]) == ("1234567", "AAA", "h4sh")


async def test_an_upload_url_naming_a_gallery_is_posted_to_as_given(
    make_client: MakeClient,
) -> None:
    """Where ``asset.get_upload_url`` did put the gallery in the URL, or the upload names no
    gallery, the URL is used exactly as given."""
    posts: list[str] = []
    given = "https://mediaupload.cincopa.com/post.jpg?uid=1234567&d=AAA&hash=h4sh&addtofid={}"

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/post.jpg"):
            posts.append(str(request.url))
            return httpx.Response(200, text=HOST_DONE)
        operation = request.url.path.rsplit("/", 1)[-1].removesuffix(".json")
        if operation == "asset.get_upload_url":
            fid = request.url.params.get("fid", "0")
            return httpx.Response(200, json={"success": True, "upload_url": given.format(fid)})
        asset = {"rid": "AEyCfY7ET4hA", "filename": "u.bin"}
        return httpx.Response(200, json={"success": True, "items": [asset]})

    cp, _ = make_client(handler)
    async with cp:
        await cp.upload_file(b"abc", filename="u.bin", gallery="OTHER_fid")
        await cp.upload_file(b"abc", filename="u.bin")
    assert posts == [given.format("OTHER_fid"), given.format("0")]


# -- "" and null where an object is expected -----------------------------------------------


async def test_empty_string_or_null_for_a_nested_object_reads_as_absent(
    make_client: MakeClient,
) -> None:
    """The lenient converter reads ``""`` and null as "absent" for text, numbers, flags, dates
    and lists (and PHP's ``[]`` for an object); one asset whose ``thumbnail``, ``exif`` or
    ``versions`` is ``""``, or a reply whose ``items_data`` is null, must not fail the whole
    page (S1 reads ``item?.thumbnail?.url``: an absent thumbnail is ordinary)."""
    replies = {
        "asset.list": {
            "success": True,
            "items": [
                {"rid": "R1", "thumbnail": "", "exif": "", "versions": ""},
                {"rid": "R2", "thumbnail": None, "exif": None, "versions": None},
                {"rid": "R3", "thumbnail": {"url": "https://t/x.jpg"}},
            ],
            "items_data": None,
        },
        "gallery.get_items": {"success": True, "fid": "F1", "folder": ""},
        "gallery.list": {"success": True, "galleries": "", "tag_cloud": "", "items_data": ""},
    }

    def handler(request: httpx.Request) -> httpx.Response:
        operation = request.url.path.rsplit("/", 1)[-1].removesuffix(".json")
        return httpx.Response(200, json=replies[operation])

    cp, _ = make_client(handler)
    async with cp:
        assets = await cp.asset.list()
        items = await cp.gallery.get_items(fid="F1")
        galleries = await cp.gallery.list()
    one, two, three = assets.items
    for asset in (one, two):
        assert (asset.thumbnail, asset.exif, asset.versions) == (None, {}, {})
    assert three.thumbnail is not None
    assert three.thumbnail.url == "https://t/x.jpg"
    assert assets.items_data.pages_count == 0
    assert items.folder.items == ()
    assert items.folder.items_data.items_count == 0
    assert (galleries.galleries, galleries.tag_cloud) == ((), {})


def test_the_strict_converter_still_refuses_them() -> None:
    """Strict mode (the golden replies in CI) keeps refusing a string where an object is."""
    import cattrs

    from cincopa_async import _models
    from cincopa_async._converter import make_converter

    strict = make_converter(strict=True)
    for reply in (
        {"items": [{"rid": "R1", "thumbnail": ""}]},
        {"items": [{"rid": "R1", "exif": ""}]},
        {"items_data": ""},
    ):
        with pytest.raises(cattrs.ClassValidationError):
            strict.structure(reply, _models.AssetList)


@pytest.mark.parametrize("flag", ["False", "FALSE", " false ", "No", False, 0, "0"])
async def test_success_false_in_any_spelling_the_converter_reads_is_a_failure(
    make_client: MakeClient, flag: object
) -> None:
    """The converter reads ``success`` as a flag in any case (``"False"`` is what .NET's
    ``bool.ToString()`` writes); the decoder must see the same failure, not hand back a reply
    whose ``success`` is False without raising."""
    body = {"success": flag, "message": "asset not found"}
    cp, _ = make_client(lambda request: httpx.Response(200, json=body))
    async with cp:
        with pytest.raises(APIResponseError) as caught:
            await cp.asset.delete(rid="nope")
    assert caught.value.message == "asset not found"


@pytest.mark.parametrize("model", ["Ping", "PortalAvailability"])
def test_a_reply_whose_fields_are_guessed_says_so(model: str) -> None:
    """REFERENCE.md question 14: ``ping``'s ``ping``/``accid_num`` formats come from
    third-party schemas only; the overview shows ``portal.check`` answering only
    ``"available"`` (any other word, ``"taken"`` included, is a guess)."""
    from cincopa_async import _models

    assert "inferred" in (getattr(_models, model).__doc__ or "")


# -- every reply field the real clients read, shaped as they read it -----------------------

ASSET = {
    "rid": "AEyCfY7ET4hA",
    "id": 196481794,  # S7 reads item.id; a number here
    "type": "video",
    "filename": "intro.mp4",
    "caption": "",
    "description": "",
    "uploaded": "2025-04-23T10:15:00.1234567Z",  # .NET's 7 fractional digits
    "modified": "2025-04-23 10:20:00",
    "reference_id": "strapi",
    "tags": "promo,spring",
    "thumbnail": {"url": "https://t/thumb.jpg"},
    "content": {"type": "video"},  # S1 reads item?.content?.type: kept in raw
    "exif": {"duration": "00:01:30.5", "width": "1920", "height": "1080"},
    "versions": {
        "original": {"url": "https://v/intro.mp4", "filesize": "10485760"},
        "jpg_600x450": {"url": "https://v/600.jpg"},
        "mp4_hd": {"url": "https://v/hd.mp4"},
        "jpg_sb_200x150": {"url": "https://v/sb.jpg"},
    },
}

READS = {
    # S5 $result_decoded['accid']; S11 accid alphanumeric, accid_num numeric, revertid boolean
    "ping": {"success": True, "accid": "a1b2c3", "accid_num": "1234567", "revertid": False},
    # S5 ['sub_accounts'][..]['account_name'|'uid']
    "account.list_sub": {"success": True, "sub_accounts": [{"account_name": "F_Y", "uid": 42}]},
    # S5 success, new_sub_account_uid
    "account.add_sub": {"success": True, "new_sub_account_uid": 43},
    # S5 ['tokens'][..]['permissions'|'api_token']
    "token.list": {
        "success": True,
        "tokens": [{"permissions": "asset.*|gallery.*", "api_token": "t"}],
    },
    "token.create": {"success": True, "api_token": "1234567inewtokenabcdefghijklmnopq"},
    # S1 { success, token: tempToken, message }
    "token.get_temp": {"success": True, "token": "1234567i2temporarytokenabcdefghij"},
    # S10 workspace (string), tag_cloud (ints), page_count; S9 galleries[].fid/name/description
    "gallery.list": {
        "success": True,
        "workspace": "",
        "galleries": [{"fid": "A4KANh__rQ_m", "name": "rrid:assign:7:42", "description": ""}],
        "tag_cloud": {"spring": "3"},
        "items_data": {"page": "1", "items_per_page": "50", "items_count": "1", "page_count": "1"},
    },
    # S10 fid, upload_url, claimed, spfid; S9/S5 folder.items_data.items_count, folder.items
    "gallery.get_items": {
        "success": True,
        "fid": "A4KANh__rQ_m",
        "upload_url": "https://mediaupload.cincopa.com/post.jpg?uid=1&d=x&hash=y&addtofid=A4",
        "claimed": "yes",
        "spfid": "sp",
        "folder": {"items": [ASSET], "items_data": {"items_count": 1, "pages_count": 1}},
    },
    # S1 items_data.page < items_data.pages_count; S2 result.items[0]
    "asset.list": {
        "success": True,
        "items": [ASSET],
        "items_data": {"page": 1, "items_per_page": 50, "items_count": 1, "pages_count": 1},
    },
    "gallery.create": {"success": True, "fid": "NEWfid"},  # S6, S8 response.fid
    "asset.upload_from_url": {"success": True, "status_id": 9001},  # S8 response.status_id
    # S11 resid optional string, progress string or number
    "asset.upload_from_url_get_status": {"success": True, "status": "ready", "progress": "100"},
}


@pytest.mark.parametrize("operation", sorted(READS))
async def test_each_reply_reads_the_fields_real_clients_read(
    make_client: MakeClient, operation: str
) -> None:
    """Each reply, shaped as REAL-CLIENTS.md quotes its readers, structures without error and
    keeps what they read."""
    from cincopa_async._spec import ENDPOINTS_BY_NAME

    endpoint = ENDPOINTS_BY_NAME[operation]
    reply = READS[operation]
    cp, _ = make_client(lambda request: httpx.Response(200, json=reply))
    arguments = {p.python_name: "x" for p in endpoint.params if p.required}
    if "permissions" in arguments:
        arguments["permissions"] = ["asset.*"]
    owner = getattr(cp, endpoint.resource) if endpoint.resource else cp
    async with cp:
        result = await getattr(owner, endpoint.action)(**arguments)
    assert result.raw == reply
    if operation == "asset.list":
        [asset] = result.items
        assert (asset.id, asset.tags) == ("196481794", ("promo", "spring"))
        assert asset.versions["jpg_600x450"].url == "https://v/600.jpg"
        assert asset.versions["original"].filesize == 10485760
        assert asset.exif["duration"] == "00:01:30.5"
        assert asset.uploaded is not None
        assert asset.uploaded.microsecond == 123456
        assert result.raw["items"][0]["content"]["type"] == "video"
        assert result.items_data.pages_count == 1
    if operation == "gallery.list":
        assert result.items_data.pages_count == 1
        assert result.tag_cloud == {"spring": 3}
        assert result.galleries[0].fid == "A4KANh__rQ_m"
    if operation == "gallery.get_items":
        assert result.folder.items_data.items_count == 1
        assert result.folder.items[0].versions["original"].url == "https://v/intro.mp4"
    if operation == "ping":
        assert (result.accid, result.accid_num, result.revertid) == ("a1b2c3", 1234567, False)
    if operation == "account.list_sub":
        assert result.sub_accounts[0].uid == "42"
    if operation == "account.add_sub":
        assert result.new_sub_account_uid == "43"
    if operation == "asset.upload_from_url":
        assert result.status_id == "9001"
    if operation == "token.list":
        assert result.tokens[0].permissions == "asset.*|gallery.*"
