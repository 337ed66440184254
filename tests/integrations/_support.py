"""Helpers of the integration tests: uvicorn with lifespans, an emulator served from a thread."""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any, TypeVar

import anyio.from_thread
import uvicorn

from cincopa_async.testing import CincopaEmulator

T = TypeVar("T")


@contextlib.contextmanager
def serve_with_lifespan(app: Any) -> Iterator[str]:
    """Serve ``app`` with uvicorn on a loopback port, lifespan on; yields the root URL."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    config = uvicorn.Config(app, lifespan="on", log_level="warning", access_log=False, backlog=512)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.005)
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()


@contextlib.contextmanager
def portal_context(manager: contextlib.AbstractAsyncContextManager[T]) -> Iterator[T]:
    """Enter an async context manager on a background event loop, from sync code."""
    with (
        anyio.from_thread.start_blocking_portal() as portal,
        portal.wrap_async_context_manager(manager) as value,
    ):
        yield value


@contextlib.contextmanager
def served_emulator(**options: Any) -> Iterator[tuple[CincopaEmulator, str]]:
    """An emulator served on a loopback port from a background thread: (emulator, base URL)."""
    emu = CincopaEmulator(**options)
    with (
        anyio.from_thread.start_blocking_portal() as portal,
        portal.wrap_async_context_manager(emu.serve()) as base_url,
    ):
        yield emu, base_url
