"""Regression tests of an adversarial review of the bulk engine and its ledger (rev-bulk).

Against the in-process emulator: what is stored (``emu.state.main.assets``), what was sent
(``emu.requests``) and what the ledger says afterwards. No test measures or waits for time.
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest

from cincopa_async import CincopaValidationError, Ledger, LedgerRecord
from cincopa_async.testing import CincopaEmulator

from ._hooks import HeldImports, ServerTime, hooked_client
from ._waits import wait_until
from .conftest import Sleeps, operations
from .conftest import sleepless_client as client

pytestmark = pytest.mark.anyio


@pytest.fixture
async def emu() -> AsyncIterator[CincopaEmulator]:
    async with CincopaEmulator(seed=47) as emulator:
        yield emulator


# -- a resumed delete: the item the ledger says was started may have been deleted already ------


async def test_resumed_delete_of_a_started_item_already_applied_is_confirmed_not_failed(
    emu: CincopaEmulator, tmp_path: Path
) -> None:
    """A run killed after its ``asset.delete`` was applied, before the outcome was committed,
    leaves the item ``started``. The rerun must confirm (``asset.list``) before sending the
    delete again: the asset is gone, so the item is done -- not a failure of a second delete
    answered "not found"."""
    path = tmp_path / "delete.sqlite"
    async with client(emu) as cp:
        asset = await cp.upload_file(b"bye" * 300, filename="a.mp4")
        async with Ledger(path) as ledger:
            await ledger.start([asset.rid])  # what the killed run committed
        await cp.asset.delete(rid=asset.rid)  # ... and what it sent before it died
        since = len(emu.requests)
        result = await cp.bulk.delete([asset.rid], ledger=path)
    assert result.ok, repr(result[0].error)
    assert operations(emu, since)["asset.delete"] == 0
    async with Ledger(path) as ledger:
        record = await ledger.get(asset.rid)
    assert record is not None
    assert record.state == "done"


# -- cancellation while outcomes are being committed ------------------------------------------


async def test_cancelling_a_run_while_its_outcomes_wait_to_be_committed_keeps_them(
    emu: CincopaEmulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Outcomes taken from memory for a commit that is cancelled before it runs must still be
    written (by the run's last, shielded flush): a cancelled run leaves every decided outcome
    in the ledger, not items left ``started`` that a rerun has to reconcile."""
    monkeypatch.setattr("cincopa_async._ledger._FLUSH_AFTER", 2)
    path = tmp_path / "meta.sqlite"
    second_sent, go = anyio.Event(), anyio.Event()
    sent = 0

    async def hold_second(request: httpx.Request, operation: str) -> None:
        nonlocal sent
        if operation == "asset.set_meta":
            sent += 1
            if sent == 2:
                second_sent.set()
                await go.wait()

    cp, transport = hooked_client(emu, Sleeps())
    async with cp:
        rids = [
            (await cp.upload_file(f"m{i}".encode() * 200, filename=f"m{i}.mp4")).rid
            for i in range(2)
        ]
        transport.before.append(hold_second)
        updates = [{"rid": rid, "caption": "new"} for rid in rids]
        async with Ledger(path) as ledger:
            async with anyio.create_task_group() as tg:

                async def run() -> None:
                    await cp.bulk.set_meta(updates, ledger=ledger, concurrency=1)

                tg.start_soon(run)
                await second_sent.wait()  # the first outcome is held in memory
                await ledger._lock.acquire()  # the ledger is busy (another job's commit, say)
                go.set()
                # the second outcome's flush has taken both outcomes and waits for the ledger
                await wait_until(lambda: ledger._lock.statistics().tasks_waiting == 1)
                tg.cancel_scope.cancel()
                ledger._lock.release()
            states = [record.state for record in ledger.records()]
    assert states == ["done", "done"]


# -- a run killed while its import runs: the job must already be in the ledger -----------------


