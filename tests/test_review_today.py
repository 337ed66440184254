"""A review of the request path's and the log filter's guarantees: each test here failed on the
code before its fix."""

from __future__ import annotations

import asyncio
import gc
import logging
import math
import threading
import warnings
from collections.abc import Awaitable, Callable
from functools import partial

import anyio
import httpx
import pytest

from cincopa_async import AsyncCincopa, CincopaError, ResponseValidationError
from cincopa_async._redact import KNOWN, install_log_redaction
from cincopa_async._retry import RetryPolicy

from ._raw_server import RawRequest, RawServer, http_reply, raw_server
from ._waits import HANG_GUARD
from .conftest import TOKEN


class Sleeps:
    """The retry loop's sleep: records each delay, touches no event loop."""

    def __init__(self) -> None:
        self.delays: list[float] = []

    async def __call__(self, delay: float) -> None:
        self.delays.append(delay)


def _wait_signalling(cp: AsyncCincopa, started: threading.Event | anyio.Event) -> None:
    """Make every wait of ``cp``'s (before a retry, a poll) set ``started``, then really wait."""

    async def sleep(delay: float) -> None:
        started.set()
        await anyio.sleep(delay)

    cp._shared.sleep = sleep


def _client_told_to_wait_a_day(base_url: str, *, given_transport: bool) -> AsyncCincopa:
    """A client against a server that answers 503 with ``Retry-After`` a day, which it waits
    out (``given_transport``: through ``transport=``, the httpx client route)."""
    transport = httpx.AsyncHTTPTransport() if given_transport else None
    cp = AsyncCincopa(TOKEN, base_url=base_url, max_retries=2, transport=transport)
    cp._retry = RetryPolicy(max_retries=2, max_retry_after=math.inf)
    return cp


_BUSY_FOR_A_DAY = http_reply(b"{}", status="503 Busy", headers=(("Retry-After", "86400"),))


async def _close_while_it_waits(
    cp: AsyncCincopa, call: Callable[[], Awaitable[object]], waiting: anyio.Event
) -> RuntimeError:
    """Open ``cp``, start ``call``, close ``cp`` once ``waiting`` is set: the error the call
    ended with (it must end with a ``RuntimeError``)."""
    caught: list[RuntimeError] = []

    async def run() -> None:
        try:
            await call()
        except RuntimeError as error:
            caught.append(error)

    async with cp:
        with anyio.fail_after(HANG_GUARD):  # a hang guard: the waits are a day
            async with anyio.create_task_group() as tg:
                tg.start_soon(run)
                await waiting.wait()
                await cp.aclose()
    (error,) = caught
    return error


def _waiting_for_a_slot(cp: AsyncCincopa) -> int:
    shared = cp._shared
    if shared.wire is not None:
        return len(shared.wire[1]._waiters or ())  # type: ignore[attr-defined]  # asyncio's
    return shared.limiter.statistics().tasks_waiting


def _abandon_calls(
    route: str, waiting: int, server: RawServer, held: threading.Event
) -> tuple[Sleeps, list[CincopaError]]:
    """A call held by the server, ``waiting`` more waiting for its slot, on a loop that is then
    closed; each call's coroutine closed as the collector does (``coro.close()``): the retry
    sleeps and the overload listeners' errors that followed."""
    seen: list[CincopaError] = []
    sleeps = Sleeps()
    transport = httpx.AsyncHTTPTransport() if route == "httpx" else None
    cp = AsyncCincopa(
        TOKEN, base_url=server.base_url, max_retries=2, max_concurrency=1, transport=transport
    )
    cp._shared.sleep = sleeps
    cp._shared.overload_listeners.append(seen.append)

    async def start() -> list[asyncio.Task[object]]:
        await cp.ping()  # the route chosen, a connection open
        tasks = [asyncio.ensure_future(cp.ping())]
        await asyncio.to_thread(held.wait, HANG_GUARD)
        tasks += [asyncio.ensure_future(cp.ping()) for _ in range(waiting)]
        while _waiting_for_a_slot(cp) < waiting:
            await asyncio.sleep(0)
        return tasks

    loop = asyncio.new_event_loop()
    try:
        tasks = loop.run_until_complete(start())
    finally:
        loop.close()  # abandoned with the calls in flight
    try:
        for task in tasks:
            task.get_coro().close()
    finally:
        cp._shared.closed = True  # nothing to close it on: its loop is gone
        if cp._shared.direct is not None:
            cp._shared.direct.close_from_finalizer()
    return sleeps, seen


