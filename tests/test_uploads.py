"""upload_file and import_url against the in-process emulator."""

from __future__ import annotations

import json
import os
from collections.abc import AsyncIterator, Iterator
from functools import partial
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest

from cincopa_async import (
    APIResponseError,
    AsyncCincopa,
    CincopaValidationError,
    ResponseDecodeError,
    ResponseValidationError,
    UploadOutcomeUnknownError,
    UploadSourceError,
)
from cincopa_async._uploads import UploadProgress, UploadState
from cincopa_async.testing import CincopaEmulator

from ._waits import wait_until
from .conftest import TOKEN, MakeClient, golden, operation_of

pytestmark = pytest.mark.anyio

KIB = 1024


@pytest.fixture
async def emu() -> AsyncIterator[CincopaEmulator]:
    async with CincopaEmulator(seed=1) as emulator:
        yield emulator


@pytest.fixture
async def cp(emu: CincopaEmulator) -> AsyncIterator[AsyncCincopa]:
    async with emu.client() as client:
        client._shared.sleep = _no_sleep
        yield client


async def _no_sleep(delay: float) -> None:
    await anyio.lowlevel.checkpoint()


def upload_posts(emu: CincopaEmulator) -> list[tuple[int, int, int] | None]:
    return [r.chunk for r in emu.requests if r.path.startswith("/upload/")]


async def test_small_file_is_one_post(
    emu: CincopaEmulator, cp: AsyncCincopa, tmp_path: Path
) -> None:
    """A file under chunk_size: one raw POST covering it all; metadata applied; asset returned."""
    path = tmp_path / "intro.mp4"
    path.write_bytes(os.urandom(10 * KIB))
    gallery = await cp.gallery.create(name="launch")
    seen: list[UploadProgress] = []
    asset = await cp.upload_file(
        path,
        gallery=gallery.fid,
        caption="Intro",
        reference_id="job-1",
        tags=["promo", "2026"],
        on_progress=seen.append,
    )
    assert asset.filename == "intro.mp4"
    assert asset.filesize == 10 * KIB
    assert asset.caption == "Intro"
    assert asset.reference_id == "job-1"
    assert asset.tags == ("promo", "2026")
    assert upload_posts(emu) == [(0, 10 * KIB, 10 * KIB)]
    assert seen[-1] == UploadProgress(
        filename="intro.mp4", bytes_done=10 * KIB, bytes_total=10 * KIB
    )
    items = await cp.gallery.get_items(fid=gallery.fid)
    assert [a.rid for a in items.folder.items] == [asset.rid]


async def test_large_file_goes_in_ranged_chunks(
    emu: CincopaEmulator, cp: AsyncCincopa, tmp_path: Path
) -> None:
    """Chunks with exclusive-end Content-Range; the last one alone completes the file."""
    data = os.urandom(100 * KIB + 7)
    path = tmp_path / "big.bin"
    path.write_bytes(data)
    seen: list[int] = []
    asset = await cp.upload_file(
        path,
        chunk_size=32 * KIB,
        chunk_concurrency=3,
        on_progress=lambda p: seen.append(p.bytes_done),
    )
    chunks = upload_posts(emu)
    total = len(data)
    assert sorted(chunks) == [
        (0, 32 * KIB, total),
        (32 * KIB, 64 * KIB, total),
        (64 * KIB, 96 * KIB, total),
        (96 * KIB, total, total),
    ]
    assert chunks[-1] == (96 * KIB, total, total)
    assert asset.filesize == total
    assert seen == sorted(seen)
    assert seen[-1] == total
    assert emu.state.main.assets[asset.rid].content == data


async def test_chunks_go_in_order_by_default(emu: CincopaEmulator, cp: AsyncCincopa) -> None:
    """Without chunk_concurrency the chunks reach the host strictly in file order (S4, S7)."""
    data = os.urandom(5 * 16 * KIB + 1)
    await cp.upload_file(data, filename="ordered.bin", chunk_size=16 * KIB)
    assert [start for start, _, _ in upload_posts(emu)] == [i * 16 * KIB for i in range(6)]


