"""Serving an ASGI app (the emulator, or a test receiver) on a loopback port.

Two engines:

* ``"builtin"`` (default): the small asyncio HTTP/1.1 server of ``_httpserver`` -- no extra
  dependency, and several times cheaper per request than uvicorn's pure-Python h11 protocol,
  which matters when the server shares the GIL with the client being measured.
* ``"uvicorn"``: uvicorn (the optional ``emulator`` extra, ``pip install
  'cincopa-async[emulator]'``).

Either runs on a dedicated thread with its own asyncio event loop, so ``serve_asgi_app`` works
from asyncio *and* trio code. The listening socket is bound before the thread starts and the call
returns once the server is up. On that thread the server also opens an anyio task group:
background work started by requests arriving through the port (imports, webhook deliveries) runs
there. A dropped connection (``ConnectionDropped`` from the emulator app) aborts the client's
socket without any reply.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
from collections.abc import AsyncIterator, Callable
from typing import Any, Literal

import anyio

from ._app import ConnectionDropped, Receive, Scope, Send
from ._httpserver import serve_until
from ._runner import CURRENT_RUNNER, Runner

__all__ = ["Engine", "run_forever", "serve_asgi_app"]

Engine = Literal["builtin", "uvicorn"]
ASGIApp = Callable[[Scope, Receive, Send], Any]


class _RunnerApp:
    """Runs the app with the server's runner as the place for background work."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.runner: Runner | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        token = CURRENT_RUNNER.set(self.runner)
        try:
            await self.app(scope, receive, send)
        finally:
            CURRENT_RUNNER.reset(token)


class _UvicornApp(_RunnerApp):
    """Also turns ``ConnectionDropped`` into an aborted socket (uvicorn would send a 500)."""

    def __init__(self, app: ASGIApp) -> None:
        super().__init__(app)
        self.server: Any = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        except ConnectionDropped:
            self._abort(scope)
            with anyio.move_on_after(1):
                while (await receive())["type"] != "http.disconnect":
                    pass

    def _abort(self, scope: Scope) -> None:
        client = scope.get("client")
        if self.server is None or client is None:
            return
        peer = tuple(client)
        for connection in list(self.server.server_state.connections):
            if tuple(getattr(connection, "client", None) or ()) == peer:
                transport = getattr(connection, "transport", None)
                if transport is not None:
                    transport.abort()


def _bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # proto=IPPROTO_TCP: asyncio only sets TCP_NODELAY on accepted sockets whose proto says TCP,
    # and without it a reply written in two parts (uvicorn) waits ~40 ms for a delayed ACK.
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(1024)
    sock.setblocking(False)
    return sock


def _root(host: str, sock: socket.socket) -> str:
    shown = f"[{host}]" if ":" in host else host
    return f"http://{shown}:{sock.getsockname()[1]}"


class _Server:
    """One server: an engine, a socket, and the thread (or main loop) running them."""

    def __init__(self, app: ASGIApp, engine: Engine, sock: socket.socket) -> None:
        self.engine = engine
        self.sock = sock
        self.ready = threading.Event()
        self.loop: asyncio.AbstractEventLoop | None = None
        self.stop_event: asyncio.Event | None = None
        self.uvicorn: Any = None
        if engine == "uvicorn":
            try:
                import uvicorn
            except ImportError as exc:  # pragma: no cover - depends on the install
                raise RuntimeError(
                    "engine='uvicorn' needs uvicorn: pip install 'cincopa-async[emulator]'"
                ) from exc
            self.wrapper: _RunnerApp = _UvicornApp(app)
            config = uvicorn.Config(
                self.wrapper,
                lifespan="off",
                log_level="warning",
                access_log=False,
                timeout_graceful_shutdown=1,
                timeout_keep_alive=30,
            )
            self.uvicorn = uvicorn.Server(config)
            assert isinstance(self.wrapper, _UvicornApp)
            self.wrapper.server = self.uvicorn
        elif engine == "builtin":
            self.wrapper = _RunnerApp(app)
        else:
            raise ValueError(f"unknown engine: {engine!r}")

    async def main(self) -> None:
        self.loop = asyncio.get_running_loop()
        self.stop_event = asyncio.Event()
        async with anyio.create_task_group() as task_group:
            self.wrapper.runner = Runner(task_group)
            try:
                if self.uvicorn is not None:
                    task_group.start_soon(self._watch_uvicorn)
                    await self.uvicorn.serve(sockets=[self.sock])
                else:
                    self.ready.set()
                    await serve_until(self.wrapper, self.sock, self.stop_event)
            finally:
                task_group.cancel_scope.cancel()

    async def _watch_uvicorn(self) -> None:
        while not self.uvicorn.started:  # noqa: ASYNC110 - uvicorn only offers a flag
            await asyncio.sleep(0.002)
        self.ready.set()

    def stop(self) -> None:
        if self.uvicorn is not None:
            self.uvicorn.should_exit = True
        elif self.loop is not None and self.stop_event is not None:
            with contextlib.suppress(RuntimeError):  # loop already closed
                self.loop.call_soon_threadsafe(self.stop_event.set)


@contextlib.asynccontextmanager
async def serve_asgi_app(
    app: ASGIApp,
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    engine: Engine = "builtin",
    on_runner: Callable[[Runner | None], None] | None = None,
) -> AsyncIterator[str]:
    """Serve ``app`` on ``host:port`` (0 = any free port) on a background thread.

    Yields the root URL, e.g. ``http://127.0.0.1:54321``. Usable under asyncio and trio.
    """
    sock = _bind(host, port)
    try:
        server = _Server(app, engine, sock)
    except BaseException:
        sock.close()
        raise
    failure: list[BaseException] = []

    def thread_main() -> None:
        try:
            asyncio.run(server.main())
        except BaseException as exc:  # pragma: no cover - reported to the caller
            failure.append(exc)
        finally:
            server.ready.set()

    thread = threading.Thread(target=thread_main, name="cincopa-emulator-server", daemon=True)
    thread.start()
    try:
        with anyio.fail_after(10):
            while not server.ready.is_set():  # noqa: ASYNC110 - a threading.Event
                await anyio.sleep(0.001)
        if failure or not thread.is_alive():
            raise RuntimeError(f"the emulator server failed to start: {failure!r}")
        if on_runner is not None:
            on_runner(server.wrapper.runner)
        yield _root(host, sock)
    finally:
        if on_runner is not None:
            on_runner(None)
        server.stop()
        await anyio.to_thread.run_sync(thread.join)
        sock.close()


def run_forever(
    app: ASGIApp,
    *,
    host: str,
    port: int,
    engine: Engine = "builtin",
    ready: Callable[[str], None],
) -> None:
    """Serve in the current (main) thread until Ctrl-C."""
    sock = _bind(host, port)
    server = _Server(app, engine, sock)
    ready(_root(host, sock))
    try:
        asyncio.run(server.main())
    finally:
        sock.close()
