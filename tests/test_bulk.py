"""The bulk engine against the in-process emulator: every item reported, nothing duplicated."""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import AsyncIterator
from functools import partial

import anyio
import pytest

from cincopa_async import APIResponseError, AsyncCincopa, BulkFailure, BulkSuccess
from cincopa_async._bulk import (
    AdaptiveLimit,
    BulkCancelledError,
    BulkProgress,
    derived_reference,
)
from cincopa_async.testing import CincopaEmulator, serve_asgi_app

from ._waits import wait_until

pytestmark = pytest.mark.anyio


async def _no_sleep(delay: float) -> None:
    await anyio.lowlevel.checkpoint()


@pytest.fixture
async def emu() -> AsyncIterator[CincopaEmulator]:
    async with CincopaEmulator(seed=7) as emulator:
        yield emulator


def files(count: int) -> list[tuple[str, bytes]]:
    return [(f"file-{i}.bin", f"content of file {i}".encode() * 20) for i in range(count)]


def stored(emu: CincopaEmulator) -> list[object]:
    return list(emu.state.main.assets.values())


async def test_bulk_upload_under_faults_stores_each_file_exactly_once(
    emu: CincopaEmulator,
) -> None:
    """500 files, 20% of requests failing (5xx, 429, dropped after applying): 500 assets."""
    emu.faults.add("server_error", rate=0.07)
    emu.faults.add("rate_limit", rate=0.07, retry_after=0)
    emu.faults.add("drop_after", rate=0.06)
    inputs = files(500)
    progress: list[BulkProgress] = []
    async with emu.client(max_concurrency=32) as cp:
        cp._shared.sleep = _no_sleep
        result = await cp.bulk.upload_files(inputs, on_progress=progress.append)
    assert len(result) == 500
    assert [item.input for item in result] == inputs
    assert result.ok, [repr(item.error) for item in result.failed][:5]
    assets = stored(emu)
    assert len(assets) == 500
    references = Counter(asset.reference_id for asset in assets)
    assert len(references) == 500
    expected = {
        derived_reference(name, hashlib.sha256(data).digest()): name for name, data in inputs
    }
    assert {a.reference_id: a.filename for a in assets} == expected
    assert {item.value.rid for item in result.succeeded} == {a.rid for a in assets}
    faults = Counter(r.fault for r in emu.requests if r.fault)
    assert faults["drop_after"] > 0
    assert faults["rate_limit"] > 0
    assert faults["server_error"] > 0
    assert progress[-1].items_done == 500
    assert progress[-1].items_failed == 0
    assert progress[-1].bytes_done == progress[-1].bytes_total == sum(len(d) for _, d in inputs)


async def test_rerun_skips_what_is_already_there(emu: CincopaEmulator) -> None:
    """The same job twice: the second run uploads nothing."""
    inputs = files(20)
    async with emu.client() as cp:
        first = await cp.bulk.upload_files(inputs)
        posts = sum(1 for r in emu.requests if r.path.startswith("/upload/"))
        second = await cp.bulk.upload_files(inputs)
    assert first.ok
    assert second.ok
    assert [i.value.rid for i in first] == [i.value.rid for i in second]
    assert sum(1 for r in emu.requests if r.path.startswith("/upload/")) == posts == 20
    assert len(stored(emu)) == 20


async def test_orphan_from_a_failed_set_meta_is_adopted(emu: CincopaEmulator) -> None:
    """A file stored without its reference (set_meta failed) is adopted, not re-uploaded."""
    name, data = files(1)[0]
    async with emu.client(max_retries=0) as cp:
        emu.faults.add("server_error", operations="asset.set_meta", times=10)
        failed = await cp.bulk.upload_files([(name, data)], item_attempts=1)
        assert not failed.ok
        emu.faults.clear()
        result = await cp.bulk.upload_files([(name, data)])
    assert result.ok
    assert len(stored(emu)) == 1
    assert result[0].value is not None
    assert result[0].value.reference_id.startswith("sha256-")