async def test_an_unreadable_reply_to_the_last_post_finds_the_stored_file(
    emu: CincopaEmulator, cp: AsyncCincopa
) -> None:
    """The host stored the file but its reply came back cut in half: not a success by itself,
    but the file may be stored, so the SDK looks for it and adopts it (no second POST)."""
    emu.faults.add("truncated_body", operations="upload", times=1)
    asset = await cp.upload_file(os.urandom(4 * KIB), filename="cut.bin")
    assert asset.filename == "cut.bin"
    assert len(upload_posts(emu)) == 1
    assert len(emu.state.main.assets) == 1


async def test_an_unreadable_reply_to_a_chunk_stops_the_upload(
    emu: CincopaEmulator, cp: AsyncCincopa
) -> None:
    """A chunk whose reply does not say it was stored does not count: ResponseDecodeError with
    the host's text, and no later chunk is sent."""
    emu.faults.add("malformed_body", operations="upload", times=1)
    with pytest.raises(ResponseDecodeError) as caught:
        await cp.upload_file(os.urandom(48 * KIB), filename="bad.bin", chunk_size=16 * KIB)
    assert "502 Bad Gateway" in caught.value.body_excerpt
    assert "hash=REDACTED" in (caught.value.url or "")
    assert len(upload_posts(emu)) == 1
    assert emu.state.main.assets == {}


async def test_bytes_and_stream_sources(emu: CincopaEmulator, cp: AsyncCincopa) -> None:
    """bytes need a filename; an async stream needs a filename and a size."""
    data = os.urandom(70 * KIB)

    async def stream() -> AsyncIterator[bytes]:
        for start in range(0, len(data), 5000):
            yield data[start : start + 5000]

    from_bytes = await cp.upload_file(data, filename="a.bin", chunk_size=32 * KIB)
    from_stream = await cp.upload_file(
        stream(), filename="b.bin", size=len(data), chunk_size=32 * KIB
    )
    assert from_bytes.filesize == from_stream.filesize == len(data)
    unsized = stream()
    with pytest.raises(CincopaValidationError) as caught:
        await cp.upload_file(unsized, chunk_size=32 * KIB)
    await unsized.aclose()
    assert len(caught.value.problems) == 2


def _pieces(*pieces: object) -> AsyncIterator[bytes]:
    async def stream() -> AsyncIterator[Any]:
        for piece in pieces:
            yield piece

    return stream()


STREAM_SIZE = 40 * KIB  # declared; chunk_size 16 KiB: three chunks, or one POST at 64 KiB


@pytest.mark.parametrize(
    ("pieces", "problem"),
    [
        pytest.param((bytes(STREAM_SIZE), b"tail"), "is longer than the 40,960 bytes", id="longer"),
        pytest.param((bytes(STREAM_SIZE), b"", b"!"), "is longer than", id="longer-after-empty"),
        pytest.param((bytes(STREAM_SIZE + 1),), "is longer than", id="longer-in-one-piece"),
        pytest.param((bytes(STREAM_SIZE - 1),), "ended at 40,959 of the 40,960", id="shorter"),
        pytest.param((b"ab", "cd"), "yielded a str at byte 2, not bytes", id="str"),
        pytest.param((b"ab", 7), "yielded a int at byte 2", id="int"),
        pytest.param((None,), "yielded a NoneType at byte 0", id="None"),
    ],
)
async def test_a_one_post_stream_not_of_its_size_is_refused_before_anything_is_sent(
    emu: CincopaEmulator, cp: AsyncCincopa, pieces: tuple[object, ...], problem: str
) -> None:
    """A stream that fits one POST is read whole first: longer or shorter than ``size``, or
    yielding something other than bytes, it is a CincopaValidationError with no request sent
    (not even asset.get_upload_url) -- never a file stored with the first ``size`` bytes."""
    with pytest.raises(CincopaValidationError) as caught:
        await cp.upload_file(
            _pieces(*pieces), filename="s.bin", size=STREAM_SIZE, chunk_size=64 * KIB
        )
    assert any(problem in line for line in caught.value.problems), caught.value.problems
    assert emu.requests == []
    assert emu.state.main.assets == {}


