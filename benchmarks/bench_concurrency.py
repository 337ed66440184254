"""Calls/s and client CPU per call at 1, 8 and 32 calls in flight, side by side in one run.

Against the emulator on loopback (a separate process), ``ping`` calls, for:

  (a) the SDK with its default transport (aiohttp under asyncio)
  (b) the SDK on httpx's default transport (httpcore)
  (c) raw httpx on the fastest transport (the SDK's aiohttp transport, no SDK)
  (d) raw aiohttp
  (e) the SDK under trio (httpcore: aiohttp cannot run on trio)

Each cell is the median of several rounds, the configurations interleaved within each round so
that machine noise hits them alike. CPU is the client process's own (``time.process_time``).

    python benchmarks/bench_concurrency.py [--calls 2000] [--rounds 5]
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Awaitable, Callable

import aiohttp
import anyio
import httpx
from _server import emulator_process

from cincopa_async import AsyncCincopa
from cincopa_async._aiohttp import AiohttpTransport

CONCURRENCY = (1, 8, 32)


async def drive(call: Callable[[], Awaitable[object]], calls: int, in_flight: int) -> None:
    remaining = calls

    async def worker() -> None:
        nonlocal remaining
        while remaining > 0:
            remaining -= 1
            await call()

    async with anyio.create_task_group() as tg:
        for _ in range(in_flight):
            tg.start_soon(worker)


async def sdk(base_url: str, token: str, calls: int, in_flight: int, **kw: object) -> None:
    async with AsyncCincopa(token, base_url=base_url, max_concurrency=64, **kw) as cp:  # type: ignore[arg-type]  # kw: transport=
        await cp.ping()  # warm the pool
        await drive(cp.ping, calls, in_flight)


async def sdk_httpcore(base_url: str, token: str, calls: int, in_flight: int) -> None:
    transport = httpx.AsyncHTTPTransport(limits=httpx.Limits(max_connections=64))
    await sdk(base_url, token, calls, in_flight, transport=transport)


async def raw_httpx(base_url: str, token: str, calls: int, in_flight: int) -> None:
    limits = httpx.Limits(max_connections=64)
    async with httpx.AsyncClient(transport=AiohttpTransport(limits=limits)) as http:
        url = f"{base_url}ping.json"

        async def call() -> None:
            (await http.get(url, params={"api_token": token})).json()

        await call()
        await drive(call, calls, in_flight)


async def raw_aiohttp(base_url: str, token: str, calls: int, in_flight: int) -> None:
    connector = aiohttp.TCPConnector(limit=64)
    async with aiohttp.ClientSession(connector=connector) as session:
        url = f"{base_url}ping.json"

        async def call() -> None:
            async with session.get(url, params={"api_token": token}) as response:
                await response.json()

        await call()
        await drive(call, calls, in_flight)


CONFIGS: dict[str, tuple[Callable[..., Awaitable[None]], str]] = {
    "(a) SDK default (asyncio: aiohttp)": (sdk, "asyncio"),
    "(b) SDK on httpx default transport": (sdk_httpcore, "asyncio"),
    "(c) raw httpx on aiohttp transport": (raw_httpx, "asyncio"),
    "(d) raw aiohttp": (raw_aiohttp, "asyncio"),
    "(e) SDK default under trio": (sdk, "trio"),
}


def measure(
    name: str, base_url: str, token: str, calls: int, in_flight: int
) -> tuple[float, float]:
    func, backend = CONFIGS[name]
    cpu0, wall0 = time.process_time(), time.perf_counter()
    anyio.run(func, base_url, token, calls, in_flight, backend=backend)
    cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
    return calls / wall, cpu / calls * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    results: dict[tuple[str, int], list[tuple[float, float]]] = {}
    with emulator_process() as (base_url, token):
        for _ in range(args.rounds):
            for in_flight in CONCURRENCY:
                for name in CONFIGS:
                    cell = measure(name, base_url, token, args.calls, in_flight)
                    results.setdefault((name, in_flight), []).append(cell)
    med = {
        key: (statistics.median(r for r, _ in cells), statistics.median(c for _, c in cells))
        for key, cells in results.items()
    }
    print(
        f"ping against the emulator on loopback; {args.calls} calls per cell, "
        f"median of {args.rounds} rounds"
    )
    header = "".join(f" | {c:>3} in flight: calls/s, CPU us/call" for c in CONCURRENCY)
    print(f"{'client':<38}{header}")
    for name in CONFIGS:
        row = "".join(
            f" | {med[name, c][0]:>14,.0f} {med[name, c][1]:>17,.0f}" for c in CONCURRENCY
        )
        print(f"{name:<38}{row}")
    a, b, c = (next(n for n in CONFIGS if n.startswith(p)) for p in ("(a)", "(b)", "(c)"))
    print()
    print(
        f"at 32 in flight: SDK default / SDK on httpx default, throughput: "
        f"{med[a, 32][0] / med[b, 32][0]:.2f}x  (goal >= 5x)"
    )
    print(
        f"at 32 in flight: SDK default / raw httpx on the same transport, CPU per call: "
        f"{med[a, 32][1] / med[c, 32][1]:.2f}x  (goal <= 1.25x)"
    )
    print(
        f"SDK default throughput 32 vs 1 in flight: {med[a, 32][0] / med[a, 1][0]:.2f}x "
        f"(goal >= 1.0x)"
    )


if __name__ == "__main__":
    main()
