"""Bulk jobs at any size: streamed inputs and outcomes, the requests an item needs, the ledger.

Against the in-process emulator; its request log counts what each item cost.
"""

from __future__ import annotations

import csv
import io
import json
import os
import sqlite3
import tracemalloc
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest

from cincopa_async import AsyncCincopa, CincopaValidationError, Ledger, LedgerFailedError
from cincopa_async._bulk import _CHUNK, converge_on, derived_reference
from cincopa_async._uploads import sha256
from cincopa_async.testing import CincopaEmulator

from .conftest import TOKEN, operations
from .conftest import sleepless_client as client

pytestmark = pytest.mark.anyio


@pytest.fixture
async def emu() -> AsyncIterator[CincopaEmulator]:
    async with CincopaEmulator(seed=31) as emulator:
        yield emulator


def tree(root: Path, count: int, size: int = 700) -> list[Path]:
    paths = []
    for i in range(count):
        path = root / f"d{i % 3}" / f"f{i}.bin"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(os.urandom(size))
        paths.append(path)
    return paths


# -- streaming ------------------------------------------------------------------------------------


async def test_inputs_are_read_as_the_run_goes_never_ahead_of_a_window(
    emu: CincopaEmulator,
) -> None:
    """A generator of inputs is read a chunk ahead of the outcomes at most, never whole."""
    pulled = emitted = ahead = 0
    concurrency = 4

    def inputs() -> Iterator[int]:
        nonlocal pulled
        for n in range(3 * _CHUNK + 10):
            pulled += 1
            yield n

    async def work(n: int) -> int:
        await anyio.lowlevel.checkpoint()
        return n * 2

    async with (
        client(emu) as cp,
        cp.bulk.stream.run(work, inputs(), concurrency=concurrency) as outcomes,
    ):
        async for item in outcomes:
            emitted += 1
            ahead = max(ahead, pulled - emitted)
            assert item.ok
            assert item.value == item.input * 2
    assert emitted == pulled == 3 * _CHUNK + 10
    assert ahead <= _CHUNK + 2 * concurrency + 1


async def test_async_iterable_inputs_and_awaited_results_in_order(emu: CincopaEmulator) -> None:
    async def inputs() -> AsyncIterator[int]:
        for n in range(50):
            yield n

    async def work(n: int) -> int:
        await anyio.sleep(0.001 * (n % 4))
        return -n

    async with client(emu) as cp:
        result = await cp.bulk.run(work, inputs(), concurrency=8)
    assert [item.input for item in result] == list(range(50))
    assert [item.value for item in result if item.ok] == [-n for n in range(50)]


async def test_leaving_the_block_stops_the_run_and_leaves_nothing_behind(
    emu: CincopaEmulator, tmp_path: Path
) -> None:
    paths = tree(tmp_path, 40)
    tasks_before = len(anyio.get_running_tasks())
    async with client(emu, max_concurrency=2) as cp:
        async with cp.bulk.stream.upload_files(paths, concurrency=2) as outcomes:
            seen = 0
            async for _item in outcomes:
                seen += 1
                if seen == 5:
                    break
        sent = len(emu.requests)
        await anyio.wait_all_tasks_blocked()
        assert len(emu.requests) == sent  # nothing more goes out once the block is left
        assert len(cp._shared.locks) == 0
    assert len(anyio.get_running_tasks()) == tasks_before
    assert 5 <= len(emu.state.main.assets) < 40


async def test_an_exception_in_the_block_comes_out_as_itself(emu: CincopaEmulator) -> None:
    async def work(n: int) -> int:
        return n

    async def consume(cp: AsyncCincopa) -> None:
        async with cp.bulk.stream.run(work, range(100)) as outcomes:
            async for _item in outcomes:
                raise KeyError("mine")

    async with client(emu) as cp:
        with pytest.raises(KeyError, match="mine"):
            await consume(cp)


