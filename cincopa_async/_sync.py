"""``cincopa sync``: a directory mirrored into the account, resumable, on one machine or on Dask.

Every regular file under the source directory is an item keyed by its path relative to the
directory (``a/b.mp4``, with ``/`` on every platform). Its ``reference_id`` is
``derived_reference(relative path, SHA-256 of the content)``: the same file is skipped, a changed
one is a new version, and two files with the same name and size in different folders are two
items. Outcomes go to a ledger (``_ledger``), so that a rerun -- after a crash, SIGKILL included
-- costs nothing for what is done: a file whose size and modification time are what the ledger
recorded is not even read.

**Versions.** Sync only ever adds: when a file changed, its new content is uploaded as a new
asset (a new reference) and the ledger's row points to it; the asset of the old content stays in
the account, untouched, with its own reference.

**Where the ledger lives** by default: ``$XDG_STATE_HOME/cincopa/sync/<key>.sqlite``
(``~/.local/state/...`` when unset), one file per source directory, base URL and account
(``<key>`` is a digest of the three). ``ledger=`` puts it anywhere else.

On Dask (``cincopa_async.dask``), batches of items are tasks: the driver keeps the ledger and the
walk, workers upload. A task may run twice (a lost worker's tasks are rerun), so every item on a
worker reconciles before storing and converges after (see ``_bulk``).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

import anyio

from ._bulk import (
    BulkProgressCallback,
    BulkRun,
    Content,
    ItemState,
    LedgerPolicy,
    derived_reference,
    store_file,
)
from ._errors import CincopaValidationError, UploadSourceError
from ._uploads import DEFAULT_CHUNK_SIZE, check_upload_options, file_threads

if TYPE_CHECKING:
    from ._client import AsyncCincopa
    from ._ledger import Ledger, LedgerRecord
    from ._models import Asset

__all__ = ["SyncFile", "default_ledger_path", "sync_directory", "walk"]

REGISTER_BATCH = 1000


class SyncFile(NamedTuple):
    """One file of a sync: its key (the relative path) and where it is. A directory that could
    not be listed is an item too (its key ends with ``/``, ``unreadable`` says why): it fails,
    and is reported, rather than vanishing from the job."""

    key: str
    path: str
    unreadable: str | None = None

    @property
    def name(self) -> str:
        return self.key.rpartition("/")[2]


def default_ledger_path(source: str | os.PathLike[str], base_url: str, account: str) -> Path:
    """``$XDG_STATE_HOME/cincopa/sync/<digest of source, base URL, account>.sqlite``.

    The source is identified by its real path (symbolic links resolved), so one directory
    reached through any spelling -- relative, absolute, through a linked path -- has one ledger.
    """
    from ._uploads import sha256

    root = Path(os.environ.get("XDG_STATE_HOME") or Path.home() / ".local" / "state")
    source_dir = os.path.realpath(source)
    digest = sha256(f"{source_dir}\0{base_url}\0{account}".encode()).hexdigest()[:20]
    return root / "cincopa" / "sync" / f"{digest}.sqlite"


class _LedgerFiles(NamedTuple):
    """The ledger's file and its SQLite side files: their names and their directory's identity."""

    names: frozenset[str]
    directory: tuple[int, int] | None  # (st_dev, st_ino); None: the directory cannot be stat'ed

    @classmethod
    def of(cls, ledger: str | os.PathLike[str]) -> _LedgerFiles:
        # SQLite opens a linked database at its target and keeps the side files beside it.
        real = Path(os.path.realpath(ledger))
        names = frozenset(
            real.name + suffix for suffix in ("", "-wal", "-shm", "-journal", "-run.lock")
        )
        return cls(names, _identity(real.parent))

    def holds(self, directory: Path, name: str) -> bool:
        return (
            name in self.names
            and self.directory is not None
            and _identity(directory) == self.directory
        )


def _identity(path: Path) -> tuple[int, int] | None:
    try:
        info = os.stat(path)
    except OSError:
        return None
    return info.st_dev, info.st_ino


def walk(source: str | os.PathLike[str], *, skip: Path | None = None) -> Iterator[SyncFile]:
    """The regular files under ``source``, depth first in name order, lazily (a directory of a
    million files is never held in memory). Symbolic links are not followed; ``skip`` (the
    ledger, when it lies inside) and its side files are left out, whatever the spelling of
    either path: a file is the ledger's when its name is the ledger's (or that and ``-wal``,
    ``-shm``, ``-journal``, ``-run.lock``) and its directory is the very directory (device and
    inode) the ledger's real path lies in -- side files that do not exist yet are known too."""
    root = Path(source)
    ledger = _LedgerFiles.of(skip) if skip is not None else None

    def visit(directory: Path, prefix: str) -> Iterator[SyncFile]:
        try:
            entries = sorted(os.scandir(directory), key=lambda entry: entry.name)
        except OSError as exc:
            yield SyncFile(prefix or "./", str(directory), exc.strerror or type(exc).__name__)
            return
        for entry in entries:
            if entry.is_dir(follow_symlinks=False):
                yield from visit(Path(entry.path), f"{prefix}{entry.name}/")
            elif entry.is_file(follow_symlinks=False) and not (
                ledger is not None and ledger.holds(directory, entry.name)
            ):
                yield SyncFile(prefix + entry.name, entry.path)

    yield from visit(root, "")


