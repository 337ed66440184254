"""The largest event-loop stall while the SDK runs a 32-way bulk upload of big (chunked) files.

A heartbeat task sleeps 1 ms in a loop (``asyncio.sleep(0.001)``) and records each wake-up's
lateness (actual minus expected); the figure is the largest lateness, with its p99. Web backends
share their loop with the SDK, so a long stall is a slow reply for everyone (goal: < 20 ms).

``--files`` files (default 64) of 8-16 MiB each (sizes drawn from a fixed seed, mean ~12 MiB,
random bytes, every file different) are written to a temp dir (deleted afterwards). Against the
emulator in a separate process (a fresh one per upload: it keeps every byte in memory), in the
same asyncio process, interleaved within each round:

  (a) baseline: the heartbeat alone, for ``--idle`` seconds;
  (b) the heartbeat during ``cp.bulk.upload_files(paths, concurrency=32)`` (default 8 MiB
      chunks, so each file goes as 2 chunk POSTs), client ``max_concurrency=32``;
  (c) control: the heartbeat during a hand-written upload of the same files through the SDK's
      aiohttp transport, no SDK logic: 32 workers, each file in the same 8 MiB chunks read with
      ``os.pread`` in a worker thread, one raw-body POST per chunk. What the loop suffers from
      the transport, the threads and the machine alone;
  (d) control as (c), but each chunk's body streamed as 1 MiB ``os.pread`` blocks (an async
      generator, ``Content-Length`` set): no multi-MiB ``transport.write``;
  (e) the SDK as (b), with anyio's default thread limiter (40 by default; the SDK reads and
      hashes files in those threads, up to 32 at once here) set to 2 by the benchmark;
  (f) control as (d), file reads limited to 2 worker threads: a prototype of both fixes.

Medians over ``--rounds`` of each round's max and p99. ``--explain`` then runs (b) once more
with asyncio's debug mode and prints the callbacks that held the loop longest (debug mode is
slower: those durations are inflated, but the culprits are the same).

``--discard-uploads`` runs the emulator through ``_emulator_main.py --discard-uploads`` (its upload
host keeps only the lengths of what it receives): the emulator assembling files in memory keeps
its process at 100% CPU, and on a 2-core machine that competes with the client's loop.

    python benchmarks/bench_loop_stall.py [--files 64] [--rounds 5] [--idle 2] [--explain]
        [--discard-uploads]
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import contextlib
import logging
import os
import random
import re
import statistics
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any
from urllib.parse import quote

import anyio
import httpx
from _server import emulator_process

from cincopa_async import AsyncCincopa
from cincopa_async._aiohttp import AiohttpTransport

MIB = 1024 * 1024
CONCURRENCY = 32
CHUNK = 8 * MIB
TICK = 0.001


class Heartbeat:
    """Lateness of 1 ms sleeps, in seconds, while it runs."""

    def __init__(self) -> None:
        self.lateness: list[float] = []
        self._task: asyncio.Task[None] | None = None

    async def _beat(self) -> None:
        while True:
            before = time.perf_counter()
            await asyncio.sleep(TICK)
            self.lateness.append(time.perf_counter() - before - TICK)

    async def __aenter__(self) -> Heartbeat:
        self._task = asyncio.get_running_loop().create_task(self._beat())
        await asyncio.sleep(0)
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        assert self._task is not None
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task

    def stats(self) -> tuple[float, float, int]:
        """(max, p99) in ms, and the number of beats."""
        values = sorted(self.lateness)
        p99 = values[min(len(values) - 1, int(len(values) * 0.99))]
        return values[-1] * 1000, p99 * 1000, len(values)


def make_files(directory: Path, count: int) -> list[Path]:
    rng = random.Random(0)
    block = os.urandom(16 * MIB)
    paths = []
    for index in range(count):
        size = rng.randrange(8 * MIB, 16 * MIB)
        path = directory / f"big-{index:03d}.bin"
        path.write_bytes(index.to_bytes(8, "little") + block[8:size])
        paths.append(path)
    return paths


async def sdk_upload(
    base_url: str, token: str, paths: list[Path], threads: int | None = None
) -> None:
    if threads is not None:  # anyio's worker threads (the SDK's file reads and hashing)
        anyio.to_thread.current_default_thread_limiter().total_tokens = threads
    async with AsyncCincopa(token, base_url=base_url, max_concurrency=CONCURRENCY) as cp:
        result = await cp.bulk.upload_files(paths, concurrency=CONCURRENCY)
    assert result.ok, result.failed[:3]


async def read_blocks(
    in_thread: Callable[..., Awaitable[Any]], fd: int, start: int, end: int
) -> AsyncIterator[bytes]:
    for position in range(start, end, MIB):
        yield await in_thread(os.pread, fd, min(MIB, end - position), position)


async def raw_upload(
    base_url: str, token: str, paths: list[Path], streamed: bool = False, threads: int = 0
) -> None:
    if threads:
        anyio.to_thread.current_default_thread_limiter().total_tokens = threads
        gate = anyio.CapacityLimiter(threads)  # asyncio.to_thread has no limit of its own

        async def in_thread(func: Callable[..., Any], *args: Any) -> Any:
            async with gate:
                return await asyncio.to_thread(func, *args)
    else:

        async def in_thread(func: Callable[..., Any], *args: Any) -> Any:
            return await asyncio.to_thread(func, *args)

    limits = httpx.Limits(max_connections=CONCURRENCY)
    async with httpx.AsyncClient(transport=AiohttpTransport(limits=limits), timeout=300) as http:
        queue = list(paths)

        async def one(path: Path) -> None:
            reply = await http.get(
                f"{base_url}asset.get_upload_url.json", params={"api_token": token}
            )
            url = reply.raise_for_status().json()["upload_url"]
            size = path.stat().st_size
            unique = os.urandom(16).hex()
            fd = await in_thread(os.open, path, os.O_RDONLY)
            try:
                for start in range(0, size, CHUNK):
                    end = min(start + CHUNK, size)
                    if streamed:
                        data: bytes | AsyncIterator[bytes]
                        data = read_blocks(in_thread, fd, start, end)
                    else:
                        data = await in_thread(os.pread, fd, end - start, start)
                    posted = await http.post(
                        url,
                        content=data,
                        headers={
                            "Content-Length": str(end - start),
                            "X-File-Name": quote(path.name),
                            "Content-Range": f"bytes {start}-{end}/{size}",
                            "unique-id": unique,
                            "Content-Type": "application/octet-stream",
                        },
                    )
                    assert "error" not in posted.raise_for_status().text, posted.text
            finally:
                await in_thread(os.close, fd)

        async def worker() -> None:
            while queue:
                await one(queue.pop(0))

        await asyncio.gather(*(worker() for _ in range(CONCURRENCY)))


async def sdk_two_threads(base_url: str, token: str, paths: list[Path]) -> None:
    await sdk_upload(base_url, token, paths, threads=2)


async def raw_streamed(base_url: str, token: str, paths: list[Path]) -> None:
    await raw_upload(base_url, token, paths, streamed=True)


async def raw_streamed_two_threads(base_url: str, token: str, paths: list[Path]) -> None:
    await raw_upload(base_url, token, paths, streamed=True, threads=2)


Upload = Callable[[str, str, list[Path]], Awaitable[None]]


def measure(
    upload: Upload | None, paths: list[Path], idle: float, discard: bool = False
) -> tuple[float, ...]:
    """(max ms, p99 ms, beats, seconds) of the heartbeat during ``upload`` (or ``idle`` s)."""

    async def run(base_url: str, token: str) -> tuple[float, ...]:
        start = time.perf_counter()
        async with Heartbeat() as beat:
            if upload is None:
                await asyncio.sleep(idle)
            else:
                await upload(base_url, token, paths)
        return (*beat.stats(), time.perf_counter() - start)

    if upload is None:
        return asyncio.run(run("", ""))
    with emulator_process(discard_uploads=discard) as (base_url, token):
        return asyncio.run(run(base_url, token))


class _SlowCallbacks(logging.Handler):
    pattern = re.compile(r"Executing (.*) took (\d+\.\d+) seconds")

    def __init__(self) -> None:
        super().__init__()
        self.seen: list[tuple[float, str]] = []

    def emit(self, record: logging.LogRecord) -> None:
        match = self.pattern.search(record.getMessage())
        if match:
            what = re.sub(r"0x[0-9a-f]+|\d+(\.\d+)?", "#", match.group(1))
            self.seen.append((float(match.group(2)) * 1000, what[:160]))


def explain(paths: list[Path]) -> None:
    handler = _SlowCallbacks()
    logging.getLogger("asyncio").addHandler(handler)
    logging.getLogger("asyncio").setLevel(logging.WARNING)

    async def run(base_url: str, token: str) -> None:
        asyncio.get_running_loop().slow_callback_duration = 0.002
        await sdk_upload(base_url, token, paths)

    with emulator_process() as (base_url, token):
        asyncio.run(run(base_url, token), debug=True)
    by_site: dict[str, list[float]] = collections.defaultdict(list)
    for ms, what in handler.seen:
        by_site[what].append(ms)
    print("\n--explain: callbacks holding the loop > 2 ms during (b), asyncio debug mode")
    print(f"{'count':>6} {'max ms':>7} {'sum ms':>8}  callback")
    worst = sorted(by_site.items(), key=lambda kv: -max(kv[1]))[:12]
    for what, values in worst:
        print(f"{len(values):>6} {max(values):>7.1f} {sum(values):>8.1f}  {what}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=64)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--idle", type=float, default=2.0, help="seconds of the baseline")
    parser.add_argument("--explain", action="store_true")
    parser.add_argument(
        "--discard-uploads",
        action="store_true",
        help="the upload host keeps only the lengths of what it receives (a lighter server)",
    )
    args = parser.parse_args()
    variants: dict[str, Upload | None] = {
        "(a) baseline: heartbeat alone": None,
        "(b) SDK cp.bulk.upload_files, 32": sdk_upload,
        "(c) control: raw chunks on aiohttp, 32": raw_upload,
        "(d) control as (c), chunks streamed 1 MiB": raw_streamed,
        "(e) SDK as (b), 2 worker threads": sdk_two_threads,
        "(f) control as (d), 2 worker threads": raw_streamed_two_threads,
    }
    results: dict[str, list[tuple[float, ...]]] = {name: [] for name in variants}
    with tempfile.TemporaryDirectory(prefix="bench-stall-") as tmp:
        paths = make_files(Path(tmp), args.files)
        total = sum(p.stat().st_size for p in paths)
        for _ in range(args.rounds):
            for name, upload in variants.items():
                results[name].append(measure(upload, paths, args.idle, args.discard_uploads))
        print(
            f"{args.files} files, {total / MIB:.0f} MiB in all, {CONCURRENCY} in flight, "
            f"{CHUNK // MIB} MiB chunks; heartbeat: asyncio.sleep(1 ms); "
            f"upload host {'discarding' if args.discard_uploads else 'storing'} the bytes; "
            f"median of {args.rounds} rounds (max over rounds)"
        )
        print(f"{'variant':<42} {'max stall ms':>16} {'p99 ms':>7} {'beats':>7} {'MB/s':>6}")
        med = {}
        for name, cells in results.items():
            worst = statistics.median(c[0] for c in cells)
            p99 = statistics.median(c[1] for c in cells)
            beats = statistics.median(c[2] for c in cells)
            seconds = statistics.median(c[3] for c in cells)
            med[name] = worst
            rate = f"{total / 1e6 / seconds:>6.0f}" if variants[name] else f"{'-':>6}"
            print(
                f"{name:<42} {worst:>7.2f} ({max(c[0] for c in cells):>6.2f}) {p99:>7.2f} "
                f"{beats:>7.0f} {rate}"
            )
        a, b, c, d, e, f = variants
        print()
        print(f"SDK max stall: {med[b]:.2f} ms (goal < 20 ms)")
        print(f"SDK max stall / baseline: {med[b] / med[a]:.1f}x")
        print(f"SDK max stall / control (c) whole chunks: {med[b] / med[c]:.2f}x")
        print(f"SDK max stall / control (d) streamed blocks: {med[b] / med[d]:.2f}x")
        print(f"SDK max stall, anyio's 40 worker threads / 2 threads: {med[b] / med[e]:.2f}x")
        print(f"control (f) streamed + 2 threads, max stall: {med[f]:.2f} ms")
        if args.explain:
            explain(paths)
    sys.stdout.flush()


if __name__ == "__main__":
    main()
