"""FastAPI integration: one shared ``AsyncCincopa`` per application (the ``fastapi`` extra).

::

    from fastapi import FastAPI
    from cincopa_async.fastapi import Cincopa, cincopa_lifespan

    app = FastAPI(lifespan=cincopa_lifespan(max_concurrency=64))  # CINCOPA_API_TOKEN, _BASE_URL

    @app.get("/videos")
    async def videos(cp: Cincopa) -> list[str]:
        page = await cp.asset.list(type=["video"], items_per_page=50)
        return [asset.rid for asset in page.items]

The client, and with it the one connection pool and concurrency limiter, is opened when the
application starts and closed when it stops; every request gets that same client through the
``get_cincopa`` dependency (``Cincopa`` is ``Annotated[AsyncCincopa, Depends(get_cincopa)]``).
Nothing here creates a client per request: when the lifespan did not open one (the app was built
without it, or is driven by something that skips lifespans, such as a ``TestClient`` used outside
``with``), the dependency raises ``CincopaNotConfiguredError`` instead of quietly creating one.

With a lifespan of your own, open the client inside it::

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI):
        async with open_cincopa(app, base_url=...):
            yield                               # your own setup around it

or pass it on: ``cincopa_lifespan(..., lifespan=your_lifespan)`` runs yours inside.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable
from typing import Annotated, Any, Final

from fastapi import Depends, FastAPI
from fastapi.requests import HTTPConnection

from ._client import AsyncCincopa

__all__ = [
    "STATE_KEY",
    "Cincopa",
    "CincopaNotConfiguredError",
    "cincopa_lifespan",
    "get_cincopa",
    "open_cincopa",
]

#: The attribute of ``app.state`` that holds the shared client.
STATE_KEY: Final = "cincopa_client"

Lifespan = Callable[[FastAPI], contextlib.AbstractAsyncContextManager[Any]]


class CincopaNotConfiguredError(RuntimeError):
    """The app has no open shared client: its lifespan did not run ``open_cincopa``."""


@contextlib.asynccontextmanager
async def open_cincopa(
    app: FastAPI,
    *,
    client_factory: Callable[[], AsyncCincopa] | None = None,
    **client_options: Any,
) -> AsyncIterator[AsyncCincopa]:
    """Open the app's shared client for the duration of the block (use it in a lifespan).

    ``client_options`` go to ``AsyncCincopa(...)``; or pass ``client_factory`` to build the
    client yourself (it is still closed here, when the block ends).
    """
    if getattr(app.state, STATE_KEY, None) is not None:
        raise RuntimeError("this app already has a shared Cincopa client open")
    if client_factory is not None and client_options:
        raise TypeError("pass either client_factory or AsyncCincopa options, not both")
    client = client_factory() if client_factory is not None else AsyncCincopa(**client_options)
    setattr(app.state, STATE_KEY, client)
    try:
        async with client:
            yield client
    finally:
        setattr(app.state, STATE_KEY, None)


def cincopa_lifespan(
    *,
    client_factory: Callable[[], AsyncCincopa] | None = None,
    lifespan: Lifespan | None = None,
    **client_options: Any,
) -> Lifespan:
    """A lifespan for ``FastAPI(lifespan=...)`` that opens and closes the shared client.

    ``lifespan`` (optional) is your own lifespan, run inside, with the client already open.
    """

    @contextlib.asynccontextmanager
    async def run(app: FastAPI) -> AsyncIterator[Any]:
        async with open_cincopa(app, client_factory=client_factory, **client_options):
            if lifespan is None:
                yield None
            else:
                async with lifespan(app) as state:
                    yield state

    return run


def get_cincopa(request: HTTPConnection) -> AsyncCincopa:
    """The dependency: the app's shared client, opened by its lifespan, for HTTP and WebSocket
    endpoints alike (an ``HTTPConnection`` is either: FastAPI gives a ``Request`` to HTTP
    endpoints only)."""
    client = getattr(request.app.state, STATE_KEY, None)
    if not isinstance(client, AsyncCincopa):
        raise CincopaNotConfiguredError(
            "no shared Cincopa client is open for this app: create the app with "
            "FastAPI(lifespan=cincopa_lifespan(...)) (or call open_cincopa(app) in your own "
            "lifespan), and run it under a server that runs lifespans (uvicorn does; a "
            "TestClient does only inside 'with TestClient(app):'). The SDK never creates a "
            "client per request."
        )
    if client.is_closed:
        raise CincopaNotConfiguredError("the app's shared Cincopa client is closed")
    return client


Cincopa = Annotated[AsyncCincopa, Depends(get_cincopa)]
"""Annotate an endpoint parameter with it to receive the shared client."""
