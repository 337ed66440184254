"""A raw HTTP/1.1 server for client benchmarks: every request gets the same ``ping`` reply.

No framework and no routing: an ``asyncio.Protocol`` (on uvloop when it is installed) that
splits keep-alive requests at their blank line, skips a ``Content-Length`` body, and writes a
fixed reply (``tests/fixtures/replies/ping.json``), so the server costs as little per request
as a server can. It runs in its own process (``raw_ping_process``), keeping its CPU out of the
client's ``process_time`` and off the client's GIL: what a benchmark then measures is the
client.

    python benchmarks/_raw_ping_server.py --port 0   # prints CINCOPA_BASE_URL=... when ready
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from _server import server_process

TOKEN = "1234567iexampletokenabcdefghijklmn"
BODY = json.dumps(
    json.loads((Path(__file__).parents[1] / "tests/fixtures/replies/ping.json").read_text())
).encode()
REPLY = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s" % (
    len(BODY),
    BODY,
)


class _Ping(asyncio.Protocol):
    def __init__(self) -> None:
        self.buffer = b""
        self.transport: Any = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # uvloop's transports do not subclass asyncio.Transport

    def data_received(self, data: bytes) -> None:
        buffer = self.buffer + data
        replies = 0
        while True:
            end = buffer.find(b"\r\n\r\n")
            if end < 0:
                break
            head = buffer[:end].lower()
            length = 0
            at = head.find(b"content-length:")
            if at >= 0:
                length = int(head[at + 15 :].split(b"\r\n", 1)[0])
            if len(buffer) < end + 4 + length:
                break
            buffer = buffer[end + 4 + length :]
            replies += 1
        self.buffer = buffer
        if replies and self.transport is not None:
            self.transport.write(REPLY * replies)


async def serve(port: int) -> None:
    loop = asyncio.get_running_loop()
    server = await loop.create_server(_Ping, "127.0.0.1", port, backlog=1024)
    bound = server.sockets[0].getsockname()[1]
    print(f"CINCOPA_BASE_URL=http://127.0.0.1:{bound}/v2/", flush=True)
    print(f"CINCOPA_API_TOKEN={TOKEN}", flush=True)
    async with server:
        await server.serve_forever()


@contextlib.contextmanager
def raw_ping_process() -> Iterator[tuple[str, str]]:
    """Yield (base_url, token) of this server, running in a process of its own."""
    with server_process([sys.executable, __file__, "--port", "0"]) as started:
        yield started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args()
    try:
        import uvloop
    except ImportError:
        asyncio.run(serve(args.port))
    else:
        uvloop.run(serve(args.port))


if __name__ == "__main__":
    main()
