"""Per-call overhead of the SDK's default path (asyncio: aiohttp) against raw aiohttp.

Sequential ``ping`` calls (one in flight, so nothing hides behind concurrency) against the raw
ping server of ``_raw_ping_server.py`` in its own process, for:

  (a) ``await cp.ping()``: the SDK as users get it (its aiohttp route): argument validation,
      the limiter, retry bookkeeping, the attempt's deadline, bounded body reading, JSON
      decoding, cattrs structuring into ``Ping``
  (b) raw aiohttp: ``session.get(url, params=...)``, the body read and ``json.loads``-ed
  (c) plain httpx: ``AsyncClient().get(url, params=...)`` and ``.json()``
  (d) ``await cp.ping()`` with the aiohttp transport replaced by a stub that hands back the
      same reply from memory (no socket, no aiohttp): the SDK's own code per call
  (e) the stub alone, with the reply's ``json.loads``: what (d) costs that is not the SDK's

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
from pathlib import Path
from typing import Any

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


REPLY = json.dumps(
    json.loads((Path(__file__).parents[1] / "tests/fixtures/replies/ping.json").read_text())
).encode()


class _StubReply:
    """What the SDK reads of a reply (``_aiohttp.Reply``), from memory."""

    __slots__ = ("headers", "reason_phrase", "status_code")
    is_stream_consumed = False

    def __init__(self) -> None:
        self.status_code, self.reason_phrase = 200, "OK"
        self.headers = {"content-length": str(len(REPLY))}

    async def aread(self) -> bytes:
        return REPLY


class _StubTransport:
    async def send(self, request: object, read: Callable[[Any], Awaitable[bytes]]) -> Any:
        reply = _StubReply()
        return reply, await read(reply)


async def sdk_stubbed(base_url: str, token: str, calls: int) -> Cell:
    async with AsyncCincopa(token, base_url=base_url) as cp:
        await cp.ping()  # the route chosen: aiohttp
        cp._shared.wire = (_StubTransport(), cp._shared.wire[1])  # type: ignore[assignment,index]  # bench-only stub
        return await timed(cp.ping, calls)


async def stub_alone(base_url: str, token: str, calls: int) -> Cell:
    stub = _StubTransport()

    async def read(reply: _StubReply) -> bytes:
        return await reply.aread()

    async def call() -> None:
        _, body = await stub.send(None, read)
        json.loads(body)

    return await timed(call, calls)


CLIENTS = {
    "(a) AsyncCincopa.ping(), default path": sdk,
    "(b) raw aiohttp": raw_aiohttp,
    "(c) plain httpx": raw_httpx,
    "(d) AsyncCincopa.ping(), stub transport": sdk_stubbed,
    "(e) the stub alone + json.loads": stub_alone,
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
    a, b, c, d, e = CLIENTS
    for index, what in ((0, "wall"), (1, "CPU")):
        ratios = [s[index] / r[index] for s, r in zip(results[a], results[b], strict=True)]
        extra = [s[index] - r[index] for s, r in zip(results[a], results[b], strict=True)]
        print(
            f"  SDK / raw aiohttp, {what} per call: {_range(ratios, '.2f')}x"
            f" (+{_range(extra, '.1f')} us)"
        )
    ratios = [s[0] / r[0] for s, r in zip(results[a], results[c], strict=True)]
    print(f"  SDK / plain httpx, wall per call: {_range(ratios, '.2f')}x")
    own = [s[1] - r[1] for s, r in zip(results[d], results[e], strict=True)]
    print(f"  the SDK's own code per call, (d) - (e), CPU: {_range(own, '.1f')} us")


if __name__ == "__main__":
    main()
