"""A sync spread over a Dask cluster: 1 worker and 2 workers, against one process alone.

The same tree of ``--files`` small files is synced into the raw server of
``_raw_bulk_server.py`` (in its own process, ``--latency`` per reply) three ways, each with a
fresh ledger and a fresh server:

  (a) one process: ``sync_directory`` on one ``AsyncCincopa`` (what ``cincopa sync`` runs);
  (b) ``sync_on_dask`` on a ``LocalCluster`` of 1 worker process (2 threads);
  (c) the same on 2 worker processes.

On this 2-core machine the workers, the driver and the server share the cores, so (c) over (b)
shows what a second worker costs or gains *here*; it says nothing of a fleet, where each worker
brings its own cores and uplink. What the Dask runs prove is in the tests (a worker killed
mid-job, tests/integrations/test_kill.py); this measures what spreading costs per file.

    python benchmarks/bench_dask.py [--files 2000] [--size 512] [--rounds 3] [--latency 0.02]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from pathlib import Path

from _raw_bulk_server import raw_bulk_process, requests_served
from bench_sync import make_tree
from distributed import Client, LocalCluster

from cincopa_async import AsyncCincopa, Ledger
from cincopa_async._sync import register, sync_directory, walk
from cincopa_async.dask import sync_on_dask

CONCURRENCY = 32


async def one_process(source: Path, ledger_path: Path, base_url: str, token: str) -> None:
    async with (
        AsyncCincopa(token, base_url=base_url, max_concurrency=CONCURRENCY) as cp,
        Ledger(ledger_path) as ledger,
    ):
        totals = await register(ledger, walk(source, skip=ledger.path))
        result = await sync_directory(cp, source, ledger, concurrency=CONCURRENCY, totals=totals)
    assert result.ok, result.failed[:3]


async def on_dask(
    workers: int, source: Path, ledger_path: Path, base_url: str, token: str
) -> float:
    """The sync's seconds on a fresh cluster (its start-up not counted)."""
    async with (
        LocalCluster(
            n_workers=workers,
            threads_per_worker=2,
            processes=True,
            dashboard_address=None,
            asynchronous=True,
        ) as cluster,
        Client(cluster, asynchronous=True) as dask,
        Ledger(ledger_path) as ledger,
    ):
        await dask.wait_for_workers(workers)
        await register(ledger, walk(source, skip=ledger.path))
        start = time.perf_counter()
        done, failed = await sync_on_dask(
            dask, source, ledger, api_token=token, base_url=base_url, max_concurrency=CONCURRENCY
        )
        seconds = time.perf_counter() - start
    assert failed == 0, failed
    assert done > 0
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=2000)
    parser.add_argument("--size", type=int, default=512, help="bytes per file")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--latency", type=float, default=0.02, help="seconds per request")
    args = parser.parse_args()

    seconds: dict[str, list[float]] = {"(a) one process": [], "(b) 1 Dask worker": []}
    seconds["(c) 2 Dask workers"] = []
    requests: dict[str, list[int]] = {name: [] for name in seconds}
    for _ in range(args.rounds):
        with tempfile.TemporaryDirectory() as tmp:
            root = Path(tmp)
            source = root / "library"
            make_tree(source, args.files, args.size)
            for name in seconds:
                ledger = root / f"{name[1]}.sqlite"
                with raw_bulk_process(args.latency) as (base_url, token):
                    if name.startswith("(a)"):
                        start = time.perf_counter()
                        asyncio.run(one_process(source, ledger, base_url, token))
                        seconds[name].append(time.perf_counter() - start)
                    else:
                        workers = 1 if name.startswith("(b)") else 2
                        seconds[name].append(
                            asyncio.run(on_dask(workers, source, ledger, base_url, token))
                        )
                    requests[name].append(requests_served(base_url))

    ideal = args.files * 3 * args.latency / CONCURRENCY
    print(
        f"sync of {args.files:,} files of {args.size} B, {args.latency * 1000:.0f} ms per request,"
        f" {CONCURRENCY} in flight per client; median of {args.rounds} rounds"
    )
    print(f"{'variant':<22} {'seconds':>8} {'files/s':>8} {'req/file':>9} {'vs (a)':>7}")
    alone = statistics.median(seconds["(a) one process"])
    for name, samples in seconds.items():
        median = statistics.median(samples)
        per_file = statistics.median(requests[name]) / args.files
        print(
            f"{name:<22} {median:>8.2f} {args.files / median:>8.0f} {per_file:>9.2f}"
            f" {alone / median:>7.2f}"
        )
    print(f"{'ideal, one client':<22} {ideal:>8.2f} {args.files / ideal:>8.0f} {3:>9.2f}")


if __name__ == "__main__":
    main()
