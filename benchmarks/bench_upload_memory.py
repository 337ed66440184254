"""Peak RSS and throughput of the CLIENT uploading a 1 GiB file, SDK vs a raw httpx stream.

A ``--size-mib`` (default 1024) file of random-ish bytes (a 16 MiB random block repeated, each
copy stamped with its index) is written to a temp dir (deleted afterwards) and uploaded to the
emulator's upload host, the emulator in a separate process (a fresh one per measurement: it keeps
every uploaded byte in memory). Variants:

  sdk-<N>M  ``await cp.upload_file(path, chunk_size=N MiB)`` (``chunk_concurrency=1``, the
            default: one chunk at a time, as Cincopa's own uploaders send them):
            ``get_upload_url``, the chunk POSTs, the ``asset.list`` read-back.
  sdk-<N>M-par2  the same with ``chunk_concurrency=2`` (the opt-in parallel chunks).
  raw-httpx one raw-body POST of the whole file, framed as the SDK frames a chunk (Cincopa's
            uploader's headers: ``Content-Type: multipart/form-data``, ``X-FILE-NAME``,
            ``Content-Range: bytes 0-<size>/<size>``, ``unique-id``, ``Content-Length``) on a
            plain ``httpx.AsyncClient`` (httpx's default transport), the content streamed from an
            async generator reading the file in 1 MiB ``os.pread`` blocks in a worker thread. The
            upload URL is fetched before the clock starts.
  raw-aio   the same stream through the SDK's own aiohttp transport (what the SDK sends over).
  stream-<N>M  the prototype of the block-streamed chunk bodies the SDK now has, as it was
            measured before it landed: N MiB chunks, 2 at a time, the last alone, through the
            aiohttp transport, each chunk's body streamed in 1 MiB ``os.pread`` blocks.
  aio-chunks-<N>M  the fair raw baseline of the SDK's default: raw aiohttp (one
            ``ClientSession``, no httpx), the same N MiB chunks framed the same way, one at a
            time, each chunk's body streamed in 1 MiB ``os.pread`` blocks read in a worker
            thread (``asyncio.to_thread``), each reply read before the next chunk goes.

The emulator's upload host assembles each file in memory, which makes it, not the client, the
bottleneck for throughput (its process is at 100% CPU): ``--discard-uploads`` runs the
emulator through ``_emulator_main.py --discard-uploads``, whose upload host keeps only the
lengths of what it receives, so that MB/s measures the client.

Each measurement runs in its own fresh subprocess, so peaks never mix. The child reads its RSS
from ``/proc/self/status``: the baseline VmRSS after imports and a warm-up request (the
connection pool open), then resets the high-water mark (``echo 5 > /proc/self/clear_refs``)
and reads VmHWM after the upload; a thread sampling VmRSS every 2 ms gives a cross-check.
Throughput is MB/s (10^6 bytes) of wall time; client CPU is ``process_time`` (all its threads).
Medians of ``--rounds``, variants interleaved within each round.

    python benchmarks/bench_upload_memory.py [--size-mib 1024] [--chunk-sizes 4,8,16] [--rounds 3]
        [--parallel-chunk-sizes 8] [--stream-chunk-sizes 8] [--aio-chunk-sizes 8]
        [--discard-uploads] [--no-raw]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import AsyncIterator
from pathlib import Path

MIB = 1024 * 1024


def s4_headers(path: str, start: int, end: int, size: int, unique_id: str) -> dict[str, str]:
    """The headers Cincopa's uploader (and so the SDK) sends with a chunk (REAL-CLIENTS.md S4)."""
    from urllib.parse import quote

    return {
        "Content-Type": "multipart/form-data",
        "X-FILE-NAME": quote(Path(path).name, safe="!*'()"),
        "Content-Range": f"bytes {start}-{end}/{size}",
        "unique-id": unique_id,
        "Content-Length": str(end - start),
    }


GOAL_MIB = 64
_STATUS = re.compile(r"^(VmRSS|VmHWM):\s+(\d+) kB", re.MULTILINE)


