"""A hostile server speaking raw bytes on 127.0.0.1: what it sends never leaks a secret, never
grows memory past the reply cap, and never makes the SDK send a request twice on its own.

Every case runs on both default transports (aiohttp under asyncio, httpcore under trio).
"""

from __future__ import annotations

import gzip
import logging
import tracemalloc
import zlib
from functools import cache

import pytest

from cincopa_async import (
    APIConnectionError,
    AsyncCincopa,
    CincopaError,
    ResponseDecodeError,
)

from ._leaks import all_logs, assert_no_secret, texts_of
from ._raw_server import CLOSE, RawRequest, SendAndClose, http_reply, raw_server
from .conftest import TOKEN

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
