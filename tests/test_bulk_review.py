"""Regression tests for adversarial review B of the bulk engine and uploads (/work/attacks-b).

Each test pins one finding the review's scripts demonstrated, against the in-process emulator:
what is stored (``emu.state.main.assets``), what was sent (``emu.requests``) and the error an
item gets. Nothing here waits for time to pass: the order of events is set with
``anyio.Event`` in request hooks (``tests/_hooks.py``), the emulator's import jobs are held
until a test lets them finish (``HeldImports``), and the client's retry and poll sleeps are
replaced (``ServerTime``); ``HANG_GUARD`` only turns a hang into a failure.
"""

from __future__ import annotations

import contextvars
import logging
import math
import os
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest

from cincopa_async import (
    AsyncCincopa,
    BulkProgress,
    CincopaError,
    CincopaValidationError,
    ImportOutcomeUnknownError,
    RateLimitError,
    ReferenceConflictError,
    UploadOutcomeUnknownError,
    UploadProgress,
    UploadSourceError,
)
from cincopa_async._bulk import SMALL_FILE
from cincopa_async.testing import CincopaEmulator

from ._hooks import HeldImports, ServerTime, event_or_quiet, hooked_client, quiet
from ._waits import HANG_GUARD, wait_until

pytestmark = pytest.mark.anyio


@pytest.fixture
async def emu() -> AsyncIterator[CincopaEmulator]:
    async with CincopaEmulator(seed=21) as emulator:
        yield emulator


@pytest.fixture
def server_time() -> ServerTime:
    return ServerTime()


def holding(emu: CincopaEmulator, content: bytes) -> list[Any]:
    """The stored assets whose bytes are ``content``."""
    return [a for a in emu.state.main.assets.values() if a.content == content]


def count(emu: CincopaEmulator, operation: str) -> int:
    return sum(1 for r in emu.requests if r.operation == operation)


def untagged(emu: CincopaEmulator) -> list[Any]:
    return [a for a in emu.state.main.assets.values() if not a.reference_id]


# -- attack_adopted_not_in_gallery: a reused or adopted asset joins the gallery ----------------


async def test_bulk_upload_to_a_gallery_puts_an_adopted_or_reused_asset_in_it(
    emu: CincopaEmulator, server_time: ServerTime
) -> None:
    data = b"V" * 2000
    earlier_run, _ = hooked_client(emu, server_time)
    async with earlier_run:
        orphan = await earlier_run.upload_file(data, filename="clip.mp4")  # adopted below
    cp, _ = hooked_client(emu, server_time)
    async with cp:
        adopting = (await cp.gallery.create(name="adopting")).fid
        reusing = (await cp.gallery.create(name="reusing")).fid
        adopted = await cp.bulk.upload_files([("clip.mp4", data)], gallery=adopting)
        reused = await cp.bulk.upload_files([("clip.mp4", data)], gallery=reusing)
    assert adopted.ok
    assert reused.ok
    assert adopted[0].value is not None
    assert reused[0].value is not None
    assert adopted[0].value.rid == reused[0].value.rid == orphan.rid
    galleries = emu.state.main.galleries
    assert galleries[adopting].items == [orphan.rid]
    assert galleries[reusing].items == [orphan.rid]
    assert len(emu.state.main.assets) == 1
    assert count(emu, "upload") == 1


async def test_bulk_import_to_a_gallery_puts_an_adopted_or_reused_asset_in_it(
    emu: CincopaEmulator, server_time: ServerTime
) -> None:
    url = emu.add_file("talk.mp4", b"I" * 3000)
    cp, _ = hooked_client(emu, server_time)
    async with cp:
        adopting = (await cp.gallery.create(name="adopting")).fid
        reusing = (await cp.gallery.create(name="reusing")).fid
        orphan = await cp.import_url(url, poll_interval=0.01)  # untagged: adopted below
        adopted = await cp.bulk.import_urls([url], gallery=adopting, poll_interval=0.01)
        reused = await cp.bulk.import_urls([url], gallery=reusing, poll_interval=0.01)
    assert adopted.ok
    assert reused.ok
    assert adopted[0].value is not None
    assert reused[0].value is not None
    assert adopted[0].value.rid == reused[0].value.rid == orphan.rid
    galleries = emu.state.main.galleries
    assert galleries[adopting].items == [orphan.rid]
    assert galleries[reusing].items == [orphan.rid]
    assert count(emu, "asset.upload_from_url") == 1


# -- attack_delete_numeric_id: a delete by numeric id is never reported done while it exists --


async def test_bulk_delete_by_numeric_id_after_a_dropped_delete_deletes_it(
    emu: CincopaEmulator, server_time: ServerTime
) -> None:
    cp, _ = hooked_client(emu, server_time, max_retries=0)
    async with cp:
        asset = await cp.upload_file(b"keep?" * 100, filename="a.mp4")
        numeric = emu.state.main.assets[asset.rid].id
        assert numeric != asset.rid
        emu.faults.add("drop_before", operations="asset.delete", times=1)
        result = await cp.bulk.delete([numeric])
    assert result.ok, repr(result[0].error)
    assert asset.rid not in emu.state.main.assets
    assert count(emu, "asset.delete") == 2  # the dropped one, and the one that deleted it


@pytest.mark.parametrize("fault", ["drop_after", "malformed_body", "truncated_body", "wrong_shape"])
async def test_bulk_delete_applied_under_a_garbled_reply_is_sent_once_and_reported_done(
    emu: CincopaEmulator, server_time: ServerTime, fault: str
) -> None:
    cp, _ = hooked_client(emu, server_time)
    async with cp:
        asset = await cp.upload_file(b"gone" * 100, filename="a.mp4")
        emu.faults.add(fault, operations="asset.delete", times=1)  # applied, then garbled
        result = await cp.bulk.delete([asset.rid])
    assert result.ok, repr(result[0].error)
    assert asset.rid not in emu.state.main.assets
    assert count(emu, "asset.delete") == 1


async def test_bulk_delete_not_applied_under_a_server_error_is_confirmed_and_sent_again(
    emu: CincopaEmulator, server_time: ServerTime
) -> None:
    cp, _ = hooked_client(emu, server_time)
    async with cp:
        asset = await cp.upload_file(b"kept" * 100, filename="a.mp4")
        emu.faults.add("server_error", operations="asset.delete", times=1)  # not applied
        result = await cp.bulk.delete([asset.rid])
    assert result.ok, repr(result[0].error)
    assert asset.rid not in emu.state.main.assets
    assert count(emu, "asset.delete") == 2  # the refused one, and the one that deleted it