async def test_fail_fast_reports_every_input_also_the_unread(emu: CincopaEmulator) -> None:
    async def work(n: int) -> int:
        if n == 3:
            raise ValueError("three")
        await anyio.sleep(0.01)
        return n

    async with client(emu) as cp:
        result = await cp.bulk.run(work, iter(range(2 * _CHUNK)), concurrency=2, fail_fast=True)
    assert len(result) == 2 * _CHUNK
    assert [item.input for item in result] == list(range(2 * _CHUNK))
    assert isinstance(result[3].error, ValueError)


# -- the requests an item needs ---------------------------------------------------------------


async def test_a_fresh_upload_costs_three_requests_with_a_ledger(
    emu: CincopaEmulator, tmp_path: Path
) -> None:
    """Fresh items on a ledger that knows the job (it has started items before), or on a new
    ledger with ``new_job=True``: get_upload_url, the POST, set_meta -- no look-up."""
    paths = tree(tmp_path / "src", 12)
    async with client(emu) as cp, Ledger(tmp_path / "job.sqlite") as ledger:
        first = await cp.bulk.upload_files(paths[:6], ledger=ledger, new_job=True)
        assert operations(emu) == {"asset.get_upload_url": 6, "upload": 6, "asset.set_meta": 6}
        before = len(emu.requests)
        later = await cp.bulk.upload_files(paths, ledger=ledger)  # 6 done, 6 new
    assert first.ok
    assert later.ok
    assert operations(emu, before) == {
        "asset.get_upload_url": 6,
        "upload": 6,
        "asset.set_meta": 6,
    }


async def test_a_new_ledger_looks_every_item_up_it_may_be_a_lost_ledgers_rerun(
    emu: CincopaEmulator, tmp_path: Path
) -> None:
    """The first run's ledger is lost (deleted, emptied, another path): a new one cannot tell a
    rerun from a first run, so every item is looked up -- and nothing is stored twice."""
    paths = tree(tmp_path / "src", 8)
    async with client(emu) as cp:
        async with Ledger(tmp_path / "first.sqlite") as ledger:
            first = await cp.bulk.upload_files(paths, ledger=ledger)
        before = len(emu.requests)
        (tmp_path / "first.sqlite").unlink()
        async with Ledger(tmp_path / "first.sqlite") as ledger:
            second = await cp.bulk.upload_files(paths, ledger=ledger)
            again = await cp.bulk.import_urls(
                [emu.add_file("talk.mp4", b"t" * 500)], ledger=ledger, poll_interval=0.01
            )
    assert first.ok
    assert second.ok
    assert again.ok
    assert operations(emu, 0)["asset.list"] >= 8  # the first run, on a new ledger, looked too
    assert operations(emu, before)["upload"] == 0
    assert [item.value.rid for item in second if item.ok] == [
        item.value.rid for item in first if item.ok
    ]
    assert len(emu.state.main.assets) == 9


async def test_a_replacement_ledger_partly_used_still_looks_up_what_it_has_not_seen(
    emu: CincopaEmulator, tmp_path: Path
) -> None:
    """The first ledger is lost; a run on its replacement handles a few items (so the new
    ledger has history); a run of the whole job on it still looks up the items it has not
    seen: none is stored twice."""
    paths = tree(tmp_path / "src", 12)
    async with client(emu) as cp:
        async with Ledger(tmp_path / "lost.sqlite") as ledger:
            first = await cp.bulk.upload_files(paths, ledger=ledger)
        async with Ledger(tmp_path / "replacement.sqlite") as ledger:
            await cp.bulk.upload_files(paths[:2], ledger=ledger)
            again = await cp.bulk.upload_files(paths, ledger=ledger)
    assert first.ok
    assert again.ok
    assert len(emu.state.main.assets) == 12
    assert operations(emu)["upload"] == 12