def status_mib() -> dict[str, float]:
    with open("/proc/self/status") as handle:
        return {key: int(kb) / 1024 for key, kb in _STATUS.findall(handle.read())}


def reset_peak() -> bool:
    try:
        with open("/proc/self/clear_refs", "w") as handle:
            handle.write("5")
    except OSError:
        return False
    return True


class Sampler:
    """The largest VmRSS seen by a thread polling every ``interval`` seconds."""

    def __init__(self, interval: float = 0.002) -> None:
        self.interval = interval
        self.peak = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self.peak = max(self.peak, status_mib()["VmRSS"])

    def __enter__(self) -> Sampler:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, status_mib()["VmRSS"])


# -- the child: one variant, one upload ----------------------------------------------------------


async def file_stream(
    path: str, size: int, block: int = MIB, offset: int = 0
) -> AsyncIterator[bytes]:
    import anyio

    fd = os.open(path, os.O_RDONLY)
    try:
        for start in range(offset, offset + size, block):
            length = min(block, offset + size - start)
            yield await anyio.to_thread.run_sync(os.pread, fd, length, start)
    finally:
        os.close(fd)


async def streamed_chunks(
    http: object, url: str, path: str, size: int, chunk_size: int, concurrency: int = 2
) -> str:
    """The SDK's chunking (all but the last ``concurrency`` at a time, then the last), each
    chunk's body streamed in 1 MiB ``os.pread`` blocks instead of read whole: a prototype."""
    import anyio
    import httpx

    assert isinstance(http, httpx.AsyncClient)
    unique = str(time.time_ns() // 1_000_000)
    count = -(-size // chunk_size)
    limiter = anyio.CapacityLimiter(concurrency)

    async def post(index: int) -> str:
        start = index * chunk_size
        end = min(start + chunk_size, size)

        async def body() -> AsyncIterator[bytes]:
            async for block in file_stream(path, end - start, offset=start):
                yield block

        reply = await http.post(
            url, content=body(), headers=s4_headers(path, start, end, size, unique)
        )
        return reply.raise_for_status().text

    async def one(index: int) -> None:
        async with limiter:
            await post(index)

    async with anyio.create_task_group() as tg:
        for index in range(count - 1):
            tg.start_soon(one, index)
    return await post(count - 1)


async def aio_chunks(base_url: str, token: str, path: str, size: int, chunk_size: int) -> str:
    """Raw aiohttp, the SDK's chunks one at a time, each streamed in 1 MiB blocks."""
    import asyncio

    import aiohttp

    async with aiohttp.ClientSession() as session:
        async with session.get(
            f"{base_url}asset.get_upload_url.json", params={"api_token": token}
        ) as reply:
            upload_url = (await reply.json())["upload_url"]
        unique = str(time.time_ns() // 1_000_000)
        fd = os.open(path, os.O_RDONLY)
        try:

            async def blocks(start: int, end: int) -> AsyncIterator[bytes]:
                for offset in range(start, end, MIB):
                    yield await asyncio.to_thread(os.pread, fd, min(MIB, end - offset), offset)

            baseline = status_mib()["VmRSS"]
            reset = reset_peak()
            with Sampler() as sampler:
                cpu0, wall0 = time.process_time(), time.perf_counter()
                for start in range(0, size, chunk_size):
                    end = min(start + chunk_size, size)
                    async with session.post(
                        upload_url,
                        data=blocks(start, end),
                        headers=s4_headers(path, start, end, size, unique),
                    ) as posted:
                        text = await posted.text()
                wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
        finally:
            os.close(fd)
    assert "new resource id" in text, text
    global _AIO_FIGURES
    _AIO_FIGURES = (baseline, reset, sampler.peak, wall, cpu)
    return text


_AIO_FIGURES: tuple[float, bool, float, float, float] = (0.0, False, 0.0, 0.0, 0.0)


async def child(variant: str, path: str, base_url: str, token: str) -> dict[str, float]:
    import httpx

    from cincopa_async import AsyncCincopa
    from cincopa_async._aiohttp import AiohttpTransport

    size = os.path.getsize(path)
    if variant.startswith("aio-chunks-"):
        await aio_chunks(base_url, token, path, size, int(variant[11:-1]) * MIB)
        baseline, reset, sampled, wall, cpu = _AIO_FIGURES
        return {
            "baseline": baseline,
            "peak": status_mib()["VmHWM"] if reset else float("nan"),
            "sampled": sampled,
            "wall": wall,
            "cpu": cpu,
            "size": size,
        }
    if variant.startswith("sdk-"):
        mib, _, parallel = variant[4:].partition("M")
        chunk_size = int(mib) * MIB
        concurrency = int(parallel.removeprefix("-par")) if parallel else 1
        async with AsyncCincopa(token, base_url=base_url) as cp:
            await cp.ping()  # the pool and the lazy imports, before the baseline
            baseline = status_mib()["VmRSS"]
            reset = reset_peak()
            with Sampler() as sampler:
                cpu0, wall0 = time.process_time(), time.perf_counter()
                asset = await cp.upload_file(
                    path, chunk_size=chunk_size, chunk_concurrency=concurrency
                )
                wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
            assert asset.filesize == size, asset
    elif variant.startswith("stream-"):
        chunk_size = int(variant[7:-1]) * MIB
        async with httpx.AsyncClient(transport=AiohttpTransport(), timeout=600) as http:
            reply = await http.get(
                f"{base_url}asset.get_upload_url.json", params={"api_token": token}
            )
            upload_url = reply.raise_for_status().json()["upload_url"]
            baseline = status_mib()["VmRSS"]
            reset = reset_peak()
            with Sampler() as sampler:
                cpu0, wall0 = time.process_time(), time.perf_counter()
                text = await streamed_chunks(http, upload_url, path, size, chunk_size)
                wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
            assert "new resource id" in text, text
    else:
        transport = AiohttpTransport() if variant == "raw-aio" else None
        async with httpx.AsyncClient(transport=transport, timeout=600) as http:
            reply = await http.get(
                f"{base_url}asset.get_upload_url.json", params={"api_token": token}
            )
            upload_url = reply.raise_for_status().json()["upload_url"]
            baseline = status_mib()["VmRSS"]
            reset = reset_peak()
            with Sampler() as sampler:
                cpu0, wall0 = time.process_time(), time.perf_counter()
                posted = await http.post(
                    upload_url,
                    content=file_stream(path, size),
                    headers=s4_headers(path, 0, size, size, str(time.time_ns() // 1_000_000)),
                )
                wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
            assert "new resource id" in posted.text, posted.text
    peak = status_mib()["VmHWM"]
    return {
        "baseline": baseline,
        "peak": peak if reset else float("nan"),
        "sampled": sampler.peak,
        "wall": wall,
        "cpu": cpu,
        "size": size,
    }


# -- the parent ---------------------------------------------------------------------------------


def make_file(path: Path, size: int) -> None:
    block = bytearray(os.urandom(16 * MIB))
    with path.open("wb") as handle:
        written = index = 0
        while written < size:
            block[:8] = index.to_bytes(8, "little")
            part = block[: min(len(block), size - written)]
            handle.write(part)
            written += len(part)
            index += 1


def measure(variant: str, path: Path, discard: bool) -> dict[str, float]:
    sys.path.insert(0, str(Path(__file__).parent))
    from _server import emulator_process

    with emulator_process(discard_uploads=discard) as (base_url, token):
        output = subprocess.run(
            [sys.executable, __file__, "--child", variant, str(path), base_url, token],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
    return json.loads(output.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mib", type=int, default=1024)
    parser.add_argument("--chunk-sizes", default="4,8,16", help="MiB, comma-separated")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--no-raw", action="store_true", help="only the SDK variants")
    parser.add_argument(
        "--parallel-chunk-sizes",
        default="8",
        help="MiB of the chunk_concurrency=2 SDK variant ('' = none)",
    )
    parser.add_argument(
        "--stream-chunk-sizes", default="8", help="MiB of the streamed-chunks prototype ('' = none)"
    )
    parser.add_argument(
        "--aio-chunk-sizes", default="8", help="MiB of the raw aiohttp chunked baseline ('' = none)"
    )
    parser.add_argument(
        "--discard-uploads",
        action="store_true",
        help="the upload host keeps only the lengths of what it receives (measures the client)",
    )
    parser.add_argument("--child", nargs=4, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        import anyio

        print(json.dumps(anyio.run(child, *args.child)))
        return

    variants = [f"sdk-{int(n)}M" for n in args.chunk_sizes.split(",")]
    variants += [f"sdk-{int(n)}M-par2" for n in args.parallel_chunk_sizes.split(",") if n]
    if not args.no_raw:
        variants += ["raw-httpx", "raw-aio"]
    variants += [f"stream-{int(n)}M" for n in args.stream_chunk_sizes.split(",") if n]
    variants += [f"aio-chunks-{int(n)}M" for n in args.aio_chunk_sizes.split(",") if n]
    results: dict[str, list[dict[str, float]]] = {v: [] for v in variants}
    with tempfile.TemporaryDirectory(prefix="bench-upload-") as tmp:
        path = Path(tmp) / "big.bin"
        make_file(path, args.size_mib * MIB)
        for _ in range(args.rounds):
            for variant in variants:
                results[variant].append(measure(variant, path, args.discard_uploads))

    size = args.size_mib * MIB
    host = "discarding uploaded bytes" if args.discard_uploads else "storing them"
    print(
        f"upload of a {args.size_mib} MiB file to the emulator (separate process, {host}) on "
        f"loopback; median of {args.rounds} rounds"
    )
    print(
        f"{'variant':<13} {'MB/s':>7} {'peak RSS':>9} {'baseline':>9} {'growth':>7} "
        f"{'sampled':>8} {'CPU s/GB':>9}   MB/s min-max"
    )
    med: dict[str, dict[str, float]] = {}
    for variant, cells in results.items():
        med[variant] = m = {
            key: statistics.median(c[key] for c in cells) for key in ("baseline", "peak", "wall")
        }
        m["sampled"] = statistics.median(c["sampled"] for c in cells)
        m["growth"] = statistics.median(c["peak"] - c["baseline"] for c in cells)
        m["cpu"] = statistics.median(c["cpu"] for c in cells) / (size / 1e9)
        rates = [size / 1e6 / c["wall"] for c in cells]
        m["rate"] = statistics.median(rates)
        print(
            f"{variant:<13} {m['rate']:>7.0f} {m['peak']:>7.1f}Mi {m['baseline']:>7.1f}Mi "
            f"{m['growth']:>5.1f}Mi {m['sampled']:>6.1f}Mi {m['cpu']:>9.2f}"
            f"   {min(rates):.0f}-{max(rates):.0f}"
        )
    print(f"(RSS in MiB; growth = peak VmHWM - baseline VmRSS; goal: peak < {GOAL_MIB} MiB)")
    print()
    sdk = [v for v in variants if v.startswith("sdk-")]
    for variant in sdk:
        chunk = variant[4:].split("M")[0]
        baseline = f"aio-chunks-{chunk}M"
        if baseline in results:
            pairs = zip(results[variant], results[baseline], strict=True)
            ratios = [ours["cpu"] / raw["cpu"] for ours, raw in pairs]
            print(
                f"CPU per GB {variant} / {baseline}: {statistics.median(ratios):.2f}x"
                f" ({min(ratios):.2f}-{max(ratios):.2f}, per round; goal <= 1.2x)"
            )
    for raw in ("raw-httpx", "raw-aio"):
        if raw in med:
            line = ", ".join(f"{v} {med[v]['rate'] / med[raw]['rate']:.2f}" for v in sdk)
            print(f"throughput SDK / {raw}: {line}")
    within = [v for v in sdk if med[v]["peak"] < GOAL_MIB]
    if within:
        best = max(within, key=lambda v: med[v]["rate"])
        print(f"fastest SDK chunk size with peak RSS < {GOAL_MIB} MiB: {best}")
    else:
        print(f"no SDK chunk size kept peak RSS under {GOAL_MIB} MiB")


if __name__ == "__main__":
    main()
