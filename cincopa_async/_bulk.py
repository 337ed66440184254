"""The bulk engine (``cp.bulk``): many items, run concurrently, every one accounted for.

Every bulk method returns a ``BulkRun``, which runs when used, in one of two ways:

* ``result = await cp.bulk.upload_files(paths)``: a ``BulkResult``, one ``BulkItem`` per input,
  in input order (held in memory: for jobs of thousands of items);
* ``async with cp.bulk.upload_files(paths, ledger=...) as outcomes: async for item in
  outcomes: ...``: each item as it finishes, nothing held -- the way to run a job of any size
  (inputs are read as the run goes, from any iterable or async iterable, never materialised;
  memory stays the same for a thousand items or a million). Leaving the block stops the run.

An item is a ``BulkSuccess`` (``ok`` True, ``.value`` its result) or a ``BulkFailure`` (``ok``
False, ``.error`` the exception that ended it: a typed ``CincopaError`` for an API failure); both
have ``.input``. ``if item.ok:`` narrows the item for mypy. Pyright narrows on ``item.ok is
True`` or ``isinstance(item, BulkSuccess)``, not on truthiness, so ``item.value`` is typed as the
success's value on either kind (a failure's raises ``AttributeError``): ``item.value.rid if
item.ok else item.error`` type-checks under both.

One item's failure never stops the others, unless ``fail_fast=True``: then the run stops at the
first failure, and every input it did not finish -- in flight, or not read yet -- carries a
``BulkCancelledError``. Cancelling the caller cancels every item promptly (anyio task groups;
imports in flight are aborted on the server).

**Concurrency.** Items run in up to ``concurrency`` workers (default: the client's
``max_concurrency``; at most ``MAX_BULK_CONCURRENCY``, each worker being a task), and every
request still passes the client's limiter. The number of items
in flight adapts (AIMD): it halves when the server answers 429 or 503 -- waiting out its
``Retry-After`` before starting more, up to the client's ``max_retry_after`` (60 s): a longer
hint (an hour, ``inf``, a date decades away) is not waited for, and that item fails with its
``RateLimitError`` (``.retry_after`` says what the server asked) while the others go on -- and
grows by one after as many successes as it has slots. Items that fail with a transient error
(the connection, 408/429/5xx, a garbled or truncated reply) are attempted again, up to
``item_attempts`` times.

**A ledger** (``ledger=`` a path or a ``Ledger``; see ``_ledger``) records every item's state in
SQLite, so that a job killed at any point and run again resumes: done items cost no request,
items that were started are reconciled (below), failed ones are retried (``retry_failed=True``,
the default) or reported again. An item is marked started, durably, before its first request.

**The requests an item needs, and no more.** A fresh upload -- one the ledger has never seen --
costs what a careful hand-written loop costs: ``asset.get_upload_url``, the POST(s) and
``asset.set_meta``, plus one indexed look-up in the ledger (``Ledger.claim_reference``: another
input of the job with the same reference makes this one look the account up first) -- on a
ledger whose job was declared new: ``new_job=True`` on its first run (recorded in the ledger:
later runs on it need not repeat it) says nothing of the job is in the account yet; if that is
wrong, an item an earlier run stored is stored again. Any other ledger may be the replacement of
a lost one, so the items it has not seen are looked up (2 requests more per upload). Look-ups in
the account otherwise happen only where an earlier attempt may have stored something: an item
the ledger marks started or failed, a retry of an item in this run, an input whose reference
another input claimed, and every item of a run without a ledger.

**No duplicates, no loss.** Every bulk upload carries a ``reference_id``: the caller's, or one
derived from the file name and content (``derived_reference``); imports one derived from the
URL. A look-up finds the reference (``asset.list(reference_id=...)``) and reuses what is there,
or adopts an asset that *provably* holds the input's bytes but has no reference yet -- what an
upload leaves when it stored the file but failed before ``asset.set_meta`` -- by downloading that
asset's original and comparing SHA-256 digests (a look-alike of the same name and size is never
enough: ``_uploads.look_for_stored``; an untagged look-alike that can be neither proven nor
ruled out makes the item an ``UploadOutcomeUnknownError``, never a second copy). A reference
that already names an asset of another size is a ``ReferenceConflictError``; one of the same
size is reused without comparing bytes (a caller's reference is trusted to name its item; the
derived reference is what tells contents apart). Uploads of look-alike inputs (the same
reference, or the same name and size) run one at a time in a client (``cp.upload_file``
included), so none can take another's fresh, still untagged asset; and an untagged asset that
``cp.upload_file`` returned to its caller (the client's last 4,096) is never adopted. Imports
are attempted again only when they certainly did not start; a lost reply is reconciled
(``_uploads.import_url``), never re-sent. With ``converge=True`` (what runs on Dask use: a task
may run twice, even at once on two workers) an upload also looks its reference up after
storing, and when it finds several assets keeps the one with the smallest rid and deletes the
others, so that concurrent executions of one item end with exactly one asset.

**Bad input** (a missing file, an undecodable name, an empty file, metadata ``asset.set_meta``
would refuse) is that item's ``CincopaValidationError``, raised before any of its requests; bad
options are a ``CincopaValidationError`` when the run is created.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import stat
import time
from collections.abc import (
    AsyncIterable,
    AsyncIterator,
    Awaitable,
    Callable,
    Coroutine,
    Generator,
    Iterable,
    Iterator,
    Mapping,
    Sequence,
    Sized,
)
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from types import TracebackType
from typing import (
    TYPE_CHECKING,
    Any,
    Concatenate,
    Final,
    Generic,
    Literal,
    NamedTuple,
    NoReturn,
    ParamSpec,
    TypeAlias,
    TypeVar,
)

import anyio
import attrs
from anyio.streams.memory import MemoryObjectReceiveStream

from ._encode import is_count
from ._errors import (
    APIConnectionError,
    APIResponseError,
    APIStatusError,
    CincopaError,
    CincopaValidationError,
    RateLimitError,
    ReferenceConflictError,
    UploadOutcomeUnknownError,
    UploadSourceError,
)
from ._redact import scrub_then_truncate
from ._retry import is_transient
from ._uploads import (
    DEFAULT_CHUNK_SIZE,
    EMPTY_FILE,
    UploadProgress,
    check_filename,
    check_gallery,
    check_import_options,
    check_metadata,
    check_upload_options,
    check_url,
    file_sha256,
    file_threads,
    find_imported_orphan,
    finish_asset,
    import_url,
    look_for_stored,
    may_have_been_applied,
    os_problem,
    path_problem,
    sha256,
    upload_file,
    upload_name,
)

if TYPE_CHECKING:
    from ._client import AsyncCincopa
    from ._ledger import Ledger, LedgerRecord
    from ._models import Ack, Asset

__all__ = [
    "BulkCancelledError",
    "BulkFailure",
    "BulkItem",
    "BulkOperations",
    "BulkProgress",
    "BulkResult",
    "BulkRun",
    "BulkStreams",
    "BulkSuccess",
    "FileToUpload",
    "LedgerFailedError",
    "derived_reference",
]

InputT = TypeVar("InputT")
ValueT = TypeVar("ValueT")

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_CHUNK = 256  # inputs read (and looked up in the ledger, and marked started) at a time

FileToUpload = str | os.PathLike[str] | tuple[str, bytes]
"""A bulk upload input: a path, or ``(file name, content)``."""

Inputs: TypeAlias = Iterable[InputT] | AsyncIterable[InputT]


class BulkCancelledError(CincopaError):
    """The bulk run stopped (``fail_fast``) before this item finished; it may be partly done."""


class LedgerFailedError(CincopaError):
    """The ledger records this item as failed by an earlier run, which ``retry_failed=False``
    reports again instead of retrying. ``error_class`` and ``error_message`` are the ledger's."""

    def __init__(self, record: LedgerRecord, *, operation: str) -> None:
        self.error_class = record.error_class or ""
        self.error_message = record.error_message or ""
        super().__init__(
            f"{operation}: failed in an earlier run ({self.error_class}: {self.error_message})",
            operation=operation,
        )


