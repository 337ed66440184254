"""Per-call overhead of the SDK's default path (asyncio: aiohttp) against raw aiohttp.

Sequential ``ping`` calls (one in flight, so nothing hides behind concurrency) against the raw
ping server of ``_raw_ping_server.py`` in its own process, for:

  (a) ``await cp.ping()``: the SDK as users get it (its aiohttp route): argument validation,
      the limiter, retry bookkeeping, the attempt's deadline, bounded body reading, JSON
      decoding, cattrs structuring into ``Ping``
  (b) raw aiohttp: ``session.get(url, params=...)``, the body read and ``json.loads``-ed
  (c) plain httpx: ``AsyncClient().get(url, params=...)`` and ``.json()``

Per call: wall time and the client process's CPU time (``time.process_time``). Medians (min-max)
of ``--rounds`` rounds, interleaved; ratios are medians of per-round ratios.

    python benchmarks/bench_overhead.py [--calls 3000] [--rounds 7]
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from collections.abc import Awaitable, Callable

import aiohttp
import anyio
import httpx
from _raw_ping_server import raw_ping_process

from cincopa_async import AsyncCincopa

Cell = tuple[float, float]  # wall us, CPU us per call


async def timed(call: Callable[[], Awaitable[object]], calls: int) -> Cell:
    await call()  # the connection open, the lazy imports done
    cpu0, wall0 = time.process_time(), time.perf_counter()
    for _ in range(calls):
        await call()
    cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
    return wall / calls * 1e6, cpu / calls * 1e6


async def sdk(base_url: str, token: str, calls: int) -> Cell:
    async with AsyncCincopa(token, base_url=base_url) as cp:
        return await timed(cp.ping, calls)


async def raw_aiohttp(base_url: str, token: str, calls: int) -> Cell:
    async with aiohttp.ClientSession() as session:
        url = f"{base_url}ping.json"

        async def call() -> None:
            async with session.get(url, params={"api_token": token}) as response:
                json.loads(await response.read())

        return await timed(call, calls)


async def raw_httpx(base_url: str, token: str, calls: int) -> Cell:
    async with httpx.AsyncClient() as http:
        url = f"{base_url}ping.json"

        async def call() -> None:
            (await http.get(url, params={"api_token": token})).json()

        return await timed(call, calls)


CLIENTS = {
    "(a) AsyncCincopa.ping(), default path": sdk,
    "(b) raw aiohttp": raw_aiohttp,
    "(c) plain httpx": raw_httpx,
}


def _range(values: list[float], fmt: str) -> str:
    low, mid, high = (format(v, fmt) for v in (min(values), statistics.median(values), max(values)))
    return f"{mid} ({low}-{high})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=3000)
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()
    results: dict[str, list[Cell]] = {name: [] for name in CLIENTS}
    with raw_ping_process() as (base_url, token):
        for _ in range(args.rounds):
            for name, client in CLIENTS.items():
                results[name].append(anyio.run(client, base_url, token, args.calls))
    print(
        f"sequential ping calls against the raw server in its own process;"
        f" {args.calls} calls x {args.rounds} rounds; us per call, median (min-max)"
    )
    print(f"  {'client':<40} {'wall':<22} CPU")
    for name, cells in results.items():
        walls = _range([w for w, _ in cells], ".1f")
        cpus = _range([c for _, c in cells], ".1f")
        print(f"  {name:<40} {walls:<22} {cpus}")
    a, b, c = CLIENTS
    for index, what in ((0, "wall"), (1, "CPU")):
        ratios = [s[index] / r[index] for s, r in zip(results[a], results[b], strict=True)]
        extra = [s[index] - r[index] for s, r in zip(results[a], results[b], strict=True)]
        print(
            f"  SDK / raw aiohttp, {what} per call: {_range(ratios, '.2f')}x"
            f" (+{_range(extra, '.1f')} us)"
        )
    ratios = [s[0] / r[0] for s, r in zip(results[a], results[c], strict=True)]
    print(f"  SDK / plain httpx, wall per call: {_range(ratios, '.2f')}x")


if __name__ == "__main__":
    main()
