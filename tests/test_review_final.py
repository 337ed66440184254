"""Adversarial review: a client closing under calls already in flight, an injected client
closed by its owner, and the proxy routes (``_exchange``, ``_shards``, ``_proxies_configured``)."""

from __future__ import annotations

import gc
import json
import urllib.request
import warnings

import anyio
import httpx
import pytest

from cincopa_async import APIConnectionError, AsyncCincopa, CincopaError
from cincopa_async._client import CORE, _proxies_configured
from cincopa_async._shards import ShardedTransport

from ._raw_server import RawRequest, http_reply, raw_server
from .conftest import TOKEN, golden
from .test_shards_review import core_route  # noqa: F401 - a fixture

pytestmark = pytest.mark.anyio

PING = http_reply(json.dumps(golden("ping")).encode())


def unclosed_sockets() -> list[str]:
    """The ResourceWarnings of sockets that nothing closed, once garbage is collected."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        gc.collect()
        gc.collect()
    return [str(w.message) for w in caught if issubclass(w.category, ResourceWarning)]


async def _ping_into(cp: AsyncCincopa, outcomes: list[object]) -> None:
    """One ``ping``; its reply, or the error it ended with, appended to ``outcomes``."""
    try:
        outcomes.append(await cp.ping())
    except (CincopaError, RuntimeError) as exc:
        outcomes.append(exc)


async def test_a_call_inside_the_sharded_transport_when_the_client_closes_leaves_nothing_open(
    core_route: None,  # noqa: F811
) -> None:
    """A call past its limiter slot, at an await inside the sharded transport (its sweep of
    idle connections), when ``aclose`` runs: afterwards it must not open a connection in the
    shard that ``aclose`` already closed -- nothing would ever close that one."""
    with raw_server(lambda request, number: PING) as server:
        cp = AsyncCincopa(TOKEN, base_url=server.base_url, max_concurrency=2, max_retries=0)
        await cp.__aenter__()
        transport = cp._shared.core
        assert isinstance(transport, ShardedTransport)
        await cp.ping()  # one shard, one kept-alive connection
        in_sweep, closed = anyio.Event(), anyio.Event()
        sweep = transport._sweep

        async def sweep_meeting_aclose() -> None:  # the sweep's own awaits, at their worst
            in_sweep.set()
            await closed.wait()
            await sweep()

        transport._sweep = sweep_meeting_aclose  # type: ignore[method-assign]  # a schedule
        transport.sweep_interval = 0.0
        outcomes: list[object] = []

        async with anyio.create_task_group() as tg:
            tg.start_soon(_ping_into, cp, outcomes)
            await in_sweep.wait()
            await cp.aclose()
            accepted_at_close = server.accepted
            closed.set()
        assert len(outcomes) == 1
        assert server.accepted == accepted_at_close == 1, "a connection opened after aclose"
        assert unclosed_sockets() == []


@pytest.mark.parametrize("steps", range(0, 24, 2))
@pytest.mark.parametrize("route", ["default", "core"])
async def test_closing_after_any_number_of_steps_of_a_call_leaves_nothing_open(
    route: str, steps: int, request: pytest.FixtureRequest
) -> None:
    """``aclose`` at any step of a call in flight: the call ends (answered or failed), and every
    connection opened is closed -- none opened after the pool was closed."""
    if route == "core":
        request.getfixturevalue("core_route")
    unclosed_sockets()  # earlier tests' garbage
    with raw_server(lambda request, number: PING) as server:
        cp = AsyncCincopa(TOKEN, base_url=server.base_url, max_concurrency=2, max_retries=0)
        await cp.__aenter__()
        outcomes: list[object] = []

        async with anyio.create_task_group() as tg:
            tg.start_soon(_ping_into, cp, outcomes)
            for _ in range(steps):
                await anyio.lowlevel.checkpoint()
            await cp.aclose()
        assert len(outcomes) == 1
        assert unclosed_sockets() == []


async def test_an_injected_client_its_owner_closed_is_a_clear_unsent_failure() -> None:
    """The user closed the ``http_client`` they gave: httpx refuses before sending anything.
    The SDK client is still open (it does not own that client); the call fails at once --
    not retried with back-off as a network failure, and not reported as possibly sent."""
    sleeps: list[float] = []

    async def no_sleep(delay: float) -> None:
        sleeps.append(delay)

    with raw_server(lambda request, number: PING) as server:
        injected = httpx.AsyncClient()
        async with AsyncCincopa(TOKEN, base_url=server.base_url, http_client=injected) as cp:
            cp._shared.sleep = no_sleep
            assert (await cp.ping()).success
            await injected.aclose()
            assert not cp.is_closed
            with pytest.raises((APIConnectionError, RuntimeError)) as caught:
                await cp.gallery.create(name="x")
            if isinstance(caught.value, APIConnectionError):
                assert caught.value.request_sent is False, "nothing was sent"
            with pytest.raises((APIConnectionError, RuntimeError)):
                await cp.ping()
            assert sleeps == [], "retried a client that cannot send"
        assert len(server.requests) == 1


async def test_closing_the_sdk_client_leaves_an_injected_client_usable() -> None:
    with raw_server(lambda request, number: PING) as server:
        async with httpx.AsyncClient() as injected:
            async with AsyncCincopa(TOKEN, base_url=server.base_url, http_client=injected) as cp:
                await cp.ping()
            with pytest.raises(RuntimeError, match="closed"):
                await cp.ping()
            assert not injected.is_closed
            assert (await injected.get(server.base_url + "ping.json")).status_code == 200


PROXY_VARIABLES = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY", "FTP_PROXY")


@pytest.mark.parametrize(
    "environment",
    [
        {"HTTPS_PROXY": "http://proxy:3128", "NO_PROXY": "localhost"},
        {"https_proxy": "http://proxy:3128", "no_proxy": "localhost"},
        {"HTTP_PROXY": "http://proxy:3128"},
        {"https_proxy": "http://proxy:3128"},
        {"ALL_PROXY": "socks5://proxy:1080", "NO_PROXY": "*"},
        {"all_proxy": "http://proxy:3128"},
    ],
)
async def test_a_named_proxy_keeps_the_proxying_routes(
    environment: dict[str, str], monkeypatch: pytest.MonkeyPatch, anyio_backend: str
) -> None:
    for name in PROXY_VARIABLES:
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    assert _proxies_configured()
    assert any(scheme != "no" for scheme in urllib.request.getproxies())
    if anyio_backend != "asyncio":
        return
    from cincopa_async._aiohttp import AiohttpTransport

    direct = AiohttpTransport(limits=httpx.Limits(max_connections=1), trust_env=True)
    try:
        assert direct._open_session().trust_env is True
    finally:
        await direct.aclose()


async def test_uploads_on_the_core_route_send_accept_and_pinned_encoding(
    core_route: None,  # noqa: F811
) -> None:
    seen: list[RawRequest] = []

    def script(request: RawRequest, number: int) -> bytes:
        seen.append(request)
        return PING

    with raw_server(script) as server:
        async with AsyncCincopa(TOKEN, base_url=server.base_url) as cp:
            assert cp._shared.route == CORE
            await cp.ping()
    assert seen[0].headers["accept-encoding"] == "gzip, deflate"
    assert seen[0].headers["accept"] == "*/*"
