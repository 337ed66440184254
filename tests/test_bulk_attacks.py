"""Attacks on the bulk engine's promises: no loss, no duplicate, no stall, no bad input sent.

Against the in-process emulator (its request log shows what reached the "server"), with the
client's retry sleeps replaced by a recorder, so that a test sees every wait the SDK asked for
without waiting.
"""

from __future__ import annotations

import email.utils
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import anyio
import pytest

from cincopa_async import (
    AsyncCincopa,
    CincopaValidationError,
    ImportOutcomeUnknownError,
    RateLimitError,
)
from cincopa_async.testing import CincopaEmulator

from ._waits import HANG_GUARD
from .conftest import Sleeps

pytestmark = pytest.mark.anyio


@pytest.fixture
async def emu() -> AsyncIterator[CincopaEmulator]:
    async with CincopaEmulator(seed=21) as emulator:
        yield emulator


def client(emu: CincopaEmulator, sleeps: Sleeps, **options: Any) -> AsyncCincopa:
    cp = emu.client(**options)
    cp._shared.sleep = sleeps
    return cp


def stored(emu: CincopaEmulator) -> list[Any]:
    return list(emu.state.main.assets.values())


def sent(emu: CincopaEmulator) -> int:
    return len(emu.requests)


# -- defect 4: a long Retry-After stops one item, never the run --------------------------------

LONG_HINTS = [
    "3600",
    "1e12",
    "inf",
    email.utils.formatdate(time.time() + 10**9, usegmt=True),  # decades away
    "Fri, 31 Dec 9999 23:59:59 GMT",
]


@pytest.mark.parametrize("hint", LONG_HINTS)
async def test_a_long_retry_after_fails_that_item_and_the_run_goes_on(
    emu: CincopaEmulator, sleeps: Sleeps, hint: str
) -> None:
    emu.faults.add("rate_limit", operations="asset.set_meta", times=1, retry_after=hint)
    inputs = [(f"f{i}.bin", f"content {i}".encode()) for i in range(12)]
    async with client(emu, sleeps, max_concurrency=4) as cp:
        with anyio.fail_after(HANG_GUARD):  # a guard against a hang only
            result = await cp.bulk.upload_files(inputs)
    failed = result.failed
    assert len(failed) == 1
    error = failed[0].error
    assert isinstance(error, RateLimitError)
    assert error.retry_after is not None
    assert error.retry_after > 60
    assert len(result.succeeded) == 11
    assert all(delay <= 60 for delay in sleeps.delays), sleeps.delays


# -- defect 5: look-alike files never take each other's asset ---------------------------------


def tree(root: Path, files: dict[str, bytes]) -> list[Path]:
    paths = []
    for relative, data in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        paths.append(path)
    return paths


@pytest.mark.parametrize("faults", ["none", "drop_after upload", "drop_after set_meta"])
async def test_same_name_same_size_different_bytes_both_arrive(
    emu: CincopaEmulator, sleeps: Sleeps, tmp_path: Path, faults: str
) -> None:
    if faults != "none":
        kind, operation = faults.split()
        emu.faults.add(kind, operations=operation, times=1)
    contents = {f"{folder}/frame.raw": folder.encode() * 4096 for folder in "abcd"}
    paths = tree(tmp_path, contents)
    async with client(emu, sleeps) as cp:
        result = await cp.bulk.upload_files(paths)
    assert result.ok, [repr(item.error) for item in result.failed]
    rids = [item.value.rid for item in result if item.ok]
    assert len(set(rids)) == 4
    assets = emu.state.main.assets
    assert len(assets) == 4
    for path, rid in zip(paths, rids, strict=True):
        assert assets[rid].content == path.read_bytes()


async def test_a_lookalike_orphan_with_other_bytes_is_never_adopted(
    emu: CincopaEmulator, sleeps: Sleeps
) -> None:
    """An untagged asset of the same name and size but other bytes: uploaded anew."""
    async with client(emu, sleeps) as cp:
        stranger = await cp.upload_file(b"x" * 1000, filename="clip.mp4")
        result = await cp.bulk.upload_files([("clip.mp4", b"y" * 1000)])
    assert result.ok
    value = result[0].value
    assert value is not None
    assert value.rid != stranger.rid
    assert emu.state.main.assets[value.rid].content == b"y" * 1000
    assert emu.state.main.assets[stranger.rid].reference_id == ""  # left as it was


async def test_an_orphan_with_the_same_bytes_is_adopted(
    emu: CincopaEmulator, sleeps: Sleeps
) -> None:
    """What an earlier run left untagged (the same bytes): adopted, not uploaded again."""
    async with client(emu, sleeps) as earlier_run:
        orphan = await earlier_run.upload_file(b"z" * 1000, filename="clip.mp4")
    posts = sum(1 for r in emu.requests if r.operation == "upload")
    async with client(emu, sleeps) as cp:
        result = await cp.bulk.upload_files([("clip.mp4", b"z" * 1000)])
    assert result.ok
    assert result[0].value is not None
    assert result[0].value.rid == orphan.rid
    assert sum(1 for r in emu.requests if r.operation == "upload") == posts
    assert len(stored(emu)) == 1