# -- results -----------------------------------------------------------------------------------


@attrs.frozen
class BulkSuccess(Generic[InputT, ValueT]):
    """An input that succeeded: ``ok`` is True, ``value`` its result, ``error`` None.

    ``reused`` is True when the run's ledger said the input was done already: no request was
    sent for it (its value is what the ledger recorded).
    """

    input: InputT
    value: ValueT
    reused: bool = False

    @property
    def ok(self) -> Literal[True]:
        return True

    @property
    def error(self) -> None:
        return None


@attrs.frozen
class BulkFailure(Generic[InputT]):
    """An input that failed: ``ok`` is False, ``error`` the exception that ended it.

    It has no ``value``: reading it raises ``AttributeError`` (typed ``NoReturn``, so that on a
    ``BulkItem`` the value's type is the success's alone).
    """

    input: InputT
    error: Exception

    @property
    def ok(self) -> Literal[False]:
        return False

    @property
    def value(self) -> NoReturn:
        raise AttributeError(
            f"this bulk item failed ({type(self.error).__name__}: {self.error}), so it has no"
            " value; check item.ok first"
        )


BulkItem: TypeAlias = BulkSuccess[InputT, ValueT] | BulkFailure[InputT]
"""The outcome of one input: a ``BulkSuccess`` or a ``BulkFailure`` (tell them by ``.ok``)."""


class BulkResult(Generic[InputT, ValueT]):
    """One ``BulkItem`` per input, in input order."""

    __slots__ = ("items",)

    def __init__(self, items: Sequence[BulkItem[InputT, ValueT]]) -> None:
        self.items: tuple[BulkItem[InputT, ValueT], ...] = tuple(items)

    def __iter__(self) -> Iterator[BulkItem[InputT, ValueT]]:
        return iter(self.items)

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, index: int) -> BulkItem[InputT, ValueT]:
        return self.items[index]

    @property
    def ok(self) -> bool:
        """True when every item succeeded."""
        return all(item.ok for item in self.items)

    @property
    def succeeded(self) -> tuple[BulkSuccess[InputT, ValueT], ...]:
        return tuple(item for item in self.items if isinstance(item, BulkSuccess))

    @property
    def failed(self) -> tuple[BulkFailure[InputT], ...]:
        return tuple(item for item in self.items if isinstance(item, BulkFailure))

    def __repr__(self) -> str:
        return f"<BulkResult {len(self.succeeded)} ok, {len(self.failed)} failed>"


class BulkProgress(NamedTuple):
    """Where a bulk run is: items finished (ok or failed) and, for uploads, bytes sent.

    ``items_total`` is None while a streamed input (an iterator, a generator) is not read to its
    end; ``bytes_total`` is the bytes of the inputs read so far, unless the run knew them all
    up front (a sequence of files).
    """

    items_total: int | None
    items_done: int
    items_failed: int
    bytes_total: int = 0
    bytes_done: int = 0


BulkProgressCallback = Callable[[BulkProgress], object]
"""Called with each ``BulkProgress``, in the run's own task (keep it quick). One that raises is
logged on the ``cincopa_async`` logger and not called again; the run goes on."""

_logger = logging.getLogger("cincopa_async")
MAX_BULK_CONCURRENCY: Final = 10_000  # workers of one run: each is a task, started at once
MAX_DELETE_SENDS: Final = 3  # asset.delete sends of one attempt, each after the asset was listed


# -- what is worth another attempt ----------------------------------------------------------------


def _is_overload(error: BaseException) -> float | None:
    """The wait hint of a 429/503 (0 when the server gave none); None for other errors."""
    if isinstance(error, RateLimitError) or (
        isinstance(error, APIStatusError) and error.status_code == 503
    ):
        return error.retry_after or 0.0
    return None


def _asks_too_long(error: BaseException, max_wait: float) -> bool:
    """A 429/503 whose ``Retry-After`` exceeds what the client waits for (its
    ``max_retry_after``): the item fails with it rather than stalling the run."""
    hint = _is_overload(error)
    return hint is not None and not hint <= max_wait  # NaN and inf never qualify to wait


def not_applied(error: BaseException) -> bool:
    """A transient failure that certainly changed nothing on the server: a 429 (refused), or a
    connection that never carried the request. What ``bulk.run`` attempts an item again for."""
    return isinstance(error, RateLimitError) or (
        isinstance(error, APIConnectionError) and not error.request_sent
    )


def _import_not_started(error: BaseException) -> bool:
    """A failed import item that may be attempted again: its ``asset.upload_from_url`` was
    refused (429) or never reached the server. Any later failure may leave a job running."""
    if getattr(error, "operation", None) != "asset.upload_from_url":
        return False
    return isinstance(error, RateLimitError) or (
        isinstance(error, APIConnectionError) and not error.request_sent
    )


