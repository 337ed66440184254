"""Cancelling at any point of a call, an upload or a bulk run leaves nothing behind.

Against the emulator on a real loopback socket (so the real pools are in play: aiohttp under
asyncio, httpcore under trio), with a small pool: a connection leaked by a cancelled request
would exhaust it and make the calls afterwards hang, which the hang guard turns into a failure.

Where each cancellation lands is set by events, never by the clock: before anything is sent,
while the server holds the request, once the server has handled the n-th request of an upload
or a bulk run, or after k passes of the event loop. What is asserted -- an intact pool, no task
left, a job that completes afterwards -- holds wherever a cancellation lands.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import anyio
import pytest

from cincopa_async import AsyncCincopa
from cincopa_async.testing import CincopaEmulator, Fault

from ._waits import HANG_GUARD, wait_until
from .soak import connections_in_use

pytestmark = [
    pytest.mark.anyio,
    # A request cancelled while httpx streams its body leaves httpx's own body generator to the
    # garbage collector, which trio reports as a warning; connections are checked below.
    pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning"),
]

POOL = 2


@pytest.fixture
async def served() -> AsyncIterator[tuple[CincopaEmulator, str]]:
    async with CincopaEmulator(seed=11) as emu, emu.serve() as base_url:
        emu.faults.add("latency", seconds=0.01)
        yield emu, base_url


async def cancelled_when(
    trigger: Callable[[], Awaitable[object]], call: Callable[[], Awaitable[object]]
) -> None:
    """Run ``call``, cancelled as soon as ``trigger()`` returns (unless it finished first)."""
    async with anyio.create_task_group() as tg:

        async def cancel() -> None:
            await trigger()
            tg.cancel_scope.cancel()

        tg.start_soon(cancel)
        await call()
        tg.cancel_scope.cancel()


def loop_passes(count: int) -> Callable[[], Awaitable[None]]:
    """A trigger: ``count`` passes of the event loop (a point in the call, not a duration)."""

    async def passes() -> None:
        for _ in range(count):
            await anyio.lowlevel.checkpoint()

    return passes


def hit(fault: Fault) -> Callable[[], Awaitable[None]]:
    """A trigger: the server has applied ``fault`` to a request (a stall: it holds it now)."""

    async def applied() -> None:
        await wait_until(lambda: fault.hits > 0)

    return applied


def handled(emu: CincopaEmulator, count: int) -> Callable[[], Awaitable[None]]:
    """A trigger: the server has handled ``count`` more requests than it had now."""
    target = len(emu.requests) + count

    async def reached() -> None:
        await wait_until(lambda: len(emu.requests) >= target)

    return reached


async def pool_still_works(cp: AsyncCincopa) -> None:
    """No connection is left checked out, and more calls than the pool holds all complete."""
    await anyio.wait_all_tasks_blocked()
    assert connections_in_use(cp) == 0
    with anyio.fail_after(HANG_GUARD):
        async with anyio.create_task_group() as tg:
            for _ in range(POOL * 4):
                tg.start_soon(cp.ping)


async def test_cancelled_calls_leave_the_pool_usable(
    served: tuple[CincopaEmulator, str],
) -> None:
    """A call cancelled before it sends, while the server holds its request (a stall: certainly
    in flight), and after 0 to 39 passes of the event loop: the pool stays intact."""
    emu, base_url = served
    tasks_before = len(anyio.get_running_tasks())
    async with AsyncCincopa(emu.create_token(), base_url=base_url, max_concurrency=POOL) as cp:
        await cp.ping()
        with anyio.CancelScope() as before:
            before.cancel()
            await cp.asset.list()
        assert before.cancelled_caught
        for _ in range(POOL + 1):  # more stalled-then-cancelled requests than the pool holds
            with emu.faults.add("stall", operations="asset.list", times=1) as stall:
                await cancelled_when(hit(stall), cp.asset.list)
        for passes in range(40):
            await cancelled_when(loop_passes(passes), cp.asset.list)
        await pool_still_works(cp)
    assert len(anyio.get_running_tasks()) == tasks_before


async def test_cancelled_uploads_leave_the_pool_usable(
    served: tuple[CincopaEmulator, str], tmp_path: Path
) -> None:
    """Chunked uploads cancelled midway: the pool works and a fresh upload completes."""
    emu, base_url = served
    path = tmp_path / "movie.bin"
    data = os.urandom(6 * 64 * 1024)
    path.write_bytes(data)
    tasks_before = len(anyio.get_running_tasks())
    async with AsyncCincopa(emu.create_token(), base_url=base_url, max_concurrency=POOL) as cp:
        for requests in range(1, 12):  # 6 chunks and the calls around them
            await cancelled_when(
                handled(emu, requests),
                lambda: cp.upload_file(path, chunk_size=64 * 1024, chunk_concurrency=2),
            )
        await pool_still_works(cp)
        with anyio.fail_after(HANG_GUARD):
            asset = await cp.upload_file(path, chunk_size=64 * 1024, reference_id="last")
    assert emu.state.main.assets[asset.rid].content == data
    assert len(anyio.get_running_tasks()) == tasks_before


async def test_cancelled_bulk_runs_leave_the_pool_usable(
    served: tuple[CincopaEmulator, str],
) -> None:
    """Bulk uploads cancelled at several points; then the same job completes without dupes."""
    emu, base_url = served
    files = [(f"f{i}.bin", os.urandom(2048)) for i in range(12)]
    tasks_before = len(anyio.get_running_tasks())
    async with AsyncCincopa(emu.create_token(), base_url=base_url, max_concurrency=POOL) as cp:
        for requests in (1, 3, 8, 16, 30):
            await cancelled_when(handled(emu, requests), lambda: cp.bulk.upload_files(files))
        await pool_still_works(cp)
        with anyio.fail_after(HANG_GUARD):
            result = await cp.bulk.upload_files(files)
        assert cp._shared.overload_listeners == []
    assert result.ok
    assert len(emu.state.main.assets) == 12
    assert len(anyio.get_running_tasks()) == tasks_before