async def test_an_untagged_asset_this_client_returned_to_a_caller_is_never_adopted(
    emu: CincopaEmulator, sleeps: Sleeps
) -> None:
    """``cp.upload_file`` gave its caller an untagged asset; a bulk item of the same name, size
    and bytes on the same client uploads its own copy instead of taking the caller's."""
    async with client(emu, sleeps) as cp:
        theirs = await cp.upload_file(b"z" * 1000, filename="clip.mp4")
        result = await cp.bulk.upload_files([("clip.mp4", b"z" * 1000)])
    assert result.ok
    assert result[0].value is not None
    assert result[0].value.rid != theirs.rid
    assert emu.state.main.assets[theirs.rid].reference_id == ""
    assert len(stored(emu)) == 2


async def test_identical_bytes_under_two_references_get_two_assets(
    emu: CincopaEmulator, sleeps: Sleeps, tmp_path: Path
) -> None:
    """Same name, size and bytes, but the caller names them two items: two assets, each with
    its own reference -- neither adopts the other's fresh, still untagged asset."""
    paths = tree(tmp_path, {"a/clip.mp4": b"q" * 5000, "b/clip.mp4": b"q" * 5000})
    async with client(emu, sleeps) as cp:
        result = await cp.bulk.upload_files(paths, reference_ids={paths[0]: "one", paths[1]: "two"})
    assert result.ok
    assert sorted(a.reference_id for a in stored(emu)) == ["one", "two"]
    assert len({item.value.rid for item in result if item.ok}) == 2


async def test_one_file_in_two_folders_is_one_asset_other_names_are_two(
    emu: CincopaEmulator, sleeps: Sleeps, tmp_path: Path
) -> None:
    """No references given: the same name and bytes are one item; the same bytes under
    another name are another item."""
    paths = tree(
        tmp_path,
        {"a/clip.mp4": b"q" * 5000, "b/clip.mp4": b"q" * 5000, "c/other.mp4": b"q" * 5000},
    )
    async with client(emu, sleeps) as cp:
        result = await cp.bulk.upload_files(paths)
    assert result.ok
    rids = [item.value.rid for item in result if item.ok]
    assert rids[0] == rids[1] != rids[2]
    assert len(stored(emu)) == 2


# -- defect 6: a lost import reply never starts a second import --------------------------------


async def test_a_lost_import_reply_is_reconciled_not_imported_again(
    emu: CincopaEmulator, sleeps: Sleeps
) -> None:
    urls = [emu.add_file(f"clip{i}.mp4", f"video {i}".encode() * 100) for i in range(3)]
    emu.faults.add("drop_after", operations="asset.upload_from_url", times=1)
    async with client(emu, sleeps) as cp:
        result = await cp.bulk.import_urls(urls, poll_interval=0.01)
        await emu.wait_idle()
    assert result.ok, [repr(item.error) for item in result.failed]
    starts = [r for r in emu.requests if r.operation == "asset.upload_from_url"]
    assert len(starts) == 3
    assets = stored(emu)
    assert len(assets) == 3
    assert sorted(a.filename for a in assets) == ["clip0.mp4", "clip1.mp4", "clip2.mp4"]
    assert all(a.reference_id.startswith("url-sha256-") for a in assets)


@pytest.mark.parametrize("kind", ["drop_before", "truncated_body", "server_error"])
async def test_an_import_that_may_not_have_started_is_not_started_again(
    emu: CincopaEmulator, sleeps: Sleeps, kind: str
) -> None:
    """A dropped connection or a 5xx may or may not have started the import (the emulator
    applies neither; a truncated reply was applied): the import is never started again, the
    item fails with ImportOutcomeUnknownError unless the import's asset shows up."""
    url = emu.add_file("clip.mp4", b"v" * 1000)
    emu.faults.add(kind, operations="asset.upload_from_url", times=1)
    async with client(emu, sleeps, max_retries=0) as cp:
        result = await cp.bulk.import_urls([url], poll_interval=0.01, timeout=30)
        await emu.wait_idle()
    starts = [r for r in emu.requests if r.operation == "asset.upload_from_url"]
    assert len(starts) == 1
    if kind in ("drop_before", "server_error"):
        assert isinstance(result[0].error, ImportOutcomeUnknownError)
        assert stored(emu) == []
    else:  # applied, then the reply was garbled: the import ran and is adopted
        assert result.ok, repr(result[0].error)
        assert len(stored(emu)) == 1