def _reuse(item: SyncFile, record: LedgerRecord) -> Asset | None:
    """A done record still describes the file: the same size and modification time."""
    from ._bulk import _asset_from_record

    if not record.rid:
        return None
    try:
        info = os.stat(item.path)
    except OSError:
        return None
    if (info.st_size, info.st_mtime_ns) != (record.size, record.mtime_ns):
        return None
    return _asset_from_record(record, item.name)


def sync_key(item: Any) -> str:
    if not isinstance(item, SyncFile):
        raise CincopaValidationError(["input: expected a SyncFile"], operation="sync")
    return item.key


def sync_record(item: SyncFile, asset: Asset, state: ItemState) -> LedgerRecord:
    from ._ledger import LedgerRecord

    return LedgerRecord(
        key=item.key,
        state="done",
        reference=asset.reference_id,
        rid=asset.rid,
        size=state.size,
        mtime_ns=state.mtime_ns,
        attempts=state.attempt,
    )


async def store_sync_file(
    client: AsyncCincopa,
    item: SyncFile,
    state: ItemState,
    *,
    gallery: str | None,
    chunk_size: int,
    converge: bool = False,
    run: BulkRun[SyncFile, Asset] | None = None,
) -> Asset:
    """Upload one file of a sync (its reference: the relative path and the content)."""
    if item.unreadable is not None:
        raise UploadSourceError(
            f"sync: the directory {item.key!r} could not be listed: {item.unreadable}",
            operation="sync",
        )
    content = Content(item.path, name=item.name, operation="sync")
    await content.stat()
    if run is not None:
        run.sized(state, content.size)
    else:
        state.size = content.size
    state.mtime_ns = content.mtime_ns or None
    reference = derived_reference(item.key, await content.sha256())
    return await store_file(
        client,
        content,
        reference,
        reconcile=state.reconcile,
        converge=converge,
        gallery=gallery,
        chunk_size=chunk_size,
        on_progress=(
            (lambda update: run.acknowledged(state, update.bytes_done)) if run is not None else None
        ),
        claim=state.claim,
    )


async def register(ledger: Ledger, files: Iterator[SyncFile]) -> tuple[int, int]:
    """Register every file as pending (if the ledger does not know it); (count, bytes)."""
    from ._ledger import LedgerRecord, checked_key

    count = total = 0
    batch: list[LedgerRecord] = []

    def stat_batch(items: list[SyncFile]) -> list[LedgerRecord]:
        records = []
        for item in items:
            try:
                checked_key(item.key)  # one that cannot be a key fails as its own item
                info = os.stat(item.path)
            except (OSError, CincopaValidationError):
                continue
            size = 0 if item.unreadable is not None else info.st_size
            records.append(LedgerRecord(item.key, "pending", size=size))
        return records

    pending: list[SyncFile] = []
    for item in files:
        pending.append(item)
        if len(pending) >= REGISTER_BATCH:
            batch = await anyio.to_thread.run_sync(stat_batch, pending, limiter=file_threads())
            await ledger.register(batch)
            count += len(batch)
            total += sum(record.size or 0 for record in batch)
            pending = []
    if pending:
        batch = await anyio.to_thread.run_sync(stat_batch, pending, limiter=file_threads())
        await ledger.register(batch)
        count += len(batch)
        total += sum(record.size or 0 for record in batch)
    return count, total


def sync_directory(
    client: AsyncCincopa,
    source: str | os.PathLike[str],
    ledger: Ledger,
    *,
    gallery: str | None = None,
    concurrency: int | None = None,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    on_progress: BulkProgressCallback | None = None,
    item_attempts: int = 4,
    files: Callable[[], Iterator[SyncFile]] | None = None,
    totals: tuple[int, int] | None = None,
    new_job: bool = False,
) -> BulkRun[SyncFile, Asset]:
    """The run of a sync on this machine (``async with`` it for each file's outcome).

    On a ledger that has never started a file (a first run, or a rerun whose ledger was lost)
    every file is looked up first; ``new_job=True`` asserts a first run (see ``_bulk``)."""
    check_upload_options(chunk_size)
    if not Path(source).is_dir():
        raise CincopaValidationError(
            [f"source: {os.fspath(source)!r} is not a directory"], operation="sync"
        )
    run: BulkRun[SyncFile, Asset]

    async def step(item: SyncFile, state: ItemState) -> Asset:
        return await store_sync_file(
            client, item, state, gallery=gallery, chunk_size=chunk_size, run=run
        )

    inputs = files() if files is not None else walk(source, skip=ledger.path)
    run = BulkRun(
        client,
        "sync",
        step,
        inputs,
        concurrency=concurrency,
        item_attempts=item_attempts,
        on_progress=on_progress,
        ledger=LedgerPolicy(ledger, sync_key, _reuse, sync_record, retry_failed=True),
        totals=totals,
        new_job=new_job,
    )
    return run