async def test_a_failed_item_keeps_its_claim_for_the_next_run(
    emu: CincopaEmulator, tmp_path: Path
) -> None:
    """An item stored and tagged whose outcome was a failure (its set_meta reply lost): its
    ledger row keeps the reference it claimed, so a fresh input of the same reference in the
    next run looks the account up and reuses the asset."""
    root = tmp_path / "src"
    for folder in ("a", "b"):
        (root / folder).mkdir(parents=True)
        (root / folder / "same.bin").write_bytes(b"s" * 900)
    async with client(emu, max_retries=0) as cp, Ledger(tmp_path / "job.sqlite") as ledger:
        emu.faults.add("drop_after", operations="asset.set_meta", times=1)
        failed = await cp.bulk.upload_files(
            [root / "a" / "same.bin"], ledger=ledger, new_job=True, item_attempts=1
        )
        later = await cp.bulk.upload_files([root / "b" / "same.bin"], ledger=ledger)
    assert not failed.ok
    assert later.ok
    assert len(emu.state.main.assets) == 1
    assert operations(emu)["upload"] == 1


@pytest.mark.parametrize("new_job", [False, True])
async def test_inputs_of_one_reference_in_a_ledger_run_store_one_asset(
    emu: CincopaEmulator, tmp_path: Path, new_job: bool
) -> None:
    """The same file twice, the same ``(name, bytes)`` twice, identical files in two folders,
    a URL twice -- on a ledger declared new (none of them is looked up as such: the later
    input of a reference finds the earlier's claim in the ledger and reuses its asset), or on
    one that is not."""
    root = tmp_path / "src"
    (root / "a").mkdir(parents=True)
    (root / "b").mkdir()
    (root / "a" / "clip.mp4").write_bytes(b"same" * 300)
    (root / "b" / "clip.mp4").write_bytes(b"same" * 300)
    one = root / "a" / "clip.mp4"
    url = emu.add_file("talk.mp4", b"t" * 500)
    async with client(emu) as cp, Ledger(tmp_path / "job.sqlite") as ledger:
        if not new_job:  # a ledger with history, not declared new: its unseen items look up
            await cp.bulk.upload_files([("seed.bin", b"seed")], ledger=ledger)
        uploads = await cp.bulk.upload_files(
            [one, root / "b" / "clip.mp4", str(one), ("x.mp4", b"x" * 50), ("x.mp4", b"x" * 50)],
            ledger=ledger,
            new_job=new_job,
            concurrency=2,
        )
        imports = await cp.bulk.import_urls(
            [url, url], ledger=ledger, new_job=new_job, poll_interval=0.01
        )
    assert uploads.ok
    assert imports.ok
    by_reference = Counter(a.reference_id for a in emu.state.main.assets.values())
    assert set(by_reference.values()) == {1}, by_reference
    assert len({item.value.rid for item in uploads[:3] if item.ok}) == 1
    assert len({item.value.rid for item in uploads[3:] if item.ok}) == 1
    assert len({item.value.rid for item in imports if item.ok}) == 1
    assert operations(emu)["upload"] == (2 if new_job else 3)
    assert operations(emu)["asset.upload_from_url"] == 1


async def test_a_ledger_key_that_is_not_utf8_fails_its_item_alone(
    emu: CincopaEmulator, tmp_path: Path
) -> None:
    """A file name in another encoding keeps lone surrogates after ``os.fsdecode``: SQLite
    cannot store it as a key, so that item is a ``CincopaValidationError``; the others run."""
    good = tmp_path / "good.bin"
    good.write_bytes(b"g" * 100)
    bad = Path(os.fsdecode(os.fsencode(str(tmp_path)) + b"/bad\xff.bin"))
    bad.write_bytes(b"b" * 100)
    async with client(emu) as cp, Ledger(tmp_path / "job.sqlite") as ledger:
        result = await cp.bulk.upload_files([good, bad], ledger=ledger)
    assert result[0].ok
    assert isinstance(result[1].error, CincopaValidationError), repr(result[1].error)
    assert len(emu.state.main.assets) == 1


async def test_a_ledger_given_as_a_path_is_closed_when_the_run_ends(
    emu: CincopaEmulator, tmp_path: Path
) -> None:
    path = tmp_path / "job.sqlite"

    def open_on_ledger() -> int:
        fds = Path("/proc/self/fd")
        return sum(1 for fd in fds.iterdir() if os.path.realpath(fd).startswith(str(path)))

    async with client(emu) as cp:
        for _ in range(3):
            result = await cp.bulk.upload_files([("a.mp4", b"a" * 10)], ledger=path)
            assert result.ok
    assert open_on_ledger() == 0


