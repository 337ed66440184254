"""The default transports on a real loopback socket: aiohttp under asyncio, httpcore under trio.

Each behaviour the SDK relies on is checked on both: timeouts, the sent/not-sent distinction of
connection failures, compressed bodies, streaming request bodies, and proxies from the
environment.
"""

from __future__ import annotations

import gzip
import json
import socket
from collections.abc import AsyncIterator, MutableMapping
from typing import Any

import anyio
import httpx
import pytest

from cincopa_async import APIConnectionError, APITimeoutError, AsyncCincopa
from cincopa_async._aiohttp import AiohttpTransport
from cincopa_async._shards import ShardedTransport
from cincopa_async.testing import ConnectionDropped, serve_asgi_app

from ._waits import HANG_GUARD
from .conftest import TOKEN, golden

pytestmark = pytest.mark.anyio

Scope = MutableMapping[str, Any]


class Server:
    """A small ASGI app whose behaviour each test picks by path."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, str, dict[str, str], bytes]] = []

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        headers = {k.decode(): v.decode() for k, v in scope["headers"]}
        target = scope["path"]
        self.seen.append((scope["method"], target, headers, body))
        name = target.rsplit("/", 1)[-1].removesuffix(".json")
        if "stall" in target:
            await anyio.sleep(5)
        if "drop" in target:
            raise ConnectionDropped(after=True)  # the server aborts the socket, no reply
        payload = json.dumps(golden(name if name in ("ping", "asset.list") else "ping")).encode()
        extra: list[tuple[bytes, bytes]] = []
        if "gzip" in headers.get("accept-encoding", "") and name == "asset.list":
            payload = gzip.compress(payload)
            extra.append((b"content-encoding", b"gzip"))
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [(b"content-type", b"application/json"), *extra],
            }
        )
        await send({"type": "http.response.body", "body": payload})


@pytest.fixture
async def server() -> AsyncIterator[tuple[Server, str]]:
    app = Server()
    async with serve_asgi_app(app) as root:
        yield app, root


def expected_transport(backend: str) -> type:
    return AiohttpTransport if backend == "asyncio" else ShardedTransport


async def test_default_transport_follows_the_event_loop(
    server: tuple[Server, str], anyio_backend: str
) -> None:
    """aiohttp under asyncio, httpcore (one pool per connection) under trio, picked on first
    use."""
    app, root = server
    async with AsyncCincopa(TOKEN, base_url=f"{root}/v2/") as cp:
        assert (await cp.ping()).success
        page = await cp.asset.list()
        transport = cp._shared.http._transport
    assert type(transport) is expected_transport(anyio_backend)
    assert page.items  # a gzip-compressed reply was decoded
    assert app.seen[0][2]["accept-encoding"].startswith("gzip")


async def test_read_timeout_is_api_timeout_and_may_have_been_sent(
    server: tuple[Server, str],
) -> None:
    """A stalled reply hits the read timeout: APITimeoutError, request_sent=True."""
    _, root = server
    async with AsyncCincopa(TOKEN, base_url=f"{root}/stall/", timeout=0.3, max_retries=0) as cp:
        with anyio.fail_after(HANG_GUARD), pytest.raises(APITimeoutError) as caught:
            await cp.asset.delete(rid="R1")
    assert caught.value.request_sent is True
    assert TOKEN not in str(caught.value)


async def test_dropped_connection_may_have_been_sent(server: tuple[Server, str]) -> None:
    """The server closes the connection without replying: APIConnectionError, sent=True."""
    _, root = server
    async with AsyncCincopa(TOKEN, base_url=f"{root}/drop/", max_retries=0) as cp:
        with pytest.raises(APIConnectionError) as caught:
            await cp.asset.delete(rid="R1")
    assert not isinstance(caught.value, APITimeoutError)
    assert caught.value.request_sent is True


async def test_refused_connection_was_not_sent() -> None:
    """Nothing listens on the port: APIConnectionError with request_sent=False."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    async with AsyncCincopa(TOKEN, base_url=f"http://127.0.0.1:{port}/v2/", max_retries=0) as cp:
        with pytest.raises(APIConnectionError) as caught:
            await cp.gallery.create(name="x")
    assert caught.value.request_sent is False


async def test_mutation_is_retried_after_refused_connection_only(
    server: tuple[Server, str],
) -> None:
    """The transport's error classes drive the retry policy: refused -> retried."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    async with AsyncCincopa(TOKEN, base_url=f"http://127.0.0.1:{port}/v2/", max_retries=2) as cp:
        slept: list[float] = []

        async def no_sleep(delay: float) -> None:
            slept.append(delay)

        cp._shared.sleep = no_sleep
        with pytest.raises(APIConnectionError):
            await cp.gallery.create(name="x")
    assert len(slept) == 2


async def test_streaming_request_body(server: tuple[Server, str], anyio_backend: str) -> None:
    """An async-iterator request body streams through the default transport intact."""
    app, root = server
    limits = httpx.Limits(max_connections=4)
    transport = (
        AiohttpTransport(limits=limits)
        if anyio_backend == "asyncio"
        else httpx.AsyncHTTPTransport(limits=limits)
    )

    async def chunks() -> AsyncIterator[bytes]:
        for index in range(50):
            yield bytes([index]) * 10_000

    async with httpx.AsyncClient(transport=transport) as http:
        response = await http.post(
            f"{root}/upload", content=chunks(), headers={"content-length": "500000"}
        )
    assert response.status_code == 200
    method, _, _headers, body = app.seen[-1]
    assert method == "POST"
    assert len(body) == 500_000
    assert body == b"".join(bytes([i]) * 10_000 for i in range(50))


async def test_proxy_from_environment(
    server: tuple[Server, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """HTTP_PROXY is honoured by the default transport: the request goes to the proxy."""
    app, root = server
    monkeypatch.setenv("HTTP_PROXY", root)
    monkeypatch.setenv("http_proxy", root)
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    async with AsyncCincopa(TOKEN, base_url="http://cincopa-behind-proxy.localhost/v2/") as cp:
        assert (await cp.ping()).success
    _method, path, headers, _ = app.seen[-1]
    assert headers["host"] == "cincopa-behind-proxy.localhost"
    assert path.endswith("/v2/ping.json")


async def test_uploads_over_the_default_transport(tmp_path: Any) -> None:
    """Multipart and chunked uploads through the default transport, on a real socket."""
    from cincopa_async.testing import CincopaEmulator

    data = bytes(range(256)) * 700  # 179,200 bytes
    path = tmp_path / "clip.bin"
    path.write_bytes(data)
    async with CincopaEmulator(seed=3) as emu, emu.serve() as base_url:
        async with AsyncCincopa(emu.create_token(), base_url=base_url) as cp:
            small = await cp.upload_file(data[:1000], filename="small.bin")
            big = await cp.upload_file(path, chunk_size=64 * 1024, reference_id="big")
        assert emu.state.main.assets[small.rid].content == data[:1000]
        assert emu.state.main.assets[big.rid].content == data
        assert big.reference_id == "big"
        chunks = sorted(r.chunk for r in emu.requests if r.chunk)
        assert [c[:2] for c in chunks] == [(0, 1000), (0, 65536), (65536, 131072), (131072, 179200)]
