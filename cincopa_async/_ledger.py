"""A durable ledger of a bulk job: one row per item, in SQLite (the standard library's ``sqlite3``).

``Ledger(path)`` opens (or creates) the file; ``cp.bulk.*(..., ledger=...)`` takes it (or just the
path). Each item has a key (the input's identity: a file path, a URL, a rid ...) and a state:

* ``pending``  -- known, never attempted (``cincopa sync`` registers what it will do);
* ``started``  -- attempted, outcome unknown: a rerun reconciles it (looks for what an attempt
  may have stored) before doing anything;
* ``done``     -- succeeded: a rerun costs it no request (``rid``, ``reference`` say what it is);
* ``failed``   -- failed: ``error_class`` and ``error_message`` say why; a rerun retries it or
  reports it again, as the caller chooses.

plus ``attempts``, ``size`` and ``mtime_ns`` (for file inputs: a file whose size or modification
time changed is a new item), ``job`` (the server-side job an item started -- an import's
``status_id`` -- which a rerun follows instead of starting another), and ``created``/``updated``
timestamps.

**Durability.** The file is in WAL mode with ``synchronous=NORMAL``: a committed transaction
survives the process being killed at any point (SIGKILL included), though not a power loss of
the machine. An item is marked ``started`` -- committed -- before its first request; outcomes
are written in batches (a lost batch only makes a rerun reconcile those items, which costs
look-ups, never a duplicate). Many items share one commit ("group commit"), so the ledger costs
a few microseconds per item, in a worker thread: the event loop never waits on the disk.

``export(destination, format="csv"|"jsonl")`` writes the rows for a report.
"""

from __future__ import annotations

import contextlib
import csv
import json
import os
import sqlite3
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import IO, Final, Literal, NamedTuple, TypeAlias, TypeVar

import anyio

from ._errors import CincopaValidationError

__all__ = ["ITEM_STATES", "Ledger", "LedgerRecord", "checked_key"]

T = TypeVar("T")

ITEM_STATES: Final = ("pending", "started", "done", "failed")
SCHEMA_VERSION: Final = 1
_COLUMNS: Final = (
    "key",
    "state",
    "reference",
    "rid",
    "size",
    "mtime_ns",
    "error_class",
    "error_message",
    "attempts",
    "created",
    "updated",
    "job",
)
_SCHEMA: Final = f"""
CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS items (
    key TEXT PRIMARY KEY,
    state TEXT NOT NULL CHECK (state IN {ITEM_STATES!r}),
    reference TEXT,
    rid TEXT,
    size INTEGER,
    mtime_ns INTEGER,
    error_class TEXT,
    error_message TEXT,
    attempts INTEGER NOT NULL DEFAULT 0,
    created REAL NOT NULL,
    updated REAL NOT NULL,
    job TEXT
);
CREATE INDEX IF NOT EXISTS items_by_state ON items (state);
CREATE INDEX IF NOT EXISTS items_by_reference ON items (reference);
"""
_FLUSH_AFTER: Final = 512  # outcomes kept in memory at most before a commit


class LedgerRecord(NamedTuple):
    """One item's row."""

    key: str
    state: str
    reference: str | None = None
    rid: str | None = None
    size: int | None = None
    mtime_ns: int | None = None
    error_class: str | None = None
    error_message: str | None = None
    attempts: int = 0
    created: float = 0.0
    updated: float = 0.0
    job: str | None = None


#: The run locks this process holds: descriptor -> its ledger. A forked child closes its copies
#: (a ``flock`` belongs to the open file, which the child shares: it would keep the lock after
#: the parent gave it back); closing them there leaves the parent's lock as it is.
_HELD_RUN_LOCKS: dict[int, Ledger] = {}


def _close_inherited_run_locks() -> None:
    for fd in _HELD_RUN_LOCKS:
        with contextlib.suppress(OSError):
            os.close(fd)
    _HELD_RUN_LOCKS.clear()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_close_inherited_run_locks)


