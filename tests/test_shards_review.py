"""Adversarial review of the sharded trio route (``_shards``): attacks on its guarantees."""

from __future__ import annotations

import contextlib
import json
import socket
import ssl
import threading
import tracemalloc
from collections.abc import AsyncIterator, Iterator
from functools import partial
from pathlib import Path

import anyio
import httpx
import pytest

from cincopa_async import APIConnectionError, APITimeoutError, AsyncCincopa, CincopaError
from cincopa_async._client import CORE
from cincopa_async._shards import ShardedTransport

from ._raw_server import RawRequest, RawServer, Script, http_reply, raw_server
from ._waits import HANG_GUARD, wait_until
from .conftest import TOKEN, golden

pytestmark = pytest.mark.anyio

PING = http_reply(json.dumps(golden("ping")).encode())


def open_connections(transport: ShardedTransport) -> int:
    pools = [shard._pool for shard in transport.shards]  # type: ignore[attr-defined]
    return sum(1 for pool in pools for c in pool.connections if not c.is_closed())


def queued(cp: AsyncCincopa) -> int:
    """Calls waiting for a free slot of the client's limiter."""
    if cp._shared.wire is not None:
        return len(cp._shared.wire[1]._waiters or ())  # asyncio.Semaphore's own queue
    return cp._shared.limiter.statistics().tasks_waiting


@pytest.mark.parametrize("route", ["default", "core"])
@pytest.mark.parametrize("waiting", ["for a slot", "to retry"])
async def test_a_call_waiting_when_the_client_closes_opens_no_connection(
    route: str, waiting: str, request: pytest.FixtureRequest
) -> None:
    """A call queued for the limiter, or sleeping before a retry, when ``aclose`` runs must not
    send afterwards: its connection would be opened after the pool was closed, and never
    closed (trio: a new connection in a closed shard; asyncio: a new aiohttp session)."""
    if route == "core":
        request.getfixturevalue("core_route")
    arrived = threading.Event()
    answer = threading.Event()
    busy = http_reply(b'{"success": false}', status="503 Service Unavailable")

    def script(request: RawRequest, number: int) -> bytes:
        if waiting == "to retry":
            return busy if number == 0 else PING
        if number == 0:
            arrived.set()
            answer.wait(HANG_GUARD)  # the reply goes to a client that closed meanwhile
        return PING

    outcomes: list[object] = []
    backing_off = anyio.Event()
    resume = anyio.Event()

    async def held_sleep(delay: float) -> None:
        backing_off.set()
        await resume.wait()

    async def call(cp: AsyncCincopa) -> None:
        try:
            outcomes.append(await cp.ping())
        except (CincopaError, RuntimeError) as exc:
            outcomes.append(exc)

    with raw_server(script) as server:
        cp = AsyncCincopa(TOKEN, base_url=server.base_url, max_concurrency=1, max_retries=1)
        cp._shared.sleep = held_sleep
        await cp.__aenter__()
        async with anyio.create_task_group() as tg:
            if waiting == "for a slot":
                tg.start_soon(call, cp)
                await wait_until(arrived.is_set)
                tg.start_soon(call, cp)
                await wait_until(lambda: queued(cp) == 1)
            else:
                tg.start_soon(call, cp)
                await backing_off.wait()
            await cp.aclose()
            answer.set()
            resume.set()
        assert len(outcomes) == 1 + (waiting == "for a slot")
        assert any(
            isinstance(outcome, RuntimeError) and "closed" in str(outcome) for outcome in outcomes
        ), outcomes
        assert server.accepted == 1, [r.line.split("?")[0] for r in server.requests]
        if cp._shared.core is not None:
            assert isinstance(cp._shared.core, ShardedTransport)
            assert open_connections(cp._shared.core) == 0
        await wait_until(lambda: server.ended == server.accepted)


