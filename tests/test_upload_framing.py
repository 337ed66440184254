"""The SDK's own upload requests, captured on a loopback upload host (REAL-CLIENTS.md S4, S7).

The host is a raw socket server (``tests/_rawhttp.py``) in the test's own event loop, so it sees
the requests exactly as they travel, on the SDK's asyncio transport (aiohttp) and on trio's
(httpcore), and can hold a reply back to prove what the SDK does meanwhile.
"""

from __future__ import annotations

import json
import re
import time
import tracemalloc
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

import anyio
import pytest

from cincopa_async import (
    APIResponseError,
    AsyncCincopa,
    QuotaExceededError,
    ResponseDecodeError,
)
from cincopa_async._uploads import encode_uri_component, parse_host_reply

from ._raw_server import RawRequest, SendAndClose, http_reply, raw_server
from ._rawhttp import CaptureHost, Message

pytestmark = pytest.mark.anyio

TOKEN = "1234567iexampletokenabcdefghijklmn"
HASH = "0123456789abcdefghijklmnopqrstuv"  # the shape S1's fixture shows: 32 lowercase alnum
UPLOAD_TARGET = f"/post.jpg?uid=1234567&d=opaque-ticket&hash={HASH}&addtofid=0"
RID = "AEyCfY7ET4hA"
INTERMEDIATE = "authentication ok\nchunk done.\n"
FINAL = (
    "authentication ok\nfile received ok\nreading metadata ok\nfile stored ok\n"
    f"creating resource ok\nnew resource id 196481794 {RID}\ndone.\n"
)
# A name with every character class encodeURIComponent treats apart; the expected header value
# was worked out by hand from ECMA-262's encodeURIComponent, not computed by the SDK's code.
AWKWARD_NAME = "Mé (1) it's *new*! #2&3+4/5~x.mp4"
AWKWARD_NAME_ENCODED = "M%C3%A9%20(1)%20it's%20*new*!%20%232%263%2B4%2F5~x.mp4"
_RANGE = re.compile(r"bytes (\d+)-(\d+)/(\d+)")

UploadReply = Callable[[Message], Awaitable[str | tuple[int, str]]]


def chunk_range(request: Message) -> tuple[int, int, int]:
    match = _RANGE.fullmatch(request.header("content-range") or "")
    assert match is not None, request.headers
    start, end, total = (int(group) for group in match.groups())
    return start, end, total


async def stored(request: Message) -> str:
    """A host that stores every chunk: the final reply for the one that ends the file."""
    _, end, total = chunk_range(request)
    return FINAL if end == total else INTERMEDIATE


class FakeCincopa:
    """``asset.get_upload_url``, ``asset.list`` and the upload host, on one loopback port."""

    def __init__(self, upload_reply: UploadReply = stored) -> None:
        self.upload_reply = upload_reply
        self.host = CaptureHost(self.respond)
        self.filename = ""
        self.filesize = 0

    @property
    def uploads(self) -> list[Message]:
        return [r for r in self.host.requests if r.target.startswith("/post.jpg")]

    async def respond(self, request: Message) -> tuple[int, str, bytes]:
        path = request.target.partition("?")[0]
        if path == "/v2/asset.get_upload_url.json":
            reply = {"success": True, "upload_url": self.host.base + UPLOAD_TARGET}
        elif path == "/v2/asset.list.json":
            asset = {"rid": RID, "filename": self.filename, "filesize": self.filesize}
            reply = {"success": True, "items": [asset], "items_data": {"page": 1}}
        elif path == "/post.jpg":
            reply_text = await self.upload_reply(request)
            status, text = (200, reply_text) if isinstance(reply_text, str) else reply_text
            return status, "text/plain", text.encode()
        else:
            return 404, "text/plain", b"not found"
        return 200, "application/json", json.dumps(reply).encode()

    @asynccontextmanager
    async def client(self) -> AsyncIterator[AsyncCincopa]:
        async with (
            self.host.running(),
            AsyncCincopa(TOKEN, base_url=f"{self.host.base}/v2/", max_retries=0) as cp,
        ):
            yield cp