class AdaptiveLimit:
    """An AIMD limit on items in flight, between 1 and ``maximum``.

    ``sleep`` waits out an overload hint (the client's: tests replace it).
    """

    def __init__(
        self, maximum: int, sleep: Callable[[float], Awaitable[object]] = anyio.sleep
    ) -> None:
        self.maximum = maximum
        self.limiter = anyio.CapacityLimiter(maximum)
        self.resume_at = 0.0
        self._successes = 0
        self._sleep = sleep

    @property
    def current(self) -> int:
        return int(self.limiter.total_tokens)

    async def __aenter__(self) -> None:
        if (wait := self.resume_at - time.monotonic()) > 0:
            await self._sleep(wait)
        await self.limiter.acquire()
        # An overload hint may have come while this item queued for its slot: it waits that
        # out too (holding the slot: the limit is smaller now anyway) before it starts.
        if (wait := self.resume_at - time.monotonic()) > 0:
            try:
                await self._sleep(wait)
            except BaseException:
                self.limiter.release()
                raise

    async def __aexit__(self, *exc_info: object) -> None:
        self.limiter.release()

    def overloaded(self, retry_after: float) -> None:
        self.limiter.total_tokens = max(1, self.current // 2)
        self._successes = 0
        if retry_after:
            self.resume_at = max(self.resume_at, time.monotonic() + retry_after)

    def succeeded(self) -> None:
        self._successes += 1
        if self._successes >= self.current and self.current < self.maximum:
            self._successes = 0
            self.limiter.total_tokens = self.current + 1


# -- the engine ----------------------------------------------------------------------------------


class ItemState:
    """One item while it runs: what its step knows of its history, and its byte progress.

    ``reconcile``: may an earlier attempt -- of this run, or of a run before (the ledger says
    started, or there is no ledger to say, or the ledger is new and cannot say) -- have stored
    something? Then the step looks for it before sending anything that could store it again.
    ``claim``: see ``Ledger.claim_reference``; a step calls it under the reference's lock and
    reconciles when it is True (another input of the job has the same reference).
    ``earlier``: the ledger knows an attempt of this key that may have been applied -- by a run
    before (the item is started or failed) or by another input of this run with the same key --
    so a step whose request cannot be looked for by a reference (``bulk.delete``) confirms
    before sending it.
    """

    __slots__ = (
        "attempt",
        "claim",
        "earlier",
        "index",
        "input",
        "job",
        "key",
        "mtime_ns",
        "reconcile",
        "sent",
        "size",
    )

    def __init__(self, index: int, value: Any, key: str | None, reconcile: bool) -> None:
        self.index = index
        self.input = value
        self.key = key
        self.reconcile = reconcile
        self.attempt = 0
        self.size = 0  # bytes of the input, once known (uploads)
        self.sent = 0  # of which acknowledged
        self.mtime_ns: int | None = None  # the file's, for the ledger (uploads of paths)
        self.job: str | None = None  # a server-side job an earlier attempt started (imports)
        self.earlier = False  # the ledger knows an attempt of this key (see the docstring)
        # with a ledger: claim(reference) records that the item stores that reference and is
        # True when another item of the ledger claimed or stored it first
        self.claim: Callable[[str], Awaitable[bool]] | None = None


Step = Callable[[Any, ItemState], Awaitable[Any]]


class LedgerPolicy(NamedTuple):
    """How an operation keeps its items in a ledger."""

    ledger: Ledger
    key: Callable[[Any], str]  # the item's key (a ``CincopaValidationError`` for bad input)
    # A done record's value, or None to do the item again (a file changed since, say). Called
    # in a worker thread, a chunk of items at a time: it may look at the file system.
    reuse: Callable[[Any, LedgerRecord], Any]
    done: Callable[[Any, Any, ItemState], LedgerRecord]  # the record of a success
    retry_failed: bool = True


def ledger_owner(base_url: str, token: str) -> str:
    """Whose job a ledger keeps (``Ledger.bind``): a digest of a client's API root and
    account -- the numeric prefix of its token, ``<account id>i<secret>`` (the observed shape,
    inferred; a token of another shape is counted by the API root alone). Never the token."""
    account = token.partition("i")[0] if _ACCOUNT_TOKEN.fullmatch(token) else ""
    return "api-" + sha256(f"{base_url}\0{account}".encode()).hexdigest()[:24]


_ACCOUNT_TOKEN: Final = re.compile(r"[0-9]+i\S+")


def _ledger_of(ledger: Ledger | str | os.PathLike[str] | None) -> Ledger | None:
    from ._ledger import Ledger  # sqlite3 loads with the first job that keeps a ledger

    if ledger is None or isinstance(ledger, Ledger):
        return ledger
    if isinstance(ledger, str | os.PathLike):
        made = Ledger(ledger)
        made.close_after_run = True  # the run made it: the run closes it
        return made
    raise CincopaValidationError(
        [f"ledger: expected a Ledger or a path, got {type(ledger).__name__}"], operation="bulk"
    )


async def _give_back(book: Ledger, began: bool) -> None:
    """A run's end on its ledger, shielded: its outcomes written and the run lock given back
    (``began``: ``Ledger.end_run``), and the ledger closed when the run made it from a path
    (even when that write failed)."""
    with anyio.CancelScope(shield=True):
        try:
            if began:
                await book.end_run()
        finally:
            if book.close_after_run:
                await book.aclose()


class _Inputs:
    """Inputs read on demand, a few at a time, from an iterable or an async iterable."""

    def __init__(self, inputs: Inputs[Any]) -> None:
        self._sync: Iterator[Any] | None = None
        self._async: AsyncIterator[Any] | None = None
        if isinstance(inputs, AsyncIterable):
            self._async = aiter(inputs)
        else:
            self._sync = iter(inputs)
        self.read = 0
        self.exhausted = False
        self._lock = anyio.Lock()

    async def take(self, count: int) -> list[tuple[int, Any]]:
        """Up to ``count`` inputs with their positions; fewer only at the end."""
        async with self._lock:
            taken: list[tuple[int, Any]] = []
            while len(taken) < count and not self.exhausted:
                if self._sync is not None:
                    value = next(self._sync, _END)
                else:
                    assert self._async is not None
                    value = await anext(self._async, _END)
                if value is _END:
                    self.exhausted = True
                    break
                taken.append((self.read, value))
                self.read += 1
            return taken

    async def aclose(self) -> None:
        closer = getattr(self._async or self._sync, "aclose", None)
        if closer is not None:
            with anyio.CancelScope(shield=True):
                await closer()


_END = object()


class BulkRun(Generic[InputT, ValueT]):
    """A bulk job (see the module docstring): ``await`` it for a ``BulkResult``, or ``async
    with`` it for its outcomes as they finish. It runs once."""

    def __init__(
        self,
        client: AsyncCincopa,
        operation: str,
        step: Step,
        inputs: Inputs[InputT],
        *,
        concurrency: int | None = None,
        fail_fast: bool = False,
        item_attempts: int = 3,
        retry_if: Callable[[Exception], bool] = is_transient,
        on_progress: BulkProgressCallback | None = None,
        ledger: LedgerPolicy | None = None,
        reconcile_without_ledger: bool = True,
        new_job: bool = False,
        count_bytes: Callable[[], int] | None = None,
        totals: tuple[int, int] | None = None,
    ) -> None:
        problems = []
        if concurrency is not None and not (
            is_count(concurrency, 1) and concurrency <= MAX_BULK_CONCURRENCY
        ):
            problems.append(
                f"concurrency: must be an int from 1 to {MAX_BULK_CONCURRENCY},"
                f" got {concurrency!r:.40}"
            )
        if not is_count(item_attempts, 1):
            problems.append(f"item_attempts: must be an int >= 1, got {item_attempts!r:.40}")
        if not isinstance(fail_fast, bool):
            problems.append("fail_fast: must be a bool")
        if on_progress is not None and not callable(on_progress):
            problems.append("on_progress: must be callable")
        if not isinstance(inputs, Iterable | AsyncIterable):
            problems.append(f"inputs: expected an iterable, got {type(inputs).__name__}")
        elif isinstance(inputs, str | bytes | bytearray | memoryview | Mapping):
            # iterable, but its items are characters, byte values or keys, not inputs
            problems.append(
                f"inputs: expected an iterable of items, got a {type(inputs).__name__}"
                " (put a single item in a list)"
            )
        if problems:
            raise CincopaValidationError(problems, operation=operation)
        self._client = client
        self._operation = operation
        self._step = step
        self._inputs = inputs
        self._concurrency = concurrency or client.max_concurrency
        self._fail_fast = fail_fast
        self._item_attempts = item_attempts
        self._retry_if = retry_if
        self._on_progress = on_progress
        self._ledger = ledger
        self._reconcile = reconcile_without_ledger
        self._new_job = new_job
        self._trusted = False  # may the ledger's unseen items skip look-ups? (set by _run)
        self._items_total = len(inputs) if isinstance(inputs, Sized) else None
        self._count_bytes = count_bytes
        self._bytes_total = 0
        self._bytes_known = False
        if totals is not None:  # known from a walk done before (cincopa sync)
            self._items_total, self._bytes_total = totals
            self._bytes_known = True
        self._bytes_done = 0
        self._done = self._failed = 0
        self._started = False
        self._task_group: anyio.abc.TaskGroup | None = None
        self._receive: MemoryObjectReceiveStream[BulkItem[InputT, ValueT]] | None = None

    def __repr__(self) -> str:
        state = "running" if self._started else "not started"
        return f"<BulkRun {self._operation} {state}: {self._done} done, {self._failed} failed>"

    # -- the two ways to run it ----------------------------------------------------------------

    def __await__(self) -> Generator[Any, None, BulkResult[InputT, ValueT]]:
        return self._collect().__await__()

    async def _collect(self) -> BulkResult[InputT, ValueT]:
        outcomes: dict[int, BulkItem[InputT, ValueT]] = {}

        async def keep(index: int, item: BulkItem[InputT, ValueT]) -> None:
            outcomes[index] = item

        await self._run(keep)
        return BulkResult([outcomes[index] for index in range(len(outcomes))])

    async def __aenter__(self) -> AsyncIterator[BulkItem[InputT, ValueT]]:
        send, receive = anyio.create_memory_object_stream[BulkItem[InputT, ValueT]](
            self._concurrency
        )

        async def forward(index: int, item: BulkItem[InputT, ValueT]) -> None:
            try:
                await send.send(item)
            except anyio.BrokenResourceError:  # the consumer left the block: stop the run
                assert self._task_group is not None
                self._task_group.cancel_scope.cancel()

        async def produce() -> None:
            async with send:
                await self._run(forward)

        self._task_group = anyio.create_task_group()
        await self._task_group.__aenter__()
        self._task_group.start_soon(produce)
        self._receive = receive
        return receive

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> bool | None:
        assert self._task_group is not None
        assert self._receive is not None
        self._task_group.cancel_scope.cancel()  # leaving the block stops what is still running
        self._receive.close()
        if exc_type is not None and issubclass(exc_type, anyio.get_cancelled_exc_class()):
            return await self._task_group.__aexit__(exc_type, exc, traceback)
        # The block's own exception goes on as it is (not wrapped in an exception group); only
        # a failure of the run itself comes out of the task group.
        await self._task_group.__aexit__(None, None, None)
        return None

    # -- the run ----------------------------------------------------------------------------------

    async def _run(self, emit: Callable[[int, BulkItem[InputT, ValueT]], Awaitable[None]]) -> None:
        if self._started:
            raise RuntimeError("a BulkRun runs once; call the bulk method again for another run")
        self._started = True
        client = self._client
        if self._count_bytes is not None:
            self._bytes_total = await anyio.to_thread.run_sync(
                self._count_bytes, limiter=file_threads()
            )
            self._bytes_known = True
        if self._ledger is not None:  # one that cannot be is an error of its own, first
            book, began = self._ledger.ledger, False
            try:
                await book.open()
                await book.bind(ledger_owner(client.base_url, client._api_token))
                await book.begin_run()  # refused while another run has it
                began = True
                # A ledger cannot tell what the runs of a lost ledger it replaces stored: the
                # items it has not seen are looked up, unless its job was declared new.
                self._trusted = await book.trusts_unseen(self._new_job)
            except BaseException:
                await _give_back(book, began)
                raise
        try:  # reading the inputs may fail at once (an __iter__ that raises): the ledger is
            source = _Inputs(self._inputs)  # given back then too
        except BaseException:
            if self._ledger is not None:
                await _give_back(self._ledger.ledger, True)
            raise
        limit = AdaptiveLimit(self._concurrency, client._wait_unless_closed)
        max_wait = client._retry.max_retry_after
        policy = self._ledger
        ledger = policy.ledger if policy is not None else None
        work_send, work_receive = anyio.create_memory_object_stream[ItemState](self._concurrency)
        in_flight: dict[int, ItemState] = {}
        stopped = False

        def listener(error: CincopaError) -> None:
            hint = _is_overload(error)
            if hint is not None:
                # Halve the items in flight; wait out the server's hint only up to the client's
                # own cap: a longer one (3600, 1e12, inf, a far-off date) is that item's failure.
                limit.overloaded(hint if hint <= max_wait else 0.0)

        async def finish(work: ItemState, item: BulkItem[InputT, ValueT]) -> None:
            if item.ok:
                self._bytes_done += work.size - work.sent
                work.sent = work.size
            else:
                self._failed += 1
            self._done += 1
            if ledger is not None and work.key is not None:
                assert policy is not None
                if isinstance(item, BulkSuccess):
                    if not item.reused:  # a reused item's record stands as it is
                        ledger.finish(policy.done(work.input, item.value, work))
                elif not isinstance(item.error, LedgerFailedError):
                    ledger.finish(_failure_record(work, item.error))
                if ledger.needs_flush():
                    await ledger.flush()
            self._report()
            # Shielded: a run stopping (fail_fast) must not lose an outcome already decided. A
            # consumer that left makes the send fail at once, so this never waits for nothing.
            with anyio.CancelScope(shield=True):
                await emit(work.index, item)
            in_flight.pop(work.index, None)

        async def feed() -> None:
            async with work_send:
                while not stopped:
                    chunk = await source.take(_CHUNK)
                    if not chunk:
                        break
                    if source.exhausted:
                        self._items_total = source.read
                    runnable = await self._triage(chunk, finish)
                    in_flight.update((work.index, work) for work in runnable)  # taken: owed
                    for work in runnable:
                        await work_send.send(work)

        async def run_item(work: ItemState) -> None:
            nonlocal stopped
            while True:
                work.attempt += 1
                if work.attempt > 1:
                    work.reconcile = True  # the last attempt may have stored something
                try:
                    async with limit:
                        value = await self._step(work.input, work)
                except Exception as error:  # every item gets its outcome, typed errors included
                    if (
                        work.attempt < self._item_attempts
                        and self._retry_if(error)
                        and not _asks_too_long(error, max_wait)
                    ):
                        continue
                    await finish(work, BulkFailure(work.input, error))
                    if self._fail_fast:
                        stopped = True
                        tg.cancel_scope.cancel()
                    return
                limit.succeeded()
                await finish(work, BulkSuccess(work.input, value))
                return

        async def worker(receive: MemoryObjectReceiveStream[ItemState]) -> None:
            async with receive:
                async for work in receive:
                    await run_item(work)

        client._shared.overload_listeners.append(listener)
        try:
            async with anyio.create_task_group() as tg:
                tg.start_soon(feed)
                for _ in range(self._concurrency):
                    tg.start_soon(worker, work_receive.clone())
                work_receive.close()
            if stopped:  # fail_fast: what was not finished, and what was not read, is cancelled
                cancelled = BulkCancelledError(
                    "the bulk run stopped before this item finished", operation=self._operation
                )
                for work in sorted(in_flight.values(), key=lambda w: w.index):
                    await finish(work, BulkFailure(work.input, cancelled))
                while chunk := await source.take(_CHUNK):
                    for index, value in chunk:
                        await finish(
                            ItemState(index, value, None, False), BulkFailure(value, cancelled)
                        )
                self._items_total = source.read
        finally:
            client._shared.overload_listeners.remove(listener)
            await source.aclose()
            if ledger is not None:
                await _give_back(ledger, True)

    async def _triage(
        self,
        chunk: list[tuple[int, Any]],
        finish: Callable[[ItemState, BulkItem[InputT, ValueT]], Awaitable[None]],
    ) -> list[ItemState]:
        """The chunk's items to run; those the ledger settles are finished here."""
        policy = self._ledger
        if policy is None:
            return [ItemState(index, value, None, self._reconcile) for index, value in chunk]
        from ._ledger import checked_key

        keyed: list[ItemState] = []
        for index, value in chunk:
            try:
                key = checked_key(policy.key(value))
            except CincopaValidationError as error:
                await finish(ItemState(index, value, None, False), BulkFailure(value, error))
                continue
            keyed.append(ItemState(index, value, key, False))
        records = await policy.ledger.get_many([work.key for work in keyed if work.key])
        done = [
            (work, record)
            for work in keyed
            if (record := records.get(work.key or "")) is not None and record.state == "done"
        ]
        values = (
            await anyio.to_thread.run_sync(
                lambda: [policy.reuse(work.input, record) for work, record in done],
                limiter=file_threads(),
            )
            if done
            else []
        )
        reused = {id(work): value for (work, _), value in zip(done, values, strict=True)}
        runnable: list[ItemState] = []
        chunk_keys: set[str] = set()  # an input twice in a chunk: the later one looks up
        for work in keyed:
            record = records.get(work.key or "")
            if record is not None and record.state == "done":
                value = reused[id(work)]
                if value is not None:
                    self.sized(work, record.size or 0)  # finish() counts its bytes done
                    await finish(work, BulkSuccess(work.input, value, reused=True))
                    continue
            elif record is not None and record.state == "failed" and not policy.retry_failed:
                earlier = LedgerFailedError(record, operation=self._operation)
                await finish(work, BulkFailure(work.input, earlier))
                continue
            # started: an attempt may have stored something; failed, or done but the input
            # changed since: the account may hold an earlier attempt's asset too
            work.earlier = (
                record is not None and record.state != "pending"
            ) or work.key in chunk_keys
            work.reconcile = work.earlier or not self._trusted
            if work.key is not None:
                chunk_keys.add(work.key)
            work.job = record.job if record is not None else None
            if work.key is not None:  # a reconciled item claims too: a fresh one then looks
                work.claim = partial(policy.ledger.claim_reference, key=work.key)
            runnable.append(work)
        await policy.ledger.start([work.key for work in runnable if work.key])
        return runnable

    # -- progress -------------------------------------------------------------------------------

    def sized(self, work: ItemState, size: int) -> None:
        """The step learned its input's size (uploads)."""
        if not self._bytes_known:
            self._bytes_total += size - work.size
        work.size = size

    def acknowledged(self, work: ItemState, done: int) -> None:
        """Bytes of the item acknowledged so far (uploads): reported within a file."""
        self._bytes_done += done - work.sent
        work.sent = done
        if done < work.size:
            self._report()

    def _report(self) -> None:
        """Tell ``on_progress``. A callback that raises is logged, once, and not called again:
        a broken progress bar does not cost the run (or the outcomes of its finished items)."""
        if self._on_progress is None:
            return
        try:
            self._on_progress(
                BulkProgress(
                    items_total=self._items_total,
                    items_done=self._done,
                    items_failed=self._failed,
                    bytes_total=self._bytes_total,
                    bytes_done=self._bytes_done,
                )
            )
        except Exception:
            self._on_progress = None
            _logger.exception(
                "%s: on_progress raised; it is not called again, the run goes on", self._operation
            )


def _failure_record(work: ItemState, error: Exception) -> LedgerRecord:
    from ._ledger import LedgerRecord

    assert work.key is not None
    return LedgerRecord(
        key=work.key,
        state="failed",
        size=work.size or None,
        error_class=type(error).__name__,
        error_message=scrub_then_truncate(str(error), 2000),  # the ledger is a file
        attempts=work.attempt,
    )


# -- uploads ---------------------------------------------------------------------------------------


def derived_reference(name: str, digest: bytes) -> str:
    """``sha256-<32 hex digits>`` of the file name and the SHA-256 of the content.

    The same file (name and bytes) is the same item, wherever it lies; identical bytes under two
    names are two items, as two uploads under two names are to a person.
    """
    return "sha256-" + sha256(name.encode() + b"\0" + digest.hex().encode()).hexdigest()[:32]


SMALL_FILE: Final = 256 * 1024
"""A file up to this size is read once, whole, when it is first looked at: its size, bytes and
SHA-256 from one trip to a worker thread, and then uploaded from memory (what is uploaded is then
what was hashed). A larger one is hashed, then read again as it is uploaded, one chunk at a
time, and refused if it changed in between."""


class Content:
    """One upload input: its name, size and source, and its SHA-256 when first needed. Its
    errors name ``operation`` (the bulk operation, or ``sync``)."""

    __slots__ = ("_digest", "mtime_ns", "name", "operation", "path", "size", "source")

    def __init__(
        self, item: object, name: str | None = None, *, operation: str = "bulk.upload_files"
    ) -> None:
        self.operation = operation
        problems = []
        self.name, self.size, self.mtime_ns = "", 0, 0
        self.source: Path | bytes = b""
        self.path: Path | None = None
        if isinstance(item, tuple):
            if len(item) == 2 and isinstance(item[0], str) and isinstance(item[1], bytes):
                self.name, self.source, self.size = item[0], item[1], len(item[1])
            else:
                problems.append("input: a tuple must be (file name, bytes)")
        elif isinstance(item, str | os.PathLike):
            self.source = self.path = Path(item)
            self.name = name or self.path.name
            if (problem := path_problem(self.path)) is not None:
                problems.append(f"input: {str(self.path)!r} {problem}")
        else:
            problems.append(
                f"input: expected a path or (file name, bytes), got {type(item).__name__}"
            )
        if not problems and (problem := check_filename(self.name)):
            problems.append(problem)
        if problems:
            raise CincopaValidationError(problems, operation=self.operation)
        self.name = upload_name(self.name)
        self._digest: bytes | None = None

    async def stat(self) -> None:
        """Read the file's size (a missing, empty or special file is a validation error); a
        small file (``SMALL_FILE``) is read and hashed at the same time."""
        if self.path is not None:
            path = self.path
            try:
                info, data = await anyio.to_thread.run_sync(
                    _stat_and_read_small, path, limiter=file_threads()
                )
            except _NotRegular:
                raise CincopaValidationError(
                    [f"input: {str(path)!r} is not a regular file"],
                    operation=self.operation,
                ) from None
            except _Changing:
                raise UploadSourceError(
                    f"{self.operation}: {str(path)!r} changed while it was read; not uploaded",
                    operation=self.operation,
                ) from None
            except (OSError, ValueError) as exc:  # ValueError: a name no OS takes
                raise CincopaValidationError(
                    [f"input: {str(path)!r}: {os_problem(exc)}"],
                    operation=self.operation,
                ) from None
            self.size, self.mtime_ns = info.st_size, info.st_mtime_ns
            if data is not None:
                self.source = data
                self._digest = sha256(data).digest()
        if self.size == 0:
            raise CincopaValidationError([EMPTY_FILE], operation=self.operation)

    async def sha256(self) -> bytes:
        if self._digest is None:
            if isinstance(self.source, Path):
                try:
                    self._digest = await file_sha256(self.source)
                except OSError as exc:
                    raise UploadSourceError(
                        f"{self.operation}: {str(self.source)!r} could not be read:"
                        f" {exc.strerror or type(exc).__name__}",
                        operation=self.operation,
                    ) from exc
            else:
                self._digest = sha256(self.source).digest()
        return self._digest

    def fingerprint(self) -> tuple[int, int] | None:
        """(size, modification time) of a path as stat'ed: an upload refuses a file that is no
        longer what was hashed. (A small file is uploaded from the bytes hashed: None.)"""
        return (self.size, self.mtime_ns) if isinstance(self.source, Path) else None


class _NotRegular(Exception):
    pass


class _Changing(Exception):
    pass


def _stat_and_read_small(path: Path) -> tuple[os.stat_result, bytes | None]:
    """The file's stat, and its bytes when it is a small file (in a worker thread)."""
    info = os.stat(path)
    if not stat.S_ISREG(info.st_mode):
        raise _NotRegular
    if info.st_size > SMALL_FILE:
        return info, None
    for _ in range(3):
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
        with open(fd, "rb") as file:
            opened = os.fstat(fd)
            if not stat.S_ISREG(opened.st_mode):  # replaced since the stat
                raise _NotRegular
            data = file.read(SMALL_FILE + 1)
            after = os.fstat(fd)
        if len(data) == after.st_size and (opened.st_size, opened.st_mtime_ns) == (
            after.st_size,
            after.st_mtime_ns,
        ):
            return (after, data) if len(data) <= SMALL_FILE else (after, None)
    raise _Changing


async def store_file(
    client: AsyncCincopa,
    content: Content,
    reference: str,
    *,
    reconcile: bool,
    converge: bool = False,
    gallery: str | None = None,
    caption: str | None = None,
    tags: Sequence[str] | None = None,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    on_progress: Callable[[UploadProgress], object] | None = None,
    claim: Callable[[str], Awaitable[bool]] | None = None,
) -> Asset:
    """Store one file tagged ``reference``, never twice (see the module docstring): with
    ``reconcile``, reuse what the reference names or adopt a proven untagged copy first; with
    ``converge``, look the reference up after storing and keep one asset of several. A reused
    or adopted asset is added to ``gallery`` as an upload to it would be. ``claim`` (an item
    its ledger has not seen): reconcile after all when another input claimed the reference."""
    if not reference.strip():
        raise CincopaValidationError(
            ["reference_id: must not be empty (it names the item)"], operation="bulk.upload_files"
        )
    locks = client._shared.locks
    async with (
        locks.hold(("reference", reference)),
        locks.hold(("file", content.name, content.size)),
    ):
        asset: Asset | None = None
        if claim is not None:
            reconcile = await claim(reference) or reconcile
        if reconcile:
            tagged = await _tagged(client, reference)
            if tagged:
                same = [a for a in tagged if a.filesize in (None, content.size)]
                if not same:
                    raise ReferenceConflictError(
                        f"bulk.upload_files: reference_id {reference!r} already names"
                        f" {tagged[0].rid} ({tagged[0].filesize} bytes), not this"
                        f" {content.size}-byte file; nothing uploaded",
                        operation="bulk.upload_files",
                        asset=tagged[0],
                    )
                asset = await converge_on(client, reference, same) if converge else same[0]
                await _add_to(client, gallery, asset)
                return asset
            found = await look_for_stored(client, content.name, content.size, content.sha256)
            if found.asset is not None:
                asset = await finish_asset(
                    client,
                    found.asset.rid,
                    caption=caption,
                    reference_id=reference,
                    tags=tags,
                    fallback=found.asset,
                    read_back=False,
                )
                await _add_to(client, gallery, asset)
            elif found.undecided:
                raise UploadOutcomeUnknownError(
                    f"bulk.upload_files: {found.undecided} untagged asset(s) like"
                    f" {content.name!r} may be an earlier attempt's copy and could be neither"
                    " proven nor ruled out; not uploaded again (a later run decides)",
                    operation="bulk.upload_files",
                )
        if asset is None:
            asset = await upload_file(
                client,
                content.source,
                filename=content.name,
                gallery=gallery,
                caption=caption,
                reference_id=reference,
                tags=tags,
                chunk_size=chunk_size,
                chunk_concurrency=1,
                on_progress=on_progress,
                read_back=False,
                expected_fingerprint=content.fingerprint(),
            )
        if converge:
            asset = await converge_on(
                client, reference, await _tagged(client, reference) or [asset]
            )
        return asset


async def _tagged(client: AsyncCincopa, reference: str) -> list[Asset]:
    existing = await client.asset.list(reference_id=reference)
    return [asset for asset in existing.items if asset.reference_id == reference]


async def _add_to(client: AsyncCincopa, gallery: str | None, asset: Asset) -> None:
    """Put a reused or adopted asset in ``gallery`` (a no-op for one already in it)."""
    if gallery is not None:
        await client.gallery.add_item(fid=gallery, rid=[asset.rid])


async def converge_on(client: AsyncCincopa, reference: str, tagged: Sequence[Asset]) -> Asset:
    """Of several assets tagged ``reference`` (concurrent executions of one item), keep the one
    with the smallest rid and delete the others -- the same choice whoever makes it."""
    survivor = min(tagged, key=lambda asset: asset.rid)
    for extra in tagged:
        if extra.rid != survivor.rid:
            with contextlib.suppress(APIResponseError):  # another execution deleted it first
                await client.asset.delete(rid=extra.rid)
    return survivor


def _reference_getter(
    reference_ids: Mapping[Any, str] | Callable[[Any], str | None] | None,
) -> Callable[[Any], str | None]:
    if reference_ids is None:
        return lambda item: None
    if isinstance(reference_ids, Mapping):
        return reference_ids.get
    if callable(reference_ids):
        return reference_ids
    raise CincopaValidationError(
        ["reference_ids: expected a mapping or a function of the input"], operation="bulk"
    )


def _upload_key(item: object) -> str:
    """A bulk upload's ledger key: the path as given, or for ``(name, bytes)`` the name and the
    content's SHA-256 (computed here: the bytes are in memory already)."""
    if isinstance(item, tuple) and len(item) == 2 and isinstance(item[1], bytes):
        return f"{item[0]}\0sha256:{sha256(item[1]).hexdigest()}"
    if isinstance(item, str | os.PathLike):
        return os.fspath(item)
    Content(item)  # raises the input's validation error
    raise AssertionError("unreachable")  # pragma: no cover


def _asset_from_record(record: LedgerRecord, name: str) -> Asset:
    from ._models import Asset

    return Asset(
        rid=record.rid or "",
        filename=name,
        filesize=record.size,
        reference_id=record.reference or "",
    )


def _unchanged_file(item: object, record: LedgerRecord) -> Asset | None:
    """A done upload record still describes the input: the same size and modification time
    (a path), or the same bytes (the key of a ``(name, bytes)`` input is their digest)."""
    if not record.rid:
        return None
    if isinstance(item, tuple):
        return _asset_from_record(record, str(item[0]))
    path = Path(item)  # type: ignore[arg-type]  # the key was made of a path
    try:
        info = path.stat()
    except (OSError, ValueError):  # ValueError: a name no OS takes
        return None  # gone (or never there): run it, to report why
    if (info.st_size, info.st_mtime_ns) != (record.size, record.mtime_ns):
        return None  # changed: a new version to upload
    return _asset_from_record(record, path.name)


# -- cp.bulk ------------------------------------------------------------------------------------


class BulkStreams:
    """``cp.bulk.stream``: the bulk operations of ``cp.bulk``, each returning its ``BulkRun``
    -- ``async with cp.bulk.stream.upload_files(paths) as outcomes:`` takes the outcomes as
    they finish, in constant memory (see the module docstring)."""

    def __init__(self, client: AsyncCincopa) -> None:
        self._client = client

    def run(
        self,
        fn: Callable[[InputT], Awaitable[ValueT]],
        items: Inputs[InputT],
        *,
        concurrency: int | None = None,
        fail_fast: bool = False,
        item_attempts: int = 1,
        retry_if: Callable[[Exception], bool] | None = None,
        on_progress: BulkProgressCallback | None = None,
    ) -> BulkRun[InputT, ValueT]:
        """Run any ``fn`` over ``items``: one attempt each unless ``item_attempts`` says more.

        The SDK cannot know what ``fn`` changes, so by default an item is attempted again only
        after a failure that certainly changed nothing (``not_applied``: a 429, or a connection
        never made): a ``gallery.create`` whose reply was lost is not sent again. For an ``fn``
        that may safely run twice, pass a wider predicate of the error as ``retry_if`` (say,
        ``lambda error: isinstance(error, (APIConnectionError, ServerError))``).
        """
        if not callable(fn):
            raise CincopaValidationError(["fn: must be callable"], operation="bulk.run")
        if retry_if is not None and not callable(retry_if):
            raise CincopaValidationError(["retry_if: must be callable"], operation="bulk.run")

        async def step(item: InputT, state: ItemState) -> ValueT:
            return await fn(item)

        return BulkRun(
            self._client,
            "bulk.run",
            step,
            items,
            concurrency=concurrency,
            fail_fast=fail_fast,
            item_attempts=item_attempts,
            retry_if=retry_if or not_applied,
            on_progress=on_progress,
        )

    def upload_files(
        self,
        files: Inputs[FileToUpload],
        *,
        gallery: str | None = None,
        reference_ids: Mapping[Any, str] | Callable[[Any], str | None] | None = None,
        caption: Callable[[FileToUpload], str | None] | None = None,
        tags: Sequence[str] | None = None,
        chunk_size: int = DEFAULT_CHUNK_SIZE,
        concurrency: int | None = None,
        fail_fast: bool = False,
        item_attempts: int = 4,
        on_progress: BulkProgressCallback | None = None,
        ledger: Ledger | str | os.PathLike[str] | None = None,
        retry_failed: bool = True,
        converge: bool = False,
        new_job: bool = False,
    ) -> BulkRun[FileToUpload, Asset]:
        """Upload files (paths, or ``(name, bytes)`` pairs) without ever storing one twice.

        Each file's ``reference_id`` is ``reference_ids`` of it (a mapping, or a function of
        the input) when given, else ``derived_reference`` of its name and content. A given
        reference names its item: an asset already tagged with it and of the file's size is
        reused as it is (bytes are not compared; another size is a ``ReferenceConflictError``),
        so give each distinct content its own reference. See the
        module docstring for what a run costs, with and without a ``ledger``, and for
        ``converge``. A value is the ``Asset`` as the SDK knows it without reading it back
        (rid, filename, filesize, reference_id and the metadata applied; ``cp.asset.list(rid=)``
        gives the full record). Each input's problems (a missing file, a bad name, metadata
        that ``asset.set_meta`` would refuse) are that item's ``CincopaValidationError``, found
        before anything of it is sent. ``on_progress`` hears of every finished item and of
        every acknowledged chunk.
        """
        client = self._client
        check_upload_options(chunk_size)
        check_metadata(tags=tags)
        check_gallery(gallery)
        if caption is not None and not callable(caption):
            raise CincopaValidationError(
                [f"caption: expected a function of the input, got {type(caption).__name__}"],
                operation="bulk.upload_files",
            )
        reference_of = _reference_getter(reference_ids)
        book = _ledger_of(ledger)
        run: BulkRun[FileToUpload, Asset]

        async def step(item: FileToUpload, state: ItemState) -> Asset:
            content = Content(item)
            await content.stat()
            run.sized(state, content.size)
            state.mtime_ns = content.mtime_ns or None
            given = reference_of(item)
            title = caption(item) if caption is not None else None
            check_metadata(caption=title, reference_id=given)
            reference = (
                given
                if given is not None
                else derived_reference(content.name, await content.sha256())
            )
            return await store_file(
                client,
                content,
                reference,
                reconcile=state.reconcile,
                converge=converge,
                gallery=gallery,
                caption=title,
                tags=tags,
                chunk_size=chunk_size,
                on_progress=lambda update: run.acknowledged(state, update.bytes_done),
                claim=state.claim,
            )

        def done(item: FileToUpload, asset: Asset, state: ItemState) -> LedgerRecord:
            from ._ledger import LedgerRecord

            return LedgerRecord(
                key=state.key or _upload_key(item),
                state="done",
                reference=asset.reference_id,
                rid=asset.rid,
                size=state.size,
                mtime_ns=state.mtime_ns,
                attempts=state.attempt,
            )

        policy = (
            LedgerPolicy(book, _upload_key, _unchanged_file, done, retry_failed)
            if book is not None
            else None
        )
        run = BulkRun(
            client,
            "bulk.upload_files",
            step,
            files,
            concurrency=concurrency,
            fail_fast=fail_fast,
            item_attempts=item_attempts,
            on_progress=on_progress,
            ledger=policy,
            new_job=new_job,
            count_bytes=_bytes_counter(files),
        )
        return run

    def import_urls(
        self,
        urls: Inputs[str],
        *,
        gallery: str | None = None,
        reference_ids: Mapping[str, str] | Callable[[str], str | None] | None = None,
        timeout: float = 600.0,
        poll_interval: float = 1.0,
        concurrency: int | None = None,
        fail_fast: bool = False,
        on_progress: BulkProgressCallback | None = None,
        ledger: Ledger | str | os.PathLike[str] | None = None,
        retry_failed: bool = True,
        new_job: bool = False,
    ) -> BulkRun[str, Asset]:
        """Import URLs (``asset.upload_from_url``), each tagged with a reference_id, never twice.

        The reference is ``reference_ids`` of the URL or derived from it; a URL whose
        reference is already in the library is not imported again, and items with the same
        reference run one at a time. An item is attempted again only when its import
        certainly did not start (``asset.upload_from_url`` refused with 429, or its connection
        was never made); a lost reply is reconciled by ``import_url`` itself, never by starting
        a second import. With a ledger, a URL done in an earlier run costs no request.
        """
        client = self._client
        check_gallery(gallery)
        check_import_options(timeout=timeout, poll_interval=poll_interval)
        reference_of = _reference_getter(reference_ids)
        book = _ledger_of(ledger)

        def note_job(state: ItemState) -> Callable[[str], Awaitable[None]] | None:
            if book is None or state.key is None:
                return None
            key = state.key

            async def note(status_id: str) -> None:
                # Committed before the job is followed: a run killed while it polls leaves the
                # job on record, and the rerun follows it instead of importing the URL again.
                # A commit that fails keeps the note held for the next one: the job is
                # followed all the same (failing the item would abandon a running import).
                book.note_job(key, status_id)
                try:
                    await book.flush()
                except Exception as error:
                    _logger.warning(
                        "bulk.import_urls: the job of an import could not be committed to the"
                        " ledger yet (%s); it is followed, and noted with the next commit",
                        type(error).__name__,
                    )

            return note

        async def step(url: str, state: ItemState) -> Asset:
            if (problem := check_url(url)) is not None:
                raise CincopaValidationError([f"input: {problem}"], operation="bulk.import_urls")
            given = reference_of(url)
            check_metadata(reference_id=given)
            reference = given or _url_reference(url)
            if not reference.strip():
                raise CincopaValidationError(
                    ["reference_id: must not be empty (it names the item)"],
                    operation="bulk.import_urls",
                )
            async with client._shared.locks.hold(("reference", reference)):
                reconcile = state.reconcile
                if state.claim is not None:
                    reconcile = await state.claim(reference) or reconcile
                if reconcile:
                    tagged = await _tagged(client, reference)
                    if tagged:
                        asset = min(tagged, key=lambda found: found.rid)
                        await _add_to(client, gallery, asset)
                        return asset
                    if state.job is None:
                        orphan = await find_imported_orphan(client, url)
                        if orphan is not None:
                            await _add_to(client, gallery, orphan)
                            return await finish_asset(
                                client,
                                orphan.rid,
                                reference_id=reference,
                                fallback=orphan,
                                read_back=False,
                            )
                return await import_url(
                    client,
                    url,
                    gallery=gallery,
                    reference_id=reference,
                    timeout=timeout,
                    poll_interval=poll_interval,
                    on_job=note_job(state),
                    follow_job=state.job,
                )

        def reuse(url: str, record: LedgerRecord) -> Asset | None:
            return _asset_from_record(record, "") if record.rid else None

        def done(url: str, asset: Asset, state: ItemState) -> LedgerRecord:
            from ._ledger import LedgerRecord

            return LedgerRecord(
                key=url,
                state="done",
                reference=asset.reference_id,
                rid=asset.rid,
                attempts=state.attempt,
            )

        return BulkRun(
            client,
            "bulk.import_urls",
            step,
            urls,
            concurrency=concurrency,
            fail_fast=fail_fast,
            retry_if=_import_not_started,
            on_progress=on_progress,
            ledger=LedgerPolicy(book, _str_key("url"), reuse, done, retry_failed)
            if book is not None
            else None,
            new_job=new_job,
        )

    def set_meta(
        self,
        updates: Inputs[Mapping[str, Any]],
        *,
        concurrency: int | None = None,
        fail_fast: bool = False,
        on_progress: BulkProgressCallback | None = None,
        ledger: Ledger | str | os.PathLike[str] | None = None,
        retry_failed: bool = True,
    ) -> BulkRun[Mapping[str, Any], Ack]:
        """``asset.set_meta(**update)`` for each mapping (each has ``rid`` and the fields).

        With a ledger, an update (the same rid and the same fields) done in an earlier run is
        not sent again.
        """
        client = self._client
        book = _ledger_of(ledger)

        async def step(update: Mapping[str, Any], state: ItemState) -> Ack:
            return await client.asset.set_meta(**_checked_update(update))

        return BulkRun(
            client,
            "bulk.set_meta",
            step,
            updates,
            concurrency=concurrency,
            fail_fast=fail_fast,
            on_progress=on_progress,
            ledger=LedgerPolicy(book, _update_key, _ack, _done_ack(_update_key), retry_failed)
            if book is not None
            else None,
        )

    def delete(
        self,
        rids: Inputs[str],
        *,
        concurrency: int | None = None,
        fail_fast: bool = False,
        on_progress: BulkProgressCallback | None = None,
        ledger: Ledger | str | os.PathLike[str] | None = None,
        retry_failed: bool = True,
    ) -> BulkRun[str, Ack]:
        """``asset.delete`` each rid. A delete whose outcome is unknown -- any failure that may
        have been applied (``may_have_been_applied``: a dropped connection after sending, a 5xx,
        a garbled reply) -- is confirmed with ``asset.list`` before anything else is sent, in
        this attempt or a later one of the item (a rerun on the ledger included, for a rid it
        saw started): the asset gone counts as deleted, still there it is deleted again. So a
        delete is sent again only when it was not applied. (A rid that never existed, whose
        first delete had an unknown outcome, is then reported deleted too: the two cannot be
        told apart.) The inputs of an rid given twice take turns, and the later confirms too.
        """
        client = self._client
        book = _ledger_of(ledger)

        # An rid given twice: its items take turns (a keyed lock), and one that follows
        # another's delete confirms first. Only rids with an item in the step are kept.
        active: dict[str, int] = {}  # rid -> its items in the step now
        sent_for: set[str] = set()  # of those, the rids whose delete was sent

        async def step(rid: str, state: ItemState) -> Ack:
            active[rid] = active.get(rid, 0) + 1
            try:
                async with client._shared.locks.hold(("delete", rid)):
                    return await delete_one(rid, state)
            finally:
                active[rid] -= 1
                if not active[rid]:
                    del active[rid]
                    sent_for.discard(rid)

        async def delete_one(rid: str, state: ItemState) -> Ack:
            # After a failure that may have been applied -- in this attempt, an earlier one of
            # the item, a run before that the ledger saw start it, or another input of the rid
            # just now -- the asset is gone when asset.list no longer finds it; only while it
            # is still listed is the delete sent.
            unknown = state.attempt > 1 or state.earlier or rid in sent_for
            for sent in range(1, MAX_DELETE_SENDS + 1):
                if unknown:
                    page = await client.asset.list(rid=rid)
                    if not any(rid in (asset.rid, asset.id) for asset in page.items):
                        from ._models import Ack

                        return Ack(message="deleted (confirmed after an unknown outcome)")
                sent_for.add(rid)
                try:
                    return await client.asset.delete(rid=rid)
                except CincopaError as error:
                    if not may_have_been_applied(error) or sent == MAX_DELETE_SENDS:
                        raise
                unknown = True
            raise AssertionError("unreachable")  # pragma: no cover

        key = _str_key("rid")
        return BulkRun(
            client,
            "bulk.delete",
            step,
            rids,
            concurrency=concurrency,
            fail_fast=fail_fast,
            on_progress=on_progress,
            ledger=LedgerPolicy(book, key, _ack, _done_ack(key), retry_failed)
            if book is not None
            else None,
        )


P = ParamSpec("P")


def _collected(
    build: Callable[Concatenate[BulkStreams, P], BulkRun[InputT, ValueT]],
) -> Callable[Concatenate[BulkOperations, P], Coroutine[Any, Any, BulkResult[InputT, ValueT]]]:
    """``cp.bulk.<op>``: the run of ``cp.bulk.stream.<op>``, awaited: every outcome, in order."""

    async def collected(
        self: BulkOperations, /, *args: P.args, **kwargs: P.kwargs
    ) -> BulkResult[InputT, ValueT]:
        return await build(self.stream, *args, **kwargs)

    collected.__name__ = build.__name__
    collected.__qualname__ = f"BulkOperations.{build.__name__}"
    collected.__doc__ = (build.__doc__ or "") + (
        "\n\n        Returns the ``BulkResult``: one item per input, in input order. For the"
        " outcomes as they finish, in constant memory, use ``cp.bulk.stream."
        + build.__name__
        + "`` (``async with``)."
    )
    return collected


class BulkOperations:
    """``cp.bulk``: concurrent bulk work on one client. See the module docstring.

    Each operation is a coroutine returning a ``BulkResult`` (every item, in input order);
    ``cp.bulk.stream`` has the same operations returning a ``BulkRun`` to take the outcomes as
    they finish.
    """

    def __init__(self, client: AsyncCincopa) -> None:
        self._client = client
        self.stream = BulkStreams(client)

    run = _collected(BulkStreams.run)
    upload_files = _collected(BulkStreams.upload_files)
    import_urls = _collected(BulkStreams.import_urls)
    set_meta = _collected(BulkStreams.set_meta)
    delete = _collected(BulkStreams.delete)

    async def add_to_gallery(
        self,
        fid: str,
        rids: Iterable[str],
        *,
        batch_size: int = 50,
        insert_position: Any = None,
        concurrency: int | None = None,
        fail_fast: bool = False,
        on_progress: BulkProgressCallback | None = None,
    ) -> BulkResult[str, Ack]:
        """``gallery.add_item`` in batches of ``batch_size`` rids; one result item per rid.

        A batch that failed transiently is sent again (up to 3 attempts): adding an asset that
        is already in the gallery is assumed to change nothing (inferred: the emulator does so;
        Cincopa's reference says nothing either way)."""
        client = self._client
        if not is_count(batch_size, 1):
            raise CincopaValidationError(
                ["batch_size: must be an int >= 1"], operation="bulk.add_to_gallery"
            )
        given: object = rids  # typed as rids, but checked as whatever was passed
        if not isinstance(given, Iterable) or isinstance(given, str | bytes | Mapping):
            raise CincopaValidationError(
                [f"rids: expected an iterable of rid str, got a {type(rids).__name__}"],
                operation="bulk.add_to_gallery",
            )
        all_rids = list(rids)
        batches = [
            tuple(all_rids[start : start + batch_size])
            for start in range(0, len(all_rids), batch_size)
        ]

        async def step(batch: tuple[str, ...], state: ItemState) -> Ack:
            return await client.gallery.add_item(
                fid=fid, rid=list(batch), insert_position=insert_position
            )

        batch_result: BulkResult[tuple[str, ...], Ack] = await BulkRun(
            client,
            "bulk.add_to_gallery",
            step,
            batches,
            concurrency=concurrency,
            fail_fast=fail_fast,
            on_progress=on_progress,
        )
        return BulkResult(
            [
                BulkSuccess(rid, item.value)
                if isinstance(item, BulkSuccess)
                else BulkFailure(rid, item.error)
                for item in batch_result
                for rid in item.input
            ]
        )


def _url_reference(url: str) -> str:
    return "url-sha256-" + sha256(url.encode()).hexdigest()[:32]


def _bytes_counter(files: object) -> Callable[[], int] | None:
    """For a sequence of upload inputs, what sums their bytes up front (in a worker thread,
    when the run starts); None for a streamed input, whose total grows as it is read."""
    if not isinstance(files, Sequence) or isinstance(files, str | bytes):
        return None

    def count() -> int:
        total = 0
        for item in files:
            if isinstance(item, tuple):
                if len(item) == 2 and isinstance(item[1], bytes):
                    total += len(item[1])
            elif isinstance(item, str | os.PathLike):
                with contextlib.suppress(OSError, ValueError):  # the item reports it
                    total += os.stat(item).st_size
        return total

    return count


def _str_key(what: str) -> Callable[[Any], str]:
    def key(value: Any) -> str:
        if not isinstance(value, str) or not value:
            raise CincopaValidationError(
                [f"input: expected a {what} str, got {type(value).__name__}"], operation="bulk"
            )
        return value

    return key


def _update_key(update: Any) -> str:
    """An update's key: its rid and the digest of its fields, so that other fields for the same
    asset are another item."""
    if not isinstance(update, Mapping) or not isinstance(update.get("rid"), str):
        raise CincopaValidationError(
            ["input: expected a mapping with a str 'rid'"], operation="bulk.set_meta"
        )
    import json

    try:
        fields = json.dumps(dict(update), sort_keys=True, default=str)
    except (TypeError, ValueError, RecursionError):
        fields = repr(sorted(update.items(), key=str))
    return f"{update['rid']}\0{sha256(fields.encode('utf-8', 'replace')).hexdigest()[:16]}"


def _checked_update(update: object) -> Mapping[str, Any]:
    """A ``bulk.set_meta`` input as keyword arguments of ``asset.set_meta``, or that item's
    ``CincopaValidationError``: a mapping whose keys are all parameters of it (a ``TypeError``
    from the call would say less, and not as the SDK's error)."""
    from ._spec import ENDPOINTS_BY_NAME

    if not isinstance(update, Mapping):
        raise CincopaValidationError(
            [f"input: expected a mapping of asset.set_meta arguments, got {type(update).__name__}"],
            operation="bulk.set_meta",
        )
    known = {param.python_name for param in ENDPOINTS_BY_NAME["asset.set_meta"].params}
    unknown = [repr(key)[:60] for key in update if not isinstance(key, str) or key not in known]
    if unknown:
        verb = "is not an argument" if len(unknown) == 1 else "are not arguments"
        raise CincopaValidationError(
            [
                f"input: {', '.join(unknown[:10])} {verb} of asset.set_meta"
                f" (it takes {', '.join(sorted(known))})"
            ],
            operation="bulk.set_meta",
        )
    return update


def _ack(value: Any, record: LedgerRecord) -> Ack:
    from ._models import Ack

    return Ack(message="done in an earlier run (ledger)")


def _done_ack(key: Callable[[Any], str]) -> Callable[[Any, Any, ItemState], LedgerRecord]:
    def done(value: Any, ack: Any, state: ItemState) -> LedgerRecord:
        from ._ledger import LedgerRecord

        return LedgerRecord(key=key(value), state="done", attempts=state.attempt)

    return done