async def test_bulk_delete_applied_on_its_second_send_is_not_sent_a_third_time(
    emu: CincopaEmulator, server_time: ServerTime
) -> None:
    """A 503 (not applied), the asset confirmed still there, the second delete applied with a
    garbled reply: confirmed gone, reported done -- never a blind third send answered "not
    found" (the confirmation covers every send, and a later attempt of the item too)."""
    cp, _ = hooked_client(emu, server_time, max_retries=0)
    async with cp:
        asset = await cp.upload_file(b"twice" * 100, filename="a.mp4")
        emu.faults.add("server_error", operations="asset.delete", times=1)
        emu.faults.add("truncated_body", operations="asset.delete", times=1)
        result = await cp.bulk.delete([asset.rid])
    assert result.ok, repr(result[0].error)
    assert asset.rid not in emu.state.main.assets
    assert count(emu, "asset.delete") == 2


# -- attack_file_changes_mid_run: a file rewritten after it was hashed is never mislabelled ---


async def test_a_large_file_rewritten_between_hashing_and_posting_leaves_no_mislabelled_asset(
    emu: CincopaEmulator, server_time: ServerTime, tmp_path: Path
) -> None:
    """A file over ``SMALL_FILE`` is streamed from disk after it was hashed: a save in between
    fails the item (its reference would name bytes it does not hold), and a rerun uploads the
    new version under the new version's reference."""
    size = SMALL_FILE + 4000
    path = tmp_path / "report.mp4"
    path.write_bytes(b"1" * size)
    first_posted = anyio.Event()
    cp, transport = hooked_client(emu, server_time)

    async def rewrite(request: httpx.Request, operation: str) -> None:
        if operation == "upload" and not first_posted.is_set():
            first_posted.set()
            before = path.stat().st_mtime_ns
            path.write_bytes(b"2" * size)  # the editor saved again: same size, other bytes
            # a later save: its modification time differs even on a coarse-clock filesystem
            os.utime(path, ns=(before + 10**9, before + 10**9))

    transport.before.append(rewrite)
    async with cp:
        first = await cp.bulk.upload_files([path])
        assert isinstance(first[0].error, UploadSourceError), repr(first[0].error)
        assert emu.state.main.assets == {}  # the copy of neither version was deleted
        rerun = await cp.bulk.upload_files([path])
        expected = await cp.bulk.upload_files([("report.mp4", b"2" * size)])  # its reference
    assert rerun.ok, repr(rerun[0].error)
    [asset] = emu.state.main.assets.values()
    assert asset.content == b"2" * size
    assert rerun[0].value is not None
    assert expected[0].value is not None
    assert asset.rid == rerun[0].value.rid == expected[0].value.rid
    assert asset.reference_id == rerun[0].value.reference_id


async def test_a_small_file_rewritten_after_it_was_read_is_stored_as_read(
    emu: CincopaEmulator, server_time: ServerTime, tmp_path: Path
) -> None:
    """A file of at most ``SMALL_FILE`` bytes is read and hashed in one step and uploaded from
    those bytes: a save while it is being posted changes nothing that was labelled -- the asset
    holds the version that was read, under that version's reference; a rerun uploads the new
    version as a new asset."""
    path = tmp_path / "report.mp4"
    path.write_bytes(b"1" * 4000)
    first_posted = anyio.Event()
    cp, transport = hooked_client(emu, server_time)

    async def rewrite(request: httpx.Request, operation: str) -> None:
        if operation == "upload" and not first_posted.is_set():
            first_posted.set()
            before = path.stat().st_mtime_ns
            path.write_bytes(b"2" * 4000)
            os.utime(path, ns=(before + 10**9, before + 10**9))

    transport.before.append(rewrite)
    async with cp:
        first = await cp.bulk.upload_files([path])
        old = await cp.bulk.upload_files([("report.mp4", b"1" * 4000)])
        rerun = await cp.bulk.upload_files([path])
        new = await cp.bulk.upload_files([("report.mp4", b"2" * 4000)])
    assert first.ok
    assert old.ok
    assert rerun.ok
    assert new.ok
    by_content = {a.content: a for a in emu.state.main.assets.values()}
    assert sorted(by_content) == [b"1" * 4000, b"2" * 4000]
    assert len(emu.state.main.assets) == 2
    for result, content in ((first, b"1"), (old, b"1"), (rerun, b"2"), (new, b"2")):
        value = result[0].value
        assert value is not None
        asset = by_content[content * 4000]
        assert (value.rid, value.reference_id) == (asset.rid, asset.reference_id)


# -- attack_import_cancel_rerun_duplicate: a cancelled import is not imported again ------------


async def test_an_import_cancelled_while_its_reply_is_in_flight_is_not_imported_again(
    emu: CincopaEmulator, server_time: ServerTime
) -> None:
    """Variant A: the server started the job, the caller gave up before the reply came (no
    status_id was read, so nothing could abort it); a rerun while the job still runs waits
    for its asset instead of starting a second import."""
    jobs = HeldImports(emu)
    data = b"T" * 5000
    url = emu.add_file("talk.mp4", data)
    reply_on_its_way = anyio.Event()
    cp, transport = hooked_client(emu, server_time)

    async def slow_reply(
        request: httpx.Request, operation: str, response: httpx.Response
    ) -> httpx.Response | None:
        if operation == "asset.upload_from_url" and not reply_on_its_way.is_set():
            reply_on_its_way.set()
            await anyio.sleep_forever()  # the reply never arrives: the caller gives up first
        return None

    transport.after.append(slow_reply)
    async with cp:
        with anyio.fail_after(HANG_GUARD):
            async with anyio.create_task_group() as group:
                group.start_soon(lambda: cp.bulk.import_urls([url], poll_interval=0.01))
                await reply_on_its_way.wait()
                group.cancel_scope.cancel()  # the user's Ctrl-C
            assert [job.status for job in jobs.in_progress()] == ["inprogress"]
            server_time.imports = jobs  # from now on, the job finishes while the client waits
            rerun = await cp.bulk.import_urls([url], poll_interval=0.01)
            await jobs.finish()
    assert rerun.ok, repr(rerun[0].error)
    assert len(holding(emu, data)) == 1
    assert count(emu, "asset.upload_from_url") == 1
    assert untagged(emu) == []


