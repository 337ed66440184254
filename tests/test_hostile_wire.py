"""A hostile server speaking raw bytes on 127.0.0.1: what it sends never leaks a secret, never
grows memory past the reply cap, and never makes the SDK send a request twice on its own.

Every case runs on both default transports (aiohttp under asyncio, httpcore under trio).
"""

from __future__ import annotations

import gzip
import json
import logging
import tracemalloc
import zlib
from functools import cache
from pathlib import Path

import pytest

from cincopa_async import (
    APIConnectionError,
    AsyncCincopa,
    CincopaError,
    ResponseDecodeError,
    ResponseValidationError,
)

from ._leaks import all_logs, assert_no_secret, texts_of
from ._raw_server import CLOSE, RawRequest, SendAndClose, chunked, http_reply, raw_server
from ._waits import HANG_GUARD
from .conftest import TOKEN, golden

pytestmark = pytest.mark.anyio

PASSWORD = "pa55:w0rd/with&odd=chars"
MIB = 1024 * 1024

# Replies no honest server sends. Each is a whole response (or the start of one).
PROTOCOL_VIOLATIONS = {
    "malformed status line": b"HTTP/1.1 abc\r\n\r\n",
    "status line only garbage": b"\x00\xff garbage \r\n\r\n",
    "not http at all": b"SSH-2.0-OpenSSH_9.6\r\n",
    "header over the limit": b"HTTP/1.1 200 OK\r\nX-Big: " + b"a" * 20_000 + b"\r\n\r\n{}",
    "huge header block": b"HTTP/1.1 200 OK\r\n" + b"X-Many: x\r\n" * 20_000 + b"\r\n{}",
    "invalid content-length": b"HTTP/1.1 200 OK\r\nContent-Length: xx\r\n\r\n{}",
    "negative content-length": b"HTTP/1.1 200 OK\r\nContent-Length: -5\r\n\r\n{}",
    "conflicting content-lengths": (
        b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 9\r\n\r\n{}"
    ),
    "content-length larger than the body": (b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n{}"),
    "invalid chunk size": (
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n"
    ),
    "chunked, cut short": b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n10\r\nab",
    "headers cut short": b"HTTP/1.1 200 OK\r\nContent-Ty",
    "corrupt gzip": (
        b"HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: 8\r\n\r\nnot gzip"
    ),
    "unasked-for brotli": (
        b"HTTP/1.1 200 OK\r\nContent-Encoding: br\r\nContent-Length: 2\r\n\r\n{}"
    ),
    "invalid header bytes": b"HTTP/1.1 200 OK\r\nX\x00Bad: \x01\r\nContent-Length: 2\r\n\r\n{}",
}


@pytest.fixture(params=sorted(PROTOCOL_VIOLATIONS))
def violation(request: pytest.FixtureRequest) -> bytes:
    return PROTOCOL_VIOLATIONS[request.param]


@pytest.mark.parametrize("token", [TOKEN, "7654321ialice:пароль/&x=1+y"])  # wire form differs
async def test_protocol_violations_end_in_typed_errors_that_hold_no_secret(
    violation: bytes, token: str
) -> None:
    """Whatever the bytes, a CincopaError (or a reply, where a transport tolerates them);
    nothing reachable from the error, nor any log record of the SDK's, aiohttp's, httpx's,
    httpcore's or asyncio's loggers, holds the token or the password of the call (both ride in
    the query string)."""
    texts: list[str] = []
    failure: CincopaError | None = None
    with (
        all_logs(("", "httpx", "httpcore", "cincopa_async", "aiohttp", "asyncio")) as logs,
        # ... then hang up: a reply cut short is a violation, not a wait for the read timeout
        raw_server(lambda request, number: SendAndClose(violation)) as server,
    ):
        async with AsyncCincopa(token, base_url=server.base_url, max_retries=0) as cp:
            try:
                await cp.portal.set(subdomain="x", simple_user_add=f"alice:{PASSWORD}")
            except CincopaError as error:  # anything else fails the test
                failure = error
                logging.getLogger("cincopa_async").exception("the call failed", exc_info=error)
                texts = texts_of(error)
    if failure is not None:
        assert isinstance(failure, APIConnectionError | ResponseDecodeError)
        assert failure.operation == "portal.set"
    assert server.requests  # it did reach the server
    assert_no_secret([*texts, *logs.lines], [token, PASSWORD, f"alice:{PASSWORD}"])


# -- decompression bombs ----------------------------------------------------------------------


@cache
def _gzip_of_zeros(size: int) -> bytes:
    compressor = zlib.compressobj(9, zlib.DEFLATED, zlib.MAX_WBITS | 16)
    block = bytes(MIB)
    parts = [compressor.compress(block) for _ in range(size // MIB)]
    return b"".join([*parts, compressor.flush()])


@cache
def bomb(layers: int) -> bytes:
    """'[' + 1 GiB of zeros, gzip'ed ``layers`` times (a few KB for 2 layers)."""
    data = _gzip_of_zeros(1024 * MIB)
    for _ in range(layers - 1):
        data = gzip.compress(data, 9)
    return data


@pytest.mark.parametrize(
    ("encoding", "layers"),
    [("gzip", 1), ("gzip, gzip", 2), ("gzip,gzip", 2), ("x-gzip, identity, gzip", 2)],
)
@pytest.mark.parametrize("framing", ["length", "chunked", "close"])
async def test_decompression_bombs_stop_at_the_decoded_cap(
    monkeypatch: pytest.MonkeyPatch, encoding: str, layers: int, framing: str
) -> None:
    """Compressed bytes that inflate to 1 GiB: ResponseDecodeError at the cap, and memory near
    the cap (measured by tracemalloc), however the body is framed."""
    from cincopa_async import _client

    monkeypatch.setattr(_client, "MAX_RESPONSE_BYTES", 4 * MIB)
    payload = bomb(layers)
    reply = http_reply(
        payload,
        headers=(("Content-Type", "application/json"), ("Content-Encoding", encoding)),
        framing=framing,
    )
    if framing == "close":
        reply = SendAndClose(reply)
    with raw_server(lambda request, number: reply) as server:
        async with AsyncCincopa(TOKEN, base_url=server.base_url, max_retries=0) as cp:
            tracemalloc.start()
            try:
                with pytest.raises(ResponseDecodeError, match="larger than 4194304 bytes"):
                    await cp.ping()
                _, peak = tracemalloc.get_traced_memory()
            finally:
                tracemalloc.stop()
    # the cap, plus a step per layer and what the transport buffers: far below the 1 GiB
    assert peak < 24 * MIB, f"peak {peak / MIB:.1f} MiB"


@cache
def _chunked_zeros(size: int) -> bytes:
    return chunked(bytes(size), 1024 * 1024)


# Stopping early leaves httpx's inner body generators to the garbage collector, which trio
# reports (as in test_hostile_server's endless body); response.aclose() closes the connection.
@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
@pytest.mark.parametrize("encoding", [None, "identity"])
async def test_a_small_content_length_beside_chunked_framing_does_not_lift_the_cap(
    monkeypatch: pytest.MonkeyPatch, anyio_backend: str, encoding: str | None
) -> None:
    """``Content-Length: 2`` and ``Transfer-Encoding: chunked`` with 48 MiB of chunks: the
    chunked framing wins (RFC 9112 6.3; httpcore's h11 reads it so), and the 2 is no licence to
    read the body whole. A typed error at the cap (aiohttp refuses the pair as a protocol
    violation), and the client's traced memory stays near the 4 MiB cap."""
    from cincopa_async import _client

    monkeypatch.setattr(_client, "MAX_RESPONSE_BYTES", 4 * MIB)
    coding = () if encoding is None else (("Content-Encoding", encoding),)
    head = http_reply(
        b"",
        headers=(
            ("Content-Type", "application/json"),
            ("Content-Length", "2"),
            *coding,
            ("Transfer-Encoding", "chunked"),
        ),
        framing="close",  # no framing header of its own: the two above say it
    )
    reply = SendAndClose(head + _chunked_zeros(48 * MIB))
    with raw_server(lambda request, number: reply) as server:
        async with AsyncCincopa(TOKEN, base_url=server.base_url, max_retries=0) as cp:
            tracemalloc.start()
            try:
                with pytest.raises(CincopaError) as caught:
                    await cp.ping()
                _, peak = tracemalloc.get_traced_memory()
            finally:
                tracemalloc.stop()
    error = caught.value
    assert error.operation == "ping"
    if anyio_backend == "trio":
        assert isinstance(error, ResponseDecodeError)
        assert "larger than 4194304 bytes" in str(error)
    else:
        assert isinstance(error, APIConnectionError | ResponseDecodeError)
    assert peak < 24 * MIB, f"peak {peak / MIB:.1f} MiB"


@pytest.mark.parametrize(
    ("encoding", "problem"),
    [
        ("gzip, gzip, gzip, gzip, gzip", "stacked content codings"),
        ("br", "unsupported Content-Encoding 'br'"),
        ("compress", "unsupported Content-Encoding 'compress'"),
    ],
)
async def test_codings_the_sdk_did_not_ask_for_are_refused(encoding: str, problem: str) -> None:
    reply = http_reply(b"{}", headers=(("Content-Encoding", encoding),))
    with raw_server(lambda request, number: reply) as server:
        async with AsyncCincopa(TOKEN, base_url=server.base_url, max_retries=0) as cp:
            with pytest.raises(ResponseDecodeError, match=problem):
                await cp.ping()
    assert server.requests[0].headers["accept-encoding"] == "gzip, deflate"


async def test_a_call_sends_exactly_the_sdks_headers(anyio_backend: str) -> None:
    """The headers of a call are the SDK's, each once: the transport adds none of its own (on
    asyncio the SDK gives every header aiohttp would add, so that aiohttp builds no skip list
    per request), and Accept-Encoding is the SDK's, which its decoder is bound to."""
    with raw_server(lambda request, number: http_reply(b'{"success": true}')) as server:
        async with AsyncCincopa(TOKEN, base_url=server.base_url, max_retries=0) as cp:
            await cp.ping()
            await cp.asset.list()
    for request in server.requests:
        assert sorted(request.header_names) == [
            "accept",
            "accept-encoding",
            "host",
            "user-agent",
        ], request.header_names
        assert request.headers["accept"] == "*/*"
        assert request.headers["accept-encoding"] == "gzip, deflate"
        assert request.headers["user-agent"].startswith("cincopa-async/")


@pytest.mark.parametrize("coding", ["gzip", "deflate-zlib", "deflate-raw", "deflate, gzip"])
async def test_honest_compressed_replies_are_decoded(coding: str) -> None:
    body = b'{"success": true, "ping": "pong", "accid": "' + b"x" * 5000 + b'"}'
    if coding == "gzip":
        encoded, header = gzip.compress(body), "gzip"
    elif coding == "deflate-zlib":
        encoded, header = zlib.compress(body), "deflate"
    elif coding == "deflate-raw":
        raw = zlib.compressobj(6, zlib.DEFLATED, -zlib.MAX_WBITS)
        encoded, header = raw.compress(body) + raw.flush(), "deflate"
    else:
        encoded, header = gzip.compress(zlib.compress(body)), "deflate, gzip"
    reply = http_reply(encoded, headers=(("Content-Encoding", header),))
    with raw_server(lambda request, number: reply) as server:
        async with AsyncCincopa(TOKEN, base_url=server.base_url) as cp:
            pong = await cp.ping()
    assert pong.accid == "x" * 5000


# -- JSON replies: a cap on their size, budgets on their values -------------------------------

_PAGE_HEAD = b'{"success": true, "items_data": {"page": 1, "pages_count": 1}, "items": ['


def _page(items: list[bytes]) -> bytes:
    return _PAGE_HEAD + b",".join(items) + b"]}"


async def _traced_call(reply: bytes, call: str = "ping") -> tuple[CincopaError | None, int]:
    """Serve ``reply`` and make ``call``: its error (None: it succeeded) and the client's
    traced peak memory meanwhile. The reply is made before tracing starts."""
    failure: CincopaError | None = None
    with raw_server(lambda request, number: reply) as server:
        async with AsyncCincopa(TOKEN, base_url=server.base_url, max_retries=0) as cp:
            tracemalloc.start()
            try:
                await (cp.ping() if call == "ping" else cp.asset.list())
            except CincopaError as error:
                failure = error
            finally:
                _, peak = tracemalloc.get_traced_memory()
                tracemalloc.stop()
    return failure, peak


@cache
def _json_of_zeros(size: int) -> bytes:
    """A JSON object of about ``size`` bytes: ``{"ping": "pong", "n": [0, 0, ...]}``."""
    return b'{"success": true, "ping": "pong", "n": [' + b"0," * (size // 2) + b"0]}"


# Stopping at the cap leaves httpx's inner body generators to the garbage collector, which trio
# reports (as in test_hostile_server's endless body); response.aclose() closes the connection.
@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
async def test_a_json_reply_is_read_up_to_16_mib() -> None:
    """20 MiB of JSON (chunked, so no length to refuse it by): reading stops at 16 MiB, the
    JSON cap; nothing is decoded, so memory stays near the cap, not at ~28x the reply."""
    reply = SendAndClose(http_reply(_json_of_zeros(20 * MIB), framing="chunked"))
    failure, peak = await _traced_call(reply)
    assert isinstance(failure, ResponseDecodeError)
    assert "larger than 16777216 bytes" in str(failure)
    assert peak < 40 * MIB, f"peak {peak / MIB:.1f} MiB"


@pytest.mark.parametrize(
    ("items", "problem"),
    [
        pytest.param([b"{}"] * 300_000, "more than 50,000 JSON objects and arrays", id="objects"),
        pytest.param([b"[[]]"] * 100_000, "more than 50,000 JSON objects and arrays", id="arrays"),
        pytest.param([b"0"] * 300_000, "more than 250,000 JSON values", id="values"),
    ],
)
async def test_a_json_reply_past_its_value_budgets_is_not_decoded(
    items: list[bytes], problem: str
) -> None:
    """Under a MiB of JSON that would decode into hundreds of thousands of objects (an asset
    model each, ~45x the reply): counted, not decoded -- a ResponseDecodeError naming the
    operation, memory flat."""
    failure, peak = await _traced_call(http_reply(_page(items)), "asset.list")
    assert isinstance(failure, ResponseDecodeError)
    assert failure.operation == "asset.list"
    assert problem in str(failure)
    assert peak < 8 * MIB, f"peak {peak / MIB:.1f} MiB"


@pytest.mark.parametrize("kind", [bytes, bytearray])
def test_the_budgets_count_every_brace_bracket_and_comma_exactly(kind: type) -> None:
    """At each budget exactly a reply passes, one more refuses it, and the count it names is
    that of the body's ``{``, ``[`` and ``,`` (strings included)."""
    from cincopa_async._client import MAX_JSON_CONTAINERS, MAX_JSON_VALUES, _over_json_budget

    def body(objects: int, arrays: int, commas: int) -> bytes | bytearray:
        text = b'{"s": "[,"}' + b"{}" * (objects - 1) + b"[]" * (arrays - 1) + b"," * (commas - 1)
        return kind(text)

    half = MAX_JSON_CONTAINERS // 2
    assert _over_json_budget(body(half, half, 1)) is None
    past = _over_json_budget(body(half + 1, half, 1))
    assert past == f"more than {MAX_JSON_CONTAINERS:,} JSON objects and arrays (50,001)"
    values = MAX_JSON_VALUES - MAX_JSON_CONTAINERS
    assert _over_json_budget(body(half, half, values)) is None
    past = _over_json_budget(body(half, half, values + 1))
    assert past == f"more than {MAX_JSON_VALUES:,} JSON values (250,001)"


@pytest.mark.parametrize("kind", [bytes, bytearray])
def test_the_budget_count_makes_no_copy_of_the_body(kind: type) -> None:
    """The count runs on every reply past 256 KiB (and is all the work on one it refuses):
    on a reply at the 16 MiB cap it allocates a small fraction of it, as ``bytes.count`` did,
    not a second body (``bytes.translate`` allocates its input's length before it shrinks)."""
    from cincopa_async._client import MAX_JSON_VALUES, MAX_RESPONSE_BYTES, _over_json_budget

    for filler, verdict in [
        (b",", f"more than {MAX_JSON_VALUES:,} JSON values ({MAX_RESPONSE_BYTES:,})"),
        (b"a", None),
    ]:
        body = kind(filler * MAX_RESPONSE_BYTES)
        tracemalloc.start()
        try:
            found = _over_json_budget(body)
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        assert found == verdict
        assert peak < MIB, f"peak {peak / MIB:.1f} MiB"


async def test_a_thousand_asset_page_is_within_the_budgets() -> None:
    """What Cincopa sends -- pages of recorded assets, a thousand of them here -- decodes."""
    asset = json.dumps(golden("asset.list")["items"][0]).encode()
    failure, _ = await _traced_call(http_reply(_page([asset] * 1000)), "asset.list")
    assert failure is None


async def test_a_reply_with_many_bad_items_names_a_few_cheaply() -> None:
    """20,000 assets of the wrong shape: the first 20 paths are named, without building an
    exception per bad item (that took ~200 MiB for 50,000)."""
    failure, peak = await _traced_call(
        http_reply(_page([b'{"rid": [], "filesize": "x"}'] * 20_000)), "asset.list"
    )
    assert isinstance(failure, ResponseValidationError)
    assert len(failure.errors) <= 21
    assert "asset.list.items[0].rid" in failure.errors[0]
    assert peak < 16 * MIB, f"peak {peak / MIB:.1f} MiB"


async def test_a_bad_item_past_the_first_ones_is_still_named() -> None:
    """Only item 57 of 100 is bad: the check of the first 20 items finds nothing, a later
    window finds it, and its path says where it counts from."""
    good = b'{"rid": "r"}'
    items = [good] * 57 + [b'{"rid": []}'] + [good] * 42
    failure, _ = await _traced_call(http_reply(_page(items)), "asset.list")
    assert isinstance(failure, ResponseValidationError)
    assert failure.errors == (
        "invalid value for type, expected str @ asset.list.items[17].rid"
        " (items counted from 40 in lists of more than 20)",
    )


# -- only the SDK's retry policy re-sends ------------------------------------------------------


def _drop_after_reading(serve_first: bool) -> tuple[list[str], object]:
    paths: list[str] = []

    def script(request: RawRequest, number: int) -> bytes:
        paths.append(request.path.split("?")[0])
        if serve_first and number == 0:  # a keep-alive reply: the connection goes to the pool
            return http_reply(b'{"success": true, "ping": "pong"}')
        return CLOSE  # read the whole request, then hang up: the outcome is unknown

    return paths, script


@pytest.fixture(params=[True, False], ids=["pooled-connection", "fresh-connection"])
def pooled(request: pytest.FixtureRequest) -> bool:
    return bool(request.param)


@pytest.mark.parametrize(
    "call",
    [
        ("token.create", {"name": "t", "permissions": ["asset.read"]}),
        ("account.add_sub", {"name": "sub"}),
        ("live.create", {}),
        ("live.start", {"id": "1"}),
    ],
)
@pytest.mark.parametrize("max_retries", [0, 2])
async def test_mutating_gets_are_sent_once_when_the_connection_drops(
    pooled: bool, call: tuple[str, dict[str, object]], max_retries: int
) -> None:
    """GET mutations: one request reaches the server, whatever the transport would retry."""
    name, arguments = call
    paths, script = _drop_after_reading(serve_first=pooled)
    with raw_server(script) as server:  # type: ignore[arg-type]  # a Script
        async with AsyncCincopa(TOKEN, base_url=server.base_url, max_retries=max_retries) as cp:
            if pooled:
                await cp.ping()
            resource, action = name.split(".")
            method = getattr(getattr(cp, resource), action)
            with pytest.raises(APIConnectionError) as caught:
                await method(**arguments)
    assert caught.value.request_sent is True
    assert paths.count(f"/v2/{name}.json") == 1, paths


async def test_reads_are_resent_by_the_policy_alone(pooled: bool) -> None:
    """A retry-safe read that keeps dropping: exactly 1 + max_retries requests."""
    paths, script = _drop_after_reading(serve_first=pooled)
    with raw_server(script) as server:  # type: ignore[arg-type]  # a Script
        async with AsyncCincopa(TOKEN, base_url=server.base_url, max_retries=2) as cp:
            cp._shared.sleep = _no_sleep
            if pooled:
                await cp.ping()
            with pytest.raises(APIConnectionError):
                await cp.asset.list()
    assert paths.count("/v2/asset.list.json") == 3, paths


async def _no_sleep(delay: float) -> None:
    return None


def test_raw_server_helper_parses_requests() -> None:
    """The helper itself: a request with a body is read whole and recorded."""
    import socket

    seen: list[RawRequest] = []

    def script(request: RawRequest, number: int) -> bytes:
        seen.append(request)
        return http_reply(b"ok", headers=())

    with raw_server(script) as server, socket.create_connection(("127.0.0.1", server.port)) as s:
        s.sendall(b"POST /x?a=1 HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc")
        reply = b""
        while not reply.endswith(b"ok"):
            reply += s.recv(100)
    assert seen[0].path == "/x?a=1"
    assert seen[0].body == b"abc"
    assert reply.startswith(b"HTTP/1.1 200 OK")


# -- statuses that are no HTTP status -----------------------------------------------------------


@pytest.mark.parametrize("status", ["000 OK", "099 Odd", "600 Odd", "999 Odd"])
async def test_a_reply_without_a_final_http_status_is_no_success(
    anyio_backend: str, status: str
) -> None:
    """A JSON ``success`` under status 000, 099, 600 or 999 is not a success: a typed error
    naming the operation (aiohttp passes 000 and 099 on as they came; httpcore refuses them)."""
    reply = SendAndClose(http_reply(b'{"success": true, "ping": "pong"}', status=status))
    with raw_server(lambda request, number: reply) as server:
        async with AsyncCincopa(TOKEN, base_url=server.base_url, max_retries=0) as cp:
            with pytest.raises(CincopaError) as caught:
                await cp.ping()
    assert caught.value.operation == "ping"
    if anyio_backend == "asyncio" or not status.startswith("0"):
        assert isinstance(caught.value, ResponseDecodeError)
        assert "is not a final HTTP status (200-599)" in str(caught.value)
    else:
        assert isinstance(caught.value, APIConnectionError)


@pytest.mark.parametrize("status", ["000 OK", "999 Odd"])
async def test_an_upload_host_reply_without_a_final_http_status_stores_nothing(
    status: str,
) -> None:
    """``chunk done.`` under status 000 is not an acknowledged chunk: the upload fails typed,
    no further chunk is sent."""
    upload_url = {"success": True, "upload_url": ""}
    done = http_reply(b"authentication ok\nchunk done.\n", status=status, headers=())

    def script(request: RawRequest, number: int) -> bytes:
        if request.path.startswith("/v2/asset.get_upload_url.json"):
            return http_reply(json.dumps(upload_url).encode())
        if request.path.startswith("/v2/asset.list.json"):
            return http_reply(b'{"success": true, "items": [], "items_data": {"page": 1}}')
        return done

    with raw_server(script) as server:
        upload_url["upload_url"] = f"http://127.0.0.1:{server.port}/post.jpg?hash=0123456789abcdef"
        async with AsyncCincopa(TOKEN, base_url=server.base_url, max_retries=0) as cp:
            with pytest.raises(CincopaError) as caught:
                await cp.upload_file(bytes(3000), filename="s.bin", chunk_size=1000)
    assert caught.value.operation == "upload"
    assert isinstance(caught.value, ResponseDecodeError | APIConnectionError)
    assert len([r for r in server.requests if r.path.startswith("/post.jpg")]) == 1
    assert "0123456789abcdef" not in str(caught.value)


async def test_a_reply_of_the_wrong_shape_is_raised_once_not_retried_nor_seen_as_overload() -> None:
    """Structuring the reply happens after the retry loop: its error is the caller's at once,
    neither re-sent nor shown to the listeners that watch for overload (the bulk engine's)."""
    reply = http_reply(b'{"success": true, "items": "not a list"}')
    seen: list[CincopaError] = []
    with raw_server(lambda request, number: reply) as server:
        async with AsyncCincopa(TOKEN, base_url=server.base_url, max_retries=3) as cp:
            cp._shared.overload_listeners.append(seen.append)
            with pytest.raises(ResponseValidationError, match="items"):
                await cp.asset.list()
    assert len(server.requests) == 1
    assert seen == []


@pytest.mark.parametrize("anyio_backend", ["asyncio"])
async def test_a_call_in_flight_holds_no_closure_cells() -> None:
    """On the aiohttp route, no coroutine of the SDK's that a call in flight runs through has
    closure cells: a closure in one gives each call a cell per captured name, made when the
    function starts whether or not it defines the closure (objects every young collection of
    the cyclic garbage collector scans, hundreds of calls at a time). The httpx routes' closure
    lives in ``_call_over_httpx``."""
    import asyncio
    import threading

    import cincopa_async

    package = str(Path(cincopa_async.__file__).parent)
    received, release = threading.Event(), threading.Event()

    def script(request: RawRequest, number: int) -> bytes:
        if number == 1:  # the call under inspection: held until the test looked at it
            received.set()
            release.wait(HANG_GUARD)
        return http_reply(b'{"success": true}')

    with raw_server(script) as server:
        async with AsyncCincopa(TOKEN, base_url=server.base_url, max_retries=0) as cp:
            await cp.ping()  # the route is chosen and the connection open
            call = asyncio.ensure_future(cp.ping())
            await asyncio.to_thread(received.wait, HANG_GUARD)
            chain = []
            awaited: object = call.get_coro()
            while hasattr(awaited, "cr_code"):
                chain.append(awaited.cr_code)  # type: ignore[attr-defined]
                awaited = awaited.cr_await  # type: ignore[attr-defined]
            release.set()
            await call
    sdk = {code.co_name: code.co_cellvars for code in chain if code.co_filename.startswith(package)}
    assert {"ping", "_call", "_exchange", "send"} <= set(sdk), sdk
    assert all(cells == () for cells in sdk.values()), sdk
