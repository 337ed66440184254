"""The SDK's aiohttp transport: its default on asyncio, used directly, without httpx objects.

httpx's own connection pool (httpcore) re-checks every pooled connection on every request, so its
cost per call grows with the number of calls in flight; aiohttp's connector does not. The SDK
sends its requests through ``AiohttpTransport.send`` (an ``Outgoing`` in, a ``Reply`` out): a
URL already encoded, headers as given, the reply's raw bytes handed to the SDK's own bounded
decoder (``_body``; aiohttp's ``auto_decompress`` is off). The same object is also an
``httpx.AsyncBaseTransport``, so that ``httpx.AsyncClient(transport=AiohttpTransport())`` works
(``cp._shared.http`` is such a client, built only when something asks for it). It runs on
asyncio only; on trio the SDK uses httpx's own transport.

Written here rather than taken from the ``httpx-aiohttp`` package because the SDK needs two things
that package does not do: proxies and CA bundles from the environment (``trust_env``), and an
exact error mapping — a connection that fails *before* the request was sent
(``httpx.ConnectError``/``ConnectTimeout``) must stay distinct from one dropped *after*
(``httpx.RemoteProtocolError``/``ReadError``), since only the first is safe to retry for a
mutation. Both paths raise the same httpx errors (``_mapped_errors``), which the client turns
into the same typed, scrubbed ``CincopaError``.

Timeouts map as: httpx ``connect`` -> aiohttp ``sock_connect``, ``pool`` -> ``connect`` (waiting
for a pooled connection plus connecting), ``read`` -> ``sock_read``. aiohttp has no write timeout.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Mapping
from typing import Any

import aiohttp
import httpx
from yarl import URL

__all__ = ["AiohttpTransport", "Outgoing", "Reply", "client_timeout"]

_AUTO_HEADERS = ("User-Agent", "Accept-Encoding", "Accept")  # what aiohttp adds when missing
# aiohttp labels a POST (PUT, PATCH) without a body ``application/octet-stream``; httpx (the
# trio route) and every Cincopa client send such a POST (the parameters are in the query)
# without that label. Only those methods are given the skip: aiohttp builds a multidict of a
# skip list on every request that has one.
_NO_BODY_AUTO_HEADERS = ("Content-Type",)
_LABELLED_METHODS = frozenset({"POST", "PUT", "PATCH"})
_NO_BODY_HTTPX_AUTO_HEADERS = (*_AUTO_HEADERS, "Content-Type")


def _as_httpx_error(exc: BaseException, *, deadline: bool = False) -> Exception | None:
    """The httpx error that means what aiohttp's ``exc`` means, or None to let ``exc`` pass.

    ``deadline``: a bare ``TimeoutError`` (aiohttp's ``total`` timeout, the attempt's deadline
    on the SDK's direct path) passes through as it is; otherwise it becomes a read timeout.
    """
    if not isinstance(exc, aiohttp.ClientError | TimeoutError):
        return None
    if isinstance(exc, aiohttp.ClientProxyConnectionError):
        return httpx.ProxyError(str(exc))
    if isinstance(exc, aiohttp.ConnectionTimeoutError):
        return httpx.ConnectTimeout(str(exc) or "connect timeout")
    if isinstance(exc, aiohttp.ServerTimeoutError):
        return httpx.ReadTimeout(str(exc) or "read timeout")
    if isinstance(exc, aiohttp.ClientConnectorError):
        return httpx.ConnectError(str(exc))
    if isinstance(exc, aiohttp.ServerDisconnectedError):
        return httpx.RemoteProtocolError(str(exc) or "server disconnected")
    if isinstance(exc, aiohttp.ClientResponseError):  # an unparsable status line or header
        return httpx.RemoteProtocolError(str(exc) or type(exc).__name__)
    if isinstance(exc, aiohttp.ClientPayloadError | aiohttp.ClientConnectionError):
        return httpx.ReadError(str(exc) or type(exc).__name__)
    if isinstance(exc, aiohttp.InvalidURL):
        return httpx.UnsupportedProtocol(str(exc))
    if isinstance(exc, aiohttp.ClientError):
        return httpx.TransportError(str(exc) or type(exc).__name__)
    return None if deadline else httpx.ReadTimeout("timed out")


@contextlib.contextmanager
def _mapped_errors() -> Iterator[None]:
    """Re-raise aiohttp's errors as the httpx errors that mean the same thing."""
    try:
        yield
    except Exception as exc:
        mapped = _as_httpx_error(exc)
        if mapped is None:
            raise
        raise mapped from exc


def client_timeout(timeout: httpx.Timeout, deadline: float | None) -> aiohttp.ClientTimeout:
    """httpx's timeouts as aiohttp's (see the module docstring), with ``deadline`` as aiohttp's
    ``total``: it bounds the whole exchange, from waiting for a connection to the last byte of
    the reply, and ends in a bare ``TimeoutError``."""
    return aiohttp.ClientTimeout(
        total=deadline,
        connect=timeout.pool,
        sock_connect=timeout.connect,
        sock_read=timeout.read,
    )


class Outgoing:
    """A request as the SDK sends it on its direct path: a method, an encoded URL, headers, a
    body (bytes or an async iterator of bytes), aiohttp's timeouts, and the most one attempt may
    take (``deadline``, seconds, also ``timeout.total``; None: no bound). ``url`` holds the
    token: it is only ever shown redacted."""

    __slots__ = ("content", "deadline", "headers", "method", "timeout", "url")

    def __init__(
        self,
        method: str,
        url: str,
        headers: Mapping[str, str],
        timeout: aiohttp.ClientTimeout,
        deadline: float | None,
        content: bytes | AsyncIterator[bytes] | None = None,
    ) -> None:
        self.method = method
        self.url = url
        self.headers = headers
        self.timeout = timeout
        self.deadline = deadline
        self.content = content

    def __repr__(self) -> str:
        return f"<Outgoing {self.method}>"  # never the URL: it carries the token


class Reply:
    """What the SDK reads of an aiohttp reply: the status, its reason, the headers (a
    case-insensitive mapping) and the body's raw bytes, as ``_body`` reads them."""

    __slots__ = ("_response", "headers", "reason_phrase", "status_code")

    is_stream_consumed = False  # the body is read from the network, never held in advance

    def __init__(self, response: aiohttp.ClientResponse) -> None:
        self._response = response
        self.status_code = response.status
        self.reason_phrase = response.reason or ""
        self.headers = response.headers

    async def aread(self) -> bytes:
        return await self._response.read()

    async def aiter_raw(self) -> AsyncIterator[bytes]:
        async for chunk in self._response.content.iter_any():
            yield chunk


class _ResponseStream(httpx.AsyncByteStream):
    def __init__(self, response: aiohttp.ClientResponse) -> None:
        self._response = response

    async def __aiter__(self) -> AsyncIterator[bytes]:
        with _mapped_errors():
            async for chunk in self._response.content.iter_any():
                yield chunk

    async def aclose(self) -> None:
        self._response.release()


class AiohttpTransport(httpx.AsyncBaseTransport):
    """One ``aiohttp.ClientSession`` (created on first use), as the SDK's direct transport
    (``send``) and as an ``httpx.AsyncBaseTransport``.

    Args:
        limits: ``max_connections`` bounds the connector; ``keepalive_expiry`` its idle time.
        trust_env: read ``HTTP(S)_PROXY``/``NO_PROXY`` and ``SSL_CERT_FILE``/``SSL_CERT_DIR``.
    """

    def __init__(self, *, limits: httpx.Limits | None = None, trust_env: bool = True) -> None:
        self._limits = limits or httpx.Limits()
        self._trust_env = trust_env
        self._session: aiohttp.ClientSession | None = None
        self._ssl_context: ssl.SSLContext | None = None

    @property
    def ssl_context(self) -> ssl.SSLContext:
        """The context of every https:// connection, made on the first one (loading a CA
        bundle costs tens of milliseconds). Certificates and host names are always verified:
        there is no switch to turn it off."""
        if self._ssl_context is None:
            self._ssl_context = httpx.create_ssl_context(trust_env=self._trust_env)
        return self._ssl_context

    def _open_session(self) -> aiohttp.ClientSession:
        connector = aiohttp.TCPConnector(
            limit=self._limits.max_connections or 0,
            limit_per_host=0,
            keepalive_timeout=self._limits.keepalive_expiry or 5.0,
        )
        # aiohttp re-reads the proxy variables on every request when trust_env is on, which costs
        # more than the rest of the request; pay it only when a proxy is actually configured
        # (the client's own test, which chooses its route by the same variables).
        from ._client import _proxies_configured

        proxies_configured = self._trust_env and _proxies_configured()
        session = aiohttp.ClientSession(
            connector=connector,
            trust_env=proxies_configured,
            auto_decompress=False,
            cookie_jar=aiohttp.DummyCookieJar(),
        )
        # aiohttp sends a GET (or PUT, DELETE ...) a second time by itself when the connection
        # drops after the request was written; for this API several GETs are mutations
        # (token.create, account.add_sub, live.*), and only the SDK's retry policy may decide
        # what is sent again. aiohttp has no public switch; its own test client turns the
        # resend off with this attribute (aiohttp >= 3.11; tests/test_transport.py checks it).
        session._retry_connection = False
        self._session = session
        return session

    def _ssl_for(self, url: URL) -> ssl.SSLContext | bool:
        return self.ssl_context if url.scheme == "https" else True

    async def send(
        self,
        request: Outgoing,
        read: Callable[[Reply], Awaitable[bytes | bytearray]],
    ) -> tuple[Reply, bytes | bytearray]:
        """Send ``request`` and ``read`` its reply; aiohttp's errors become httpx's, except the
        ``TimeoutError`` of the attempt's deadline (``request.timeout.total``).

        The request goes with exactly ``request.headers`` (plus Host, Content-Length or
        Transfer-Encoding, which aiohttp writes): the SDK's requests carry every header aiohttp
        would otherwise add of its own (``Accept``, ``Accept-Encoding``, ``User-Agent``), which
        spares aiohttp building a list of headers to skip on every request."""
        session = self._session or self._open_session()
        url = URL(request.url, encoded=True)  # encoded by the SDK: no second quoting pass
        try:
            response = await session.request(
                request.method,
                url,
                headers=request.headers,
                data=request.content,
                skip_auto_headers=(
                    _NO_BODY_AUTO_HEADERS
                    if request.content is None and request.method in _LABELLED_METHODS
                    else None
                ),
                allow_redirects=False,
                timeout=request.timeout,
                ssl=self.ssl_context if url.scheme == "https" else True,
            )
            try:
                reply = Reply(response)
                return reply, await read(reply)
            finally:
                response.release()
        except Exception as exc:
            mapped, cause = _as_httpx_error(exc, deadline=True), exc
            if mapped is None:
                raise
        raise mapped from cause

    def bound_elsewhere(self) -> bool:
        """Is the session bound to an event loop other than the running one? (A client used
        under a second ``asyncio.run``: every request fails, "Event loop is closed".)"""
        session = self._session
        connector = session.connector if session is not None else None
        if connector is None:
            return False
        try:
            return connector._loop is not asyncio.get_running_loop()
        except RuntimeError:  # no running loop
            return False

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        session = self._session or self._open_session()
        timeout = request.extensions.get("timeout", {})
        body: Any
        try:
            body = request.content or None
        except httpx.RequestNotRead:
            body = request.stream  # a streaming (async) upload body
            request.headers.pop("transfer-encoding", None)  # aiohttp frames the body itself
        url = URL(str(request.url), encoded=True)  # httpx has encoded it
        with _mapped_errors():
            response = await session.request(
                request.method,
                url,
                headers=request.headers.multi_items(),
                # only what httpx's request holds
                skip_auto_headers=_AUTO_HEADERS if body else _NO_BODY_HTTPX_AUTO_HEADERS,
                data=body,
                allow_redirects=False,
                timeout=aiohttp.ClientTimeout(
                    total=None,
                    connect=timeout.get("pool"),
                    sock_connect=timeout.get("connect"),
                    sock_read=timeout.get("read"),
                ),
                ssl=self._ssl_for(url),
            )
        return httpx.Response(
            status_code=response.status,
            headers=response.raw_headers,
            stream=_ResponseStream(response),
            request=request,
            extensions={
                "http_version": b"HTTP/1.1",
                "reason_phrase": (response.reason or "").encode("ascii", "replace"),
            },
        )

    async def aclose(self) -> None:
        if self._session is not None:
            session, self._session = self._session, None
            await session.close()

    def close_from_finalizer(self) -> None:
        """Close the session without awaiting: for a client that was never closed.

        The session counts as closed at once, so aiohttp does not warn about it. Its connections
        are closed now when this runs on the session's event loop (a garbage collection there)
        or after that loop closed (then only marked closed: their sockets go with the loop);
        from another thread, they are closed on that loop's thread, soon.
        """
        session, self._session = self._session, None
        if session is None or session.closed:
            return
        connector = session.connector
        session.detach()
        if connector is None:
            return
        loop = connector._loop
        try:
            current = asyncio.get_running_loop()
        except RuntimeError:
            current = None
        if current is loop or loop.is_closed():
            connector._close()
        else:
            with contextlib.suppress(RuntimeError):  # the loop closed meanwhile
                loop.call_soon_threadsafe(connector._close)
