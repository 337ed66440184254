"""An httpx transport on aiohttp: the SDK's default on asyncio.

httpx's own connection pool (httpcore) re-checks every pooled connection on every request, so its
cost per call grows with the number of calls in flight; aiohttp's connector does not. This
transport lets the SDK keep httpx's API (requests, responses, timeouts, streaming bodies) while
aiohttp moves the bytes. It runs on asyncio only; ``_backend`` picks httpcore on trio.

Written here rather than taken from the ``httpx-aiohttp`` package because the SDK needs two things
that package does not do: proxies and CA bundles from the environment (``trust_env``), and an
exact error mapping — a connection that fails *before* the request was sent
(``httpx.ConnectError``/``ConnectTimeout``) must stay distinct from one dropped *after*
(``httpx.RemoteProtocolError``/``ReadError``), since only the first is safe to retry for a
mutation.

Timeouts map as: httpx ``connect`` -> aiohttp ``sock_connect``, ``pool`` -> ``connect`` (waiting
for a pooled connection plus connecting), ``read`` -> ``sock_read``. aiohttp has no write timeout.
"""

from __future__ import annotations

import asyncio
import contextlib
import urllib.request
from collections.abc import AsyncIterator, Iterator

import aiohttp
import httpx

__all__ = ["AiohttpTransport"]


@contextlib.contextmanager
def _mapped_errors() -> Iterator[None]:
    """Re-raise aiohttp's errors as the httpx errors that mean the same thing."""
    try:
        yield
    except aiohttp.ClientProxyConnectionError as exc:
        raise httpx.ProxyError(str(exc)) from exc
    except aiohttp.ConnectionTimeoutError as exc:
        raise httpx.ConnectTimeout(str(exc) or "connect timeout") from exc
    except aiohttp.ServerTimeoutError as exc:
        raise httpx.ReadTimeout(str(exc) or "read timeout") from exc
    except aiohttp.ClientConnectorError as exc:
        raise httpx.ConnectError(str(exc)) from exc
    except aiohttp.ServerDisconnectedError as exc:
        raise httpx.RemoteProtocolError(str(exc) or "server disconnected") from exc
    except aiohttp.ClientResponseError as exc:  # an unparsable status line or header
        raise httpx.RemoteProtocolError(str(exc) or type(exc).__name__) from exc
    except (aiohttp.ClientPayloadError, aiohttp.ClientConnectionError) as exc:
        raise httpx.ReadError(str(exc) or type(exc).__name__) from exc
    except aiohttp.InvalidURL as exc:
        raise httpx.UnsupportedProtocol(str(exc)) from exc
    except aiohttp.ClientError as exc:
        raise httpx.TransportError(str(exc) or type(exc).__name__) from exc
    except TimeoutError as exc:
        raise httpx.ReadTimeout("timed out") from exc


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
    """``httpx.AsyncBaseTransport`` over one ``aiohttp.ClientSession`` (created on first use).

    Args:
        limits: ``max_connections`` bounds the connector; ``keepalive_expiry`` its idle time.
        trust_env: read ``HTTP(S)_PROXY``/``NO_PROXY`` and ``SSL_CERT_FILE``/``SSL_CERT_DIR``.
    """

    def __init__(self, *, limits: httpx.Limits | None = None, trust_env: bool = True) -> None:
        self._limits = limits or httpx.Limits()
        self._trust_env = trust_env
        self._session: aiohttp.ClientSession | None = None
        # Certificates and host names are always verified: there is no switch to turn it off.
        self.ssl_context = httpx.create_ssl_context(trust_env=trust_env)

    def _open_session(self) -> aiohttp.ClientSession:
        connector = aiohttp.TCPConnector(
            limit=self._limits.max_connections or 0,
            limit_per_host=0,
            keepalive_timeout=self._limits.keepalive_expiry or 5.0,
            ssl=self.ssl_context,
        )
        # aiohttp re-reads the proxy variables on every request when trust_env is on, which costs
        # more than the rest of the request; pay it only when a proxy is actually configured.
        proxies_configured = self._trust_env and bool(urllib.request.getproxies())
        session = aiohttp.ClientSession(
            connector=connector,
            trust_env=proxies_configured,
            auto_decompress=False,
            cookie_jar=aiohttp.DummyCookieJar(),
            skip_auto_headers=("User-Agent", "Accept-Encoding", "Accept"),
        )
        # aiohttp sends a GET (or PUT, DELETE ...) a second time by itself when the connection
        # drops after the request was written; for this API several GETs are mutations
        # (token.create, account.add_sub, live.*), and only the SDK's retry policy may decide
        # what is sent again. aiohttp has no public switch; its own test client turns the
        # resend off with this attribute (aiohttp >= 3.11; tests/test_transport.py checks it).
        session._retry_connection = False
        return session

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        session = self._session
        if session is None:
            session = self._session = self._open_session()
        timeout = request.extensions.get("timeout", {})
        body: bytes | httpx.AsyncByteStream | None
        try:
            body = request.content or None
        except httpx.RequestNotRead:
            body = request.stream  # type: ignore[assignment]  # a streaming (async) upload body
            request.headers.pop("transfer-encoding", None)  # aiohttp frames the body itself
        with _mapped_errors():
            response = await session.request(
                request.method,
                str(request.url),
                headers=request.headers.multi_items(),
                data=body,
                allow_redirects=False,
                timeout=aiohttp.ClientTimeout(
                    total=None,
                    connect=timeout.get("pool"),
                    sock_connect=timeout.get("connect"),
                    sock_read=timeout.get("read"),
                ),
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