async def test_without_a_ledger_each_upload_looks_up_first(
    emu: CincopaEmulator, tmp_path: Path
) -> None:
    """No ledger to tell a fresh item from an earlier run's: two look-ups more, and a plain
    rerun stores nothing twice."""
    paths = tree(tmp_path, 6)
    async with client(emu) as cp:
        first = await cp.bulk.upload_files(paths)
        before = len(emu.requests)
        second = await cp.bulk.upload_files(paths)
    assert first.ok
    assert second.ok
    assert operations(emu, 0)["asset.list"] >= 6
    assert operations(emu, before) == {"asset.list": 6}  # found by reference: nothing else
    assert len(emu.state.main.assets) == 6


async def test_a_rerun_with_the_ledger_costs_no_request(
    emu: CincopaEmulator, tmp_path: Path
) -> None:
    paths = tree(tmp_path / "src", 20)
    async with client(emu) as cp:
        async with Ledger(tmp_path / "job.sqlite") as ledger:
            first = await cp.bulk.upload_files(paths, ledger=ledger)
        before = len(emu.requests)
        async with Ledger(tmp_path / "job.sqlite") as ledger:
            second = await cp.bulk.upload_files(paths, ledger=ledger)
    assert first.ok
    assert second.ok
    assert len(emu.requests) == before
    assert all(item.ok and item.reused for item in second)
    assert [item.value.rid for item in second if item.ok] == [
        item.value.rid for item in first if item.ok
    ]


async def test_a_started_item_is_reconciled_not_uploaded_again(
    emu: CincopaEmulator, tmp_path: Path
) -> None:
    """A crash after the upload but before the outcome was written: the ledger says started;
    the rerun finds the asset by its reference (or its untagged copy) and uploads nothing."""
    paths = tree(tmp_path / "src", 4)
    db = tmp_path / "job.sqlite"
    async with client(emu) as cp, Ledger(db) as ledger:
        await cp.bulk.upload_files(paths[:2], ledger=ledger)
    async with client(emu) as crashed_run:
        # the stored-but-untagged case: an upload whose set_meta never happened
        await crashed_run.upload_file(paths[2])
    async with client(emu) as cp:
        with sqlite3.connect(db) as conn:  # what the crashed run left: both started
            conn.execute("UPDATE items SET state = 'started'")
            conn.execute(
                "INSERT INTO items (key, state, attempts, created, updated)"
                " VALUES (?, 'started', 1, 0, 0)",
                (os.fspath(paths[2]),),
            )
        before = len(emu.requests)
        async with Ledger(db) as ledger:
            result = await cp.bulk.upload_files(paths[:3], ledger=ledger)
    assert result.ok
    assert operations(emu, before)["upload"] == 0
    assert len(emu.state.main.assets) == 3
    references = {a.reference_id for a in emu.state.main.assets.values()}
    assert references == {
        derived_reference(p.name, sha256(p.read_bytes()).digest()) for p in paths[:3]
    }


async def test_failed_items_are_retried_or_reported_as_the_caller_chooses(
    emu: CincopaEmulator, tmp_path: Path
) -> None:
    paths = tree(tmp_path / "src", 3)
    db = tmp_path / "job.sqlite"
    async with client(emu, max_retries=0) as cp:
        with emu.faults.add("server_error", operations="asset.get_upload_url", times=100):
            async with Ledger(db) as ledger:
                failed = await cp.bulk.upload_files(paths, ledger=ledger, item_attempts=1)
        assert not any(item.ok for item in failed)
        before = len(emu.requests)
        async with Ledger(db) as ledger:
            reported = await cp.bulk.upload_files(paths, ledger=ledger, retry_failed=False)
        assert len(emu.requests) == before  # reported from the ledger: nothing sent
        assert all(isinstance(item.error, LedgerFailedError) for item in reported)
        assert all(item.error.error_class == "ServerError" for item in reported if not item.ok)
        async with Ledger(db) as ledger:
            retried = await cp.bulk.upload_files(paths, ledger=ledger)
            counts = ledger.counts()
    assert retried.ok
    assert counts["done"] == 3
    assert len(emu.state.main.assets) == 3


