"""A bounded, seeded soak: mixed operations and bulk uploads against a faulty emulator.

The emulator serves on a loopback port (so the real connection pool is in play) with every
fault kind switched on at a realistic mix. For ``seconds``, a fixed number of workers draw
operations at random (seeded) and run them; each must end in success or a typed
``CincopaError`` within a generous deadline — anything else (another exception, a hang) counts as
*lost*. Bulk uploads report every input; each carries a reference_id, so duplicated assets show
up as two assets with one reference.

    python -m tests.soak --seconds 120 --seed 1      # what `nox -s soak` runs

``tests/test_soak.py`` runs a short one in every test session.
"""

from __future__ import annotations

import argparse
import os
import random
import resource
import time
from collections import Counter
from typing import Any

import anyio
import attrs

from cincopa_async import AsyncCincopa, CincopaError
from cincopa_async._shards import ShardedTransport
from cincopa_async.testing import CincopaEmulator

from ._waits import HANG_GUARD

FAULT_MIX: tuple[tuple[str, float, dict[str, Any]], ...] = (
    ("server_error", 0.03, {}),
    ("rate_limit", 0.03, {"retry_after": 0.05}),
    ("latency", 0.05, {"seconds": 0.01}),
    ("drop_before", 0.01, {}),
    ("drop_after", 0.02, {}),
    ("malformed_body", 0.01, {}),
    ("truncated_body", 0.01, {}),
    ("wrong_shape", 0.01, {}),
    ("stall", 0.005, {"seconds": 5.0}),
    ("upload_chunk_failure", 0.03, {}),
)


@attrs.define
class SoakReport:
    seconds: float
    attempted: int = 0
    succeeded: int = 0
    failed_typed: int = 0
    lost: int = 0
    bulk_items: int = 0
    bulk_items_reported: int = 0
    duplicated_assets: int = 0
    connections_in_use_at_end: int = 0
    tasks_left_at_end: int = 0
    peak_rss_mib: float = 0.0
    errors: Counter[str] = attrs.field(factory=Counter)
    lost_examples: list[str] = attrs.field(factory=list)

    def lines(self) -> list[str]:
        return [
            f"soak: {self.seconds:.0f} s against the emulator on loopback, every fault kind on",
            f"  operations attempted          {self.attempted}",
            f"  succeeded                     {self.succeeded}",
            f"  failed with a typed error     {self.failed_typed}  {dict(self.errors)}",
            f"  lost (must be 0)              {self.lost}",
            f"  bulk items / reported         {self.bulk_items} / {self.bulk_items_reported}",
            f"  duplicated assets (must be 0) {self.duplicated_assets}",
            f"  connections in use at end     {self.connections_in_use_at_end}",
            f"  tasks left at end             {self.tasks_left_at_end}",
            f"  peak RSS                      {self.peak_rss_mib:.0f} MiB",
        ]


def connections_in_use(cp: AsyncCincopa) -> int:
    """Connections checked out of the pool (private pool state: for this audit only)."""
    direct = cp._shared.direct
    if direct is not None:
        session = direct._session  # type: ignore[attr-defined]  # the SDK's aiohttp transport
        return 0 if session is None else len(session.connector._acquired)
    sharded = cp._shared.http._transport  # httpx's own transports, one per connection
    assert isinstance(sharded, ShardedTransport)
    pools = [shard._pool for shard in sharded.shards]  # type: ignore[attr-defined]  # httpcore's
    checked_out = sum(
        1 for pool in pools for c in pool.connections if not (c.is_idle() or c.is_closed())
    )
    return max(checked_out, sum(sharded.in_flight))  # and every shard given back