async def test_a_run_killed_while_its_import_runs_left_the_job_in_the_ledger_for_the_rerun(
    emu: CincopaEmulator, tmp_path: Path
) -> None:
    """``asset.upload_from_url`` started a job; the process is killed while it polls. A rerun
    (a new process: a fresh client) on what the ledger had committed by then must follow that
    job -- still running, so no asset to find yet -- not start a second import of the URL."""
    url = emu.add_file("talk.mp4", b"T" * 4000)
    jobs = HeldImports(emu)  # the first run's job is still in progress when the rerun starts
    path, durable = tmp_path / "imports.sqlite", tmp_path / "after-the-kill.sqlite"
    killed, rerun_over = anyio.Event(), anyio.Event()

    async def kill_at_first_poll(request: httpx.Request, operation: str) -> None:
        if operation == "asset.upload_from_url_get_status" and not killed.is_set():
            # the client knows its job: what SIGKILL would leave is what is committed now
            with sqlite3.connect(path) as live, sqlite3.connect(durable) as copy:
                live.backup(copy)
            killed.set()
        if killed.is_set():  # a dead process sends nothing more
            await rerun_over.wait()
            raise httpx.ConnectError("the process is gone", request=request)

    first, first_transport = hooked_client(emu, ServerTime())
    first_transport.before.append(kill_at_first_poll)
    rerun_time = ServerTime()
    second, _ = hooked_client(emu, rerun_time)
    async with first, second, anyio.create_task_group() as tg:

        async def first_run() -> None:
            with contextlib.suppress(Exception):
                await first.bulk.import_urls([url], ledger=path, poll_interval=0.01)

        tg.start_soon(first_run)
        await killed.wait()
        rerun_time.imports = jobs  # the held job finishes while the rerun polls
        result = await second.bulk.import_urls([url], ledger=durable, poll_interval=0.01)
        rerun_over.set()
        tg.cancel_scope.cancel()
    assert result.ok, repr(result[0].error)
    assert operations(emu)["asset.upload_from_url"] == 1
    assert [a.rid for a in emu.state.main.assets.values() if a.content == b"T" * 4000] == [
        result[0].value.rid
    ]


# -- a ledger from another job: another account's done items are not in this account ----------


async def test_a_ledger_of_another_accounts_job_is_refused_not_taken_as_done(
    emu: CincopaEmulator, tmp_path: Path
) -> None:
    """A ledger records what one account holds. Given to a run on another account (a token of
    another account, ``--ledger`` pointing at another job's file), its done items would be
    reported done -- ``cincopa sync`` exiting 0, "every file is in the account" -- while that
    account holds none of them. The run refuses it before sending anything."""
    path = tmp_path / "job.sqlite"
    (tmp_path / "clip.mp4").write_bytes(b"C" * 900)
    with emu.state.lock:
        other = emu.state.new_account("other", None).uid
    async with client(emu) as cp:
        first = await cp.bulk.upload_files([tmp_path / "clip.mp4"], ledger=path)
    assert first.ok
    since = len(emu.requests)
    async with client(emu, api_token=emu.create_token(account=other)) as elsewhere:
        with pytest.raises(CincopaValidationError, match="another account"):
            await elsewhere.bulk.upload_files([tmp_path / "clip.mp4"], ledger=path)
        # the same account (another token of it) may go on with its job
    async with client(emu, api_token=emu.create_token()) as again:
        rerun = await again.bulk.upload_files([tmp_path / "clip.mp4"], ledger=path)
    assert rerun.ok
    assert rerun[0].reused
    assert len(emu.requests) == since
    assert not emu.state.accounts[other].assets


# -- a report read while a commit is under way ------------------------------------------------