@pytest.fixture
def core_route(monkeypatch: pytest.MonkeyPatch) -> None:
    """The SDK on the sharded transport on both backends (as on asyncio without aiohttp)."""
    from cincopa_async import _client as client_module

    monkeypatch.setattr(client_module, "_default_asyncio_transport", lambda limits: None)
    for name in ("HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy", "ALL_PROXY"):
        monkeypatch.delenv(name, raising=False)


def assert_every_shard_free(transport: ShardedTransport) -> None:
    count = len(transport.shards)
    assert transport.in_flight == (0,) * count
    free = [index for shards in transport._free.values() for index in shards]
    assert sorted(free) == list(range(count))


async def full_burst(cp: AsyncCincopa) -> None:
    """``max_concurrency`` calls at once (the server makes them all wait for each other: a
    leaked slot would leave one queued behind the others forever)."""
    async with anyio.create_task_group() as tg:
        for _ in range(cp.max_concurrency):
            tg.start_soon(cp.ping)


@pytest.mark.parametrize("steps", range(0, 60, 3))
async def test_cancelled_after_any_number_of_steps_leaks_no_shard(
    core_route: None, steps: int
) -> None:
    limit = 3
    burst = threading.Barrier(limit, timeout=HANG_GUARD)

    def script(request: RawRequest, number: int) -> bytes:
        if "/ping.json" in request.line:  # the burst's (a cancelled call's may arrive late)
            burst.wait()
        return PING

    with raw_server(script) as server:
        async with AsyncCincopa(
            TOKEN, base_url=server.base_url, max_concurrency=limit, max_retries=0
        ) as cp:
            transport = cp._shared.core
            assert isinstance(transport, ShardedTransport)
            transport.sweep_interval = 0.0  # every request sweeps: its awaits too
            for round_ in range(4):
                with anyio.CancelScope() as scope:
                    async with anyio.create_task_group() as tg:
                        for _ in range(limit):
                            tg.start_soon(partial(cp.gallery.create, name=f"g{round_}"))
                        for _ in range(steps + round_):
                            await anyio.lowlevel.checkpoint()
                        scope.cancel()
                assert_every_shard_free(transport)
                assert cp._shared.limiter.borrowed_tokens == 0
            await full_burst(cp)
            assert_every_shard_free(transport)
        assert open_connections(transport) == 0
        await wait_until(lambda: server.ended == server.accepted)
        assert server.accepted <= limit * 5


@pytest.mark.parametrize("route", ["default", "core"])
async def test_mutations_after_the_server_closed_idle_connections_are_sent_once(
    route: str, request: pytest.FixtureRequest
) -> None:
    """After the server closed every idle connection (its FIN is in the client's sockets),
    mutations, which are never sent twice, all succeed: each shard notices its connection is
    gone and connects again, and each mutation reaches the server exactly once."""
    if route == "core":
        request.getfixturevalue("core_route")
    limit = 4
    barrier = threading.Barrier(limit, timeout=HANG_GUARD)

    def script(request: RawRequest, number: int) -> bytes:
        if number < limit:
            barrier.wait()
        return http_reply(json.dumps({"success": True, "fid": f"F{number}"}).encode())

    with raw_server(script) as server:
        async with AsyncCincopa(TOKEN, base_url=server.base_url, max_concurrency=limit) as cp:
            for _ in range(3):
                async with anyio.create_task_group() as tg:
                    for _ in range(limit):
                        tg.start_soon(partial(cp.gallery.create, name="g"))
                server.hang_up()  # the server's keep-alive ran out
                await wait_until(lambda: server.ended == server.accepted)
        creates = [r for r in server.requests if "gallery.create" in r.line]
        assert len(creates) == 3 * limit


def _self_signed(directory: Path, host: str) -> tuple[Path, Path]:
    """A self-signed certificate for ``host`` (PEM) and its key."""
    import datetime

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, host)])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(host)]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / f"{host}.pem", directory / f"{host}.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