async def test_an_import_cancelled_while_polling_with_its_abort_failing_is_followed(
    emu: CincopaEmulator, server_time: ServerTime
) -> None:
    """Variant B: cancelled while polling, and the abort never reaches the server: the job runs
    on, and a rerun follows it rather than importing the URL a second time."""
    jobs = HeldImports(emu)
    data = b"T" * 5000
    url = emu.add_file("talk.mp4", data)
    polling = anyio.Event()
    cp, transport = hooked_client(emu, server_time, max_retries=0)

    async def hooks(request: httpx.Request, operation: str) -> None:
        if operation == "asset.upload_from_url_get_status" and not polling.is_set():
            polling.set()
            await anyio.sleep_forever()  # cancelled while this poll is out
        if operation == "asset.upload_from_url_abort":
            raise httpx.ConnectError("connection refused", request=request)

    transport.before.append(hooks)
    async with cp:
        with anyio.fail_after(HANG_GUARD):
            async with anyio.create_task_group() as group:
                group.start_soon(lambda: cp.bulk.import_urls([url], poll_interval=0.01))
                await polling.wait()
                group.cancel_scope.cancel()
            assert [job.status for job in jobs.in_progress()] == ["inprogress"]
            server_time.imports = jobs
            rerun = await cp.bulk.import_urls([url], poll_interval=0.01)
            await jobs.finish()
    assert rerun.ok, repr(rerun[0].error)
    assert len(holding(emu, data)) == 1
    assert count(emu, "asset.upload_from_url") == 1
    assert count(emu, "asset.upload_from_url_abort") == 0  # it never reached the server
    assert untagged(emu) == []


# -- attack_cancel_sweep (made deterministic): the orphan of one of two same-named URLs -------


async def test_a_rerun_adopts_an_imports_orphan_while_a_same_named_import_is_in_flight(
    emu: CincopaEmulator, server_time: ServerTime
) -> None:
    """Two URLs ending in the same file name, other bytes. An earlier import of the first left
    its asset untagged (tagging failed). A rerun of both: the first reconciles while the
    second's import is in flight -- it adopts its orphan, imports nothing again."""
    x_data, y_data = b"x" * 700, b"y" * 700
    x = emu.add_file("x/v.mp4", x_data)
    y = emu.add_file("y/v.mp4", y_data)
    references = {x: "ref-x", y: "ref-y"}
    cp, transport = hooked_client(emu, server_time, max_retries=0)
    async with cp:
        with emu.faults.add("drop_before", operations="asset.set_meta", times=1):
            first = await cp.bulk.import_urls([x], reference_ids=references, poll_interval=0.01)
        assert not first.ok
        [orphan] = untagged(emu)
        assert orphan.content == x_data

        y_in_flight = anyio.Event()

        async def choreography(request: httpx.Request, operation: str) -> None:
            if operation == "asset.upload_from_url" and request.url.params["input"] == y:
                y_in_flight.set()
            if operation == "asset.list" and request.url.params.get("reference_id") == "ref-x":
                await y_in_flight.wait()  # x reconciles only once y's import started

        transport.before.append(choreography)
        with anyio.fail_after(HANG_GUARD):
            rerun = await cp.bulk.import_urls(
                [x, y], reference_ids=references, poll_interval=0.01, concurrency=2
            )
    assert rerun.ok, [repr(item.error) for item in rerun.failed]
    assert [(a.rid, a.reference_id) for a in holding(emu, x_data)] == [(orphan.rid, "ref-x")]
    assert [a.reference_id for a in holding(emu, y_data)] == ["ref-y"]
    assert untagged(emu) == []
    assert count(emu, "asset.upload_from_url") == 2  # x once (run 1), y once


# -- attack_import_late_job_duplicate: a job that outlives the wait is followed on the rerun --


async def test_a_lost_import_reply_whose_job_outlives_the_wait_is_not_imported_again(
    emu: CincopaEmulator, server_time: ServerTime
) -> None:
    jobs = HeldImports(emu)  # the job runs on past the first run's wait
    data = b"L" * 5000
    url = emu.add_file("talk.mp4", data)
    cp, _ = hooked_client(emu, server_time)
    async with cp:
        with emu.faults.add("drop_after", operations="asset.upload_from_url", times=1):
            first = await cp.bulk.import_urls([url], poll_interval=0.01, timeout=0.05)
        assert isinstance(first[0].error, ImportOutcomeUnknownError), repr(first[0].error)
        assert len(jobs.in_progress()) == 1
        server_time.imports = jobs  # the rerun's waits let the job finish
        with anyio.fail_after(HANG_GUARD):
            rerun = await cp.bulk.import_urls([url], poll_interval=0.01)
            await jobs.finish()
    assert rerun.ok, repr(rerun[0].error)
    assert len(holding(emu, data)) == 1
    assert count(emu, "asset.upload_from_url") == 1
    assert untagged(emu) == []


# -- attack_import_mutual_wait: two lost replies of one name do not wait for each other -------


async def test_two_lost_import_replies_of_one_name_each_find_their_asset(
    emu: CincopaEmulator, server_time: ServerTime
) -> None:
    jobs = HeldImports(emu)
    server_time.imports = jobs  # each job finishes once its import waits for it
    x_data, y_data = b"X" * 3000, b"Y" * 3000
    x = emu.add_file("x/video.mp4", x_data)
    y = emu.add_file("y/video.mp4", y_data)
    cp, _ = hooked_client(emu, server_time)
    async with cp:
        emu.faults.add("drop_after", operations="asset.upload_from_url", times=2)
        with anyio.fail_after(HANG_GUARD):
            result = await cp.bulk.import_urls([x, y], poll_interval=0.01, timeout=5)
    assert result.ok, [repr(item.error) for item in result.failed]
    assert [item.value.rid for item in result if item.ok] == [
        holding(emu, x_data)[0].rid,
        holding(emu, y_data)[0].rid,
    ]
    assert len(emu.state.main.assets) == 2
    assert untagged(emu) == []
    assert count(emu, "asset.upload_from_url") == 2


