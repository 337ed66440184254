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
in flight adapts (AIMD): it halves when the server answers 429 or 503 — waiting out its
``Retry-After`` before starting more — and grows by one after as many successes as it has
slots. Items that fail with a transient error (the connection, 408/429/5xx, a garbled or
truncated reply) are attempted again, up to ``item_attempts`` times; each attempt starts by
looking for what an earlier one stored.

**No duplicates.** Every bulk upload carries a ``reference_id``: the caller's, or one derived
from the content (``sha256-<32 hex digits>``) or, for imports, from the URL. Before uploading,
the engine looks the reference up (``asset.list(reference_id=...)``) and reuses what is there;
it also adopts an asset with the same file name and size but no reference yet — what an upload
leaves behind when it stored the file but failed before ``asset.set_meta``. So a rerun of the
same job skips what is already there, and retries never store a file twice.
"""

from __future__ import annotations

import os
import time
from collections.abc import Awaitable, Callable, Iterable, Iterator, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Generic, Literal, NamedTuple, NoReturn, TypeAlias, TypeVar

import anyio
import attrs

from ._errors import (
    APIConnectionError,
    APIStatusError,
    CincopaError,
    RateLimitError,
    ResponseDecodeError,
    ResponseValidationError,
)
from ._uploads import (
    DEFAULT_CHUNK_SIZE,
    UploadProgress,
    file_threads,
    find_stored_asset,
    finish_asset,
    import_url,
    upload_file,
)

if TYPE_CHECKING:
    import hashlib

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


def _sha256(data: bytes = b"") -> hashlib._Hash:
    import hashlib  # on first use: keeps ``import cincopa_async`` light

    return hashlib.sha256(data)


def _is_overload(error: BaseException) -> float | None:
    """The wait hint of a 429/503 (0 when the server gave none); None for other errors."""
    if isinstance(error, RateLimitError) or (
        isinstance(error, APIStatusError) and error.status_code == 503
    ):
        return error.retry_after or 0.0
    return None


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
    """An AIMD limit on items in flight, between 1 and ``maximum``."""

    def __init__(self, maximum: int) -> None:
        self.maximum = maximum
        self.limiter = anyio.CapacityLimiter(maximum)
        self.resume_at = 0.0
        self._successes = 0

    @property
    def current(self) -> int:
        return int(self.limiter.total_tokens)

    async def __aenter__(self) -> None:
        if (wait := self.resume_at - time.monotonic()) > 0:
            await anyio.sleep(wait)
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
    inputs = list(items)
    outcomes: list[BulkItem[InputT, ValueT] | None] = [None] * len(inputs)
    limit = AdaptiveLimit(concurrency or client.max_concurrency)
    next_index = 0
    done = failed = 0

    def listener(error: CincopaError) -> None:
        hint = _is_overload(error)
        if hint is not None:
            limit.overloaded(hint)

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
                if attempt < item_attempts and retry_if(error):
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


async def _content_reference(item: FileToUpload) -> str:
    """The reference derived from a bulk upload input's content: ``sha256-<32 hex digits>``."""
    if isinstance(item, tuple):
        return "sha256-" + _sha256(item[1]).hexdigest()[:32]
    path = Path(item)

    def digest() -> str:
        hasher = _sha256()
        with path.open("rb") as handle:
            while block := handle.read(1024 * 1024):
                hasher.update(block)
        return "sha256-" + hasher.hexdigest()[:32]

    return await anyio.to_thread.run_sync(digest, limiter=file_threads())


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
        ``on_progress`` hears of every finished item and of every acknowledged chunk.
        """
        client = self._client
        inputs = list(files)
        claimed: set[str] = set()
        sent: dict[int, int] = {}
        sizes = await anyio.to_thread.run_sync(
            lambda: [
                len(item[1]) if isinstance(item, tuple) else Path(item).stat().st_size
                for item in inputs
            ],
            limiter=file_threads(),
        )
        names = [item[0] if isinstance(item, tuple) else Path(item).name for item in inputs]
        positions = {id(item): index for index, item in enumerate(inputs)}

        total = sum(sizes)
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
            bytes_sent += sizes[index] - sent.get(index, 0)
            sent[index] = sizes[index]  # reused and adopted files count as sent too
            return asset

        async def place(item: FileToUpload, index: int) -> Asset:
            name, size = names[index], sizes[index]
            given = (reference_ids or {}).get(item)
            reference = given if given is not None else await _content_reference(item)
            existing = await client.asset.list(reference_id=reference)
            for asset in existing.items:
                if asset.reference_id == reference:
                    claimed.add(asset.rid)
                    return asset
            orphan = await find_stored_asset(client, name, size, _EPOCH, exclude=tuple(claimed))
            title = caption(item) if caption is not None else None
            if orphan is not None:
                claimed.add(orphan.rid)
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

            source: Any = item[1] if isinstance(item, tuple) else item
            asset = await upload_file(
                client,
                source,
                filename=name,
                gallery=gallery,
                caption=title,
                reference_id=reference,
                tags=tags,
                chunk_size=chunk_size,
                chunk_concurrency=1,
                on_progress=progress,
            )
            claimed.add(asset.rid)
            return asset

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
        """Import URLs (``asset.upload_from_url``), each tagged with a reference_id.

        The reference is ``reference_ids[url]`` or derived from the URL; a URL whose
        reference is already in the library is not imported again.
        """
        client = self._client

        async def one(url: str) -> Asset:
            reference = (reference_ids or {}).get(url) or (
                "url-sha256-" + _sha256(url.encode()).hexdigest()[:32]
            )
            existing = await client.asset.list(reference_id=reference)
            for asset in existing.items:
                if asset.reference_id == reference:
                    return asset
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
