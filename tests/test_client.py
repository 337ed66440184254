"""Lifecycle, views made by with_options, the concurrency limiter, and the owned/injected pool."""

from __future__ import annotations

import anyio
import httpx
import pytest

from cincopa_async import AsyncCincopa

from .conftest import TOKEN, MakeClient, golden

pytestmark = pytest.mark.anyio


async def test_use_after_close_is_refused_and_sends_nothing(make_client: MakeClient) -> None:
    """After aclose, calls raise RuntimeError without a request; aclose is idempotent."""
    client, recorder = make_client()
    async with client:
        await client.ping()
    assert client.is_closed
    with pytest.raises(RuntimeError, match="closed"):
        await client.ping()
    with pytest.raises(RuntimeError, match="closed"):
        async with client:
            pass  # pragma: no cover
    await client.aclose()
    assert len(recorder.requests) == 1


async def test_owned_http_client_is_closed() -> None:
    """The client the SDK creates is closed with it."""
    client = AsyncCincopa(TOKEN, transport=httpx.MockTransport(lambda r: httpx.Response(200)))
    http = client._shared.http
    async with client:
        pass
    assert http.is_closed


async def test_injected_http_client_is_used_and_left_open() -> None:
    """An injected httpx.AsyncClient carries the calls and is not closed by the SDK."""
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json=golden("ping"))

    async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as http:
        async with AsyncCincopa(TOKEN, http_client=http) as client:
            await client.ping()
        assert not http.is_closed
        assert len(seen) == 1


async def test_with_options_shares_pool_limiter_and_lifecycle(make_client: MakeClient) -> None:
    """A view has its own settings but the same pool and limiter; closing one closes both."""
    client, recorder = make_client(max_concurrency=3)
    view = client.with_options(max_retries=5, timeout=1.5)
    assert view.max_retries == 5
    assert view.timeout == httpx.Timeout(1.5)
    assert client.max_retries == 2
    assert view._shared is client._shared
    assert view._shared.http is client._shared.http
    assert view._shared.limiter is client._shared.limiter
    assert view.asset._client is view
    assert client.asset._client is client
    async with client:
        await view.ping()
        await client.ping()
        assert [r.extensions["timeout"]["read"] for r in recorder.requests] == [1.5, 60.0]
        await view.aclose()
        assert client.is_closed
        with pytest.raises(RuntimeError):
            await client.ping()


async def test_limiter_caps_requests_in_flight(make_client: MakeClient) -> None:
    """No more than max_concurrency requests are in flight, across views."""
    in_flight = 0
    peak = 0

    async def slow(request: httpx.Request) -> httpx.Response:
        nonlocal in_flight, peak
        in_flight += 1
        peak = max(peak, in_flight)
        await anyio.sleep(0.01)
        in_flight -= 1
        return httpx.Response(200, json=golden("ping"))

    client, recorder = make_client(slow, max_concurrency=4)
    view = client.with_options(max_retries=0)
    async with client, anyio.create_task_group() as tg:
        for index in range(20):
            tg.start_soon((client if index % 2 else view).ping)
    assert len(recorder.requests) == 20
    assert peak == 4


def test_repr_shows_settings_but_never_the_token() -> None:
    """repr/str of the client are useful and token-free."""
    client = AsyncCincopa(TOKEN)
    assert TOKEN not in repr(client)
    assert TOKEN not in str(client)
    assert "https://api.cincopa.com/v2/" in repr(client)


async def test_iframe_url_is_built_without_a_request(make_client: MakeClient) -> None:
    """upload.iframe builds a URL (with a temporary token when given) and sends nothing."""
    client, recorder = make_client()
    url = httpx.URL(client.upload.iframe(fid="F1", view="list", api_token="1234567i3temp"))
    assert url.path == "/v2/upload.iframe"
    assert url.params["api_token"] == "1234567i3temp"
    assert url.params["fid"] == "F1"
    assert recorder.requests == []
    default = httpx.URL(client.upload.iframe(disable_undo=True))
    assert default.params["api_token"] == TOKEN
    assert default.params["disable-undo"] == "true"


async def test_every_call_is_a_checkpoint(make_client: MakeClient) -> None:
    """A call checkpoints even over a transport that never yields (an in-memory one): a
    pending cancellation ends it before anything is sent, so a loop of calls (polling an
    import) cannot hold the event loop and always reaches its own deadline."""
    client, recorder = make_client()
    async with client:
        await client.ping()
        completed = False
        with anyio.CancelScope() as scope:
            scope.cancel()
            await client.ping()
            completed = True
    assert scope.cancelled_caught
    assert not completed
    assert len(recorder.requests) == 1
