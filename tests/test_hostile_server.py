"""A hostile server on a real loopback socket: huge, endless, dripping or redirecting replies.

Each case runs on both default transports (aiohttp under asyncio, httpcore under trio).
"""

from __future__ import annotations

from collections.abc import MutableMapping
from typing import Any

import anyio
import httpx
import pytest

from cincopa_async import (
    APIStatusError,
    APITimeoutError,
    AsyncCincopa,
    ResponseDecodeError,
)
from cincopa_async.testing import serve_asgi_app

from ._waits import HANG_GUARD
from .conftest import TOKEN

pytestmark = pytest.mark.anyio

Scope = MutableMapping[str, Any]
MIB = 1024 * 1024


class Hostile:
    """Replies according to the last path segment; counts the bytes it managed to send."""

    def __init__(self) -> None:
        self.sent = 0
        self.hits: list[str] = []

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        path = scope["path"]
        self.hits.append(path)
        headers = [(b"content-type", b"application/json")]
        if "/endless/" in path:  # chunked, no length: 1 GB unless the client hangs up
            await send({"type": "http.response.start", "status": 200, "headers": headers})
            block = b" " * (256 * 1024)
            gone = anyio.Event()

            async def watch() -> None:
                while (await receive())["type"] != "http.disconnect":
                    pass
                gone.set()

            async with anyio.create_task_group() as tg:
                tg.start_soon(watch)
                for _ in range(4096):
                    if gone.is_set():
                        break
                    await send({"type": "http.response.body", "body": block, "more_body": True})
                    self.sent += len(block)
                    await anyio.sleep(0)
                tg.cancel_scope.cancel()
        elif "/declared/" in path:  # announces 1 GB up front
            headers.append((b"content-length", str(1024 * MIB).encode()))
            await send({"type": "http.response.start", "status": 200, "headers": headers})
            await send({"type": "http.response.body", "body": b"{", "more_body": True})
            await anyio.sleep(30)
        elif "/drip/" in path:  # one byte every 50 ms, for longer than the hang guard
            await send({"type": "http.response.start", "status": 200, "headers": headers})
            for _ in range(int(HANG_GUARD / 0.05) + 100):
                await send({"type": "http.response.body", "body": b" ", "more_body": True})
                self.sent += 1
                await anyio.sleep(0.05)
        elif "/redirect/" in path:
            target = scope["path"].replace("/redirect/", "/stolen/")
            other = f"http://127.0.0.2:{scope['server'][1]}{target}"
            await send(
                {
                    "type": "http.response.start",
                    "status": 307,
                    "headers": [(b"location", other.encode())],
                }
            )
            await send({"type": "http.response.body", "body": b""})
        else:
            await send({"type": "http.response.start", "status": 404, "headers": headers})
            await send({"type": "http.response.body", "body": b"{}"})


# httpx reads a body through nested async generators; stopping early leaves the inner ones for
# the garbage collector, which trio reports. The connection itself is closed by response.aclose().
@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
async def test_endless_body_stops_at_the_cap(monkeypatch: pytest.MonkeyPatch) -> None:
    """A never-ending body: ResponseDecodeError once the cap is passed, not an OOM."""
    from cincopa_async import _client

    monkeypatch.setattr(_client, "MAX_RESPONSE_BYTES", 4 * MIB)
    app = Hostile()
    async with (
        # uvicorn waits for the socket to drain, so app.sent is what the client had to take
        serve_asgi_app(app) as root,
        AsyncCincopa(TOKEN, base_url=f"{root}/endless/", max_retries=0) as cp,
    ):
        with pytest.raises(ResponseDecodeError, match="larger than 4194304 bytes"):
            await cp.ping()
        sent_when_refused = app.sent
    # The client stopped reading just past the cap (plus what sat in socket buffers), far
    # below the 1 GB the server would have sent.
    assert sent_when_refused < 64 * MIB


async def test_declared_huge_body_is_refused_before_reading() -> None:
    """Content-Length over the cap: refused before reading -- the server sends one byte and
    then nothing, so a client that tried to read the body would hang (to the hang guard)."""
    app = Hostile()
    async with (
        serve_asgi_app(app) as root,
        AsyncCincopa(TOKEN, base_url=f"{root}/declared/", max_retries=0, timeout=None) as cp,
    ):
        with anyio.fail_after(HANG_GUARD), pytest.raises(ResponseDecodeError, match="larger than"):
            await cp.ping()


async def test_slow_drip_hits_the_deadline() -> None:
    """A reply dripping a byte every 50 ms for longer than the hang guard: the call still ends,
    an APITimeoutError. No read ever waits long enough for the read timeout (2 s, 40 drips'
    worth), so what stops it is the attempt deadline (the sum of the connect, write and read
    timeouts, 3 s). Nothing asserted depends on a duration: without the deadline the call would
    last as long as the drip, past the hang guard, and fail the test."""
    app = Hostile()
    timeout = httpx.Timeout(connect=0.5, write=0.5, read=2.0, pool=0.5)
    async with (
        serve_asgi_app(app) as root,
        AsyncCincopa(TOKEN, base_url=f"{root}/drip/", timeout=timeout, max_retries=0) as cp,
    ):
        with anyio.fail_after(HANG_GUARD), pytest.raises(APITimeoutError) as caught:
            await cp.ping()
    assert caught.value.request_sent is True
    assert app.hits == ["/drip/ping.json"]
    assert TOKEN not in str(caught.value)


async def test_redirect_to_another_host_is_not_followed() -> None:
    """A 307 to another host: an error, and the other host never sees the token."""
    app = Hostile()
    async with (
        serve_asgi_app(app) as root,
        AsyncCincopa(TOKEN, base_url=f"{root}/redirect/v2/") as cp,
    ):
        with pytest.raises(APIStatusError) as caught:
            await cp.ping()
    assert caught.value.status_code == 307
    assert not any("/stolen/" in hit for hit in app.hits)
    assert TOKEN not in str(caught.value)