# -- attack_import_orphan_steal: a same-bytes mirror never takes an import's fresh asset -------


async def test_an_import_never_adopts_the_fresh_asset_of_another_import_in_flight(
    emu: CincopaEmulator, server_time: ServerTime
) -> None:
    """Two mirrors (same name, same bytes) imported by two runs of one client. A's job is done
    but A has not polled it yet when B reconciles: B must not adopt A's asset (A then tags it
    with A's reference, and B's reference is lost); each run ends with its own asset."""
    jobs = HeldImports(emu)
    data = b"M" * 4000
    a = emu.add_file("a/video.mp4", data)
    b = emu.add_file("b/video.mp4", data)
    references = {a: "ref-a", b: "ref-b"}
    a_polls, b_started = anyio.Event(), anyio.Event()
    cp, transport = hooked_client(emu, server_time)

    async def hold_a_first_poll(request: httpx.Request, operation: str) -> None:
        if operation == "asset.upload_from_url_get_status" and not a_polls.is_set():
            a_polls.set()
            await jobs.finish()  # A's asset exists, untagged; A does not know it yet
            await b_started.wait()
            await quiet()  # B has done all it can before A polls

    transport.before.append(hold_a_first_poll)
    results: dict[str, Any] = {}
    async with cp:
        with anyio.fail_after(HANG_GUARD):
            async with anyio.create_task_group() as group:

                async def run_a() -> None:
                    results["a"] = await cp.bulk.import_urls(
                        [a], reference_ids=references, poll_interval=0.01
                    )

                group.start_soon(run_a)
                await a_polls.wait()
                b_started.set()
                results["b"] = await cp.bulk.import_urls(
                    [b], reference_ids=references, poll_interval=0.01
                )
    assert results["a"].ok, repr(results["a"][0].error)
    assert results["b"].ok, repr(results["b"][0].error)
    rid_a, rid_b = results["a"][0].value.rid, results["b"][0].value.rid
    assert rid_a != rid_b
    assets = emu.state.main.assets
    assert assets[rid_a].reference_id == "ref-a"
    assert assets[rid_b].reference_id == "ref-b"
    assert len(assets) == 2


# -- attack_import_poll_failure_aborts: only a timeout or a cancellation aborts a job ----------


@pytest.mark.parametrize(
    ("kind", "options"),
    [
        ("rate_limit", {"retry_after": 3600, "times": 1}),
        ("server_error", {"times": 3}),
        ("drop_before", {"times": 3}),
        ("wrong_shape", {"times": 1}),
        ("truncated_body", {"times": 1}),
    ],
)
async def test_a_poll_that_fails_for_a_while_does_not_abort_a_job_that_would_succeed(
    emu: CincopaEmulator, server_time: ServerTime, kind: str, options: dict[str, Any]
) -> None:
    jobs = HeldImports(emu)  # in progress while its polls fail
    data = b"P" * 3000
    url = emu.add_file("talk.mp4", data)
    fault = emu.faults.add(kind, operations="asset.upload_from_url_get_status", **options)
    cp, transport = hooked_client(emu, server_time)

    async def finish_once_the_faults_are_spent(request: httpx.Request, operation: str) -> None:
        if operation == "asset.upload_from_url_get_status" and fault.hits == fault.times:
            await jobs.finish()

    transport.before.append(finish_once_the_faults_are_spent)
    async with cp:
        with anyio.fail_after(HANG_GUARD):
            asset = await cp.import_url(url, poll_interval=0.01, timeout=60)
    assert [job.status for job in emu.state.main.imports.values()] == ["done"]
    assert count(emu, "asset.upload_from_url_abort") == 0
    assert [a.rid for a in holding(emu, data)] == [asset.rid]
    assert sum(1 for r in emu.requests if r.fault is not None) == options["times"]


# -- attack_max_proofs_duplicate: more untagged look-alikes than proofs store no duplicate -----


async def test_more_untagged_lookalikes_than_proofs_are_never_stored_twice(
    emu: CincopaEmulator, server_time: ServerTime, tmp_path: Path
) -> None:
    """Four camera frames (one name, one size, other bytes) whose tagging fails once each: each
    leaves an orphan, more than the look-up proves at once (MAX_PROOFS). None is uploaded a
    second time; a rerun ends with one tagged asset per frame."""
    paths = []
    for folder in "abcd":
        path = tmp_path / folder / "frame.raw"
        path.parent.mkdir()
        path.write_bytes(folder.encode() * 4096)
        paths.append(path)
    emu.faults.add("drop_before", operations="asset.set_meta", times=4)
    cp, _ = hooked_client(emu, server_time, max_retries=0)
    async with cp:
        await cp.bulk.upload_files(paths)
        rerun = await cp.bulk.upload_files(paths)
    assert rerun.ok, [repr(item.error) for item in rerun.failed]
    assets = emu.state.main.assets
    assert Counter(a.content for a in assets.values()) == Counter(p.read_bytes() for p in paths)
    assert untagged(emu) == []
    for path, item in zip(paths, rerun, strict=True):
        assert item.value is not None
        assert assets[item.value.rid].content == path.read_bytes()
    assert count(emu, "upload") == 4


# -- attack_search_page_duplicate: the look-up reads past the first page; names with '=' -------


@pytest.mark.parametrize(
    ("name", "newer_matches"),
    [("clip.mp4", 100), ("caption=x.mp4", 0), ("tag=summer.mp4", 0)],
    ids=["beyond-the-first-page", "caption=", "tag="],
)
async def test_an_orphan_is_found_wherever_the_search_puts_it(
    emu: CincopaEmulator, server_time: ServerTime, name: str, newer_matches: int
) -> None:
    """An orphan (its tagging failed) is adopted by the rerun: also behind 100 newer search
    hits ('clip.mp4' matches 'myclip.mp4'), and for a name the search would read as a field
    filter."""
    target = (name, b"T" * 3000)
    cp, _ = hooked_client(emu, server_time, max_retries=0)
    async with cp:
        with emu.faults.add("drop_before", operations="asset.set_meta"):
            first = await cp.bulk.upload_files([target])
        assert not first.ok
        [orphan] = untagged(emu)
        others = [(f"my{name}", bytes([i]) * (100 + i)) for i in range(newer_matches)]
        assert (await cp.bulk.upload_files(others)).ok
        posts = count(emu, "upload")
        rerun = await cp.bulk.upload_files([target])
    assert rerun.ok, repr(rerun[0].error)
    assert rerun[0].value is not None
    assert rerun[0].value.rid == orphan.rid
    assert [a.rid for a in holding(emu, target[1])] == [orphan.rid]
    assert count(emu, "upload") == posts
    assert untagged(emu) == []