@contextlib.contextmanager
def tls_server(script: Script, cert: Path, key: Path) -> Iterator[RawServer]:
    """``raw_server`` behind TLS: each accepted connection is wrapped before it is served."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    with raw_server(script) as server:
        plain = server.serve_connection

        def serve_tls(conn: socket.socket, number: int) -> None:
            try:
                wrapped = context.wrap_socket(conn, server_side=True)
            except (OSError, ssl.SSLError):
                conn.close()
                with server._lock:
                    server.ended += 1
                return
            plain(wrapped, number)

        server.serve_connection = serve_tls  # type: ignore[method-assign]
        yield server


@pytest.mark.parametrize("route", ["default", "core"])
async def test_tls_trusts_ssl_cert_file_and_still_verifies(
    route: str,
    request: pytest.FixtureRequest,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    if route == "core":
        request.getfixturevalue("core_route")
    cert, key = _self_signed(tmp_path, "localhost")
    other_cert, _ = _self_signed(tmp_path, "other.example")
    with tls_server(lambda request, number: PING, cert, key) as server:
        base_url = f"https://localhost:{server.port}/v2/"
        # without the certificate trusted: refused before anything is sent
        monkeypatch.setenv("SSL_CERT_FILE", str(other_cert))
        async with AsyncCincopa(TOKEN, base_url=base_url, max_retries=0) as cp:
            with pytest.raises(APIConnectionError) as caught:
                await cp.gallery.create(name="x")
            assert caught.value.request_sent is False
            assert TOKEN not in repr(caught.value) + str(caught.value.__cause__)
        assert server.requests == []
        # trusted through SSL_CERT_FILE: answered
        monkeypatch.setenv("SSL_CERT_FILE", str(cert))
        async with AsyncCincopa(TOKEN, base_url=base_url, max_concurrency=3) as cp:
            async with anyio.create_task_group() as tg:
                for _ in range(6):
                    tg.start_soon(cp.ping)
            if cp._shared.route == CORE:
                transport = cp._shared.core
                assert isinstance(transport, ShardedTransport)
                assert transport.ssl_context.verify_mode is ssl.CERT_REQUIRED
                assert transport.ssl_context.check_hostname is True
        assert len(server.requests) == 6
        await wait_until(lambda: server.ended == server.accepted)
        # the right certificate for another name: still refused (host names are checked)
        async with AsyncCincopa(
            TOKEN, base_url=f"https://127.0.0.1:{server.port}/v2/", max_retries=0
        ) as cp:
            with pytest.raises(APIConnectionError) as caught:
                await cp.ping()
            assert caught.value.request_sent is False
        assert len(server.requests) == 6


async def test_calls_alternating_between_two_hosts_keep_one_connection_to_each(
    core_route: None,
) -> None:
    """An upload talks to two origins: the API (get_upload_url, asset.list, set_meta) and the
    upload host. A single pool keeps an idle connection to each and reuses it; the shards must
    too, not close the API's connection to open one to the upload host and back again."""
    from .test_upload_framing import FINAL, HASH, RID

    def upload_host(request: RawRequest, number: int) -> bytes:
        return http_reply(FINAL.encode(), headers=(("Content-Type", "text/plain"),))

    with raw_server(upload_host) as uploads:
        target = f"http://127.0.0.1:{uploads.port}/post.jpg?uid=1&hash={HASH}"

        def api(request: RawRequest, number: int) -> bytes:
            if "asset.get_upload_url" in request.line:
                reply: dict[str, object] = {"success": True, "upload_url": target}
            else:  # asset.list: the asset just stored
                asset = {"rid": RID, "filename": "clip.mp4", "filesize": 1000}
                reply = {"success": True, "items": [asset], "items_data": {"page": 1}}
            return http_reply(json.dumps(reply).encode())

        with raw_server(api) as server:
            async with AsyncCincopa(TOKEN, base_url=server.base_url) as cp:
                for _ in range(3):  # one upload after another, never two requests at once
                    await cp.upload_file(b"x" * 1000, filename="clip.mp4")
    assert len(uploads.requests) == 3
    assert len(server.requests) >= 6
    assert (server.accepted, uploads.accepted) == (1, 1)


