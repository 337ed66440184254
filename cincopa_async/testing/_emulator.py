"""``CincopaEmulator``: the stateful fake Cincopa API, in-process or on a loopback port.

Background work (``asset.upload_from_url`` downloads, webhook deliveries) runs in an anyio task
group, so it works under asyncio and trio alike:

* in-process: ``async with emu:`` opens the task group in the caller's event loop (the pytest
  fixture ``cincopa_emulator`` does this for you). Leaving the block cancels unfinished
  background work; ``await emu.wait_idle()`` waits for it first.
* on a port: ``async with emu.serve() as base_url:`` runs uvicorn on its own thread and event
  loop, with its own task group; work started by requests through the port runs there.
* work triggered while neither is open is queued and starts when one opens.

State is shared by all of these and guarded by ``emu.state.lock``.
"""

from __future__ import annotations

import contextlib
import itertools
import mimetypes
import threading
import time
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Sequence
from types import TracebackType
from typing import TYPE_CHECKING, Any, Self, cast
from urllib.parse import quote, urlsplit

import anyio
import httpx

from ._app import EmulatorApp, RecordedRequest
from ._faults import Faults
from ._handlers import attach_file, create_asset, filename_from_url
from ._net import INPROCESS_HOST
from ._ops import is_valid_scope
from ._runner import CURRENT_RUNNER, Runner
from ._server import serve_asgi_app
from ._state import EmulatorState, ImportJob, Outbox, UploadSession
from ._transport import EmulatorTransport
from ._webhooks import WebhookDelivery, deliver

if TYPE_CHECKING:
    from cincopa_async import AsyncCincopa

__all__ = ["CincopaEmulator", "EmittedEvent"]

EmittedEvent = tuple[str, str, dict[str, Any]]


