"""Bulk upload throughput at 32 in flight with 20 ms of emulated latency per request.

Against the emulator in a separate process on loopback, with a ``latency`` fault on every
request (API and upload host; ``_emulator_main.py``), uploading ``--items`` small files
(``--size`` random bytes each, all different) as ``(name, bytes)`` pairs:

  (a) ``cp.bulk.upload_files(files, concurrency=32)`` on a client with ``max_concurrency=32``;
  (b) naive: ``asyncio.gather`` over plain ``httpx.AsyncClient`` calls doing the same work per
      item -- ``asset.get_upload_url``, the raw-body POST to the upload host (``X-File-Name``,
      ``Content-Range: bytes 0-<n>/<n>``, ``unique-id``: the form the SDK sends),
      ``asset.set_meta(rid, reference_id)`` -- bounded by an ``asyncio.Semaphore(32)`` around
      each item (so at most 32 requests in flight, like the SDK), on httpx's default transport
      with a pool of 32;
  (c) the same naive code with no limiter at all (every item at once; httpx's default pool of
      100 connections is the only bound);
  (d) the naive code of (b) on the SDK's own aiohttp transport (``httpx.AsyncClient(transport=
      AiohttpTransport(...))``): separates what the SDK's engine costs from what httpx's default
      transport costs.

The ideal is ``requests x latency / concurrency``. The SDK's bulk upload of one small file makes
6 requests, counted at start-up against an in-process emulator and printed: the reference
lookup (``asset.list reference_id=``), the orphan lookup (``asset.list search=``),
``asset.get_upload_url``, the upload POST, ``asset.set_meta`` and the read-back
(``asset.list rid=``). The naive code makes 3. So the ideal is, per item, 6 x 20 ms / 32 =
3.75 ms for the SDK (267 items/s) and 3 x 20 ms / 32 = 1.875 ms for naive work at 32 in flight.

Each measurement gets a fresh emulator process (so no run sees a library filled by another),
the variants interleaved within each round; medians of ``--rounds``. CPU is the client
process's own (``time.process_time``), per item.

    python benchmarks/bench_bulk.py [--items 300] [--size 4096] [--rounds 5] [--latency 0.02]
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import os
import re
import statistics
import time
from collections.abc import Awaitable, Callable
from urllib.parse import quote

import httpx
from _server import emulator_process

from cincopa_async import AsyncCincopa
from cincopa_async._aiohttp import AiohttpTransport
from cincopa_async.testing import CincopaEmulator

CONCURRENCY = 32
_RID = re.compile(r"new resource id (\d+) (\S+)")

Files = list[tuple[str, bytes]]


def make_files(items: int, size: int, tag: str) -> Files:
    return [(f"bench-{tag}-{index:05d}.bin", os.urandom(size)) for index in range(items)]


def requests_per_item() -> dict[str, float]:
    """Requests per file of one SDK bulk upload, counted by an in-process emulator."""
    files = make_files(8, 4096, "count")

    async def run() -> dict[str, float]:
        async with CincopaEmulator(seed=1) as emu, emu.client() as cp:
            result = await cp.bulk.upload_files(files, concurrency=CONCURRENCY)
            assert result.ok, result.failed
            counts = collections.Counter(
                f"{r.operation} {_flavour(r.operation, r.params)}".strip() for r in emu.requests
            )
        return {name: count / len(files) for name, count in counts.items()}

    return asyncio.run(run())


def _flavour(operation: str | None, params: dict[str, str]) -> str:
    if operation == "asset.list":
        return next((f"{key}=" for key in ("reference_id", "search", "rid") if key in params), "")
    return ""


async def sdk(base_url: str, token: str, files: Files) -> None:
    async with AsyncCincopa(token, base_url=base_url, max_concurrency=CONCURRENCY) as cp:
        result = await cp.bulk.upload_files(files, concurrency=CONCURRENCY)
    assert result.ok, result.failed[:3]


async def naive(
    base_url: str, token: str, files: Files, bounded: bool, aiohttp: bool = False
) -> None:
    limits = httpx.Limits(max_connections=CONCURRENCY) if bounded else httpx.Limits()
    semaphore = asyncio.Semaphore(CONCURRENCY if bounded else len(files))
    transport = AiohttpTransport(limits=limits) if aiohttp else None
    async with httpx.AsyncClient(limits=limits, timeout=60, transport=transport) as http:

        async def one(name: str, data: bytes) -> str:
            async with semaphore:
                reply = await http.get(
                    f"{base_url}asset.get_upload_url.json", params={"api_token": token}
                )
                upload_url = reply.raise_for_status().json()["upload_url"]
                posted = await http.post(
                    upload_url,
                    content=data,
                    headers={
                        "X-File-Name": quote(name),
                        "Content-Range": f"bytes 0-{len(data)}/{len(data)}",
                        "unique-id": os.urandom(16).hex(),
                        "Content-Type": "application/octet-stream",
                    },
                )
                match = _RID.search(posted.raise_for_status().text)
                assert match is not None, posted.text
                rid = match.group(2)
                meta = await http.post(
                    f"{base_url}asset.set_meta.json",
                    params={"api_token": token, "rid": rid, "reference_id": f"ref-{name}"},
                )
                assert meta.raise_for_status().json()["success"], meta.text
                return rid

        await asyncio.gather(*(one(name, data) for name, data in files))


async def naive_bounded(base_url: str, token: str, files: Files) -> None:
    await naive(base_url, token, files, bounded=True)


async def naive_unbounded(base_url: str, token: str, files: Files) -> None:
    await naive(base_url, token, files, bounded=False)


async def naive_aiohttp(base_url: str, token: str, files: Files) -> None:
    await naive(base_url, token, files, bounded=True, aiohttp=True)


VARIANTS: dict[str, Callable[[str, str, Files], Awaitable[None]]] = {
    "(a) SDK cp.bulk.upload_files, 32": sdk,
    "(b) naive gather + Semaphore(32)": naive_bounded,
    "(c) naive gather, no limiter": naive_unbounded,
    "(d) naive as (b), aiohttp transport": naive_aiohttp,
}


def measure(func: Callable[[str, str, Files], Awaitable[None]], files: Files, latency: float):
    with emulator_process(latency=latency) as (base_url, token):
        cpu, start = time.process_time(), time.perf_counter()
        asyncio.run(func(base_url, token, files))
        return time.perf_counter() - start, time.process_time() - cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=300)
    parser.add_argument("--size", type=int, default=4096, help="bytes per file")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--latency", type=float, default=0.02, help="seconds per request")
    args = parser.parse_args()

    per_item = requests_per_item()
    sdk_requests = sum(per_item.values())
    print("requests per item of the SDK's bulk upload (in-process emulator, 8 files):")
    for name, count in sorted(per_item.items()):
        print(f"  {count:4.1f}  {name}")
    print(f"  {sdk_requests:4.1f}  in all (naive: 3)")

    times: dict[str, list[float]] = {name: [] for name in VARIANTS}
    cpus: dict[str, list[float]] = {name: [] for name in VARIANTS}
    for round_number in range(args.rounds):
        files = make_files(args.items, args.size, f"r{round_number}")
        for name, func in VARIANTS.items():
            wall, cpu = measure(func, files, args.latency)
            times[name].append(wall)
            cpus[name].append(cpu)

    ideal_sdk = args.items * sdk_requests * args.latency / CONCURRENCY
    ideal_naive = args.items * 3 * args.latency / CONCURRENCY
    print()
    print(
        f"{args.items} files of {args.size} B, {args.latency * 1000:.0f} ms per request, "
        f"{CONCURRENCY} in flight; median of {args.rounds} rounds (min-max)"
    )
    print(f"{'variant':<36} {'items/s':>9} {'ms/item':>8} {'CPU ms/item':>11}   wall s (min-max)")
    rate = {}
    for name, samples in times.items():
        wall = statistics.median(samples)
        rate[name] = args.items / wall
        print(
            f"{name:<36} {rate[name]:>9.1f} {wall / args.items * 1000:>8.2f}"
            f" {statistics.median(cpus[name]) / args.items * 1000:>11.2f}"
            f"   {wall:.3f} ({min(samples):.3f}-{max(samples):.3f})"
        )
    print(
        f"{'ideal, SDK requests/item':<36} {args.items / ideal_sdk:>9.1f} "
        f"{ideal_sdk / args.items * 1000:>8.2f} {'-':>11}   "
        f"{sdk_requests:.0f} x latency / {CONCURRENCY}"
    )
    print(
        f"{'ideal, naive requests/item':<36} {args.items / ideal_naive:>9.1f} "
        f"{ideal_naive / args.items * 1000:>8.2f} {'-':>11}   3 x latency / {CONCURRENCY}"
    )
    a, b, c, d = VARIANTS
    print()
    sdk_vs_ideal = rate[a] * ideal_sdk / args.items
    print(f"SDK / ideal (SDK's own {sdk_requests:.0f} requests/item):    {sdk_vs_ideal:.2f}")
    print(f"SDK / naive with Semaphore(32), items/s: {rate[a] / rate[b]:.2f}")
    print(f"SDK / naive with no limiter, items/s:    {rate[a] / rate[c]:.2f}")
    print(
        f"SDK / naive with Semaphore(32), requests/s: {rate[a] * sdk_requests / (rate[b] * 3):.2f}"
    )
    print(f"SDK / naive (d) on aiohttp, items/s:     {rate[a] / rate[d]:.2f}")
    print(f"SDK / naive (d) on aiohttp, requests/s:  {rate[a] * sdk_requests / (rate[d] * 3):.2f}")
    for name in (b, c, d):
        print(f"naive {name[:3]} / its ideal: {rate[name] * ideal_naive / args.items:.2f}")


if __name__ == "__main__":
    main()