@pytest.mark.parametrize("waiting", [0, 1], ids=["alone", "with-a-call-waiting-for-its-slot"])
@pytest.mark.parametrize("route", ["aiohttp", "httpx"])
def test_a_call_whose_abandoned_loop_is_gone_ends_when_closed_retrying_nothing(
    route: str, waiting: int, caplog: pytest.LogCaptureFixture
) -> None:
    """A call in flight on an event loop that was closed and dropped (an application that
    stopped its loop with work pending; the interpreter's shutdown) has its coroutine closed
    by the garbage collector: ``coro.close()`` throws ``GeneratorExit`` into it. aiohttp's
    cleanup then fails ("Event loop is closed"), and the call took that failure for a dropped
    connection: it logged a retry, told the overload listeners and slept before sending again,
    so ``close()`` raised (Python printed "Exception ignored in: <coroutine ...>" with a
    traceback, at shutdown). On the httpx routes, giving the limiter's slot back asked for the
    current task, which there is none of then. A coroutine being closed ends: nothing is
    retried or awaited, and its slot goes back (waking a waiter on a loop that is gone must
    not stop it)."""
    held, release = threading.Event(), threading.Event()

    def script(request: RawRequest, number: int) -> bytes:
        if number == 1:  # the call that is abandoned: held until the test is done with it
            held.set()
            release.wait(HANG_GUARD)
        return http_reply(b'{"success": true}')

    with raw_server(script) as server:
        try:
            with caplog.at_level("INFO", logger="cincopa_async"):
                sleeps, seen = _abandon_calls(route, waiting, server, held)
        finally:
            release.set()
            with warnings.catch_warnings():  # the sockets of the loop that is gone
                warnings.simplefilter("ignore")
                gc.collect()
    assert sleeps.delays == []
    assert seen == []
    assert not [r for r in caplog.records if "retrying" in r.getMessage()]
    assert len(server.requests) == 2


@pytest.mark.parametrize("route", ["aiohttp", "httpx"])
def test_a_call_whose_abandoned_loop_is_gone_ends_when_closed_as_it_waits_to_retry(
    route: str,
) -> None:
    """The same, for a call waiting out a ``Retry-After`` when its loop was abandoned: the
    wait's cancel scope (closing the client ends it) asked for the current task as it was
    left, which there is none of then."""
    with raw_server(lambda request, number: _BUSY_FOR_A_DAY) as server:
        cp = _client_told_to_wait_a_day(server.base_url, given_transport=route == "httpx")
        waiting = threading.Event()
        _wait_signalling(cp, waiting)

        async def start() -> asyncio.Task[object]:
            task = asyncio.ensure_future(cp.ping())
            while not waiting.is_set():
                await asyncio.sleep(0)
            return task

        loop = asyncio.new_event_loop()
        try:
            task = loop.run_until_complete(start())
        finally:
            loop.close()  # abandoned with the call waiting
        try:
            task.get_coro().close()  # what the collector does to the abandoned task
        finally:
            cp._shared.closed = True  # nothing to close it on: its loop is gone
            with warnings.catch_warnings():  # the sockets of the loop that is gone
                warnings.simplefilter("ignore")
                if cp._shared.direct is not None:
                    cp._shared.direct.close_from_finalizer()
                del task
                gc.collect()
    assert len(server.requests) == 1


@pytest.mark.anyio
@pytest.mark.parametrize("route", ["default", "given"])
@pytest.mark.parametrize("body", [b"[1, 2]", b'"text"', b"null", b"3"])
async def test_a_reply_that_is_no_json_object_is_raised_once_not_seen_as_overload(
    route: str, body: bytes
) -> None:
    """Valid JSON that is no object (a list, a string, null, a number) is a reply of the wrong
    shape like one whose fields are wrong: raised once, never shown to the listeners that
    watch for overload. It was raised inside the retry loop, which told them first."""
    seen: list[CincopaError] = []
    with raw_server(lambda request, number: http_reply(body)) as server:
        transport = httpx.AsyncHTTPTransport() if route == "given" else None
        async with AsyncCincopa(
            TOKEN, base_url=server.base_url, max_retries=3, transport=transport
        ) as cp:
            cp._shared.overload_listeners.append(seen.append)
            with pytest.raises(ResponseValidationError, match="expected a JSON object"):
                await cp.asset.list()
    assert len(server.requests) == 1
    assert seen == []