async def test_concurrent_imports_of_the_same_name_keep_their_own_assets(
    emu: CincopaEmulator, sleeps: Sleeps
) -> None:
    """Two URLs ending in the same file name, one reply lost: each item its own asset."""
    first = emu.add_file("a/video.mp4", b"first" * 100)
    second = emu.add_file("b/video.mp4", b"second" * 100)
    emu.faults.add("drop_after", operations="asset.upload_from_url", times=1)
    async with client(emu, sleeps) as cp:
        result = await cp.bulk.import_urls([first, second], poll_interval=0.01)
        await emu.wait_idle()
    assert result.ok, [repr(item.error) for item in result.failed]
    rids = [item.value.rid for item in result if item.ok]
    assert len(set(rids)) == 2
    assets = emu.state.main.assets
    assert [assets[rid].content for rid in rids] == [b"first" * 100, b"second" * 100]


# -- defect 7: bad input fails before anything is sent ----------------------------------------


def _deep(levels: int) -> dict[str, Any]:
    root: dict[str, Any] = {}
    node = root
    for _ in range(levels):
        node["a"] = {}
        node = node["a"]
    return root


@pytest.mark.parametrize(
    ("call", "arguments"),
    [
        ("upload_file", {"source": b"data", "filename": "bad\udc80name.mp4"}),
        ("upload_file", {"source": b"data", "filename": "ok.mp4", "caption": "\ud800"}),
        ("upload_file", {"source": b"data", "filename": "ok.mp4", "tags": ["ok", 5]}),
        ("upload_file", {"source": b"data", "filename": "ok.mp4", "chunk_size": "8"}),
        ("upload_file", {"source": b"data", "filename": 7}),
        ("import_url", {"url": "http://127.0.0.1/x.mp4", "reference_id": "r\udfff"}),
        ("import_url", {"url": "http://127.0.0.1/x.mp4", "timeout": "soon"}),
        ("portal.set", {"subdomain": "abc", "args": _deep(50_000)}),
        ("portal.set", {"subdomain": "abc", "args": "[" * 50_000}),
        ("portal.set", {"subdomain": "abc", "args": {"k\udc80": 1}}),
        ("asset.list", {"page": 10**5000}),
        ("asset.list", {"items_per_page": -(10**5000)}),
    ],
)
async def test_bad_arguments_fail_before_anything_is_sent(
    emu: CincopaEmulator, sleeps: Sleeps, call: str, arguments: dict[str, Any]
) -> None:
    async with client(emu, sleeps) as cp:
        before = sent(emu)
        target: Any = cp
        for part in call.split("."):
            target = getattr(target, part)
        with pytest.raises(CincopaValidationError) as caught:
            await target(**arguments)
        assert sent(emu) == before
    str(caught.value).encode("utf-8")  # the message itself is printable


async def test_bulk_inputs_that_cannot_be_sent_are_their_items_errors(
    emu: CincopaEmulator, sleeps: Sleeps, tmp_path: Path
) -> None:
    good = tmp_path / "good.bin"
    good.write_bytes(b"fine")
    inputs: list[Any] = [
        ("bad\udc80.bin", b"x"),
        tmp_path / "missing.bin",
        ("ok.bin",),  # not a (name, bytes) pair
        good,
        12,
    ]
    async with client(emu, sleeps) as cp:
        result = await cp.bulk.upload_files(
            inputs, caption=lambda item: "\udc80" if item is good else None
        )
        only_good = await cp.bulk.upload_files([good])
    assert [item.ok for item in result] == [False] * 5
    assert all(isinstance(item.error, CincopaValidationError) for item in result)
    assert only_good.ok
    uploads = [r for r in emu.requests if r.operation == "upload"]
    assert len(uploads) == 1  # only the good file, in the second run


# -- bulk.run knows nothing of fn: it re-runs an item only after a failure that changed nothing --


async def test_bulk_run_does_not_repeat_a_mutation_whose_reply_was_lost(
    emu: CincopaEmulator, sleeps: Sleeps
) -> None:
    emu.faults.add("drop_after", operations="gallery.create", times=1)
    async with client(emu, sleeps, max_retries=0) as cp:
        result = await cp.bulk.run(
            lambda name: cp.gallery.create(name=name), ["one"], item_attempts=3
        )
    assert not result.ok
    assert [r.operation for r in emu.requests].count("gallery.create") == 1


async def test_bulk_run_repeats_an_item_the_server_refused(
    emu: CincopaEmulator, sleeps: Sleeps
) -> None:
    emu.faults.add("rate_limit", operations="gallery.create", times=1, retry_after="1")
    async with client(emu, sleeps, max_retries=0) as cp:
        result = await cp.bulk.run(
            lambda name: cp.gallery.create(name=name), ["one"], item_attempts=3
        )
    assert result.ok
    assert [r.operation for r in emu.requests].count("gallery.create") == 2


async def test_bulk_run_retry_if_widens_what_is_repeated(
    emu: CincopaEmulator, sleeps: Sleeps
) -> None:
    emu.faults.add("server_error", operations="gallery.list", times=1)
    async with client(emu, sleeps, max_retries=0) as cp:
        result = await cp.bulk.run(
            lambda _: cp.gallery.list(), [1], item_attempts=2, retry_if=lambda error: True
        )
    assert result.ok
    assert [r.operation for r in emu.requests].count("gallery.list") == 2