# -- attack_shared_reference_different_files: one reference, two files ------------------------


async def test_one_reference_for_two_files_of_other_sizes_is_a_conflict_not_a_reuse(
    emu: CincopaEmulator, server_time: ServerTime
) -> None:
    one = ("intro.mp4", b"first file" * 100)
    two = ("outro.mp4", b"second file" * 100)
    cp, _ = hooked_client(emu, server_time)
    async with cp:
        result = await cp.bulk.upload_files(
            [one, two], reference_ids={one: "cms-42", two: "cms-42"}
        )
    [stored] = result.succeeded
    [conflict] = result.failed
    assert stored.value is not None
    assert emu.state.main.assets[stored.value.rid].content == stored.input[1]
    assert isinstance(conflict.error, ReferenceConflictError), repr(conflict.error)
    assert conflict.error.asset.rid == stored.value.rid
    assert len(emu.state.main.assets) == 1
    assert count(emu, "upload") == 1  # nothing of the conflicting file was sent


async def test_one_reference_for_two_files_of_one_size_is_reused_and_says_so(
    emu: CincopaEmulator, server_time: ServerTime
) -> None:
    """A caller's reference_id is trusted to name its item: an asset already tagged with it and
    of the file's size is reused without comparing bytes (that would download it). The default,
    content-derived reference is what tells bytes apart."""
    one = ("intro.mp4", b"1" * 1000)
    two = ("outro.mp4", b"2" * 1000)
    cp, _ = hooked_client(emu, server_time)
    async with cp:
        result = await cp.bulk.upload_files(
            [one, two], reference_ids={one: "cms-42", two: "cms-42"}
        )
        derived = await cp.bulk.upload_files([one, two])
    assert result.ok
    assert result[0].value is not None
    assert result[1].value is not None
    assert result[0].value.rid == result[1].value.rid
    assert derived.ok
    stored = {a.content for a in emu.state.main.assets.values() if a.reference_id != "cms-42"}
    assert stored == {one[1], two[1]}
    assert count(emu, "upload") == 3


# -- attack_lost_reply_name_mismatch: a lost reply finds names the host stores otherwise ------

AWKWARD_NAMES = ["clip.mp4 ", " clip.mp4", "tag=summer.mp4", "caption=x.mp4", "plain.mp4"]


@pytest.mark.parametrize("name", AWKWARD_NAMES)
@pytest.mark.parametrize("api", ["upload_file", "bulk"])
async def test_a_lost_upload_reply_finds_the_file_whatever_its_name(
    emu: CincopaEmulator, server_time: ServerTime, name: str, api: str
) -> None:
    data = b"D" * 1000
    emu.faults.add("drop_after", operations="upload", times=1)
    cp, _ = hooked_client(emu, server_time)
    async with cp:
        if api == "upload_file":
            asset = await cp.upload_file(data, filename=name)
        else:
            result = await cp.bulk.upload_files([(name, data)])
            assert result.ok, repr(result[0].error)
            assert result[0].value is not None
            asset = result[0].value
    assert [a.rid for a in holding(emu, data)] == [asset.rid]
    assert count(emu, "upload") == 1


# -- attack_lost_reply_unprovable: a lost reply whose asset cannot be proven ------------------


async def _upload_once(cp: AsyncCincopa, api: str, data: bytes) -> Any:
    """The asset (upload_file) or the item (bulk) of one upload of ``data`` as clip.mp4."""
    if api == "upload_file":
        return await cp.upload_file(data, filename="clip.mp4")
    return (await cp.bulk.upload_files([("clip.mp4", data)]))[0]


@pytest.mark.parametrize("api", ["upload_file", "bulk"])
@pytest.mark.parametrize(
    "original",
    ["not downloadable yet", "a placeholder"],
)
async def test_a_lost_upload_reply_that_cannot_be_proven_is_an_unknown_outcome(
    emu: CincopaEmulator, server_time: ServerTime, api: str, original: str
) -> None:
    """The completing POST was applied, its reply lost, and the asset's original cannot be read
    back to prove it (404 while it is processed, or a 200 'processing' page): the outcome is
    unknown, and the file is not posted a second time."""
    data = b"Q" * 3000
    cp, transport = hooked_client(emu, server_time)

    async def unprovable(
        request: httpx.Request, operation: str, response: httpx.Response
    ) -> httpx.Response | None:
        if operation != "media":
            return None
        if original == "not downloadable yet":
            return httpx.Response(404, text="not found")
        return httpx.Response(200, text="processing, try later")

    transport.after.append(unprovable)
    emu.faults.add("drop_after", operations="upload", times=1)
    async with cp:
        if api == "upload_file":
            with pytest.raises(UploadOutcomeUnknownError):
                await _upload_once(cp, api, data)
        else:
            item = await _upload_once(cp, api, data)
            assert isinstance(item.error, UploadOutcomeUnknownError), repr(item.error)
    assert len(holding(emu, data)) == 1
    assert count(emu, "upload") == 1


@pytest.mark.parametrize("api", ["upload_file", "bulk"])
async def test_a_lost_upload_reply_is_proven_on_a_server_clock_minutes_behind(
    emu: CincopaEmulator, server_time: ServerTime, api: str
) -> None:
    data = b"Q" * 3000
    emu.advance_clock(-180)  # the server's clock runs 3 minutes behind ours
    emu.faults.add("drop_after", operations="upload", times=1)
    cp, _ = hooked_client(emu, server_time)
    async with cp:
        outcome = await _upload_once(cp, api, data)
    asset = outcome if api == "upload_file" else outcome.value
    assert asset is not None, repr(outcome.error)
    assert [a.rid for a in holding(emu, data)] == [asset.rid]
    assert count(emu, "upload") == 1


# -- attack_direct_upload_race: cp.upload_file and a bulk item of the same file ---------------

WHO: contextvars.ContextVar[str] = contextvars.ContextVar("who", default="")
SAME = b"S" * 5000