def assert_s4_framing(request: Message, data: bytes, encoded_name: str, unique_id: str) -> None:
    """One POST as cpUploadAPI sends it (S4): its headers, values and raw body."""
    assert request.method == "POST"
    assert request.target == UPLOAD_TARGET
    start, end, total = chunk_range(request)
    assert request.header_values("content-type") == ["multipart/form-data"]
    assert request.header_values("x-file-name") == [encoded_name]
    assert request.header_values("content-range") == [f"bytes {start}-{end}/{total}"]
    assert request.header_values("unique-id") == [unique_id]
    assert request.header("content-length") == str(end - start)
    assert request.header("transfer-encoding") is None
    assert request.body == data[start:end]
    order = [name.lower() for name, _ in request.headers]
    s4_order = ["content-type", "x-file-name", "content-range", "unique-id"]
    assert [name for name in order if name in s4_order] == s4_order


async def test_chunks_are_framed_as_cincopas_uploader_frames_them() -> None:
    """multipart/form-data without a boundary, raw bytes, X-FILE-NAME as encodeURIComponent,
    Content-Range with an exclusive end and the total on every chunk, one Date.now()-style
    unique-id for the whole file; chunks in order, the last one completing the file."""
    fake = FakeCincopa()
    data = bytes(range(256)) * 400 + b"tail"  # 102,404 bytes: chunks of 40,000, 40,000, 22,404
    fake.filename, fake.filesize = AWKWARD_NAME, len(data)
    before = time.time_ns() // 1_000_000
    async with fake.client() as cp:
        asset = await cp.upload_file(data, filename=AWKWARD_NAME, chunk_size=40_000)
    after = time.time_ns() // 1_000_000
    assert asset.rid == RID
    posts = fake.uploads
    assert [chunk_range(r) for r in posts] == [
        (0, 40_000, len(data)),
        (40_000, 80_000, len(data)),
        (80_000, len(data), len(data)),
    ]
    unique_id = posts[0].header("unique-id") or ""
    assert re.fullmatch(r"\d{13}", unique_id), unique_id  # milliseconds, as Date.now() gives
    assert before <= int(unique_id) <= after
    for request in posts:
        assert_s4_framing(request, data, AWKWARD_NAME_ENCODED, unique_id)


async def test_a_small_file_is_one_post_that_still_carries_its_range() -> None:
    """S4 caps the chunk size at the file size: a small file is one POST with ``bytes 0-N/N``."""
    fake = FakeCincopa()
    data = b"x" * 1000
    fake.filename, fake.filesize = "clip.mp4", len(data)
    async with fake.client() as cp:
        await cp.upload_file(data, filename="clip.mp4")
    [post] = fake.uploads
    assert post.header("content-range") == "bytes 0-1000/1000"
    assert_s4_framing(post, data, "clip.mp4", post.header("unique-id") or "")


async def test_uploads_of_one_process_never_share_a_unique_id() -> None:
    """Two uploads started together (same millisecond, likely) get different unique-ids."""
    fake = FakeCincopa()
    fake.filename, fake.filesize = "same.bin", 10
    async with fake.client() as cp, anyio.create_task_group() as tg:
        for _ in range(2):
            tg.start_soon(lambda: cp.upload_file(b"0123456789", filename="same.bin"))
    ids = [r.header("unique-id") for r in fake.uploads]
    assert len(ids) == 2
    assert len(set(ids)) == 2