async def test_a_changed_file_is_a_new_version(emu: CincopaEmulator, tmp_path: Path) -> None:
    path = tree(tmp_path / "src", 1)[0]
    db = tmp_path / "job.sqlite"
    async with client(emu) as cp:
        async with Ledger(db) as ledger:
            first = await cp.bulk.upload_files([path], ledger=ledger)
        path.write_bytes(b"new content" * 100)
        async with Ledger(db) as ledger:
            second = await cp.bulk.upload_files([path], ledger=ledger)
            record = await ledger.get(os.fspath(path))
    assert first[0].ok
    assert second[0].ok
    assert not second[0].reused
    old, new = first[0].value, second[0].value
    assert old.rid != new.rid
    assert emu.state.main.assets[new.rid].content == b"new content" * 100
    assert old.rid in emu.state.main.assets  # the old version stays
    assert record is not None
    assert record.rid == new.rid


async def test_the_ledger_exports_every_item(emu: CincopaEmulator, tmp_path: Path) -> None:
    paths = tree(tmp_path / "src", 3)
    async with client(emu) as cp, Ledger(tmp_path / "job.sqlite") as ledger:
        result = await cp.bulk.upload_files(paths, ledger=ledger)
        rows = io.StringIO()
        assert ledger.export(rows, format="csv") == 3
        lines = io.StringIO()
        assert ledger.export(lines, format="jsonl") == 3
    table = list(csv.DictReader(io.StringIO(rows.getvalue())))
    assert {row["key"] for row in table} == {os.fspath(p) for p in paths}
    assert {row["rid"] for row in table} == {item.value.rid for item in result if item.ok}
    assert all(row["state"] == "done" and row["attempts"] == "1" for row in table)
    records = [json.loads(line) for line in lines.getvalue().splitlines()]
    assert {record["key"] for record in records} == {os.fspath(p) for p in paths}


@pytest.mark.parametrize("kind", ["not sqlite", "another schema", "a directory"])
async def test_a_file_that_cannot_be_a_ledger_is_a_validation_error(
    emu: CincopaEmulator, tmp_path: Path, kind: str
) -> None:
    """Opened, or passed to a bulk run: a typed error naming the path, and nothing sent."""
    path = tmp_path / "job.sqlite"
    if kind == "not sqlite":
        path.write_bytes(b"these are someone's notes, not a database\n" * 100)
    elif kind == "another schema":
        async with Ledger(path):
            pass
        conn = sqlite3.connect(path, isolation_level=None)
        try:
            conn.execute("UPDATE meta SET value = '999' WHERE name = 'schema'")
        finally:
            conn.close()
    else:
        path.mkdir()
    with pytest.raises(CincopaValidationError, match="cannot be used as a ledger") as caught:
        async with Ledger(path):
            pass
    assert str(path) in str(caught.value)
    async with client(emu) as cp:
        with pytest.raises(CincopaValidationError):
            await cp.bulk.upload_files([("a.mp4", b"a" * 10)], ledger=path)
    assert emu.requests == []
    if kind == "not sqlite":
        with pytest.raises(CincopaValidationError):
            Ledger(path).export(io.StringIO())


async def test_sets_and_deletes_keep_a_ledger_too(emu: CincopaEmulator, tmp_path: Path) -> None:
    async with client(emu) as cp:
        uploaded = await cp.bulk.upload_files([(f"m{i}.bin", b"m" * (10 + i)) for i in range(3)])
        rids = [item.value.rid for item in uploaded if item.ok]
        updates = [{"rid": rid, "caption": f"c-{rid}"} for rid in rids]
        async with Ledger(tmp_path / "meta.sqlite") as ledger:
            assert (await cp.bulk.set_meta(updates, ledger=ledger)).ok
        before = len(emu.requests)
        async with Ledger(tmp_path / "meta.sqlite") as ledger:
            again = await cp.bulk.set_meta(updates, ledger=ledger)
            changed = await cp.bulk.set_meta([{"rid": rids[0], "caption": "other"}], ledger=ledger)
        assert again.ok
        assert operations(emu, before) == {"asset.set_meta": 1}  # only the changed update
        assert changed.ok
        async with Ledger(tmp_path / "delete.sqlite") as ledger:
            assert (await cp.bulk.delete(rids, ledger=ledger)).ok
    assert emu.state.main.assets == {}