def run_lock_path(ledger: Path) -> Path:
    """The file whose ``flock`` says a run has the ledger (``Ledger.begin_run``): beside the
    file SQLite opens -- the ledger's real path, as its ``-wal`` and ``-shm`` files -- so that
    every spelling of the path (a symbolic link to it, ``..``) takes the one lock."""
    real = Path(os.path.realpath(ledger))
    return real.with_name(real.name + "-run.lock")


def checked_key(key: str) -> str:
    """``key``, if SQLite can store it (UTF-8 text); else the item's ``CincopaValidationError``
    (a file name that is not valid UTF-8 keeps lone surrogates after ``os.fsdecode``)."""
    try:
        key.encode("utf-8")
    except UnicodeEncodeError:
        raise CincopaValidationError(
            [f"input: {key!r:.200} is not valid UTF-8 text (a file name in another encoding?)"],
            operation="ledger",
        ) from None
    return key


_Outcomes: TypeAlias = "tuple[list[LedgerRecord], list[tuple[str, str]]]"
"""Outcomes held in memory (records, and (job, key) notes), taken together for one commit."""


class Ledger:
    """An item ledger in an SQLite file (see the module docstring).

    Use it as an async context manager, or call ``await ledger.aclose()``, so that the last
    outcomes are written. One ledger serves one job at a time, of one account (``bind``: a
    run on another account or API root refuses it). A file that cannot be one (not an SQLite
    database, another schema version, unwritable) is a ``CincopaValidationError`` when the
    ledger is opened.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self._db: sqlite3.Connection | None = None
        self._lock = anyio.Lock()  # one transaction at a time, in one worker thread at a time
        self._outcomes: list[LedgerRecord] = []
        self._jobs: list[tuple[str, str]] = []  # (job, key): noted, not written yet
        self._closed = False
        self._running = False  # a run has it (begin_run)
        self._run_lock: int | None = None  # the descriptor holding the run lock file's flock
        self.close_after_run = False  # made by a bulk run from a path: closed when it ends

    def __repr__(self) -> str:
        from ._redact import scrub

        return f"<Ledger {scrub(repr(str(self.path)))}{' closed' if self._closed else ''}>"

    # -- lifecycle ----------------------------------------------------------------------------

    def _connect(self) -> sqlite3.Connection:
        if self._db is None:
            if self._closed:
                raise RuntimeError("this ledger is closed")
            db: sqlite3.Connection | None = None
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
                db.execute("PRAGMA journal_mode=WAL")
                db.execute("PRAGMA synchronous=NORMAL")
                db.executescript(_SCHEMA)
                db.execute(
                    "INSERT OR IGNORE INTO meta (name, value) VALUES ('schema', ?)",
                    (str(SCHEMA_VERSION),),
                )
                (schema,) = db.execute("SELECT value FROM meta WHERE name = 'schema'").fetchone()
            except (OSError, sqlite3.Error, ValueError) as exc:
                if db is not None:
                    db.close()
                raise self._unusable(str(exc)) from None
            if schema != str(SCHEMA_VERSION):
                db.close()
                raise self._unusable(f"its schema is version {schema!r:.20}, not {SCHEMA_VERSION}")
            self._db = db
        return self._db

    def _unusable(self, why: str) -> CincopaValidationError:
        return CincopaValidationError(
            [f"ledger: {os.fspath(self.path)!r} cannot be used as a ledger ({why})"],
            operation="ledger",
        )

    async def open(self) -> None:
        """Open (or create) the file now; idempotent. Every use opens it when needed too."""
        await self._run(self._connect)

    async def __aenter__(self) -> Ledger:
        await self.open()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Write the outcomes still held, and close the file. Idempotent. A run that has
        the ledger gives it back once they are written: no other run reads them unwritten."""
        if self._closed:
            return
        with anyio.CancelScope(shield=True):
            await self.end_run()
            await self.flush()
            async with self._lock:
                db, self._db = self._db, None
                self._closed = True
                if db is not None:
                    await anyio.to_thread.run_sync(db.close)

    async def _run(self, fn: Callable[..., T], *args: object) -> T:
        async with self._lock:
            return await anyio.to_thread.run_sync(fn, *args)

    async def _run_committing(self, fn: Callable[[_Outcomes], T]) -> T:
        """``fn(outcomes)`` in the worker thread, given the outcomes held in memory to commit.

        They are taken only once the lock is held, and the thread is not abandoned on
        cancellation, so a commit cancelled while it waits for the lock leaves them in memory
        for the next (the run's last flush is shielded); one that fails puts them back."""
        async with self._lock:
            outcomes = self._take_outcomes()
            try:
                return await anyio.to_thread.run_sync(fn, outcomes)
            except BaseException:
                self._outcomes[:0], self._jobs[:0] = outcomes  # not written: kept for the next
                raise

    # -- reading ------------------------------------------------------------------------------

    async def get_many(self, keys: Sequence[str]) -> dict[str, LedgerRecord]:
        """The records of those keys that have one (in one query per 500 keys)."""
        if not keys:
            return {}

        def query(outcomes: _Outcomes) -> dict[str, LedgerRecord]:
            db = self._connect()
            self._commit(outcomes, db)  # a read sees the outcomes held in memory too
            found: dict[str, LedgerRecord] = {}
            for start in range(0, len(keys), 500):
                part = keys[start : start + 500]
                marks = ",".join("?" * len(part))
                rows = db.execute(
                    f"SELECT {', '.join(_COLUMNS)} FROM items WHERE key IN ({marks})",  # noqa: S608 - placeholders only
                    tuple(part),
                )
                for row in rows:
                    found[row[0]] = LedgerRecord(*row)
            return found

        return await self._run_committing(query)

    async def trusts_unseen(self, new_job: bool) -> bool:
        """May items this ledger has not seen skip the look-ups? Only on a ledger whose job was
        declared new (``new_job=True``, now or by an earlier run on it; recorded): any other
        ledger may be the replacement of a lost one, whose runs stored items it cannot know."""

        def query() -> bool:
            db = self._connect()
            if new_job:
                db.execute("INSERT OR REPLACE INTO meta (name, value) VALUES ('new_job', '1')")
                return True
            row = db.execute("SELECT value FROM meta WHERE name = 'new_job'").fetchone()
            return row is not None and row[0] == "1"

        return await self._run(query)

    async def bind(self, owner: str) -> None:
        """Record whose job this ledger keeps -- ``owner``, a digest of the API root and the
        account a run works on (``_bulk.ledger_owner``) -- on its first run, and refuse a run
        of another owner (``CincopaValidationError``, before anything is sent): the items the
        ledger says are done are in the account it was kept for, not in that one."""

        def check() -> str:
            db = self._connect()
            db.execute("INSERT OR IGNORE INTO meta (name, value) VALUES ('owner', ?)", (owner,))
            (found,) = db.execute("SELECT value FROM meta WHERE name = 'owner'").fetchone()
            return str(found)

        if await self._run(check) != owner:
            raise self._unusable(
                "it keeps the job of another account or API root: its done items are not in"
                " this one; give this job a ledger of its own"
            )

    async def begin_run(self) -> None:
        """Take the ledger for one run, or refuse it (``CincopaValidationError``) while another
        run has it -- of this object, of another ``Ledger`` of the same file, of another
        process (an exclusive ``flock`` on ``<ledger>-run.lock``, where the OS and the file
        system have one). Two runs at once would each take the other's items for unseen and
        store them again. ``end_run`` gives it back."""
        if self._running:
            raise self._in_use()
        self._running = True
        try:
            self._run_lock = await self._run(self._lock_run_file)
        except BaseException:
            self._running = False
            raise
        if self._run_lock is not None:
            _HELD_RUN_LOCKS[self._run_lock] = self

    async def end_run(self) -> None:
        """Give back what ``begin_run`` took, once the outcomes held in memory are written (no
        other run reads them unwritten), shielded from cancellation; idempotent. A write that
        fails is raised, with the ledger given back all the same."""
        if not self._running:
            return
        with anyio.CancelScope(shield=True):
            try:
                await self.flush()
            finally:
                fd, self._run_lock = self._run_lock, None
                self._running = False
                # In a forked child the descriptor was closed at the fork (and its number may
                # be another file's now): only one this process holds for this ledger is closed.
                if fd is not None and _HELD_RUN_LOCKS.get(fd) is self:
                    del _HELD_RUN_LOCKS[fd]
                    os.close(fd)  # releases the flock

    def _lock_run_file(self) -> int | None:
        try:
            import fcntl
        except ImportError:  # no flock here: runs of this object are still kept apart
            return None
        try:
            fd = os.open(run_lock_path(self.path), os.O_RDWR | os.O_CREAT, 0o600)
        except OSError as exc:
            raise self._unusable(
                f"its run lock cannot be opened: {exc.strerror or type(exc).__name__}"
            ) from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise self._in_use() from None
        except OSError:  # a file system without flock: as above
            os.close(fd)
            return None
        return fd

    def _in_use(self) -> CincopaValidationError:
        return self._unusable(
            "another run is using it now (one ledger serves one run at a time: two at once"
            " would store their items twice)"
        )

    async def claim_reference(self, reference: str, key: str) -> bool:
        """Record that item ``key`` is about to store ``reference``, and say whether another
        item of this ledger claimed or stored it before (then it may be in the account).

        Called under the reference's lock: claims of one reference are serialised, and each is
        committed before the next is checked, so two inputs of one reference in a job (the same
        file twice, identical files in two folders) never both skip the look-up."""
        unwritten = any(r.reference == reference and r.key != key for r in self._outcomes)

        def claim() -> bool:
            # Two statements, each its own (WAL, not synced) commit: no transaction to open, and
            # the ledger's lock keeps other claims of this process out in between.
            db = self._connect()
            row = db.execute(
                "SELECT 1 FROM items WHERE reference = ? AND key != ? AND state != 'pending'"
                " LIMIT 1",
                (reference, key),
            ).fetchone()
            db.execute("UPDATE items SET reference = ? WHERE key = ?", (reference, key))
            return row is not None

        return await self._run(claim) or unwritten

    async def get(self, key: str) -> LedgerRecord | None:
        return (await self.get_many([key])).get(key)

    def records(self, state: str | None = None) -> Iterator[LedgerRecord]:
        """Every record (of one ``state``), in key order -- synchronously, for reports."""
        db = self._connect()
        self._commit_held(db)
        where, args = ("WHERE state = ?", (state,)) if state else ("", ())
        for row in db.execute(
            f"SELECT {', '.join(_COLUMNS)} FROM items {where} ORDER BY key",  # noqa: S608 - fixed text
            args,
        ):
            yield LedgerRecord(*row)

    def counts(self) -> dict[str, int]:
        """How many items are in each state (synchronously)."""
        db = self._connect()
        self._commit_held(db)
        found = dict(db.execute("SELECT state, COUNT(*) FROM items GROUP BY state").fetchall())
        return {state: int(found.get(state, 0)) for state in ITEM_STATES}

    # -- writing ------------------------------------------------------------------------------

    async def register(self, records: Iterable[LedgerRecord]) -> None:
        """Add items as ``pending`` unless they are known (one transaction)."""
        rows = [(r.key, r.size, r.mtime_ns, r.reference) for r in records]

        def insert() -> None:
            now = time.time()
            db = self._connect()
            with _transaction(db):
                db.executemany(
                    "INSERT OR IGNORE INTO items (key, state, size, mtime_ns, reference,"
                    " created, updated) VALUES (?, 'pending', ?, ?, ?, ?, ?)",
                    [(*row, now, now) for row in rows],
                )

        await self._run(insert)

    async def start(self, keys: Sequence[str]) -> None:
        """Mark items ``started`` and commit, before their first request."""
        if not keys:
            return

        def mark(outcomes: _Outcomes) -> None:
            now = time.time()
            db = self._connect()
            with _transaction(db):
                self._write(db, outcomes)
                db.executemany(
                    "INSERT INTO items (key, state, attempts, created, updated)"
                    " VALUES (?, 'started', 1, ?, ?) ON CONFLICT (key) DO UPDATE SET"
                    " state = 'started', attempts = attempts + 1, updated = excluded.updated",
                    [(key, now, now) for key in keys],
                )

        await self._run_committing(mark)

    def note_job(self, key: str, job: str) -> None:
        """Record the server-side job an item started (written with the next commit: a bulk
        import flushes right after, before following the job)."""
        self._jobs.append((job, key))

    def finish(self, record: LedgerRecord) -> None:
        """Record an item's outcome (``done`` or ``failed``); written with the next commit."""
        if record.state not in ("done", "failed"):
            raise ValueError(f"an outcome is done or failed, not {record.state!r}")
        self._outcomes.append(record)

    def needs_flush(self) -> bool:
        return len(self._outcomes) + len(self._jobs) >= _FLUSH_AFTER

    async def flush(self) -> None:
        """Commit the outcomes held in memory."""
        if self._outcomes or self._jobs:
            await self._run_committing(self._commit)

    def _commit_held(self, db: sqlite3.Connection) -> None:
        """Before a synchronous read (``records``, ``counts``): commit the outcomes held in
        memory -- unless a commit is under way in the worker thread (the lock is held): then
        they stay for the next commit, and the read sees the file as it is. One that fails
        puts them back."""
        if self._lock.locked() or not (self._outcomes or self._jobs):
            return
        outcomes = self._take_outcomes()
        try:
            self._commit(outcomes, db)
        except BaseException:
            self._outcomes[:0], self._jobs[:0] = outcomes
            raise

    def _take_outcomes(self) -> _Outcomes:
        outcomes, self._outcomes = self._outcomes, []
        jobs, self._jobs = self._jobs, []
        return outcomes, jobs

    def _commit(
        self,
        outcomes: _Outcomes,
        db: sqlite3.Connection | None = None,
    ) -> None:
        if not outcomes[0] and not outcomes[1]:
            return
        db = db or self._connect()
        with _transaction(db):
            self._write(db, outcomes)

    @staticmethod
    def _write(db: sqlite3.Connection, outcomes: _Outcomes) -> None:
        records, jobs = outcomes
        if jobs:
            db.executemany("UPDATE items SET job = ? WHERE key = ?", jobs)
        if not records:
            return
        now = time.time()
        db.executemany(
            "INSERT INTO items (key, state, reference, rid, size, mtime_ns, error_class,"
            " error_message, attempts, created, updated, job)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
            " ON CONFLICT (key) DO UPDATE SET state = excluded.state,"
            " reference = COALESCE(excluded.reference, items.reference), rid = excluded.rid,"
            " size = excluded.size,"
            " mtime_ns = excluded.mtime_ns, error_class = excluded.error_class,"
            " error_message = excluded.error_message,"
            " attempts = MAX(items.attempts, excluded.attempts), updated = excluded.updated,"
            " job = COALESCE(excluded.job, items.job)",
            [
                (
                    r.key,
                    r.state,
                    r.reference,
                    r.rid,
                    r.size,
                    r.mtime_ns,
                    r.error_class,
                    r.error_message,
                    r.attempts,
                    r.created or now,
                    now,
                    r.job,
                )
                for r in records
            ],
        )

    # -- reports ------------------------------------------------------------------------------

    def export(
        self, destination: str | os.PathLike[str] | IO[str], format: Literal["csv", "jsonl"] = "csv"
    ) -> int:
        """Write every record as CSV (with a header) or JSON Lines; returns how many."""
        if format not in ("csv", "jsonl"):
            raise CincopaValidationError(
                [f"format: 'csv' or 'jsonl', not {format!r:.40}"], operation="ledger.export"
            )
        with contextlib.ExitStack() as stack:
            if isinstance(destination, str | os.PathLike):
                out: IO[str] = stack.enter_context(
                    open(destination, "w", encoding="utf-8", newline="")
                )
            else:
                out = destination
            count = 0
            writer = csv.writer(out) if format == "csv" else None
            if writer is not None:
                writer.writerow(_COLUMNS)
            for record in self.records():
                if writer is not None:
                    writer.writerow(record)
                else:
                    out.write(json.dumps(record._asdict(), ensure_ascii=False) + "\n")
                count += 1
        return count


@contextlib.contextmanager
def _transaction(db: sqlite3.Connection) -> Iterator[None]:
    db.execute("BEGIN IMMEDIATE")
    try:
        yield
    except BaseException:
        db.execute("ROLLBACK")
        raise
    db.execute("COMMIT")
