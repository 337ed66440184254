"""A raw HTTP/1.1 server for bulk benchmarks: the three requests of an upload, and ``set_meta``.

No framework and no state beyond a counter: an ``asyncio.Protocol`` (on uvloop when installed)
that splits keep-alive requests at their blank line, skips each ``Content-Length`` body, and
answers every request after ``--latency`` seconds (as a server far away would) with a fixed
reply chosen by its path:

* ``/v2/asset.get_upload_url.json``: an ``upload_url`` on this server's ``/upload/post.jpg``;
* ``/upload/...``: the upload host's final reply, ``new resource id <n> <rid>`` then ``done.``;
* ``/v2/asset.set_meta.json`` (and any other ``/v2/`` operation): ``{"success": true}``;
* ``/v2/asset.list.json``: an empty page;
* ``/stats``: ``{"requests": <count since start, /stats excluded>}``, at once.

It runs in its own process (``raw_bulk_process``), keeping its CPU out of the client's
``process_time`` and off the client's GIL: what a benchmark measures is the client, the SDK and
the hand-written baseline alike, not the emulator.

    python benchmarks/_raw_bulk_server.py --port 0 --latency 0.02
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import sys
import urllib.request
from collections.abc import Iterator
from typing import Any

from _server import server_process

TOKEN = "1234567iexampletokenabcdefghijklmn"
_EMPTY_PAGE = {
    "success": True,
    "items": [],
    "items_data": {"page": 1, "pages_count": 0, "items_count": 0, "items_per_page": 100},
}


def _reply(body: bytes, content_type: bytes = b"application/json") -> bytes:
    return b"HTTP/1.1 200 OK\r\nContent-Type: %s\r\nContent-Length: %d\r\n\r\n%s" % (
        content_type,
        len(body),
        body,
    )


class _Bulk(asyncio.Protocol):
    requests = 0
    resources = 0
    port = 0
    latency = 0.0

    def __init__(self) -> None:
        self.buffer = b""
        self.transport: Any = None
        self.loop = asyncio.get_running_loop()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # uvloop's transports do not subclass asyncio.Transport

    def data_received(self, data: bytes) -> None:
        buffer = self.buffer + data
        while True:
            end = buffer.find(b"\r\n\r\n")
            if end < 0:
                break
            head = buffer[:end]
            lowered = head.lower()
            if b"transfer-encoding:" in lowered:
                raise RuntimeError("chunked request bodies are not supported here")
            length = 0
            at = lowered.find(b"content-length:")
            if at >= 0:
                length = int(lowered[at + 15 :].split(b"\r\n", 1)[0])
            if len(buffer) < end + 4 + length:
                break
            buffer = buffer[end + 4 + length :]
            path = head.split(b" ", 2)[1]
            if path.startswith(b"/stats"):
                self.transport.write(_reply(json.dumps({"requests": _Bulk.requests}).encode()))
                continue
            _Bulk.requests += 1
            reply = self.answer(path)
            if self.latency:
                self.loop.call_later(self.latency, self.send, reply)
            else:
                self.send(reply)
        self.buffer = buffer

    def send(self, reply: bytes) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.write(reply)

    def answer(self, path: bytes) -> bytes:
        if path.startswith(b"/upload/"):
            _Bulk.resources += 1
            number = _Bulk.resources
            text = (
                "authentication ok\nfile received ok\nfile stored ok\ncreating resource ok\n"
                f"new resource id {100000 + number} R{number:011d}\ndone.\n"
            )
            return _reply(text.encode(), b"text/plain")
        if path.startswith(b"/v2/asset.get_upload_url.json"):
            url = (
                f"http://127.0.0.1:{_Bulk.port}/upload/post.jpg"
                "?uid=1234567&d=AAAAcAxyzexample&hash=0f1e2d3c4b5a&addtofid=0"
            )
            return _reply(json.dumps({"success": True, "upload_url": url}).encode())
        if path.startswith(b"/v2/asset.list.json"):
            return _reply(json.dumps(_EMPTY_PAGE).encode())
        return _reply(b'{"success": true}')

    def connection_lost(self, exc: Exception | None) -> None:
        self.transport = None


async def serve(port: int, latency: float) -> None:
    loop = asyncio.get_running_loop()
    server = await loop.create_server(_Bulk, "127.0.0.1", port, backlog=1024)
    _Bulk.port = server.sockets[0].getsockname()[1]
    _Bulk.latency = latency
    print(f"CINCOPA_BASE_URL=http://127.0.0.1:{_Bulk.port}/v2/", flush=True)
    print(f"CINCOPA_API_TOKEN={TOKEN}", flush=True)
    async with server:
        await server.serve_forever()


def requests_served(base_url: str) -> int:
    """How many requests the server at ``base_url`` has answered (``/stats`` aside)."""
    root = base_url.removesuffix("/v2/")
    with urllib.request.urlopen(f"{root}/stats", timeout=30) as reply:
        return int(json.load(reply)["requests"])


@contextlib.contextmanager
def raw_bulk_process(latency: float = 0.0) -> Iterator[tuple[str, str]]:
    """Yield (base_url, token) of this server, running in a process of its own."""
    with server_process(
        [sys.executable, __file__, "--port", "0", "--latency", str(latency)]
    ) as started:
        yield started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--latency", type=float, default=0.0, help="seconds per reply")
    args = parser.parse_args()
    try:
        import uvloop
    except ImportError:
        asyncio.run(serve(args.port, args.latency))
    else:
        uvloop.run(serve(args.port, args.latency))


if __name__ == "__main__":
    main()
