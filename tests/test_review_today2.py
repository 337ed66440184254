"""Regression tests of an adversarial review of the day's fixes (rev-today2): the ledger's run
lock and owner, the bulk engine, the client's refusals, encodings, Dask's token rule, the CLI.

Against the in-process emulator where a request is involved. No test measures or waits for time.
"""

from __future__ import annotations

import json
import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

from cincopa_async import CincopaValidationError, Ledger
from cincopa_async.testing import CincopaEmulator

from ._leaks import error_of_reply
from ._raw_server import RawRequest, http_reply, raw_server

pytestmark = pytest.mark.anyio


@pytest.fixture
async def emu() -> AsyncIterator[CincopaEmulator]:
    async with CincopaEmulator(seed=53) as emulator:
        yield emulator


# -- the run lock: one file, however its path is spelled ----------------------------------------


async def test_a_ledger_opened_through_a_symlink_shares_the_run_lock_of_its_target(
    tmp_path: Path,
) -> None:
    """SQLite opens a linked ledger at its target: a run through ``link.sqlite`` and one
    through ``real.sqlite`` work on one file, so the second must be refused. The lock sat
    beside the path as spelled (``link.sqlite-run.lock``), and both ran."""
    real = tmp_path / "real.sqlite"
    link = tmp_path / "link.sqlite"
    link.symlink_to(real)
    async with Ledger(real) as first, Ledger(link) as second:
        await first.begin_run()
        with pytest.raises(CincopaValidationError, match="another run"):
            await second.begin_run()
        await first.end_run()
        await second.begin_run()  # free again: taken through the link
        with pytest.raises(CincopaValidationError, match="another run"):
            await first.begin_run()
        await second.end_run()


async def test_a_sync_through_a_linked_ledger_in_its_source_does_not_list_the_run_lock(
    tmp_path: Path,
) -> None:
    """A ledger given as a symlink inside the synced directory (to a file outside): the walk
    leaves out the ledger's side files, the run lock included -- it was made beside the link,
    under another name than the walk skips, and was uploaded as one of the files."""
    from cincopa_async._sync import walk

    source = tmp_path / "source"
    source.mkdir()
    (source / "clip.mp4").write_bytes(b"x" * 100)
    real = tmp_path / "kept" / "real.sqlite"
    link = source / "job.sqlite"
    real.parent.mkdir()
    link.symlink_to(real)
    async with Ledger(link) as ledger:
        await ledger.begin_run()
        try:
            names = sorted(os.path.relpath(f.path, source) for f in walk(source, skip=link))
        finally:
            await ledger.end_run()
    assert names == ["clip.mp4"]


class _InputsThatFail:
    """An iterable whose ``__iter__`` raises (a reader whose file went away)."""

    def __iter__(self) -> Iterator[str]:
        raise OSError("the list of inputs cannot be read")


@pytest.mark.parametrize("given", ["Ledger", "path"])
async def test_a_run_whose_inputs_cannot_be_read_gives_the_ledger_back(
    emu: CincopaEmulator, tmp_path: Path, given: str
) -> None:
    """The inputs were first read after the run lock was taken and outside the block that
    gives it back: an ``__iter__`` that raised left the ledger held for good -- every later
    run on that Ledger, or on that path in this process, was refused as "another run"."""
    path = tmp_path / "job.sqlite"
    async with emu.client() as cp:
        asset = await cp.upload_file(b"bye" * 300, filename="a.mp4")
        book = Ledger(path) if given == "Ledger" else path
        with pytest.raises(OSError, match="cannot be read"):
            await cp.bulk.delete(_InputsThatFail(), ledger=book)
        result = await cp.bulk.delete([asset.rid], ledger=book)
        if isinstance(book, Ledger):
            await book.aclose()
    assert result.ok, repr(result[0].error)
    assert asset.rid not in emu.state.main.assets


# -- the CLI: a reply's text is text, not markup -------------------------------------------------

MARKUP_TEXT = "[/b]x[red]y[/red]"  # a closing tag that matches nothing, and a style


def _marked_up(request: RawRequest, number: int) -> bytes:
    item = {"rid": "r1", "filename": MARKUP_TEXT, "caption": MARKUP_TEXT}
    page = {"page": 1, "pages_count": 1, "items_count": 1}
    reply = {"success": True, "items_data": page, "items": [item], "status": MARKUP_TEXT}
    return http_reply(json.dumps(reply).encode())