class HeldReplies:
    """An upload host that holds each chunk's reply until the test releases it, and records,
    for every chunk, which other chunks were still waiting for their reply when it arrived."""

    def __init__(self) -> None:
        self.waiting: dict[int, anyio.Event] = {}  # chunk arrival number -> its release
        self.arrived = anyio.Event()
        self.overlaps: list[tuple[int, list[int]]] = []
        self.count = 0

    async def __call__(self, request: Message) -> str:
        number, self.count = self.count, self.count + 1
        self.overlaps.append((number, sorted(self.waiting)))
        release = self.waiting[number] = anyio.Event()
        self.arrived.set()
        await release.wait()
        del self.waiting[number]
        return await stored(request)

    async def next_arrival(self) -> int:
        await self.arrived.wait()
        self.arrived = anyio.Event()
        return max(self.waiting)


async def test_chunks_go_one_at_a_time_by_default() -> None:
    """While the host holds chunk k's reply, and every task of the test's event loop (the SDK's
    included) is blocked, chunk k+1 has not been sent; it comes only once k is acknowledged."""
    host = HeldReplies()
    fake = FakeCincopa(host)
    data = bytes(5 * 1000)
    fake.filename, fake.filesize = "five.bin", len(data)
    async with fake.client() as cp, anyio.create_task_group() as tg:
        tg.start_soon(lambda: cp.upload_file(data, filename="five.bin", chunk_size=1000))
        for k in range(5):
            assert await host.next_arrival() == k
            await anyio.wait_all_tasks_blocked()
            assert len(fake.uploads) == k + 1  # no chunk k+1 yet
            host.waiting[k].set()
    assert host.overlaps == [(k, []) for k in range(5)]  # no chunk arrived while one was held
    assert [chunk_range(r)[0] for r in fake.uploads] == [0, 1000, 2000, 3000, 4000]


async def test_parallel_chunks_are_an_explicit_opt_in() -> None:
    """chunk_concurrency=2 does send two chunks at once (the host above would see it): chunk 1
    arrives while chunk 0's reply is held. The last chunk still goes alone, after the rest."""
    host = HeldReplies()
    fake = FakeCincopa(host)
    data = bytes(3 * 1000)
    fake.filename, fake.filesize = "three.bin", len(data)
    async with fake.client() as cp, anyio.create_task_group() as tg:
        tg.start_soon(
            lambda: cp.upload_file(data, filename="three.bin", chunk_size=1000, chunk_concurrency=2)
        )
        await host.next_arrival()
        await host.next_arrival()
        assert sorted(host.waiting) == [0, 1]  # both held at once
        host.waiting[0].set()
        host.waiting[1].set()
        assert await host.next_arrival() == 2
        host.waiting[2].set()
    assert host.overlaps[1] == (1, [0])
    assert host.overlaps[2] == (2, [])
    assert chunk_range(fake.uploads[2])[:2] == (2000, 3000)


async def test_out_of_assets_quota_is_its_own_error() -> None:
    """The host's quota reply (S7) is QuotaExceededError, an APIResponseError, with the host's
    words and neither the token nor the upload URL's hash anywhere in it."""

    async def quota(request: Message) -> str:
        return f"authentication ok\nout of assets quota (hash={HASH} token {TOKEN})\n"

    fake = FakeCincopa(quota)
    async with fake.client() as cp:
        with pytest.raises(QuotaExceededError) as caught:
            await cp.upload_file(b"abc", filename="q.bin")
    error = caught.value
    assert isinstance(error, APIResponseError)
    assert "out of assets quota" in error.message
    assert "out of assets quota" in error.payload["reply"]
    assert "hash=REDACTED" in (error.url or "")
    for text in (str(error), repr(error), error.message, error.payload["reply"], error.url or ""):
        assert HASH not in text
        assert TOKEN not in text
    assert len(fake.uploads) == 1  # not retried: the quota does not grow by asking again


async def test_quota_reply_with_an_error_status_is_the_quota_error() -> None:
    async def quota(request: Message) -> tuple[int, str]:
        return 403, "error: out of assets quota\n"

    fake = FakeCincopa(quota)
    async with fake.client() as cp:
        with pytest.raises(QuotaExceededError):
            await cp.upload_file(b"abc", filename="q.bin")


