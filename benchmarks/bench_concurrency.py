"""Calls/s and client CPU per call at 1, 32, 128 and 512 calls in flight, against fair baselines.

``ping`` calls against a server in its own process: by default the raw server of
``_raw_ping_server.py`` (a fixed reply, as cheap per request as a server gets, so the figures
are the client's), or the emulator with ``--server emulator``. Clients, each with its
connection limit raised to the concurrency of the cell:

  (a) the SDK, default (asyncio: its aiohttp route), ``max_concurrency`` = in flight
  (b) raw aiohttp: one ``ClientSession``, ``TCPConnector(limit=in flight)``,
      ``session.get(url, params=...)``, the body read and ``json.loads``-ed
  (c) plain httpx on asyncio: ``httpx.AsyncClient(limits=...)``, ``get(url, params=...)``,
      ``.json()``
  (d) the SDK under trio (httpx's own transports, one per connection: aiohttp cannot run on
      trio)
  (e) plain httpx under trio, as (c)
  (f) only with ``--clients``: the SDK under trio on a single httpx transport (one httpcore
      pool for every connection), as it was before its pool was sharded (``_shards``)
  (g) the SDK with its default ``max_concurrency`` (32) whatever the calls in flight: what a
      user who does not raise the limit gets (calls past 32 wait for the limiter)
  (h) raw aiohttp as (b) with the SDK's timeouts (``ClientTimeout`` from the SDK's default
      ``httpx.Timeout``: the attempt's deadline as ``total``, and ``sock_read``, re-armed on
      every read): how much of (a)'s cost is the timeouts alone

Every cell opens its connections first (one warm-up call per slot, all at once), then times
``--calls`` calls (``--slow-calls`` for the clients on httpx's own transport, which are 5-20x
slower; at least one per slot). Each figure is the median of ``--rounds`` rounds, the clients
interleaved within each round so that machine noise hits them alike, with the range (min-max)
beside it; each ratio is the median of the per-round ratios of two clients measured in the same
round.
CPU is the client process's own (``time.process_time``).

    python benchmarks/bench_concurrency.py [--calls 4000] [--slow-calls 1000] [--rounds 5]
        [--server raw|emulator] [--concurrency 1,32,128,512]
        [--clients sdk,aiohttp,httpx,sdk-trio,httpx-trio,sdk-trio-one-pool,sdk-limit-32,
                   aiohttp-sdk-timeouts]
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
from _server import emulator_process

from cincopa_async import AsyncCincopa

Call = Callable[[], Awaitable[object]]
Cell = tuple[float, float]  # calls/s, client CPU us per call


async def drive(call: Call, calls: int, in_flight: int) -> None:
    remaining = calls

    async def worker() -> None:
        nonlocal remaining
        while remaining > 0:
            remaining -= 1
            await call()

    async with anyio.create_task_group() as tg:
        for _ in range(in_flight):
            tg.start_soon(worker)


async def timed(call: Call, calls: int, in_flight: int) -> Cell:
    await drive(call, in_flight, in_flight)  # every connection of the pool open
    cpu0, wall0 = time.process_time(), time.perf_counter()
    await drive(call, calls, in_flight)
    cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
    return calls / wall, cpu / calls * 1e6


async def sdk(base_url: str, token: str, calls: int, in_flight: int) -> Cell:
    async with AsyncCincopa(token, base_url=base_url, max_concurrency=in_flight) as cp:
        return await timed(cp.ping, calls, in_flight)


async def raw_aiohttp(base_url: str, token: str, calls: int, in_flight: int) -> Cell:
    connector = aiohttp.TCPConnector(limit=in_flight)
    async with aiohttp.ClientSession(connector=connector) as session:
        url = f"{base_url}ping.json"

        async def call() -> None:
            async with session.get(url, params={"api_token": token}) as response:
                json.loads(await response.read())

        return await timed(call, calls, in_flight)


async def sdk_default_limit(base_url: str, token: str, calls: int, in_flight: int) -> Cell:
    async with AsyncCincopa(token, base_url=base_url) as cp:
        return await timed(cp.ping, calls, in_flight)


async def raw_aiohttp_sdk_timeouts(base_url: str, token: str, calls: int, in_flight: int) -> Cell:
    from cincopa_async._aiohttp import client_timeout
    from cincopa_async._client import DEFAULT_TIMEOUT, _total

    timeout = client_timeout(DEFAULT_TIMEOUT, _total(DEFAULT_TIMEOUT))
    connector = aiohttp.TCPConnector(limit=in_flight)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
        url = f"{base_url}ping.json"

        async def call() -> None:
            async with session.get(url, params={"api_token": token}) as response:
                json.loads(await response.read())

        return await timed(call, calls, in_flight)


async def raw_httpx(base_url: str, token: str, calls: int, in_flight: int) -> Cell:
    limits = httpx.Limits(max_connections=in_flight, max_keepalive_connections=in_flight)
    async with httpx.AsyncClient(limits=limits) as http:
        url = f"{base_url}ping.json"

        async def call() -> None:
            (await http.get(url, params={"api_token": token})).json()

        return await timed(call, calls, in_flight)


async def sdk_one_pool(base_url: str, token: str, calls: int, in_flight: int) -> Cell:
    """The SDK under trio on a single httpx transport (one httpcore pool), as before shards."""
    from unittest import mock

    from cincopa_async import _shards

    def one_pool(limits: httpx.Limits) -> httpx.AsyncHTTPTransport:
        return httpx.AsyncHTTPTransport(limits=limits)

    with mock.patch.object(_shards, "ShardedTransport", one_pool):  # the route's transport
        return await sdk(base_url, token, calls, in_flight)


# name: (label, client, backend, runs on httpx's own transport: slower, so it gets --slow-calls)
CONFIGS: dict[str, tuple[str, Callable[..., Awaitable[Cell]], str, bool]] = {
    "sdk": ("(a) SDK default (asyncio: aiohttp)", sdk, "asyncio", False),
    "aiohttp": ("(b) raw aiohttp", raw_aiohttp, "asyncio", False),
    "httpx": ("(c) plain httpx (asyncio)", raw_httpx, "asyncio", True),
    "sdk-trio": ("(d) SDK under trio (httpx transports)", sdk, "trio", True),
    "httpx-trio": ("(e) plain httpx under trio", raw_httpx, "trio", True),
    "sdk-trio-one-pool": ("(f) SDK under trio, one httpcore pool", sdk_one_pool, "trio", True),
    "sdk-limit-32": ("(g) SDK, default max_concurrency=32", sdk_default_limit, "asyncio", False),
    "aiohttp-sdk-timeouts": (
        "(h) raw aiohttp, the SDK's timeouts",
        raw_aiohttp_sdk_timeouts,
        "asyncio",
        False,
    ),
}
DEFAULT_CLIENTS = "sdk,aiohttp,httpx,sdk-trio,httpx-trio,sdk-limit-32,aiohttp-sdk-timeouts"


def measure(name: str, base_url: str, token: str, calls: int, in_flight: int) -> Cell:
    _, func, backend, _ = CONFIGS[name]
    return anyio.run(func, base_url, token, max(calls, in_flight), in_flight, backend=backend)


def _range(values: list[float], fmt: str) -> str:
    low, mid, high = (format(v, fmt) for v in (min(values), statistics.median(values), max(values)))
    return f"{mid} ({low}-{high})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=4000)
    parser.add_argument("--slow-calls", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--server", choices=("raw", "emulator"), default="raw")
    parser.add_argument("--concurrency", default="1,32,128,512")
    parser.add_argument(
        "--clients",
        default=DEFAULT_CLIENTS,
        help=f"which clients to run, comma-separated, of: {', '.join(CONFIGS)}",
    )
    args = parser.parse_args()
    levels = [int(level) for level in args.concurrency.split(",")]
    clients = [name.strip() for name in args.clients.split(",") if name.strip()]
    unknown = [name for name in clients if name not in CONFIGS]
    if unknown:
        parser.error(f"unknown clients {', '.join(unknown)}; choose from {', '.join(CONFIGS)}")
    results: dict[tuple[str, int], list[Cell]] = {}
    server = raw_ping_process() if args.server == "raw" else emulator_process()
    with server as (base_url, token):
        for _ in range(args.rounds):
            for in_flight in levels:
                for name in clients:
                    calls = args.slow_calls if CONFIGS[name][3] else args.calls
                    cell = measure(name, base_url, token, calls, in_flight)
                    results.setdefault((name, in_flight), []).append(cell)

    where = "the raw server" if args.server == "raw" else "the emulator"
    print(
        f"ping against {where} in its own process on loopback; {args.calls} calls per cell"
        f" ({args.slow_calls} on httpx's transport);"
        f" median (min-max) of {args.rounds} rounds"
    )
    for in_flight in levels:
        print(f"\n{in_flight} in flight{'':<32} calls/s{'':<16} client CPU us/call")
        for name in clients:
            cells = results[name, in_flight]
            rates = _range([r for r, _ in cells], ",.0f")
            cpus = _range([c for _, c in cells], ",.0f")
            print(f"  {CONFIGS[name][0]:<42} {rates:<22} {cpus}")

    def ratio(
        top: str, bottom: str, level: int, index: int, bottom_level: int | None = None
    ) -> str:
        tops = results[top, level]
        bottoms = results[bottom, bottom_level or level]
        per_round = [t[index] / b[index] for t, b in zip(tops, bottoms, strict=True)]
        return _range(per_round, ".2f")

    def ran(*names: str) -> bool:
        return all(name in clients for name in names)

    print("\nratios (median (min-max) of per-round ratios):")
    if 32 in levels and ran("sdk", "aiohttp"):
        print(
            "  32 in flight, SDK / raw aiohttp, throughput:"
            f" {ratio('sdk', 'aiohttp', 32, 0)}x (goal >= 0.8x)"
        )
        print(
            "  32 in flight, SDK / raw aiohttp, CPU per call:"
            f" {ratio('sdk', 'aiohttp', 32, 1)}x (goal <= 1.3x)"
        )
    if 32 in levels and ran("sdk", "aiohttp-sdk-timeouts"):
        print(
            "  32 in flight, raw aiohttp with the SDK's timeouts / raw aiohttp, CPU per call:"
            f" {ratio('aiohttp-sdk-timeouts', 'aiohttp', 32, 1)}x;"
            f" SDK / it: {ratio('sdk', 'aiohttp-sdk-timeouts', 32, 1)}x"
        )
    if 32 in levels and ran("sdk", "httpx"):
        print(f"  32 in flight, SDK / plain httpx, throughput: {ratio('sdk', 'httpx', 32, 0)}x")
    if 32 in levels and ran("sdk"):
        for level in levels:
            if level > 32:
                line = (
                    f"  SDK at {level} / SDK at 32, throughput:"
                    f" {ratio('sdk', 'sdk', level, 0, 32)}x (goal >= 0.9x)"
                )
                if ran("aiohttp"):
                    line += f"; raw aiohttp: {ratio('aiohttp', 'aiohttp', level, 0, 32)}x"
                print(line)
                if ran("sdk-limit-32"):
                    print(
                        f"  SDK with max_concurrency=32, {level} calls in flight / SDK at 32:"
                        f" {ratio('sdk-limit-32', 'sdk', level, 0, 32)}x;"
                        " / itself at 32 calls in flight:"
                        f" {ratio('sdk-limit-32', 'sdk-limit-32', level, 0, 32)}x"
                    )
    for level in levels:
        if ran("sdk-trio", "httpx-trio"):
            print(
                f"  trio, {level} in flight, SDK / plain httpx, throughput:"
                f" {ratio('sdk-trio', 'httpx-trio', level, 0)}x (goal >= 1.0x);"
                f" CPU per call: {ratio('sdk-trio', 'httpx-trio', level, 1)}x"
            )
        if ran("sdk-trio-one-pool", "httpx-trio"):
            print(
                f"  trio, {level} in flight, SDK on one pool / plain httpx, throughput:"
                f" {ratio('sdk-trio-one-pool', 'httpx-trio', level, 0)}x"
            )
        if ran("sdk-trio", "sdk-trio-one-pool"):
            print(
                f"  trio, {level} in flight, SDK on shards / on one pool, throughput:"
                f" {ratio('sdk-trio', 'sdk-trio-one-pool', level, 0)}x"
            )


if __name__ == "__main__":
    main()
