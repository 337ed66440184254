"""Hooks in front of the in-process emulator, for tests that decide the order of events.

* ``HookTransport`` runs ``before(request, operation)`` and ``after(request, operation,
  response)`` hooks around each request a client sends: a hook may wait for an ``anyio.Event``
  (to hold a request until something else happened), raise (``httpx.RemoteProtocolError`` drops
  the reply) or replace the response.
* ``HeldImports`` holds the emulator's background import jobs (``asset.upload_from_url``) until
  the test lets them run, so that whether a job is still in progress is the test's choice.
* ``ServerTime`` stands in for the client's sleep: it records each delay, and -- once told to --
  lets the held import jobs finish while the client "sleeps", as time passing would.
* ``event_or_quiet(event)`` waits for ``event``, or until nothing else can happen: a hook that
  waits for another task to act must not deadlock when the SDK (rightly) keeps that task waiting.

None of them measures or relies on time.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import anyio
import httpx

from cincopa_async import AsyncCincopa
from cincopa_async._uploads import file_threads
from cincopa_async.testing import CincopaEmulator

__all__ = [
    "HeldImports",
    "HookTransport",
    "ServerTime",
    "event_or_quiet",
    "hooked_client",
    "operation_of",
    "quiet",
]

Before = Callable[[httpx.Request, str], Awaitable[None]]
After = Callable[[httpx.Request, str, httpx.Response], Awaitable[httpx.Response | None]]


def operation_of(request: httpx.Request) -> str:
    """``asset.list`` for ``/v2/asset.list.json``; ``upload`` (the upload host), ``media`` (an
    asset's original) and ``files`` (a file the emulator serves for import) by path."""
    path = request.url.path
    for prefix, name in (("/upload/", "upload"), ("/media/", "media"), ("/files/", "files")):
        if path.startswith(prefix):
            return name
    return path.rsplit("/", 1)[-1].removesuffix(".json")


class HookTransport(httpx.AsyncBaseTransport):
    """Wraps a transport with ``before`` and ``after`` hooks (see the module docstring)."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self.inner = inner
        self.before: list[Before] = []
        self.after: list[After] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        operation = operation_of(request)
        for before in list(self.before):
            await before(request, operation)
        response = await self.inner.handle_async_request(request)
        for after in list(self.after):
            replaced = await after(request, operation, response)
            if replaced is not None:
                response = replaced
        return response

    async def aclose(self) -> None:
        await self.inner.aclose()


class HeldImports:
    """Holds every import job of ``emu`` before it downloads anything, until ``finish()``.

    Wraps the emulator's job runner (``_run_import``) on this instance only; the job itself
    (its status, its asset) is the emulator's own. Create it inside the event loop.
    """

    def __init__(self, emu: CincopaEmulator) -> None:
        self._emu = emu
        self._go = anyio.Event()
        self._changed = anyio.Event()
        run = emu._run_import

        async def held(*args: Any) -> None:
            try:
                await self._go.wait()
                await run(*args)
            finally:
                self._changed.set()
                self._changed = anyio.Event()

        emu._run_import = held  # type: ignore[method-assign]  # a test double on one instance

    def in_progress(self) -> list[Any]:
        with self._emu.state.lock:
            return [j for j in self._emu.state.main.imports.values() if j.status == "inprogress"]

    async def finish(self) -> None:
        """Let every job (held or to come) run, and return once none is in progress."""
        self._go.set()
        while self.in_progress():
            await self._changed.wait()


class ServerTime:
    """The client's sleep: records each delay; with ``imports`` set, the import jobs held there
    finish during the sleep (time passes on the server while the client waits)."""

    def __init__(self) -> None:
        self.delays: list[float] = []
        self.imports: HeldImports | None = None

    async def __call__(self, delay: float) -> None:
        self.delays.append(delay)
        if self.imports is not None:
            await self.imports.finish()
        await anyio.sleep(0)


def hooked_client(
    emu: CincopaEmulator, sleep: Callable[[float], Awaitable[None]], **options: Any
) -> tuple[AsyncCincopa, HookTransport]:
    """A client of ``emu`` whose requests pass through a ``HookTransport``, with ``sleep`` for
    its retry and poll waits."""
    transport = HookTransport(emu.transport())
    cp = AsyncCincopa(emu.create_token(), base_url=emu.base_url, transport=transport, **options)
    cp._shared.sleep = sleep
    return cp, transport


async def quiet() -> None:
    """Return once every other task waits and no worker thread runs: nothing more happens
    until this task acts (``anyio.wait_all_tasks_blocked`` counts a task waiting for a thread
    as waiting, so the thread pool is checked too)."""
    pools = (anyio.to_thread.current_default_thread_limiter(), file_threads())
    while True:
        await anyio.wait_all_tasks_blocked()
        if not any(pool.borrowed_tokens for pool in pools):
            return
        await anyio.sleep(0.001)  # a thread is working: look again once it may have finished


async def event_or_quiet(event: anyio.Event) -> None:
    """Wait for ``event``, or until nothing else can happen (``quiet``): what the other task
    was to do, it cannot do now -- the SDK keeps it waiting."""
    async with anyio.create_task_group() as group:

        async def until_quiet() -> None:
            await quiet()
            group.cancel_scope.cancel()

        group.start_soon(until_quiet)
        await event.wait()
        group.cancel_scope.cancel()