async def run_soak(
    seconds: float = 0.0, seed: int = 1, workers: int = 16, operations: int | None = None
) -> SoakReport:
    """Run for ``seconds``, or, with ``operations``, until that many were attempted."""
    report = SoakReport(seconds=seconds)
    started = time.monotonic()
    rng = random.Random(seed)
    tasks_before = len(anyio.get_running_tasks())
    async with CincopaEmulator(seed=seed) as emu, emu.serve() as base_url:
        for kind, rate, options in FAULT_MIX:
            emu.faults.add(kind, rate=rate, **options)
        emu.faults.seed(seed)
        cp = AsyncCincopa(
            emu.create_token(), base_url=base_url, timeout=1.0, max_retries=3, max_concurrency=16
        )
        gallery = ""
        rids: list[str] = []
        counter = 0

        async def op_read() -> None:
            await rng.choice([cp.ping, cp.asset.list, cp.gallery.list, cp.asset.get_tags])()

        async def op_gallery() -> None:
            nonlocal gallery
            gallery = (await cp.gallery.create(name=f"soak {rng.random():.6f}")).fid

        async def op_meta() -> None:
            if rids:
                await cp.asset.set_meta(rid=rng.choice(rids), caption=f"c{rng.random():.4f}")

        async def op_add() -> None:
            if rids and gallery:
                await cp.gallery.add_item(fid=gallery, rid=rng.sample(rids, min(3, len(rids))))

        async def op_upload() -> None:
            nonlocal counter
            counter += 1
            size = rng.choice([1_000, 70_000])
            asset = await cp.upload_file(
                os.urandom(size), filename=f"single-{counter}.bin", chunk_size=32 * 1024
            )
            rids.append(asset.rid)

        async def op_bulk() -> None:
            nonlocal counter
            counter += 1
            files = [(f"bulk-{counter}-{i}.bin", os.urandom(2_000)) for i in range(8)]
            result = await cp.bulk.upload_files(files)
            report.bulk_items += len(files)
            report.bulk_items_reported += sum(1 for item in result if item.input in files)
            rids.extend(item.value.rid for item in result.succeeded)
            for item in result.failed:
                report.errors[f"bulk item: {type(item.error).__name__}"] += 1

        choices = [op_read] * 6 + [op_gallery, op_meta, op_add, op_upload, op_bulk]
        deadline = time.monotonic() + seconds
        budget = operations

        def more() -> bool:
            if budget is not None:
                return report.attempted < budget
            return time.monotonic() < deadline

        async def worker() -> None:
            while more():
                operation = rng.choice(choices)
                report.attempted += 1
                try:
                    with anyio.fail_after(HANG_GUARD):  # only a real hang counts as lost
                        await operation()
                except CincopaError as error:
                    report.failed_typed += 1
                    report.errors[type(error).__name__] += 1
                except Exception as error:  # anything untyped, or a hang, is lost
                    report.lost += 1
                    report.lost_examples.append(f"{operation.__name__}: {error!r}"[:300])
                else:
                    report.succeeded += 1

        async with cp:
            async with anyio.create_task_group() as tg:
                for _ in range(workers):
                    tg.start_soon(worker)
            await anyio.wait_all_tasks_blocked()
            report.connections_in_use_at_end = connections_in_use(cp)
        references = Counter(
            asset.reference_id
            for asset in emu.state.main.assets.values()
            if asset.reference_id.startswith("sha256-")
        )
        report.duplicated_assets = sum(count - 1 for count in references.values() if count > 1)
    report.tasks_left_at_end = len(anyio.get_running_tasks()) - tasks_before
    report.seconds = time.monotonic() - started
    report.peak_rss_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=120)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--backend", choices=["asyncio", "trio"], default="asyncio")
    args = parser.parse_args()
    report = anyio.run(run_soak, args.seconds, args.seed, backend=args.backend)
    print("\n".join(report.lines()))
    for example in report.lost_examples[:10]:
        print("  lost:", example)
    bad = report.lost or report.duplicated_assets or report.connections_in_use_at_end
    raise SystemExit(1 if bad or report.tasks_left_at_end else 0)


if __name__ == "__main__":
    main()