async def test_one_failure_does_not_stop_the_others(emu: CincopaEmulator) -> None:
    """Deleting rids where some do not exist: each item gets its own outcome, in order."""
    async with emu.client() as cp:
        uploaded = await cp.bulk.upload_files(files(4))
        rids = [item.value.rid for item in uploaded]
        targets = [rids[0], "NOSUCHRID01", rids[1], "NOSUCHRID02"]
        result = await cp.bulk.delete(targets)
    assert [item.input for item in result] == targets
    assert [item.ok for item in result] == [True, False, True, False]
    assert isinstance(result[1].error, APIResponseError)
    assert isinstance(result[1], BulkFailure)
    assert [item.input for item in result.failed] == ["NOSUCHRID01", "NOSUCHRID02"]
    assert all(isinstance(item, BulkSuccess) for item in result.succeeded)
    no_value = r"this bulk item failed \(APIResponseError: .*check item\.ok first"
    with pytest.raises(AttributeError, match=no_value):
        _ = result[1].value
    assert result[0].error is None
    assert not result.ok
    assert len(stored(emu)) == 2


async def test_fail_fast_stops_and_reports_the_rest(emu: CincopaEmulator) -> None:
    """With fail_fast, the first failure stops the run; unfinished items say so."""
    async with emu.client() as cp:
        result = await cp.bulk.delete(
            ["NOSUCHRID00"] + [f"NOSUCHRID{i:02d}" for i in range(1, 30)],
            fail_fast=True,
            concurrency=1,
        )
    assert isinstance(result[0].error, APIResponseError)
    assert all(isinstance(item.error, BulkCancelledError) for item in result.items[1:])
    assert len(result) == 30


async def test_set_meta_and_add_to_gallery(emu: CincopaEmulator) -> None:
    """Bulk metadata and gallery membership, batched; one result item per rid."""
    async with emu.client() as cp:
        uploaded = await cp.bulk.upload_files(files(7))
        rids = [item.value.rid for item in uploaded]
        meta = await cp.bulk.set_meta([{"rid": rid, "caption": f"c{rid}"} for rid in rids])
        gallery = await cp.gallery.create(name="all")
        added = await cp.bulk.add_to_gallery(gallery.fid, rids, batch_size=3)
        items = await cp.gallery.get_items(fid=gallery.fid, items_per_page=100)
    assert meta.ok
    assert added.ok
    assert [item.input for item in added] == rids
    assert sum(1 for r in emu.requests if r.operation == "gallery.add_item") == 3
    assert {a.rid for a in items.folder.items} == set(rids)
    assert {a.caption for a in items.folder.items} == {f"c{rid}" for rid in rids}


async def test_generic_run_keeps_input_order_and_caps_concurrency(emu: CincopaEmulator) -> None:
    """bulk.run: any coroutine function; no more than `concurrency` items at once."""
    running = peak = 0

    async def work(n: int) -> int:
        nonlocal running, peak
        running += 1
        peak = max(peak, running)
        await anyio.sleep(0.001 * (n % 3))
        running -= 1
        if n == 5:
            raise ValueError("five")
        return n * n

    async with emu.client() as cp:
        result = await cp.bulk.run(work, range(20), concurrency=4)
    assert [item.input for item in result] == list(range(20))
    assert [item.value for item in result if item.ok] == [n * n for n in range(20) if n != 5]
    assert isinstance(result[5].error, ValueError)
    assert peak == 4


async def test_cancel_midway_leaks_nothing_and_a_rerun_finishes(emu: CincopaEmulator) -> None:
    """Cancel a bulk upload midway: no task or connection left; a rerun does the rest only."""
    inputs = files(60)
    emu.faults.add("latency", seconds=0.002)
    tasks_before = len(anyio.get_running_tasks())
    transport = emu.transport()
    async with AsyncCincopa(
        emu.create_token(), base_url=emu.base_url, transport=transport, max_concurrency=8
    ) as cp:
        with anyio.CancelScope() as scope:

            def stop_at_20(update: BulkProgress) -> None:
                if update.items_done >= 20:
                    scope.cancel()

            await cp.bulk.upload_files(inputs, on_progress=stop_at_20)
        assert scope.cancelled_caught
        done_before = len(stored(emu))
        assert 20 <= done_before < 60
        assert len(anyio.get_running_tasks()) == tasks_before  # cancelled work left no task
        pool = cp._shared.http
        result = await cp.bulk.upload_files(inputs)
        assert result.ok
    assert len(stored(emu)) == 60
    posts = [r for r in emu.requests if r.path.startswith("/upload/")]
    assert len(posts) <= 60 + 8  # at most the in-flight uploads of the first run are redone
    assert pool.is_closed
    assert cp._shared.overload_listeners == []
    assert len(anyio.get_running_tasks()) == tasks_before