async def test_counts_read_while_a_commit_is_under_way_keeps_the_outcomes_held(
    tmp_path: Path,
) -> None:
    """``counts()`` (say, from a progress callback) while the worker thread is inside one of
    the run's transactions must neither fail nor drop the outcomes held in memory: they are
    left for the run's next commit."""
    path = tmp_path / "report.sqlite"
    async with Ledger(path) as ledger:
        await ledger.start(["a", "b"])
        ledger.finish(LedgerRecord("a", "done", rid="r-a"))
        async with ledger._lock:  # what a commit in the worker thread holds, as it runs
            db = ledger._db
            assert db is not None
            db.execute("BEGIN IMMEDIATE")
            counts = ledger.counts()
            db.execute("ROLLBACK")
        assert counts["started"] + counts["done"] == 2
    async with Ledger(path) as ledger:
        assert {r.key: r.state for r in ledger.records()} == {"a": "done", "b": "started"}


def test_cincopa_sync_with_another_accounts_ledger_refuses_it_and_exits_non_zero(
    tmp_path: Path,
) -> None:
    """``cincopa sync --ledger`` given the ledger of another account's job: it must not exit 0
    ("every file is in the account") with nothing uploaded; it refuses the ledger, sends
    nothing to that account, and leaves the ledger as it was."""
    from .integrations._support import served_emulator
    from .integrations.test_sync_cli import Served, cincopa, library

    source, ledger, state_home = tmp_path / "library", tmp_path / "job.sqlite", tmp_path / "s"
    library(source)
    with served_emulator(seed=17) as (emu, base_url):
        first = cincopa(
            Served(emu, base_url, emu.create_token()),
            state_home,
            "sync",
            str(source),
            "--ledger",
            str(ledger),
        )
        assert first.code == 0, first.err
        with emu.state.lock:
            other = emu.state.new_account("other", None).uid
        rows = sqlite3.connect(ledger).execute("SELECT COUNT(*) FROM items").fetchone()
        elsewhere = cincopa(
            Served(emu, base_url, emu.create_token(account=other)),
            state_home,
            "sync",
            str(source),
            "--ledger",
            str(ledger),
        )
        assert elsewhere.code not in (0, 20), elsewhere.out
        assert "another account" in elsewhere.err
        assert not emu.state.accounts[other].assets
        assert sqlite3.connect(ledger).execute("SELECT COUNT(*) FROM items").fetchone() == rows


# -- two runs on one ledger at once --------------------------------------------------------------


@pytest.mark.parametrize("shared", ["one Ledger", "one path"])
async def test_a_second_run_on_a_ledger_in_use_is_refused_not_run_alongside(
    emu: CincopaEmulator, tmp_path: Path, shared: str
) -> None:
    """Two runs on one ledger at once (the job started twice, a retry while the first still
    runs) both saw the files unseen, and each stored every one: 2 assets per file. The second
    run is refused -- before it sends anything -- while the first holds the ledger."""
    paths = []
    for n in range(3):
        path = tmp_path / f"f{n}.mp4"
        path.write_bytes(bytes([65 + n]) * 600)
        paths.append(path)
    first_held, second_over = anyio.Event(), anyio.Event()

    async def hold_first(request: httpx.Request, operation: str) -> None:
        if operation == "asset.get_upload_url":
            first_held.set()  # the first run is under way, holding the ledger
            await second_over.wait()

    first, transport = hooked_client(emu, Sleeps())
    transport.before.append(hold_first)
    second = client(emu)
    ledger_path = tmp_path / "job.sqlite"
    async with first, second, Ledger(ledger_path) as ledger:
        book: Ledger | Path = ledger if shared == "one Ledger" else ledger_path
        outcome: dict[str, Any] = {}
        async with anyio.create_task_group() as tg:

            async def first_run() -> None:
                outcome["first"] = await first.bulk.upload_files(paths, ledger=ledger, new_job=True)

            tg.start_soon(first_run)
            await first_held.wait()
            since = len(emu.requests)
            try:
                with pytest.raises(CincopaValidationError, match="another run"):
                    await second.bulk.upload_files(paths, ledger=book, new_job=True)
                assert len(emu.requests) == since
            finally:
                second_over.set()
    assert outcome["first"].ok
    stored = Counter(a.content for a in emu.state.main.assets.values())
    assert sorted(stored.values()) == [1, 1, 1]


