"""The trio route's connection pool: httpx's own transports, one per connection (``_shards``).

Every test runs on both backends: on asyncio the SDK takes this route when aiohttp is missing
(``core_route`` makes it so). The server is a raw loopback socket server that counts the
connections it accepted and saw end.
"""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator

import anyio
import httpx
import pytest

from cincopa_async import APIConnectionError, AsyncCincopa
from cincopa_async import _client as client_module
from cincopa_async._client import CLIENT, CORE
from cincopa_async._shards import ShardedTransport

from ._raw_server import CLOSE, RawRequest, RawServer, SendAndClose, http_reply, raw_server
from ._waits import HANG_GUARD, wait_until
from .conftest import TOKEN, golden

pytestmark = pytest.mark.anyio

PING = http_reply(json.dumps(golden("ping")).encode())


@pytest.fixture
def core_route(monkeypatch: pytest.MonkeyPatch) -> None:
    """The SDK on httpx's own transports on both backends (as on asyncio without aiohttp)."""
    monkeypatch.setattr(client_module, "_default_asyncio_transport", lambda limits: None)
    for name in ("HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy", "ALL_PROXY"):
        monkeypatch.delenv(name, raising=False)


def sharded(cp: AsyncCincopa) -> ShardedTransport:
    transport = cp._shared.core
    assert cp._shared.route == CORE
    assert isinstance(transport, ShardedTransport)
    return transport


def open_connections(transport: ShardedTransport) -> int:
    """Connections the shards' httpcore pools hold and have not closed (their own API)."""
    pools = [shard._pool for shard in transport.shards]  # type: ignore[attr-defined]
    return sum(1 for pool in pools for c in pool.connections if not c.is_closed())


@pytest.fixture
def ping_server() -> Iterator[RawServer]:
    with raw_server(lambda request, number: PING) as server:
        yield server


async def test_connections_never_exceed_max_concurrency_one_request_per_shard(
    core_route: None,
) -> None:
    """Three times as many callers as ``max_concurrency``: the server never holds more
    connections than that, and while all of them wait for a reply each shard carries one."""
    limit = 4
    at_full_load: list[tuple[int, ...]] = []
    holder: list[ShardedTransport] = []
    # every reply waits until `limit` requests are in at once: each round is a full load
    barrier = threading.Barrier(
        limit, action=lambda: at_full_load.append(holder[0].in_flight), timeout=HANG_GUARD
    )

    def script(request: RawRequest, number: int) -> bytes:
        barrier.wait()
        return PING

    with raw_server(script) as server:
        async with AsyncCincopa(
            TOKEN, base_url=server.base_url, max_concurrency=limit, max_retries=0
        ) as cp:
            holder.append(sharded(cp))
            async with anyio.create_task_group() as tg:
                for _ in range(3 * limit):
                    tg.start_soon(cp.ping)
            assert holder[0].in_flight == (0,) * limit
    assert len(server.requests) == 3 * limit
    assert server.accepted == limit  # every connection opened was kept and reused
    assert at_full_load == [(1,) * limit] * 3


async def test_light_load_reuses_one_connection(core_route: None, ping_server: RawServer) -> None:
    """One call at a time on a client of many shards: one connection carries them all."""
    async with AsyncCincopa(TOKEN, base_url=ping_server.base_url, max_concurrency=16) as cp:
        for _ in range(5):
            await cp.ping()
    assert len(ping_server.requests) == 5
    assert ping_server.accepted == 1


async def test_closing_the_client_closes_every_shards_connection(core_route: None) -> None:
    limit = 3
    barrier = threading.Barrier(limit, timeout=HANG_GUARD)

    def script(request: RawRequest, number: int) -> bytes:
        barrier.wait()  # all `limit` connections open at once
        return PING

    with raw_server(script) as server:
        async with AsyncCincopa(TOKEN, base_url=server.base_url, max_concurrency=limit) as cp:
            async with anyio.create_task_group() as tg:
                for _ in range(limit):
                    tg.start_soon(cp.ping)
            transport = sharded(cp)
            assert server.accepted == limit
            assert server.ended == 0  # kept alive
        assert open_connections(transport) == 0
        await wait_until(lambda: server.ended == limit)


async def test_cancelled_while_waiting_for_the_reply_gives_the_shard_back(
    core_route: None,
) -> None:
    arrived = threading.Event()
    answer = threading.Event()

    def script(request: RawRequest, number: int) -> bytes:
        if number == 0:
            arrived.set()
            answer.wait(HANG_GUARD)  # the reply goes to a client that has hung up
        return PING

    with raw_server(script) as server:
        async with AsyncCincopa(TOKEN, base_url=server.base_url, max_concurrency=2) as cp:
            transport = sharded(cp)
            with anyio.CancelScope() as scope:
                async with anyio.create_task_group() as tg:
                    tg.start_soon(cp.ping)
                    await wait_until(arrived.is_set)
                    assert transport.in_flight == (1,)  # of max_concurrency=2: one made
                    scope.cancel()
            answer.set()
            assert transport.in_flight == (0,)
            assert (await cp.ping()).success
            assert transport.in_flight == (0,)


