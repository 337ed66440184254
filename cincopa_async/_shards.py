"""httpx's own transport, one per connection: the SDK's connection pool on trio.

httpcore's ``AsyncConnectionPool`` (inside ``httpx.AsyncHTTPTransport``) re-assigns requests to
connections on every request and every closed reply by walking all of its connections, and for
each idle one all of them again, under its lock: the cost of a call grows with the connections
the pool holds, and at 128 or 512 in flight that walk is most of a call's CPU
(``benchmarks/bench_concurrency.py``). ``ShardedTransport`` splits the pool into shards, each an
``httpx.AsyncHTTPTransport`` limited to one connection, and sends each request through a shard
with no request in flight, so that every walk is a walk over one connection whatever the
client's ``max_concurrency``. Shards of one connection measured best: with 4, 8 or 16 per
shard a call cost ~1.3-2.5 ms of CPU at 32 to 512 in flight, with one ~1 ms at every load (a
full shard's walk grows as the square of its connections). Everything on the wire is httpx's
own: HTTP/1.1, TLS (one context for every shard), keep-alive, connecting again after a
connection was lost, the error classes, which reach the caller unchanged.

The sweep below reads each shard's httpcore pool from ``httpx.AsyncHTTPTransport._pool``, the
one private name used here (stable since httpx 0.18; without it the sweep would do nothing,
which ``tests/test_shards.py`` would catch).

Contracts:

* one shard per connection of ``max_connections``: the connections open at once never exceed
  it; the first ``max_keepalive_connections`` shards keep theirs alive;
* shards are made as requests need them (one at the start): a new one only when no free shard
  suits the request, so a client costs what its peak concurrency needs, not what its limit
  allows (a ``max_concurrency`` of 50,000 built eagerly took ~29 MiB and ~0.5 s at open);
* a request goes to the free shard that last sent to its origin (scheme, host, port) and
  became free last (its connection the most recently used); else to a shard that never sent
  anything, or a new one; only past ``max_connections`` to the free shard of another origin
  that became free first, whose pool closes its idle connection to connect to this origin
  (a single pool does the same; an upload alternates between the API's host and the upload
  host, and each keeps its connection); only when every shard carries a request (more
  requests than ``max_connections``: the SDK's limiter never lets that happen) do requests
  share shards, in turn, and wait in their pools as they would in a single pool;
* a shard is taken before the request reaches it and given back when its reply is closed, or
  when sending it failed or was cancelled;
* idle connections expire as in a single pool: a shard's pool closes its connection when it
  has expired (its keep-alive, or the server closed it) as the shard sends its next request,
  and at most every ``sweep_interval`` seconds a request closes the expired connections of
  every free shard, which a single pool would have closed on any request;
* ``aclose`` closes every shard; a request in flight then fails, and one whose connection
  opened only after its shard was closed closes it and fails too (nothing else would).
"""

from __future__ import annotations

import contextlib
import time
from collections import deque
from collections.abc import AsyncIterator
from typing import Final, TypeAlias

import anyio
import httpx

__all__ = ["SWEEP_INTERVAL", "ShardedTransport"]

_Origin: TypeAlias = tuple[bytes, bytes, int | None]  # a URL's scheme, host and port

SWEEP_INTERVAL: Final = 1.0
"""Seconds between two sweeps of the free shards' expired connections (``ShardedTransport``)."""