class CincopaEmulator:
    """A stateful emulator of the Cincopa REST API v2.

    ``seed`` makes ids, tokens and fault draws reproducible; ``clock`` (a ``time.time``-like
    callable) is the time source for token/URL expiry and dates, and ``advance_clock()`` moves
    it forward without sleeping. ``webhook_retry_delays`` are the waits between delivery
    attempts; ``import_chunk_delay`` slows ``upload_from_url`` downloads down (per received chunk)
    so that progress and aborts can be observed. ``record_requests=False`` turns the request log
    (``emu.requests``) off, for long benchmark or development runs (it can also be switched at
    any time with ``emu.app.record_requests``).
    """

    def __init__(
        self,
        *,
        seed: int = 0,
        clock: Callable[[], float] | None = None,
        webhook_retry_delays: Sequence[float] = (0.2, 1.0, 5.0),
        webhook_timeout: float = 5.0,
        import_chunk_delay: float = 0.0,
        record_requests: bool = True,
    ) -> None:
        self._clock = clock or time.time
        self._offset = 0.0
        self.state = EmulatorState(seed, self.now)
        self.faults = Faults(seed)
        self.requests: list[RecordedRequest] = []
        self.webhook_deliveries: list[WebhookDelivery] = []
        self.events: list[EmittedEvent] = []
        self.webhook_retry_delays = tuple(webhook_retry_delays)
        self.webhook_timeout = webhook_timeout
        self.import_chunk_delay = import_chunk_delay
        self.app = EmulatorApp(self.state, self.faults, self.requests, self._dispatch)
        self.app.record_requests = record_requests
        self.base_url = f"http://{INPROCESS_HOST}/v2/"
        self._runner: Runner | None = None
        self._server_runners: list[Runner] = []
        self._pending: list[tuple[Callable[..., Any], tuple[Any, ...]]] = []
        self._jobs_lock = threading.Lock()
        self._active_jobs = 0
        self._delivery_ids = itertools.count(1)
        self._task_group: Any = None

    def __repr__(self) -> str:
        return (
            f"<CincopaEmulator account={self.state.main.uid} requests={len(self.requests)} "
            f"running={self._runner is not None}>"
        )

    # -- clock ---------------------------------------------------------------------------------

    def now(self) -> float:
        """The emulator's current time (``clock() + advance_clock offset``)."""
        return self._clock() + self._offset

    def advance_clock(self, seconds: float) -> None:
        """Move the emulator's clock forward (temporary tokens and upload URLs expire)."""
        self._offset += seconds

    # -- tokens & accounts ---------------------------------------------------------------------

    @property
    def account_id(self) -> str:
        """The main account's id (the numeric prefix of its tokens)."""
        return self.state.main.uid

    def create_token(
        self, permissions: str = "*", *, name: str = "emulator", account: str | None = None
    ) -> str:
        """Create a permanent API token; ``permissions`` is a ``|``-joined scope list."""
        scopes = [s for s in permissions.split("|") if s]
        if not scopes or not all(is_valid_scope(s) for s in scopes):
            raise ValueError(f"invalid permissions: {permissions!r}")
        uid = account or self.state.main.uid
        with self.state.lock:
            if uid not in self.state.accounts:
                raise ValueError(f"unknown account: {uid}")
            return self.state.new_token(uid, permissions, name=name).value

    # -- in-process clients --------------------------------------------------------------------

    def transport(self) -> EmulatorTransport:
        """A fresh in-process ``httpx`` transport to this emulator (no sockets)."""
        return EmulatorTransport(self.app)

    def http_client(self, **kwargs: Any) -> httpx.AsyncClient:
        """A raw ``httpx.AsyncClient`` on the in-process transport, based at ``base_url``."""
        kwargs.setdefault("base_url", self.base_url)
        return httpx.AsyncClient(transport=self.transport(), **kwargs)

    def client(self, api_token: str | None = None, **sdk_kwargs: Any) -> AsyncCincopa:
        """An ``AsyncCincopa`` wired to this emulator in-process; creates a token if none given."""
        from cincopa_async import AsyncCincopa

        token = api_token if api_token is not None else self.create_token()
        sdk_kwargs.setdefault("base_url", self.base_url)
        return AsyncCincopa(token, transport=self.transport(), **sdk_kwargs)

    # -- files ---------------------------------------------------------------------------------

    def add_file(self, name: str, data: bytes, content_type: str | None = None) -> str:
        """Serve ``data`` at ``/files/<name>``; returns the in-process URL of the file."""
        ctype = content_type or mimetypes.guess_type(name)[0] or "application/octet-stream"
        with self.state.lock:
            self.state.files[name] = (data, ctype)
        return f"http://{INPROCESS_HOST}/files/{quote(name)}"

    def upload_sessions(self) -> list[UploadSession]:
        """Chunked upload sessions (complete or not), oldest first."""
        with self.state.lock:
            return sorted(self.state.upload_sessions.values(), key=lambda s: s.created)

    def upload_session(
        self, upload_url: str, filename: str, unique_id: str = ""
    ) -> UploadSession | None:
        """The chunked upload of ``filename`` (and ``unique-id``) to ``upload_url``, if any."""
        d = httpx.URL(upload_url).params.get("d", "")
        with self.state.lock:
            return self.state.upload_sessions.get((d, filename, unique_id))

    # -- lifecycle -----------------------------------------------------------------------------

    async def __aenter__(self) -> Self:
        if self._task_group is not None:
            raise RuntimeError("this emulator is already running")
        task_group = anyio.create_task_group()
        await task_group.__aenter__()
        self._task_group = task_group
        self._runner = Runner(task_group)
        self._flush_pending()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> bool | None:
        task_group, self._task_group = self._task_group, None
        self._runner = None
        task_group.cancel_scope.cancel()
        return bool(await task_group.__aexit__(exc_type, exc, tb))

    @contextlib.asynccontextmanager
    async def serve(self, *, host: str = "127.0.0.1", port: int = 0) -> AsyncIterator[str]:
        """Serve the emulator on ``host:port`` (0 = a free port); yields the ``/v2/`` base URL.

        The server is uvicorn (the ``emulator`` extra) on its own thread and event loop, so this
        works under asyncio and trio; a port in use raises ``PortInUseError``.
        """

        def on_runner(runner: Runner | None) -> None:
            if runner is not None:
                self._server_runners.append(runner)
                self._flush_pending()
            else:
                self._server_runners.clear()

        async with serve_asgi_app(self.app, host=host, port=port, on_runner=on_runner) as root:
            yield f"{root}/v2/"

    async def wait_idle(self, limit: float = 10.0) -> None:
        """Wait (at most ``limit`` seconds) until no background work is queued or running."""
        with anyio.fail_after(limit):
            while self._active_jobs:  # noqa: ASYNC110 - the counter may change on other threads
                await anyio.sleep(0.002)

    # -- background work -----------------------------------------------------------------------

    def _pick_runner(self) -> Runner | None:
        runner = CURRENT_RUNNER.get()
        if runner is not None:
            return runner
        if self._runner is not None:
            return self._runner
        if self._server_runners:
            return self._server_runners[0]
        return None

    def _spawn(self, func: Callable[..., Any], *args: Any) -> None:
        with self._jobs_lock:
            self._active_jobs += 1
        runner = self._pick_runner()
        if runner is None:
            with self._jobs_lock:
                self._pending.append((func, args))
            return
        runner.spawn(self._job, runner, func, args)

    def _flush_pending(self) -> None:
        runner = self._pick_runner()
        if runner is None:
            return
        with self._jobs_lock:
            pending, self._pending = self._pending, []
        for func, args in pending:
            runner.spawn(self._job, runner, func, args)

    async def _job(self, runner: Runner, func: Callable[..., Any], args: tuple[Any, ...]) -> None:
        try:
            await func(runner, *args)
        finally:
            with self._jobs_lock:
                self._active_jobs -= 1

    def _dispatch(self, outbox: Outbox) -> None:
        for kind, uid, name, payload in outbox:
            if kind == "event":
                self.events.append((uid, name, payload))
                with self.state.lock:
                    account = self.state.accounts.get(uid)
                    hooks = (
                        [h for h in account.webhooks.values() if h.wants(name)] if account else []
                    )
                for hook in hooks:
                    self._spawn(self._deliver, hook, name, payload, f"d{next(self._delivery_ids)}")
            elif kind == "import":
                self._spawn(self._run_import, uid, name, payload["base"])

    async def _deliver(
        self, runner: Runner, hook: Any, event: str, payload: dict[str, Any], delivery_id: str
    ) -> None:
        del runner
        await deliver(
            hook,
            event,
            payload,
            delivery_id,
            delays=self.webhook_retry_delays,
            attempt_timeout=self.webhook_timeout,
            record=self.webhook_deliveries.append,
            now=self.now,
        )

    async def _run_import(self, runner: Runner, uid: str, status_id: str, base: str) -> None:
        state = self.state
        with state.lock:
            job = state.accounts[uid].imports.get(status_id)
            if job is None or job.status != "inprogress":
                return
            scope = anyio.CancelScope()
            job.cancel = lambda: runner.call_soon(scope.cancel)
        content: bytes | None = None
        with scope:
            content = await self._download(job)
        with state.lock:
            job.cancel = None
            if job.status != "inprogress":
                return
            if content is None:
                job.status = "failed"
                return
            account = state.accounts[uid]
            filename = filename_from_url(job.input)
            if job.rid is not None and job.rid in account.assets:
                asset = account.assets[job.rid]
                attach_file(
                    state, account, asset, job.attach_type or "attachment", filename, content, base
                )
            else:
                asset = create_asset(state, account, filename, content, fid=job.fid, base=base)
            job.status = "done"
            job.resid = asset.rid
            job.progress_bytes = len(content)
            job.file_size_bytes = len(content)
            outbox = state.drain()
        self._dispatch(outbox)

    async def _download(self, job: ImportJob) -> bytes | None:
        inprocess = urlsplit(job.input).hostname == INPROCESS_HOST
        transport = self.transport() if inprocess else None
        chunks: list[bytes] = []
        try:
            async with (
                # verify=False: only loopback sources are fetched (and the CA bundle is slow)
                httpx.AsyncClient(
                    transport=transport,
                    trust_env=False,
                    timeout=30,
                    verify=False,  # noqa: S501 - loopback http:// only
                ) as client,
                client.stream("GET", job.input) as response,
            ):
                if response.status_code >= 400:
                    with self.state.lock:
                        job.debug = f"source answered HTTP {response.status_code}"
                    return None
                length = response.headers.get("content-length")
                with self.state.lock:
                    job.file_size_bytes = int(length) if length and length.isdigit() else -1
                stream = cast(AsyncGenerator[bytes, None], response.aiter_bytes())
                async with contextlib.aclosing(stream):
                    async for chunk in stream:
                        chunks.append(chunk)
                        with self.state.lock:
                            job.progress_bytes += len(chunk)
                        if self.import_chunk_delay:
                            await anyio.sleep(self.import_chunk_delay)
        except (httpx.HTTPError, httpx.InvalidURL, ValueError, OSError) as exc:
            # Whatever the source does, the job fails; the emulator itself goes on.
            with self.state.lock:
                job.debug = f"download failed: {type(exc).__name__}: {exc}"
            return None
        return b"".join(chunks)
