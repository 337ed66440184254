"""Serving an ASGI app (the emulator, or a test receiver) on a loopback port, with uvicorn.

uvicorn (the ``emulator`` extra: ``pip install 'cincopa-async[emulator]'``, which brings its
``httptools`` parser and uvloop) runs on a dedicated thread with its own asyncio event loop, so
``serve_asgi_app`` works from asyncio *and* trio code. The listening socket is bound before the
thread starts (a port in use fails right there: ``PortInUseError``) and the call returns once
the server is up. On that thread the server also opens an anyio task group: background work
started by requests arriving through the port (imports, webhook deliveries) runs there. A dropped
connection (``ConnectionDropped`` from the emulator app) aborts the client's socket without any
reply.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import socket
import threading
from collections.abc import AsyncIterator, Callable, Coroutine
from typing import Any

import anyio

from ._app import ConnectionDropped, Receive, Scope, Send
from ._runner import CURRENT_RUNNER, Runner

__all__ = ["ListenError", "PortInUseError", "run_forever", "serve_asgi_app"]

ASGIApp = Callable[[Scope, Receive, Send], Any]


class ListenError(OSError):
    """The server cannot listen on ``host:port``; ``strerror`` says why, naming both."""

    def __init__(self, host: str, port: int, code: int | None, reason: str) -> None:
        super().__init__(code, reason)
        self.host = host
        self.port = port


class PortInUseError(ListenError):
    """The port to serve on is already taken by another socket."""

    def __init__(self, host: str, port: int) -> None:
        super().__init__(host, port, errno.EADDRINUSE, f"port {port} on {host} is already in use")


class _ServerApp:
    """Runs the app with the server's runner as the place for background work, and turns
    ``ConnectionDropped`` into an aborted socket (uvicorn would send a 500)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.runner: Runner | None = None
        self.server: Any = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        token = CURRENT_RUNNER.set(self.runner)
        try:
            await self.app(scope, receive, send)
        except ConnectionDropped:
            self._abort(scope)
            with anyio.move_on_after(1):  # uvicorn hears of the abort, then the cycle ends
                while (await receive())["type"] != "http.disconnect":
                    pass
        finally:
            CURRENT_RUNNER.reset(token)

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
    # and without it a reply written in two parts waits ~40 ms for a delayed ACK.
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(1024)
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:
            raise PortInUseError(host, port) from None
        reason = f"cannot listen on {host} port {port}: {exc.strerror or exc}"
        raise ListenError(host, port, exc.errno, reason) from None
    sock.setblocking(False)
    return sock


def _run(main: Callable[[], Coroutine[Any, Any, None]]) -> None:
    """Run the server's event loop: uvloop's when it is installed (the ``emulator`` extra brings
    it: less CPU per request), else asyncio's own."""
    try:
        import uvloop
    except ImportError:
        loop_factory = None
    else:
        loop_factory = uvloop.new_event_loop
    with asyncio.Runner(loop_factory=loop_factory) as runner:
        runner.run(main())


def _root(host: str, sock: socket.socket) -> str:
    shown = f"[{host}]" if ":" in host else host
    return f"http://{shown}:{sock.getsockname()[1]}"


class _Server:
    """One uvicorn server on one bound socket, and the thread (or main loop) running it."""

    def __init__(self, app: ASGIApp, sock: socket.socket) -> None:
        try:
            import uvicorn
        except ImportError as exc:  # pragma: no cover - depends on the install
            raise RuntimeError(
                "serving on a port needs uvicorn: pip install 'cincopa-async[emulator]'"
            ) from exc
        self.sock = sock
        self.ready = threading.Event()
        self.wrapper = _ServerApp(app)
        config = uvicorn.Config(
            self.wrapper,
            http="auto",  # httptools when installed (the extras bring it), else h11
            interface="asgi3",
            lifespan="off",
            proxy_headers=False,  # loopback only: no proxy in front, and a layer less per request
            log_config=None,  # leave the host program's logging configuration alone
            log_level="warning",
            access_log=False,
            timeout_graceful_shutdown=1,
            timeout_keep_alive=30,
        )
        self.uvicorn = uvicorn.Server(config)
        self.wrapper.server = self.uvicorn

    async def main(self) -> None:
        async with anyio.create_task_group() as task_group:
            self.wrapper.runner = Runner(task_group)
            try:
                task_group.start_soon(self._watch_started)
                await self.uvicorn.serve(sockets=[self.sock])
            finally:
                task_group.cancel_scope.cancel()

    async def _watch_started(self) -> None:
        while not self.uvicorn.started:  # noqa: ASYNC110 - uvicorn only offers a flag
            await asyncio.sleep(0.002)
        self.ready.set()

    def stop(self) -> None:
        self.uvicorn.should_exit = True


@contextlib.asynccontextmanager
async def serve_asgi_app(
    app: ASGIApp,
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    on_runner: Callable[[Runner | None], None] | None = None,
) -> AsyncIterator[str]:
    """Serve ``app`` with uvicorn on ``host:port`` (0 = any free port) on a background thread.

    Yields the root URL, e.g. ``http://127.0.0.1:54321``. Usable under asyncio and trio. A port
    in use raises ``PortInUseError`` before anything starts.
    """
    sock = _bind(host, port)
    try:
        server = _Server(app, sock)
    except BaseException:
        sock.close()
        raise
    failure: list[BaseException] = []

    def thread_main() -> None:
        try:
            _run(server.main)
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
    ready: Callable[[str], None],
) -> None:
    """Serve in the current (main) thread until Ctrl-C; ``PortInUseError`` if the port is taken."""
    sock = _bind(host, port)
    try:
        server = _Server(app, sock)
        ready(_root(host, sock))
        _run(server.main)
    finally:
        sock.close()
