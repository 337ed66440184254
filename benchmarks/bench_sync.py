"""``cincopa sync`` of many small files: from scratch, then as a no-op rerun.

``cincopa sync SOURCE_DIR --ledger L --concurrency 32 --json --new-job`` (a first run: without
``--new-job`` a new ledger looks every file up, 2 requests more) runs as a user runs it (a
subprocess: start-up, the walk, the ledger, the JSON lines) against the raw server of
``_raw_bulk_server.py`` in its own process (``--latency`` per reply, 20 ms by default), over
``--files`` files (10,000 of ``--size`` bytes, in 100 folders). The server counts what it
answers, so each run reports the requests it sent. Then the same command again: every file is
in the ledger, unchanged, so it should cost no request at all.

The baseline, in the same run: a hand-written aiohttp loop (``Semaphore(32)``, one session with
a connector of 32) uploading the same files with the same 3 requests per file, reading each file
as it goes -- with no ledger, no resume and no report. And the ideal, ``3 x latency / 32`` per
file. Medians of ``--rounds``, each round on a fresh tree and server.

    python benchmarks/bench_sync.py [--files 10000] [--size 512] [--rounds 3] [--latency 0.02]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _raw_bulk_server import raw_bulk_process, requests_served
from bench_bulk import CONCURRENCY, raw_uploads


def make_tree(root: Path, files: int, size: int) -> list[Path]:
    paths = []
    for index in range(files):
        path = root / f"folder-{index % 100:03d}" / f"clip-{index:06d}.bin"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(index.to_bytes(8, "big") + os.urandom(size - 8))
        paths.append(path)
    return paths


def sync(
    source: Path, ledger: Path, base_url: str, token: str, *options: str
) -> tuple[float, int, int]:
    """One ``cincopa sync`` run: (seconds, exit code, JSON lines printed)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CINCOPA_")}
    env |= {"CINCOPA_BASE_URL": base_url, "CINCOPA_API_TOKEN": token}
    command = [sys.executable, "-m", "cincopa_async.cli", "sync", str(source)]
    command += ["--ledger", str(ledger), "--concurrency", str(CONCURRENCY), "--json", *options]
    start = time.perf_counter()
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        raise RuntimeError(f"cincopa sync exited {done.returncode}: {done.stderr[-2000:]}")
    return seconds, done.returncode, len(done.stdout.splitlines())


def raw_loop(paths: list[Path], base_url: str, token: str) -> float:
    files = [(path.name, path.read_bytes()) for path in paths]  # a careful loop, files in memory
    start = time.perf_counter()
    with tempfile.TemporaryDirectory() as scratch:
        asyncio.run(raw_uploads(base_url, token, files, Path(scratch)))
    return time.perf_counter() - start


def ledger_cost(items: int) -> tuple[float, float, float]:
    """What the ledger costs per item, alone: (CPU us, wall us, bytes on disk), for ``items``
    items taken through a job's life the way the bulk engine does -- registered pending, marked
    started 256 at a time (one commit each), finished (group commits)."""
    from cincopa_async import Ledger, LedgerRecord

    async def job(path: Path) -> None:
        async with Ledger(path) as ledger:
            keys = [f"folder-{index % 100:03d}/clip-{index:07d}.bin" for index in range(items)]
            await ledger.register([LedgerRecord(key, "pending", size=512) for key in keys])
            for start in range(0, items, 256):
                part = keys[start : start + 256]
                await ledger.get_many(part)
                await ledger.start(part)
                for key in part:
                    ledger.finish(
                        LedgerRecord(
                            key,
                            "done",
                            reference="sha256-" + "0" * 32,
                            rid="R" * 12,
                            size=512,
                            mtime_ns=1_700_000_000_000_000_000,
                            attempts=1,
                        )
                    )
                if ledger.needs_flush():
                    await ledger.flush()

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "ledger.sqlite"
        cpu, start = time.process_time(), time.perf_counter()
        asyncio.run(job(path))
        wall, cpu = time.perf_counter() - start, time.process_time() - cpu
        size = sum(p.stat().st_size for p in Path(tmp).iterdir())
    return cpu / items * 1e6, wall / items * 1e6, size / items


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=10_000)
    parser.add_argument("--size", type=int, default=512, help="bytes per file")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--latency", type=float, default=0.02, help="seconds per request")
    parser.add_argument("--ledger-items", type=int, default=100_000)
    args = parser.parse_args()

    fresh: list[float] = []
    rerun: list[float] = []
    baseline: list[float] = []
    fresh_requests: list[int] = []
    rerun_requests: list[int] = []
    for _ in range(args.rounds):
        with tempfile.TemporaryDirectory() as tmp:
            root = Path(tmp)
            paths = make_tree(root / "library", args.files, args.size)
            with raw_bulk_process(args.latency) as (base_url, token):
                seconds, _, lines = sync(
                    root / "library", root / "job.sqlite", base_url, token, "--new-job"
                )
                assert lines == args.files, lines
                fresh.append(seconds)
                fresh_requests.append(requests_served(base_url))
                seconds, _, lines = sync(root / "library", root / "job.sqlite", base_url, token)
                assert lines == args.files, lines
                rerun.append(seconds)
                rerun_requests.append(requests_served(base_url) - fresh_requests[-1])
            with raw_bulk_process(args.latency) as (base_url, token):
                baseline.append(raw_loop(paths, base_url, token))

    ideal = args.files * 3 * args.latency / CONCURRENCY
    print(
        f"cincopa sync of {args.files:,} files of {args.size} B, {args.latency * 1000:.0f} ms per"
        f" request, {CONCURRENCY} in flight; median of {args.rounds} rounds"
    )
    print(f"{'run':<44} {'seconds':>8} {'requests':>9} {'files/s':>8}")
    rows = [
        ("cincopa sync, from scratch", fresh, statistics.median(fresh_requests)),
        ("cincopa sync, rerun with nothing to do", rerun, statistics.median(rerun_requests)),
        ("raw aiohttp loop (no ledger, no resume)", baseline, 3 * args.files),
        ("ideal: 3 x latency / 32 per file", [ideal], 3 * args.files),
    ]
    for name, samples, requests in rows:
        seconds = statistics.median(samples)
        print(f"{name:<44} {seconds:>8.2f} {requests:>9,.0f} {args.files / seconds:>8.0f}")
    scratch = statistics.median(fresh)
    print(f"\nfrom scratch / raw loop, files/s: {statistics.median(baseline) / scratch:.2f}")
    print(f"from scratch / ideal, files/s:    {ideal / scratch:.2f}")
    print(f"requests per file from scratch:   {statistics.median(fresh_requests) / args.files:.2f}")

    costs = [ledger_cost(args.ledger_items) for _ in range(args.rounds)]
    cpu, wall, size = (statistics.median(column) for column in zip(*costs, strict=True))
    print(
        f"\nthe ledger alone, {args.ledger_items:,} items (pending, started, done):"
        f" {cpu:.1f} us CPU and {wall:.1f} us wall per item, {size:.0f} bytes per item on disk"
    )


if __name__ == "__main__":
    main()
