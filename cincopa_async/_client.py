"""``AsyncCincopa``: configuration, lifecycle, and ``_call``, the one request path.

Every operation, generated or hand-written, ends in ``_call``::

    validate (encode_arguments) -> limiter -> send -> decode -> map errors -> structure

with the retry loop around the middle steps. The concurrency limiter is acquired in exactly one
place, ``_exchange``, and is released while a retry waits. What may be sent more than once, and
why each case is safe, is listed in ``_retry``'s docstring: the retry policy is the only place
that decides it.

Every failure becomes a ``CincopaError`` whose text, attributes and chain hold no secret: errors
are raised outside the handler of a transport's exception and chained to a scrubbed copy of it
(``_exchange``), and what they keep of a reply is scrubbed of the request's secrets.
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
import sys
import warnings
import weakref
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from typing import TYPE_CHECKING, Any, Final, NoReturn, SupportsIndex, TypeAlias, TypeVar
from urllib.parse import urlencode

import anyio
import httpx

from . import _uploads
from ._body import ACCEPT_ENCODING, BodyTooLarge, UndecodableBody, read_body
from ._encode import encode_arguments, is_count, is_seconds
from ._errors import (
    APIConnectionError,
    APIResponseError,
    APIStatusError,
    APITimeoutError,
    AuthenticationError,
    CincopaError,
    CincopaValidationError,
    ClosedClientError,
    NotFoundError,
    RateLimitError,
    ResponseDecodeError,
    ResponseValidationError,
    ServerError,
)
from ._generated import ClientOperations
from ._locks import HandedOut, ImportRegistry, KeyedLocks
from ._paging import AsyncPager
from ._redact import (
    KNOWN,
    MIN_SECRET_LENGTH,
    credential_values,
    install_log_redaction,
    redact,
    redact_url,
    safe_text,
    scrub,
    scrub_json,
    scrub_then_truncate,
    url_secrets,
)
from ._retry import RetryPolicy, parse_retry_after
from ._spec import ENDPOINTS_BY_NAME, Endpoint
from ._version import __version__

if TYPE_CHECKING:
    import asyncio

    import trio

    from ._aiohttp import AiohttpTransport, Outgoing
    from ._aiohttp import Reply as _WireReply
    from ._bulk import BulkOperations

    # A reply on any route: what the SDK reads of it (status, reason, headers, body).
    Reply: TypeAlias = httpx.Response | _WireReply

__all__ = ["BASE_URL_ENV_VAR", "DEFAULT_BASE_URL", "DEFAULT_TIMEOUT", "AsyncCincopa"]

ReplyT = TypeVar("ReplyT")

DEFAULT_BASE_URL: Final = "https://api.cincopa.com/v2/"
DEFAULT_TIMEOUT: Final = httpx.Timeout(60.0, connect=5.0)
DEFAULT_MAX_RETRIES: Final = 2
DEFAULT_MAX_CONCURRENCY: Final = 32
# A JSON reply is read up to this many bytes, decoded. Cincopa's replies are pages of at most a
# few hundred assets, each under 1 KB in the recorded replies (tests/fixtures/replies): a
# 100-asset page is ~100 KB, so 16 MiB leaves a hundredfold margin. Decoding JSON costs up to
# ~28x its size in Python objects and building the reply models ~45x, so the cap bounds memory
# only together with the value budgets below (README: "Memory is bounded").
MAX_RESPONSE_BYTES: Final = 16 * 1024 * 1024
# Budgets of a JSON reply, counted over its raw bytes before it is decoded (an overcount: braces
# and commas inside strings count too). A recorded asset takes ~7 objects and arrays and ~25
# values: a 100-asset page ~700 and ~2,500, a few hundredths of these. An object or array costs
# up to ~600 bytes once decoded into reply models, any other value ~70: together at most ~45 MiB.
MAX_JSON_CONTAINERS: Final = 50_000  # "{" and "["
MAX_JSON_VALUES: Final = (
    250_000  # "," + "{" + "[": each value but a container's first follows a ","
)
JSON_BUDGET_FROM: Final = 256 * 1024  # smaller replies cannot exceed the budgets' cost anyway
MAX_URL_LENGTH: Final = 65_536  # httpx's own limit
TOKEN_ENV_VAR: Final = "CINCOPA_API_TOKEN"  # noqa: S105 - a variable name, not a secret
BASE_URL_ENV_VAR: Final = "CINCOPA_BASE_URL"

_logger = logging.getLogger("cincopa_async")
USER_AGENT: Final = f"cincopa-async/{__version__}"
# Only codings the SDK decodes itself, with a bound (_body); also over an injected client.
_REQUEST_HEADERS: Final = {"Accept-Encoding": ACCEPT_ENCODING}
# Every header aiohttp would add by itself is given, so aiohttp adds none (no skip list to
# build per request): the values are httpx's and aiohttp's own defaults but for the two pinned.
_DIRECT_HEADERS: Final = {"User-Agent": USER_AGENT, "Accept": "*/*", **_REQUEST_HEADERS}
_FALSE = (False, "false", "0", 0, "no")  # "success" words, compared stripped and lower-cased:
# the converter reads the flag so (``_converter._FLAGS``), and .NET writes ``False``
_MESSAGE_LIMIT: Final = 1000  # characters of a server's message kept in an error's
_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)

install_log_redaction()


def resolve_base_url(given: object) -> str:
    """The API root a client given ``base_url=given`` uses: ``given``, else the
    ``CINCOPA_BASE_URL`` environment variable, else ``DEFAULT_BASE_URL`` (checked either way)."""
    if given is not None:
        return _check_base_url(given)
    if from_env := os.environ.get(BASE_URL_ENV_VAR, "").strip():
        return _check_base_url(from_env, source=BASE_URL_ENV_VAR)
    return DEFAULT_BASE_URL


def _check_base_url(base_url: object, source: str = "base_url") -> str:
    """The API root, normalized to end in ``/``; else a ``CincopaValidationError``.

    A base URL is a scheme, a host, an optional port and a path: credentials (``user:pass@``),
    a query string or a fragment are refused, and the message never quotes the parts that may
    hold a secret (the token rides in the query string of every request, so a URL carrying one
    is likely to hold it; neither the message nor its ``__context__`` echoes them).
    """
    if not isinstance(base_url, str):
        raise CincopaValidationError(
            [f"{source}: expected a str, got {type(base_url).__name__}"], operation="AsyncCincopa"
        )
    problem: str | None = None
    try:
        url = httpx.URL(base_url)
    except (httpx.InvalidURL, ValueError) as exc:  # UnicodeError, an invalid port or IPv6 host
        # httpx quotes the offending part (a port, a host), which may be a pasted secret.
        reason = str(exc).partition(":")[0][:200]
        problem = f"{source}: not a valid URL ({reason})"
    else:
        if url.userinfo:
            problem = (
                f"{source}: must not carry credentials (user:password@ before the host);"
                " the token is the api_token argument"
            )
        elif "?" in base_url or "#" in base_url:
            problem = (
                f"{source}: must not have a query string (?...) or a fragment (#...): it is the"
                " API root only; the token is the api_token argument"
            )
    if problem is not None:  # raised here, outside the except: no __context__ quoting the URL
        raise CincopaValidationError([problem], operation="AsyncCincopa")
    host = url.host
    if url.scheme == "https" and host:
        return str(url) if str(url).endswith("/") else f"{url}/"
    if url.scheme == "http" and is_loopback_host(host):
        return str(url) if str(url).endswith("/") else f"{url}/"
    raise CincopaValidationError(
        [
            f"{source}: {redact(base_url)!r} must be https:// (plain http:// is allowed only for"
            " loopback hosts: localhost, *.localhost, 127.0.0.0/8, ::1), since every URL carries"
            " the token"
        ],
        operation="AsyncCincopa",
    )


def _token_problem(token: object, source: str) -> str | None:
    """What is wrong with an api_token, or None. The token itself is never quoted: it travels
    in every URL, and a control character or a lone surrogate would break (or smuggle into)
    the request line."""
    if token is None:
        return None
    if not isinstance(token, str):
        return f"{source}: expected a str, got {type(token).__name__}"
    if not token.strip():
        return None  # reported as missing
    try:
        token.encode("utf-8")
    except UnicodeEncodeError:
        return f"{source}: is not valid UTF-8 text (it contains a lone surrogate)"
    if any(ch.isspace() or ord(ch) < 32 or ord(ch) == 127 for ch in token):
        return f"{source}: contains whitespace or a control character (NUL, CR, LF ...)"
    if len(token) < MIN_SECRET_LENGTH:
        # Inferred: Cincopa's tokens are some 30 characters (<account id>i<characters>). The
        # registry that scrubs log records ignores shorter values, which would garble them.
        return (
            f"{source}: is too short ({len(token)} characters) to be an API token: the SDK keeps"
            f" only tokens of at least {MIN_SECRET_LENGTH} characters out of every log record"
        )
    return None


def _check_timeout(timeout: object) -> tuple[httpx.Timeout | None, list[str]]:
    """``timeout`` as an ``httpx.Timeout``, or the problems with it.

    A number of seconds > 0, or an ``httpx.Timeout`` whose every phase is one (or None). ``inf``
    (like None) means no limit; it is sent as None, which every route understands (aiohttp's
    timers cannot take an infinite delay). 0, a negative number, NaN, a str or a bool is refused.
    """
    phases: dict[str, object]
    if isinstance(timeout, httpx.Timeout):
        phases = dict(timeout.as_dict())
    elif timeout is None or is_seconds(timeout):
        phases = dict.fromkeys(("connect", "read", "write", "pool"), timeout)
    else:
        return None, [
            f"timeout: must be a number of seconds > 0 or an httpx.Timeout, got {timeout!r:.40}"
        ]
    finite: dict[str, float | None] = {}
    problems = []
    for name, value in phases.items():
        if value is None:
            finite[name] = None
        elif isinstance(value, int | float) and is_seconds(value):
            finite[name] = None if math.isinf(value) else float(value)
        else:
            problems.append(
                f"timeout: its {name} phase must be a number of seconds > 0 or None,"
                f" got {value!r:.40}"
            )
    if problems:
        return None, problems
    return httpx.Timeout(**finite), []


def is_loopback_host(host: str) -> bool:
    """``localhost``, ``*.localhost``, ``127.0.0.0/8`` and ``::1`` (the emulator uses it too)."""
    host = host.strip("[]").lower().rstrip(".")
    if host == "localhost" or host.endswith(".localhost"):
        return True
    import ipaddress  # only for http:// base URLs, so not on every import

    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


# How a client's requests travel, chosen on its first request (``_SharedState.choose_route``).
WIRE: Final = 1  # asyncio, the SDK's aiohttp transport: ``Outgoing``/``Reply``, no httpx objects
CORE: Final = 2  # httpx's own transports (httpcore: trio), sharded, an ``httpx.Request`` to them
CLIENT: Final = 3  # through an ``httpx.AsyncClient``: an injected one, a given transport, proxies


class _SharedState:
    """What every view made by ``with_options`` shares: the pool, the limiter, the lifecycle.

    The route is chosen on first use, when the running event loop is known (``choose_route``):

    * ``WIRE`` on asyncio (the default there): requests go to the SDK's aiohttp transport
      directly, as ``Outgoing`` objects, under an ``asyncio.Semaphore``, with the attempt's
      deadline as aiohttp's own ``total`` timeout (no cancel scope per call);
    * ``CORE`` on trio (or without aiohttp), when no proxy is configured: an ``httpx.Request``
      goes straight to httpx's own transports, under anyio's limiter and ``fail_after``: to one
      of ``max_concurrency`` of them, each a pool of one connection (``_shards``: a single
      httpcore pool's cost per call grows with the connections it holds);
    * ``CLIENT`` for an injected ``http_client`` (used as given), a given ``transport``, or
      proxies on httpx's transport: ``httpx.AsyncClient.send``.

    On the direct routes the client layer of httpx (auth flows, cookies, redirects, event hooks)
    has nothing to do for this API and costs a third of each call; aiohttp reads proxy settings
    itself. ``http`` is an ``httpx.AsyncClient`` over the same transport, built only when asked
    for. One client takes one route for its whole life, so only one of the semaphore in
    ``wire`` (``WIRE``) and ``limiter`` (the others) is ever taken, in
    ``AsyncCincopa._exchange``.
    """

    __slots__ = (
        "__weakref__",
        "_http",
        "_limiter",
        "closed",
        "core",
        "direct",
        "handed_out",
        "imports",
        "limits",
        "locks",
        "max_concurrency",
        "overload_listeners",
        "owns_http",
        "preparing",
        "release",
        "route",
        "sleep",
        "transport",
        "waiting",
        "wire",
    )

    def __init__(
        self,
        http: httpx.AsyncClient | None,
        transport: httpx.AsyncBaseTransport | None,
        max_concurrency: int,
    ) -> None:
        self._http = http
        self.owns_http = http is None
        self.transport = transport
        self.limits = httpx.Limits(
            max_connections=max_concurrency, max_keepalive_connections=max_concurrency
        )
        self.max_concurrency = max_concurrency
        # anyio's limiter, for the routes other than WIRE; made when first needed: making one
        # imports anyio's backend for the running loop, tens of milliseconds on the loop
        self._limiter: anyio.CapacityLimiter | None = None
        self.closed = False
        self.sleep = anyio.sleep
        # the cancel scopes of the calls waiting before a retry: closing the client ends them
        self.waiting: set[anyio.CancelScope] = set()
        self.overload_listeners: list[Callable[[CincopaError], object]] = []
        # uploads and imports that could be mistaken for each other after a lost reply (_locks)
        self.locks = KeyedLocks()
        self.handed_out = HandedOut()
        self.imports = ImportRegistry()
        self.route: int | None = None
        # set once ``ready`` chose the route (the event loop's own kind of event)
        self.preparing: asyncio.Event | trio.Event | None = None
        self.release: weakref.finalize[[], _SharedState] | None = None
        self.direct: AiohttpTransport | None = None
        self.core: httpx.AsyncBaseTransport | None = None
        # WIRE: the transport, and the limiter as the event loop's own kind of semaphore
        self.wire: tuple[AiohttpTransport, asyncio.Semaphore] | None = None

    def choose_route(self, chosen: tuple[int, Any] | None = None) -> int:
        """The route of every request of this client (see the class docstring), chosen once;
        ``chosen``: the route and its transport, as ``ready`` made them."""
        if self.route is None:
            if not self.owns_http or self.transport is not None:
                self.route = CLIENT
            else:
                route, made = chosen or _make_route(self.limits, _running_on_asyncio(), False)
                if route == WIRE:
                    import asyncio

                    self.direct = made
                    self.wire = (made, asyncio.Semaphore(self.max_concurrency))
                    # A client dropped unclosed is garbage in one cycle with its session and
                    # connector, whose finalizers may run before this state's (and warn as
                    # aiohttp). Held from here, the transport stays out of that cycle until
                    # this state's finalizer released it; the callback then drops it.
                    self.release = weakref.finalize(self, made.close_from_finalizer)
                elif route == CORE:
                    self.core = made
                self.route = route
        return self.route

    async def ready(self, https: bool) -> None:
        """Choose the route before the first request, its slow part in a worker thread.

        Importing aiohttp (its connector builds TLS contexts as it is imported), anyio's
        backend for the loop, loading a CA bundle and building the reply models and their
        converters take hundreds of milliseconds of Python: run on the event loop, they would
        hold it that long, stalling every other task of an application
        (benchmarks/bench_loop_stall.py). The thread and the event are the event loop's own
        (``run_in_executor``, ``trio.to_thread``): anyio's would import its backend on the loop
        first. Every call made meanwhile waits for the same preparation.
        """
        if self.route is not None:
            return
        on_asyncio = _running_on_asyncio()
        preparing = self.preparing
        if preparing is None:
            # Nothing in the thread refers to this state: a worker thread keeps its last job
            # alive until the next, and this state's finalizer must not run there.
            limits = self.limits if self.owns_http and self.transport is None else None
            chosen = None
            if on_asyncio:
                import asyncio

                self.preparing = preparing = asyncio.Event()
                try:
                    loop = asyncio.get_running_loop()
                    chosen = await loop.run_in_executor(None, _prepare, limits, True, https)
                finally:
                    preparing.set()
            else:
                import trio  # anyio runs on asyncio or trio

                self.preparing = preparing = trio.Event()
                try:
                    chosen = await trio.to_thread.run_sync(_prepare, limits, False, https)
                finally:
                    preparing.set()
            self.choose_route(chosen)
            install_log_redaction()  # on the loggers the transports just imported made, too
        else:
            await preparing.wait()
            self.choose_route()

    @property
    def limiter(self) -> anyio.CapacityLimiter:
        if self._limiter is None:
            self._limiter = anyio.CapacityLimiter(self.max_concurrency)
        return self._limiter

    @property
    def http(self) -> httpx.AsyncClient:
        if self._http is None:
            self.choose_route()
            self._http = httpx.AsyncClient(
                transport=self.transport or self.direct or self.core,
                limits=self.limits,
                follow_redirects=False,
                headers={"User-Agent": USER_AGENT, **_REQUEST_HEADERS},
            )
        return self._http

    def __del__(self) -> None:
        """A client that was used and never closed: one warning of its own, and a release.

        Without this, aiohttp would warn later, from inside aiohttp, about a session and a
        connector the user never made. Only the SDK's own aiohttp session can be released
        without an event loop; the sockets of httpx's own transport (the default on trio) are
        closed, with Python's own warning, when they are collected.
        """
        if self.closed or not self.owns_http or (self._http is None and self.route is None):
            return
        self.closed = True
        if self.direct is not None:  # first: under a filter that turns warnings into errors,
            self.direct.close_from_finalizer()  # warn() raises
        warnings.warn(
            "an AsyncCincopa client was used and never closed: use `async with AsyncCincopa()"
            " as cp:` or call `await cp.aclose()` when done (a long-lived app opens one client"
            " at startup and closes it at shutdown)",
            ResourceWarning,
            source=self,
            stacklevel=1,  # a finalizer: there is no caller to point at
        )

    async def aclose(self) -> None:
        self.closed = True
        for waiting in list(self.waiting):  # each raises the closed client's error
            waiting.cancel()
        if self.release is not None:
            self.release.detach()
        if self.owns_http:
            if self._http is not None:
                await self._http.aclose()  # and the transport under it
                return
            for transport in (self.transport, self.direct, self.core):
                if transport is not None:
                    await transport.aclose()


def _make_route(limits: httpx.Limits, on_asyncio: bool, https: bool) -> tuple[int, Any]:
    """The route of a client the SDK owns, and its transport (``https``: with its TLS context
    made). Slow the first time: imports, a CA bundle."""
    if on_asyncio:
        direct = _default_asyncio_transport(limits)
        if direct is not None:
            if https:
                direct.ssl_context  # noqa: B018 - made now, not on the first connection
            return WIRE, direct
    if not _proxies_configured():
        from ._shards import ShardedTransport

        return CORE, ShardedTransport(limits)
    return CLIENT, None


def _prepare(limits: httpx.Limits | None, on_asyncio: bool, https: bool) -> tuple[int, Any] | None:
    """What ``_SharedState.ready`` does in a worker thread: load the reply models, their
    converters, the JSON decoder and the bulk engine, and make the route (``limits``: the SDK
    owns the client)."""
    import importlib

    from . import _bulk  # noqa: F401 - imported for ``cp.bulk``

    with contextlib.suppress(ImportError):  # what anyio imports on its first use in the loop
        importlib.import_module(
            "anyio._backends._asyncio" if on_asyncio else "anyio._backends._trio"
        )
    _load_converters()
    _load_json()
    return None if limits is None else _make_route(limits, on_asyncio, https)


def _running_on_asyncio() -> bool:
    asyncio = sys.modules.get("asyncio")  # not imported: certainly not running on asyncio
    if asyncio is None:
        return False
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


def _proxies_configured() -> bool:
    """Does the environment name a proxy? (httpx's client then mounts proxy transports.)

    ``NO_PROXY`` alone names none: ``getproxies`` lists it too, as ``no``."""
    import urllib.request

    return any(scheme != "no" for scheme in urllib.request.getproxies())


def _default_asyncio_transport(limits: httpx.Limits) -> AiohttpTransport | None:
    try:
        from ._aiohttp import AiohttpTransport
    except ImportError:  # aiohttp is not installed: httpx's own transport
        return None
    return AiohttpTransport(limits=limits)


class AsyncCincopa(ClientOperations):
    """An async client for the Cincopa REST API v2 (asyncio and trio).

    Use it as an async context manager, or call ``await client.aclose()`` when done::

        async with AsyncCincopa() as cp:          # token from CINCOPA_API_TOKEN
            page = await cp.asset.list(items_per_page=50)

    A client holds a connection pool: a long-lived application opens one at startup and closes
    it at shutdown. One that was used and is garbage-collected without being closed emits a
    ``ResourceWarning`` naming it and releases its aiohttp session.

    Args:
        api_token: the API token; defaults to the ``CINCOPA_API_TOKEN`` environment variable.
            It travels in the query string of every request, so the SDK redacts it from every
            message, log record and repr.
        base_url: the API root; defaults to the ``CINCOPA_BASE_URL`` environment variable, else
            ``https://api.cincopa.com/v2/`` (an argument always wins over the environment).
            ``https://`` only, except plain ``http://`` on loopback hosts (an emulator).
        timeout: seconds (> 0; ``inf`` or None: no limit), or an ``httpx.Timeout`` whose phases
            are such (default 60 s, 5 s to connect).
        max_retries: retries after a retryable failure (see ``_retry``); 0 disables them.
        max_concurrency: requests in flight at once through this client, all views included.
        http_client: an ``httpx.AsyncClient`` to use as given; the SDK does not close it.
        transport: an ``httpx.AsyncBaseTransport`` for the client the SDK creates and owns
            (and closes). By default that client runs on aiohttp under asyncio and on httpx's
            own transport under trio; pass ``httpx.AsyncHTTPTransport()`` to force the latter.
    """

    def __init__(
        self,
        api_token: str | None = None,
        *,
        base_url: str | None = None,
        timeout: float | httpx.Timeout = DEFAULT_TIMEOUT,
        max_retries: int = DEFAULT_MAX_RETRIES,
        max_concurrency: int = DEFAULT_MAX_CONCURRENCY,
        http_client: httpx.AsyncClient | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        problems = []
        source = "api_token" if api_token is not None else TOKEN_ENV_VAR
        token: object = api_token if api_token is not None else os.environ.get(TOKEN_ENV_VAR)
        if (problem := _token_problem(token, source)) is not None:
            problems.append(problem)
        elif not isinstance(token, str) or not token.strip():
            problems.append(f"api_token: is required (pass api_token= or set {TOKEN_ENV_VAR})")
        if not is_count(max_retries, 0):
            problems.append("max_retries: must be an int >= 0")
        if not is_count(max_concurrency, 1):
            problems.append("max_concurrency: must be an int >= 1")
        checked_timeout, timeout_problems = _check_timeout(timeout)
        problems.extend(timeout_problems)
        if http_client is not None and not isinstance(http_client, httpx.AsyncClient):
            problems.append(
                f"http_client: expected an httpx.AsyncClient, got {type(http_client).__name__}"
            )
        if transport is not None and not isinstance(transport, httpx.AsyncBaseTransport):
            problems.append(
                f"transport: expected an httpx.AsyncBaseTransport, got {type(transport).__name__}"
            )
        if http_client is not None and transport is not None:
            problems.append("transport: cannot be combined with http_client")
        if problems:
            raise CincopaValidationError(problems, operation="AsyncCincopa")
        assert isinstance(token, str)
        assert checked_timeout is not None
        self._base_url = resolve_base_url(base_url)
        self._api_token = token
        self._token_query = urlencode({"api_token": token})
        # Every log record and error of the process is scrubbed of the token while the client
        # (its state, which every view shares) lives, and for a while after (_redact.KNOWN).
        KNOWN.hold(token)
        self._timeout = checked_timeout
        self._retry = RetryPolicy(max_retries=max_retries)
        self._shared = _SharedState(http_client, transport, max_concurrency)
        weakref.finalize(self._shared, KNOWN.release, token)
        self._urls: dict[str, str] = {}
        # the aiohttp route's form of self._timeout, made once per timeout (see _outgoing)
        self._wire: tuple[httpx.Timeout, Any, float | None, type[Outgoing]] | None = None
        super().__init__()

    # -- configuration -------------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        return self._base_url

    @property
    def max_retries(self) -> int:
        return self._retry.max_retries

    @property
    def timeout(self) -> httpx.Timeout:
        return self._timeout

    @property
    def max_concurrency(self) -> int:
        return self._shared.max_concurrency

    def __repr__(self) -> str:
        return (
            f"<AsyncCincopa base_url={self._base_url!r} max_retries={self.max_retries}"
            f" max_concurrency={self.max_concurrency}{' closed' if self._shared.closed else ''}>"
        )

    def __reduce_ex__(self, protocol: SupportsIndex) -> NoReturn:
        """A client is not pickled (nor copied): a pickle would hold its token in the clear --
        a Dask task closing over ``cp`` ships it -- and make a client sharing none of this
        one's pool, limiter or lifecycle."""
        raise TypeError(
            "an AsyncCincopa cannot be pickled or copied: it holds the API token and a"
            " connection pool. Make one client per process (on Dask: a CincopaPlugin makes one"
            " per worker; a task reads it as get_worker().plugins['cincopa-async'].client)."
        )

    def with_options(
        self,
        *,
        max_retries: int | None = None,
        timeout: float | httpx.Timeout | None = None,
    ) -> AsyncCincopa:
        """A view of this client with other retry or timeout settings.

        The view shares the connection pool, the concurrency limiter and the lifecycle with this
        client: closing either closes both, and their calls count against the same limit.
        """
        view = object.__new__(type(self))
        view.__dict__.update(self.__dict__)
        if max_retries is not None:
            if not is_count(max_retries, 0):
                raise CincopaValidationError(
                    ["max_retries: must be an int >= 0"], operation="with_options"
                )
            view._retry = RetryPolicy(max_retries=max_retries)
        if timeout is not None:
            checked, problems = _check_timeout(timeout)
            if problems:
                raise CincopaValidationError(problems, operation="with_options")
            assert checked is not None
            view._timeout = checked
        ClientOperations.__init__(view)
        return view

    # -- uploads and bulk work ------------------------------------------------------------------

    upload_file = _uploads.upload_file
    import_url = _uploads.import_url

    @property
    def bulk(self) -> BulkOperations:
        """Concurrent bulk work (uploads, imports, metadata, deletes) on this client."""
        from ._bulk import BulkOperations  # with first use: it is a third of the import

        return BulkOperations(self)

    # -- lifecycle -----------------------------------------------------------------------------

    async def __aenter__(self) -> AsyncCincopa:
        """Open the client: its route is chosen and the modules the first reply needs load
        now, in a worker thread, not later on the event loop (``_SharedState.ready``)."""
        self._check_open()
        await self._shared.ready(https=self._base_url.startswith("https:"))
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the client (and its connection pool, when the SDK created it). Idempotent."""
        if not self._shared.closed:
            await self._shared.aclose()

    @property
    def is_closed(self) -> bool:
        return self._shared.closed

    def _check_open(self) -> None:
        if self._shared.closed:
            raise _closed_error()

    # -- the request path ----------------------------------------------------------------------

    def _url(self, endpoint: Endpoint) -> str:
        url = self._urls.get(endpoint.name)
        if url is None:
            url = self._urls[endpoint.name] = self._base_url + endpoint.path
        return url

    async def _call(self, name: str, arguments: Mapping[str, object]) -> Any:
        """Call operation ``name`` with its retries; the reply is an instance of its
        ``Endpoint.reply`` model.

        One coroutine, with no closure, from here to ``_exchange`` on the aiohttp route: with
        hundreds of calls in flight, every object a waiting call holds is scanned by each of
        the cyclic garbage collector's young collections (a closure's cells are made when the
        function starts, whether or not it defines the closure: ``_call_over_httpx``).
        """
        endpoint = ENDPOINTS_BY_NAME[name]
        base = self._urls.get(name) or self._url(endpoint)
        query = encode_arguments(endpoint, arguments, url=base)
        self._check_open()
        # the query encoded once, for every attempt; the token's part once per client
        url = f"{base}?{self._token_query}"
        if query:
            url = f"{url}&{urlencode(query)}"
        if len(url) > MAX_URL_LENGTH:
            raise CincopaValidationError(
                [
                    f"the arguments make a {len(url):,}-character URL; Cincopa takes every"
                    f" parameter in the query string and httpx refuses URLs over"
                    f" {MAX_URL_LENGTH:,} characters (many servers stop at ~8 KB: HTTP 414)"
                ],
                operation=endpoint.name,
                url=base,
            )
        operation = endpoint.name
        shared = self._shared
        route = shared.route
        if route is None:
            await shared.ready(https=base.startswith("https:"))
            route = shared.choose_route()
        if route == WIRE:  # the hot path, flat: one object for every attempt
            outgoing = self._outgoing(endpoint.method, url, _DIRECT_HEADERS)
            retries_done = 0
            while True:
                try:
                    response, body = await self._exchange(operation, outgoing)
                    payload = self._decode(operation, outgoing, response, body)
                    break
                except CincopaError as error:
                    delay = self._delay_before_retry(
                        operation, endpoint.retry_safe, error, retries_done
                    )
                    if delay is None:
                        raise
                retries_done += 1
                await self._wait_unless_closed(delay)
        else:
            payload = await self._call_over_httpx(endpoint, route, url, base, query)
        return _structure(endpoint, payload, base)

    async def _call_over_httpx(
        self, endpoint: Endpoint, route: int, url: str, base: str, query: dict[str, str]
    ) -> Mapping[str, Any]:
        """``_call`` on the routes that send ``httpx.Request``\\s (``CORE``, ``CLIENT``): the
        decoded reply. ``url``: the endpoint's with the query encoded; ``base``: without it."""
        operation = endpoint.name
        shared = self._shared

        async def attempt() -> Mapping[str, Any]:
            if route == CORE:
                request = self._outgoing(endpoint.method, url, {})
            else:  # through the client, as given: its own parameter encoding
                request = shared.http.build_request(
                    endpoint.method,
                    base,
                    params={"api_token": self._api_token, **query},
                    headers=_REQUEST_HEADERS,
                    timeout=self._timeout,
                )
            response, body = await self._exchange(operation, request)
            return self._decode(operation, request, response, body)

        return await self._with_retries(operation, endpoint.retry_safe, attempt)

    def _paginate(self, name: str, arguments: Mapping[str, object]) -> AsyncPager[Any, Any]:
        endpoint = ENDPOINTS_BY_NAME[name]
        assert endpoint.pages is not None, f"{name} is not a paged operation"
        encode_arguments(endpoint, arguments, url=self._url(endpoint))  # fail before iterating
        start = arguments.get("page")

        async def fetch(page: int | None) -> Any:
            return await self._call(name, {**arguments, "page": page})

        return AsyncPager(
            fetch, endpoint.pages, start if isinstance(start, int) else None, operation=name
        )

    def _build_url(self, name: str, arguments: Mapping[str, object], api_token: str | None) -> str:
        endpoint = ENDPOINTS_BY_NAME[name]
        query = encode_arguments(endpoint, arguments, url=self._url(endpoint))
        url = httpx.URL(self._url(endpoint), params={"api_token": api_token or self._api_token})
        return str(url.copy_merge_params(query))

    def _outgoing(
        self,
        method: str,
        url: str,
        headers: Mapping[str, str],
        content: bytes | AsyncIterator[bytes] | None = None,
        *,
        encoded: bool = True,
    ) -> Outgoing | httpx.Request:
        """A request on this client's route (``_SharedState.choose_route``), with its headers
        and the client's timeouts. ``encoded``: ``url`` is already percent-encoded (the SDK
        built it); False for URLs a server gave, which are normalised first."""
        shared = self._shared
        route = shared.route or shared.choose_route()
        if route == WIRE:
            wire = self._wire
            if wire is None or wire[0] is not self._timeout:
                from ._aiohttp import Outgoing, client_timeout

                deadline = _total(self._timeout)
                timeouts = client_timeout(self._timeout, deadline)
                wire = self._wire = (self._timeout, timeouts, deadline, Outgoing)
            if not encoded:
                url = str(httpx.URL(url))
            if headers is not _DIRECT_HEADERS:
                headers = {**_DIRECT_HEADERS, **headers}
            return wire[3](method, url, headers, wire[1], wire[2], content)
        extensions = {"timeout": self._timeout.as_dict()}
        if route == CORE:
            return httpx.Request(
                method,
                url,
                headers={**_DIRECT_HEADERS, **headers},
                content=content,
                extensions=extensions,
            )
        return shared.http.build_request(  # the codings the SDK decodes, over any client
            method,
            url,
            headers={**_REQUEST_HEADERS, **headers},
            content=content,
            timeout=self._timeout,
        )

    async def _with_retries(
        self, operation: str, retry_safe: bool, attempt: Callable[[], Awaitable[ReplyT]]
    ) -> ReplyT:
        """Run ``attempt`` until it succeeds or the retry policy says to raise."""
        retries_done = 0
        while True:
            try:
                return await attempt()
            except CincopaError as error:
                delay = self._delay_before_retry(operation, retry_safe, error, retries_done)
                if delay is None:
                    raise
            retries_done += 1
            await self._wait_unless_closed(delay)

    async def _wait_unless_closed(self, delay: float) -> None:
        """Wait ``delay`` seconds (before a retry, a poll, an overloaded bulk run's next item),
        or until the client closes: then the call ends at once with the closed client's
        ``RuntimeError`` (a ``Retry-After`` may ask for a minute, which a shutting-down
        application would wait out with it). Every wait of the SDK's goes through here."""
        self._check_open()
        shared = self._shared
        try:
            with anyio.CancelScope() as waiting:
                shared.waiting.add(waiting)
                try:
                    await shared.sleep(delay)
                finally:
                    shared.waiting.discard(waiting)
        except RuntimeError as exc:  # the scope's exit, as the coroutine is closed off its loop
            _end_if_closing(exc)
            raise
        self._check_open()

    def _delay_before_retry(
        self, operation: str, retry_safe: bool, error: CincopaError, retries_done: int
    ) -> float | None:
        """After a failed attempt: tell the overload listeners, then ask the retry policy how
        long to wait before the next attempt (None: raise ``error``).

        A reply of the wrong shape (``ResponseValidationError``: valid JSON that is no object,
        as a structuring error after the loop) is raised at once: it is the server's answer,
        no overload of it and nothing a retry changes."""
        if isinstance(error, ResponseValidationError):
            return None
        for listener in self._shared.overload_listeners:
            listener(error)
        delay = self._retry.delay_before_retry(retry_safe, error, retries_done)
        if delay is not None:
            _logger.info(
                "retrying %s in %.2fs (retry %d of %d) after %s",
                operation,
                delay,
                retries_done + 1,
                self._retry.max_retries,
                type(error).__name__,
            )
        return delay

    async def _exchange(
        self,
        operation: str,
        request: Outgoing | httpx.Request,
        read: Callable[[Reply], Awaitable[bytes | bytearray]] | None = None,
    ) -> tuple[Reply, bytes | bytearray]:
        """Send one request and read its whole (bounded) reply, under the concurrency limiter.

        ``request`` is what ``_outgoing`` made for this client's route. ``read`` replaces the
        reading of the body (``read_body`` up to ``MAX_RESPONSE_BYTES``): the SDK's own helpers
        stream a download into a hash with it.

        This is the only place the limiter is taken (an ``asyncio.Semaphore`` on the aiohttp
        route, anyio's ``CapacityLimiter`` on the others). A call that waited for its slot while
        the client closed sends nothing: it gets the closed client's ``RuntimeError``. Every
        failure of the transport or of reading becomes a ``CincopaError``
        (``APIConnectionError``/``APITimeoutError``, ``ResponseDecodeError``); HTTP statuses
        are left to the caller. Two failures are no request's and are not retried: one raised
        while the call's coroutine is being closed ends it (``_end_if_closing``), and one on an
        aiohttp session that belongs to another event loop is a ``RuntimeError`` saying so
        (``_other_loop_error``). The error is raised
        outside the handler of the original exception and chained only to a scrubbed copy of
        it, so that nothing reachable from it (``__cause__``, ``__context__``, their ``args``
        and attributes, a traceback's text) holds a secret: aiohttp's and httpx's exceptions
        quote the request URL or keep the request itself.
        """
        shared = self._shared
        reader = read or _read_whole
        failure: Exception  # a CincopaError, or a RuntimeError for a client misused
        if not isinstance(request, httpx.Request):  # an Outgoing: the aiohttp route
            wire = shared.wire
            assert wire is not None
            direct, gate = wire
            await gate.acquire()
            if shared.closed:  # closed while this call waited: nothing may open again
                gate.release()
                raise _closed_error()
            try:  # the attempt's deadline is aiohttp's total timeout (Outgoing.timeout)
                return await direct.send(request, reader)
            except Exception as exc:  # cancellation is a BaseException and passes through
                _end_if_closing(exc)
                failure, cause = self._exchange_failure(operation, request, exc)
                if direct.bound_elsewhere():  # no failure of the request: not retried
                    failure, cause = _other_loop_error(), None
            finally:
                try:
                    gate.release()
                except RuntimeError as exc:  # a waiter's wake-up, on a loop that is gone
                    _raise_unless_closing(exc)
            raise failure from cause
        limiter = shared.limiter
        # a checkpoint even with a free token: an in-memory transport may never yield, and a
        # loop of calls (polling an import) must still let other tasks and deadlines run.
        # Borrowed on behalf of the request, not of the current task: a coroutine closed from
        # outside its task (_end_if_closing) gives its token back all the same.
        await limiter.acquire_on_behalf_of(request)
        if shared.closed:  # closed while this call waited: nothing may open again
            limiter.release_on_behalf_of(request)
            raise _closed_error()
        if shared.core is None and shared.http.is_closed:  # an injected client its owner closed
            limiter.release_on_behalf_of(request)
            raise RuntimeError(
                "the http_client given to this AsyncCincopa client is closed; give it an open one"
            )
        try:
            with anyio.fail_after(_deadline(request)):
                if shared.core is not None:
                    response = await shared.core.handle_async_request(request)
                else:
                    response = await shared.http.send(request, stream=True, follow_redirects=False)
                try:
                    body = await reader(response)
                finally:
                    with anyio.CancelScope(shield=True):  # always give the connection back
                        await response.aclose()
            return response, body
        except Exception as exc:  # cancellation is a BaseException and passes through
            _end_if_closing(exc)
            failure, cause = self._exchange_failure(operation, request, exc)
        finally:
            try:
                limiter.release_on_behalf_of(request)
            except RuntimeError as exc:  # a waiter's wake-up, on a loop that is gone
                _raise_unless_closing(exc)
        raise failure from cause

    def _exchange_failure(
        self, operation: str, request: Outgoing | httpx.Request, exc: Exception
    ) -> tuple[CincopaError, BaseException | None]:
        """The SDK error for ``exc``, and a scrubbed stand-in for ``exc`` to chain it to."""
        url = redact_url(request.url)
        where = f"({request.method} {url})"
        if isinstance(exc, TimeoutError):
            deadline = APITimeoutError(
                f"{operation}: no complete reply within {_deadline(request):g} s, the sum of"
                f" the connect, write and read timeouts {where}",
                operation=operation,
                url=url,
                request_sent=True,
            )
            return deadline, None
        if isinstance(exc, BodyTooLarge | UndecodableBody):
            problem = (
                f"is larger than {exc.limit} bytes (received or decoded); reading stopped there"
                if isinstance(exc, BodyTooLarge)
                else f"cannot be decoded: {exc}"
            )
            undecodable = ResponseDecodeError(
                f"{operation}: the reply {problem} {where}",
                operation=operation,
                url=url,
                body_excerpt="",
            )
            return undecodable, None
        detail = scrub_then_truncate(
            str(exc) or type(exc).__name__, _MESSAGE_LIMIT, self._secrets_of(request)
        )
        kind = type(exc).__name__
        if not isinstance(exc, httpx.TransportError):
            kind = f"unexpected {type(exc).__module__}.{type(exc).__qualname__}"
        cls = APITimeoutError if isinstance(exc, httpx.TimeoutException) else APIConnectionError
        failure = cls(
            f"{operation}: {kind}: {detail} {where}",
            operation=operation,
            url=url,
            request_sent=not isinstance(exc, _NOT_SENT),
        )
        return failure, _scrubbed_copy(exc, detail)

    def _secrets_of(self, request: Outgoing | httpx.Request) -> list[str]:
        """The token and the values of the request's secret query parameters (error paths),
        whatever their length (``KNOWN`` holds only long ones)."""
        return [self._api_token, *url_secrets(str(request.url))]

    def _decode(
        self,
        operation: str,
        request: Outgoing | httpx.Request,
        response: Reply,
        body: bytes | bytearray,
    ) -> Mapping[str, Any]:
        status = response.status_code
        if not 200 <= status <= 599:
            raise self._invalid_status(operation, request, response)
        too_deep = False
        over_budget = _over_json_budget(body) if len(body) > JSON_BUDGET_FROM else None
        payload: Any = None
        if over_budget is None:
            try:
                payload = (_JSON_LOADS or _load_json())[0](body)
            except ValueError:
                pass
            except RecursionError:  # nested deeper than the interpreter's recursion limit
                too_deep = True
        if status >= 300:
            raise self._status_error(operation, request, response, payload, body)
        if over_budget is not None:
            url = redact_url(request.url)
            raise ResponseDecodeError(
                f"{operation}: the reply ({len(body):,} bytes) holds {over_budget}; it was not"
                f" decoded (HTTP {status}) from {url}",
                operation=operation,
                url=url,
                body_excerpt="",
            )
        if type(payload) is dict:
            success = payload.get("success", True)
            if type(success) is str:
                success = success.strip().lower()
            if success is True or success not in _FALSE:
                return payload
        url = redact_url(request.url)  # only failures need it; redacting costs a regex pass
        if not isinstance(payload, dict):
            if payload is None and body.strip() != b"null":
                excerpt = scrub_then_truncate(body, 200, self._secrets_of(request))
                what = "JSON nested too deeply to decode" if too_deep else "not JSON"
                raise ResponseDecodeError(
                    f"{operation}: the reply is {what} (HTTP {status},"
                    f" {len(body)} bytes, starting {excerpt[:80]!r}) from {url}",
                    operation=operation,
                    url=url,
                    body_excerpt=excerpt,
                )
            raise ResponseValidationError(
                f"{operation}: expected a JSON object, got {type(payload).__name__} from {url}",
                operation=operation,
                url=url,
                errors=[f"expected a JSON object, got {type(payload).__name__} @ $"],
            )
        secrets = [*self._secrets_of(request), *credential_values(payload)]
        message = _reason_of(payload) or "no message"
        raise APIResponseError(
            safe_text(message, _MESSAGE_LIMIT, secrets),
            operation=operation,
            url=url,
            payload=scrub_json(payload, secrets),
        )

    def _invalid_status(
        self, operation: str, request: Outgoing | httpx.Request, response: Reply
    ) -> ResponseDecodeError:
        """The error for a reply whose status is no final HTTP status (not 200-599): HTTP has
        three-digit codes of classes 1 to 5, 1xx never final (RFC 9110 section 15). aiohttp
        takes ``000`` and ``099`` as they come; such a reply is not a success of any kind."""
        url = redact_url(request.url)
        reason = scrub(response.reason_phrase or "", self._secrets_of(request))[:80]
        return ResponseDecodeError(
            f"{operation}: the reply's status {response.status_code} {reason!r} is not a final"
            f" HTTP status (200-599) ({request.method} {url})",
            operation=operation,
            url=url,
            body_excerpt="",
        )

    def _status_error(
        self,
        operation: str,
        request: Outgoing | httpx.Request,
        response: Reply,
        payload: Any,
        body: bytes | bytearray,
    ) -> APIStatusError:
        """The ``APIStatusError`` subclass for an HTTP error reply (for the SDK's own helpers)."""
        url = redact_url(request.url)
        status = response.status_code
        secrets = [*self._secrets_of(request), *credential_values(payload)]
        server_message = ""
        if isinstance(payload, dict):
            found = _reason_of(payload) or ""
            server_message = safe_text(found, _MESSAGE_LIMIT, secrets)
        cls: type[APIStatusError]
        if status in (401, 403):
            cls = AuthenticationError
        elif status == 404:
            cls = NotFoundError
        elif status == 429:
            cls = RateLimitError
        elif status >= 500:
            cls = ServerError
        else:
            cls = APIStatusError
        reason = response.reason_phrase or ""
        detail = f": {server_message}" if server_message else ""
        hint = ""
        if status == 404 and not httpx.URL(self._base_url).path.endswith("/v2/"):
            hint = (
                f"; the base URL {self._base_url} does not end in /v2/, where the API's"
                f" operations are (e.g. {DEFAULT_BASE_URL})"
            )
        reason = scrub_then_truncate(reason, 200, secrets)
        message = scrub(
            f"{operation}: HTTP {status} {reason}{detail} ({request.method} {url}){hint}", secrets
        )
        kept = payload if payload is not None else scrub_then_truncate(body, 1000, secrets)
        return cls(
            message,
            operation=operation,
            url=url,
            status_code=status,
            body=scrub_json(kept, secrets),
            retry_after=parse_retry_after(response.headers),
        )


def _reason_of(payload: Mapping[str, Any]) -> Any:
    """The reason a failure body gives: ``message`` (REFERENCE.md section 3), else ``error``,
    which clients read as text (REAL-CLIENTS.md S10: ``body?.message ?? body?.error``) or as an
    object holding ``message`` (S9: ``$var['error']['message']``); the object itself when it
    holds none."""
    message = payload.get("message")
    if message:
        return message
    error = payload.get("error")
    if isinstance(error, dict) and error.get("message"):
        return error["message"]
    return error


#: Every byte but those ``_over_json_budget`` counts.
_NOT_COUNTED: Final = bytes(byte for byte in range(256) if byte not in b"{[,")
#: The bytes ``_over_json_budget`` filters at a time: ``bytes.translate`` allocates the length
#: of its input before it shrinks to what it kept, so a whole body would cost a second body.
_BUDGET_CHUNK: Final = 64 * 1024


#: How far down an exception's ``__context__`` chain ``_end_if_closing`` looks.
_CONTEXT_DEPTH: Final = 16


def _end_if_closing(exc: Exception) -> None:
    """Raise the ``GeneratorExit`` that ``exc`` was raised while handling, if any.

    The call's coroutine is then being closed -- by the garbage collector, finalizing a task
    whose event loop was closed and dropped with the call in flight (the interpreter's shutdown
    too), or by ``coro.close()`` -- and ``exc`` is a cleanup failing on the way out (aiohttp
    closing its connection on the closed loop: "Event loop is closed"; a cancel scope's exit
    asking for the current task: "no running event loop"). That is no
    failure of the request: a coroutine being closed must end, so nothing is retried, slept
    for, logged or shown to the overload listeners (Python would print "Exception ignored in:
    <coroutine ...>" with a traceback).
    """
    context = exc.__context__
    for _ in range(_CONTEXT_DEPTH):
        if context is None:
            return
        if isinstance(context, GeneratorExit):
            raise context
        context = context.__context__


def _raise_unless_closing(exc: RuntimeError) -> None:
    """Raise ``exc``, a failure to give a slot of the limiter back, unless it happened while
    the call's coroutine was being closed (``_end_if_closing``): waking the next waiter then
    schedules it on a loop that is gone ("Event loop is closed"), and the coroutine must end."""
    if not isinstance(exc.__context__, GeneratorExit):
        raise exc


def _other_loop_error() -> RuntimeError:
    """What a call gets on a client whose aiohttp session belongs to another event loop."""
    return RuntimeError(
        "this AsyncCincopa client was first used on another event loop (closed now, or another"
        " thread's), which its connections belong to: use a client on one event loop only, e.g."
        " `async with AsyncCincopa() as cp:` inside the function that asyncio.run runs"
    )


def _closed_error() -> RuntimeError:
    """What a call on a closed client gets, before it starts or when it waited (for a slot,
    before a retry) while the client closed: the closed pool would open a connection again
    (httpx's transports) or a session (aiohttp's), which nothing would close."""
    return ClosedClientError("this AsyncCincopa client is closed; create a new one")


def _over_json_budget(body: bytes | bytearray) -> str | None:
    """What of a JSON reply is past its budgets (``MAX_JSON_CONTAINERS``, ``MAX_JSON_VALUES``),
    or None. Counted before decoding, in one pass over the body, ``_BUDGET_CHUNK`` bytes at a
    time, that keeps only their ``{``, ``[`` and ``,``, then counts over what it kept."""
    values = commas = 0
    for start in range(0, len(body), _BUDGET_CHUNK):
        counted = body[start : start + _BUDGET_CHUNK].translate(None, _NOT_COUNTED)
        values += len(counted)
        commas += counted.count(b",")
    containers = values - commas
    if containers > MAX_JSON_CONTAINERS:
        return f"more than {MAX_JSON_CONTAINERS:,} JSON objects and arrays ({containers:,})"
    if values > MAX_JSON_VALUES:
        return f"more than {MAX_JSON_VALUES:,} JSON values ({values:,})"
    return None


def _structure(endpoint: Endpoint, payload: Mapping[str, Any], url: str) -> Any:
    """The reply model of ``endpoint`` built from ``payload``, or ``ResponseValidationError``.

    The models and the converter are imported with the first reply, not with the package. The
    fast converter runs first; only when it fails is the reply checked field by field, to name
    the path of each bad field (``_field_errors``: the first ones, scrubbed, then cut short:
    ``_converter.problems_of``). Secrets the reply hands out (tokens, upload URLs' hashes) join
    ``KNOWN`` first, so that no error or log record shows them from then on.
    """
    structure, model = _HOOKS.get(endpoint.reply) or _load_hook(endpoint.reply)
    keys = _SECRET_KEYS.get(endpoint.reply)
    if keys:
        _remember_reply_secrets(payload, keys)
    with contextlib.suppress(Exception):
        return structure(payload, model)
    from ._converter import summary_of

    errors = _field_errors(endpoint.name, payload, model, structure)
    # Raised here, outside any handler: cattrs' exceptions quote the reply's values.
    raise ResponseValidationError(
        f"{endpoint.name}: the reply does not have the expected shape: {summary_of(errors)}",
        operation=endpoint.name,
        url=redact_url(url),
        errors=errors,
    )


DETAILED_ITEMS: Final = 20  # items of each longer list that one detailed check looks at


def _field_errors(
    name: str, payload: Mapping[str, Any], model: type, fast: Callable[[Any, type], Any]
) -> list[str]:
    """The path of each bad field of a reply the fast converter refused.

    cattrs' detailed validation builds an exception (with its traceback) per bad item: 50,000
    bad assets took ~200 MiB and seconds. So it runs on a window of the reply, every list of
    more than ``DETAILED_ITEMS`` items cut to that many: first their first ones (the paths are
    then exact), and only when those are all good, the next ones, window after window, each
    checked by the fast converter first; paths found past the first window say where they
    count from.
    """
    from ._converter import problems_of

    detailed = (_CONVERTERS or _load_converters())[1]
    start = 0
    while True:
        cut = _Window(start)
        try:
            window = cut.of(payload)
        except RecursionError:  # pragma: no cover - a reply nested beyond the window's walk
            return [f"the reply is nested too deeply to check @ {name}"]
        if start:
            try:
                fast(window, model)
            except Exception:  # noqa: S110 - the bad field is in this window
                pass
            else:
                if not cut.more:  # pragma: no cover - the whole reply fails, no window does
                    return [f"the reply could not be structured @ {name}"]
                start += DETAILED_ITEMS
                continue
        try:
            detailed.structure(window, model)
        except Exception as exc:
            errors = problems_of(exc, path=name)
            if start:
                where = f" (items counted from {start} in lists of more than {DETAILED_ITEMS})"
                errors = [error + where for error in errors]
            if cut.more and not start and errors and not errors[-1].startswith("and "):
                errors.append(f"possibly more past the {DETAILED_ITEMS} items checked per list")
            return errors
        if not cut.more:  # pragma: no cover - both converters agree on every input
            return [f"the reply could not be structured @ {name}"]
        start += DETAILED_ITEMS


class _Window:
    """A copy of a decoded reply in which each list of more than ``DETAILED_ITEMS`` items holds
    only those from ``start`` on (up to that many); ``more``: one holds more past them."""

    __slots__ = ("more", "start")

    def __init__(self, start: int) -> None:
        self.start = start
        self.more = False

    def of(self, value: Any) -> Any:
        if type(value) is dict:
            return {key: self.of(item) for key, item in value.items()}
        if type(value) is list:
            if len(value) > DETAILED_ITEMS:
                end = self.start + DETAILED_ITEMS
                self.more = self.more or len(value) > end
                value = value[self.start : end]
            return [self.of(item) for item in value]
        return value


def _remember_reply_secrets(payload: Mapping[str, Any], keys: frozenset[str]) -> None:
    """Add to ``KNOWN`` every string of ``payload`` under one of ``keys`` (the wire names of the
    models' secret fields): an upload URL's ``hash``, a token as it is. Iterative, bounded."""
    found: list[str] = []
    stack: list[Any] = [payload]
    visited = 0
    while stack and visited < 100_000:
        value = stack.pop()
        visited += 1
        items = value.items() if isinstance(value, dict) else enumerate(value)
        for key, item in items:
            if isinstance(item, dict | list):
                stack.append(item)
            elif isinstance(item, str) and item and key in keys:
                found.extend(url_secrets(item) if key.endswith("url") else (item,))
    if found:
        KNOWN.remember(*found)


_CONVERTERS: list[Any] = []
# [``_json.loads``], imported with the converters (orjson with it), not with the package
_JSON_LOADS: list[Callable[[bytes | bytearray], Any]] = []
_MODELS: dict[str, type] = {}
# model name -> (the fast converter's hook for the model, the model)
_HOOKS: dict[str, tuple[Callable[[Any, type], Any], type]] = {}


# model name -> the wire keys of its secret fields, nested models' included (none: absent)
_SECRET_KEYS: dict[str, frozenset[str]] = {}


def _load_hook(name: str) -> tuple[Callable[[Any, type], Any], type]:
    model = _MODELS.get(name) or _load_model(name)
    converter = (_CONVERTERS or _load_converters())[0]
    from ._converter import secret_keys

    if keys := secret_keys(model):
        _SECRET_KEYS[name] = keys
    _HOOKS[name] = hooked = (converter.get_structure_hook(model), model)
    return hooked


def _load_converters() -> list[Any]:
    from ._converter import make_converter

    _CONVERTERS[:] = [make_converter(detailed=False), make_converter(detailed=True)]
    return _CONVERTERS


def _load_json() -> list[Callable[[bytes | bytearray], Any]]:
    from ._json import loads

    _JSON_LOADS[:] = [loads]
    return _JSON_LOADS


def _load_model(name: str) -> type:
    from . import _models

    model: type = getattr(_models, name)
    _MODELS[name] = model
    return model


def _deadline(request: Outgoing | httpx.Request) -> float | None:
    """The most one attempt may take, whatever the server does: connect + write + read timeout.

    httpx's timeouts bound each network operation, so a server that drips one byte before every
    read timeout would hold a call forever; this bounds the whole attempt. None: no bound.
    """
    if not isinstance(request, httpx.Request):
        return request.deadline
    timeout: Mapping[str, float | None] = request.extensions.get("timeout") or {}
    return _sum_of_phases(timeout.get("connect"), timeout.get("write"), timeout.get("read"))


def _total(timeout: httpx.Timeout) -> float | None:
    """``_deadline`` of a request sent with ``timeout``."""
    return _sum_of_phases(timeout.connect, timeout.write, timeout.read)


def _sum_of_phases(*phases: float | None) -> float | None:
    total = 0.0
    for seconds in phases:
        if seconds is None:
            return None
        total += seconds
    return total


async def _read_whole(response: Reply) -> bytes | bytearray:
    return await read_body(response, MAX_RESPONSE_BYTES)


def _scrubbed_copy(exc: Exception, detail: str) -> Exception:
    """A fresh stand-in for ``exc`` to chain an SDK error to, holding only the scrubbed
    ``detail``: no request (httpx keeps one on its errors), no chain, no traceback."""
    if isinstance(exc, httpx.TransportError):
        with contextlib.suppress(Exception):
            return type(exc)(detail)
    return RuntimeError(f"{type(exc).__module__}.{type(exc).__qualname__}: {detail}")