# -- the adaptive limit: an item queued for a slot when a 429 came waits out its hint too -------


async def test_an_item_queued_for_a_slot_waits_out_a_retry_after_that_came_meanwhile() -> None:
    """A 429 with ``Retry-After`` halves the limit and no item starts before the hint has
    passed -- an item already queued for a slot when it came included: it used to take the
    first slot freed and send at once, inside the window the server asked for."""
    from cincopa_async._bulk import AdaptiveLimit

    waits: list[float] = []

    async def sleep(delay: float) -> None:  # the client's wait, recorded (no time passes)
        waits.append(delay)

    limit = AdaptiveLimit(2, sleep)
    started: list[str] = []
    release = anyio.Event()

    async def item(name: str, hold: anyio.Event | None) -> None:
        async with limit:
            started.append(name)
            if hold is not None:
                await hold.wait()

    async with anyio.create_task_group() as tg:
        tg.start_soon(item, "first", release)
        tg.start_soon(item, "second", release)
        await wait_until(lambda: len(started) == 2)
        tg.start_soon(item, "queued", None)
        await wait_until(lambda: limit.limiter.statistics().tasks_waiting == 1)
        limit.overloaded(3600.0)  # the server: come back in an hour (the limit is now 1)
        release.set()  # both slots free: the queued item takes one
        await wait_until(lambda: "queued" in started)
    assert waits, "the queued item started without waiting out the Retry-After"
    assert waits[0] > 3000


async def test_a_run_lock_that_cannot_be_opened_is_the_ledgers_validation_error(
    tmp_path: Path,
) -> None:
    """The run lock beside the ledger that cannot be made (here: a directory in its place) is
    a ``CincopaValidationError`` naming the ledger, not a raw ``OSError`` out of the run."""
    from cincopa_async._ledger import run_lock_path

    path = tmp_path / "job.sqlite"
    run_lock_path(path).mkdir()
    async with Ledger(path) as ledger:
        with pytest.raises(CincopaValidationError, match="run lock"):
            await ledger.begin_run()
        assert not ledger._running


def test_cincopa_sync_on_dask_refuses_another_accounts_ledger_even_when_the_token_stays_here(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """To a cluster it cannot reach over TLS, ``cincopa sync --dask`` sends no token (the
    workers read their own), so ``sync_on_dask`` has none to check the ledger's owner with;
    the CLI, which knows the account, checks it before anything is registered or sent."""
    pytest.importorskip("distributed")
    import cincopa_async.dask
    from cincopa_async._bulk import ledger_owner
    from cincopa_async._ledger import Ledger
    from cincopa_async.cli import _app

    called: list[object] = []

    async def fake_sync_on_dask(*args: object, **options: object) -> None:
        called.append(options)

    monkeypatch.setattr(cincopa_async.dask, "sync_on_dask", fake_sync_on_dask)
    monkeypatch.setenv("CINCOPA_API_TOKEN", "1234567idasktokenabcdefghij")
    monkeypatch.setenv("CINCOPA_BASE_URL", "http://127.0.0.1:9/v2/")
    source = tmp_path / "library"
    source.mkdir()
    (source / "a.mp4").write_bytes(b"a")
    path = tmp_path / "other.sqlite"

    async def bind_to_another_account() -> None:
        async with Ledger(path) as ledger:
            await ledger.bind(ledger_owner("http://127.0.0.1:9/v2/", "7654321iothertokenabcdefgh"))

    anyio.run(bind_to_another_account)
    with pytest.raises(SystemExit) as exited:
        _app.main(["sync", str(source), "--dask", "tcp://192.0.2.1:8786", "--ledger", str(path)])
    assert exited.value.code not in (0, None)
    assert called == []
