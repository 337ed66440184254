"""Bulk throughput and memory: the SDK's bulk engine against a hand-written aiohttp loop.

**Throughput.** Against a raw server in its own process (``_raw_bulk_server.py``: every reply
``--latency`` seconds late, 20 ms by default, no state), with 32 requests in flight:

  (a) ``cp.bulk.upload_files(files, ledger=..., new_job=True)``: small ``(name, bytes)`` files,
      all new, on a client with ``max_concurrency=32`` -- the documented way to run the first
      run of a bulk upload (without ``new_job``, a new ledger looks every file up, as (c) does);
  (b) the baseline: what a careful user writes by hand -- one ``aiohttp.ClientSession`` with a
      connector of 32, an ``asyncio.Semaphore(32)`` around each item, and the same 3 requests
      per file the SDK sends (``asset.get_upload_url``, the raw-body POST to the upload host in
      the SDK's framing, ``asset.set_meta(rid, reference_id)``), no error handling;
  (c) ``cp.bulk.upload_files(files)`` without a ledger: every file first looks its reference up
      (4 requests; nothing can tell a fresh run from a rerun);
  (d) ``cp.bulk.set_meta(updates)`` (1 request per item), and (e) its hand-written aiohttp loop.

The requests per item are counted first, on an in-process emulator. The ideal is ``requests x
latency / 32`` per item. Each measurement gets a fresh server process; the variants are
interleaved within each round; medians of ``--rounds``, and the ratios of those medians.

**Memory.** Retained memory per item of a job run the documented way for any size -- inputs
from a generator, outcomes consumed as they finish (``async with cp.bulk.stream.<op>(...)``),
a ledger -- measured with ``tracemalloc`` (Python allocations; SQLite's own page cache is
outside it, and bounded) after ``--memory-items`` (2,000 and 20,000) items of each kind, against
the raw server with no latency: what stays allocated after the job, and per item between the
two sizes.

    python benchmarks/bench_bulk.py [--items 2000] [--size 4096] [--rounds 5] [--latency 0.02]
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import gc
import os
import re
import statistics
import tempfile
import time
import tracemalloc
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import aiohttp
from _raw_bulk_server import raw_bulk_process

from cincopa_async import AsyncCincopa
from cincopa_async.testing import CincopaEmulator

CONCURRENCY = 32
_RID = re.compile(r"new resource id (\d+) (\S+)")

Files = list[tuple[str, bytes]]
Variant = Callable[[str, str, Files, Path], Awaitable[None]]


def make_files(items: int, size: int, tag: str) -> Files:
    return [(f"bench-{tag}-{index:06d}.bin", os.urandom(size)) for index in range(items)]


def requests_per_item() -> dict[str, dict[str, float]]:
    """Requests per item of each SDK variant, counted by an in-process emulator."""
    files = make_files(8, 4096, "count")

    async def count(run: Callable[[AsyncCincopa, Path], Awaitable[Any]]) -> dict[str, float]:
        with tempfile.TemporaryDirectory() as scratch:
            async with CincopaEmulator(seed=1) as emu, emu.client() as cp:
                await cp.bulk.upload_files(files[:1], reference_ids=lambda _: "warm-up")
                before = len(emu.requests)
                result = await run(cp, Path(scratch))
                assert result.ok, result.failed
                counts = collections.Counter(
                    f"{r.operation or 'upload host POST'} {_flavour(r.operation, r.params)}".strip()
                    for r in emu.requests[before:]
                )
        return {name: number / len(files) for name, number in sorted(counts.items())}

    async def all_counts() -> dict[str, dict[str, float]]:
        return {
            "(a) with a ledger": await count(
                lambda cp, scratch: cp.bulk.upload_files(
                    files, ledger=scratch / "job.sqlite", new_job=True
                )
            ),
            "(c) without a ledger": await count(lambda cp, scratch: cp.bulk.upload_files(files)),
        }

    return asyncio.run(all_counts())


def _flavour(operation: str | None, params: dict[str, str]) -> str:
    if operation == "asset.list":
        return next((f"{key}=" for key in ("reference_id", "search", "rid") if key in params), "")
    return ""


# -- the variants ---------------------------------------------------------------------------------


async def sdk_uploads(base_url: str, token: str, files: Files, scratch: Path) -> None:
    async with AsyncCincopa(token, base_url=base_url, max_concurrency=CONCURRENCY) as cp:
        result = await cp.bulk.upload_files(files, ledger=scratch / "job.sqlite", new_job=True)
    assert result.ok, result.failed[:3]


async def sdk_uploads_without_ledger(
    base_url: str, token: str, files: Files, scratch: Path
) -> None:
    async with AsyncCincopa(token, base_url=base_url, max_concurrency=CONCURRENCY) as cp:
        result = await cp.bulk.upload_files(files)
    assert result.ok, result.failed[:3]


async def raw_uploads(base_url: str, token: str, files: Files, scratch: Path) -> None:
    semaphore = asyncio.Semaphore(CONCURRENCY)
    connector = aiohttp.TCPConnector(limit=CONCURRENCY)
    async with aiohttp.ClientSession(connector=connector) as http:

        async def one(name: str, data: bytes) -> None:
            async with semaphore:
                async with http.get(
                    f"{base_url}asset.get_upload_url.json", params={"api_token": token}
                ) as reply:
                    upload_url = (await reply.json())["upload_url"]
                async with http.post(
                    upload_url,
                    data=data,
                    headers={
                        "X-File-Name": quote(name),
                        "Content-Range": f"bytes 0-{len(data)}/{len(data)}",  # end exclusive (S4)
                        "unique-id": os.urandom(16).hex(),
                        "Content-Type": "multipart/form-data",  # as Cincopa's uploader (S4)
                    },
                ) as reply:
                    match = _RID.search(await reply.text())
                assert match is not None
                async with http.post(
                    f"{base_url}asset.set_meta.json",
                    params={"api_token": token, "rid": match.group(2), "reference_id": name},
                ) as reply:
                    assert (await reply.json())["success"]

        await asyncio.gather(*(one(name, data) for name, data in files))


def _updates(files: Files) -> list[dict[str, str]]:
    return [{"rid": f"R{index:011d}", "caption": name} for index, (name, _) in enumerate(files)]


async def sdk_set_meta(base_url: str, token: str, files: Files, scratch: Path) -> None:
    async with AsyncCincopa(token, base_url=base_url, max_concurrency=CONCURRENCY) as cp:
        result = await cp.bulk.set_meta(_updates(files))
    assert result.ok, result.failed[:3]


async def raw_set_meta(base_url: str, token: str, files: Files, scratch: Path) -> None:
    semaphore = asyncio.Semaphore(CONCURRENCY)
    connector = aiohttp.TCPConnector(limit=CONCURRENCY)
    async with aiohttp.ClientSession(connector=connector) as http:

        async def one(update: dict[str, str]) -> None:
            async with (
                semaphore,
                http.post(
                    f"{base_url}asset.set_meta.json", params={"api_token": token, **update}
                ) as reply,
            ):
                assert (await reply.json())["success"]

        await asyncio.gather(*(one(update) for update in _updates(files)))


UPLOADS: dict[str, Variant] = {
    "(a) SDK upload_files, ledger": sdk_uploads,
    "(b) raw aiohttp + Semaphore(32)": raw_uploads,
    "(c) SDK upload_files, no ledger": sdk_uploads_without_ledger,
}
SET_META: dict[str, Variant] = {
    "(d) SDK set_meta": sdk_set_meta,
    "(e) raw aiohttp set_meta": raw_set_meta,
}


def measure(func: Variant, files: Files, latency: float) -> tuple[float, float]:
    with raw_bulk_process(latency) as (base_url, token), tempfile.TemporaryDirectory() as scratch:
        cpu, start = time.process_time(), time.perf_counter()
        asyncio.run(func(base_url, token, files, Path(scratch)))
        return time.perf_counter() - start, time.process_time() - cpu


def throughput(args: argparse.Namespace, requests: dict[str, float]) -> None:
    variants = {**UPLOADS, **SET_META}
    walls: dict[str, list[float]] = {name: [] for name in variants}
    cpus: dict[str, list[float]] = {name: [] for name in variants}
    for round_number in range(args.rounds):
        files = make_files(args.items, args.size, f"r{round_number}")
        for name, func in variants.items():
            wall, cpu = measure(func, files, args.latency)
            walls[name].append(wall)
            cpus[name].append(cpu)
    print(
        f"\n{args.items} items ({args.size} B files), {args.latency * 1000:.0f} ms per request,"
        f" {CONCURRENCY} in flight; median of {args.rounds} rounds"
    )
    print(f"{'variant':<34} {'req/item':>8} {'items/s':>9} {'vs ideal':>8} {'CPU ms/item':>11}")
    rate = {}
    for name in variants:
        rate[name] = args.items / statistics.median(walls[name])
        ideal = CONCURRENCY / (requests[name] * args.latency)
        cpu = statistics.median(cpus[name]) / args.items * 1000
        print(
            f"{name:<34} {requests[name]:>8.0f} {rate[name]:>9.1f} {rate[name] / ideal:>8.2f}"
            f" {cpu:>11.2f}   (wall {min(walls[name]):.2f}-{max(walls[name]):.2f} s)"
        )
    a, b, c = UPLOADS
    d, e = SET_META
    print(f"\nuploads, SDK with a ledger / raw aiohttp, items/s:    {rate[a] / rate[b]:.2f}")
    print(f"uploads, SDK without a ledger / raw aiohttp, items/s: {rate[c] / rate[b]:.2f}")
    print(f"set_meta, SDK / raw aiohttp, items/s:                 {rate[d] / rate[e]:.2f}")
    print(
        f"set_meta, SDK / ideal:                                "
        f"{rate[d] * args.latency / CONCURRENCY:.2f}"
    )


# -- memory ---------------------------------------------------------------------------------------


def _generated_files(items: int, size: int) -> Iterator[tuple[str, bytes]]:
    for index in range(items):
        yield f"mem-{index:07d}.bin", index.to_bytes(8, "big") * (size // 8)


def _generated_updates(items: int) -> Iterator[dict[str, str]]:
    for index in range(items):
        yield {"rid": f"R{index:011d}", "caption": f"caption {index}"}


async def _streamed(kind: str, items: int, base_url: str, token: str, scratch: Path) -> int:
    """Python memory still allocated after a streamed job of ``items`` (bytes)."""
    async with AsyncCincopa(token, base_url=base_url, max_concurrency=CONCURRENCY) as cp:
        if kind == "uploads":  # a first run loads every module and warms every cache
            await cp.bulk.upload_files(_generated_files(8, 64), ledger=scratch / "warm.sqlite")
        else:
            await cp.bulk.set_meta(_generated_updates(8), ledger=scratch / "warm.sqlite")
        gc.collect()
        tracemalloc.start()
        before = tracemalloc.get_traced_memory()[0]
        ledger = scratch / f"{kind}-{items}.sqlite"
        run = (
            cp.bulk.stream.upload_files(_generated_files(items, 1024), ledger=ledger)
            if kind == "uploads"
            else cp.bulk.stream.set_meta(_generated_updates(items), ledger=ledger)
        )
        failed = 0
        async with run as outcomes:
            async for outcome in outcomes:
                failed += not outcome.ok
        assert failed == 0
        del run, outcomes, outcome
        gc.collect()
        retained = tracemalloc.get_traced_memory()[0] - before
        tracemalloc.stop()
    return retained


def memory(sizes: list[int]) -> None:
    print(f"\nretained Python memory after a streamed job with a ledger (tracemalloc), {sizes}")
    for kind in ("uploads", "set_meta"):
        retained = {}
        for items in sizes:
            with raw_bulk_process() as (base_url, token), tempfile.TemporaryDirectory() as tmp:
                retained[items] = asyncio.run(_streamed(kind, items, base_url, token, Path(tmp)))
        small, large = min(sizes), max(sizes)
        per_item = (retained[large] - retained[small]) / (large - small)
        figures = ", ".join(f"{n:,} items: {retained[n] / 1024:.1f} KiB" for n in sizes)
        print(f"  {kind:<9} {figures}; per item between them: {per_item:.1f} B")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=2000)
    parser.add_argument("--size", type=int, default=4096, help="bytes per file")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--latency", type=float, default=0.02, help="seconds per request")
    parser.add_argument("--memory-items", default="2000,20000", help="'' to skip")
    args = parser.parse_args()

    counted = requests_per_item()
    print("requests per uploaded file (in-process emulator, 8 new files):")
    for variant, counts in counted.items():
        detail = ", ".join(f"{name} {count:g}" for name, count in counts.items())
        print(f"  {variant}: {sum(counts.values()):.0f} -- {detail}")
    requests = {
        "(a) SDK upload_files, ledger": sum(counted["(a) with a ledger"].values()),
        "(b) raw aiohttp + Semaphore(32)": 3.0,
        "(c) SDK upload_files, no ledger": sum(counted["(c) without a ledger"].values()),
        "(d) SDK set_meta": 1.0,
        "(e) raw aiohttp set_meta": 1.0,
    }
    throughput(args, requests)
    if args.memory_items:
        memory([int(n) for n in args.memory_items.split(",")])


if __name__ == "__main__":
    main()