def test_a_client_used_on_a_second_event_loop_says_so_at_once_and_retries_nothing() -> None:
    """A client first used under one ``asyncio.run`` and then under another (a module-level
    client; a test framework's loop per test): its aiohttp session belongs to the first loop,
    closed now, so every request fails with "Event loop is closed". That was taken for a
    dropped connection: retried with back-off, then an ``APIConnectionError`` that claimed the
    request was sent (``request_sent``: an unknown outcome, for a mutation) when it never left.
    It is a ``RuntimeError`` that says what is wrong, at once."""
    with raw_server(lambda request, number: http_reply(b'{"success": true}')) as server:
        cp = AsyncCincopa(TOKEN, base_url=server.base_url, max_retries=2)
        sleeps = Sleeps()
        cp._shared.sleep = sleeps
        try:
            asyncio.run(cp.ping())
            with pytest.raises(RuntimeError, match="another event loop") as caught:
                asyncio.run(cp.ping())
        finally:
            with warnings.catch_warnings():  # the sockets of the loop that is gone
                warnings.simplefilter("ignore")
                asyncio.run(cp.aclose())
                del cp
                gc.collect()
    assert not isinstance(caught.value, CincopaError)
    assert sleeps.delays == []
    assert len(server.requests) == 1
    assert TOKEN not in str(caught.value)
    assert caught.value.__context__ is None
    assert caught.value.__cause__ is None


class _Quoting:
    """An object whose repr quotes what it holds (an ``httpx.Request`` quotes its URL)."""

    def __init__(self, text: str) -> None:
        self.text = text

    def __repr__(self) -> str:
        return f"<_Quoting {self.text}>"


def test_a_records_extra_attributes_are_scrubbed_like_its_message() -> None:
    """``extra=`` puts values on the record itself, where ``%(name)s`` in a format and every
    structured (JSON) formatter read them: aiohttp's access log puts the request line there,
    beside the message the filter scrubbed. They kept every secret."""
    install_log_redaction()
    url = f"https://api.cincopa.com/v2/ping.json?api_token={TOKEN}"
    KNOWN.hold(TOKEN)
    try:
        logger = logging.getLogger("cincopa_async")
        records: list[logging.LogRecord] = []

        class Keep(logging.Handler):
            def emit(self, record: logging.LogRecord) -> None:
                records.append(record)

        handler = Keep()
        logger.addHandler(handler)
        level = logger.level
        logger.setLevel(logging.INFO)
        try:
            logger.info(
                "a request",
                extra={
                    "first_request_line": f"GET {url}",
                    "request": {"line": f"GET {url}", "token": TOKEN},
                    "lines": [TOKEN],
                    "quoting": _Quoting(url),
                    "status": 200,
                },
            )
        finally:
            logger.removeHandler(handler)
            logger.setLevel(level)
    finally:
        KNOWN.release(TOKEN)
    (record,) = records
    formatted = logging.Formatter(
        "%(message)s %(first_request_line)s %(request)s %(lines)s %(quoting)r %(status)s"
    ).format(record)
    assert TOKEN not in formatted
    assert TOKEN not in repr(vars(record))
    assert "GET https://api.cincopa.com/v2/ping.json?api_token=REDACTED" in formatted
    assert record.status == 200  # what holds no secret is kept as it is


def test_a_record_that_cannot_be_scrubbed_withholds_its_extra_attributes_too(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Failing closed keeps none of a record's text: its extra attributes included (still
    there, so that a format naming them does not fail, but withheld)."""
    from cincopa_async import _redact

    def broken(text: str, *args: object, **kwargs: object) -> str:
        raise MemoryError

    monkeypatch.setattr(_redact, "scrub", broken)
    record = logging.LogRecord("cincopa_async", logging.INFO, __file__, 1, "a request", (), None)
    record.first_request_line = f"GET /v2/ping.json?api_token={TOKEN}"
    assert _redact._FILTER.filter(record)
    formatted = logging.Formatter("%(message)s %(first_request_line)s").format(record)
    assert "could not scrub" in formatted
    assert TOKEN not in formatted
    assert "withheld" in record.first_request_line


@pytest.mark.parametrize(
    ("requirement", "pin"),
    [
        ("httpx>=0.27,<1", "httpx==0.27"),
        ("httpx[http2]>=0.27,<1", "httpx[http2]==0.27"),
        ('uvloop>=0.19; sys_platform != "win32"', 'uvloop==0.19; sys_platform != "win32"'),
        ('a[y,x]>=2.0; python_version < "3.12"', 'a[x,y]==2.0; python_version < "3.12"'),
    ],
)
def test_the_lowest_session_pins_each_bound_with_its_extras_and_markers(
    requirement: str, pin: str
) -> None:
    """``nox -s lowest`` installs the pins: a requirement's extras were dropped (``httpx[http2]``
    pinned as ``httpx``: the extra's own dependencies left out of the run)."""
    from tools.lowest import lowest_pins

    assert lowest_pins([requirement]) == [pin]