@pytest.mark.parametrize(
    ("pieces", "problem", "posted"),
    [
        pytest.param(
            (bytes(STREAM_SIZE), b"tail"), "is longer than the 40,960 bytes", 2, id="longer"
        ),
        pytest.param(
            (bytes(STREAM_SIZE - 1),), "ended at 40,959 of the 40,960", 2, id="shorter-in-last"
        ),
        pytest.param((bytes(20 * KIB),), "ended at 20,480 of the 40,960", 1, id="shorter"),
        pytest.param((bytes(20 * KIB), "x"), "yielded a str at byte 20,480", 1, id="str"),
        pytest.param((bytes(16 * KIB), None), "yielded a NoneType at byte 16,384", 1, id="None"),
    ],
)
async def test_a_chunked_stream_not_of_its_size_stores_nothing(
    emu: CincopaEmulator,
    cp: AsyncCincopa,
    pieces: tuple[object, ...],
    problem: str,
    posted: int,
) -> None:
    """Found in a chunk after the first: an UploadSourceError before that chunk is posted, and
    so before the POST that would complete the file -- no asset, no success reported."""
    seen: list[UploadProgress] = []
    with pytest.raises(UploadSourceError, match=problem) as caught:
        await cp.upload_file(
            _pieces(*pieces),
            filename="s.bin",
            size=STREAM_SIZE,
            chunk_size=16 * KIB,
            on_progress=seen.append,
        )
    assert caught.value.operation == "upload"
    assert upload_posts(emu) == [
        (start, start + 16 * KIB, STREAM_SIZE) for start in range(0, posted * 16 * KIB, 16 * KIB)
    ]
    assert emu.state.main.assets == {}
    assert all(update.bytes_done < STREAM_SIZE for update in seen)


async def test_a_stream_may_yield_any_bytes_like_pieces(
    emu: CincopaEmulator, cp: AsyncCincopa
) -> None:
    """bytes, bytearray and memoryview pieces, empty ones included, make the file as declared."""
    data = os.urandom(STREAM_SIZE)
    stream = _pieces(data[:100], b"", bytearray(data[100:30000]), memoryview(data[30000:]), b"")
    asset = await cp.upload_file(stream, filename="s.bin", size=STREAM_SIZE, chunk_size=16 * KIB)
    assert asset.filesize == STREAM_SIZE
    [stored] = emu.state.main.assets.values()
    assert stored.content == data


SIGNED = "uid=1&d=opaque&hash=s3cr3th4sh0123456789&addtofid=0"
BAD_UPLOAD_URLS = {
    "invalid IPv6 host": f"https://[::1/post.jpg?{SIGNED}",
    "invalid port": f"https://mediaupload.cincopa.com:abc/post.jpg?{SIGNED}",
    "not http": f"ftp://mediaupload.cincopa.com/post.jpg?{SIGNED}",
    "relative": f"/post.jpg?{SIGNED}",
    "plain http to a remote host": f"http://mediaupload.cincopa.com/post.jpg?{SIGNED}",
}


@pytest.mark.parametrize("upload_url", list(BAD_UPLOAD_URLS.values()), ids=list(BAD_UPLOAD_URLS))
async def test_an_upload_url_that_cannot_be_requested_is_a_typed_error(
    anyio_backend: str, upload_url: str
) -> None:
    """asset.get_upload_url gives a URL httpx cannot build (or not https to a remote host, when
    it carries the upload's hash): a ResponseValidationError naming the operation and the field,
    redacted, and no POST -- on the SDK's own routes (aiohttp under asyncio, httpcore under
    trio), not only through an httpx client."""
    from ._raw_server import http_reply, raw_server

    def script(request: Any, number: int) -> bytes:
        return http_reply(json.dumps({"success": True, "upload_url": upload_url}).encode())

    with raw_server(script) as server:
        async with AsyncCincopa(TOKEN, base_url=server.base_url, max_retries=0) as cp:
            with pytest.raises(ResponseValidationError) as caught:
                await cp.upload_file(b"abc", filename="u.bin")
    error = caught.value
    assert error.operation == "asset.get_upload_url"
    assert error.errors[0].endswith("@ asset.get_upload_url.upload_url")
    assert "s3cr3th4sh0123456789" not in str(error) + repr(error) + (error.url or "")
    assert [r.path.partition("?")[0] for r in server.requests] == ["/v2/asset.get_upload_url.json"]