def _searching(request: httpx.Request, operation: str) -> bool:
    return operation == "asset.list" and "search" in request.url.params


async def test_a_direct_upload_during_a_bulk_item_of_the_same_file_keeps_its_own_asset(
    emu: CincopaEmulator, server_time: ServerTime
) -> None:
    """The bulk item has looked for orphans (none) when ``cp.upload_file`` of the same name,
    size and bytes starts, and the direct upload's completing reply is lost. The hooks ask for
    the worst order -- the direct POST lands, then the bulk's, then the direct look-up, then
    the bulk's tagging -- where the SDK allows it; where it keeps one upload waiting for the
    other (``event_or_quiet``), they let the other go on. Either way each caller holds its own
    asset, and no asset is left that nobody returned."""
    bulk_checked, direct_posted, bulk_posted, direct_done = (anyio.Event() for _ in range(4))
    cp, transport = hooked_client(emu, server_time)

    async def before(request: httpx.Request, operation: str) -> None:
        who = WHO.get()
        if who == "bulk" and operation == "upload":
            await event_or_quiet(direct_posted)
        if who == "direct" and _searching(request, operation):
            direct_posted.set()  # its POST was applied (the reply lost): it looks for it
            await event_or_quiet(bulk_posted)
        if who == "bulk" and operation == "asset.set_meta":
            await event_or_quiet(direct_done)

    async def after(
        request: httpx.Request, operation: str, response: httpx.Response
    ) -> httpx.Response | None:
        who = WHO.get()
        if who == "bulk" and _searching(request, operation):
            bulk_checked.set()
        if who == "bulk" and operation == "upload":
            bulk_posted.set()
        if who == "direct" and operation == "upload":
            raise httpx.RemoteProtocolError("Server disconnected", request=request)
        return None

    transport.before.append(before)
    transport.after.append(after)
    out: dict[str, Any] = {}

    async def direct() -> None:
        WHO.set("direct")
        out["direct"] = await cp.upload_file(SAME, filename="clip.mp4")
        direct_done.set()

    async def bulk() -> None:
        WHO.set("bulk")
        out["bulk"] = await cp.bulk.upload_files([("clip.mp4", SAME)])

    async with cp:
        with anyio.fail_after(HANG_GUARD):
            async with anyio.create_task_group() as group:
                group.start_soon(bulk)
                await bulk_checked.wait()
                group.start_soon(direct)
    assert out["bulk"].ok, repr(out["bulk"][0].error)
    mine, theirs = out["direct"].rid, out["bulk"][0].value.rid
    assert mine != theirs
    assets = emu.state.main.assets
    assert set(assets) == {mine, theirs}
    assert assets[mine].reference_id == ""
    assert assets[theirs].reference_id == out["bulk"][0].value.reference_id != ""
    assert assets[mine].content == assets[theirs].content == SAME
    assert count(emu, "upload") == 2


async def test_a_bulk_item_during_a_direct_upload_of_the_same_file_keeps_its_own_asset(
    emu: CincopaEmulator, server_time: ServerTime
) -> None:
    direct_started = anyio.Event()
    cp, transport = hooked_client(emu, server_time)

    async def before(request: httpx.Request, operation: str) -> None:
        if WHO.get() == "direct":
            direct_started.set()

    transport.before.append(before)
    out: dict[str, Any] = {}

    async def direct() -> None:
        WHO.set("direct")
        out["direct"] = await cp.upload_file(SAME, filename="clip.mp4")

    async with cp:
        with anyio.fail_after(HANG_GUARD):
            async with anyio.create_task_group() as group:
                group.start_soon(direct)
                await direct_started.wait()  # the direct upload is in flight
                out["bulk"] = await cp.bulk.upload_files([("clip.mp4", SAME)])
    assert out["bulk"].ok, repr(out["bulk"][0].error)
    assert out["direct"].rid != out["bulk"][0].value.rid
    assert len(emu.state.main.assets) == 2


async def test_a_lost_upload_reply_never_takes_the_asset_an_earlier_upload_returned(
    emu: CincopaEmulator, server_time: ServerTime
) -> None:
    """Two ``cp.upload_file`` calls of one name, size and bytes: the second's POST is dropped
    before it was applied, so the look-up after it finds only the first caller's asset. That
    asset is the first caller's: the second posts again and gets its own."""
    cp, _ = hooked_client(emu, server_time)
    async with cp:
        first = await cp.upload_file(SAME, filename="clip.mp4")
        emu.faults.add("drop_before", operations="upload", times=1)
        second = await cp.upload_file(SAME, filename="clip.mp4")
    assert first.rid != second.rid
    assert set(emu.state.main.assets) == {first.rid, second.rid}


# -- attack_retry_after_overflow: a Retry-After date past the calendar is a RateLimitError ----

OVERFLOWING_DATE = "Fri, 31 Dec 99999999999999999999 23:59:59 GMT"


async def test_a_retry_after_date_past_the_calendar_is_a_rate_limit_error(
    emu: CincopaEmulator, server_time: ServerTime
) -> None:
    cp, _ = hooked_client(emu, server_time)
    async with cp:
        with (
            emu.faults.add("rate_limit", operations="ping", times=1, retry_after=OVERFLOWING_DATE),
            pytest.raises(RateLimitError) as caught,
        ):
            await cp.ping()
        assert caught.value.retry_after == math.inf
        emu.faults.add(
            "rate_limit", operations="asset.set_meta", times=1, retry_after=OVERFLOWING_DATE
        )
        inputs = [(f"f{i}.bin", f"content {i}".encode()) for i in range(4)]
        with anyio.fail_after(HANG_GUARD):
            result = await cp.bulk.upload_files(inputs)
    [failed] = result.failed
    assert isinstance(failed.error, RateLimitError), repr(failed.error)
    assert len(result.succeeded) == 3
    assert server_time.delays == []  # nothing waited for a date that far off


# -- attack_emulator_crlf_import: the emulator survives any import source ---------------------


async def test_an_import_source_the_emulator_cannot_fetch_fails_its_job_not_the_emulator(
    server_time: ServerTime,
) -> None:
    async with CincopaEmulator(seed=21) as emu:
        cp, _ = hooked_client(emu, server_time)
        async with cp:
            job = await cp.asset.upload_from_url(input="http://127.0.0.1/a.mp4\r\nX: y")
            await wait_until(lambda: emu.state.main.imports[job.status_id].status != "inprogress")
            status = await cp.asset.upload_from_url_get_status(status_id=job.status_id)
            assert status.status == "failed"
            assert (await cp.ping()).ping == "pong"  # still serving
    # and leaving the emulator's block raised nothing: its background task group survived