class ShardedTransport(httpx.AsyncBaseTransport):
    """Requests spread over ``httpx.AsyncHTTPTransport`` shards of one connection each, within
    ``limits`` (see the module docstring)."""

    def __init__(self, limits: httpx.Limits) -> None:
        total = limits.max_connections
        if total is None or total < 1:
            raise ValueError("ShardedTransport needs a max_connections >= 1")
        kept = limits.max_keepalive_connections
        self._limit = total
        self._kept = total if kept is None else kept
        self._keepalive_expiry = limits.keepalive_expiry
        self.ssl_context = httpx.create_ssl_context()  # httpx's default (verify=True), made once
        self.sweep_interval = SWEEP_INTERVAL
        self._shards: list[httpx.AsyncHTTPTransport] = []
        self._busy: list[int] = []  # requests each shard carries: sent, reply not yet closed
        self._origins: list[_Origin | None] = []  # where each shard sent last (None: nowhere)
        # the shards with no request, by where they sent last; in each, the next one last
        self._free: dict[_Origin | None, deque[int]] = {}
        self._shared_next = 0  # the next shard to share, once none is free
        self._swept_at = time.monotonic()
        self._closed = False
        self._free[None] = deque([self._add_shard()])  # one now, not on the first request

    @property
    def shards(self) -> tuple[httpx.AsyncHTTPTransport, ...]:
        """The shards made so far (at most ``max_connections``)."""
        return tuple(self._shards)

    @property
    def in_flight(self) -> tuple[int, ...]:
        """Requests each shard carries now: sent, and their replies not yet closed."""
        return tuple(self._busy)

    def __repr__(self) -> str:
        return (
            f"<ShardedTransport {self._limit} connections at most,"
            f" {sum(self._busy)} requests in flight>"
        )

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        index = self._take(request.url)
        try:
            if time.monotonic() - self._swept_at >= self.sweep_interval:
                await self._sweep()
                if self._closed:  # while it swept: nothing may connect again
                    raise httpx.ConnectError("the client was closed before this request was sent")
            response = await self._shards[index].handle_async_request(request)
            if self._closed:
                # connected after ``aclose`` emptied its shard's pool (httpcore awaits between
                # choosing a connection and opening it): that connection is in no pool, and
                # closing the reply unread is the only way left to close it
                with anyio.CancelScope(shield=True):
                    await response.aclose()
                raise httpx.ReadError("the client was closed while this request was in flight")
        except BaseException:
            self._release(index)
            raise
        stream = response.stream
        assert isinstance(stream, httpx.AsyncByteStream)  # an async transport's reply
        response.stream = _ShardReleasingStream(stream, self, index)
        return response

    def _take(self, url: httpx.URL) -> int:
        """The shard for a request to ``url`` (see the module docstring), now carrying it."""
        origin = (url.raw_scheme, url.raw_host, url.port)
        free = self._free
        if origin in free:
            index = self._pop(origin, last=True)
        elif None in free:
            index = self._pop(None, last=True)
        elif len(self._shards) < self._limit:
            index = self._add_shard()
        elif free:
            index = self._pop(next(iter(free)), last=False)
        else:
            index = self._shared_next
            self._shared_next = (index + 1) % len(self._shards)
        self._origins[index] = origin
        self._busy[index] += 1
        return index

    def _pop(self, origin: _Origin | None, *, last: bool) -> int:
        free = self._free[origin]
        index = free.pop() if last else free.popleft()
        if not free:
            del self._free[origin]
        return index

    def _add_shard(self) -> int:
        index = len(self._shards)
        self._shards.append(
            httpx.AsyncHTTPTransport(
                verify=self.ssl_context,
                limits=httpx.Limits(
                    max_connections=1,
                    max_keepalive_connections=1 if index < self._kept else 0,
                    keepalive_expiry=self._keepalive_expiry,
                ),
            )
        )
        self._busy.append(0)
        self._origins.append(None)
        return index

    def _release(self, index: int) -> None:
        busy = self._busy[index] - 1
        if busy > 0:
            self._busy[index] = busy
            return
        self._busy[index] = 0
        origin = self._origins[index]
        free = self._free.get(origin)
        if free is None:
            free = self._free[origin] = deque()
        free.append(index)

    async def _sweep(self) -> None:
        """Close the connections of free shards that have expired (keep-alive, or closed by
        the server), as a single pool would on any request."""
        self._swept_at = time.monotonic()
        # a copy: closing lets other requests take shards
        for index in [index for free in self._free.values() for index in free]:
            # httpx's transport keeps its httpcore pool there; ``connections`` is the pool's API
            pool = getattr(self._shards[index], "_pool", None)
            for connection in getattr(pool, "connections", ()):
                # checked just before it is closed, with no checkpoint between: a shard taken
                # meanwhile is busy, its connection no longer idle
                if self._busy[index] == 0 and connection.is_idle() and connection.has_expired():
                    # shielded, as the pool closes its own; the socket is closed first, so a
                    # failure to say goodbye (TLS close_notify) leaves nothing open
                    with anyio.CancelScope(shield=True), contextlib.suppress(Exception):
                        await connection.aclose()

    async def aclose(self) -> None:
        """Close every shard (each even if closing another failed); a request in flight
        fails, and one that connects afterwards closes its connection (``ReadError``)."""
        self._closed = True
        async with contextlib.AsyncExitStack() as stack:
            for shard in self._shards:
                stack.push_async_callback(shard.aclose)


class _ShardReleasingStream(httpx.AsyncByteStream):
    """A reply's body, giving its shard back once it is closed."""

    __slots__ = ("_closed", "_index", "_stream", "_transport")

    def __init__(
        self, stream: httpx.AsyncByteStream, transport: ShardedTransport, index: int
    ) -> None:
        self._stream = stream
        self._transport = transport
        self._index = index
        self._closed = False

    def __aiter__(self) -> AsyncIterator[bytes]:
        return self._stream.__aiter__()

    async def aclose(self) -> None:
        if self._closed:
            return
        self._closed = True
        try:
            await self._stream.aclose()
        finally:
            self._transport._release(self._index)