async def test_a_request_a_route_cannot_build_is_a_typed_error(
    make_client: MakeClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Should a route's URL parser refuse what the check let through, the chunk's POST is
    still a ResponseValidationError of the upload, not httpx's InvalidURL."""
    client, recorder = make_client()

    def refuse(*args: object, **kwargs: object) -> object:
        raise httpx.InvalidURL("Invalid URL for hash=s3cr3th4sh0123456789")

    async with client:
        monkeypatch.setattr(client, "_outgoing", refuse)
        with pytest.raises(ResponseValidationError, match="the upload URL cannot be requested"):
            await client.upload_file(b"abc", filename="u.bin")
    assert [operation_of(r) for r in recorder.requests] == ["asset.get_upload_url"]


async def test_an_original_url_that_cannot_be_requested_leaves_the_outcome_unknown(
    make_client: MakeClient,
) -> None:
    """The POST completing a file fails (503); the look-alike's ``original`` URL cannot be
    built: it can be neither proven nor ruled out -- UploadOutcomeUnknownError, not InvalidURL
    escaping from the proof."""
    from datetime import UTC, datetime

    def handler(request: httpx.Request) -> httpx.Response:
        operation = operation_of(request)
        if operation == "asset.list":
            asset = {
                "rid": "R1",
                "filename": "u.bin",
                "filesize": 3,
                "uploaded": datetime.now(UTC).isoformat(),
                "versions": {"original": {"url": "https://cdn.example.com:abc/u.bin"}},
            }
            return httpx.Response(200, json={"success": True, "items": [asset]})
        if request.url.path.endswith("/post.jpg"):
            return httpx.Response(503, text="busy")
        return httpx.Response(200, json=golden(operation))

    client, _ = make_client(handler)
    async with client:
        with pytest.raises(UploadOutcomeUnknownError):
            await client.upload_file(b"abc", filename="u.bin")


async def test_a_state_file_with_an_upload_url_that_cannot_be_requested_is_ignored(
    emu: CincopaEmulator, cp: AsyncCincopa, tmp_path: Path
) -> None:
    """A resume state whose upload URL was edited (or corrupted) into one that cannot be
    requested is not resumed: the upload starts over on a new URL and completes."""
    path = tmp_path / "resume.bin"
    path.write_bytes(os.urandom(40 * KIB))
    info = path.stat()
    state_file = tmp_path / "resume.state"
    state = UploadState(
        upload_url=BAD_UPLOAD_URLS["invalid IPv6 host"],
        filename="resume.bin",
        size=info.st_size,
        chunk_size=16 * KIB,
        unique_id="1",
        source=str(path.resolve()),
        source_mtime_ns=info.st_mtime_ns,
        done=(0,),
    )
    state_file.write_text(state.to_json(), encoding="utf-8")
    asset = await cp.upload_file(path, chunk_size=16 * KIB, state_file=state_file)
    assert asset.filesize == 40 * KIB
    assert [r.operation for r in emu.requests].count("asset.get_upload_url") == 1
    assert not state_file.exists()


class _Zeros(httpx.AsyncByteStream):
    """A body of ``size`` zero bytes, made as it is read; ``pulled`` counts what was."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.pulled = 0

    async def __aiter__(self) -> AsyncIterator[bytes]:
        block = bytes(64 * KIB)
        while self.pulled < self.size:
            piece = block[: self.size - self.pulled]
            self.pulled += len(piece)
            yield piece


class _Hostile206:
    """A download server answering every GET with ``status``, ``Content-Range`` (``"echo"``:
    the range asked for, of a file of 10**18 bytes) and 64 MiB of zeros (just the range's bytes,
    when echoed); it counts the requests and the bytes the client pulled."""

    def __init__(self, status: int, content_range: str) -> None:
        self.status, self.content_range = status, content_range
        self.bodies: list[_Zeros] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        if len(self.bodies) >= 16:  # range after range, for ever: stop it somewhere
            return httpx.Response(404)
        headers, size = {}, 64 * 1024 * KIB
        if self.content_range == "echo":
            first, last = (int(n) for n in request.headers["range"][6:].split("-"))
            headers["Content-Range"] = f"bytes {first}-{last}/{10**18}"
            size = last + 1 - first
        elif self.content_range:
            headers["Content-Range"] = self.content_range
        body = _Zeros(size)
        self.bodies.append(body)
        return httpx.Response(self.status, headers=headers, stream=body)

    @property
    def pulled(self) -> int:
        return sum(body.pulled for body in self.bodies)


# Stopping early leaves httpx's inner body generators (and the server's) to the garbage
# collector, which trio reports; response.aclose() ends the exchange.
@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
@pytest.mark.parametrize(
    ("size", "max_size", "status", "content_range"),
    [
        pytest.param(None, 1000, 206, "echo", id="total-1e18"),
        pytest.param(None, None, 206, "echo", id="no-bound"),
        pytest.param(3, None, 206, "bytes 0-999999999999/3", id="range-past-total"),
        pytest.param(None, 1000, 200, "", id="whole-file-past-bound"),
    ],
)
async def test_a_proof_download_stops_at_the_size_it_can_use(
    make_client: MakeClient,
    size: int | None,
    max_size: int | None,
    status: int,
    content_range: str,
) -> None:
    """A server that claims a file of 10**18 bytes, or a range far past its total, or sends a
    whole body past the bound: the proof download stops after one request and a little of its
    body -- the size it is after (the look-alike's), not the server's word, bounds it."""
    from cincopa_async._uploads import OTHER_BYTES, download_digest

    server = _Hostile206(status, content_range)
    client, _ = make_client(server)
    async with client:
        bound = {} if max_size is None else {"max_size": max_size}
        found = await download_digest(client, "https://cdn.example.com/f.bin", size, **bound)
    assert found is None or found[0] == OTHER_BYTES
    assert len(server.bodies) == 1
    assert server.pulled <= 2 * 1024 * KIB


# Stopping early leaves httpx's inner body generators (and the server's) to the garbage
# collector, which trio reports; response.aclose() ends the exchange.
@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
async def test_an_import_proof_is_not_downloaded_past_the_candidates_sizes(
    make_client: MakeClient,
) -> None:
    """A lost import reply; the one look-alike is 5 bytes; the URL's server claims 10**18: the
    URL is asked for once (its range then known too long for any look-alike), the import's
    outcome unknown -- not a download of range after range."""
    from datetime import UTC, datetime

    from cincopa_async import ImportOutcomeUnknownError

    download = _Hostile206(206, "echo")

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.host == "files.example.com":
            return download(request)
        operation = operation_of(request)
        if operation == "asset.upload_from_url":
            return httpx.Response(503, json={"success": False})
        if operation == "asset.list":
            asset = {
                "rid": "R1",
                "filename": "clip.mp4",
                "filesize": 5,
                "uploaded": datetime.now(UTC).isoformat(),
                "versions": {"original": {"url": "https://cdn.example.com/R1.mp4"}},
            }
            return httpx.Response(200, json={"success": True, "items": [asset]})
        return httpx.Response(200, json=golden(operation))

    client, _ = make_client(handler, max_retries=0)
    async with client:
        with pytest.raises(ImportOutcomeUnknownError):
            await client.import_url(
                "https://files.example.com/clip.mp4", timeout=5, poll_interval=1
            )
    assert len(download.bodies) == 1
    assert download.pulled <= 2 * 1024 * KIB


async def test_chunk_failures_are_retried_one_by_one(
    emu: CincopaEmulator, cp: AsyncCincopa, tmp_path: Path
) -> None:
    """A failing chunk is re-posted on its own; the file still arrives whole."""
    data = os.urandom(96 * KIB)
    path = tmp_path / "flaky.bin"
    path.write_bytes(data)
    emu.faults.add("upload_chunk_failure", times=2)
    asset = await cp.upload_file(path, chunk_size=16 * KIB)
    assert asset.filesize == len(data)
    failed = [r for r in emu.requests if r.fault == "upload_chunk_failure"]
    assert len(failed) == 2
    assert len(upload_posts(emu)) == 6 + 2


async def test_dropped_reply_of_the_last_post_does_not_duplicate(
    emu: CincopaEmulator, cp: AsyncCincopa, tmp_path: Path
) -> None:
    """The host stored the file but the reply was lost: the SDK finds it, posts nothing more."""
    path = tmp_path / "once.bin"
    path.write_bytes(os.urandom(4 * KIB))
    emu.faults.add("drop_after", operations="upload", times=1)
    asset = await cp.upload_file(path)
    page = await cp.asset.list(search="once.bin")
    assert [a.rid for a in page.items] == [asset.rid]
    assert len(upload_posts(emu)) == 1


async def test_resume_sends_only_missing_chunks(emu: CincopaEmulator, tmp_path: Path) -> None:
    """Cancelled midway, then resumed from the state file: only missing chunks are posted."""
    data = os.urandom(8 * 16 * KIB)
    path = tmp_path / "resumable.bin"
    path.write_bytes(data)
    state_file = tmp_path / "upload.state"
    acknowledged: list[int] = []

    async with emu.client() as first:
        with anyio.CancelScope() as scope:

            def stop_after_three(progress: UploadProgress) -> None:
                acknowledged.append(progress.bytes_done)
                if len(acknowledged) == 3:
                    scope.cancel()

            await first.upload_file(
                path,
                chunk_size=16 * KIB,
                chunk_concurrency=1,
                state_file=state_file,
                on_progress=stop_after_three,
            )
    state = UploadState.from_json(state_file.read_text())
    assert state.done == (0, 1, 2)
    assert oct(state_file.stat().st_mode & 0o777) == "0o600"
    assert "hash" not in repr(state)
    before = len(upload_posts(emu))

    async with emu.client() as second:  # a new client, as a new process would have
        asset = await second.upload_file(path, chunk_size=16 * KIB, state_file=state_file)
    resumed = upload_posts(emu)[before:]
    assert sorted(start for start, _, _ in resumed) == [
        index * 16 * KIB for index in range(8) if index not in state.done
    ]
    assert asset.filesize == len(data)
    assert emu.state.main.assets[asset.rid].content == data
    assert not state_file.exists()


async def test_upload_host_error_reply_is_typed(emu: CincopaEmulator, cp: AsyncCincopa) -> None:
    """An 'error' line from the host becomes APIResponseError with the host's words."""
    url = (await cp.asset.get_upload_url()).upload_url
    bad = url.replace("hash=", "hash=x")
    from cincopa_async._uploads import _Source, _Uploader

    uploader = _Uploader(
        cp,
        _Source("x.bin", 3, data=b"abc"),
        bad,
        chunk_size=1024,
        chunk_concurrency=1,
        on_progress=None,
        state_file=None,
        state=None,
    )
    with pytest.raises(APIResponseError) as caught:
        await uploader.run()
    assert "error" in caught.value.message.lower()
    assert "hash=REDACTED" in (caught.value.url or "")


async def test_import_url_polls_to_completion(emu: CincopaEmulator, cp: AsyncCincopa) -> None:
    """import_url: start the job, poll until done, apply metadata, return the asset."""
    url = emu.add_file("clip.mp4", os.urandom(20 * KIB))
    asset = await cp.import_url(url, reference_id="imp-1", poll_interval=0.01)
    assert asset.reference_id == "imp-1"
    assert asset.filesize == 20 * KIB


async def test_import_url_cancelled_aborts_the_job(emu: CincopaEmulator, cp: AsyncCincopa) -> None:
    """Leaving import_url early (cancelled while it polls the job) aborts the server job."""
    url = emu.add_file("slow.mp4", os.urandom(KIB))
    emu.import_chunk_delay = 3600  # the job never finishes on its own
    async with anyio.create_task_group() as tg:
        tg.start_soon(partial(cp.import_url, url, poll_interval=0.01))
        await wait_until(
            lambda: any(r.operation == "asset.upload_from_url_get_status" for r in emu.requests)
        )
        tg.cancel_scope.cancel()
    aborts = [r for r in emu.requests if r.operation == "asset.upload_from_url_abort"]
    assert len(aborts) == 1


# -- import_url and the status words it may meet (a scripted server: the emulator says "done") --


def scripted_import(statuses: list[dict[str, Any]]) -> Any:
    """A handler playing ``statuses`` to successive get_status polls (the last one repeats)."""
    plays: Iterator[dict[str, Any]] = iter(statuses)
    last: dict[str, Any] = {}

    def handle(request: httpx.Request) -> httpx.Response:
        nonlocal last
        operation = operation_of(request)
        if operation == "asset.upload_from_url_get_status":
            last = next(plays, last)
            return httpx.Response(200, json={"success": True, **last})
        if operation == "asset.list":
            rid = request.url.params.get("rid")
            return httpx.Response(200, json={"success": True, "items": [{"rid": rid}]})
        return httpx.Response(200, json=golden(operation))

    return handle


@pytest.mark.parametrize("word", ["ready", "done", "Imported", ""])
async def test_a_resid_with_any_status_but_in_progress_is_done(
    make_client: MakeClient, word: str
) -> None:
    """A status word the SDK never heard of, with a resid, is a finished job: nothing aborted."""
    client, recorder = make_client(
        scripted_import(
            [{"status": "inprogress", "resid": ""}, {"status": word, "resid": "AEyCfY7ET4hA"}]
        )
    )
    async with client:
        asset = await client.import_url("https://example.com/a.mp4", timeout=60)
    assert asset.rid == "AEyCfY7ET4hA"
    operations = [operation_of(r) for r in recorder.requests]
    assert "asset.upload_from_url_abort" not in operations
    assert operations.count("asset.upload_from_url_get_status") == 2


@pytest.mark.parametrize("word", ["ready", "done", "mystery"])
async def test_an_unknown_status_without_resid_is_a_typed_error_not_an_abort(
    make_client: MakeClient, word: str
) -> None:
    """Nothing to classify it by: ResponseValidationError naming the status and the job, which
    is left running (it may have succeeded), at once rather than after the timeout."""
    client, recorder = make_client(
        scripted_import([{"status": "pending"}, {"status": word, "resid": ""}])
    )
    async with client:
        with pytest.raises(ResponseValidationError) as caught:
            await client.import_url("https://example.com/a.mp4", timeout=60)
    assert repr(word) in str(caught.value)
    assert "imp_5f2c9a1e7b" in str(caught.value)
    assert caught.value.errors[0].endswith("@ $.status")
    operations = [operation_of(r) for r in recorder.requests]
    assert "asset.upload_from_url_abort" not in operations
    assert operations.count("asset.upload_from_url_get_status") == 2


async def test_a_failure_word_fails_even_with_a_resid(make_client: MakeClient) -> None:
    """An import attaching to an asset may name it from the start: 'failed' still fails."""
    client, recorder = make_client(
        scripted_import([{"status": "failed", "resid": "AEyCfY7ET4hA", "debug": "HTTP 404"}])
    )
    async with client:
        with pytest.raises(APIResponseError, match="import failed: HTTP 404"):
            await client.import_url("https://example.com/a.mp4")
    assert "asset.upload_from_url_abort" not in [operation_of(r) for r in recorder.requests]


async def test_uploads_touch_files_only_in_the_file_threads(
    cp: AsyncCincopa, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every file operation of an upload (stat, open, read, close) runs in the SDK's few file
    threads, never in anyio's default pool of 40 (each new thread holds the event loop while
    it starts); an upload of bytes without a state file makes no thread hop at all."""
    from cincopa_async._uploads import file_threads

    limiters: list[object] = []
    run_sync = anyio.to_thread.run_sync

    async def recording(func: Any, *args: Any, limiter: Any = None, **options: Any) -> Any:
        limiters.append(limiter)
        return await run_sync(func, *args, limiter=limiter, **options)

    monkeypatch.setattr(anyio.to_thread, "run_sync", recording)
    await cp.upload_file(b"x" * 3000, filename="in-memory.bin", chunk_size=1024)
    assert limiters == []
    path = tmp_path / "on-disk.bin"
    path.write_bytes(b"y" * 3000)
    await cp.upload_file(path, chunk_size=1024)
    assert limiters
    assert all(limiter is file_threads() for limiter in limiters), limiters
