"""A small, fast HTTP/1.1 server for ASGI apps (the default engine of ``emu.serve()``).

Zero dependencies (asyncio only). It implements what the emulator's clients need: keep-alive,
``Content-Length`` and ``chunked`` request bodies, one request at a time per connection (no
pipelining), whole-body or streamed (chunked) responses, and the ASGI ``http.disconnect``
message when the client hangs up. ``ConnectionDropped`` raised by the app aborts the socket
without a reply. It is meant for loopback testing, not for the internet: no TLS, no HTTP/2, no
protection against slow or hostile clients beyond a 64 KiB header limit.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any
from urllib.parse import unquote

from ._app import ConnectionDropped

__all__ = ["HTTPServerProtocol", "ServerControl"]

_logger = logging.getLogger("cincopa_async.testing")

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
App = Callable[[Scope, Callable[[], Awaitable[Message]], Callable[[Message], Awaitable[None]]], Any]

_MAX_HEAD = 64 * 1024
_REASONS = {
    200: b"OK",
    400: b"Bad Request",
    403: b"Forbidden",
    404: b"Not Found",
    405: b"Method Not Allowed",
    429: b"Too Many Requests",
    500: b"Internal Server Error",
    502: b"Bad Gateway",
    503: b"Service Unavailable",
}


class ServerControl:
    """Connections of one server, so that stopping it can close them all."""

    def __init__(self) -> None:
        self.connections: set[HTTPServerProtocol] = set()

    def close_all(self) -> None:
        for connection in list(self.connections):
            connection.close()


class _BadRequest(Exception):
    pass


class HTTPServerProtocol(asyncio.Protocol):
    def __init__(self, app: App, control: ServerControl) -> None:
        self.app = app
        self.control = control
        self.transport: asyncio.Transport | None = None
        self.buffer = bytearray()
        self.closed = False
        self.waiter: asyncio.Future[None] | None = None
        self.task: asyncio.Task[None] | None = None
        self.client: tuple[str, int] | None = None
        self.server: tuple[str, int] | None = None
        self.disconnected: asyncio.Event | None = None

    # -- asyncio.Protocol ----------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        raw = transport.get_extra_info("socket")
        if raw is not None:
            with contextlib.suppress(OSError):
                raw.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        peer = transport.get_extra_info("peername")
        local = transport.get_extra_info("sockname")
        self.client = (str(peer[0]), int(peer[1])) if peer else None
        self.server = (str(local[0]), int(local[1])) if local else None
        self.disconnected = asyncio.Event()
        self.control.connections.add(self)
        self.task = asyncio.get_running_loop().create_task(self._serve())

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        self._wake()

    def eof_received(self) -> bool | None:
        self.closed = True
        self._wake()
        return None

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self.control.connections.discard(self)
        if self.disconnected is not None:
            self.disconnected.set()
        self._wake()

    def close(self) -> None:
        if self.transport is not None and not self.closed:
            self.transport.close()
        if self.task is not None:
            self.task.cancel()

    # -- reading -------------------------------------------------------------------------------

    def _wake(self) -> None:
        waiter = self.waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    async def _wait_data(self) -> None:
        self.waiter = asyncio.get_running_loop().create_future()
        try:
            await self.waiter
        finally:
            self.waiter = None

    async def _read_until(self, marker: bytes, limit: int) -> bytes | None:
        while True:
            index = self.buffer.find(marker)
            if index >= 0:
                data = bytes(self.buffer[:index])
                del self.buffer[: index + len(marker)]
                return data
            if len(self.buffer) > limit:
                raise _BadRequest("header too large")
            if self.closed:
                return None
            await self._wait_data()

    async def _read_exact(self, size: int) -> bytes | None:
        while len(self.buffer) < size:
            if self.closed:
                return None
            await self._wait_data()
        data = bytes(self.buffer[:size])
        del self.buffer[:size]
        return data

    async def _read_chunked(self) -> bytes | None:
        parts: list[bytes] = []
        while True:
            line = await self._read_until(b"\r\n", 4096)
            if line is None:
                return None
            try:
                size = int(line.split(b";")[0].strip(), 16)
            except ValueError:
                raise _BadRequest("bad chunk size") from None
            if size == 0:
                while True:  # trailers, up to the empty line
                    trailer = await self._read_until(b"\r\n", _MAX_HEAD)
                    if trailer is None:
                        return None
                    if not trailer:
                        return b"".join(parts)
            chunk = await self._read_exact(size + 2)
            if chunk is None:
                return None
            parts.append(chunk[:-2])

    # -- serving -------------------------------------------------------------------------------

    async def _serve(self) -> None:
        try:
            while not self.closed:
                head = await self._read_until(b"\r\n\r\n", _MAX_HEAD)
                if head is None:
                    break
                if not head:
                    continue
                keep_alive = await self._one(head)
                if not keep_alive:
                    break
        except _BadRequest:
            self._write_simple(400, b"bad request\n", close=True)
        except ConnectionDropped:
            if self.transport is not None:
                self.transport.abort()
        except asyncio.CancelledError:
            pass
        except Exception:  # pragma: no cover - a bug in the app
            _logger.exception("emulator HTTP server: unhandled error")
        finally:
            if self.transport is not None and not self.closed:
                self.transport.close()

    def _write_simple(self, status: int, body: bytes, *, close: bool) -> None:
        if self.transport is None or self.closed:
            return
        head = b"HTTP/1.1 %d %s\r\ncontent-type: text/plain\r\ncontent-length: %d\r\n" % (
            status,
            _REASONS.get(status, b"Unknown"),
            len(body),
        )
        if close:
            head += b"connection: close\r\n"
        self.transport.write(head + b"\r\n" + body)

    async def _one(self, head: bytes) -> bool:
        lines = head.split(b"\r\n")
        try:
            method, target, version = lines[0].split(b" ", 2)
        except ValueError:
            raise _BadRequest("bad request line") from None
        headers: list[tuple[bytes, bytes]] = []
        length = 0
        chunked = False
        connection = b""
        for line in lines[1:]:
            name, sep, value = line.partition(b":")
            if not sep:
                raise _BadRequest("bad header")
            name = name.strip().lower()
            value = value.strip()
            headers.append((name, value))
            if name == b"content-length":
                try:
                    length = int(value)
                except ValueError:
                    raise _BadRequest("bad content-length") from None
            elif name == b"transfer-encoding":
                chunked = b"chunked" in value.lower()
            elif name == b"connection":
                connection = value.lower()
            elif (
                name == b"expect"
                and value.lower() == b"100-continue"
                and self.transport is not None
                and not self.closed
            ):
                self.transport.write(b"HTTP/1.1 100 Continue\r\n\r\n")
        if chunked:
            body = await self._read_chunked()
        elif length:
            body = await self._read_exact(length)
        else:
            body = b""
        if body is None:
            return False
        if version == b"HTTP/1.0":
            keep_alive = b"keep-alive" in connection
        else:
            keep_alive = b"close" not in connection
        raw_path, _, query = target.partition(b"?")
        scope: Scope = {
            "type": "http",
            "asgi": {"version": "3.0", "spec_version": "2.3"},
            "http_version": "1.0" if version == b"HTTP/1.0" else "1.1",
            "method": method.decode("ascii"),
            "scheme": "http",
            "path": unquote(raw_path.decode("latin-1")),
            "raw_path": raw_path,
            "query_string": query,
            "root_path": "",
            "headers": headers,
            "client": self.client,
            "server": self.server,
        }
        return await self._run_app(scope, body, keep_alive)

    async def _run_app(self, scope: Scope, body: bytes, keep_alive: bool) -> bool:
        body_sent = False
        started = False
        finished = False
        chunked_reply = False
        head_only = scope["method"] == "HEAD"
        disconnected = self.disconnected
        assert disconnected is not None
        assert self.transport is not None
        transport = self.transport
        pending_head = b""

        async def receive() -> Message:
            nonlocal body_sent
            if not body_sent:
                body_sent = True
                return {"type": "http.request", "body": body, "more_body": False}
            await disconnected.wait()
            return {"type": "http.disconnect"}

        async def send(message: Message) -> None:
            nonlocal started, finished, chunked_reply, pending_head
            kind = message["type"]
            if kind == "http.response.start":
                status = int(message["status"])
                parts = [b"HTTP/1.1 %d %s\r\n" % (status, _REASONS.get(status, b"Unknown"))]
                has_length = False
                for name, value in message.get("headers", ()):
                    lowered = name.lower()
                    if lowered == b"content-length":
                        has_length = True
                    parts.append(lowered + b": " + value + b"\r\n")
                if not has_length and not head_only:
                    chunked_reply = True
                    parts.append(b"transfer-encoding: chunked\r\n")
                if not keep_alive:
                    parts.append(b"connection: close\r\n")
                parts.append(b"\r\n")
                pending_head = b"".join(parts)
                started = True
            elif kind == "http.response.body":
                if not started or finished:
                    raise RuntimeError("http.response.body out of order")
                data = b"" if head_only else bytes(message.get("body", b""))
                more = bool(message.get("more_body", False))
                if chunked_reply:
                    out = (b"%x\r\n" % len(data) + data + b"\r\n") if data else b""
                    if not more:
                        out += b"0\r\n\r\n"
                else:
                    out = data
                if not self.closed:
                    transport.write(pending_head + out)
                pending_head = b""
                if not more:
                    finished = True

        try:
            await self.app(scope, receive, send)
        except ConnectionDropped:
            raise
        except Exception:
            _logger.exception("emulator HTTP server: error in the ASGI app")
            if not started:
                self._write_simple(500, b"Internal Server Error", close=True)
            return False
        if not finished:
            if not started and not self.closed:
                self._write_simple(500, b"Internal Server Error", close=True)
            return False
        return keep_alive


async def serve_until(
    app: App,
    sock: Any,
    stop: asyncio.Event,
) -> None:
    """Serve ``app`` on the listening socket ``sock`` until ``stop`` is set."""
    loop = asyncio.get_running_loop()
    control = ServerControl()
    server = await loop.create_server(lambda: HTTPServerProtocol(app, control), sock=sock)
    try:
        await stop.wait()
    finally:
        server.close()
        control.close_all()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(server.wait_closed(), 1)