def _chain_text(error: BaseException) -> str:
    seen: list[str] = []
    stack: list[BaseException | None] = [error]
    while stack:
        current = stack.pop()
        if current is None:
            continue
        seen += [str(current), repr(current), repr(current.args)]
        seen += [repr(value) for value in vars(current).values()]
        stack += [current.__cause__, current.__context__]
    return "\n".join(seen)


@pytest.mark.parametrize("where", ["send", "close", "iterate"])
async def test_an_exception_inside_a_shard_is_typed_scrubbed_and_frees_it(
    core_route: None, where: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A shard that raises (its own bug, a library's): a typed error with no token anywhere in
    its chain, ``request_sent`` true (it may have gone out), and the shard given back."""

    class Leaky(Exception):
        pass

    with raw_server(lambda request, number: PING) as server:
        async with AsyncCincopa(
            TOKEN, base_url=server.base_url, max_concurrency=2, max_retries=0
        ) as cp:
            transport = cp._shared.core
            assert isinstance(transport, ShardedTransport)
            shard = transport.shards[0]
            original = shard.handle_async_request

            async def failing(request: httpx.Request) -> httpx.Response:
                if where == "send":
                    raise Leaky(f"cannot send {request.url}")
                response = await original(request)
                inner = response.stream
                assert isinstance(inner, httpx.AsyncByteStream)

                class Broken(httpx.AsyncByteStream):
                    async def __aiter__(self) -> AsyncIterator[bytes]:
                        if where == "iterate":
                            raise Leaky(f"cannot read {request.url}")
                        async for chunk in inner:
                            yield chunk

                    async def aclose(self) -> None:
                        await inner.aclose()
                        if where == "close":
                            raise Leaky(f"cannot close {request.url}")

                response.stream = Broken()
                return response

            monkeypatch.setattr(shard, "handle_async_request", failing)
            with pytest.raises(CincopaError) as caught:
                await cp.gallery.create(name="x")
            assert type(caught.value) is APIConnectionError
            assert caught.value.request_sent is True
            assert TOKEN not in _chain_text(caught.value)
            assert_every_shard_free(transport)
            monkeypatch.undo()
            async with anyio.create_task_group() as tg:
                for _ in range(4):
                    tg.start_soon(cp.ping)
            assert_every_shard_free(transport)


async def test_a_large_max_concurrency_costs_nothing_until_used(core_route: None) -> None:
    """``max_concurrency`` is a bound, not a size: a client allowed 50,000 requests at once that
    makes one builds what one request needs, as the single pool did (eager shards cost ~600
    bytes and ~30 us each at open: ~29 MiB here, and a ``max_concurrency`` of 10**8 would
    exhaust the machine's memory on the first call)."""
    with raw_server(lambda request, number: PING) as server:
        async with AsyncCincopa(TOKEN, base_url=server.base_url) as warm:
            await warm.ping()  # the modules a first call imports are loaded now
        tracemalloc.start()
        try:
            async with AsyncCincopa(TOKEN, base_url=server.base_url, max_concurrency=50_000) as cp:
                await cp.ping()
                _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    assert peak < 4 * 1024 * 1024, f"peak {peak / 2**20:.1f} MiB"


async def test_requests_to_more_hosts_than_shards_stay_within_the_limit(core_route: None) -> None:
    """Three hosts, two shards: a request to a host no free shard last sent to takes the free
    shard of another host (its idle connection closed first): never more than two
    connections open, every shard given back, every request answered."""
    limit = 2
    at_full_load: list[int] = []
    holder: list[ShardedTransport] = []
    barrier = threading.Barrier(
        limit,
        action=lambda: at_full_load.append(open_connections(holder[0])),
        timeout=HANG_GUARD,
    )

    def script(request: RawRequest, number: int) -> bytes:
        barrier.wait()  # both requests of a round in flight at once
        return PING

    with raw_server(script) as a, raw_server(script) as b, raw_server(script) as c:
        async with AsyncCincopa(TOKEN, base_url=a.base_url, max_concurrency=limit) as cp:
            holder.append(sharded_transport(cp))
            for first, second in [(a, b), (c, a), (b, c), (a, c), (b, b)]:
                async with anyio.create_task_group() as tg:
                    for server in (first, second):
                        tg.start_soon(get_ping, cp, server)
            assert_every_shard_free(holder[0])
            assert len(holder[0].shards) == limit
        assert open_connections(holder[0]) == 0
    assert at_full_load == [limit] * 5
    assert len(a.requests) + len(b.requests) + len(c.requests) == 10


def sharded_transport(cp: AsyncCincopa) -> ShardedTransport:
    transport = cp._shared.core
    assert isinstance(transport, ShardedTransport)
    return transport


async def get_ping(cp: AsyncCincopa, server: RawServer) -> None:
    """``ping`` on ``server``, whatever the client's base URL (through its own route)."""
    request = cp._outgoing("GET", f"{server.base_url}ping.json", {})
    response, body = await cp._exchange("ping", request)
    assert response.status_code == 200, body


async def test_many_clients_in_one_process_each_close_all_their_connections(
    core_route: None,
) -> None:
    """Twenty clients at once, each at its full concurrency, on one server: every connection
    any of them opened is closed when they are, and none opened more than its limit."""
    clients, limit = 20, 3
    gates = [threading.Barrier(limit, timeout=HANG_GUARD) for _ in range(clients)]

    def script(request: RawRequest, number: int) -> bytes:
        client = int(request.path.rpartition("client=")[2])
        gates[client].wait()  # each client's requests all in flight at once
        return PING

    with raw_server(script) as server:
        transports: list[ShardedTransport] = []

        async def run(client: int) -> None:
            async with AsyncCincopa(TOKEN, base_url=server.base_url, max_concurrency=limit) as cp:
                transports.append(sharded_transport(cp))
                url = f"{server.base_url}ping.json?client={client}"
                async with anyio.create_task_group() as tg:
                    for _ in range(2 * limit):
                        tg.start_soon(cp._exchange, "ping", cp._outgoing("GET", url, {}))

        async with anyio.create_task_group() as tg:
            for client in range(clients):
                tg.start_soon(run, client)
        assert all(len(transport.shards) == limit for transport in transports)
        assert all(open_connections(transport) == 0 for transport in transports)
        await wait_until(lambda: server.ended == server.accepted)
    assert server.accepted == clients * limit
    assert len(server.requests) == clients * 2 * limit


async def test_a_streamed_upload_through_the_clients_httpx_client_frees_its_shard(
    core_route: None,
) -> None:
    """``_shared.http`` (an ``httpx.AsyncClient`` over the shards): a body streamed in blocks
    arrives whole, and the shard is free once the reply is read."""
    with raw_server(lambda request, number: http_reply(b"%d" % len(request.body))) as server:
        async with AsyncCincopa(TOKEN, base_url=server.base_url, max_concurrency=2) as cp:

            async def blocks() -> AsyncIterator[bytes]:
                for _ in range(64):
                    yield b"x" * 65536

            http = cp._shared.http
            response = await http.post(
                f"{server.base_url}upload",
                content=blocks(),
                headers={"Content-Length": str(64 * 65536)},
            )
            assert response.text == str(64 * 65536)
            assert_every_shard_free(sharded_transport(cp))
        assert open_connections(sharded_transport(cp)) == 0


@pytest.mark.parametrize("variable", ["NO_PROXY", "no_proxy"])
async def test_no_proxy_alone_names_no_proxy_and_keeps_the_sharded_route(
    core_route: None, ping_server: RawServer, monkeypatch: pytest.MonkeyPatch, variable: str
) -> None:
    """``NO_PROXY`` (set in most containers and corporate shells) says where *not* to use a
    proxy; alone it configures none (``urllib.request.getproxies`` lists it as ``no``), so the
    client keeps the sharded route instead of falling back to a single httpx pool."""
    monkeypatch.setenv(variable, "localhost,127.0.0.1")
    async with AsyncCincopa(TOKEN, base_url=ping_server.base_url) as cp:
        assert (await cp.ping()).success
        assert cp._shared.route == CORE
        assert isinstance(cp._shared.core, ShardedTransport)


@pytest.fixture
def ping_server() -> Iterator[RawServer]:
    with raw_server(lambda request, number: PING) as server:
        yield server


async def test_no_proxy_alone_keeps_each_backends_own_route(
    ping_server: RawServer, monkeypatch: pytest.MonkeyPatch, anyio_backend: str
) -> None:
    """The default routes with ``NO_PROXY`` alone: trio's is the sharded one; asyncio's aiohttp
    session does not trust the environment, which aiohttp pays for by re-reading the proxy
    variables on every request."""
    for name in ("HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy", "ALL_PROXY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("NO_PROXY", "localhost,127.0.0.1")
    async with AsyncCincopa(TOKEN, base_url=ping_server.base_url) as cp:
        assert (await cp.ping()).success
        if anyio_backend == "trio":
            assert cp._shared.route == CORE
            assert isinstance(cp._shared.core, ShardedTransport)
        else:
            direct = cp._shared.direct
            assert direct is not None
            assert direct._session is not None
            assert direct._session.trust_env is False


async def test_a_timed_out_mutation_is_a_sent_timeout_and_frees_its_shard(
    core_route: None,
) -> None:
    """The server takes the request and never answers: ``APITimeoutError``, sent (a mutation
    is not retried), no token in its chain, its shard free, the next call answered."""
    answer = threading.Event()

    def script(request: RawRequest, number: int) -> bytes:
        if number == 0:
            answer.wait(HANG_GUARD)
        return PING

    with raw_server(script) as server:
        async with AsyncCincopa(
            TOKEN, base_url=server.base_url, max_concurrency=1, timeout=0.5
        ) as cp:
            try:
                with pytest.raises(APITimeoutError) as caught:
                    await cp.gallery.create(name="x")
            finally:
                answer.set()
            assert caught.value.request_sent is True
            assert TOKEN not in _chain_text(caught.value)
            assert_every_shard_free(sharded_transport(cp))
            assert (await cp.ping()).success
    assert [r.path.partition("?")[0] for r in server.requests] == [
        "/v2/gallery.create.json",
        "/v2/ping.json",
    ]


async def test_uploads_through_an_injected_client_pin_accept_encoding_too() -> None:
    """The SDK decodes only gzip and deflate, and pins ``Accept-Encoding`` to them over an
    injected client (whose default, with brotli installed, is ``gzip, deflate, br``): on the
    upload host's POSTs too, not only on API calls, and once."""
    from .test_upload_framing import FakeCincopa

    fake = FakeCincopa()
    data = b"x" * 1000
    fake.filename, fake.filesize = "clip.mp4", len(data)
    async with (
        fake.host.running(),
        httpx.AsyncClient(headers={"Accept-Encoding": "gzip, deflate, br"}) as injected,
        AsyncCincopa(
            TOKEN, base_url=f"{fake.host.base}/v2/", max_retries=0, http_client=injected
        ) as cp,
    ):
        await cp.upload_file(data, filename="clip.mp4")
    assert fake.uploads
    for request in fake.host.requests:
        assert request.header_values("accept-encoding") == ["gzip, deflate"], request.target