# -- at-least-once: two executions of one item at the same moment --------------------------------


class _TagAfterBoth(httpx.AsyncBaseTransport):
    """The emulator's transport, holding each ``asset.set_meta`` until two have arrived."""

    def __init__(self, inner: httpx.AsyncBaseTransport, state: dict[str, Any]) -> None:
        self.inner = inner
        self.state = state

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/asset.set_meta.json"):
            self.state["tagging"] += 1
            if self.state["tagging"] == 2:
                self.state["both"].set()
            await self.state["both"].wait()
        return await self.inner.handle_async_request(request)


async def test_two_executions_storing_one_item_at_once_converge_to_one_asset(
    emu: CincopaEmulator, tmp_path: Path
) -> None:
    """As two Dask workers running the same task do: both upload before either tags (two
    clients: no lock shared); with converge, exactly one asset remains and both report it."""
    path = tree(tmp_path, 1)[0]
    state: dict[str, Any] = {"tagging": 0, "both": anyio.Event()}
    results: list[Any] = []

    async def execute() -> None:
        transport = _TagAfterBoth(emu.transport(), state)
        async with AsyncCincopa(
            emu.create_token(), base_url=emu.base_url, transport=transport
        ) as cp:
            results.append(await cp.bulk.upload_files([path], converge=True))

    async with anyio.create_task_group() as tg:
        tg.start_soon(execute)
        tg.start_soon(execute)
    assert state["tagging"] == 2  # the race did happen: two stored, both tagged
    assets = list(emu.state.main.assets.values())
    assert len(assets) == 1
    assert [result[0].value.rid for result in results] == [assets[0].rid] * 2
    assert assets[0].content == path.read_bytes()


async def test_converge_keeps_the_smallest_rid_whoever_decides(emu: CincopaEmulator) -> None:
    async with client(emu) as cp:
        a = await cp.upload_file(b"x" * 100, filename="x.bin", reference_id="same")
        b = await cp.upload_file(b"x" * 100, filename="x.bin", reference_id="same")
        survivor = await converge_on(cp, "same", [b, a])
        again = await converge_on(cp, "same", [a, b])  # the other one already deleted
    assert survivor.rid == again.rid == min(a.rid, b.rid)
    assert list(emu.state.main.assets) == [survivor.rid]


# -- memory ---------------------------------------------------------------------------------


async def test_retained_memory_does_not_grow_with_the_job(tmp_path: Path) -> None:
    """Streamed outcomes with a ledger: what stays allocated after a run of 20,000 items is no
    more than after one of 2,000, but for a few hundred bytes per item at most. (A mock
    transport answers: the emulator would keep a log of every request.)"""
    transport = httpx.MockTransport(lambda request: httpx.Response(200, json={"success": True}))

    async def retained(cp: AsyncCincopa, count: int, name: str) -> int:
        before = tracemalloc.get_traced_memory()[0]
        async with (
            Ledger(tmp_path / name) as ledger,
            cp.bulk.stream.set_meta(
                ({"rid": f"r{n}", "caption": "c"} for n in range(count)), ledger=ledger
            ) as outcomes,
        ):
            async for item in outcomes:
                assert item.ok
        return tracemalloc.get_traced_memory()[0] - before

    async with AsyncCincopa(TOKEN, transport=transport) as cp:
        tracemalloc.start()
        try:
            await retained(cp, 500, "warm.sqlite")
            small = await retained(cp, 2_000, "small.sqlite")
            large = await retained(cp, 20_000, "large.sqlite")
        finally:
            tracemalloc.stop()
    per_item = (large - small) / 18_000
    assert per_item < 300, f"{per_item:.0f} bytes retained per item"
