"""The bulk engine (``cp.bulk``): many items, run concurrently, every one accounted for.

Every bulk method returns a ``BulkResult``: one ``BulkItem`` per input, in input order. An item
is a ``BulkSuccess`` (``ok`` True, ``.value`` its result) or a ``BulkFailure`` (``ok`` False,
``.error`` the exception that ended it: a typed ``CincopaError`` for an API failure); both have
``.input``. ``if item.ok:`` narrows the item for mypy. Pyright narrows on ``item.ok is True`` or
``isinstance(item, BulkSuccess)``, not on truthiness, so ``item.value`` is typed as the success's
value on either kind (a failure's raises ``AttributeError``): ``item.value.rid if item.ok else
item.error`` type-checks under both.

One item's failure never stops the others, unless ``fail_fast=True``: then the run stops at the
first failure and every item it did not finish carries a ``BulkCancelledError``. Cancelling the
caller cancels every item promptly (anyio task groups; imports in flight are aborted on the
server).

**Concurrency.** Items run in up to ``concurrency`` workers (default: the client's
``max_concurrency``), and every request still passes the client's limiter. The number of items
in flight adapts (AIMD): it halves when the server answers 429 or 503 -- waiting out its
``Retry-After`` before starting more, up to the client's ``max_retry_after`` (60 s): a longer
hint (an hour, ``inf``, a date decades away) is not waited for, and that item fails with its
``RateLimitError`` (``.retry_after`` says what the server asked) while the others go on -- and
grows by one after as many successes as it has slots. Items that fail with a transient error
(the connection, 408/429/5xx, a garbled or truncated reply) are attempted again, up to
``item_attempts`` times; each attempt starts by looking for what an earlier one stored.

**No duplicates, no loss.** Every bulk upload carries a ``reference_id``: the caller's, or one
derived from the file name and content (``derived_reference``); imports one derived from the
URL. Before uploading, the engine looks the reference up (``asset.list(reference_id=...)``) and
reuses what is there; it also adopts an asset that *provably* holds the input's bytes but has no
reference yet -- what an upload leaves when it stored the file but failed before
``asset.set_meta`` -- by downloading that asset's original and comparing SHA-256 digests (a look-
alike of the same name and size is never enough: ``_uploads.find_stored_asset``). Uploads of
look-alike inputs (the same reference, or the same name and size) run one at a time, so none can
take another's fresh, still untagged asset. Imports are attempted again only when they certainly
did not start; a lost reply is reconciled (``_uploads.import_url``), never re-sent. So a rerun
of the same job skips what is already there, and retries never store a file twice.

**Bad input** (a missing file, an undecodable name, an empty file, metadata ``asset.set_meta``
would refuse) is that item's ``CincopaValidationError``, raised before any of its requests.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Awaitable, Callable, Iterable, Iterator, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Generic, Literal, NamedTuple, NoReturn, TypeAlias, TypeVar

import anyio
import attrs

from ._encode import is_count
from ._errors import (
    APIConnectionError,
    APIStatusError,
    CincopaError,
    CincopaValidationError,
    RateLimitError,
    ResponseDecodeError,
    ResponseValidationError,
)
from ._uploads import (
    DEFAULT_CHUNK_SIZE,
    EMPTY_FILE,
    UploadProgress,
    check_filename,
    check_metadata,
    check_upload_options,
    file_sha256,
    file_threads,
    find_imported_orphan,
    find_stored_asset,
    finish_asset,
    import_url,
    sha256,
    upload_file,
)

if TYPE_CHECKING:
    from ._client import AsyncCincopa
    from ._models import Ack, Asset

__all__ = [
    "BulkCancelledError",
    "BulkFailure",
    "BulkItem",
    "BulkOperations",
    "BulkProgress",
    "BulkResult",
    "BulkSuccess",
    "FileToUpload",
]

InputT = TypeVar("InputT")
ValueT = TypeVar("ValueT")

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

FileToUpload = str | os.PathLike[str] | tuple[str, bytes]
"""A bulk upload input: a path, or ``(file name, content)``."""


class BulkCancelledError(CincopaError):
    """The bulk run stopped (``fail_fast``) before this item finished; it may be partly done."""


@attrs.frozen
class BulkSuccess(Generic[InputT, ValueT]):
    """An input that succeeded: ``ok`` is True, ``value`` its result, ``error`` None."""

    input: InputT
    value: ValueT

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
    """Where a bulk run is: items finished (ok or failed) and, for uploads, bytes sent."""

    items_total: int
    items_done: int
    items_failed: int
    bytes_total: int = 0
    bytes_done: int = 0


BulkProgressCallback = Callable[[BulkProgress], object]


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


def _import_not_started(error: BaseException) -> bool:
    """A failed import item that may be attempted again: its ``asset.upload_from_url`` was
    refused (429) or never reached the server. Any later failure may leave a job running."""
    if getattr(error, "operation", None) != "asset.upload_from_url":
        return False
    return isinstance(error, RateLimitError) or (
        isinstance(error, APIConnectionError) and not error.request_sent
    )


def _is_transient(error: BaseException) -> bool:
    """Worth another attempt of the item: the connection, 408/429/5xx, or a garbled reply."""
    if isinstance(
        error, APIConnectionError | RateLimitError | ResponseDecodeError | ResponseValidationError
    ):
        return True
    return isinstance(error, APIStatusError) and (
        error.status_code >= 500 or error.status_code == 408
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


async def run_bulk(
    client: AsyncCincopa,
    fn: Callable[[InputT], Awaitable[ValueT]],
    items: Iterable[InputT],
    *,
    concurrency: int | None = None,
    fail_fast: bool = False,
    item_attempts: int = 3,
    retry_if: Callable[[Exception], bool] = _is_transient,
    on_progress: BulkProgressCallback | None = None,
    bytes_total: int = 0,
    bytes_done: Callable[[], int] | None = None,
) -> BulkResult[InputT, ValueT]:
    """Run ``fn`` over ``items``; see the module docstring."""
    problems = []
    if concurrency is not None and not is_count(concurrency, 1):
        problems.append(f"concurrency: must be an int >= 1, got {concurrency!r:.40}")
    if not is_count(item_attempts, 1):
        problems.append(f"item_attempts: must be an int >= 1, got {item_attempts!r:.40}")
    if not callable(fn):
        problems.append("fn: must be callable")
    if on_progress is not None and not callable(on_progress):
        problems.append("on_progress: must be callable")
    if problems:
        raise CincopaValidationError(problems, operation="bulk")
    inputs = list(items)
    outcomes: list[BulkItem[InputT, ValueT] | None] = [None] * len(inputs)
    limit = AdaptiveLimit(concurrency or client.max_concurrency, client._shared.sleep)
    max_wait = client._retry.max_retry_after
    next_index = 0
    done = failed = 0

    def listener(error: CincopaError) -> None:
        hint = _is_overload(error)
        if hint is not None:
            # Halve the items in flight; wait out the server's hint only up to the client's
            # own cap: a longer one (3600, 1e12, inf, a far-off date) is that item's failure.
            limit.overloaded(hint if hint <= max_wait else 0.0)

    def report() -> None:
        if on_progress is not None:
            on_progress(
                BulkProgress(
                    items_total=len(inputs),
                    items_done=done,
                    items_failed=failed,
                    bytes_total=bytes_total,
                    bytes_done=bytes_done() if bytes_done is not None else 0,
                )
            )

    async def run_one(index: int) -> None:
        nonlocal done, failed
        attempt = 0
        while True:
            attempt += 1
            try:
                async with limit:
                    value = await fn(inputs[index])
            except Exception as error:  # every item gets its outcome, typed errors included
                if (
                    attempt < item_attempts
                    and retry_if(error)
                    and not _asks_too_long(error, max_wait)
                ):
                    continue
                outcomes[index] = BulkFailure(inputs[index], error)
                failed += 1
                done += 1
                report()
                if fail_fast:
                    tg.cancel_scope.cancel()
                return
            limit.succeeded()
            outcomes[index] = BulkSuccess(inputs[index], value)
            done += 1
            report()
            return

    async def worker() -> None:
        nonlocal next_index
        while next_index < len(inputs):
            index = next_index
            next_index += 1
            await run_one(index)

    client._shared.overload_listeners.append(listener)
    try:
        async with anyio.create_task_group() as tg:
            for _ in range(min(limit.maximum, len(inputs))):
                tg.start_soon(worker)
    finally:
        client._shared.overload_listeners.remove(listener)
    stopped = BulkCancelledError("the bulk run stopped before this item finished", operation="bulk")
    return BulkResult(
        [
            outcome if outcome is not None else BulkFailure(inputs[index], stopped)
            for index, outcome in enumerate(outcomes)
        ]
    )


def derived_reference(name: str, digest: bytes) -> str:
    """``sha256-<32 hex digits>`` of the file name and the SHA-256 of the content.

    The same file (name and bytes) is the same item, wherever it lies; identical bytes under two
    names are two items, as two uploads under two names are to a person.
    """
    return "sha256-" + sha256(name.encode() + b"\0" + digest.hex().encode()).hexdigest()[:32]


class _Content:
    """One bulk upload input: its name, size and source, and its SHA-256 when first needed."""

    __slots__ = ("_digest", "name", "size", "source")

    def __init__(self, item: FileToUpload) -> None:
        value: object = item  # checked here: callers may pass anything
        problems = []
        self.name, self.size = "", 0
        self.source: Path | bytes = b""
        if isinstance(value, tuple):
            if len(value) == 2 and isinstance(value[0], str) and isinstance(value[1], bytes):
                self.name, self.source, self.size = value[0], value[1], len(value[1])
            else:
                problems.append("input: a tuple must be (file name, bytes)")
        elif isinstance(value, str | os.PathLike):
            self.source = Path(value)
            self.name = self.source.name
        else:
            problems.append(
                f"input: expected a path or (file name, bytes), got {type(value).__name__}"
            )
        if not problems and (problem := check_filename(self.name)):
            problems.append(problem)
        if problems:
            raise CincopaValidationError(problems, operation="bulk.upload_files")
        self._digest: bytes | None = None

    async def stat(self) -> None:
        if isinstance(self.source, Path):
            try:
                info = await anyio.to_thread.run_sync(self.source.stat, limiter=file_threads())
            except OSError as exc:
                raise CincopaValidationError(
                    [f"input: {str(self.source)!r}: {exc.strerror or type(exc).__name__}"],
                    operation="bulk.upload_files",
                ) from None
            self.size = info.st_size
        if self.size == 0:
            raise CincopaValidationError([EMPTY_FILE], operation="bulk.upload_files")

    async def sha256(self) -> bytes:
        if self._digest is None:
            if isinstance(self.source, Path):
                self._digest = await file_sha256(self.source)
            else:
                self._digest = sha256(self.source).digest()
        return self._digest

    async def reference(self) -> str:
        """The reference derived from the file name and content (see ``derived_reference``)."""
        return derived_reference(self.name, await self.sha256())


class BulkOperations:
    """``cp.bulk``: concurrent bulk work on one client. See the module docstring."""

    def __init__(self, client: AsyncCincopa) -> None:
        self._client = client

    async def run(
        self,
        fn: Callable[[InputT], Awaitable[ValueT]],
        items: Iterable[InputT],
        *,
        concurrency: int | None = None,
        fail_fast: bool = False,
        item_attempts: int = 1,
        on_progress: BulkProgressCallback | None = None,
    ) -> BulkResult[InputT, ValueT]:
        """Run any ``fn`` over ``items`` (one attempt each unless ``item_attempts`` says more)."""
        return await run_bulk(
            self._client,
            fn,
            items,
            concurrency=concurrency,
            fail_fast=fail_fast,
            item_attempts=item_attempts,
            on_progress=on_progress,
        )

    async def upload_files(
        self,
        files: Iterable[FileToUpload],
        *,
        gallery: str | None = None,
        reference_ids: Mapping[FileToUpload, str] | None = None,
        caption: Callable[[FileToUpload], str | None] | None = None,
        tags: Sequence[str] | None = None,
        chunk_size: int = DEFAULT_CHUNK_SIZE,
        concurrency: int | None = None,
        fail_fast: bool = False,
        item_attempts: int = 4,
        on_progress: BulkProgressCallback | None = None,
    ) -> BulkResult[FileToUpload, Asset]:
        """Upload files (paths, or ``(name, bytes)`` pairs) without ever storing one twice.

        Each file's ``reference_id`` is ``reference_ids[file]`` when given, else derived from
        its content; a file whose reference is already in the library is not uploaded again.
        Before uploading, an asset that provably holds the file's bytes but has no reference
        yet (what an earlier attempt leaves when tagging it failed) is adopted instead (see
        ``find_stored_asset``). Uploads of look-alike files (the same reference, or the same
        name and size) run one at a time, so that none can take another's asset for its own.
        Each input's problems (a missing file, a bad name, metadata that ``asset.set_meta``
        would refuse) are that item's ``CincopaValidationError``, found before anything of it
        is sent. ``on_progress`` hears of every finished item and of every acknowledged chunk.
        """
        client = self._client
        check_upload_options(chunk_size)
        check_metadata(tags=tags)
        inputs = list(files)
        sizes: dict[int, int] = {}  # bytes of each input, once known
        sent: dict[int, int] = {}
        positions = {id(item): index for index, item in enumerate(inputs)}

        async def stat_all() -> int:
            def size_of(item: object) -> int:
                if isinstance(item, tuple):
                    return len(item[1]) if len(item) == 2 and isinstance(item[1], bytes) else 0
                with contextlib.suppress(OSError, TypeError):
                    return Path(item).stat().st_size  # type: ignore[arg-type]  # TypeError: not a path
                return 0

            def all_sizes() -> list[int]:
                return [size_of(item) for item in inputs]

            return sum(await anyio.to_thread.run_sync(all_sizes, limiter=file_threads()))

        total = await stat_all()
        bytes_sent = 0
        latest = BulkProgress(
            items_total=len(inputs), items_done=0, items_failed=0, bytes_total=total
        )

        def on_items(update: BulkProgress) -> None:
            nonlocal latest
            latest = update
            if on_progress is not None:
                on_progress(update)

        async def one(item: FileToUpload) -> Asset:
            nonlocal bytes_sent
            index = positions[id(item)]
            asset = await place(item, index)
            size = sizes.get(index, 0)
            bytes_sent += size - sent.get(index, 0)
            sent[index] = size  # reused and adopted files count as sent too
            return asset

        async def place(item: FileToUpload, index: int) -> Asset:
            content = _Content(item)
            await content.stat()
            sizes[index] = content.size
            given = (reference_ids or {}).get(item)
            title = caption(item) if caption is not None else None
            check_metadata(caption=title, reference_id=given)
            reference = given if given is not None else await content.reference()
            locks = client._shared.locks
            async with (
                locks.hold(("reference", reference)),
                locks.hold(("file", content.name, content.size)),
            ):
                existing = await client.asset.list(reference_id=reference)
                for asset in existing.items:
                    if asset.reference_id == reference:
                        return asset
                orphan = await find_stored_asset(
                    client, content.name, content.size, _EPOCH, content.sha256
                )
                if orphan is not None:
                    return await finish_asset(
                        client,
                        orphan.rid,
                        caption=title,
                        reference_id=reference,
                        tags=tags,
                        fallback=orphan,
                    )

                def progress(update: UploadProgress) -> None:
                    nonlocal bytes_sent
                    bytes_sent += update.bytes_done - sent.get(index, 0)
                    sent[index] = update.bytes_done
                    if on_progress is not None and update.bytes_done < update.bytes_total:
                        on_progress(latest._replace(bytes_done=bytes_sent))  # within a file

                return await upload_file(
                    client,
                    content.source,
                    filename=content.name,
                    gallery=gallery,
                    caption=title,
                    reference_id=reference,
                    tags=tags,
                    chunk_size=chunk_size,
                    chunk_concurrency=1,
                    on_progress=progress,
                )

        return await run_bulk(
            client,
            one,
            inputs,
            concurrency=concurrency,
            fail_fast=fail_fast,
            item_attempts=item_attempts,
            on_progress=on_items,
            bytes_total=total,
            bytes_done=lambda: bytes_sent,
        )

    async def import_urls(
        self,
        urls: Iterable[str],
        *,
        gallery: str | None = None,
        reference_ids: Mapping[str, str] | None = None,
        timeout: float = 600.0,  # noqa: ASYNC109 - per item, passed to import_url
        poll_interval: float = 1.0,
        concurrency: int | None = None,
        fail_fast: bool = False,
        on_progress: BulkProgressCallback | None = None,
    ) -> BulkResult[str, Asset]:
        """Import URLs (``asset.upload_from_url``), each tagged with a reference_id, never twice.

        The reference is ``reference_ids[url]`` or derived from the URL; a URL whose
        reference is already in the library is not imported again, and items with the same
        reference run one at a time. An item is attempted again only when its import
        certainly did not start (``asset.upload_from_url`` refused with 429, or its connection
        was never made); a lost reply is reconciled by ``import_url`` itself, never by starting
        a second import.
        """
        client = self._client

        async def one(url: str) -> Asset:
            given = (reference_ids or {}).get(url)
            check_metadata(reference_id=given)
            if not isinstance(url, str):
                raise CincopaValidationError(
                    [f"input: expected a URL str, got {type(url).__name__}"],
                    operation="bulk.import_urls",
                )
            reference = given or ("url-sha256-" + sha256(url.encode()).hexdigest()[:32])
            async with client._shared.locks.hold(("reference", reference)):
                existing = await client.asset.list(reference_id=reference)
                for asset in existing.items:
                    if asset.reference_id == reference:
                        return asset
                orphan = await find_imported_orphan(client, url)
                if orphan is not None:
                    return await finish_asset(
                        client, orphan.rid, reference_id=reference, fallback=orphan
                    )
                return await import_url(
                    client,
                    url,
                    gallery=gallery,
                    reference_id=reference,
                    timeout=timeout,
                    poll_interval=poll_interval,
                )

        return await run_bulk(
            client,
            one,
            urls,
            concurrency=concurrency,
            fail_fast=fail_fast,
            retry_if=_import_not_started,
            on_progress=on_progress,
        )

    async def set_meta(
        self,
        updates: Iterable[Mapping[str, Any]],
        *,
        concurrency: int | None = None,
        fail_fast: bool = False,
        on_progress: BulkProgressCallback | None = None,
    ) -> BulkResult[Mapping[str, Any], Ack]:
        """``asset.set_meta(**update)`` for each mapping (each has ``rid`` and the fields)."""
        client = self._client

        async def one(update: Mapping[str, Any]) -> Ack:
            return await client.asset.set_meta(**update)

        return await run_bulk(
            client,
            one,
            updates,
            concurrency=concurrency,
            fail_fast=fail_fast,
            on_progress=on_progress,
        )

    async def delete(
        self,
        rids: Iterable[str],
        *,
        concurrency: int | None = None,
        fail_fast: bool = False,
        on_progress: BulkProgressCallback | None = None,
    ) -> BulkResult[str, Ack]:
        """``asset.delete`` each rid. A retry that finds the asset gone counts as deleted."""
        client = self._client

        async def one(rid: str) -> Ack:
            try:
                return await client.asset.delete(rid=rid)
            except APIConnectionError as error:
                if not error.request_sent:
                    raise
            # The outcome is unknown: the asset is gone when asset.list no longer finds it.
            page = await client.asset.list(rid=rid)
            if any(asset.rid == rid for asset in page.items):
                return await client.asset.delete(rid=rid)
            from ._models import Ack

            return Ack(message="deleted (confirmed after an unknown outcome)")

        return await run_bulk(
            client,
            one,
            rids,
            concurrency=concurrency,
            fail_fast=fail_fast,
            on_progress=on_progress,
        )

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
        """``gallery.add_item`` in batches of ``batch_size`` rids; one result item per rid."""
        client = self._client
        all_rids = list(rids)
        batches = [
            tuple(all_rids[start : start + batch_size])
            for start in range(0, len(all_rids), batch_size)
        ]

        async def one(batch: tuple[str, ...]) -> Ack:
            return await client.gallery.add_item(
                fid=fid, rid=list(batch), insert_position=insert_position
            )

        batch_result = await run_bulk(
            client,
            one,
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
