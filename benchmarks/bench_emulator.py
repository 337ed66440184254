"""Throughput of the Cincopa emulator.

1. App cost: the emulator's ASGI app called directly (no HTTP at all), ``ping`` per call.
2. Loopback throughput: ``emu.serve()`` (uvicorn with httptools, on its own thread, sharing this
   process's GIL with the client) hammered with ``ping`` by a raw aiohttp client at concurrency
   32, several rounds; prints the median calls/s.

    .venv/bin/python benchmarks/bench_emulator.py [--calls 4000] [--rounds 5] [--concurrency 32]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import aiohttp

from cincopa_async.testing import CincopaEmulator


async def app_cost(emu: CincopaEmulator, token: str, calls: int) -> float:
    """Mean microseconds of emulator time per ``ping`` (direct ASGI call)."""
    scope: dict[str, Any] = {
        "type": "http",
        "method": "GET",
        "path": "/v2/ping.json",
        "query_string": f"api_token={token}".encode(),
        "headers": [(b"host", b"127.0.0.1:1")],
        "scheme": "http",
        "client": ("127.0.0.1", 1),
        "server": ("127.0.0.1", 1),
    }

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: Any) -> None:
        return None

    for _ in range(200):
        await emu.app(scope, receive, send)
    started = time.perf_counter()
    for _ in range(calls):
        await emu.app(scope, receive, send)
    return (time.perf_counter() - started) / calls * 1e6


async def loopback_round(url: str, calls: int, concurrency: int) -> float:
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector) as session:
        remaining = calls

        async def worker() -> None:
            nonlocal remaining
            while remaining > 0:
                remaining -= 1
                async with session.get(url) as response:
                    await response.read()
                    assert response.status == 200

        async def warm() -> None:
            async with session.get(url) as response:
                await response.read()

        await asyncio.gather(*(warm() for _ in range(concurrency)))
        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        return calls / (time.perf_counter() - started)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=4000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--concurrency", type=int, default=32)
    args = parser.parse_args()

    emu = CincopaEmulator(seed=0)
    token = emu.create_token()
    micros = await app_cost(emu, token, 20000)
    print(f"emulator app cost per ping (direct ASGI call): {micros:.1f} us")
    emu.requests.clear()

    async with emu.serve() as base_url:
        url = f"{base_url}ping.json?api_token={token}"
        rates = []
        for number in range(1, args.rounds + 1):
            rate = await loopback_round(url, args.calls, args.concurrency)
            rates.append(rate)
            print(f"round {number}: {rate:,.0f} calls/s")
            emu.requests.clear()
    print(
        f"median over {args.rounds} rounds of {args.calls} pings at concurrency "
        f"{args.concurrency} (aiohttp -> emu.serve loopback): "
        f"{statistics.median(rates):,.0f} calls/s"
    )


if __name__ == "__main__":
    asyncio.run(main())