# -- probe_bad_urls: a URL that cannot be imported is refused before anything is sent ---------

BAD_URLS: list[Any] = [
    "http://127.0.0.1/x\udc80.mp4",
    "",
    "   ",
    "not a url",
    "ftp://127.0.0.1/a.mp4",
    "javascript:alert(1)",
    "http://",
    "http://127.0.0.1/a b.mp4",
    "http://127.0.0.1/a.mp4\r\nX: y",
    b"http://127.0.0.1/a.mp4",
]


@pytest.mark.parametrize("url", BAD_URLS, ids=repr)
async def test_a_bad_import_url_fails_before_anything_is_sent(
    emu: CincopaEmulator, server_time: ServerTime, url: Any
) -> None:
    cp, _ = hooked_client(emu, server_time)
    async with cp:
        result = await cp.bulk.import_urls([url], poll_interval=0.01, timeout=1)
        given = await cp.bulk.import_urls([url], reference_ids=lambda _: "r1", timeout=1)
        with pytest.raises(CincopaValidationError):
            await cp.import_url(url, poll_interval=0.01, timeout=1)
    assert isinstance(result[0].error, CincopaValidationError), repr(result[0].error)
    assert isinstance(given[0].error, CincopaValidationError), repr(given[0].error)
    assert emu.requests == []


# -- probe_bulk_import_bad_options / probe_bulk_upload_bad_options ----------------------------


@pytest.mark.parametrize(
    "options",
    [
        {"timeout": -1},
        {"poll_interval": 0},
        {"timeout": "soon"},
        {"concurrency": 0},
        {"concurrency": 10_001},  # a worker task each: past MAX_BULK_CONCURRENCY, refused
        {"gallery": 12345},
        {"gallery": " "},
    ],
    ids=repr,
)
async def test_a_bad_bulk_import_option_fails_before_anything_is_sent(
    emu: CincopaEmulator, server_time: ServerTime, options: dict[str, Any]
) -> None:
    urls = [emu.add_file(f"v{i}.mp4", b"v" * 100) for i in range(3)]
    cp, _ = hooked_client(emu, server_time)
    async with cp:
        with pytest.raises(CincopaValidationError):
            await cp.bulk.import_urls(urls, **options)
    assert emu.requests == []


@pytest.mark.parametrize(
    "options",
    [
        {"gallery": 12345},
        {"caption": "My title"},
        {"reference_ids": ["x"]},
        {"on_progress": "print"},
        {"item_attempts": 0},
    ],
    ids=repr,
)
async def test_a_bad_bulk_upload_option_fails_before_anything_is_sent(
    emu: CincopaEmulator, server_time: ServerTime, options: dict[str, Any]
) -> None:
    cp, _ = hooked_client(emu, server_time)
    async with cp:
        with pytest.raises(CincopaValidationError):
            await cp.bulk.upload_files([("a.bin", b"a" * 10), ("b.bin", b"b" * 10)], **options)
    assert emu.requests == []


# -- probe_empty_reference: an empty reference never names a stranger's asset ----------------


@pytest.mark.parametrize("reference", ["", "   "], ids=repr)
async def test_an_empty_reference_fails_before_anything_is_sent(
    emu: CincopaEmulator, server_time: ServerTime, reference: str
) -> None:
    """An empty reference would make the look-up unfiltered (any untagged asset matches)."""
    mine = ("mine.mp4", b"my bytes, never uploaded")
    cp, _ = hooked_client(emu, server_time)
    async with cp:
        stranger = await cp.upload_file(b"SOMEONE ELSE'S VIDEO", filename="other.mp4")
        before = len(emu.requests)
        result = await cp.bulk.upload_files([mine], reference_ids={mine: reference})
    assert isinstance(result[0].error, CincopaValidationError), repr(result[0].error)
    assert len(emu.requests) == before
    assert list(emu.state.main.assets) == [stranger.rid]
    assert emu.state.main.assets[stranger.rid].reference_id == ""


async def test_a_blank_import_reference_fails_before_anything_is_sent(
    emu: CincopaEmulator, server_time: ServerTime
) -> None:
    """(An empty one, ``""``, means none given: the URL's own reference is derived.)"""
    url = emu.add_file("talk.mp4", b"t" * 100)
    cp, _ = hooked_client(emu, server_time)
    async with cp:
        result = await cp.bulk.import_urls([url], reference_ids={url: "   "})
    assert isinstance(result[0].error, CincopaValidationError), repr(result[0].error)
    assert emu.requests == []


# -- probe_long_names: a name too long for a look-up is refused before anything is sent -------


@pytest.mark.parametrize("length", [5_000, 20_000, 70_000])
async def test_a_file_name_too_long_fails_before_anything_is_sent(
    emu: CincopaEmulator, server_time: ServerTime, length: int
) -> None:
    name = "x" * length + ".mp4"
    cp, _ = hooked_client(emu, server_time)
    async with cp:
        result = await cp.bulk.upload_files([(name, b"data")])
        with pytest.raises(CincopaValidationError):
            await cp.upload_file(b"data", filename=name)
    assert isinstance(result[0].error, CincopaValidationError), repr(result[0].error)
    assert emu.requests == []


# -- probe_non_regular_inputs: a directory or a pipe is refused before anything is sent -------


@pytest.mark.parametrize("kind", ["directory", "symlink to a directory", "fifo"])
@pytest.mark.parametrize("given_reference", [False, True])
async def test_an_input_that_is_not_a_regular_file_fails_before_anything_is_sent(
    emu: CincopaEmulator, server_time: ServerTime, tmp_path: Path, kind: str, given_reference: bool
) -> None:
    folder = tmp_path / "clips.mp4"
    folder.mkdir()
    (folder / "inner").write_bytes(b"x" * 10)
    if kind == "directory":
        source = folder
    elif kind == "symlink to a directory":
        source = tmp_path / "link.mp4"
        source.symlink_to(folder)
    else:
        source = tmp_path / "pipe.mp4"
        os.mkfifo(source)
    cp, _ = hooked_client(emu, server_time)
    async with cp:
        with anyio.fail_after(HANG_GUARD):  # a fifo must not be opened (it would block)
            result = await cp.bulk.upload_files(
                [source], reference_ids={source: "given-ref"} if given_reference else None
            )
    assert isinstance(result[0].error, CincopaValidationError), repr(result[0].error)
    assert emu.requests == []