async def test_a_chunk_without_done_does_not_count() -> None:
    """A reply that does not say the chunk was stored (an HTML page with HTTP 200) is a typed
    error carrying the host's text; the upload stops there, no later chunk is sent."""

    async def proxy_page(request: Message) -> str:
        return f"<html><body>502 Bad Gateway {HASH}</body></html>"

    fake = FakeCincopa(proxy_page)
    async with fake.client() as cp:
        with pytest.raises(ResponseDecodeError) as caught:
            await cp.upload_file(bytes(3000), filename="c.bin", chunk_size=1000)
    assert "502 Bad Gateway" in caught.value.body_excerpt
    assert HASH not in caught.value.body_excerpt + str(caught.value)
    assert len(fake.uploads) == 1


@pytest.mark.parametrize(
    ("reply", "expected"),
    [
        (INTERMEDIATE, None),
        ("authentication ok\r\nchunk done.\r\n", None),
        ("done", None),
        ("Authentication OK\nChunk Done.\n", None),
        (FINAL, ("196481794", RID)),
        (f"new resource id 7 {RID}\ndone.", ("7", RID)),
    ],
)
def test_success_replies_are_recognised(reply: str, expected: tuple[str, str] | None) -> None:
    assert parse_host_reply(reply, "u") == expected


@pytest.mark.parametrize(
    ("reply", "error"),
    [
        ("", ResponseDecodeError),
        ("authentication ok\n", ResponseDecodeError),  # nothing says the bytes were stored
        ("authentication ok\nfile received ok\nreading metad", ResponseDecodeError),  # cut off
        (f"new resource id 1 {RID}\n", ResponseDecodeError),  # the final reply without done.
        (f"done.\nnew resource id 1 {RID}\n", ResponseDecodeError),  # done before the resource
        ("authentication ok\nsomething else\nchunk done.\n", ResponseDecodeError),
        ("<html>ok</html>", ResponseDecodeError),
        ("error: upload url expired\n", APIResponseError),
        ("authentication ok\nERROR writing file\nchunk done.\n", APIResponseError),
        ("out of assets quota", QuotaExceededError),
        ("error: out of assets quota\n", QuotaExceededError),
    ],
)
def test_anything_else_is_a_typed_error(reply: str, error: type[Exception]) -> None:
    with pytest.raises(error) as caught:
        parse_host_reply(reply, "u", ("secret-token-value",))
    assert type(caught.value) is error


def test_secrets_are_scrubbed_from_the_hosts_text() -> None:
    reply = "error: bad hash s3cr3th4sh0123456789 for api_token=tok3n&x\n"
    with pytest.raises(APIResponseError) as caught:
        parse_host_reply(reply, "u", ("s3cr3th4sh0123456789",))
    text = caught.value.message + caught.value.payload["reply"]
    assert "s3cr3th4sh0123456789" not in text
    assert "tok3n" not in text
    assert "bad hash" in text


def _straddling(secret: str, at: int, prefix: str = "error: ") -> str:
    """A host reply whose ``secret`` starts 10 characters before position ``at``."""
    return prefix + "x" * (at - 10 - len(prefix)) + secret + " and more\n"


@pytest.mark.parametrize("at", [500, 2000], ids=["message-cut", "excerpt-cut"])
def test_secrets_are_scrubbed_before_the_hosts_text_is_cut(at: int) -> None:
    """A secret across the point where the message (500) or the kept reply (2000) is cut is
    scrubbed whole first: no half of it survives the cut."""
    with pytest.raises(APIResponseError) as caught:
        parse_host_reply(_straddling(HASH, at), "u", (HASH,))
    kept = caught.value.message + caught.value.payload["reply"] + str(caught.value)
    assert HASH[:10] not in kept