async def test_cancelled_while_reading_the_body_gives_the_shard_back(
    core_route: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The headers and part of the body came; the rest never does."""
    reading = anyio.Event()
    read_whole = client_module._read_whole

    async def signalling_read(response: httpx.Response) -> bytes | bytearray:
        reading.set()
        return await read_whole(response)

    monkeypatch.setattr(client_module, "_read_whole", signalling_read)
    body = json.dumps(golden("ping")).encode()
    partial = PING[: len(PING) - len(body) // 2]

    def script(request: RawRequest, number: int) -> bytes:
        return partial if number == 0 else PING

    with raw_server(script) as server:
        async with AsyncCincopa(TOKEN, base_url=server.base_url, max_concurrency=1) as cp:
            transport = sharded(cp)
            with anyio.CancelScope() as scope:
                async with anyio.create_task_group() as tg:
                    tg.start_soon(cp.ping)
                    await reading.wait()
                    assert transport.in_flight == (1,)
                    scope.cancel()
            assert transport.in_flight == (0,)
            assert (await cp.ping()).success
            assert transport.in_flight == (0,)
    assert server.accepted == 2  # the half-read connection was not reused


async def test_a_shard_whose_connection_the_server_closed_connects_again(
    core_route: None,
) -> None:
    def script(request: RawRequest, number: int) -> bytes:
        return SendAndClose(PING) if number == 0 else PING

    with raw_server(script) as server:
        async with AsyncCincopa(
            TOKEN, base_url=server.base_url, max_concurrency=1, max_retries=0
        ) as cp:
            assert (await cp.ping()).success
            await wait_until(lambda: server.ended == 1)  # its FIN is in the client's socket
            assert (await cp.ping()).success
            assert sharded(cp).in_flight == (0,)
    assert [r.connection for r in server.requests] == [0, 1]


async def test_a_dropped_request_is_a_sent_connection_error_and_frees_its_shard(
    core_route: None,
) -> None:
    def script(request: RawRequest, number: int) -> bytes:
        return CLOSE if number == 0 else PING

    with raw_server(script) as server:
        async with AsyncCincopa(
            TOKEN, base_url=server.base_url, max_concurrency=2, max_retries=0
        ) as cp:
            transport = sharded(cp)
            with pytest.raises(APIConnectionError) as caught:
                await cp.asset.delete(rid="R1")
            assert caught.value.request_sent is True
            assert TOKEN not in str(caught.value)
            assert transport.in_flight == (0,)
            assert (await cp.ping()).success
    assert TOKEN not in repr(transport)


async def test_a_refused_connection_is_not_sent_and_frees_its_shard(core_route: None) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"http://127.0.0.1:{port}/v2/"
    async with AsyncCincopa(TOKEN, base_url=url, max_concurrency=2, max_retries=0) as cp:
        with pytest.raises(APIConnectionError) as caught:
            await cp.gallery.create(name="x")
        assert caught.value.request_sent is False
        assert sharded(cp).in_flight == (0,)


async def test_free_shards_connections_closed_by_the_server_are_swept(core_route: None) -> None:
    """A single pool closes every expired connection on any request; the shards that get no
    request have theirs closed by a sweep."""
    limit = 4
    barrier = threading.Barrier(limit, timeout=HANG_GUARD)

    def script(request: RawRequest, number: int) -> bytes:
        if number < limit:
            barrier.wait()  # `limit` connections open at once
        return PING

    with raw_server(script) as server:
        async with AsyncCincopa(TOKEN, base_url=server.base_url, max_concurrency=limit) as cp:
            async with anyio.create_task_group() as tg:
                for _ in range(limit):
                    tg.start_soon(cp.ping)
            server.hang_up()  # once they are idle: the server's keep-alive ran out
            await wait_until(lambda: server.ended == limit)
            transport = sharded(cp)
            assert open_connections(transport) == limit  # closed by the server only
            transport.sweep_interval = 0.0  # the next request sweeps
            assert (await cp.ping()).success
            assert open_connections(transport) == 1  # the new one, on the shard it took


async def test_more_requests_than_shards_share_them_within_the_limit() -> None:
    """Past the SDK's limiter (an ``httpx.AsyncClient`` over the transport): requests share
    shards, never more connections than the limit, and every shard is given back."""
    limit = 2
    barrier = threading.Barrier(limit, timeout=HANG_GUARD)

    def script(request: RawRequest, number: int) -> bytes:
        barrier.wait()
        return PING

    transport = ShardedTransport(httpx.Limits(max_connections=limit))
    with raw_server(script) as server:
        async with httpx.AsyncClient(transport=transport) as http:

            async def get() -> None:
                assert (await http.get(f"{server.base_url}ping.json")).status_code == 200

            async with anyio.create_task_group() as tg:
                for _ in range(3 * limit):
                    tg.start_soon(get)
            assert transport.in_flight == (0,) * limit
    assert len(server.requests) == 3 * limit
    assert server.accepted == limit


@pytest.mark.parametrize("configured", ["proxy", "transport", "http_client"])
async def test_proxies_a_given_transport_and_an_injected_client_keep_the_client_route(
    core_route: None,
    ping_server: RawServer,
    monkeypatch: pytest.MonkeyPatch,
    configured: str,
) -> None:
    options: dict[str, object] = {}
    if configured == "proxy":
        monkeypatch.setenv("HTTP_PROXY", ping_server.base_url)  # the proxy answers itself
    elif configured == "transport":
        options["transport"] = httpx.AsyncHTTPTransport()
    async with httpx.AsyncClient() as injected:
        if configured == "http_client":
            options["http_client"] = injected
        base_url = (
            "http://cincopa-behind-proxy.localhost/v2/"
            if configured == "proxy"
            else ping_server.base_url
        )
        async with AsyncCincopa(TOKEN, base_url=base_url, **options) as cp:  # type: ignore[arg-type]
            assert (await cp.ping()).success
            assert cp._shared.route == CLIENT
            assert cp._shared.core is None
            assert not isinstance(cp._shared.http._transport, ShardedTransport)
    assert len(ping_server.requests) == 1