# -- probe_path_disappears: a file gone before it was read is a typed error -------------------


@pytest.mark.parametrize("size", [1000, SMALL_FILE + 1000], ids=["small", "large"])
async def test_a_file_gone_between_its_stat_and_its_hashing_fails_typed_sending_nothing(
    emu: CincopaEmulator, server_time: ServerTime, tmp_path: Path, size: int
) -> None:
    """A large file is hashed after its stat: gone by then, it is a typed error and nothing is
    sent. A small file was read with its stat: it is uploaded from the bytes that were read."""
    path = tmp_path / "clip.mp4"
    path.write_bytes(b"N" * size)

    def delete_then_derive(item: Any) -> None:  # called once the input was stat'ed
        path.unlink(missing_ok=True)

    cp, _ = hooked_client(emu, server_time)
    async with cp:
        result = await cp.bulk.upload_files([path], reference_ids=delete_then_derive)
    if size > SMALL_FILE:
        assert isinstance(result[0].error, UploadSourceError), repr(result[0].error)
        assert emu.requests == []
    else:
        assert result.ok, repr(result[0].error)
        [asset] = emu.state.main.assets.values()
        assert asset.content == b"N" * size


@pytest.mark.parametrize("size", [1000, SMALL_FILE + 1000], ids=["small", "large"])
async def test_a_file_gone_during_its_look_up_fails_typed_uploading_nothing(
    emu: CincopaEmulator, server_time: ServerTime, tmp_path: Path, size: int
) -> None:
    """A given reference and an untagged look-alike: the file must be hashed to tell them
    apart, and it vanished while the reference was looked up. A large file is then a typed
    error with nothing uploaded; a small one was already read and is uploaded as read, never
    confused with the look-alike."""
    path = tmp_path / "clip.mp4"
    path.write_bytes(b"N" * size)
    cp, transport = hooked_client(emu, server_time)

    async def delete(request: httpx.Request, operation: str) -> None:
        if operation == "asset.list" and "reference_id" in request.url.params:
            path.unlink(missing_ok=True)

    other, _ = hooked_client(emu, server_time)
    async with other:  # another process's untagged look-alike
        lookalike = await other.upload_file(b"O" * size, filename="clip.mp4")
    async with cp:
        transport.before.append(delete)
        result = await cp.bulk.upload_files([path], reference_ids={path: "cms-1"})
    if size > SMALL_FILE:
        error = result[0].error
        assert isinstance(error, UploadSourceError), repr(error)
        assert isinstance(error, CincopaError)
        assert list(emu.state.main.assets) == [lookalike.rid]
        assert count(emu, "upload") == 1  # the look-alike's own
    else:
        assert result.ok, repr(result[0].error)
        assert result[0].value is not None
        assert result[0].value.rid != lookalike.rid
        assert emu.state.main.assets[lookalike.rid].content == b"O" * size
        assert emu.state.main.assets[result[0].value.rid].content == b"N" * size


# -- probe_progress_callback_raises / probe_progress_same_object ------------------------------


async def test_a_progress_callback_that_raises_is_logged_once_and_the_run_goes_on(
    emu: CincopaEmulator, server_time: ServerTime, caplog: pytest.LogCaptureFixture
) -> None:
    calls = 0

    def progress(update: BulkProgress) -> None:
        nonlocal calls
        calls += 1
        if calls == 3:
            raise RuntimeError("progress bar closed")

    inputs = [(f"f{i}.bin", b"%d" % i * 9) for i in range(8)]
    cp, _ = hooked_client(emu, server_time)
    with caplog.at_level(logging.ERROR, logger="cincopa_async"):
        async with cp:
            result = await cp.bulk.upload_files(inputs, on_progress=progress)
    assert result.ok, [repr(item.error) for item in result.failed]
    assert len(result) == 8
    assert calls == 3  # not called again after it raised
    logged = [r for r in caplog.records if r.name == "cincopa_async"]
    assert len(logged) == 1
    assert logged[0].exc_info is not None
    assert isinstance(logged[0].exc_info[1], RuntimeError)
    assert len(emu.state.main.assets) == 8


async def test_the_same_input_object_twice_is_counted_twice_in_progress(
    emu: CincopaEmulator, server_time: ServerTime
) -> None:
    item = ("same.bin", b"x" * 1000)
    other = ("other.bin", b"y" * 500)
    seen: list[BulkProgress] = []
    cp, _ = hooked_client(emu, server_time)
    async with cp:
        result = await cp.bulk.upload_files([item, other, item], on_progress=seen.append)
    assert result.ok
    last = seen[-1]
    assert last.items_done == last.items_total == 3
    assert last.bytes_done == last.bytes_total == 2500


# -- probe_resume_expired_url: a resume after the upload URL expired starts over --------------

KIB = 1024


async def test_a_resume_after_the_upload_url_expired_starts_over_and_completes(
    emu: CincopaEmulator, server_time: ServerTime, tmp_path: Path
) -> None:
    data = os.urandom(5 * 16 * KIB)
    path = tmp_path / "big.bin"
    path.write_bytes(data)
    state_file = tmp_path / "big.upload"
    cp, _ = hooked_client(emu, server_time)
    async with cp:
        with anyio.CancelScope() as interrupted:

            def stop_after_two(progress: UploadProgress) -> None:
                if progress.bytes_done >= 2 * 16 * KIB:
                    interrupted.cancel()

            await cp.upload_file(
                path, chunk_size=16 * KIB, state_file=state_file, on_progress=stop_after_two
            )
        assert interrupted.cancelled_caught
        assert state_file.exists()
        emu.advance_clock(90_000)  # past the upload URL's lifetime (a day)
        asset = await cp.upload_file(path, chunk_size=16 * KIB, state_file=state_file)
    assert not state_file.exists()
    assert [a.rid for a in holding(emu, data)] == [asset.rid]
    assert len(emu.state.main.assets) == 1
