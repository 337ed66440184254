"""A raw TCP server on 127.0.0.1 that answers whatever bytes a test scripts, HTTP or not.

No HTTP library is involved on the server side, so a test can send what no well-behaved server
would: a malformed status line, oversized headers, a lying ``Content-Length``, a gzip bomb, a
connection closed after the request was read. Runs on its own thread, so it serves asyncio and
trio tests alike.
"""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

__all__ = [
    "CLOSE",
    "RawRequest",
    "RawServer",
    "SendAndClose",
    "chunked",
    "http_reply",
    "raw_server",
]

CLOSE = b""
"""What a script returns to close the connection without sending anything."""


class SendAndClose(bytes):
    """What a script returns to send these bytes, then close the connection."""


@dataclass
class RawRequest:
    """One request as received: the request line, the headers (lower-cased), the body."""

    line: str
    headers: dict[str, str]
    body: bytes
    connection: int  # the number of the connection it came on (0, 1, ...)
    header_names: tuple[str, ...] = ()  # every header line's name, lower-cased, in order

    @property
    def path(self) -> str:
        return self.line.split(" ")[1] if " " in self.line else ""


Script = Callable[[RawRequest, int], bytes]
"""(request, its number) -> the bytes to send back; ``CLOSE`` hangs up without a reply."""


def http_reply(
    body: bytes = b'{"success": true}',
    *,
    status: str = "200 OK",
    headers: tuple[tuple[str, str], ...] = (("Content-Type", "application/json"),),
    framing: str = "length",
) -> bytes:
    """A whole reply; ``framing``: ``length`` (Content-Length), ``chunked``, or ``close`` (the
    body runs to the end of the connection: return it as ``SendAndClose``)."""
    lines = [f"HTTP/1.1 {status}", *(f"{name}: {value}" for name, value in headers)]
    if framing == "length":
        lines.append(f"Content-Length: {len(body)}")
    elif framing == "chunked":
        lines.append("Transfer-Encoding: chunked")
        body = chunked(body)
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


def chunked(body: bytes, size: int = 16 * 1024) -> bytes:
    """``body`` in HTTP/1.1 chunked framing."""
    parts = [
        b"%x\r\n%s\r\n" % (len(body[at : at + size]), body[at : at + size])
        for at in range(0, len(body), size)
    ]
    return b"".join([*parts, b"0\r\n\r\n"])


@dataclass
class RawServer:
    script: Script
    requests: list[RawRequest] = field(default_factory=list)
    port: int = 0
    accepted: int = 0  # connections accepted so far
    ended: int = 0  # connections closed so far (by the client, or by a script)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _open: list[socket.socket] = field(default_factory=list, repr=False)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v2/"

    def hang_up(self) -> None:
        """Close every open connection, as a server does with idle keep-alive connections."""
        with self._lock:
            for conn in self._open:
                with contextlib.suppress(OSError):
                    conn.shutdown(socket.SHUT_RDWR)

    def serve_connection(self, conn: socket.socket, number: int) -> None:
        with self._lock:
            self._open.append(conn)
        # a client that hung up mid-reply (a reply past its cap) resets the connection
        try:
            with contextlib.suppress(ConnectionError):
                self._serve(conn, number)
        finally:
            with self._lock:
                self._open.remove(conn)
                self.ended += 1

    def _serve(self, conn: socket.socket, number: int) -> None:
        buffer = b""
        with conn:
            while True:
                while b"\r\n\r\n" not in buffer:
                    data = conn.recv(65536)
                    if not data:
                        return
                    buffer += data
                head, _, buffer = buffer.partition(b"\r\n\r\n")
                line, *header_lines = head.decode("latin-1").split("\r\n")
                headers = {}
                for header in header_lines:
                    name, _, value = header.partition(":")
                    headers[name.strip().lower()] = value.strip()
                length = int(headers.get("content-length", "0") or 0)
                while len(buffer) < length:
                    data = conn.recv(65536)
                    if not data:
                        return
                    buffer += data
                body, buffer = buffer[:length], buffer[length:]
                names = tuple(h.partition(":")[0].strip().lower() for h in header_lines)
                request = RawRequest(line, headers, body, number, names)
                self.requests.append(request)
                reply = self.script(request, len(self.requests) - 1)
                if reply is CLOSE or not reply:
                    with contextlib.suppress(OSError):
                        conn.shutdown(socket.SHUT_RDWR)
                    return
                try:
                    conn.sendall(reply)
                except OSError:
                    return
                if isinstance(reply, SendAndClose):
                    with contextlib.suppress(OSError):
                        conn.shutdown(socket.SHUT_RDWR)
                    return


@contextlib.contextmanager
def raw_server(script: Script) -> Iterator[RawServer]:
    """Serve ``script`` on a loopback port until the block ends."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", 0))
    listener.listen(64)
    server = RawServer(script, port=listener.getsockname()[1])
    stop = threading.Event()

    def accept() -> None:
        number = 0
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            server.accepted = number + 1
            threading.Thread(
                target=server.serve_connection, args=(conn, number), daemon=True
            ).start()
            number += 1

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        stop.set()
        with contextlib.suppress(OSError):
            listener.shutdown(socket.SHUT_RDWR)
        listener.close()
        thread.join(5)