async def _stalling_file(scope: dict[str, object], receive: object, send: object) -> None:
    await anyio.sleep(30)  # the download never ends while the test runs


async def test_cancel_aborts_imports_in_flight(emu: CincopaEmulator) -> None:
    """Imports in flight when the run is cancelled are aborted on the server."""
    async with serve_asgi_app(_stalling_file) as root:
        urls = [f"{root}/v{i}.mp4" for i in range(3)]
        async with emu.client() as cp, anyio.create_task_group() as tg:
            tg.start_soon(partial(cp.bulk.import_urls, urls, poll_interval=0.01))
            await wait_until(  # every job started and is being polled
                lambda: (
                    len(
                        {
                            r.params["status_id"]
                            for r in emu.requests
                            if r.operation == "asset.upload_from_url_get_status"
                        }
                    )
                    == 3
                )
            )
            tg.cancel_scope.cancel()
    aborted = [r for r in emu.requests if r.operation == "asset.upload_from_url_abort"]
    assert len(aborted) == 3
    jobs = [r.params["status_id"] for r in aborted]
    assert len(set(jobs)) == 3


def test_adaptive_limit_halves_on_overload_and_grows_back() -> None:
    """AIMD: 429/503 halve the limit (not below 1); successes add one per window."""
    limit = AdaptiveLimit(16)
    limit.overloaded(0)
    assert limit.current == 8
    for _ in range(5):
        limit.overloaded(0)
    assert limit.current == 1
    for _ in range(1):
        limit.succeeded()
    assert limit.current == 2
    for _ in range(2):
        limit.succeeded()
    assert limit.current == 3
    for _ in range(1000):
        limit.succeeded()
    assert limit.current == 16


async def test_adaptive_limit_reacts_to_429_in_a_run(emu: CincopaEmulator) -> None:
    """A run that meets 429s ends with a lower in-flight limit than it started with.

    The first three ``asset.set_meta`` calls of the run are refused, whichever items make them
    (not a rate: with one, a run could meet none, or give one item's every try a 429)."""
    emu.faults.add("rate_limit", operations="asset.set_meta", times=3, retry_after=0)
    seen: list[int] = []
    async with emu.client(max_concurrency=16) as cp:
        cp._shared.sleep = _no_sleep
        original = AdaptiveLimit.overloaded

        def spy(self: AdaptiveLimit, retry_after: float) -> None:
            original(self, retry_after)
            seen.append(self.current)

        AdaptiveLimit.overloaded = spy
        try:
            uploaded = await cp.bulk.upload_files(files(10))
        finally:
            AdaptiveLimit.overloaded = original
    assert uploaded.ok
    assert len(seen) == 3
    assert seen[0] == 8  # the first 429 halves the limit of 16
    assert min(seen) < 8


async def test_progress_reports_bytes_within_large_files(emu: CincopaEmulator) -> None:
    """Chunk acknowledgements of a big file show up as byte progress before the item is done."""
    big = [("big.bin", b"z" * (5 * 64 * 1024))]
    updates: list[BulkProgress] = []
    async with emu.client() as cp:
        result = await cp.bulk.upload_files(big, chunk_size=64 * 1024, on_progress=updates.append)
    assert result.ok
    partial = [u for u in updates if u.items_done == 0 and 0 < u.bytes_done < u.bytes_total]
    assert [u.bytes_done for u in partial] == [64 * 1024 * n for n in range(1, 5)]
    assert updates[-1].bytes_done == updates[-1].bytes_total == 5 * 64 * 1024
