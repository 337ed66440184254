"""Bulk jobs on an existing Dask cluster (``pip install 'cincopa-async[dask]'``: ``distributed``).

When one machine's uplink is not enough, ``sync_on_dask`` spreads a sync (``cincopa sync
SOURCE_DIR --dask tcp://host:port`` from the command line) over the workers of a Dask cluster.
Dask is the engine -- its scheduler, its task queue, its worker protocol; this module adds no
infrastructure of its own:

* ``CincopaPlugin`` is a Dask ``WorkerPlugin``: each worker holds one ``AsyncCincopa`` for its
  lifetime -- one connection pool, one concurrency limiter per worker -- created on the worker's
  event loop when the plugin is registered and closed when the worker stops.
* The driver (the process calling ``sync_on_dask``) walks the source directory and keeps the
  ledger; batches of files become Dask tasks (coroutine functions, run on the worker's event
  loop), each running the bulk engine over its batch with the worker's client; every item's
  outcome flows back to the driver's ledger. A bounded number of batches is in flight, so the
  driver's memory stays the same whatever the job's size.
* Dask reruns the tasks of a worker it lost, and a task may run twice -- even at once, on a
  worker the scheduler gave up on and on its replacement. So on a worker every item reconciles
  before storing (its reference, or a proven untagged copy, is reused) and converges after
  (several assets with its reference: the smallest rid is kept, the others deleted; see
  ``_bulk``): the account ends with exactly one asset per file.

Every worker must see the source directory at the same absolute path (a shared or network file
system). **The token** travels to the workers inside the plugin, so it is sent only over TLS
(``tls://`` addresses) or to a scheduler on this machine (``token_travels_safely``) that also
listens on this machine only (its workers get the plugin over their connections to it); otherwise
leave ``api_token`` unset and give each worker ``CINCOPA_API_TOKEN`` (and
``CINCOPA_BASE_URL``) in its environment. It never appears in the
plugin's ``repr``, in Dask's logs or in task arguments.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any, Final

import anyio
from distributed import Client, get_worker
from distributed import wait as _wait_typed
from distributed.diagnostics.plugin import WorkerPlugin

from ._bulk import BulkFailure, BulkProgress, BulkRun, ItemState, _failure_record, ledger_owner
from ._client import AsyncCincopa, is_loopback_host, resolve_base_url
from ._errors import CincopaValidationError
from ._redact import redact
from ._sync import SyncFile, store_sync_file, sync_record, walk
from ._uploads import DEFAULT_CHUNK_SIZE, check_upload_options

if TYPE_CHECKING:
    from distributed import Worker

    from ._ledger import Ledger, LedgerRecord

__all__ = ["PLUGIN_NAME", "CincopaPlugin", "SyncOutcome", "sync_on_dask", "token_travels_safely"]

PLUGIN_NAME: Final = "cincopa-async"
_wait: Any = _wait_typed  # awaitable with an asynchronous client
DEFAULT_BATCH_SIZE: Final = 16


class CincopaPlugin(WorkerPlugin):
    """One ``AsyncCincopa`` per Dask worker, for the worker's lifetime.

    The arguments are ``AsyncCincopa``'s; an ``api_token`` (or ``base_url``) left None is read
    from the worker's environment (``CINCOPA_API_TOKEN``, ``CINCOPA_BASE_URL``).
    """

    name = PLUGIN_NAME
    idempotent = False

    def __init__(self, api_token: str | None = None, **client_options: Any) -> None:
        self._api_token = api_token
        self._options = client_options
        self.client: AsyncCincopa | None = None

    def __repr__(self) -> str:  # the token stays out of it, and a base URL's credentials
        base_url = self._options.get("base_url")
        shown = "'from the environment'" if base_url is None else repr(redact(str(base_url)))
        return f"<CincopaPlugin base_url={shown}>"

    def __getstate__(self) -> dict[str, Any]:
        return {"_api_token": self._api_token, "_options": self._options, "client": None}

    async def setup(self, worker: Worker) -> None:
        self.client = AsyncCincopa(self._api_token, **self._options)

    async def teardown(self, worker: Worker) -> None:
        if self.client is not None:
            client, self.client = self.client, None
            await client.aclose()


def token_travels_safely(address: str) -> bool:
    """Whether a token pickled in a ``CincopaPlugin`` may travel to the scheduler at ``address``
    (which keeps it, and sends it to every worker): over TLS (``tls://``, ``wss://``), within
    this process (``inproc://``) or to this machine (a loopback host) -- as the SDK sends its
    own requests in plain ``http://`` only on loopback. An address without a scheme is
    Dask's default, ``tcp://``."""
    from distributed.comm.addressing import parse_address, parse_host_port

    try:
        scheme, location = parse_address(address)
    except ValueError:
        return False
    if scheme in ("tls", "wss", "inproc"):
        return True
    try:
        host, _port = parse_host_port(location, default_port=0)
    except ValueError:
        return False
    return is_loopback_host(str(host))


_IN_THE_CLEAR: Final = (
    "api_token: would travel in the clear, pickled in the worker plugin, to a scheduler off"
    " this machine or on to its workers: use a tls:// address, or give each worker"
    " CINCOPA_API_TOKEN in its environment and leave api_token unset (None)"
)


def _token_in_the_clear() -> CincopaValidationError:
    return CincopaValidationError([_IN_THE_CLEAR], operation="sync_on_dask")


def _is_token_in_the_clear(error: CincopaValidationError) -> bool:
    """Whether ``error`` is ``sync_on_dask`` refusing its ``api_token`` (raised before anything
    is sent or bound: the same call without a token may follow)."""
    return error.problems == _token_in_the_clear().problems  # as scrubbed when it was made


def _listening_address(dask: Any) -> str:
    """The address a connected scheduler says it has (where its workers reach it: ``tcp://``
    with this machine's outside address when it listens on every interface)."""
    address = dask.scheduler_info().get("address")
    return address if isinstance(address, str) else ""


def _scheduler_address(cluster: str | Client) -> str:
    if isinstance(cluster, str):
        return cluster
    address = getattr(getattr(cluster, "scheduler", None), "address", None)
    return address if isinstance(address, str) else ""


def _worker_client() -> AsyncCincopa:
    plugin = get_worker().plugins.get(PLUGIN_NAME)
    client = getattr(plugin, "client", None)
    if not isinstance(client, AsyncCincopa):
        raise RuntimeError(
            f"no {PLUGIN_NAME!r} plugin on this worker: register a CincopaPlugin first"
        )
    return client


async def sync_batch(
    batch: list[SyncFile], gallery: str | None, chunk_size: int
) -> list[LedgerRecord]:
    """A Dask task: upload one batch of a sync with the worker's client; each item's record.

    Every item reconciles and converges (the task may be a rerun, or run twice at once).
    """
    client = _worker_client()

    async def step(item: SyncFile, state: ItemState) -> LedgerRecord:
        asset = await store_sync_file(
            client, item, state, gallery=gallery, chunk_size=chunk_size, converge=True
        )
        return sync_record(item, asset, state)

    run: BulkRun[SyncFile, LedgerRecord] = BulkRun(
        client, "sync", step, batch, item_attempts=4, reconcile_without_ledger=True
    )
    records = []
    for item in await run:
        if isinstance(item, BulkFailure):
            state = ItemState(0, item.input, item.input.key, True)
            records.append(_failure_record(state, item.error))
        else:
            records.append(item.value)
    return records


class SyncOutcome:
    """One file's outcome from the cluster: ``record`` as written to the ledger."""

    __slots__ = ("file", "record", "skipped")

    def __init__(self, file: SyncFile, record: LedgerRecord, skipped: bool) -> None:
        self.file = file
        self.record = record
        self.skipped = skipped  # done in an earlier run: no request

    @property
    def ok(self) -> bool:
        return self.record.state == "done"


async def sync_on_dask(
    cluster: str | Client,
    source: str | os.PathLike[str],
    ledger: Ledger,
    *,
    api_token: str | None = None,
    gallery: str | None = None,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    batch_size: int = DEFAULT_BATCH_SIZE,
    batches_in_flight: int | None = None,
    on_outcome: Callable[[SyncOutcome], object] | None = None,
    on_progress: Callable[[BulkProgress], object] | None = None,
    files: Callable[[], Iterator[SyncFile]] | None = None,
    **client_options: Any,
) -> tuple[int, int]:
    """Sync ``source`` into the account on a Dask cluster; ``(done, failed)`` item counts.

    ``cluster`` is a scheduler address (``tcp://host:8786``) or a ``distributed.Client``
    (asynchronous). ``api_token`` and ``client_options`` are the workers' ``AsyncCincopa``
    arguments (see ``CincopaPlugin``); an ``api_token`` is sent only where
    ``token_travels_safely`` (else ``CincopaValidationError``, before anything is sent).
    ``batches_in_flight`` bounds the tasks submitted at once (default: twice the cluster's
    worker threads).
    """
    check_upload_options(chunk_size)
    if api_token is not None and not token_travels_safely(_scheduler_address(cluster)):
        raise _token_in_the_clear()
    source_dir = str(await anyio.Path(source).absolute())
    own = not isinstance(cluster, Client)
    # distributed is only partly typed; its asynchronous client is handled as Any here
    connect: Any = Client
    dask: Any = connect(cluster, asynchronous=True) if own else cluster
    if own:
        await dask
    began = False
    try:
        # The scheduler sends the plugin on to its workers, over the connections they made
        # to the address it listens on: that address must be safe too (one reached here over
        # loopback may listen on every interface, as ``dask scheduler`` does by default).
        if api_token is not None and not token_travels_safely(_listening_address(dask)):
            raise _token_in_the_clear()
        if api_token is not None:  # else the workers' environment: the driver cannot tell
            await ledger.bind(
                ledger_owner(resolve_base_url(client_options.get("base_url")), api_token)
            )
        await ledger.begin_run()  # refused while another run has the ledger
        began = True
        await dask.register_plugin(CincopaPlugin(api_token, **client_options))
        if batches_in_flight is None:
            threads = sum((await dask.nthreads()).values())
            batches_in_flight = max(2, 2 * threads)
        return await _drive(
            dask,
            files() if files is not None else walk(source_dir, skip=ledger.path),
            ledger,
            gallery=gallery,
            chunk_size=chunk_size,
            batch_size=batch_size,
            batches_in_flight=batches_in_flight,
            on_outcome=on_outcome,
            on_progress=on_progress,
        )
    finally:
        if began:  # given back once the outcomes held are written (a cancelled drive's too)
            await ledger.end_run()
        if own:
            await dask.close()


async def _drive(
    dask: Any,
    files: Iterator[SyncFile],
    ledger: Ledger,
    *,
    gallery: str | None,
    chunk_size: int,
    batch_size: int,
    batches_in_flight: int,
    on_outcome: Callable[[SyncOutcome], object] | None,
    on_progress: Callable[[BulkProgress], object] | None,
) -> tuple[int, int]:
    from ._ledger import checked_key
    from ._sync import _reuse

    run_id = uuid.uuid4().hex
    pending: dict[Any, list[SyncFile]] = {}  # distributed.Future -> its batch
    counts = {"done": 0, "failed": 0, "bytes": 0, "total": 0}
    exhausted = False

    def report(outcome: SyncOutcome) -> None:
        counts["done" if outcome.ok else "failed"] += 1
        counts["bytes"] += outcome.record.size or 0
        if on_outcome is not None:
            on_outcome(outcome)
        if on_progress is not None:
            finished = counts["done"] + counts["failed"]
            on_progress(
                BulkProgress(
                    items_total=counts["total"] if exhausted else None,
                    items_done=finished,
                    items_failed=counts["failed"],
                    bytes_total=counts["bytes"],
                    bytes_done=counts["bytes"],
                )
            )

    async def collect(done: set[Any]) -> None:
        for future in done:
            batch = pending.pop(future)
            try:
                records: list[LedgerRecord] = await future
            except Exception as error:  # the task failed as a whole (lost too often, say)
                state = ItemState(0, None, None, True)
                records = []
                for file in batch:
                    state.key = file.key
                    records.append(_failure_record(state, error))
            for file, record in zip(batch, records, strict=True):
                ledger.finish(record)
                report(SyncOutcome(file, record, skipped=False))
        await ledger.flush()

    batch: list[SyncFile] = []
    while True:
        chunk = [file for _, file in zip(range(256), files, strict=False)]
        exhausted = len(chunk) < 256
        counts["total"] += len(chunk)
        keyed = []
        for file in chunk:
            try:
                checked_key(file.key)
                keyed.append(file)
            except CincopaValidationError as error:  # reported, not written: it cannot be
                state = ItemState(0, None, file.key, False)
                report(SyncOutcome(file, _failure_record(state, error), skipped=False))
        chunk = keyed
        records = await ledger.get_many([file.key for file in chunk])
        runnable = []
        for file in chunk:
            record = records.get(file.key)
            if record is not None and record.state == "done" and _reuse(file, record) is not None:
                report(SyncOutcome(file, record, skipped=True))
            else:
                runnable.append(file)
        await ledger.start([file.key for file in runnable])
        for file in runnable:
            batch.append(file)
            if len(batch) == batch_size:
                await _submit(dask, batch, run_id, pending, gallery, chunk_size)
                batch = []
                while len(pending) >= batches_in_flight:
                    done, _ = await _wait(list(pending), return_when="FIRST_COMPLETED")
                    await collect(done)
        if exhausted:
            break
    if batch:
        await _submit(dask, batch, run_id, pending, gallery, chunk_size)
    while pending:
        done, _ = await _wait(list(pending), return_when="FIRST_COMPLETED")
        await collect(done)
    await ledger.flush()
    return counts["done"], counts["failed"]


async def _submit(
    dask: Any,
    batch: list[SyncFile],
    run_id: str,
    pending: dict[Any, list[SyncFile]],
    gallery: str | None,
    chunk_size: int,
) -> None:
    key = f"cincopa-sync-{run_id}-{len(pending)}-{uuid.uuid4().hex[:8]}"
    future = dask.submit(sync_batch, list(batch), gallery, chunk_size, key=key, pure=False)
    pending[future] = list(batch)
