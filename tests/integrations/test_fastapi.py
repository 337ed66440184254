"""cincopa_async.fastapi: one shared client per app, opened by the lifespan, on real sockets."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any

import anyio
import httpx
import pytest
from fastapi import FastAPI
from starlette.requests import Request

import cincopa_async.fastapi as cincopa_fastapi
from cincopa_async import AsyncCincopa
from cincopa_async.fastapi import (
    Cincopa,
    CincopaNotConfiguredError,
    cincopa_lifespan,
    get_cincopa,
    open_cincopa,
)
from cincopa_async.testing import CincopaEmulator, serve_asgi_app
from tests.integrations._support import serve_with_lifespan


class CountingClient(AsyncCincopa):
    created = 0

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        type(self).created += 1
        super().__init__(*args, **kwargs)


def make_app(base_url: str, token: str) -> FastAPI:
    CountingClient.created = 0
    app = FastAPI(
        lifespan=cincopa_lifespan(
            client_factory=lambda: CountingClient(token, base_url=base_url, max_concurrency=16)
        )
    )

    @app.get("/galleries/{name}")
    async def make_gallery(name: str, cp: Cincopa) -> dict[str, Any]:
        created = await cp.gallery.create(name=name)
        page = await cp.gallery.list(search=name)
        return {
            "fid": created.fid,
            "found": [g.fid for g in page.galleries],
            "client": id(cp),
            "pool": id(cp._shared.http),
        }

    return app


@pytest.mark.anyio
async def test_100_concurrent_requests_share_one_client_and_pool() -> None:
    async with CincopaEmulator(seed=3) as emu, emu.serve() as base_url:
        app = make_app(base_url, emu.create_token())
        with serve_with_lifespan(app) as root:
            replies: list[httpx.Response] = []
            limits = httpx.Limits(max_connections=100)
            async with httpx.AsyncClient(base_url=root, limits=limits, timeout=30) as http:

                async def one(index: int) -> None:
                    replies.append(await http.get(f"/galleries/g{index:03d}"))

                async with anyio.create_task_group() as tg:
                    for index in range(100):
                        tg.start_soon(one, index)
            assert CountingClient.created == 1
            client = getattr(app.state, cincopa_fastapi.STATE_KEY)
            assert isinstance(client, CountingClient)
            assert not client.is_closed
        assert getattr(app.state, cincopa_fastapi.STATE_KEY) is None  # closed by the lifespan
        assert client.is_closed
    assert [r.status_code for r in replies] == [200] * 100
    bodies = [r.json() for r in replies]
    assert len({b["client"] for b in bodies}) == 1
    assert len({b["pool"] for b in bodies}) == 1
    assert len({b["fid"] for b in bodies}) == 100
    assert all(b["fid"] in b["found"] for b in bodies)
    assert CountingClient.created == 1


@pytest.mark.anyio
async def test_dependency_refuses_without_lifespan() -> None:
    app = FastAPI(lifespan=cincopa_lifespan(api_token="unused-token"))

    @app.get("/x")
    async def endpoint(cp: Cincopa) -> str:
        return repr(cp)

    # serve_asgi_app runs uvicorn with lifespan="off": the dependency refuses, creates no client.
    async with serve_asgi_app(app) as root, httpx.AsyncClient(base_url=root) as http:
        reply = await http.get("/x")
    assert reply.status_code == 500
    request = Request({"type": "http", "app": app, "headers": []})
    with pytest.raises(CincopaNotConfiguredError, match=r"cincopa_lifespan\(\.\.\.\)"):
        get_cincopa(request)


def test_own_lifespan_runs_inside_and_options_are_checked() -> None:
    emu = CincopaEmulator(seed=5)
    token = emu.create_token()
    seen: list[bool] = []

    @contextlib.asynccontextmanager
    async def mine(app: FastAPI) -> AsyncIterator[None]:
        client = getattr(app.state, cincopa_fastapi.STATE_KEY)
        seen.append(isinstance(client, AsyncCincopa) and not client.is_closed)
        yield

    app = FastAPI(
        lifespan=cincopa_lifespan(client_factory=lambda: emu.client(token), lifespan=mine)
    )

    @app.get("/ping")
    async def ping(cp: Cincopa) -> str:
        return (await cp.ping()).accid

    with serve_with_lifespan(app) as root:
        assert httpx.get(f"{root}/ping").json() == emu.account_id
        client = getattr(app.state, cincopa_fastapi.STATE_KEY)
    assert seen == [True]
    assert client.is_closed
    request = Request({"type": "http", "app": app, "headers": []})
    app.state.cincopa_client = client
    with pytest.raises(CincopaNotConfiguredError, match="closed"):
        get_cincopa(request)
    app.state.cincopa_client = None

    async def twice() -> None:
        async with open_cincopa(app, client_factory=lambda: emu.client(token)):
            with pytest.raises(RuntimeError, match="already"):
                async with open_cincopa(app, client_factory=lambda: emu.client(token)):
                    pass
        with pytest.raises(TypeError):
            async with open_cincopa(app, client_factory=lambda: emu.client(token), api_token="x"):
                pass

    anyio.run(twice)