@pytest.mark.parametrize("requirement", ["baz>=1.0,!=1.0", "baz>1.0", "baz~=1.4", "baz"])
def test_the_lowest_session_refuses_a_bound_it_cannot_pin(requirement: str) -> None:
    """A floor the specifier itself excludes was pinned anyway (``baz==1.0``, which the package's
    own requirement then refuses); a requirement with no ``>=`` bound has no floor to pin."""
    from tools.lowest import lowest_pins

    with pytest.raises(ValueError, match="bound"):
        lowest_pins([requirement])


@pytest.mark.anyio
@pytest.mark.parametrize("route", ["default", "given"])
async def test_closing_the_client_ends_a_call_that_waits_to_retry(route: str) -> None:
    """A call waiting out a ``Retry-After`` (up to a minute by default) when its client is
    closed (an application shutting down) slept on to the end of the wait before it found
    the client closed: the shutdown waited with it. It ends at once with the closed client's
    ``RuntimeError``, sending nothing more."""
    with raw_server(lambda request, number: _BUSY_FOR_A_DAY) as server:
        cp = _client_told_to_wait_a_day(server.base_url, given_transport=route == "given")
        sleeping = anyio.Event()
        _wait_signalling(cp, sleeping)
        error = await _close_while_it_waits(cp, cp.ping, sleeping)
    assert "client is closed" in str(error)
    assert len(server.requests) == 1


@pytest.mark.anyio
async def test_closing_the_client_ends_an_import_waiting_to_poll_again() -> None:
    """The rest of the class: every wait of the SDK's (an import's polls, an upload's retries, a
    bulk run's overload pauses) slept on past the client's close."""
    from cincopa_async.testing import CincopaEmulator

    async with CincopaEmulator() as emu, emu.serve() as base_url:
        url = emu.add_file("slow.mp4", b"x" * 1024)
        emu.import_chunk_delay = 3600  # the job never finishes on its own
        cp = AsyncCincopa(emu.create_token(), base_url=base_url)
        sleeping = anyio.Event()
        _wait_signalling(cp, sleeping)
        job = partial(cp.import_url, url, poll_interval=86400, max_poll_interval=86400)
        error = await _close_while_it_waits(cp, job, sleeping)
    assert "client is closed" in str(error)


@pytest.mark.anyio
@pytest.mark.parametrize("call", ["ping", "import_url"])
async def test_a_call_cancelled_as_its_client_closes_ends_cancelled(call: str) -> None:
    """Cancelled (an application's task group, shutting down) while its client closes, a
    waiting call ends cancelled, as its canceller expects, not with the closed client's
    ``RuntimeError``; an import being left does not try to abort its job through the closed
    client (whose ``RuntimeError`` replaced the cancellation: the task group raised it). The
    ``ping`` case guards the closing of waits (the commit before): cancellation wins there."""
    from cincopa_async.testing import CincopaEmulator

    async with CincopaEmulator() as emu, emu.serve() as base_url:
        url = emu.add_file("slow.mp4", b"x" * 1024)
        emu.import_chunk_delay = 3600  # the job never finishes on its own
        emu.faults.add("server_error", status=503, operations="ping", retry_after=86400)
        cp = AsyncCincopa(emu.create_token(), base_url=base_url, max_retries=2)
        cp._retry = RetryPolicy(max_retries=2, max_retry_after=math.inf)  # waits a day
        sleeping = anyio.Event()
        _wait_signalling(cp, sleeping)
        async with cp:
            with anyio.fail_after(HANG_GUARD):  # a hang guard: each wait is a day
                async with anyio.create_task_group() as tg:
                    if call == "ping":
                        tg.start_soon(cp.ping)
                    else:
                        tg.start_soon(partial(cp.import_url, url, poll_interval=86400))
                    await sleeping.wait()
                    tg.cancel_scope.cancel()
                    await cp.aclose()
        assert tg.cancel_scope.cancelled_caught