HUGE_REPLY = "authentication ok\n" * (4 * 1024 * 1024 // 18) + "chunk done.\n"


def test_a_host_reply_past_its_limit_is_refused_unparsed() -> None:
    with pytest.raises(ResponseDecodeError, match="longer than 65,536 bytes") as caught:
        parse_host_reply(HUGE_REPLY, "u", (HASH,))
    assert caught.value.operation == "upload"
    assert caught.value.body_excerpt.startswith("authentication ok\n")


# Reading stops at the limit: httpx's inner body generators are left to the garbage collector,
# which trio reports (the connection itself is closed by response.aclose()).
@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
@pytest.mark.parametrize("framing", ["length", "chunked"])
@pytest.mark.parametrize("chunk_size", [1000, 8 * 1024 * 1024], ids=["chunk", "one-post"])
async def test_a_huge_host_reply_is_a_typed_error_at_bounded_cost(
    chunk_size: int, framing: str
) -> None:
    """4 MiB of well-formed lines: read up to 64 KiB (a declared length over it: nothing) and
    refused, never decoded, lowered and split whole (that took ~44x the reply in memory); the
    upload stops there, nothing more is sent. The client's traced memory stays far below the
    reply's size (the replies are made before tracing starts)."""
    upload_url = {"success": True, "upload_url": ""}
    huge = http_reply(
        HUGE_REPLY.encode(), headers=(("Content-Type", "text/plain"),), framing=framing
    )

    def script(request: RawRequest, number: int) -> bytes:
        if request.path.startswith("/v2/asset.get_upload_url.json"):
            return http_reply(json.dumps(upload_url).encode())
        if request.path.startswith("/v2/asset.list.json"):  # the look after a lost last reply
            return http_reply(b'{"success": true, "items": [], "items_data": {"page": 1}}')
        return SendAndClose(huge)

    with raw_server(script) as server:
        upload_url["upload_url"] = f"http://127.0.0.1:{server.port}{UPLOAD_TARGET}"
        async with AsyncCincopa(TOKEN, base_url=server.base_url, max_retries=0) as cp:
            tracemalloc.start()
            try:
                with pytest.raises(ResponseDecodeError, match="longer than 65,536") as caught:
                    await cp.upload_file(bytes(3000), filename="h.bin", chunk_size=chunk_size)
                _, peak = tracemalloc.get_traced_memory()
            finally:
                tracemalloc.stop()
    assert caught.value.operation == "upload"
    assert HASH not in str(caught.value) + caught.value.body_excerpt
    posts = [r for r in server.requests if r.path.startswith("/post.jpg")]
    assert len(posts) == 1  # the first chunk's reply stopped the upload
    assert peak < 8 * 1024 * 1024, f"peak {peak / 2**20:.1f} MiB"


@pytest.mark.parametrize(
    ("name", "encoded"),
    [
        (AWKWARD_NAME, AWKWARD_NAME_ENCODED),
        ("a-b_c.d!e~f*g'h(i)j", "a-b_c.d!e~f*g'h(i)j"),  # the characters it leaves alone
        (
            '"quoted"\r\n;,?=@$:[]{}|\\^`%',
            "%22quoted%22%0D%0A%3B%2C%3F%3D%40%24%3A%5B%5D%7B%7D%7C%5C%5E%60%25",
        ),
        ("日本語 😀", "%E6%97%A5%E6%9C%AC%E8%AA%9E%20%F0%9F%98%80"),
    ],
)
def test_file_names_are_encoded_as_encode_uri_component(name: str, encoded: str) -> None:
    assert encode_uri_component(name) == encoded


async def test_an_error_status_carries_the_hosts_text_without_secrets() -> None:
    """A 5xx from the host is a ServerError whose body is the host's text, the hash scrubbed."""
    from cincopa_async import ServerError

    async def failing(request: Message) -> tuple[int, str]:
        return 503, f"error: storage unavailable for {UPLOAD_TARGET} {HASH}\n"

    fake = FakeCincopa(failing)
    async with fake.client() as cp:
        with pytest.raises(ServerError) as caught:
            await cp.upload_file(b"abc", filename="s.bin")
    assert "storage unavailable" in caught.value.body
    assert HASH not in caught.value.body + str(caught.value) + repr(caught.value)
