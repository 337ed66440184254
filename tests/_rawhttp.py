"""HTTP/1.1 at the byte level, for tests that must see or send exactly what travels.

* ``raw_exchange`` sends request bytes exactly as given over a fresh loopback connection and
  reads one reply (no client library in between: no URL normalisation, no added headers);
* ``CaptureHost`` is a loopback server that records every request as it arrived (header names
  as sent, in order; the body) and answers through a callback that may hold the reply back.

Both run on anyio sockets, so under asyncio and trio alike.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import anyio
from anyio.abc import ByteStream, SocketAttribute
from anyio.streams.buffered import BufferedByteReceiveStream

__all__ = ["CaptureHost", "Message", "raw_exchange", "request_bytes"]

_HEAD_LIMIT = 64 * 1024


@dataclass
class Message:
    """One HTTP request or reply: the first line, the headers as sent, the (de-chunked) body."""

    start_line: str
    headers: list[tuple[str, str]]
    body: bytes
    arrived: int = field(default=0, compare=False)  # arrival number on a CaptureHost

    def header(self, name: str) -> str | None:
        """The value of header ``name`` (case-insensitive); None when absent."""
        values = self.header_values(name)
        return values[0] if values else None

    def header_values(self, name: str) -> list[str]:
        return [value for key, value in self.headers if key.lower() == name.lower()]

    @property
    def method(self) -> str:
        return self.start_line.split(" ", 1)[0]

    @property
    def target(self) -> str:
        """The request target exactly as sent (``/v2/ping.json?api_token=...``)."""
        return self.start_line.split(" ")[1]

    @property
    def status(self) -> int:
        return int(self.start_line.split(" ")[1])

    @property
    def text(self) -> str:
        return self.body.decode("utf-8")

    def json(self) -> Any:
        return json.loads(self.body)


def request_bytes(
    method: str,
    target: str,
    host: str,
    headers: list[tuple[str, str]] | None = None,
    body: bytes = b"",
) -> bytes:
    """A request with exactly these parts: ``Host``, the headers in order, ``Content-Length``
    when there is a body or the method is POST (as browsers and PHP's clients do), and
    ``Connection: close``."""
    lines = [f"{method} {target} HTTP/1.1", f"Host: {host}"]
    lines += [f"{name}: {value}" for name, value in headers or []]
    if body or method == "POST":
        lines.append(f"Content-Length: {len(body)}")
    lines.append("Connection: close")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("utf-8") + body


async def _read_message(stream: BufferedByteReceiveStream) -> Message:
    head = await stream.receive_until(b"\r\n\r\n", _HEAD_LIMIT)
    start_line, *header_lines = head.decode("latin-1").split("\r\n")
    headers = []
    for line in header_lines:
        name, _, value = line.partition(":")
        headers.append((name, value.strip()))
    message = Message(start_line, headers, b"")
    if (message.header("transfer-encoding") or "").lower() == "chunked":
        parts = []
        while True:
            size = int((await stream.receive_until(b"\r\n", 1024)).split(b";")[0], 16)
            if size == 0:
                await stream.receive_until(b"\r\n", _HEAD_LIMIT)  # no trailers are sent here
                break
            parts.append(await stream.receive_exactly(size))
            await stream.receive_exactly(2)
        message.body = b"".join(parts)
    else:
        length = int(message.header("content-length") or 0)
        message.body = await stream.receive_exactly(length) if length else b""
    return message


async def raw_exchange(host: str, port: int, data: bytes) -> Message:
    """Send ``data`` on a new connection to ``host:port`` and read one reply."""
    async with await anyio.connect_tcp(host, port) as connection:
        await connection.send(data)
        return await _read_message(BufferedByteReceiveStream(connection))


Responder = Callable[[Message], Awaitable[tuple[int, str, bytes]]]


class CaptureHost:
    """A loopback HTTP/1.1 server (keep-alive) that records every request and lets ``respond``
    answer it: ``await respond(request) -> (status, content_type, body)``.

    ``requests`` lists the requests in arrival order, each numbered (``.arrived``) when its
    body had been read, before ``respond`` was called.
    """

    def __init__(self, respond: Responder) -> None:
        self.respond = respond
        self.requests: list[Message] = []
        self.port = 0

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @asynccontextmanager
    async def running(self) -> AsyncIterator[CaptureHost]:
        listener = await anyio.create_tcp_listener(local_host="127.0.0.1", local_port=0)
        self.port = listener.extra(SocketAttribute.local_port)
        async with listener, anyio.create_task_group() as tg:
            tg.start_soon(listener.serve, self._serve_connection)
            try:
                yield self
            finally:
                tg.cancel_scope.cancel()

    async def _serve_connection(self, connection: ByteStream) -> None:
        stream = BufferedByteReceiveStream(connection)
        async with connection:
            while True:
                try:
                    request = await _read_message(stream)
                except (anyio.EndOfStream, anyio.IncompleteRead, anyio.BrokenResourceError):
                    return
                request.arrived = len(self.requests)
                self.requests.append(request)
                status, content_type, body = await self.respond(request)
                head = (
                    f"HTTP/1.1 {status} {'OK' if status < 400 else 'Error'}\r\n"
                    f"Content-Type: {content_type}\r\nContent-Length: {len(body)}\r\n\r\n"
                )
                try:
                    await connection.send(head.encode("latin-1") + body)
                except (anyio.BrokenResourceError, anyio.ClosedResourceError):
                    return
