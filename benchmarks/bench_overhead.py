"""Per-call overhead of the SDK's request path against a bare httpx.AsyncClient.

Both sides make the same request (``GET ping.json?api_token=...``) through the same
``httpx.MockTransport`` (no network), sequentially, so the difference is what ``_call`` adds:
argument validation, the limiter, retry bookkeeping, bounded body reading, JSON decoding and
cattrs structuring. The raw side decodes the JSON too. Prints the median time per call of
several rounds, and the ratio SDK / raw.

    python benchmarks/bench_overhead.py [--calls 2000] [--rounds 7]
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

import anyio
import httpx

from cincopa_async import AsyncCincopa

TOKEN = "1234567iexampletokenabcdefghijklmn"
PING = json.loads(
    (Path(__file__).parents[1] / "tests" / "fixtures" / "replies" / "ping.json").read_text()
)
BODY = json.dumps(PING).encode()


def transport() -> httpx.MockTransport:
    return httpx.MockTransport(
        lambda request: httpx.Response(
            200, content=BODY, headers={"content-type": "application/json"}
        )
    )


async def raw_round(calls: int) -> float:
    async with httpx.AsyncClient(transport=transport()) as http:
        url = "https://api.cincopa.com/v2/ping.json"
        start = time.perf_counter()
        for _ in range(calls):
            response = await http.get(url, params={"api_token": TOKEN})
            response.json()
        return (time.perf_counter() - start) / calls


async def sdk_round(calls: int) -> float:
    async with AsyncCincopa(TOKEN, transport=transport()) as cp:
        start = time.perf_counter()
        for _ in range(calls):
            await cp.ping()
        return (time.perf_counter() - start) / calls


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()
    raw: list[float] = []
    sdk: list[float] = []
    for _ in range(args.rounds):  # interleaved, so machine noise hits both sides alike
        raw.append(anyio.run(raw_round, args.calls))
        sdk.append(anyio.run(sdk_round, args.calls))
    raw_us = statistics.median(raw) * 1e6
    sdk_us = statistics.median(sdk) * 1e6
    ratios = [s / r for s, r in zip(sdk, raw, strict=True)]
    print(f"per-call time, median of {args.rounds} rounds x {args.calls} sequential calls")
    print(f"  raw httpx (MockTransport) : {raw_us:8.1f} us")
    print(f"  AsyncCincopa.ping()       : {sdk_us:8.1f} us")
    print(
        f"  ratio SDK / raw           : {sdk_us / raw_us:8.2f}x  (median of per-round ratios "
        f"{statistics.median(ratios):.2f}x)"
    )
    print(f"  SDK overhead per call     : {sdk_us - raw_us:8.1f} us")


if __name__ == "__main__":
    main()
