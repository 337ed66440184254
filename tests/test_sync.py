"""The sync engine in-process (``cincopa sync`` runs it; tests/integrations has the command)."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from cincopa_async import CincopaValidationError, Ledger, UploadSourceError
from cincopa_async._sync import default_ledger_path, sync_directory, walk
from cincopa_async.testing import CincopaEmulator

from .conftest import Sleeps

pytestmark = pytest.mark.anyio


@pytest.fixture
async def emu() -> AsyncIterator[CincopaEmulator]:
    async with CincopaEmulator(seed=41) as emulator:
        yield emulator


def test_walk_reports_a_directory_it_cannot_list(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "open").mkdir()
    (tmp_path / "open" / "a.bin").write_bytes(b"a")
    (tmp_path / "locked").mkdir()
    (tmp_path / "locked" / "b.bin").write_bytes(b"b")
    real_scandir = os.scandir

    def scandir(path: Any) -> Any:
        if Path(path).name == "locked":
            raise PermissionError(13, "Permission denied")
        return real_scandir(path)

    monkeypatch.setattr(os, "scandir", scandir)
    files = list(walk(tmp_path))
    assert [(f.key, f.unreadable) for f in files] == [
        ("locked/", "Permission denied"),
        ("open/a.bin", None),
    ]


def test_walk_skips_links_and_special_files_and_the_ledger(tmp_path: Path) -> None:
    (tmp_path / "real.bin").write_bytes(b"x")
    (tmp_path / "link.bin").symlink_to(tmp_path / "real.bin")
    (tmp_path / "dirlink").symlink_to(tmp_path)
    os.mkfifo(tmp_path / "pipe")
    ledger = tmp_path / "job.sqlite"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{ledger}{suffix}").write_bytes(b"")
    assert [f.key for f in walk(tmp_path, skip=ledger)] == ["real.bin"]


@pytest.mark.parametrize(
    ("source", "ledger"),
    [
        ("lib", "{root}/lib/job.sqlite"),  # relative source, absolute ledger
        ("{root}/lib", "lib/job.sqlite"),  # absolute source, relative ledger
        (".", "{root}/lib/state/../job.sqlite"),  # the source ".", a ledger path with ".."
        ("{root}/alias", "{root}/lib/job.sqlite"),  # the source through a linked path
        ("lib", "{root}/alias/job.sqlite"),  # the ledger through a linked path
    ],
)
def test_walk_skips_the_ledger_whatever_the_spelling_of_either_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, source: str, ledger: str
) -> None:
    lib = tmp_path / "lib"
    (lib / "state").mkdir(parents=True)
    (lib / "real.bin").write_bytes(b"x")
    (tmp_path / "alias").symlink_to(lib)
    for suffix in ("", "-wal", "-shm", "-journal"):
        (lib / f"job.sqlite{suffix}").write_bytes(b"")
    (lib / "state" / "job.sqlite").write_bytes(b"")  # the same name elsewhere: a file to sync
    monkeypatch.chdir(lib if source == "." else tmp_path)
    skip = Path(ledger.format(root=tmp_path))
    keys = [f.key for f in walk(source.format(root=tmp_path), skip=skip)]
    assert keys == ["real.bin", "state/job.sqlite"]


def test_walk_skips_ledger_side_files_created_after_it_started(tmp_path: Path) -> None:
    (tmp_path / "a.bin").write_bytes(b"a")
    (tmp_path / "z.bin").write_bytes(b"z")
    ledger = tmp_path / "job.sqlite"
    ledger.write_bytes(b"")
    files = walk(tmp_path, skip=ledger)
    assert next(files).key == "a.bin"
    Path(f"{ledger}-wal").write_bytes(b"")  # scandir has listed it already
    assert [f.key for f in files] == ["z.bin"]


def test_one_directory_has_one_default_ledger_through_any_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    lib = tmp_path / "lib"
    lib.mkdir()
    (tmp_path / "alias").symlink_to(lib)
    monkeypatch.chdir(tmp_path)
    url = "https://api.cincopa.com/api/v2/"
    paths = {
        default_ledger_path(spelling, url, "1234")
        for spelling in (lib, "lib", "./lib/", tmp_path / "alias", "alias")
    }
    assert len(paths) == 1
    assert paths != {default_ledger_path(tmp_path, url, "1234")}


async def test_an_unreadable_directory_fails_as_an_item(
    emu: CincopaEmulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = tmp_path / "lib"
    (source / "locked").mkdir(parents=True)
    (source / "ok.bin").write_bytes(b"fine" * 10)
    real_scandir = os.scandir

    def scandir(path: Any) -> Any:
        if Path(path).name == "locked":
            raise PermissionError(13, "Permission denied")
        return real_scandir(path)

    monkeypatch.setattr(os, "scandir", scandir)
    async with emu.client() as cp, Ledger(tmp_path / "job.sqlite") as ledger:
        cp._shared.sleep = Sleeps()
        result = await sync_directory(cp, source, ledger)
    assert [item.input.key for item in result.succeeded] == ["ok.bin"]
    [failure] = result.failed
    assert failure.input.key == "locked/"
    assert isinstance(failure.error, UploadSourceError)
    assert "could not be listed: Permission denied" in str(failure.error)
    assert len(emu.state.main.assets) == 1


async def test_an_empty_file_fails_as_an_item_of_the_sync(
    emu: CincopaEmulator, tmp_path: Path
) -> None:
    source = tmp_path / "lib"
    source.mkdir()
    (source / "empty.bin").write_bytes(b"")
    (source / "ok.bin").write_bytes(b"fine" * 10)
    async with emu.client() as cp, Ledger(tmp_path / "job.sqlite") as ledger:
        result = await sync_directory(cp, source, ledger)
    assert [item.input.key for item in result.succeeded] == ["ok.bin"]
    [failure] = result.failed
    assert isinstance(failure.error, CincopaValidationError)
    assert failure.error.operation == "sync"
    assert str(failure.error).startswith("sync: ")
    assert "0 bytes" in str(failure.error)