@pytest.mark.parametrize(
    "args",
    [
        ["asset", "list"],
        ["asset", "list", "--all"],
        ["asset", "upload-from-url-get-status", "--status-id", "7"],  # a summary table
    ],
)
def test_the_cli_prints_a_reply_text_in_a_table_as_it_is_not_as_rich_markup(
    args: list[str], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Table cells went to rich as markup: a file name or caption ``[/b]...`` (anyone's text)
    made every ``asset list`` of the account fail with an internal MarkupError, and
    ``[red]``, ``[link=...]`` in one became a style or a terminal hyperlink instead of being
    shown as the text it is."""
    from cincopa_async.cli import _app

    with raw_server(_marked_up) as server:
        monkeypatch.setenv("CINCOPA_API_TOKEN", "1234567imarkuptokenabcdefgh")
        monkeypatch.setenv("CINCOPA_BASE_URL", server.base_url)
        with pytest.raises(SystemExit) as exited:
            _app.main(args)
    captured = capsys.readouterr()
    assert exited.value.code in (0, None), captured.err
    assert MARKUP_TEXT in captured.out


# -- Dask: the token goes only where the scheduler sends it safely -------------------------------


@pytest.mark.parametrize("anyio_backend", ["asyncio"])  # distributed runs on asyncio only
async def test_sync_on_dask_sends_no_token_to_a_scheduler_that_listens_off_this_machine(
    tmp_path: Path,
) -> None:
    """Reached through ``tcp://127.0.0.1`` (allowed: this machine), a scheduler listening on
    every interface -- ``dask scheduler``'s default -- keeps the plugin and sends it, token
    and all, to every worker that joins over plain TCP from anywhere. Its own address (where
    its workers reach it) must be safe too; else the token is refused before it is sent."""
    pytest.importorskip("distributed")
    from distributed import Scheduler

    from cincopa_async.dask import sync_on_dask

    token = "1234567idasktokenabcdefghij"
    source = tmp_path / "library"
    source.mkdir()
    every_interface = "0.0.0.0"  # the case under test: dask scheduler's default
    async with Scheduler(host=every_interface, port=0, dashboard_address=":0") as scheduler:
        port = scheduler.address.rpartition(":")[2]
        async with Ledger(tmp_path / "ledger.sqlite") as ledger:
            with pytest.raises(CincopaValidationError) as caught:
                await sync_on_dask(
                    f"tcp://127.0.0.1:{port}",
                    source,
                    ledger,
                    api_token=token,
                    files=lambda: iter(()),
                )
        assert "cincopa-async" not in scheduler.worker_plugins
    (problem,) = caught.value.problems
    assert "CINCOPA_API_TOKEN" in problem
    assert token not in str(caught.value)


# -- a failed reply's credentials: every field the models hold as a secret -----------------------

SELF_AUTHORISING_URL = "https://upload.example/upload/PATHsecretOFtheURL123/file?uid=9"


@pytest.mark.parametrize("status", ["200 OK", "500 Oops"])
async def test_an_error_keeps_no_self_authorising_upload_url_of_the_reply(status: str) -> None:
    """The models hold ``upload_url`` as a secret (it authorises an upload by itself); a failed
    reply carrying one was kept by its error verbatim but for a ``hash`` query parameter: the
    credential fields scrubbed from errors were ``api_token``, ``token`` and the secret query
    parameters, not every secret field of the models."""
    reply = {"success": False, "message": "quota", "upload_url": SELF_AUTHORISING_URL}

    error = await error_of_reply(
        reply, status, "1234567iuploadurltokenabcd", lambda cp: cp.asset.get_upload_url()
    )
    for text in (str(error), repr(error), repr(vars(error))):
        assert "PATHsecretOFtheURL123" not in text


def test_every_secret_field_of_the_models_is_a_credential_field_of_failed_replies() -> None:
    """The class of the finding above: a field the models mark ``SECRET`` is scrubbed from a
    failed reply too, whatever its name."""
    import attrs

    from cincopa_async import _models
    from cincopa_async._redact import CREDENTIAL_FIELDS

    secret_fields = {
        field.name
        for model in vars(_models).values()
        if isinstance(model, type) and attrs.has(model)
        for field in attrs.fields(model)
        if field.metadata.get(_models.SECRET)
    }
    assert secret_fields
    assert secret_fields <= CREDENTIAL_FIELDS


# -- a bulk import whose job note cannot be committed still follows its job ----------------------


class _JobNoteFails(Ledger):
    """A ledger whose commit of a job note fails once (the disk full, the file locked)."""

    failed = False

    async def flush(self) -> None:
        if self._jobs and not self.failed:
            type(self).failed = True
            raise CincopaValidationError(["ledger: disk full (simulated)"], operation="ledger")
        await super().flush()


async def test_a_bulk_import_whose_job_note_cannot_be_committed_follows_the_job_anyway(
    emu: CincopaEmulator, tmp_path: Path
) -> None:
    """The job is committed to the ledger before it is followed (for a rerun after a kill).
    A commit that failed there made the item fail with its job left running, unfollowed: the
    import made its asset, and the item was reported failed (a retry of it would have found no
    asset yet and imported the URL again). The job is followed whatever the note's commit did;
    the note stays held, and a later commit writes it."""
    url = emu.add_file("talk.mp4", b"N" * 4000)
    _JobNoteFails.failed = False
    ledger = _JobNoteFails(tmp_path / "imports.sqlite")
    async with emu.client() as cp, ledger:
        result = await cp.bulk.import_urls([url], ledger=ledger, poll_interval=0.01)
    assert _JobNoteFails.failed
    assert result.ok, repr(result[0].error)
    uploads = [r for r in emu.requests if r.operation == "asset.upload_from_url"]
    assert len(uploads) == 1
    assert [a.rid for a in emu.state.main.assets.values() if a.content == b"N" * 4000] == [
        result[0].value.rid
    ]
    async with Ledger(tmp_path / "imports.sqlite") as reread:
        record = await reread.get(url)
    assert record is not None
    assert record.state == "done"
    assert record.job is not None  # the note was written with a later commit


# -- upload_file(gallery=...): the gallery named in every addtofid of the query ------------------


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        (
            "https://up.example/u?addtofid=0&x=1&addtofid=0&hash=h",
            "https://up.example/u?addtofid=g%2F1&x=1&addtofid=g%2F1&hash=h",
        ),
        ("https://up.example/u?a=1#&addtofid=0", "https://up.example/u?a=1#&addtofid=0"),
        (
            "https://up.example/u?addtofid=*#addtofid=0",
            "https://up.example/u?addtofid=g%2F1#addtofid=0",
        ),
    ],
)
def test_into_gallery_sets_every_placeholder_of_the_query_and_leaves_the_fragment(
    given: str, expected: str
) -> None:
    """A repeated ``addtofid=0`` had only its first set: PHP reads a repeated parameter's last
    value, so the file went outside the gallery, silently. And a fragment's ``addtofid=0``
    (never sent) was rewritten in place of the query's."""
    from cincopa_async._uploads import into_gallery

    assert into_gallery(given, "g/1") == expected


# -- bulk.delete on a ledger: an rid given twice is confirmed after its first delete ------------


@pytest.mark.parametrize("kept", [True, False], ids=["ledger", "no ledger"])
async def test_an_rid_given_twice_to_a_delete_on_a_ledger_is_deleted_not_failed(
    emu: CincopaEmulator, tmp_path: Path, kept: bool
) -> None:
    """The second input of an rid given twice confirms with ``asset.list`` before it sends a
    delete (``ItemState.earlier``) -- but it ran alongside the first: listed while the first
    delete was still out, it sent its own, answered "not found". The item failed, and the
    ledger kept whichever outcome came last: "failed" for an asset the run deleted. (Without
    a ledger the second input did not even confirm.)"""
    import httpx

    from ._hooks import hooked_client, quiet
    from .conftest import Sleeps

    held: list[str] = []

    async def first_delete_waits_for_the_rest(request: httpx.Request, operation: str) -> None:
        if operation == "asset.delete" and not held:
            held.append(operation)  # the other input lists now, if nothing stops it
            await quiet()

    cp, transport = hooked_client(emu, Sleeps())
    path = tmp_path / "deletes.sqlite"
    async with cp:
        asset = await cp.upload_file(b"twice" * 200, filename="twice.mp4")
        transport.before.append(first_delete_waits_for_the_rest)
        result = await cp.bulk.delete(
            [asset.rid, asset.rid], ledger=path if kept else None, concurrency=2
        )
    assert [item.ok for item in result] == [True, True], [repr(i.error) for i in result]
    assert asset.rid not in emu.state.main.assets
    if not kept:
        return
    async with Ledger(path) as ledger:
        record = await ledger.get(asset.rid)
    assert record is not None
    assert record.state == "done"


# -- the run lock is given back only once the run's last outcomes are written --------------------


class _WatchesTheRunLock(Ledger):
    """Records, as each commit is written, whether another run could take the ledger now."""

    free_while_writing: list[bool]

    def _commit(self, outcomes: Any, db: Any = None) -> None:
        if outcomes[0] or outcomes[1]:
            self.free_while_writing.append(_run_lock_is_free(self.path))
        super()._commit(outcomes, db)


def _run_lock_is_free(path: Path) -> bool:
    import fcntl

    from cincopa_async._ledger import run_lock_path

    fd = os.open(run_lock_path(path), os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    finally:
        os.close(fd)  # also gives back a lock taken just now
    return True


async def test_closing_a_ledger_mid_run_writes_its_outcomes_before_giving_the_run_lock_back(
    tmp_path: Path,
) -> None:
    """``aclose`` gave the run lock back first and wrote the outcomes still held after: in
    between, another run could take the ledger and read those items as unfinished."""
    from cincopa_async import LedgerRecord

    pytest.importorskip("fcntl")
    ledger = _WatchesTheRunLock(tmp_path / "job.sqlite")
    ledger.free_while_writing = []
    await ledger.open()
    await ledger.start(["a"])
    await ledger.begin_run()
    ledger.finish(LedgerRecord("a", "done", rid="r1"))  # held in memory, not written yet
    await ledger.aclose()
    assert ledger.free_while_writing == [False]
    async with Ledger(tmp_path / "job.sqlite") as reread:
        record = await reread.get("a")
    assert record is not None
    assert record.state == "done"


@pytest.mark.skipif(not hasattr(os, "fork"), reason="fork() is POSIX's")
async def test_a_process_forked_during_a_run_does_not_keep_the_ledger_after_it(
    tmp_path: Path,
) -> None:
    """A ``flock`` belongs to the open file, which a forked child shares (a worker pool made by
    ``multiprocessing``'s fork while a run goes): the child kept the ledger taken after the run
    gave it back, and every later run was refused as "another run" while the child lived."""
    import warnings

    path = tmp_path / "job.sqlite"
    async with Ledger(path) as first:
        await first.begin_run()
        go_on_read, go_on_write = os.pipe()
        ready_read, ready_write = os.pipe()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)  # fork with threads: see below
            child = os.fork()
        if child == 0:  # the child says it runs, then waits to be told to exit: nothing else
            os.write(ready_write, b"r")
            os.read(go_on_read, 1)
            os._exit(0)
        try:
            assert os.read(ready_read, 1) == b"r"  # the child is past the fork
            await first.end_run()
            async with Ledger(path) as second:
                await second.begin_run()  # the run is over: the ledger is free
                await second.end_run()
        finally:
            os.write(go_on_write, b"x")
            os.waitpid(child, 0)
            for fd in (go_on_read, go_on_write, ready_read, ready_write):
                os.close(fd)


def test_cincopa_sync_falls_back_to_the_workers_token_when_the_scheduler_refuses_the_clis(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """``cincopa sync --dask tcp://127.0.0.1:...`` sends the CLI's token (this machine), and
    ``sync_on_dask`` now refuses it when the scheduler listens off this machine. The CLI has
    no way to send none: it goes on as for any other address it cannot send the token to --
    the workers read ``CINCOPA_API_TOKEN`` -- and says so."""
    pytest.importorskip("distributed")
    import cincopa_async.dask
    from cincopa_async.cli import _app

    token = "1234567idasktokenabcdefghij"
    given: list[str | None] = []

    async def refusing_sync_on_dask(*args: object, api_token: str | None, **kw: object) -> None:
        given.append(api_token)
        if api_token is not None:
            raise cincopa_async.dask._token_in_the_clear()

    monkeypatch.setattr(cincopa_async.dask, "sync_on_dask", refusing_sync_on_dask)
    monkeypatch.setenv("CINCOPA_API_TOKEN", token)
    monkeypatch.setenv("CINCOPA_BASE_URL", "http://127.0.0.1:9/v2/")
    source = tmp_path / "library"
    source.mkdir()
    ledger = tmp_path / "job.sqlite"
    with pytest.raises(SystemExit) as exited:
        _app.main(["sync", str(source), "--dask", "tcp://127.0.0.1:8786", "--ledger", str(ledger)])
    err = capsys.readouterr().err
    assert given == [token, None], err
    assert exited.value.code in (0, None), err
    assert "CINCOPA_API_TOKEN" in err
    assert token not in err
